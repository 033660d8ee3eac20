"""Flux notification-controller integration.

`events` (pure: verification, parsing, classification, routing) and `render` (pure: Slack text) are the
values; `receiver` (HTTP) and `delivery` (outbox to Slack) do the I/O.

`events` re-exports the renderers, and `render` imports `events`. Importing `events` here, before
anything else in the package, fixes that order whichever of the two a caller imports first.
"""

from bot.flux import events

__all__ = ["events"]
