"""bot/core/minting.py: the tag a promotion writes, per environments.<env>.tag (issue 16, LAYOUTS §11)."""

from __future__ import annotations

import pytest

from bot.core.discovery import Target, discover
from bot.core.history import CommitRecord, FileDiff, bumps
from bot.core.minting import PIN, SEED, mint, template_problem
from bot.core.plan import plan_promotion, plan_resume
from bot.core.rollback_plan import plan_rollback
from bot.core.tags import Build
from bot.errors import GateRefused
from tests.integration.test_tag_conventions import DATES, PIPELINE, SEMVER, SEMVER_RC, _fleet


def _production(spec: str) -> Target:
    files = _fleet({"staging": SEMVER_RC, "production": spec}, {"staging": "1.0.2-rc.1", "production": "v1.0.1"})
    return discover(files, pipeline=PIPELINE).targets[("app", "production")]


RC = Build.of("1.0.2-rc.1", "staging")


def test_seed_stays_the_default_and_needs_a_seed_tag() -> None:
    seed = Build.of("staging-v0.0.2-b2c3d4e-1738860123", "ignored")
    assert seed.env == "staging"
    got = mint(seed, _production(SEMVER), SEED, now=2000000000, target_tags=[], current=None)
    assert (got.tag, got.copy, got.hold, got.alias) == ("production-v0.0.2-b2c3d4e-2000000000", True, False,
                                                         "production")  # fmt: skip
    with pytest.raises(GateRefused, match=r"1.0.2-rc.1 is not in the seed convention"):
        mint(RC, _production(SEMVER), SEED, now=1, target_tags=[], current="v1.0.1")


def test_pin_is_the_source_tag_held_under_an_automation() -> None:
    got = mint(RC, _production(SEMVER), PIN, now=1, target_tags=["v1.0.1"], current="v1.0.1")
    assert (got.tag, got.copy, got.hold, got.alias) == ("1.0.2-rc.1", False, True, "")


def test_template_is_checked_against_the_target_policy() -> None:
    got = mint(RC, _production(SEMVER), "v{version}", now=1, target_tags=["v1.0.1"], current="v1.0.1")
    assert (got.tag, got.copy, got.hold, got.alias) == ("v1.0.2", True, False, "")
    with pytest.raises(GateRefused, match=r"it would select v1.0.1"):
        mint(RC, _production(SEMVER), "release-{version}", now=1, target_tags=["v1.0.1"], current="v1.0.1")
    with pytest.raises(GateRefused, match=r"needs \{sha\}, which 1.0.2-rc.1 does not carry"):
        mint(RC, _production(SEMVER), "{sha}-{ts}", now=1, target_tags=[], current="v1.0.1")
    # a filter nothing passes: the policy itself fails, and the refusal quotes Flux's error
    with pytest.raises(GateRefused, match=r"the policy fails"):
        mint(RC, _production(DATES), "v{version}", now=1, target_tags=[], current="v1.0.1")


@pytest.mark.parametrize(("template", "ok"), [("seed", True), ("pin", True), ("v{version}", True),
                                              ("{source_tag}", True), ("v{semver}", False), ("fixed", False),
                                              ("v{version", False)])  # fmt: skip
def test_template_problem(template: str, ok: bool) -> None:
    assert (template_problem(template) == "") is ok


def _promote(files: dict[str, str], tag: str, mode: str, digest: str) -> dict[str, str]:
    topo = discover(files, pipeline=PIPELINE)
    plan = plan_promotion(
        topo, files, tag=Build.of(tag, "staging"), service="app", target_env="production", digest=digest,
        target_tags=["v1.0.1"], current_digest=None, promoted_by="alice", now=2000000000, tag_mode=mode,
    )  # fmt: skip
    assert plan.edit is not None
    return {**files, **plan.edit.files}


def test_a_pin_is_held_in_its_commit_and_lifted_by_the_next_promote_or_resume() -> None:
    files = _fleet({"staging": SEMVER_RC, "production": SEMVER}, {"staging": "1.0.2-rc.1", "production": "v1.0.1"})
    pinned = _promote(files, "1.0.2-rc.1", PIN, "sha256:" + "2" * 64)
    target = discover(pinned, pipeline=PIPELINE).targets[("app", "production")]
    assert target.held and target.current_tag() == "1.0.2-rc.1"

    templated = _promote(pinned, "1.0.3-rc.1", "v{version}", "sha256:" + "3" * 64)
    target = discover(templated, pipeline=PIPELINE).targets[("app", "production")]
    assert not target.held and target.current_tag() == "v1.0.3"

    resume = plan_resume(
        discover(pinned, pipeline=PIPELINE), pinned, service="app", env="production",
        latest_available="1.0.2-rc.1", resumed_by="alice",
    )  # fmt: skip
    assert resume.edit is not None
    assert not discover({**pinned, **resume.edit.files}, pipeline=PIPELINE).targets[("app", "production")].held


def test_retag_rollback_to_a_tag_of_another_convention_is_refused_with_the_way_on() -> None:
    old, new = "b9.20240526.083653", "b26.20240527.063829"
    files = _fleet({"staging": DATES, "production": DATES}, {"staging": new, "production": new})
    prod = "clusters/production/kustomization.yaml"

    def line(tag: str) -> str:
        return f'    newTag: {tag} # {{"$imagepolicy": "flux-system:app-production:tag"}}'

    record = CommitRecord(
        sha="b" * 40, parents=(), author_name="a", author_email="a@x", authored_at=100,
        message="Update from image update automation", diffs=(FileDiff(prod, (line(old),), (line(new),)),),
    )  # fmt: skip
    topo = discover(files, pipeline=PIPELINE)
    first = CommitRecord(
        sha="a" * 40, parents=(), author_name="a", author_email="a@x", authored_at=50, message="initial layout",
        diffs=(FileDiff(prod, (), (line(old),)),),
    )  # fmt: skip
    history = bumps(topo.target("app", "production"), [record, first])
    with pytest.raises(GateRefused, match=r"Set environments.production.rollback: hold"):
        plan_rollback(
            topo, files, service="app", env="production", history=history, rolled_back_by="alice", now=2,
            to_tag=old, mode="retag",
        )  # fmt: skip
