"""Masterminds/semver v3 (v3.4/v3.5, the version Flux pins) as Flux's semver ImagePolicy uses it.

Ported from version.go and constraints.go, quirks included: NewVersion runs in coerce mode (`1.2` is
1.2.0, leading zeros are fine), `=1.0` and a bare `1.0` behave like tilde, `<=1.1` admits 1.1.9,
`>11` means 12.0.0 or later, and a prerelease only matches when some constraint in the same AND
group names a prerelease. The regular expressions are Masterminds' own, compiled as Go compiles them.
Flux adds one rule before any of this (fluxcd/pkg version.ParseVersion): a tag needs two dots.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.core.goregex import compile_go
from bot.errors import InvalidInput

_LOOSE = compile_go(
    r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$"
)
_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CONSTRAINT = compile_go(rf"^\s*({_OPS})\s*({_CV})\s*$")
_RANGE = compile_go(rf"\s*({_CV})\s+-\s+({_CV})\s*")
_FIND = compile_go(rf"({_OPS})\s*({_CV})")
# Masterminds' validConstraintRegex checks an AND group as a whole. Only its yes/no answer is used,
# so it is spelled here without the capture groups' ambiguity (`.0` fits either optional minor or
# patch group in _CV): the same language, but Python's backtracking engine stays linear on long
# invalid ranges instead of doubling its work per constraint (Go's engine is linear by construction).
_CV_FLAT = (
    r"v?[0-9|xX*]+(?:\.[0-9|xX*]+(?:\.[0-9|xX*]+)?)?"
    r"(?:-[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*)?"
    r"(?:\+[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*)?"
)
_VALID = compile_go(rf"^\s*(?:{_OPS})\s*{_CV_FLAT}\s*(?:(?:\s+|,\s*)(?:{_OPS})\s*{_CV_FLAT}\s*)*$")

# Go's \s, and the whitespace next to a comma, for _separators_normalised.
_GO_SPACE_RUN = re.compile(r"[\t\n\f\r ]+")
_SPACE_AROUND_COMMA = re.compile(r" ?, ?")
_MAX_UINT64 = 2**64 - 1
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789")


class InvalidVersion(InvalidInput):
    """Masterminds' NewVersion (or Flux's ParseVersion) rejects the string; the message is theirs."""


class InvalidConstraint(InvalidInput):
    """Masterminds' NewConstraint rejects the range; the message is theirs (`improper constraint: ...`)."""


def _uint(text: str) -> int | None:
    """strconv.ParseUint(text, 10, 64), or None where Go returns an error."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= _MAX_UINT64 else None


def _segment(text: str) -> int:
    value = _uint(text)
    if value is None:
        raise InvalidVersion(f'error parsing version segment: strconv.ParseUint: parsing "{text}": value out of range')
    return value


def _validate_prerelease(pre: str) -> None:
    for part in pre.split("."):
        if not part:
            raise InvalidVersion("invalid prerelease string")
        if part.isascii() and part.isdigit():
            if len(part) > 1 and part[0] == "0":
                raise InvalidVersion("version segment starts with 0")
        elif not set(part) <= _ALLOWED:
            raise InvalidVersion("invalid prerelease string")


def _compare_pre_part(s: str, o: str) -> int:
    if s == o:
        return 0
    if not s or not o:
        return -1 if not s else 1  # a missing part sorts first: 1.0.0-a < 1.0.0-a.1
    si, oi = _uint(s), _uint(o)
    if si is None and oi is None:
        return 1 if s > o else -1
    if si is None or oi is None:
        # Numeric identifiers sort before alphanumeric ones, and `-2` counts as alphanumeric.
        return 1 if si is None else -1
    return 1 if si > oi else -1


def _compare_prerelease(v: str, o: str) -> int:
    sparts, oparts = v.split("."), o.split(".")
    for i in range(max(len(sparts), len(oparts))):
        d = _compare_pre_part(sparts[i] if i < len(sparts) else "", oparts[i] if i < len(oparts) else "")
        if d:
            return d
    return 0


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""
    metadata: str = ""
    original: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        """Masterminds NewVersion with CoerceNewVersion=true (Flux's setting)."""
        m = _LOOSE.search(text)
        if m is None:
            raise InvalidVersion("invalid semantic version")
        version = cls(
            major=_segment(m[1]),
            minor=_segment(m[2][1:]) if m[2] else 0,
            patch=_segment(m[3][1:]) if m[3] else 0,
            pre=m[5] or "",
            metadata=m[8] or "",
            original=text,
        )
        if version.pre:
            _validate_prerelease(version.pre)
        if version.metadata and not all(p and set(p) <= _ALLOWED for p in version.metadata.split(".")):
            raise InvalidVersion("invalid metadata string")
        return version

    def __str__(self) -> str:
        pre = f"-{self.pre}" if self.pre else ""
        meta = f"+{self.metadata}" if self.metadata else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}{meta}"

    def compare(self, other: Version) -> int:
        """-1, 0 or 1 by semver precedence; build metadata and the `v` are ignored."""
        for a, b in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if a != b:
                return -1 if a < b else 1
        if not self.pre and not other.pre:
            return 0
        if not self.pre:
            return 1
        if not other.pre:
            return -1
        return _compare_prerelease(self.pre, other.pre)


def parse_version(text: str) -> Version:
    """Flux's version.ParseVersion: two dots required (`1.5` is refused), then coerce-mode NewVersion."""
    if len(text.split(".", 2)) != 3:
        raise InvalidVersion("invalid semantic version")
    return Version.parse(text)


def _is_x(text: str) -> bool:
    return text in ("x", "X", "*")


@dataclass(frozen=True)
class Constraint:
    """One comparison such as `>=1.2` or `~1.x`; `dirty` records wildcards and missing parts."""

    op: str
    con: Version
    orig: str
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """Masterminds parseConstraint; "" is the special `*`."""
        if not text:
            return cls(op="", con=Version(0, 0, 0, original="0.0.0"), orig="", dirty=True)
        m = _CONSTRAINT.search(text)
        if m is None:
            raise InvalidConstraint(f"improper constraint: {text}")
        major, minor, patch, pre = m[3] or "", m[4] or "", m[5] or "", m[6] or ""
        ver, dirty, minor_dirty, patch_dirty = m[2], False, False, False
        if _is_x(major) or not major:
            ver, dirty = f"0.0.0{pre}", True
        elif _is_x(minor.removeprefix(".")) or not minor:
            ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
        elif _is_x(patch.removeprefix(".")) or not patch:
            ver, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
        try:
            con = Version.parse(ver)
        except InvalidVersion:
            raise InvalidConstraint("constraint parser error") from None
        return cls(m[1], con, m[2], dirty, minor_dirty, patch_dirty)

    def check(self, v: Version, include_pre: bool | None = None) -> bool:
        """Whether `v` satisfies this constraint; prereleases count only with `include_pre`.

        `include_pre` defaults to whether this constraint names a prerelease, which is what a group
        holding only this constraint would decide.
        """
        if include_pre is None:
            include_pre = bool(self.con.pre)
        if v.pre and not include_pre:
            return False
        return _OPS_CHECK[self.op](self, v)


def _not_equal(c: Constraint, v: Version) -> bool:
    if not c.dirty:
        return v.compare(c.con) != 0
    if c.con.major != v.major or (c.con.minor != v.minor and not c.minor_dirty):
        return True
    if c.minor_dirty:
        return False  # `!=4.x` excludes every 4.y.z
    if c.con.patch != v.patch and not c.patch_dirty:
        return True
    if c.patch_dirty:
        return bool(v.pre or c.con.pre) and _compare_prerelease(v.pre, c.con.pre) != 0
    return v.compare(c.con) != 0


def _greater_than(c: Constraint, v: Version) -> bool:
    if not c.dirty:
        return v.compare(c.con) == 1
    if v.major != c.con.major:
        return v.major > c.con.major
    if c.minor_dirty:
        return False  # `>11` needs 12.0.0 or later
    if c.patch_dirty:
        return v.minor > c.con.minor  # `>11.1` needs 11.2.0 or later
    return v.compare(c.con) == 1


def _less_than_equal(c: Constraint, v: Version) -> bool:
    if not c.dirty:
        return v.compare(c.con) <= 0
    if v.major > c.con.major:
        return False
    return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)


def _tilde(c: Constraint, v: Version) -> bool:
    if v.compare(c.con) < 0:
        return False
    con = c.con
    if con.major == 0 and con.minor == 0 and con.patch == 0 and not c.minor_dirty and not c.patch_dirty:
        return True  # ~0.0.0 admits everything
    if v.major != con.major:
        return False
    return not (v.minor != con.minor and not c.minor_dirty)


def _tilde_or_equal(c: Constraint, v: Version) -> bool:
    return _tilde(c, v) if c.dirty else v.compare(c.con) == 0


def _caret(c: Constraint, v: Version) -> bool:
    con = c.con
    if v.compare(con) < 0:
        return False
    if con.major > 0 or c.minor_dirty:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.patch_dirty:
        return v.minor == con.minor
    if v.minor > 0:
        return False
    return v.patch == con.patch  # ^0.0.3 means exactly 0.0.3


_OPS_CHECK: dict[str, Callable[[Constraint, Version], bool]] = {
    "": _tilde_or_equal,
    "=": _tilde_or_equal,
    "!=": _not_equal,
    ">": _greater_than,
    "<": lambda c, v: v.compare(c.con) < 0,
    ">=": lambda c, v: v.compare(c.con) >= 0,
    "=>": lambda c, v: v.compare(c.con) >= 0,
    "<=": _less_than_equal,
    "=<": _less_than_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


def rewrite_range(text: str) -> str:
    """Masterminds rewriteRange: each `a - b` becomes `>= a, <= b ` (replacing its first occurrence)."""
    out = text
    for m in _RANGE.finditer(text):
        out = out.replace(m[0], f">= {m[1]}, <= {m[11]} ", 1)
    return out


@dataclass(frozen=True)
class Constraints:
    """OR groups (`||`) of AND-ed constraints (`,` or whitespace)."""

    groups: tuple[tuple[Constraint, ...], ...]
    include_prerelease: bool = False
    # Per group: does any constraint name a prerelease? That opts the whole group in to prereleases.
    contains_pre: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "contains_pre", tuple(any(c.con.pre for c in g) for g in self.groups))

    @classmethod
    def parse(cls, text: str) -> Constraints:
        """Masterminds NewConstraint; raises InvalidConstraint with its message."""
        return _parse_constraints(text)

    def check(self, v: Version) -> bool:
        for group, contains_pre in zip(self.groups, self.contains_pre, strict=True):
            include_pre = self.include_prerelease or contains_pre
            if all(c.check(v, include_pre) for c in group):
                return True
        return False


def _separators_normalised(part: str) -> str:
    """The AND group with each whitespace run cut to one space and no space beside a comma.

    Masterminds' validity pattern reads whitespace only through `\\s*`/`\\s+` and commas only as
    `\\s*,\\s*` separators, so this leaves the verdict unchanged; it matters because Python's
    backtracking engine would otherwise take exponential time on a long invalid range with doubled
    spaces, where Go's engine is linear.
    """
    return _SPACE_AROUND_COMMA.sub(",", _GO_SPACE_RUN.sub(" ", part))


@functools.lru_cache(maxsize=256)
def _parse_constraints(text: str) -> Constraints:
    groups: list[tuple[Constraint, ...]] = []
    for part in rewrite_range(text).split("||"):
        if _VALID.search(_separators_normalised(part)) is None:
            raise InvalidConstraint(f"improper constraint: {part}")
        found = [m[0] for m in _FIND.finditer(part)] or [part]
        groups.append(tuple(Constraint.parse(s) for s in found))
    return Constraints(tuple(groups))


def sort_descending(constraints: Constraints | None, tags: Iterable[str]) -> list[str]:
    """fluxcd/pkg version.Sort: the tags that parse and satisfy `constraints`, highest first.

    Equal versions keep their input order (Go's sort is stable for the short lists Flux tests with).
    """
    parsed: list[Version] = []
    for tag in tags:
        try:
            v = parse_version(tag)
        except InvalidVersion:
            continue
        if constraints is None or constraints.check(v):
            parsed.append(v)
    ordered = sorted(parsed, key=functools.cmp_to_key(Version.compare), reverse=True)
    return [v.original for v in ordered]
