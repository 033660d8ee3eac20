"""Flux notification-controller events as a `generic`/`generic-hmac` Provider posts them: verify, parse,
classify, route.

Pure: bytes and values in, values out (stdlib, `bot.errors`, `bot.core` only); the HTTP receiver and the
Slack delivery do the I/O. What notification-controller sends (FLUX-FACTS §3): compact Go JSON, metadata
keys already stripped of the controller's API-group prefix (`revision`, not
`kustomize.toolkit.fluxcd.io/revision`), the `token` key removed. Events posted by a controller
straight to us would still carry the prefixed keys, so lookups accept both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.imageref import tag_or_ref
from bot.core.routes import Route
from bot.errors import InvalidInput

# notification-controller itself takes 3 MiB, but a message is capped at 39000 characters, so a real
# event is a few KiB; 1 MiB leaves room for big metadata without letting a sender make us hold more.
MAX_BODY = 1024 * 1024
MAX_MESSAGE = 39000  # PKG:apis/event/v1beta1 `+kubebuilder:validation:MaxLength=39000` (characters)
SEVERITIES = ("info", "error")  # `trace` is never posted to notification-controller
TOKEN_HEADER = "X-Gitops-Bot-Token"  # noqa: S105 - a header name, not a secret

# Only sha256: notification-controller's generic-hmac provider signs with nothing else. Flux's *Receiver*
# also takes sha1/sha512 because it checks other senders (GitHub and friends); accepting them here would
# only let a forger choose the weakest algorithm.
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_BEARER = re.compile(r"bearer[ \t]+(.+)", re.IGNORECASE)  # RFC 7235: the scheme is case-insensitive
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-]([0-9]{2}):([0-9]{2}))"
)
# PKG:git Commit.String: `<short ref>@sha1:<hex>` or a bare `sha1:<hex>`; the docs still show `main/<hex>`.
_GIT_REVISION = re.compile(r"(?:.*@)?sha1:([0-9a-f]{40})|.+/([0-9a-f]{40})", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def verify_hmac(body: bytes, header: str | None, key: bytes) -> bool:
    """True when `X-Signature` is `sha256=<hex HMAC-SHA256(key, body)>` over exactly these bytes.

    `key` is the Secret's `token` as bytes, untrimmed, because Flux signs with it untrimmed. An empty key
    never verifies: Flux refuses to send with one, so such a signature can only be forged.
    """
    if not key or header is None:
        return False
    m = _SIGNATURE.fullmatch(header.strip(" \t"))
    if m is None:
        return False
    expected = hmac.new(key, bytes(body), hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(m.group(1)))


def verify_bearer(headers: Mapping[str, str], expected: str) -> bool:
    """For a plain `generic` Provider: the shared secret arrives as a header from the Provider Secret's
    `headers` map, either `Authorization: Bearer <t>` or `X-Gitops-Bot-Token: <t>`. Header names are
    matched case-insensitively; every candidate is compared in constant time."""
    if not expected:
        return False
    want = expected.encode("utf-8", "surrogatepass")
    candidates = []
    for name, value in headers.items():
        if name.lower() == "authorization" and (m := _BEARER.fullmatch(value.strip(" \t"))):
            candidates.append(m.group(1).strip(" \t"))
        elif name.lower() == TOKEN_HEADER.lower():
            candidates.append(value.strip(" \t"))
    ok = False
    for candidate in candidates:
        ok |= hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), want)
    return ok


@dataclass(frozen=True)
class InvolvedObject:
    kind: str
    namespace: str
    name: str
    uid: str = ""
    api_version: str = ""

    @property
    def group(self) -> str:
        """API group of `apiVersion` (`kustomize.toolkit.fluxcd.io`); controllers prefix metadata with it."""
        return self.api_version.rpartition("/")[0]


@dataclass(frozen=True)
class FluxEvent:
    involved: InvolvedObject
    severity: str
    timestamp: str
    message: str
    reason: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    reporting_controller: str = ""
    reporting_instance: str = ""

    def meta(self, key: str) -> str | None:
        """A metadata value by its unprefixed name, or by `<group>/<name>` as a controller sends it."""
        if key in self.metadata:
            return self.metadata[key]
        group = self.involved.group
        return self.metadata.get(f"{group}/{key}") if group else None

    @property
    def revision(self) -> str | None:
        return self.meta("revision")

    @property
    def commit_sha(self) -> str | None:
        """The 40-hex commit of a Git revision; None for chart versions, OCI digests and the like."""
        m = _GIT_REVISION.fullmatch(self.revision or "")
        return (m.group(1) or m.group(2)) if m else None

    def dedupe_key(self) -> str:
        """notification-controller's duplicate-event key (NC:internal/server/event_server.go eventKeyFunc):
        the same object, message and revision within the window is the same event."""
        parts = [
            "event",
            f"name={self.involved.name}",
            f"namespace={self.involved.namespace}",
            f"kind={self.involved.kind}",
            f"message={self.message}",
        ]
        # Go appends a key that is present even when its value is empty, so `is not None`, not truthiness.
        for key in ("originRevision", "revision", "token"):
            if (value := self.meta(key)) is not None:
                parts.append(f"{key}={value}")
        return hashlib.sha256("/".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


# -- parsing ----------------------------------------------------------------------------------------------
def _show(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _bad(path: str, problem: str) -> InvalidInput:
    return InvalidInput(f"The Flux event's `{path}` {problem}.", hint="Is the sender a Flux notification Provider?")


def _clean(text: str) -> str:
    # Go's decoder turns an unpaired \ud800-style escape into U+FFFD; Python keeps the lone surrogate,
    # which cannot be encoded later. Match Go so the dedupe key and the Slack text stay encodable.
    return _SURROGATE.sub("\ufffd", text)


def _text(doc: Mapping[str, object], key: str, path: str, *, required: bool = True, nonempty: bool = False) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""  # Go leaves an optional string empty for a missing key or null
    if key not in doc:
        raise InvalidInput(f"The Flux event has no `{path}`.", hint="Is the sender a Flux notification Provider?")
    if not isinstance(value, str):
        raise _bad(path, f"must be a string, not {_json_kind(value)}")
    if nonempty and not value:
        raise _bad(path, "is empty")
    return _clean(value)


def _timestamp(value: str) -> str:
    m = _RFC3339.fullmatch(value)
    problem = f"{_show(value)} is not an RFC 3339 time like 2026-08-01T10:00:00Z"
    if m is None:
        raise _bad("timestamp", problem)
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        datetime(y, mo, d, h, mi, s)  # the calendar only (Feb 30, hour 24...); the offset is checked below
    except ValueError:
        raise _bad("timestamp", problem) from None
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        raise _bad("timestamp", problem)
    return value


def _metadata(doc: Mapping[str, object]) -> dict[str, str]:
    raw = doc.get("metadata")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _bad("metadata", f"must be an object of strings, not {_json_kind(raw)}")
    out = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise _bad(f"metadata[{_show(key)}]", f"must be a string, not {_json_kind(value)}")
        out[_clean(key)] = _clean(value)
    return dict(sorted(out.items()))  # Go marshals map keys sorted


def parse_event(body: bytes) -> FluxEvent:
    """Parse a notification-controller event strictly; anything else is InvalidInput naming the field.

    Unknown fields are ignored (newer Flux versions may add some); known fields must have Go's types.
    """
    if len(body) > MAX_BODY:
        raise InvalidInput(f"The Flux event is {len(body)} bytes; at most {MAX_BODY} are accepted.")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"The Flux event body is not UTF-8 text (bad byte at offset {err.start}).") from err
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise InvalidInput(f"The Flux event body is not valid JSON ({err.msg} at {where}).") from err
    except (ValueError, RecursionError) as err:  # NaN/Infinity, 4300+ digit numbers, deep nesting
        raise InvalidInput(f"The Flux event body is not valid JSON ({err}).") from err
    if not isinstance(doc, dict):
        raise InvalidInput(f"The Flux event body must be a JSON object, not {_json_kind(doc)}.")

    obj = doc.get("involvedObject")
    if not isinstance(obj, dict):
        if "involvedObject" not in doc:
            raise InvalidInput("The Flux event has no `involvedObject`.")
        raise _bad("involvedObject", f"must be an object, not {_json_kind(obj)}")
    for optional in ("resourceVersion", "fieldPath"):  # not kept, but Go would refuse a wrong type too
        _text(obj, optional, f"involvedObject.{optional}", required=False)
    involved = InvolvedObject(
        kind=_text(obj, "kind", "involvedObject.kind", nonempty=True),
        namespace=_text(obj, "namespace", "involvedObject.namespace", nonempty=True),
        name=_text(obj, "name", "involvedObject.name", nonempty=True),
        uid=_text(obj, "uid", "involvedObject.uid", required=False),
        api_version=_text(obj, "apiVersion", "involvedObject.apiVersion", required=False),
    )
    severity = _text(doc, "severity", "severity")
    if severity not in SEVERITIES:
        raise _bad("severity", f"is {_show(severity)}; expected info or error")
    message = _text(doc, "message", "message")
    if len(message) > MAX_MESSAGE:
        raise _bad("message", f"is {len(message)} characters long; Flux allows at most {MAX_MESSAGE}")
    return FluxEvent(
        involved=involved,
        severity=severity,
        timestamp=_timestamp(_text(doc, "timestamp", "timestamp")),
        message=message,
        reason=_text(doc, "reason", "reason"),
        metadata=_metadata(doc),
        reporting_controller=_text(doc, "reportingController", "reportingController", required=False),
        reporting_instance=_text(doc, "reportingInstance", "reportingInstance", required=False),
    )


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


# -- classification ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reconciled:
    """A Kustomization applied and reconciled this commit."""

    namespace: str
    name: str
    sha: str


@dataclass(frozen=True)
class ReconcileFailed:
    """A Kustomization or HelmRelease failed (health check, build, upgrade...); sha when Git-sourced."""

    namespace: str
    name: str
    sha: str | None
    message: str


@dataclass(frozen=True)
class ImageUpdated:
    """An ImageUpdateAutomation pushed a commit; `changes` are the `old -> new` lines of its message."""

    automation: str
    sha7: str
    branch: str
    changes: list[tuple[str, str]]


@dataclass(frozen=True)
class PolicyResolved:
    """An ImagePolicy picked a new latest tag; `previous` is the old `name:tag[@digest]` as Flux wrote it."""

    policy: str
    image: str
    tag: str
    previous: str | None
    digest: str | None = None

    @property
    def previous_tag(self) -> str | None:
        return tag_or_ref(self.previous) if self.previous else None


@dataclass(frozen=True)
class Other:
    pass


Classified = Reconciled | ReconcileFailed | ImageUpdated | PolicyResolved | Other

# IAC:internal/source/source.go PushResult.Summary; the commit message follows after "\n" when non-empty.
_PUSHED = re.compile(r"pushed commit '(?P<sha>[^'\n]+)' to branch '(?P<branch>[^\n]+?)'(?: and refspecs '[^\n]*')?")
# Flux's documented templates list `- <old> -> <new>`, sometimes followed by ` (<setter>)`.
_CHANGE = re.compile(r"[ \t]*(?:[-*•][ \t]+)?(?P<old>\S+)[ \t]+(?:->|→)[ \t]+(?P<new>\S+)(?:[ \t]+\([^)\n]*\))?[ \t]*")
# IRC composeImagePolicyReadyMessage: no quotes around the name, although the docs show them.
_RESOLVED = re.compile(
    r"Latest image tag for '?(?P<image>[^\s']+)'? resolved to (?P<tag>\S+)"
    r"(?: with digest (?P<digest>\S+))?(?: \(previously (?P<previous>\S+)\))?"
)


def _image_updated(event: FluxEvent) -> ImageUpdated | None:
    first, _, commit_message = event.message.partition("\n")
    m = _PUSHED.fullmatch(first)
    if m is None:
        return None
    changes: list[tuple[str, str]] = []
    for line in commit_message.splitlines():
        c = _CHANGE.fullmatch(line)
        if c and (c["old"], c["new"]) not in changes:
            changes.append((c["old"], c["new"]))
    return ImageUpdated(event.involved.name, m["sha"], m["branch"], changes)


def classify(event: FluxEvent) -> Classified:
    """What the bot should do with an event; anything it has no special handling for is Other."""
    kind, ns, name = event.involved.kind, event.involved.namespace, event.involved.name
    if kind in ("Kustomization", "HelmRelease") and (event.severity == "error" or event.reason == "HealthCheckFailed"):
        return ReconcileFailed(ns, name, event.commit_sha, event.message)
    if event.severity != "info":
        return Other()
    if kind == "Kustomization" and event.reason == "ReconciliationSucceeded" and (sha := event.commit_sha):
        return Reconciled(ns, name, sha)
    if kind == "ImageUpdateAutomation" and (update := _image_updated(event)):
        return update
    if kind == "ImagePolicy" and (m := _RESOLVED.fullmatch(event.message)):
        return PolicyResolved(name, m["image"], m["tag"], m["previous"], m["digest"])
    return Other()


# -- routing ----------------------------------------------------------------------------------------------
def route(
    event: FluxEvent, routes: Sequence[Route], default_channel: Callable[[str], str | None]
) -> tuple[str, str] | None:
    """(channel, mention) of the first matching route; else the env channel of the event's namespace
    without a mention; None when there is nowhere to send it."""
    for r in routes:
        if r.matches(event):
            return r.channel, r.mention
    channel = default_channel(event.involved.namespace)
    return (channel, "") if channel else None


__all__ = [
    "MAX_BODY", "MAX_MESSAGE", "SEVERITIES", "TOKEN_HEADER",
    "Classified", "FluxEvent", "ImageUpdated", "InvolvedObject", "Other", "PolicyResolved", "ReconcileFailed",
    "Reconciled",
    "classify", "parse_event", "route", "verify_bearer", "verify_hmac",
]  # fmt: skip
