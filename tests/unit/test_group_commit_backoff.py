"""The backoff between rejected pushes: with the clock and the random source injected, the schedule is a
function of the seed alone, doubles up to its cap, and stops at the try limit or the time budget."""

from __future__ import annotations

import random

import pytest

from bot.adapters.group_commit import Retry


class ManualClock:
    """Time that moves only when slept through, so no test waits for the backoff it checks."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def schedule(seed: int, *, max_tries: int = 40, budget: float = 120.0) -> list[float]:
    """The pauses one push that is always rejected would take, try after try."""
    clock = ManualClock()
    rng = random.Random(seed)  # seeded: the schedule is replayed
    retry = Retry(max_tries=max_tries, budget=budget, monotonic=clock.monotonic, sleep=clock.sleep, rng=rng)
    started, attempt = clock.monotonic(), 1
    while (delay := retry.pause(attempt, started)) is not None:
        retry.sleep(delay)
        attempt += 1
    return clock.slept


def test_the_schedule_is_deterministic_for_a_seed() -> None:
    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)  # the jitter is real: replicas with other seeds spread out


def test_pauses_double_from_the_first_cap_to_the_last_with_jitter_in_the_upper_half() -> None:
    got = schedule(7, max_tries=9)
    caps = [0.02, 0.04, 0.08, 0.16, 0.32, 0.4, 0.4, 0.4]  # one pause between each two of the 9 tries
    assert len(got) == len(caps)
    for pause, cap in zip(got, caps, strict=True):
        assert cap / 2 <= pause <= cap
    rng = random.Random(7)  # the same draws the policy makes
    assert got == [rng.uniform(cap / 2, cap) for cap in caps]


@pytest.mark.parametrize("max_tries", [1, 2, 40])
def test_the_try_limit_bounds_the_pauses(max_tries: int) -> None:
    assert len(schedule(3, max_tries=max_tries)) == max_tries - 1


def test_the_time_budget_stops_retrying_before_the_try_limit() -> None:
    got = schedule(5, max_tries=1000, budget=2.0)
    assert sum(got[:-1]) < 2.0 <= sum(got)  # the last pause started inside the budget; no try after it
    assert len(got) < 999
