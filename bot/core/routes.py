"""Where a Flux event is announced: the `flux.routes` rules of the config, and how one matches an event.

A config value (bot/settings reads it) that the Flux receiver applies (bot/flux/events.route), so it lives
in the core, which both may import, rather than in either of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Route", "RoutedEvent", "RoutedObject"]


class RoutedObject(Protocol):
    """The part of an event's involvedObject a route looks at."""

    @property
    def kind(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...


class RoutedEvent(Protocol):
    """The part of a Flux event a route looks at (bot/flux/events.FluxEvent is one)."""

    @property
    def involved(self) -> RoutedObject: ...
    @property
    def severity(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Route:
    """Send matching events to `channel`; an empty tuple matches anything. Kinds and severities are
    compared case-insensitively (people write `kustomization`), names and namespaces exactly."""

    channel: str
    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    mention: str = ""

    def matches(self, event: RoutedEvent) -> bool:
        o = event.involved
        return (
            (not self.kinds or o.kind.lower() in {k.lower() for k in self.kinds})
            and (not self.namespaces or o.namespace in self.namespaces)
            and (not self.names or o.name in self.names)
            and (not self.severities or event.severity in {s.lower() for s in self.severities})
            and (not self.reasons or event.reason in self.reasons)
        )
