"""bot/core/minting.py: the tag a promotion writes, per environments.<env>.tag (issue 16, LAYOUTS §11)."""

from __future__ import annotations

import pytest

from bot.core.discovery import Target, discover
from bot.core.minting import PIN, SEED, mint, template_problem
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
