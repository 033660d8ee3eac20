"""The build tag grammar: `<env>-v<major>.<minor>.<patch>-<short_sha>-<unix_ts>`.

Example: `staging-v0.0.1-a1b2c3d-1738860123`. The plain env name (`staging`) is the moving alias.

The grammar is stricter than the Flux filter `^<env>-v[0-9]+\\.[0-9]+\\.[0-9]+-[a-f0-9]+-(?P<ts>[0-9]+)$`
in two ways, both so that parse/format round-trips exactly: numbers have no leading zeros, and the
sha is 7 to 40 hex digits. Every tag the bot creates satisfies both grammars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import InvalidInput

SHAPE = "<env>-v<major>.<minor>.<patch>-<sha>-<unix-time>, e.g. staging-v0.0.1-a1b2c3d-1738860123"

_NUM = r"(?:0|[1-9][0-9]{0,8})"
_TAG = re.compile(
    rf"(?P<env>[a-z][a-z0-9-]{{0,30}}?)-v(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"-(?P<sha>[0-9a-f]{{7,40}})-(?P<ts>0|[1-9][0-9]{{0,11}})",
    re.ASCII,
)
_ENV = re.compile(r"[a-z][a-z0-9-]{0,30}", re.ASCII)
# OCI distribution-spec tag grammar; the env alias must satisfy it too.
_OCI_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", re.ASCII)


def _why(text: str) -> str:
    """Name the first part of `text` that breaks the grammar, for the error message."""
    if not text:
        return "the tag is empty"
    if len(text) > 128:
        return "it is longer than 128 characters"
    if not text.isascii() or not text.isprintable() or any(c in text for c in " \t'\"`$;|&<>#:{}[]\\/"):
        return "it contains characters a tag cannot have"
    head, sep, rest = text.partition("-v")
    if not sep:
        return "the '-v<major>.<minor>.<patch>' part is missing"
    if not _ENV.fullmatch(head):
        return f"the environment part {head!r} is not lowercase letters, digits and dashes"
    parts = rest.split("-")
    if len(parts) != 3:
        return "expected exactly three dash-separated parts after the environment: version, sha, time"
    version, sha, ts = parts
    nums = version.split(".")
    if len(nums) != 3 or not all(re.fullmatch(_NUM, n) for n in nums):
        return f"the version {version!r} is not <major>.<minor>.<patch> without leading zeros"
    if not re.fullmatch(r"[0-9a-f]{7,40}", sha):
        return f"the sha {sha!r} is not 7-40 lowercase hex digits"
    return f"the time {ts!r} is not a unix timestamp in seconds"


@dataclass(frozen=True, order=True)
class BuildTag:
    env: str
    major: int
    minor: int
    patch: int
    sha: str
    ts: int

    @classmethod
    def parse(cls, text: str) -> BuildTag:
        m = _TAG.fullmatch(text) if len(text) <= 128 else None
        if m is None:
            raise InvalidInput(f"{text[:80]!r} is not a build tag: {_why(text)}.", hint=f"Expected {SHAPE}.")
        return cls(
            env=m["env"],
            major=int(m["major"]),
            minor=int(m["minor"]),
            patch=int(m["patch"]),
            sha=m["sha"],
            ts=int(m["ts"]),
        )

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return len(text) <= 128 and _TAG.fullmatch(text) is not None

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def __str__(self) -> str:
        return f"{self.env}-v{self.version}-{self.sha}-{self.ts}"

    def retarget(self, env: str, ts: int) -> BuildTag:
        """The same build under another environment's prefix with a new timestamp (a promotion's new tag)."""
        return BuildTag(env=env, major=self.major, minor=self.minor, patch=self.patch, sha=self.sha, ts=ts)

    @property
    def short_sha(self) -> str:
        return self.sha[:7]


def flux_filter_pattern(env: str) -> str:
    """The ImagePolicy filterTags.pattern that selects this env's builds by their timestamp."""
    return rf"^{env}-v[0-9]+\.[0-9]+\.[0-9]+-[a-f0-9]+-(?P<ts>[0-9]+)$"


def is_oci_tag(text: str) -> bool:
    return _OCI_TAG.fullmatch(text) is not None
