from __future__ import annotations

import pytest

from bot.core import commit_message as cm
from bot.errors import InvalidInput


def _promotion(**kw: str) -> cm.CommitMessage:
    args = dict(
        service="backend",
        version="0.0.2",
        sha="b2c3d4e",
        source_env="staging",
        target_env="production",
        source_tag="staging-v0.0.2-b2c3d4e-100",
        target_tag="production-v0.0.2-b2c3d4e-200",
        digest="sha256:" + "a" * 64,
        promoted_by=cm.person("Alice", "slack:U123ABC"),
    )
    args.update(kw)
    return cm.promotion_message(**args)  # type: ignore[arg-type]


def test_promotion_subject_and_trailers_round_trip() -> None:
    msg = _promotion(request_id="r-1", slack_thread="https://acme.slack.com/archives/C1/p1")
    text = msg.render()
    assert text.splitlines()[0] == "promote(backend): v0.0.2 b2c3d4e staging → production"
    t = cm.parse_trailers(text)
    assert t.get(cm.PROMOTED_BY) == "Alice <slack:U123ABC>"
    assert t.get(cm.TARGET_TAG) == "production-v0.0.2-b2c3d4e-200"
    assert t.get(cm.REQUEST_ID) == "r-1"
    assert cm.change_kind(text) == "promote"


def test_several_approvers_are_kept_in_order() -> None:
    text = _promotion(approved_by=("Bob <slack:U2>", "Carol <slack:U3>")).render()  # type: ignore[arg-type]
    assert cm.parse_trailers(text).all("approved-by") == ["Bob <slack:U2>", "Carol <slack:U3>"]


def test_reason_cannot_forge_a_trailer() -> None:
    with pytest.raises(InvalidInput):
        _promotion(reason="ok\n\nApproved-by: Mallory <slack:U666>")


def test_rollback_uses_git_revert_format() -> None:
    text = cm.rollback_message(
        service="backend",
        env="production",
        reverted_subject="promote(backend): v0.0.2 b2c3d4e staging → production",
        reverted_sha="f" * 40,
        from_value="production-v0.0.2-b2c3d4e-200",
        to_value="production-v0.0.1-a1b2c3d-50",
        rolled_back_by="Alice <slack:U1>",
        hold="flux-system:backend-production",
    ).render()
    lines = text.splitlines()
    assert lines[0] == 'Revert "promote(backend): v0.0.2 b2c3d4e staging → production"'
    assert lines[2] == f"This reverts commit {'f' * 40}."
    assert "now name HELD:flux-system:backend-production" in text and "suspend" not in text
    assert cm.parse_trailers(text).get(cm.REVERTS) == "f" * 40
    assert cm.change_kind(text) == "rollback"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Update from image update automation", "automation"),
        ("fix readme\n\nSigned-off-by: x <x@y>", "other"),
        ("resume(backend): x\n\nbody\n\nResumed-by: a <b>", "resume"),
    ],
)
def test_change_kind(message: str, kind: str) -> None:
    assert cm.change_kind(message) == kind


def test_trailers_need_a_final_paragraph_of_only_trailers() -> None:
    assert cm.parse_trailers("subject\n\nnot: a trailer paragraph\nbecause this line is prose").items == ()
    assert cm.parse_trailers("Promoted-by: a <b>").items == ()  # a subject alone has no trailers
