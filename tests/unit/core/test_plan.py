from __future__ import annotations

import pytest

from bot.core import commit_message as cm
from bot.core import yamltext
from bot.core.discovery import Topology, discover
from bot.core.history import CommitRecord, FileDiff, bumps
from bot.core.plan import check_route, new_timestamp, pick_service, plan_promotion, plan_resume
from bot.core.rollback_plan import choose_rollback_service, plan_rollback
from bot.core.tags import BuildTag
from bot.errors import GateRefused, InvalidInput, NotFound
from tests.unit.core import seed

SUBS = {"image_registry": seed.REGISTRY}
ALICE = cm.person("Alice", "slack:U1")
DIGEST = "sha256:" + "d" * 64
BE_PROD = "flux/apps/backend/production/deployment.yaml"
IUA_PROD = "flux/image-automation/production.yaml"


def _topo(files: dict[str, str]) -> Topology:
    return discover(files, pipeline=seed.PIPELINE, substitutions=SUBS)


@pytest.mark.parametrize(
    ("src", "dst", "error", "text"),
    [
        ("staging", "production", None, ""),
        ("develop", "staging", None, ""),
        ("develop", "production", GateRefused, "cannot go past staging to production"),
        ("production", "staging", GateRefused, "last environment"),
        ("staging", "develop", GateRefused, "cannot go backwards to develop"),
        ("staging", "prodution", InvalidInput, "Unknown environment 'prodution'"),
        ("qa", "production", InvalidInput, "not in the pipeline"),
        ("staging", "Prod;rm", InvalidInput, "not a valid environment name"),
    ],
)
def test_route(src: str, dst: str, error: type[Exception] | None, text: str) -> None:
    if error is None:
        check_route(seed.PIPELINE, src, dst)
    else:
        with pytest.raises(error, match=text):
            check_route(seed.PIPELINE, src, dst)


def test_pick_service() -> None:
    assert pick_service("t", {"backend": DIGEST}) == "backend"
    with pytest.raises(NotFound):
        pick_service("t", {})
    with pytest.raises(GateRefused, match="backend, frontend"):
        pick_service("t", {"frontend": DIGEST, "backend": DIGEST})


def test_new_timestamp_is_strictly_newest() -> None:
    existing = ["production-v0.0.1-a1b2c3d-500", "staging-v0.0.1-a1b2c3d-900", "production", "junk"]
    assert new_timestamp(100, "production", existing) == 501
    assert new_timestamp(1000, "production", existing) == 1000


def _promote(files: dict[str, str], **kw: object) -> object:
    args: dict[str, object] = dict(
        tag=BuildTag.parse(seed.tag("staging", "0.0.2", 200)),
        service="backend",
        target_env="production",
        digest=DIGEST,
        target_tags=["production-v0.0.1-a1b2c3d-100"],
        current_digest="sha256:" + "0" * 64,
        promoted_by=ALICE,
        now=300,
    )
    args.update(kw)
    return plan_promotion(_topo(files), files, **args)  # type: ignore[arg-type]


def test_promotion_plan_edits_only_the_marked_scalar() -> None:
    files = seed.files()
    plan = _promote(files)
    assert plan.target_tag == "production-v0.0.2-b2c3d4e-300"  # type: ignore[attr-defined]
    edit = plan.edit  # type: ignore[attr-defined]
    assert list(edit.files) == [BE_PROD]
    before, after = files[BE_PROD].splitlines(), edit.files[BE_PROD].splitlines()
    diff = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    marker = ' # {"$imagepolicy": "production:backend"}'
    assert diff == [
        (
            "          image: ${image_registry}/backend:production-v0.0.1-a1b2c3d-100" + marker,
            "          image: ghcr.io/acme/backend:production-v0.0.2-b2c3d4e-300" + marker,
        )
    ]
    msg = edit.message.render()
    assert msg.startswith("promote(backend): v0.0.2 b2c3d4e staging → production\n")
    t = cm.parse_trailers(msg)
    assert t.get(cm.SOURCE_TAG) == "staging-v0.0.2-b2c3d4e-200" and t.get(cm.DIGEST) == DIGEST


def test_promotion_of_kustomize_images_writes_name_and_tag() -> None:
    files = seed.files()
    plan = _promote(files, service="frontend")
    new = plan.edit.files["flux/apps/frontend/overlays/production/kustomization.yaml"]  # type: ignore[attr-defined]
    assert 'newTag: production-v0.0.2-b2c3d4e-300 # {"$imagepolicy": "production:frontend:tag"}' in new
    assert 'newName: ghcr.io/acme/frontend # {"$imagepolicy": "production:frontend:name"}' in new


def test_same_digest_is_a_noop() -> None:
    plan = _promote(seed.files(), current_digest=DIGEST)
    assert plan.noop and "already at production-v0.0.1-a1b2c3d-100" in plan.noop_reason  # type: ignore[attr-defined]


def test_not_deployed_in_source_is_refused() -> None:
    with pytest.raises(GateRefused, match="never ran in staging"):
        _promote(seed.files(), deployed_in_source=False)


def test_promotion_into_held_env_lifts_the_hold_in_the_same_commit() -> None:
    files = seed.files()
    files[IUA_PROD] = yamltext.set_field(
        files[IUA_PROD],
        kind="ImageUpdateAutomation",
        name="backend",
        namespace="production",
        path=("spec", "suspend"),
        value="true",
    )
    plan = _promote(files)
    assert plan.lifted_hold == "production/backend"  # type: ignore[attr-defined]
    new = plan.edit.files[IUA_PROD]  # type: ignore[attr-defined]
    assert (
        yamltext.get_field(
            new,
            kind="ImageUpdateAutomation",
            name="backend",
            namespace="production",
            path=("spec", "suspend"),
        )
        == "false"
    )
    assert any("held" in w for w in plan.warnings)  # type: ignore[attr-defined]


def test_downgrade_and_first_deploy_warnings() -> None:
    files = seed.files({("backend", "production"): seed.tag("production", "0.0.3", 150)})
    assert any(w.startswith("Downgrade") for w in _promote(files).warnings)  # type: ignore[attr-defined]


def _record(sha: str, old: str | None, new: str, message: str = "Update from image update automation") -> CommitRecord:
    def line(tag: str) -> str:
        return f'          image: ghcr.io/acme/backend:{tag} # {{"$imagepolicy": "production:backend"}}'

    return CommitRecord(
        sha=sha,
        parents=(),
        author_name="a",
        author_email="a@x",
        authored_at=int(sha[-1], 16) * 100,
        message=message,
        diffs=(FileDiff(BE_PROD, removed=(line(old),) if old else (), added=(line(new),)),),
    )


def test_rollback_reverts_newest_bump_and_holds_its_markers_in_same_commit() -> None:
    v1, v2 = seed.tag("production", "0.0.1", 100), seed.tag("production", "0.0.2", 200)
    files = seed.files({("backend", "production"): v2})
    topo = _topo(files)
    history = bumps(topo.target("backend", "production"), [_record("b" * 40, v1, v2), _record("a" * 40, None, v1)])
    plan = plan_rollback(topo, files, service="backend", env="production", history=history, rolled_back_by=ALICE, now=1)
    assert (plan.from_tag, plan.to_tag, plan.reverted) == (v2, v1, "b" * 40)
    assert set(plan.edit.files) == {BE_PROD}  # the automation object is not touched
    assert f'{v1} # {{"$imagepolicy": "HELD:production:backend"}}' in plan.edit.files[BE_PROD]
    assert plan.hold == "production:backend"
    assert plan.edit.message.render().startswith('Revert "Update from image update automation"\n\nThis reverts commit')


def test_second_rollback_steps_back_again() -> None:
    v1, v2, v3 = (seed.tag("production", v, t) for v, t in (("0.0.1", 100), ("0.0.2", 200), ("0.0.3", 300)))
    files = seed.files({("backend", "production"): v2})
    topo = _topo(files)
    rb = cm.rollback_message(
        service="backend",
        env="production",
        reverted_subject="x",
        reverted_sha="c" * 40,
        from_value=v3,
        to_value=v2,
        rolled_back_by=ALICE,
    ).render()
    records = [
        _record("d" * 40, v3, v2, rb),
        _record("c" * 40, v2, v3),
        _record("b" * 40, v1, v2),
        _record("a" * 40, None, v1),
    ]
    history = bumps(topo.target("backend", "production"), records)
    plan = plan_rollback(topo, files, service="backend", env="production", history=history, rolled_back_by=ALICE, now=1)
    assert (plan.from_tag, plan.to_tag) == (v2, v1)


def test_rollback_to_tag_and_refusals() -> None:
    v1, v2 = seed.tag("production", "0.0.1", 100), seed.tag("production", "0.0.2", 200)
    files = seed.files({("backend", "production"): v2})
    topo = _topo(files)
    history = bumps(topo.target("backend", "production"), [_record("b" * 40, v1, v2), _record("a" * 40, None, v1)])
    plan = plan_rollback(
        topo,
        files,
        service="backend",
        env="production",
        history=history,
        rolled_back_by=ALICE,
        now=1,
        to_tag=v1,
    )
    assert plan.to_tag == v1
    with pytest.raises(NotFound, match="never ran"):
        plan_rollback(
            topo,
            files,
            service="backend",
            env="production",
            history=history,
            rolled_back_by=ALICE,
            now=1,
            to_tag=seed.tag("production", "0.0.3", 5),
        )
    first_only = history[1:]
    with pytest.raises(GateRefused, match="first backend deploy"):
        plan_rollback(topo, files, service="backend", env="production", history=first_only, rolled_back_by=ALICE, now=1)


def test_retag_rollback_mints_a_fresh_tag_and_keeps_automation_on() -> None:
    v1, v2 = seed.tag("production", "0.0.1", 100), seed.tag("production", "0.0.2", 200)
    files = seed.files({("backend", "production"): v2})
    topo = _topo(files)
    history = bumps(topo.target("backend", "production"), [_record("b" * 40, v1, v2), _record("a" * 40, None, v1)])
    plan = plan_rollback(
        topo,
        files,
        service="backend",
        env="production",
        history=history,
        rolled_back_by=ALICE,
        now=999,
        mode="retag",
        target_tags=[v1, v2],
    )
    assert plan.retag_from == v1 and plan.to_tag == "production-v0.0.1-a1b2c3d-999" and plan.hold == ""
    assert set(plan.edit.files) == {BE_PROD}


def test_choose_rollback_service() -> None:
    topo = _topo(seed.files())
    assert choose_rollback_service(topo, "production", {"backend": 5}) == "backend"
    listed = r"backend \(last bump 1970-01-01 00:00 UTC\), frontend \(last bump 1970-01-01 00:00 UTC\)"
    with pytest.raises(GateRefused, match=listed):
        choose_rollback_service(topo, "production", {"backend": 5, "frontend": 7})


def test_resume_refuses_when_flux_would_redeploy_another_tag() -> None:
    files = seed.files()
    files[IUA_PROD] = files[IUA_PROD].replace("  interval: 5m\n", "  interval: 5m\n  suspend: true\n")
    topo = _topo(files)
    other = seed.tag("production", "0.0.2", 200)
    with pytest.raises(GateRefused, match=f"would deploy {other}"):
        plan_resume(topo, files, service="backend", env="production", latest_available=other, resumed_by=ALICE)
    forced = plan_resume(
        topo, files, service="backend", env="production", latest_available=other, resumed_by=ALICE, force=True
    )
    assert forced.edit is not None and "suspend: false" in forced.edit.files[IUA_PROD]
    same = plan_resume(
        topo,
        files,
        service="backend",
        env="production",
        latest_available=topo.target("backend", "production").current_tag(),
        resumed_by=ALICE,
    )
    assert same.edit is not None
