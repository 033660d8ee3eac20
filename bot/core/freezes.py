"""Freezes as data: the file the bot owns in Git (`.gitops-bot/freezes.json`) and what it says at a moment.

Manual freezes (`/freeze production 2h release party`) are records with a start and an end; recurring
windows come from config and are evaluated by the caller (cron needs a scheduler library, which the
core does not import) and passed in as already-open windows. `holds` records which services a
freeze held (by their markers, bot/core/holds.py), so lifting the freeze releases exactly those and
never a rollback hold; entries "ns/name" are automations an earlier version suspended.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from bot.core.clock_text import utc
from bot.core.names import env_name, one_line
from bot.errors import GateRefused, InvalidInput

FREEZE_FILE = ".gitops-bot/freezes.json"
MAX_FREEZE = 366 * 86400  # longer is a typo, and far-future ends overflow datetime


@dataclass(frozen=True)
class Freeze:
    env: str
    reason: str
    by: str
    start: int
    end: int
    source: str = "manual"  # manual | window

    def covers(self, env: str, now: int) -> bool:
        return self.env == env and self.start <= now < self.end


@dataclass(frozen=True)
class FreezeFile:
    freezes: tuple[Freeze, ...] = ()
    holds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # env → services held (legacy: "ns/name")

    @classmethod
    def parse(cls, text: str | None) -> FreezeFile:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            freezes = tuple(Freeze(**f) for f in data.get("freezes", []))
            holds = {str(k): tuple(str(x) for x in v) for k, v in (data.get("holds") or {}).items()}
        except (ValueError, TypeError, AttributeError) as err:
            raise InvalidInput(f"{FREEZE_FILE} in the repository is not valid.", hint="Fix or delete it.") from err
        return cls(freezes, holds)

    def render(self) -> str:
        data = {
            "freezes": [asdict(f) for f in self.freezes],
            "holds": {k: list(v) for k, v in sorted(self.holds.items())},
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def active(self, env: str, now: int, windows: Sequence[Freeze] = ()) -> Freeze | None:
        """The freeze that ends last among those covering `env` at `now` (manual or an open window)."""
        covering = [f for f in (*self.freezes, *windows) if f.covers(env, now)]
        return max(covering, key=lambda f: f.end) if covering else None

    def prune(self, now: int) -> FreezeFile:
        return FreezeFile(tuple(f for f in self.freezes if f.end > now), self.holds)

    def add(self, freeze: Freeze) -> FreezeFile:
        return FreezeFile((*self.freezes, freeze), self.holds)

    def end_manual(self, env: str, now: int) -> FreezeFile:
        kept = tuple(f for f in self.freezes if not (f.env == env and f.covers(env, now)))
        return FreezeFile(kept, self.holds)

    def with_holds(self, env: str, automations: Sequence[str]) -> FreezeFile:
        holds = {k: v for k, v in self.holds.items() if k != env}
        if automations:
            holds[env] = tuple(automations)
        return FreezeFile(self.freezes, holds)


def manual_freeze(env: str, reason: str, by: str, start: int, end: int) -> Freeze:
    env_name(env)
    if end <= start:
        raise InvalidInput("A freeze must end in the future.")
    if end - start > MAX_FREEZE:
        raise InvalidInput("A freeze can last at most 366 days.", hint="Freeze again when it ends.")
    return Freeze(env=env, reason=one_line(reason, "reason", 200) or "no reason given", by=by, start=start, end=end)


def refuse_if_frozen(freeze: Freeze | None, env: str, action: str) -> None:
    if freeze is not None:
        raise GateRefused(
            f"{env} is frozen until {utc(freeze.end)} ({freeze.reason}, by {freeze.by}); {action} is blocked.",
            hint="Rollback stays allowed. A listed break-glass user may force it, and it is recorded.",
        )
