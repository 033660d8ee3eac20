"""Holds that hold exactly one service in one env (issue 14), on shared automations, checked with a Flux-like run.

The fleet is LAYOUTS §4's: one automation in flux-system over the whole repository, backend and frontend, each
in staging and production. Every test of a finding in issue 14's "Why" says which one.
"""

from __future__ import annotations

import pytest

from bot.core import commit_message as cm
from bot.core import yamltext
from bot.core.discovery import Topology, discover
from bot.core.history import CommitRecord, FileDiff, bumps
from bot.core.holds import HoldKind
from bot.core.plan import plan_promotion, plan_resume
from bot.core.rollback_plan import plan_rollback
from bot.core.tags import BuildTag
from bot.errors import GateRefused
from tests.fleets.flux_run import automation_run, with_newer_builds
from tests.fleets.layouts import P1, one_automation
from tests.fleets.objects import automation, tag

ALICE = cm.person("Alice", "slack:U1")
PIPELINE = ("staging", "production")
BE = "deploy/production/backend.yaml"
AUTO = "flux/automation.yaml"
P2, P3, P4 = (tag("production", "0.0.2", ts) for ts in (1300, 1400, 1500))
NEWER = 9_999_999_999


def _topo(files: dict[str, str]) -> Topology:
    return discover(files, pipeline=PIPELINE)


def _record(sha: str, old: str | None, new: str, message: str = "Update from image update automation") -> CommitRecord:
    def line(t: str) -> str:
        return f'          image: ghcr.io/acme/backend:{t} # {{"$imagepolicy": "flux-system:backend-production"}}'

    removed = (line(old),) if old else ()
    return CommitRecord(sha, (), "a", "a@x", int(sha[-1], 16) * 100, message, (FileDiff(BE, removed, (line(new),)),))


def _fleet(backend_prod: str) -> dict[str, str]:
    files = dict(one_automation().files)
    files[BE] = files[BE].replace(P1, backend_prod)
    return files


def _flux(files: dict[str, str]) -> dict[tuple[str, str], str | None]:
    """Each target's tag after one Flux-like run in which every policy has a newer build."""
    images = {**one_automation().images}
    images = {k: (*v, P2, P3) for k, v in images.items()}
    after = automation_run(files, with_newer_builds(images, NEWER))
    return {k: t.current_tag() for k, t in _topo(after).targets.items()}


def _bumped(tags: dict[tuple[str, str], str | None]) -> set[tuple[str, str]]:
    return {k for k, t in tags.items() if t and t.endswith(f"-{NEWER}")}


def _rollback(files: dict[str, str], **kw: object) -> dict[str, str]:
    topo = _topo(files)
    history = bumps(topo.target("backend", "production"), [_record("b" * 40, P1, P2), _record("a" * 40, None, P1)])
    plan = plan_rollback(topo, files, service="backend", env="production", history=history, rolled_back_by=ALICE,
                         now=2000, **kw)  # type: ignore[arg-type]  # fmt: skip
    return {**files, **plan.edit.files}


ALL = {(s, e) for s in ("backend", "frontend") for e in PIPELINE}


def test_rollback_on_a_shared_automation_holds_only_that_service_in_that_env() -> None:
    """Why 1: a rollback of backend/production used to suspend the shared automation (frontend and staging too)."""
    rolled = _rollback(_fleet(P2))
    assert set(rolled) == set(_fleet(P2)) and rolled[AUTO] == _fleet(P2)[AUTO]
    after = _flux(rolled)
    assert after[("backend", "production")] == P1  # the held marker is unchanged
    assert _bumped(after) == ALL - {("backend", "production")}  # every other automated marker is bumped


def test_resume_of_a_sibling_never_lifts_the_hold() -> None:
    """Why 2: `resume production frontend` used to lift the hold backend's rollback depends on."""
    rolled = _rollback(_fleet(P2))
    topo = _topo(rolled)
    plan = plan_resume(topo, rolled, service="frontend", env="production", latest_available=None, resumed_by=ALICE)
    assert plan.edit is None
    assert topo.target("backend", "production").hold is HoldKind.MARKER
    assert _flux(rolled)[("backend", "production")] == P1


def test_resume_lifts_exactly_that_hold() -> None:
    rolled = _rollback(_fleet(P2))
    plan = plan_resume(_topo(rolled), rolled, service="backend", env="production", latest_available=P1,
                       resumed_by=ALICE)  # fmt: skip
    assert plan.edit is not None and set(plan.edit.files) == {BE}
    assert plan.edit.files[BE] == _fleet(P1)[BE]  # back to the plain marker, byte for byte
    assert _bumped(_flux({**rolled, **plan.edit.files})) == ALL


def test_the_next_promotion_lifts_the_hold_in_its_own_commit() -> None:
    rolled = _rollback(_fleet(P2))
    plan = plan_promotion(
        _topo(rolled), rolled, tag=BuildTag.parse(tag("staging", "0.0.2", 2100)), service="backend",
        target_env="production", digest="sha256:" + "d" * 64, target_tags=(), current_digest=None,
        promoted_by=ALICE, now=3000,
    )  # fmt: skip
    assert plan.edit is not None and set(plan.edit.files) == {BE}
    assert "HELD:" not in plan.edit.files[BE] and plan.lifted_hold == "flux-system:backend-production"
    assert "Lifts the hold on backend in production" in plan.edit.message.render()


def test_a_second_rollback_to_the_tag_a_rollback_removed_is_refused_unless_named() -> None:
    """Why 3: a rollback that undoes the bump before a rollback's redeployed the tag that rollback removed."""
    rb = cm.rollback_message(service="backend", env="production", reverted_subject="x", reverted_sha="c" * 40,
                             from_value=P3, to_value=P2, rolled_back_by=ALICE).render()  # fmt: skip
    files = _fleet(P4)
    topo = _topo(files)
    records = [
        _record("e" * 40, P3, P4, "promote(backend): the fix"),  # promoted on top of P3, which Flux brought back
        _record("d" * 40, P2, P3),  # Flux, after a forced resume
        _record("c" * 40, P3, P2, rb),  # the first rollback took P3 out
        _record("b" * 40, P2, P3),
        _record("a" * 40, None, P2),
    ]
    history = bumps(topo.target("backend", "production"), records)
    with pytest.raises(GateRefused, match=f"would redeploy {P3}, which the rollback cccccccccccc took out"):
        plan_rollback(topo, files, service="backend", env="production", history=history, rolled_back_by=ALICE, now=1)
    named = plan_rollback(topo, files, service="backend", env="production", history=history, rolled_back_by=ALICE,
                          now=1, to_tag=P3)  # fmt: skip
    assert named.to_tag == P3


def _suspended(files: dict[str, str]) -> dict[str, str]:
    out = dict(files)
    out[AUTO] = yamltext.set_field(out[AUTO], kind="ImageUpdateAutomation", name="flux-system",
                                   namespace="flux-system", path=("spec", "suspend"), value="true")  # fmt: skip
    return out


def test_a_hold_written_by_an_earlier_version_is_read_and_lifted_for_that_service_only() -> None:
    """An earlier version's rollback suspended the shared automation; resuming backend must not release the rest."""
    files = _suspended(_fleet(P1))
    topo = _topo(files)
    assert {t.hold for t in topo.targets.values()} == {HoldKind.SUSPENDED}  # Flux writes none of them
    latest = {(s, e): tag(e, "0.0.2", NEWER) for s, e in ALL}
    plan = plan_resume(topo, files, service="backend", env="production", latest_available=P1, resumed_by=ALICE,
                       sibling_latest=latest)  # fmt: skip
    assert plan.edit is not None
    assert plan.kept == ("backend/staging", "frontend/production", "frontend/staging")
    migrated = {**files, **plan.edit.files}
    assert "suspend: false" in migrated[AUTO]
    assert _bumped(_flux(migrated)) == {("backend", "production")}
    held = {k for k, t in _topo(migrated).targets.items() if t.held}
    assert held == ALL - {("backend", "production")}
    # a sibling already at its policy's newest tag is simply released: Flux would not move it
    latest[("frontend", "staging")] = _topo(files).target("frontend", "staging").current_tag()  # type: ignore[assignment]
    plan = plan_resume(topo, files, service="backend", env="production", latest_available=P1, resumed_by=ALICE,
                       sibling_latest=latest)  # fmt: skip
    assert plan.kept == ("backend/staging", "frontend/production")


def test_push_branch_refuses_a_hold_with_the_reason_and_retag_still_works() -> None:
    """LAYOUTS §5: Flux builds on its push branch, which a hold on the checkout branch does not reach."""
    files = _fleet(P2)
    files[AUTO] = automation("flux-system", "flux-system", None).replace("branch: main\n", "branch: auto/main\n", 2)
    files[AUTO] = files[AUTO].replace("branch: auto/main\n", "branch: main\n", 1)
    assert _topo(files).target("backend", "production").automation.push_branch == "auto/main"  # type: ignore[union-attr]
    with pytest.raises(GateRefused, match="pushes to branch 'auto/main'") as err:
        _rollback(files)
    assert "rollback: retag" in (err.value.hint or "")
    retagged = _rollback(files, mode="retag", target_tags=(P2,))
    assert "HELD:" not in retagged[BE]


def test_retag_mode_holds_nothing_and_keeps_an_earlier_hold() -> None:
    retagged = _rollback(_fleet(P2), mode="retag", target_tags=(P2,))
    assert "HELD:" not in retagged[BE]
    assert _bumped(_flux(retagged)) == ALL  # the fresh tag is Flux's to keep: nothing is held
    fleet = _fleet(P2)
    held = {**fleet, BE: fleet[BE].replace('"flux-system:backend-production"', '"HELD:flux-system:backend-production"')}
    again = _rollback(held, mode="retag", target_tags=(P2,))
    assert "HELD:flux-system:backend-production" in again[BE]
