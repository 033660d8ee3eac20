"""What every Action is, the values it returns, and the registry by kind."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from bot.errors import InvalidInput
from bot.promotion.ports import Context


class ActionKind(StrEnum):
    """Stored as a request's `kind`, so the values must not change."""

    PROMOTE = "promote"
    RELEASE = "release"
    ROLLBACK = "rollback"
    RESUME = "resume"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    SCHEDULE = "schedule"


class Args(Protocol):
    """A parsed request: a frozen dataclass of plain values (str, bool, None, tuples of str)."""

    @property
    def kind(self) -> ActionKind: ...

    @property
    def env(self) -> str: ...


A = TypeVar("A", bound=Args)
A_contra = TypeVar("A_contra", bound=Args, contravariant=True)
P = TypeVar("P")


@dataclass(frozen=True)
class Planned(Generic[P]):
    """A plan made without writing anything. `noop` says why running it would change nothing."""

    plan: P
    service: str
    fingerprint: str
    noop: str | None = None


@dataclass(frozen=True)
class Outcome(Generic[P]):
    """What running did: `commit` is the sha that landed (None: nothing was committed)."""

    plan: P
    commit: str | None = None
    dry_run: bool = False
    detail: str = ""  # a value the front end may show (e.g. a schedule's id)


@dataclass(frozen=True)
class Run:
    """Who runs an action and under which request: what ends up in the commit's trailers."""

    who: str
    approved_by: tuple[str, ...] = ()
    request_id: str = ""
    thread: str = ""  # a link to the Slack thread, recorded in the commit
    dry_run: bool = False
    force: bool = False  # break-glass through a freeze (the use case checks who may)


class Action(Protocol[A_contra, P]):
    kind: ActionKind
    verb: str  # what the authorizer calls it: "promote", "roll back", "resume", "freeze", …
    confirm: bool  # True: previewed, then confirmed (and approved) by people before it runs

    def plan(self, ctx: Context, args: A_contra, who: str) -> Planned[P]: ...

    def run(self, ctx: Context, args: A_contra, run: Run) -> Outcome[P]: ...


def fingerprint(facts: Mapping[str, object], current: Mapping[str, str], edit_files: Mapping[str, str] | None) -> str:
    """The hash an approval is bound to: the plan's facts and the current text of every file the commit
    would touch (content hashes, which change exactly when Git's blob ids do). Anything moved voids it."""
    files = sorted((f, hashlib.sha256(current.get(f, "").encode()).hexdigest()) for f in (edit_files or {}))
    return hashlib.sha256(json.dumps({**facts, "files": files}, sort_keys=True).encode()).hexdigest()


def dump(args: Args) -> str:
    """A request's arguments as stored with it: JSON, kind first."""
    return json.dumps({"kind": str(args.kind), **dataclasses.asdict(args)})  # type: ignore[call-overload]


class Actions:
    """The registry: one Action and one argument type per kind."""

    def __init__(self) -> None:
        self._actions: dict[ActionKind, Action[Any, Any]] = {}
        self._args: dict[ActionKind, type[Any]] = {}

    def register(self, action: Action[Any, Any], args_type: type[Any]) -> None:
        if action.kind in self._actions:
            raise ValueError(f"two actions for {action.kind}")
        self._actions[action.kind] = action
        self._args[action.kind] = args_type

    def __getitem__(self, kind: ActionKind) -> Action[Any, Any]:
        return self._actions[kind]

    def __iter__(self) -> Iterator[ActionKind]:
        return iter(self._actions)

    def of(self, args: Args) -> Action[Any, Any]:
        return self._actions[args.kind]

    def load(self, payload: str) -> Args:
        """The arguments `dump` stored. Lists come back as tuples (every sequence field is a tuple)."""
        data = json.loads(payload)
        try:
            kind = ActionKind(data.pop("kind"))
            cls = self._args[kind]
        except (KeyError, ValueError) as err:
            raise InvalidInput("This request was stored by a version that knew other kinds of request.") from err
        args: Args = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        return args
