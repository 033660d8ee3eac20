from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.discovery import discover
from tests.unit.core import seed

SUBS = {"image_registry": seed.REGISTRY}


def test_seed_layout_needs_no_config() -> None:
    topo = discover(seed.files(), pipeline=seed.PIPELINE, substitutions=SUBS)
    assert topo.problems == ()
    assert topo.services() == ["backend", "frontend"]
    assert sorted(topo.targets) == sorted((s, e) for s in ("backend", "frontend") for e in seed.PIPELINE)
    be = topo.target("backend", "production")
    assert be.image == "ghcr.io/acme/backend"  # substituted, as Flux sees it
    assert be.current_tag() == "production-v0.0.1-a1b2c3d-100"
    assert [s.file for s in be.sites] == ["flux/apps/backend/production/deployment.yaml"]
    assert be.automation is not None and str(be.automation.ref) == "production/backend" and not be.held
    fe = topo.target("frontend", "staging")
    assert sorted(s.suffix for s in fe.sites) == ["name", "tag"]
    assert fe.current_tag() == "staging-v0.0.1-a1b2c3d-100"
    assert fe.spec.kind == "numerical"


def test_env_from_filter_prefix_when_namespace_is_not_an_env() -> None:
    files = {
        k: v.replace("namespace: staging", "namespace: apps-stg").replace('"staging:', '"apps-stg:')
        for k, v in seed.files().items()
    }
    topo = discover(files, pipeline=seed.PIPELINE, substitutions=SUBS)
    t = topo.target("backend", "staging")
    assert t.policy.namespace == "apps-stg" and t.current_tag() == "staging-v0.0.1-a1b2c3d-100"


def test_held_automation_is_seen() -> None:
    files = seed.files()
    path = "flux/image-automation/production.yaml"
    files[path] = files[path].replace("  interval: 5m\n", "  interval: 5m\n  suspend: true\n")
    topo = discover(files, pipeline=seed.PIPELINE, substitutions=SUBS)
    assert topo.target("backend", "production").held
    assert not topo.target("backend", "staging").held


def test_problems_are_collected_not_raised() -> None:
    files = seed.files()
    files["flux/image-automation/broken.yaml"] = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: [unclosed\n"
    files["flux/image-automation/develop.yaml"] += (
        "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: bad, namespace: develop}\n"
        "spec: {imageRepositoryRef: {name: backend}, policy: {numerical: {order: sideways}}}\n"
    )
    topo = discover(files, pipeline=seed.PIPELINE, substitutions=SUBS)
    assert any("broken.yaml: not valid YAML" in p for p in topo.problems)
    assert any("ImagePolicy develop/bad" in p for p in topo.problems)
    assert topo.target("backend", "develop").current_tag()  # the rest still works


yaml_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150)
@given(st.text(max_size=400), st.sampled_from(["a.yaml", "Kustomization", "x.yml", "notes.txt"]))
def test_discovery_never_raises_on_arbitrary_text(text: str, name: str) -> None:
    discover({name: "apiVersion: image.toolkit.fluxcd.io/v1\n" + text}, pipeline=seed.PIPELINE)


@settings(max_examples=150)
@given(yaml_ish)
def test_discovery_never_raises_on_arbitrary_yaml(doc: object) -> None:
    import yaml

    body = {"apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy", "metadata": doc, "spec": doc}
    discover({"x.yaml": yaml.safe_dump(body) + '# {"$imagepolicy": "a:b"}\n'}, pipeline=seed.PIPELINE)
