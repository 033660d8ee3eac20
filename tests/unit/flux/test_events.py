"""bot.flux.events and bot.slack.flux_text: refusals, revisions, classification, routing, rendering, properties.

The Flux-sourced vectors (signatures, example bodies, the rate-limit key) are in
tests/conformance/test_flux_events.py; these tables cover the edges around them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.imageref import tag_or_ref as image_tag
from bot.core.routes import Route
from bot.errors import InvalidInput
from bot.flux.events import (
    MAX_BODY,
    MAX_MESSAGE,
    FluxEvent,
    ImageUpdated,
    InvolvedObject,
    Other,
    PolicyResolved,
    Reconciled,
    ReconcileFailed,
    classify,
    parse_event,
    route,
    verify_bearer,
    verify_hmac,
)
from bot.slack.flux_text import LINE_CHARS, LIST_LINES, coalesce, render, render_image_update
from tests.unit.core.test_import_boundary import _imports, _violation

SHA = "3ebb95cc56d2db59bc6ffbe0d9dd0ea445edeb77"


def _doc(**changes: Any) -> dict[str, Any]:
    """A valid forwarded Kustomization event; a change whose value is ... deletes that key."""
    doc: dict[str, Any] = {
        "involvedObject": {
            "kind": "Kustomization",
            "namespace": "flux-system",
            "name": "apps",
            "uid": "0f2c9a1e",
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        },
        "severity": "info",
        "timestamp": "2026-08-01T10:00:00Z",
        "message": "Reconciliation finished in 2s, next run in 10m0s",
        "reason": "ReconciliationSucceeded",
        "metadata": {"revision": f"main@sha1:{SHA}"},
        "reportingController": "kustomize-controller",
    }
    for path, value in changes.items():
        *parents, last = path.split("__")  # involvedObject__kind
        holder = doc
        for key in parents:
            holder = holder[key]
        if value is ...:
            del holder[last]
        else:
            holder[last] = value
    return doc


def _body(**changes: Any) -> bytes:
    return json.dumps(_doc(**changes)).encode()


def _event(
    kind: str = "Kustomization",
    *,
    severity: str = "info",
    reason: str = "ReconciliationSucceeded",
    message: str = "done",
    metadata: dict[str, str] | None = None,
    namespace: str = "flux-system",
    name: str = "apps",
    api_version: str = "kustomize.toolkit.fluxcd.io/v1",
) -> FluxEvent:
    involved = InvolvedObject(kind, namespace, name, api_version=api_version)
    meta = {"revision": f"main@sha1:{SHA}"} if metadata is None else metadata
    return FluxEvent(involved, severity, "2026-08-01T10:00:00Z", message, reason, meta)


@pytest.mark.parametrize("module", ["flux/events.py", "slack/flux_text.py"])
def test_events_and_render_are_pure(module: str) -> None:
    # The core's import rule, plus each other: the receiver and the outbox do the I/O.
    path = Path(__file__).resolve().parents[3] / "bot" / module
    found = [(ln, mod) for ln, mod in _imports(path) if not mod.startswith(("bot.flux.events", "bot.flux.render"))]
    assert any(mod == "re" for _, mod in found)  # the file was read
    bad = [f"line {ln}: {mod} ({why})" for ln, mod in found if (why := _violation(mod))]
    assert not bad, "\n".join(bad)


# -- parse_event refusals ---------------------------------------------------------------------------------
REFUSALS = [
    ("truncated", b'{"involvedObject":{"kind":"Kustomization"', "not valid JSON"),
    ("empty", b"", "not valid JSON"),
    ("array", b"[]", "must be a JSON object, not an array"),
    ("string", b'"event"', "must be a JSON object, not a string"),
    ("null", b"null", "must be a JSON object, not null"),
    ("nan", b'{"severity": NaN}', "not valid JSON (NaN"),
    ("bom", b"\xef\xbb\xbf" + _body(), "not valid JSON"),
    ("not-utf8", b'{"message": "\xff\xfe"}', "not UTF-8"),
    ("latin1-in-string", _body(message="caf\u00e9").replace(b"\\u00e9", b"\xe9"), "not UTF-8"),
    ("deep", b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ("huge-number", b'{"x": ' + b"9" * 5000 + b"}", "not valid JSON"),
    ("too-big", b" " * (MAX_BODY + 1), f"at most {MAX_BODY}"),
    ("no-involved", _body(involvedObject=...), "no `involvedObject`"),
    ("involved-string", _body(involvedObject="apps"), "`involvedObject` must be an object, not a string"),
    ("involved-null", _body(involvedObject=None), "`involvedObject` must be an object, not null"),
    ("no-kind", _body(involvedObject__kind=...), "no `involvedObject.kind`"),
    ("kind-number", _body(involvedObject__kind=7), "`involvedObject.kind` must be a string, not a number"),
    ("kind-empty", _body(involvedObject__kind=""), "`involvedObject.kind` is empty"),
    ("no-namespace", _body(involvedObject__namespace=...), "no `involvedObject.namespace`"),
    ("name-null", _body(involvedObject__name=None), "`involvedObject.name` must be a string, not null"),
    ("name-bool", _body(involvedObject__name=True), "`involvedObject.name` must be a string, not a boolean"),
    ("uid-number", _body(involvedObject__uid=1), "`involvedObject.uid` must be a string"),
    ("api-list", _body(involvedObject__apiVersion=["v1"]), "`involvedObject.apiVersion` must be a string, not an"),
    ("rv-number", _body(involvedObject__resourceVersion=5), "`involvedObject.resourceVersion` must be a string"),
    ("no-severity", _body(severity=...), "no `severity`"),
    ("severity-trace", _body(severity="trace"), "`severity` is 'trace'; expected info or error"),
    ("severity-case", _body(severity="INFO"), "`severity` is 'INFO'"),
    ("severity-number", _body(severity=1), "`severity` must be a string"),
    ("no-timestamp", _body(timestamp=...), "no `timestamp`"),
    ("timestamp-words", _body(timestamp="yesterday"), "`timestamp` 'yesterday' is not an RFC 3339 time"),
    ("timestamp-feb30", _body(timestamp="2026-02-30T10:00:00Z"), "`timestamp`"),
    ("timestamp-hour24", _body(timestamp="2026-08-01T24:00:00Z"), "`timestamp`"),
    ("timestamp-space", _body(timestamp="2026-08-01 10:00:00Z"), "`timestamp`"),
    ("timestamp-no-zone", _body(timestamp="2026-08-01T10:00:00"), "`timestamp`"),
    ("timestamp-bad-offset", _body(timestamp="2026-08-01T10:00:00+25:00"), "`timestamp`"),
    ("timestamp-unix", _body(timestamp=1785578400), "`timestamp` must be a string, not a number"),
    ("timestamp-arabic-digits", _body(timestamp="٢٠٢٦-08-01T10:00:00Z"), "`timestamp`"),
    ("no-message", _body(message=...), "no `message`"),
    ("message-object", _body(message={}), "`message` must be a string, not an object"),
    ("message-huge", _body(message="x" * (MAX_MESSAGE + 1)), f"`message` is {MAX_MESSAGE + 1} characters"),
    ("no-reason", _body(reason=...), "no `reason`"),
    ("reason-null", _body(reason=None), "`reason` must be a string, not null"),
    ("metadata-array", _body(metadata=["revision"]), "`metadata` must be an object of strings, not an array"),
    ("metadata-number", _body(metadata={"revision": 1}), "`metadata['revision']` must be a string, not a number"),
    ("metadata-null-value", _body(metadata={"a": None}), "`metadata['a']` must be a string, not null"),
    ("metadata-nested", _body(metadata={"a": {"b": "c"}}), "`metadata['a']` must be a string, not an object"),
    ("controller-number", _body(reportingController=3), "`reportingController` must be a string"),
    ("instance-list", _body(reportingInstance=[]), "`reportingInstance` must be a string"),
]


@pytest.mark.parametrize(("body", "names"), [pytest.param(b, n, id=i) for i, b, n in REFUSALS])
def test_refusals_name_the_field(body: bytes, names: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_event(body)
    assert names in str(err.value)


def test_the_base_document_is_valid() -> None:
    # Every refusal above is this document with one thing broken.
    event = parse_event(_body())
    assert (event.involved.kind, event.reason) == ("Kustomization", "ReconciliationSucceeded")
    assert event.revision == f"main@sha1:{SHA}"
    assert (event.commit_sha, event.reporting_controller, event.reporting_instance) == (SHA, "kustomize-controller", "")


@pytest.mark.parametrize(
    ("body", "check"),
    [
        pytest.param(_body(extra={"x": [1, 2]}, involvedObject__fieldPath="spec"), "extra", id="unknown-fields"),
        pytest.param(_body(metadata=None), "metadata-null", id="metadata-null"),
        pytest.param(_body(metadata=...), "metadata-null", id="metadata-absent"),
        pytest.param(_body(involvedObject__uid=..., involvedObject__apiVersion=None), "optional", id="optionals"),
        pytest.param(_body(message="x" * MAX_MESSAGE), "long", id="message-at-limit"),
        pytest.param(_body(message="é" * MAX_MESSAGE), "long", id="message-limit-is-characters"),
        pytest.param(_body(timestamp="2026-08-01T10:00:00.123456789+02:00"), "ts", id="fraction-and-offset"),
        pytest.param(_body(reason=""), "reason", id="empty-reason"),
    ],
)
def test_accepted_variants(body: bytes, check: str) -> None:
    event = parse_event(body)
    if check == "metadata-null":
        assert dict(event.metadata) == {} and event.revision is None
    elif check == "optional":
        assert (event.involved.uid, event.involved.api_version, event.involved.group) == ("", "", "")
    elif check == "long":
        assert len(event.message) == MAX_MESSAGE
    elif check == "ts":
        assert event.timestamp == "2026-08-01T10:00:00.123456789+02:00"
    elif check == "reason":
        assert event.reason == ""
    else:
        assert event.involved.name == "apps"


def test_metadata_keys_are_sorted_like_go() -> None:
    event = parse_event(_body(metadata={"z": "1", "a": "2", "m": "3"}))
    assert list(event.metadata) == ["a", "m", "z"]


def test_lone_surrogate_escapes_become_replacement_characters_like_go() -> None:
    event = parse_event(_body().replace(b'"apps"', b'"apps\\ud800x"', 1))
    assert event.involved.name == "apps\ufffdx"
    assert len(event.dedupe_key()) == 64
    pair = parse_event(_body(message="\\ud83d\\ude80").replace(b"\\\\", b"\\"))
    assert pair.message == "🚀"


# -- verification ----------------------------------------------------------------------------------------
def test_hmac_key_is_used_untrimmed() -> None:
    key = b" secret\n"
    header = "sha256=" + hmac.new(key, b"{}", hashlib.sha256).hexdigest()
    assert verify_hmac(b"{}", header, key)
    assert not verify_hmac(b"{}", header, b"secret")


def test_empty_hmac_key_never_verifies() -> None:
    header = "sha256=" + hmac.new(b"", b"{}", hashlib.sha256).hexdigest()
    assert not verify_hmac(b"{}", header, b"")


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"Authorization": "Bearer s3cret"}, True),
        ({"authorization": "bearer s3cret"}, True),
        ({"AUTHORIZATION": "BEARER   s3cret  "}, True),
        ({"X-Gitops-Bot-Token": "s3cret"}, True),
        ({"x-gitops-bot-token": " s3cret"}, True),
        ({"Authorization": "Bearer wrong", "X-Gitops-Bot-Token": "s3cret"}, True),
        ({"Authorization": "Bearer s3cre"}, False),
        ({"Authorization": "Bearer s3cret2"}, False),
        ({"Authorization": "Basic s3cret"}, False),
        ({"Authorization": "s3cret"}, False),
        ({"Authorization": "Bearer"}, False),
        ({"X-Token": "s3cret"}, False),
        ({"X-Gitops-Bot-Token": "S3CRET"}, False),
        ({"X-Gitops-Bot-Token": "s3crét"}, False),
        ({}, False),
    ],
)
def test_bearer(headers: dict[str, str], ok: bool) -> None:
    assert verify_bearer(headers, "s3cret") is ok


def test_empty_expected_bearer_never_verifies() -> None:
    assert not verify_bearer({"X-Gitops-Bot-Token": ""}, "")
    assert not verify_bearer({"Authorization": "Bearer "}, "")


# -- revisions and metadata lookups -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("revision", "sha"),
    [
        (f"main@sha1:{SHA}", SHA),
        (f"feature/x@sha1:{SHA}", SHA),
        (f"v1.0@sha1:{SHA}", SHA),
        (f"refs/pull/1/head@sha1:{SHA}", SHA),
        (f"sha1:{SHA}", SHA),
        (f"main/{SHA}", SHA),
        (f"feature/x/{SHA}", SHA),
        ("6.7.1", None),
        ("latest@sha256:" + "a" * 64, None),
        (f"main@sha1:{SHA[:-1]}", None),
        (f"main@sha1:{SHA.upper()}", None),
        (f"main@sha1:{SHA}0", None),
        (SHA, None),
        (f"/{SHA}", None),
        ("", None),
    ],
)
def test_commit_sha(revision: str, sha: str | None) -> None:
    assert _event(metadata={"revision": revision}).commit_sha == sha


def test_prefixed_metadata_of_the_objects_own_group_counts() -> None:
    sent = _event(metadata={"kustomize.toolkit.fluxcd.io/revision": f"main@sha1:{SHA}"})
    assert (sent.revision, sent.commit_sha) == (f"main@sha1:{SHA}", SHA)
    other_group = _event(metadata={"helm.toolkit.fluxcd.io/revision": f"main@sha1:{SHA}"})
    assert other_group.revision is None
    no_group = _event(metadata={"kustomize.toolkit.fluxcd.io/revision": "x"}, api_version="v1")
    assert no_group.revision is None


def test_unprefixed_revision_wins() -> None:
    event = _event(metadata={"revision": "a", "kustomize.toolkit.fluxcd.io/revision": "b"})
    assert event.revision == "a"


def test_dedupe_key_depends_on_what_flux_keys_on() -> None:
    base = _event()
    assert base.dedupe_key() == _event().dedupe_key()
    assert base.dedupe_key() != _event(message="other").dedupe_key()
    assert base.dedupe_key() != _event(name="apps2").dedupe_key()
    assert base.dedupe_key() != _event(metadata={}).dedupe_key()
    assert _event(metadata={"revision": ""}).dedupe_key() != _event(metadata={}).dedupe_key()  # present counts
    with_origin = _event(metadata={"revision": f"main@sha1:{SHA}", "originRevision": "x"})
    assert base.dedupe_key() != with_origin.dedupe_key()
    # Severity, reason and other metadata are not part of the key.
    assert base.dedupe_key() == _event(severity="error", reason="X").dedupe_key()
    assert base.dedupe_key() == _event(metadata={"revision": f"main@sha1:{SHA}", "cluster": "eu"}).dedupe_key()


@pytest.mark.parametrize(
    ("ref", "tag"),
    [
        ("ghcr.io/acme/backend:develop-v0.0.3-c3d4e5f-1738860123", "develop-v0.0.3-c3d4e5f-1738860123"),
        ("localhost:5000/app:1.2", "1.2"),
        ("localhost:5000/app:1.2@sha256:abc", "1.2"),
        ("helloworld:v1.0.0", "v1.0.0"),
        ("develop-v0.0.3-c3d4e5f-1738860123", "develop-v0.0.3-c3d4e5f-1738860123"),
        ("localhost:5000/app", "localhost:5000/app"),
        ("app:", "app:"),  # no tag to take: the value is returned as it is
    ],
)
def test_image_tag(ref: str, tag: str) -> None:
    assert image_tag(ref) == tag


# -- classification --------------------------------------------------------------------------------------
IUA = "image.toolkit.fluxcd.io/v1"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(_event(), Reconciled("flux-system", "apps", SHA), id="reconciled"),
        pytest.param(_event(metadata={"revision": "latest@sha256:" + "a" * 64}), Other(), id="oci-source"),
        pytest.param(_event(metadata={}), Other(), id="no-revision"),
        pytest.param(_event(reason="Progressing"), Other(), id="progressing"),
        pytest.param(
            _event(severity="error", reason="BuildFailed", message="kustomize build failed"),
            ReconcileFailed("flux-system", "apps", SHA, "kustomize build failed"),
            id="build-failed",
        ),
        pytest.param(
            _event("HelmRelease", severity="error", reason="InstallFailed", metadata={"revision": "1.0.0"}),
            ReconcileFailed("flux-system", "apps", None, "done"),
            id="helm-failed",
        ),
        pytest.param(
            _event(reason="HealthCheckFailed", message="timeout"),
            ReconcileFailed("flux-system", "apps", SHA, "timeout"),
            id="health-info",
        ),
        pytest.param(_event("GitRepository", severity="error", reason="GitOperationFailed"), Other(), id="git-error"),
        pytest.param(_event("HelmRelease", reason="UpgradeSucceeded"), Other(), id="helm-ok"),
        pytest.param(
            _event(
                "ImageUpdateAutomation",
                reason="Succeeded",
                api_version=IUA,
                message="pushed commit 'a47b32f' to branch 'auto' and refspecs 'refs/heads/auto:refs/heads/x'\n"
                "Bump\n\n* ghcr.io/a/backend:1 → ghcr.io/a/backend:2\n- x:1 -> x:2 (ns:p)\n- x:1 -> x:2\n"
                "- not -> a -> change\nplain text",
            ),
            ImageUpdated("apps", "a47b32f", "auto", [("ghcr.io/a/backend:1", "ghcr.io/a/backend:2"), ("x:1", "x:2")]),
            id="iua-refspecs-and-changes",
        ),
        pytest.param(
            _event("ImageUpdateAutomation", reason="Succeeded", api_version=IUA, message="repository up-to-date"),
            Other(),
            id="iua-up-to-date",
        ),
        pytest.param(
            _event(
                "ImageUpdateAutomation",
                severity="error",
                reason="GitOperationFailed",
                api_version=IUA,
                message="pushed commit 'a47b32f' to branch 'main'",
            ),
            Other(),
            id="iua-error",
        ),
        pytest.param(
            _event("ImagePolicy", reason="Succeeded", message="Latest image tag for 'app' resolved to 2"),
            PolicyResolved("apps", "app", "2", None),
            id="policy-docs-quoted-form",
        ),
        pytest.param(
            _event(
                "ImagePolicy",
                reason="Succeeded",
                api_version=IUA,
                message="Latest image tag for localhost:5000/app resolved to 2 with digest sha256:ab "
                "(previously localhost:5000/app:1@sha256:cd)",
            ),
            PolicyResolved("apps", "localhost:5000/app", "2", "localhost:5000/app:1@sha256:cd", "sha256:ab"),
            id="policy-port-and-digests",
        ),
        pytest.param(
            _event("ImageRepository", reason="Succeeded", message="successful scan: found 3 tags with checksum 1"),
            Other(),
            id="repository-scan",
        ),
        pytest.param(
            _event("ImagePolicy", reason="Succeeded", message="Latest image tag for app resolved to 2 extra"),
            Other(),
            id="policy-unknown-shape",
        ),
    ],
)
def test_classify(event: FluxEvent, expected: object) -> None:
    assert classify(event) == expected


def test_previous_tag_of_a_registry_with_port() -> None:
    resolved = PolicyResolved("p", "localhost:5000/app", "2", "localhost:5000/app:1@sha256:cd")
    assert resolved.previous_tag == "1"
    assert PolicyResolved("p", "app", "2", None).previous_tag is None


# -- routing ---------------------------------------------------------------------------------------------
def _env_channel(namespace: str) -> str | None:
    return {"flux-system": "C-ENV"}.get(namespace)


def test_first_matching_route_wins_over_later_routes_and_the_default() -> None:
    routes = [
        Route("C-HELM", kinds=("HelmRelease",)),
        Route("C-ERR", severities=("error",), mention="<!subteam^S1>"),
        Route("C-ALL"),
    ]
    assert route(_event(severity="error"), routes, _env_channel) == ("C-ERR", "<!subteam^S1>")
    assert route(_event("HelmRelease", severity="error"), routes, _env_channel) == ("C-HELM", "")
    assert route(_event(), routes, _env_channel) == ("C-ALL", "")


@pytest.mark.parametrize(
    ("r", "matches"),
    [
        (Route("C"), True),
        (Route("C", kinds=("kustomization",)), True),
        (Route("C", kinds=("HelmRelease", "Kustomization")), True),
        (Route("C", kinds=("HelmRelease",)), False),
        (Route("C", namespaces=("flux-system",)), True),
        (Route("C", namespaces=("Flux-System",)), False),
        (Route("C", names=("apps",)), True),
        (Route("C", names=("app",)), False),
        (Route("C", severities=("INFO",)), True),
        (Route("C", severities=("error",)), False),
        (Route("C", reasons=("ReconciliationSucceeded",)), True),
        (Route("C", reasons=("reconciliationsucceeded",)), False),
        (Route("C", kinds=("Kustomization",), names=("apps",), reasons=("Progressing",)), False),
    ],
)
def test_route_filters(r: Route, matches: bool) -> None:
    assert route(_event(), [r], lambda _ns: None) == (("C", "") if matches else None)


def test_default_channel_of_the_namespace_without_mention() -> None:
    routes = [Route("C-HELM", kinds=("HelmRelease",), mention="@here")]
    assert route(_event(), routes, _env_channel) == ("C-ENV", "")
    assert route(_event(namespace="apps"), routes, _env_channel) is None
    assert route(_event(), [], lambda _ns: "") is None


# -- rendering -------------------------------------------------------------------------------------------
def test_render_one_line_with_short_sha() -> None:
    assert render(_event(message="Reconciliation finished in 2s\nsecond line")) == (
        "✅ *Kustomization/flux-system/apps* ReconciliationSucceeded `3ebb95c`: Reconciliation finished in 2s"
    )


def test_render_icons_and_revisions() -> None:
    failed = render(_event("HelmRelease", severity="error", reason="UpgradeFailed", metadata={"revision": "6.7.2"}))
    assert failed.startswith("❌ *HelmRelease/flux-system/apps* UpgradeFailed `6.7.2`: ")
    assert render(_event(reason="Whatever", metadata={})).startswith("ℹ️ *Kustomization/flux-system/apps* Whatever: ")
    assert render(_event(reason="RollbackSucceeded")).startswith("↩️ ")
    long_revision = render(_event(metadata={"revision": "latest@sha256:" + "a" * 64}))
    assert "`latest@sha256:" + "a" * 25 + "…`" in long_revision
    assert "``" not in render(_event(metadata={"revision": "`"}))


def test_render_caps_a_long_message() -> None:
    text = render(_event(severity="error", reason="HealthCheckFailed", message="x" * MAX_MESSAGE))
    assert text.endswith("x" * (LINE_CHARS - 1) + "…")
    assert len(text) < LINE_CHARS + 100


def test_render_keeps_change_set_lines_up_to_a_cap() -> None:
    lines = [f"Deployment/apps/app{i} configured" for i in range(LIST_LINES + 3)]
    text = render(_event(reason="Progressing", message="\n".join(lines)))
    assert text.splitlines() == [
        "🔄 *Kustomization/flux-system/apps* Progressing `3ebb95c`",
        *lines[:LIST_LINES],
        "…and 3 more",
    ]
    cluster_scoped = render(_event(reason="Progressing", message="Namespace/apps created\nClusterRole/x configured"))
    assert cluster_scoped.endswith("\nNamespace/apps created\nClusterRole/x configured")


def test_render_escapes_slack_control_characters() -> None:
    text = render(_event(severity="error", reason="X", message="<!channel> & <@U123> <http://x|y>"))
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;http://x|y&gt;" in text
    assert "<" not in text


BACKEND_CHANGE = [
    ("ghcr.io/acme/backend:develop-v0.0.2-b2c3d4e-1738860000", "ghcr.io/acme/backend:develop-v0.0.3-c3d4e5f-1738860123")
]


@pytest.mark.parametrize(
    ("update", "service", "env", "expected"),
    [
        (
            ImageUpdated("flux-system", "3ebb95c", "main", BACKEND_CHANGE),
            "backend",
            "develop",
            "🔄 backend develop → develop-v0.0.3-c3d4e5f-1738860123 (automation flux-system, commit 3ebb95c on main)",
        ),
        (
            ImageUpdated("flux-system", "3ebb95c", "main", BACKEND_CHANGE),
            None,
            None,
            "🔄 backend → develop-v0.0.3-c3d4e5f-1738860123 (automation flux-system, commit 3ebb95c on main)",
        ),
        (
            ImageUpdated("auto", "3ebb95c", "main", []),
            None,
            "develop",
            "🔄 auto develop: automation auto, commit 3ebb95c on main",
        ),
        (
            ImageUpdated("auto", "a1", "main", [("x:1", "x:2"), ("1", "2")]),
            None,
            None,
            "🔄 auto (automation auto, commit a1 on main)\n• x 1 → 2\n• 1 → 2",
        ),
        (
            PolicyResolved("backend", "ghcr.io/acme/backend", "develop-v0.0.3", "ghcr.io/acme/backend:develop-v0.0.2"),
            "backend",
            "develop",
            "🔄 backend develop → develop-v0.0.3 (policy backend, was develop-v0.0.2)",
        ),
        (
            PolicyResolved("backend", "ghcr.io/acme/backend", "develop-v0.0.3", None),
            None,
            None,
            "🔄 backend → develop-v0.0.3 (policy backend)",
        ),
        (
            PolicyResolved("p", "app", "<!here>", "app:<b>&"),
            "svc",
            None,
            "🔄 svc → &lt;!here&gt; (policy p, was &lt;b&gt;&amp;)",
        ),
    ],
)
def test_render_image_update(
    update: ImageUpdated | PolicyResolved, service: str | None, env: str | None, expected: str
) -> None:
    assert render_image_update(update, service, env) == expected


def test_render_image_update_caps_the_change_list() -> None:
    changes = [(f"a:{i}", f"a:{i + 1}") for i in range(LIST_LINES + 2)]
    text = render_image_update(ImageUpdated("auto", "a1", "main", changes), "svc", None)
    assert len(text.splitlines()) == 1 + LIST_LINES + 1
    assert text.endswith("\n…and 2 more")


@pytest.mark.parametrize(
    ("texts", "limit", "expected"),
    [
        ([], 100, ""),
        (["a", "b"], 100, "a\nb"),
        (["a" * 10] * 10, 50, "\n".join(["a" * 10] * 3) + "\n…and 7 more"),
        (["a" * 10, "b" * 10], 21, "a" * 10 + "\n" + "b" * 10),
        (["a" * 100, "b"], 30, "a" * 17 + "…" + "\n…and 1 more"),
        (["a" * 100], 30, "a" * 29 + "…"),
        (["abc"], 0, ""),
    ],
)
def test_coalesce(texts: list[str], limit: int, expected: str) -> None:
    assert coalesce(texts, limit) == expected


# -- properties ------------------------------------------------------------------------------------------
@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_are_refused(body: bytes) -> None:
    try:
        parse_event(body)
    except InvalidInput as err:
        assert str(err)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["involvedObject", "severity", "timestamp", "message", "reason", "metadata", "reportingController", "x"]
)


@given(json_values)
def test_arbitrary_json_parses_or_is_refused(value: object) -> None:
    try:
        parse_event(json.dumps(value).encode())
    except InvalidInput as err:
        assert str(err)


@given(st.dictionaries(field_names, json_values, max_size=8), st.booleans())
def test_event_shaped_json_parses_or_is_refused(fields: dict[str, Any], base: bool) -> None:
    doc = {**_doc(), **fields} if base else fields
    try:
        event = parse_event(json.dumps(doc).encode())
    except InvalidInput as err:
        assert str(err)
    else:
        assert event.severity in ("info", "error") and event.involved.name
        render(event)
        classify(event)


safe_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(
    st.builds(
        InvolvedObject,
        kind=safe_text.filter(bool),
        namespace=safe_text.filter(bool),
        name=safe_text.filter(bool),
        uid=safe_text,
        api_version=safe_text,
    ),
    st.sampled_from(["info", "error"]),
    safe_text,
    safe_text,
    st.dictionaries(safe_text, safe_text, max_size=4),
)
def test_round_trip_through_json(
    involved: InvolvedObject, severity: str, message: str, reason: str, metadata: dict[str, str]
) -> None:
    doc = {
        "involvedObject": {
            "kind": involved.kind,
            "namespace": involved.namespace,
            "name": involved.name,
            "uid": involved.uid,
            "apiVersion": involved.api_version,
        },
        "severity": severity,
        "timestamp": "2026-08-01T10:00:00Z",
        "message": message,
        "reason": reason,
        "metadata": metadata,
    }
    event = parse_event(json.dumps(doc, ensure_ascii=False).encode())
    sorted_metadata = dict(sorted(metadata.items()))
    assert event == FluxEvent(involved, severity, "2026-08-01T10:00:00Z", message, reason, sorted_metadata)
    assert len(event.dedupe_key()) == 64
    assert "<" not in render(event)


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=40), st.data())
def test_hmac_accepts_its_own_signature_and_nothing_flipped(body: bytes, key: bytes, data: st.DataObject) -> None:
    header = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    assert verify_hmac(body, header, key)
    if body:
        i = data.draw(st.integers(0, len(body) - 1))
        bit = data.draw(st.integers(0, 7))
        assert not verify_hmac(body[:i] + bytes([body[i] ^ (1 << bit)]) + body[i + 1 :], header, key)


@given(st.text(max_size=80) | st.none())
def test_hmac_never_raises_on_odd_headers(header: str | None) -> None:
    assert verify_hmac(b"{}", header, b"k") is False


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=4), st.text(max_size=20))
def test_bearer_never_raises(headers: dict[str, str], expected: str) -> None:
    assert isinstance(verify_bearer(headers, expected), bool)


@given(st.lists(st.text(max_size=200), max_size=30), st.integers(1, 2000))
def test_coalesce_never_exceeds_the_limit(texts: list[str], limit: int) -> None:
    out = coalesce(texts, limit)
    assert len(out) <= limit
    joined = "\n".join(texts)
    if len(joined) <= limit:
        assert out == joined
    elif texts:
        assert out.startswith(texts[0]) or out.startswith(texts[0][: max(0, limit - 20)])
