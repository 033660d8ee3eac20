"""Flux notification events from data/events_examples.json (see ORIGIN.md), plus the ImagePolicy ready-message
and IUA push-summary vectors of policy_cases.json / setter_cases.json, against bot.flux.events.

Every example is used in both its forms: as a controller posts it to notification-controller (prefixed metadata
keys, `token` present) and as notification-controller forwards it to a generic provider (unprefixed keys), which
is what the bot receives. The receiver-path vectors are not used: the bot hosts no Flux Receiver. The one
push-summary vector that expects an error (an empty revision) has no message to classify and is left out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from bot.flux.events import (
    FluxEvent,
    ImageUpdated,
    InvolvedObject,
    Other,
    PolicyResolved,
    Reconciled,
    ReconcileFailed,
    classify,
    parse_event,
    verify_hmac,
)

DATA = Path(__file__).parent / "data"
CASES: dict[str, Any] = json.loads((DATA / "events_examples.json").read_text(encoding="utf-8"))
READY: list[dict[str, Any]] = json.loads((DATA / "policy_cases.json").read_text())["flux_ready_message_cases"]
SETTERS: dict[str, Any] = json.loads((DATA / "setter_cases.json").read_text())
EXAMPLES: list[dict[str, Any]] = CASES["examples"]
SHA = "3ebb95cc56d2db59bc6ffbe0d9dd0ea445edeb77"


def _examples() -> list[Any]:
    return [pytest.param(e, id=e["id"]) for e in EXAMPLES]


def _both_forms() -> list[Any]:
    forms = ("controller_to_notification_controller", "forwarded_to_generic_provider")
    return [pytest.param(e, form, id=f"{e['id']}-{form.split('_')[0]}") for e in EXAMPLES for form in forms]


def _example(example_id: str) -> dict[str, Any]:
    return next(e for e in EXAMPLES if e["id"] == example_id)


def _signed(example: dict[str, Any]) -> tuple[bytes, str, bytes]:
    fwd = example["forwarded_to_generic_provider"]
    return fwd["body"].encode("utf-8"), fwd["x_signature_if_generic_hmac"], fwd["hmac_key"].encode("utf-8")


# -- X-Signature ----------------------------------------------------------------------------------------
def test_example_count() -> None:
    assert len(EXAMPLES) == 8  # a shrunken file would quietly shrink every parametrised test below


def test_verified_vector_from_flux_forwarder_test() -> None:
    v = CASES["verified_hmac_vector"]
    assert verify_hmac(v["body"].encode(), v["x_signature"], v["key"].encode())


@pytest.mark.parametrize("example", _examples())
def test_example_signature_verifies_over_the_exact_body(example: dict[str, Any]) -> None:
    body, signature, key = _signed(example)
    assert verify_hmac(body, signature, key)


@pytest.mark.parametrize("example", _examples())
def test_any_flipped_byte_is_refused(example: dict[str, Any]) -> None:
    body, signature, key = _signed(example)
    for i in (0, len(body) // 2, len(body) - 1):
        forged = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not verify_hmac(forged, signature, key), i


@pytest.mark.parametrize("example", _examples())
def test_wrong_or_trimmed_key_is_refused(example: dict[str, Any]) -> None:
    body, signature, key = _signed(example)
    for wrong in (key[:-1], key + b"\n", b" " + key, key.upper(), b""):
        assert not verify_hmac(body, signature, wrong), wrong


def test_missing_or_garbled_header_is_refused() -> None:
    body, signature, key = _signed(EXAMPLES[0])
    hexsig = signature.removeprefix("sha256=")
    garbled = [
        None, "", hexsig, "sha256=", f"sha256={hexsig[:-1]}", f"sha256={hexsig}0", f"sha256 = {hexsig}",
        f"SHA256={hexsig}", f"sha256={hexsig[:-1]}g", f"sha256:{hexsig}", f"sha256={hexsig},sha256={hexsig}",
    ]  # fmt: skip
    for header in garbled:
        assert not verify_hmac(body, header, key), header


def test_header_hex_case_and_surrounding_spaces_are_tolerated() -> None:
    body, signature, key = _signed(EXAMPLES[0])
    assert verify_hmac(body, " sha256=" + signature.removeprefix("sha256=").upper() + "\t", key)


@pytest.mark.parametrize("algorithm", ["sha1", "sha512"])
def test_other_algorithms_flux_receivers_accept_are_refused(algorithm: str) -> None:
    # Correctly computed: refused only because generic-hmac never sends them (see verify_hmac).
    body, _, key = _signed(EXAMPLES[0])
    header = f"{algorithm}={hmac.new(key, body, getattr(hashlib, algorithm)).hexdigest()}"
    assert not verify_hmac(body, header, key)


def test_reserialising_the_body_breaks_the_signature() -> None:
    # Go escapes < > & as \u003c \u003e \u0026; Python's json.dumps does not, so only the raw bytes verify.
    body, signature, key = _signed(_example("html-escaping"))
    event = _example("html-escaping")["forwarded_to_generic_provider"]["event"]
    redone = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    assert redone != body and json.loads(redone) == json.loads(body)
    assert not verify_hmac(redone, signature, key)


# -- parsing ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("example", "form"), _both_forms())
def test_every_body_parses_to_its_event(example: dict[str, Any], form: str) -> None:
    want = example[form]["event"]
    event = parse_event(example[form]["body"].encode("utf-8"))
    obj = want["involvedObject"]
    assert event.involved == InvolvedObject(obj["kind"], obj["namespace"], obj["name"], obj["uid"], obj["apiVersion"])
    assert (event.severity, event.timestamp, event.message, event.reason) == (
        want["severity"],
        want["timestamp"],
        want["message"],
        want["reason"],
    )
    assert dict(event.metadata) == want.get("metadata", {})
    assert event.reporting_controller == want["reportingController"]
    assert event.reporting_instance == want["reportingInstance"]


@pytest.mark.parametrize("example", _examples())
def test_both_forms_agree_on_revision_and_sha(example: dict[str, Any]) -> None:
    sent = parse_event(example["controller_to_notification_controller"]["body"].encode())
    forwarded = parse_event(example["forwarded_to_generic_provider"]["body"].encode())
    assert sent.revision == forwarded.revision
    assert sent.commit_sha == forwarded.commit_sha
    git_sourced = example["id"].startswith("kustomization-")
    assert forwarded.commit_sha == (SHA if git_sourced else None)


def test_helm_revision_is_the_chart_version_not_a_commit() -> None:
    event = parse_event(_example("helmrelease-upgrade-succeeded")["forwarded_to_generic_provider"]["body"].encode())
    assert (event.revision, event.commit_sha, event.meta("app-version")) == ("6.7.1", None, "6.7.1")


def test_html_escapes_are_decoded() -> None:
    event = parse_event(_example("html-escaping")["forwarded_to_generic_provider"]["body"].encode())
    assert event.message.endswith("schema(s): <root> & more")


# -- duplicate key ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["controller_to_notification_controller", "forwarded_to_generic_provider"])
def test_rate_limit_vector(form: str) -> None:
    vector = CASES["rate_limit"]["example"]
    assert hashlib.sha256(vector["key_string"].encode()).hexdigest() == vector["key"]  # the vector is coherent
    event = parse_event(_example(vector["event_id"])[form]["body"].encode())
    assert event.dedupe_key() == vector["key"]


def test_token_counts_while_the_controller_still_sends_it() -> None:
    # notification-controller keys on <group>/token, then strips it before forwarding.
    example = _example("helmrelease-upgrade-succeeded")
    sent = parse_event(example["controller_to_notification_controller"]["body"].encode())
    forwarded = parse_event(example["forwarded_to_generic_provider"]["body"].encode())
    assert sent.meta("token") is not None and forwarded.meta("token") is None
    assert sent.dedupe_key() != forwarded.dedupe_key()


def test_keys_differ_between_examples() -> None:
    keys = {parse_event(e["forwarded_to_generic_provider"]["body"].encode()).dedupe_key() for e in EXAMPLES}
    assert len(keys) == len(EXAMPLES)


# -- classification -------------------------------------------------------------------------------------
HEALTH = "health check failed after 5m0.041243826s: timeout waiting for: [Deployment/apps/podinfo status: 'InProgress']"
EXPECTED_CLASS: dict[str, object] = {
    "kustomization-succeeded": Reconciled("flux-system", "apps", SHA),
    "kustomization-applied-changes": Other(),
    "kustomization-health-check-failed": ReconcileFailed("flux-system", "apps", SHA, HEALTH),
    "imageupdateautomation-pushed": ImageUpdated("flux-system", "3ebb95c", "main", []),
    "imagepolicy-resolved-changed": PolicyResolved(
        "podinfo", "ghcr.io/stefanprodan/podinfo", "6.7.1", "ghcr.io/stefanprodan/podinfo:6.7.0"
    ),
    "imagepolicy-numerical-failure": Other(),
    "helmrelease-upgrade-succeeded": Other(),
    "html-escaping": ReconcileFailed(
        "apps",
        "podinfo",
        None,
        "Helm upgrade failed for release apps/podinfo with chart podinfo@6.7.2: values don't meet the "
        "specifications of the schema(s): <root> & more",
    ),
}


def test_every_example_has_an_expected_class() -> None:
    assert set(EXPECTED_CLASS) == {e["id"] for e in EXAMPLES}


@pytest.mark.parametrize(("example", "form"), _both_forms())
def test_examples_classify(example: dict[str, Any], form: str) -> None:
    assert classify(parse_event(example[form]["body"].encode())) == EXPECTED_CLASS[example["id"]]


def _event(kind: str, message: str, name: str = "app") -> FluxEvent:
    involved = InvolvedObject(kind, "flux-system", name, api_version="image.toolkit.fluxcd.io/v1")
    return FluxEvent(involved, "info", "2026-08-01T10:00:00Z", message, "Succeeded")


def _ref(ref: dict[str, str]) -> str:
    return f"{ref['name']}:{ref['tag']}" + (f"@{ref['digest']}" if ref.get("digest") else "")


@pytest.mark.parametrize("case", READY, ids=lambda c: c["expected"][len("Latest image tag for ") :])
def test_flux_ready_messages_classify(case: dict[str, Any]) -> None:
    latest, prev = case["latestRef"], case["observedPreviousRef"]
    # Flux leaves "(previously …)" out when the previous ref equals the latest one.
    shown_prev = _ref(prev) if prev and _ref(prev) != _ref(latest) else None
    got = classify(_event("ImagePolicy", case["expected"], name="my-policy"))
    assert got == PolicyResolved("my-policy", latest["name"], latest["tag"], shown_prev, latest.get("digest"))
    if shown_prev:
        assert isinstance(got, PolicyResolved) and got.previous_tag == prev["tag"]


PUSHES = [c for c in SETTERS["flux_push_summary_cases"] if "expected" in c]


@pytest.mark.parametrize(
    "case", PUSHES, ids=lambda c: f"{c['rev'][:7]}-{c['commit_message'][:12]}-{len(c['refspecs'])}"
)
def test_flux_push_summaries_classify(case: dict[str, Any]) -> None:
    got = classify(_event("ImageUpdateAutomation", case["expected"], name="auto"))
    assert got == ImageUpdated("auto", case["rev"][:7], "test-branch", [])


def _commit_message_cases() -> list[Any]:
    params = []
    for c in SETTERS["flux_commit_message_cases"]:
        if c.get("expect_error"):
            continue
        # msg-aggregate-objects: Flux's test checks substrings only; they are the lines that carry changes.
        message = c.get("expected") or "\n".join(c["expected_contains"])
        arrows = "->" in c["template"]
        files = sorted(c["data"]["Changed"]["FileChanges"].items()) if arrows else []
        changes = [(ch["OldValue"], ch["NewValue"]) for _, objects in files for obj in objects for ch in obj["changes"]]
        params.append(pytest.param(message, changes, id=c["id"]))
    return params


def test_commit_message_cases_are_all_used() -> None:
    assert len(_commit_message_cases()) == 6


@pytest.mark.parametrize(("message", "changes"), _commit_message_cases())
def test_changes_are_read_from_flux_commit_templates(message: str, changes: list[tuple[str, str]]) -> None:
    got = classify(_event("ImageUpdateAutomation", f"pushed commit 'a47b32f' to branch 'main'\n{message}"))
    assert got == ImageUpdated("app", "a47b32f", "main", changes)
