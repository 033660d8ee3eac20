"""Flux's three policers (image-reflector-controller internal/policy): pick the latest of a tag list.

Each mirrors its Go `Latest`, tie-breaking included, because with filterTags the list is a map's keys
and which equal value wins is part of the observable result:
  numerical    ParseFloat on every tag; ASC keeps the maximum, DESC the minimum; a candidate is
               skipped only when strictly worse, so the LAST of equal values wins (and a NaN always
               replaces the current pick, since every comparison with it is false).
  alphabetical byte-wise order; ASC returns the maximum, DESC the minimum.
  semver       tags with two dots that parse in coerce mode and satisfy the range; a candidate
               replaces the pick only when strictly greater, so the FIRST of equal versions wins.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from bot.core.gofloat import parse_go_float
from bot.core.semver import Constraints, InvalidVersion, Version, parse_version
from bot.errors import PolicyError

EMPTY_LIST = "version list argument cannot be empty"
NO_SEMVER_MATCH = "unable to determine latest version from provided list"


def _plain_digits(versions: Sequence[str]) -> bool:
    """True when every entry is non-empty ASCII digits, where float() and Go's ParseFloat agree."""
    joined = "".join(versions)
    return all(versions) and joined.isascii() and joined.isdigit()


def latest_numerical(versions: Sequence[str], *, descending: bool = False) -> str:
    if not versions:
        raise PolicyError(EMPTY_LIST)
    if _plain_digits(versions):
        values = list(map(float, versions))
        if not math.isinf(max(values)):  # over 308 digits: let the exact loop report Go's range error
            best = min(values) if descending else max(values)
            # Flux keeps the last of equal values, so search from the end.
            return versions[len(values) - 1 - values[::-1].index(best)]
    latest, current = "", 0.0
    for i, version in enumerate(versions):
        try:
            value = parse_go_float(version)
        except ValueError:
            raise PolicyError(f"failed to parse invalid numeric value '{version}'") from None
        if i > 0 and (value > current if descending else value < current):
            continue
        latest, current = version, value
    return latest


def latest_alphabetical(versions: Sequence[str], *, descending: bool = False) -> str:
    if not versions:
        raise PolicyError(EMPTY_LIST)
    # Python compares str by code point, which is UTF-8 byte order, the order of Go's sort.Strings.
    return min(versions) if descending else max(versions)


@functools.lru_cache(maxsize=8192)
def _version(tag: str) -> Version | None:
    try:
        return parse_version(tag)
    except InvalidVersion:
        return None


def latest_semver(versions: Sequence[str], constraints: Constraints) -> str:
    if not versions:
        raise PolicyError(EMPTY_LIST)
    best: Version | None = None
    for tag in versions:
        v = _version(tag)
        if v is not None and constraints.check(v) and (best is None or v.compare(best) > 0):
            best = v
    if best is None:
        raise PolicyError(NO_SEMVER_MATCH)
    return best.original
