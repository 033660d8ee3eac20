"""Discovery by Flux's rules: each finding of issue 13's "Why", as a table of small fleets."""

from __future__ import annotations

import time

import pytest

from bot.core.discovery import discover
from bot.core.flux_objects import may_hold_image_objects
from bot.core.placement import Placement, PolicyPlacement
from bot.core.policy import PolicySpec
from tests.fleets import layouts
from tests.fleets.objects import automation, crd_bundle, docs, kustomization, policy, repository, tag

TWO = ("staging", "prod")
SEMVER_PROD = """apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: prod-app, namespace: flux-system}
spec: {imageRepositoryRef: {name: app}, policy: {semver: {range: 1.x.x}}}
"""


def _names_fleet() -> dict[str, str]:
    """LAYOUTS §2 as seen: staging filters by prefix, prod is a semver policy with no filter at all."""
    return {
        "infra/app.yaml": docs(
            repository("app", "flux-system", "ghcr.io/acme/app"),
            policy("staging-app", "flux-system", "^staging-[a-fA-F0-9]+-(?P<ts>.*)"),
            SEMVER_PROD,
        ),
        "infra/automation.yaml": automation("flux-system", "flux-system", "./apps"),
        "apps/staging/kustomization.yaml": kustomization("flux-system:staging-app", "staging-59be8df-1726441630"),
        "apps/prod/kustomization.yaml": kustomization("flux-system:prod-app", "v1.0.8", quoted=True),
    }


def test_policies_told_apart_by_name_in_one_namespace() -> None:
    # old code: "cannot tell its environment ... set an override in the config" for prod-app
    topo = discover(_names_fleet(), pipeline=TWO)
    assert topo.problems == ()
    assert sorted(topo.targets) == [("app", "prod"), ("app", "staging")]
    assert topo.target("app", "prod").current_tag() == "v1.0.8"
    assert str(topo.target("app", "prod").automation.ref) == "flux-system/flux-system"  # type: ignore[union-attr]


def test_config_places_a_policy_nothing_else_places() -> None:
    files = _names_fleet()
    files = {k.replace("apps/prod/", "apps/live/"): v.replace("prod-app", "live-app") for k, v in files.items()}
    topo = discover(files, pipeline=TWO)
    [problem] = topo.problems
    assert "sits in no environment's directory" in problem
    assert 'set environments.<env>.paths or policies."flux-system/live-app".env' in problem
    placed = Placement(policies={"flux-system/live-app": PolicyPlacement(envs=("prod",))})
    assert discover(files, pipeline=TWO, placement=placed).target("app", "prod").policy.name == "live-app"
    by_path = Placement(paths={"prod": ("apps/live",)})
    assert discover(files, pipeline=TWO, placement=by_path).target("app", "prod").current_tag() == "v1.0.8"


def test_one_policy_feeds_several_environments_by_marker_path() -> None:
    files = {
        "flux/images.yaml": docs(
            repository("app", "apps", "ghcr.io/acme/app"),
            policy("app", "apps", "^main-(?P<ts>[0-9]+)$"),
            automation("apps", "apps", "./environments"),
        ),
        "environments/dev/app.yaml": kustomization("apps:app", "main-2"),
        "environments/dev-test/app.yaml": kustomization("apps:app", "main-2"),
    }
    topo = discover(files, pipeline=("dev", "dev-test", "prod"))
    assert sorted(topo.targets) == [("app", "dev"), ("app", "dev-test")]
    assert [s.file for s in topo.target("app", "dev-test").sites] == ["environments/dev-test/app.yaml"]


def test_every_policy_on_one_image_is_its_own_target() -> None:
    # old code: "a second policy for app in staging; ignored" for all but one track
    topo = discover(layouts.tracks().files, pipeline=("staging", "production"))
    assert topo.problems == ()
    assert topo.services() == ["app-1-27", "app-1-28"]
    t = topo.target("app-1-28", "production")
    assert t.policy.name == "app-1-28-production" and t.current_tag() == layouts.T28P
    assert [s.path for s in t.sites] == ["spec.params[0].options[1]"]


def test_v1beta1_image_policy_is_read_like_v1() -> None:
    # old code: "Not an ImagePolicy: apiVersion 'image.toolkit.fluxcd.io/v1beta1'"
    doc = {"apiVersion": "image.toolkit.fluxcd.io/v1beta1", "kind": "ImagePolicy",
           "spec": {"imageRepositoryRef": {"name": "app"}, "policy": {"semver": {"range": ">=1.0.0"}}}}  # fmt: skip
    assert PolicySpec.from_manifest(doc) == PolicySpec("semver", range=">=1.0.0")
    topo = discover(layouts.api_versions().files, pipeline=("develop", "staging", "production"))
    assert topo.problems == () and len(topo.targets) == 3


def test_an_unserved_api_version_is_read_with_a_warning() -> None:
    files = layouts.namespaces().files
    old = files["infra/develop.yaml"]
    files["infra/develop.yaml"] = old.replace("/v1\nkind: ImagePolicy", "/v1alpha9\nkind: ImagePolicy")
    topo = discover(files, pipeline=("develop", "staging", "production"))
    [problem] = topo.problems
    assert "ImagePolicy develop/app: apiVersion 'image.toolkit.fluxcd.io/v1alpha9' is served by no Flux" in problem
    assert topo.target("app", "develop").current_tag() == layouts.D2


def test_stale_copy_outside_update_path_is_named_not_counted() -> None:
    # old code: "marker sites disagree on the tag" and automation none
    topo = discover(layouts.stale_copies().files, pipeline=("staging", "production"))
    t = topo.target("app", "production")
    assert t.current_tag() == layouts.P1 and t.automation is not None
    assert {s.file for s in t.sites} == {"envs/production/app.yaml"}
    assert {s.file for s in t.stale} == {"parked/app.yaml"}
    assert not any("disagree" in p for p in topo.problems)


WRITTEN, STALE, UNSELECTED = "written", "stale", "unselected"


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        ({}, WRITTEN),
        ({"policy_ns": "other"}, UNSELECTED),  # a marker naming another namespace is never a setter (otherns.yaml)
        ({"selector": "  policySelector:\n    matchLabels: {tier: web}\n"}, UNSELECTED),
        ({"selector": "  policySelector:\n    matchLabels: {tier: web}\n", "labels": "tier: web"}, WRITTEN),
        ({"selector": "  policySelector:\n    matchExpressions:\n      - {key: tier, operator: NotIn, values: [db]}\n",
          "labels": "tier: db"}, UNSELECTED),
        ({"path": "./elsewhere"}, STALE),
        ({"path": "../../apps"}, WRITTEN),  # securejoin'ed under the root: `..` cannot leave it
    ],
)  # fmt: skip
def test_automation_scope_follows_flux(change: dict[str, str], outcome: str) -> None:
    ns = change.get("policy_ns", "apps")
    files = {
        "flux/a.yaml": docs(
            repository("app", ns, "ghcr.io/acme/app"),
            policy("app", ns, "^production-(?P<ts>[0-9]+)$", labels=change.get("labels", "")),
            automation("apps", "apps", change.get("path", "./apps"), extra=change.get("selector", "")),
        ),
        "apps/production/app.yaml": kustomization(f"{ns}:app", "production-1"),
    }
    topo = discover(files, pipeline=("staging", "production"))
    target = topo.target("app", "production")
    if outcome == WRITTEN:
        assert target.sites and target.automation is not None and topo.problems == ()
    elif outcome == STALE:
        assert not target.sites and target.stale and "not automated: apps/production/app.yaml:7" in topo.problems[0]
    else:  # no automation in Git applies to the policy: Flux writes nothing, the bot is its only writer
        assert target.sites and target.automation is None
        assert "no ImageUpdateAutomation in namespace" in topo.problems[0]


def test_a_big_crd_bundle_is_screened_before_parsing() -> None:
    bundle = crd_bundle(layouts.BUNDLE_LINES)
    assert bundle.count("\n") >= layouts.BUNDLE_LINES and "kind: ImagePolicy" in bundle
    assert not may_hold_image_objects(bundle)
    assert may_hold_image_objects(repository("app", "x", "app"))
    assert may_hold_image_objects('{apiVersion: "image.toolkit.fluxcd.io/v1", kind: ImagePolicy}')
    started = time.perf_counter()
    discover({"gotk-components.yaml": bundle}, pipeline=TWO)
    assert time.perf_counter() - started < 0.5  # parsing it (the old screen let it through) takes seconds


def test_cross_namespace_reference_needs_access_from() -> None:
    files = layouts.namespaces().files
    files["infra/repository.yaml"] = repository("app", "flux-system", "ghcr.io/acme/app")  # no accessFrom
    problems = discover(files, pipeline=("develop", "staging", "production")).problems
    assert len(problems) == 3 and all("has no spec.accessFrom" in p for p in problems)


def test_tag_helper_matches_the_bot_convention() -> None:
    assert tag("staging", "0.0.2", 5) == "staging-v0.0.2-b2c3d4e-5"
