"""Group commit: callers queued on one clone are planned on top of each other and pushed together, and a
rejected push is re-planned on the new HEAD after a jittered backoff.

The clock, the sleep and the random source are injected (`Retry`), so the backoff schedule can be replayed.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.adapters import fast_import
from bot.adapters.git_clone import GitClone
from bot.adapters.git_snapshot import Snapshot, changed_files
from bot.errors import GitError, PushRetriesExhausted

if TYPE_CHECKING:
    from bot.core.plan import Edit

__all__ = ["GroupCommit", "PushResult", "Retry"]

log = logging.getLogger(__name__)

# fast-import updates a ref; a private one, so the branch itself only moves by the reset after the push.
_BATCH_REF = "refs/gitops-bot/batch"
# Pushers to one remote branch in this process take turns over the whole sync → plan → push: between two of
# them a race can only be lost, never won, so waiting for the other costs nothing and saves a rejected push.
# Taken before the clone's lock, never while holding one.
_TURNS: dict[tuple[str, str], threading.RLock] = {}
_TURNS_GUARD = threading.Lock()


def _turn_for(url: str, branch: str) -> threading.RLock:
    with _TURNS_GUARD:
        return _TURNS.setdefault((url, branch), threading.RLock())


@dataclass(frozen=True)
class PushResult:
    sha: str | None  # the pushed commit; None for a no-op
    tries: int
    noop: bool


@dataclass(frozen=True)
class Retry:
    """How patiently a rejected push is retried: until a deadline, not a count.

    A busy branch (Flux automation committing every ~100 ms, other replicas) rejects most pushes, and waiting
    longer between tries does not make a window more likely: many short, jittered tries do. A rejection
    means someone else's push landed, so progress is still possible; a count of rejections would give up on
    a loaded machine while the remote keeps accepting. `max_tries` (None: no count) is for replaying tests."""

    max_tries: int | None = None
    backoff: tuple[float, float] = (0.02, 0.4)  # the first pause's cap, and the cap it doubles up to
    budget: float = 120.0  # seconds from the first try after which no new try starts
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=secrets.SystemRandom)

    def pause(self, attempt: int, started: float) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None when the tries or the time budget are spent."""
        if (self.max_tries is not None and attempt >= self.max_tries) or self.monotonic() >= started + self.budget:
            return None
        cap = min(self.backoff[1], self.backoff[0] * 2 ** (attempt - 1))
        return self.rng.uniform(cap / 2, cap)


class _Pending:
    """One caller of commit_and_push waiting in the group-commit queue."""

    def __init__(self, plan: Callable[[Snapshot], Edit | None]) -> None:
        self.plan = plan
        self.finished = False  # read and written only under the clone's lock
        self._outcome: PushResult | BaseException = GitError("The commit was never attempted.")

    def settle(self, outcome: PushResult | BaseException) -> None:
        if not self.finished:
            self._outcome = outcome
            self.finished = True

    def outcome(self) -> PushResult:
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


class GroupCommit:
    def __init__(
        self,
        clone: GitClone,
        *,
        ident: fast_import.Ident,
        retry: Retry | None = None,
        on_retry: Callable[[], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clone = clone
        self._ident = ident
        self._retry = retry or Retry()
        self._on_retry = on_retry  # the metrics hook: a rejected push about to be re-planned
        self._wall_clock = wall_clock  # the commits' author and committer time
        self._turn = _turn_for(clone.url, clone.branch)
        self._queue: list[_Pending] = []
        self._queue_guard = threading.Lock()

    def commit_and_push(self, plan: Callable[[Snapshot], Edit | None]) -> PushResult:
        """sync → plan → commit → push, re-planning on the new HEAD whenever the push is rejected.

        Callers that queue up while another holds the lock are planned, one commit each, on top of each other
        and pushed together by whichever of them gets the lock next. On a busy branch the race is lost per
        push, not per promotion, so ten queued promotions cost one window instead of ten.
        """
        mine = _Pending(plan)
        with self._queue_guard:
            self._queue.append(mine)
        with self._turn, self._clone.lock:
            if not mine.finished:
                with self._queue_guard:
                    batch, self._queue[:] = list(self._queue), []
                try:
                    self._push_batch(batch)
                except BaseException as err:
                    self._clone.restore()
                    for p in batch:
                        p.settle(err)
                    raise
        return mine.outcome()

    @property
    def waiting(self) -> int:
        """Callers queued for the next group commit (not counting the one pushing now)."""
        with self._queue_guard:
            return len(self._queue)

    def _push_batch(self, batch: Sequence[_Pending]) -> None:
        retry = self._retry
        started = retry.monotonic()
        attempt = 0
        while True:
            attempt += 1
            base = self._clone.sync()
            synced = retry.monotonic()
            snapshot = base
            outcomes: list[tuple[_Pending, PushResult | BaseException]] = []
            commits: list[tuple[_Pending, fast_import.Commit]] = []
            for p in batch:
                try:
                    edit = p.plan(snapshot)
                    changed = changed_files(snapshot, edit) if edit is not None else {}
                except Exception as err:  # this caller's refusal (a conflict, a bad edit); the others go on
                    outcomes.append((p, err))
                    continue
                if edit is None or not changed:
                    outcomes.append((p, PushResult(None, attempt, True)))
                    continue
                commits.append((p, fast_import.Commit(changed, edit.message.render())))
                # The next plan in the batch sees this commit, exactly as if it had been pushed already.
                snapshot = replace(snapshot, overlay={**snapshot.overlay, **changed})
            # Outcomes count only once they are on the remote: a rejected push re-plans everyone, because a
            # no-op or a conflict may have been decided against a sibling commit that never landed.
            planned = retry.monotonic()
            shas = self._write(base, [c for _, c in commits]) if commits else []
            if not commits or self._clone.push(shas[-1]):
                if commits:  # leave the clone on what is now origin/<branch>, clean
                    self._clone.land(shas[-1])
                for p, outcome in outcomes:
                    p.settle(outcome)
                for (p, _), sha in zip(commits, shas, strict=True):
                    p.settle(PushResult(sha, attempt, False))
                return
            delay = retry.pause(attempt, started)
            if delay is None:
                break
            if self._on_retry is not None:
                self._on_retry()
            # The window (fetch done → push answered) is what has to be shorter than the others' cadence.
            log.info(
                "push of %d commit(s) to %s %s rejected (try %d; planned in %.0f ms, window %.0f ms); "
                "re-planning in %.2fs",
                len(commits),
                self._clone.display_url,
                self._clone.branch,
                attempt,
                (planned - synced) * 1000,
                (retry.monotonic() - synced) * 1000,
                delay,
            )
            retry.sleep(delay)
        raise PushRetriesExhausted(
            f"{self._clone.branch} on {self._clone.display_url} kept moving: {attempt} pushes were rejected "
            f"in {retry.monotonic() - started:.0f}s.",
            hint="Something else is pushing to it constantly; try again in a minute.",
        )

    def _write(self, base: Snapshot, commits: Sequence[fast_import.Commit]) -> list[str]:
        """The batch's commits as objects, one `git fast-import` for all of them: a git child per commit would
        keep the window between fetch and push open several times longer on a busy branch."""
        stream = fast_import.encode(
            commits,
            ref=_BATCH_REF,
            parent=base.head,
            ident=self._ident,
            when=int(self._wall_clock()),
            modes=base.modes,
        )
        return fast_import.marked_shas(self._clone.fast_import(stream), len(commits))
