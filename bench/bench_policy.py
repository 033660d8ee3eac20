"""ImagePolicy selection over 100k tags: Flux-exact `select` versus the simplest correct Python loop.

The workload is the bot's standard policy (filterTags `^staging-v...-(?P<ts>[0-9]+)$`, extract `$ts`,
numerical ASC) on a realistic repository: our build tags for four environments, plus aliases,
`latest`, PR tags and cosign `.sig` tags, in the byte-descending order the ImageRepository stores.
The reference is a bare compiled `re.search` loop with an int compare, which ignores every Flux rule
(extract, map collapse, ParseFloat, tie-breaking); the goal is to cost at most 1.5x of it.
"""

from __future__ import annotations

import random
import re

from bench.table import Row, interleaved_medians
from bot.core.policy import PolicySpec, Selector, database_order
from bot.core.tags import flux_filter_pattern

N_TAGS = 100_000
ENVS = ("develop", "staging", "pre-prod", "production")


def repository_tags(n: int = N_TAGS, seed: int = 20250207) -> list[str]:
    """`n` tags in database order, after the default exclusion dropped the cosign signatures."""
    rng = random.Random(seed)
    tags = ["latest", "main", *ENVS]  # the moving aliases
    ts = 1_700_000_000
    for i in range(n - len(tags)):
        ts += rng.randrange(1, 90)
        roll = rng.random()
        if roll < 0.05:
            tags.append(f"sha256-{rng.getrandbits(256):064x}.sig")  # excluded by database_order
        if roll < 0.01:
            tags.append(f"pr-{i}-{rng.getrandbits(28):07x}")
        else:
            env = rng.choice(ENVS)
            version = f"{rng.randrange(3)}.{rng.randrange(40)}.{rng.randrange(100)}"
            tags.append(f"{env}-v{version}-{rng.getrandbits(28):07x}-{ts}")
    stored = database_order(tags)
    assert len(stored) == len(set(stored)) == n
    return stored


def run() -> list[Row]:
    tags = repository_tags()
    selector = Selector.compile(
        PolicySpec("numerical", order="ASC", filter_pattern=flux_filter_pattern("staging"), extract="$ts")
    )
    rx = re.compile(r"^staging-v[0-9]+\.[0-9]+\.[0-9]+-[a-f0-9]+-(?P<ts>[0-9]+)$")

    def bare() -> str | None:
        best, best_tag = -1, None
        for tag in tags:
            m = rx.search(tag)
            if m:
                ts = int(m.group("ts"))
                if ts > best:
                    best, best_tag = ts, tag
        return best_tag

    assert selector.select(tags) == bare(), "the bench compares two loops that disagree"
    ours, reference = interleaved_medians(lambda: selector.select(tags), bare)
    return [
        Row(
            measure=f"ImagePolicy select, {len(tags) // 1000}k tags (filter, $ts, numerical)",
            ours=ours,
            reference=reference,
            reference_name="bare re.search loop",
            goal=1.5,
        )
    ]
