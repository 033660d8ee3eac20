"""Character classes of Go's regexp syntax as sorted rune ranges, and their Python `re` spelling.

Go builds every class (`[a-z]`, `\\d`, `[[:alpha:]]`, `\\pL`) as a list of rune ranges before matching;
doing the same here lets the translator emit an explicit Python class that means what Go means,
instead of trusting Python's own `\\d`/`\\w`/`\\s`, which are Unicode-aware and differ from Go's ASCII ones.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable

Ranges = list[tuple[int, int]]

MAX_RUNE = 0x10FFFF

# Go's perl_groups.go: \d \s \w are ASCII-only, and \s has no \v.
PERL_GROUPS: dict[str, Ranges] = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}

POSIX_GROUPS: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}


def clean(ranges: Ranges) -> Ranges:
    """Sort and merge overlapping or touching ranges (Go's cleanClass)."""
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def negate(ranges: Ranges) -> Ranges:
    """The complement over all runes; `ranges` must be clean."""
    out: Ranges = []
    next_lo = 0
    for lo, hi in ranges:
        if next_lo <= lo - 1:
            out.append((next_lo, lo - 1))
        next_lo = hi + 1
    if next_lo <= MAX_RUNE:
        out.append((next_lo, MAX_RUNE))
    return out


def posix_group(name: str) -> Ranges | None:
    """`[:alpha:]` or `[:^alpha:]` (name given with its brackets and colons); None if Go does not know it."""
    inner = name[2:-2]
    negated = inner.startswith("^")
    ranges = POSIX_GROUPS.get(inner[1:] if negated else inner)
    if ranges is None:
        return None
    return negate(ranges) if negated else list(ranges)


def perl_group(letter: str) -> Ranges | None:
    """`\\d \\D \\s \\S \\w \\W` by their letter; None for any other letter."""
    ranges = PERL_GROUPS.get(letter.lower())
    if ranges is None:
        return None
    return negate(ranges) if letter.isupper() else list(ranges)


def canonical_name(name: str) -> str:
    """Go's canonicalName: first letter upper, the rest lower, without `_`, `-` and spaces."""
    out: list[str] = []
    for ch in name:
        if ch in "_- ":
            continue
        if not out:
            out.append(ch.upper() if "a" <= ch <= "z" else ch)
        else:
            out.append(ch.lower() if "A" <= ch <= "Z" else ch)
    return "".join(out)


@functools.cache
def _category_table() -> dict[str, Ranges]:
    """Two-letter Unicode general categories to ranges, built once from `unicodedata` (about a second).

    Python's Unicode tables may be one version behind Go's; for the ASCII tags registries allow this
    makes no difference.
    """
    table: dict[str, Ranges] = {}
    start, current = 0, unicodedata.category(chr(0))
    for cp in range(1, MAX_RUNE + 2):
        cat = unicodedata.category(chr(cp)) if cp <= MAX_RUNE else ""
        if cat != current:
            table.setdefault(current, []).append((start, cp - 1))
            start, current = cp, cat
    return table


_SPECIAL_GROUPS: dict[str, Callable[[], Ranges]] = {
    "Any": lambda: [(0, MAX_RUNE)],
    "Ascii": lambda: [(0, 0x7F)],
    "Assigned": lambda: negate(clean(list(_category_table().get("Cn", [])))),
    "Lc": lambda: clean([r for cat in ("Lu", "Ll", "Lt") for r in _category_table().get(cat, [])]),
}


def unicode_group(name: str) -> Ranges | None:
    """The ranges for the name inside `\\p{...}` that Go resolves to a general category, else None.

    Scripts (`Greek`, `Han`) and the long category aliases are not available from Python's standard
    library, so the caller rejects them as unsupported rather than guess.
    """
    canon = canonical_name(name)
    special = _SPECIAL_GROUPS.get(canon)
    if special is not None:
        return special()
    table = _category_table()
    if len(canon) == 1 and canon in "CLMNPSZ":
        # Go's one-letter categories do not include the unassigned code points (Cn).
        return clean([r for cat, rs in table.items() if cat.startswith(canon) and cat != "Cn" for r in rs])
    return list(table[canon]) if len(canon) == 2 and canon in table else None


def _escape(cp: int) -> str:
    if cp < 0x80 and chr(cp).isalnum():
        return chr(cp)
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def python_class(ranges: Ranges, *, negated: bool, fold: bool) -> str:
    """A Python class for Go's class `ranges` (clean), complemented if `negated`, case-insensitive if `fold`.

    Under (?i) the complement is left to Python (`(?i:[^...])`): Go folds the members before negating,
    and Python's case-insensitive negated class has the same effect.
    """
    if not fold and negated:
        ranges, negated = negate(ranges), False
    if not ranges:
        # Python has no empty class: "nothing" and "everything" are spelled with the full range.
        body = "\\x00-\\U0010ffff"
        text = f"[{body}]" if negated else f"[^{body}]"
    else:
        body = "".join(_escape(lo) if lo == hi else f"{_escape(lo)}-{_escape(hi)}" for lo, hi in ranges)
        text = f"[^{body}]" if negated else f"[{body}]"
    return f"(?i:{text})" if fold else text
