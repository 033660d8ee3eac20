"""Flux Kustomizations: what each applies (spec.path, resources followed, Flux's generated kustomization) and
the environment its events belong to (LAYOUTS §13)."""

from __future__ import annotations

import pytest

from bot.core import kustomizations
from bot.core.discovery import discover
from bot.core.event_places import Places, places
from bot.core.placement import Placement
from tests.fleets.layouts import names_in_one_namespace, one_automation


def _ks(name: str, path: str | None, *, api: str = "v1", ns: str = "flux-system", extra: str = "") -> str:
    p = f"  path: {path}\n" if path is not None else ""
    return (
        f"apiVersion: kustomize.toolkit.fluxcd.io/{api}\nkind: Kustomization\n"
        f"metadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 10m\n"
        f"  sourceRef:\n    kind: GitRepository\n    name: flux-system\n{p}{extra}"
    )


FILES = {
    "clusters/prod/kustomization.yaml": "resources:\n  - apps.yaml\n  - ../../infra/prod\n  - https://x/y.yaml\n",
    "clusters/prod/apps.yaml": "kind: ConfigMap\n",
    "clusters/prod/unlisted.yaml": "kind: ConfigMap\n",
    "infra/prod/kustomization.yml": "resources: [ns.yaml]\n",
    "infra/prod/ns.yaml": "kind: Namespace\n",
    "plain/a.yaml": "kind: ConfigMap\n",
    "plain/sub/b.yml": "kind: ConfigMap\n",
    "plain/kust/Kustomization": "resources: [c.yaml]\n",
    "plain/kust/c.yaml": "kind: ConfigMap\n",
    "plain/kust/d.yaml": "kind: ConfigMap\n",
    "README.yaml.txt": "",
}


@pytest.mark.parametrize(
    ("path", "applied"),
    [
        # A kustomization file: its resources followed (a file, a directory built by its own file); a URL and a
        # file it does not list are not applied.
        ("./clusters/prod", {"clusters/prod/kustomization.yaml", "clusters/prod/apps.yaml",
                             "infra/prod/kustomization.yml", "infra/prod/ns.yaml"}),
        # None: Flux generates one from every YAML below, taking a directory with its own file whole.
        ("./plain", {"plain/a.yaml", "plain/sub/b.yml", "plain/kust/Kustomization", "plain/kust/c.yaml"}),
        ("plain/sub/", {"plain/sub/b.yml"}),
    ],
)  # fmt: skip
def test_what_a_kustomization_applies(path: str, applied: set[str]) -> None:
    assert kustomizations.applied_files(path, FILES) == applied


def test_no_path_is_the_source_root() -> None:
    root = kustomizations.applied_files("", FILES)
    assert {"plain/a.yaml", "infra/prod/ns.yaml"} <= root
    assert "clusters/prod/unlisted.yaml" not in root  # clusters/prod has its own kustomization file


def test_every_served_version_is_read_and_an_unknown_one_with_a_warning() -> None:
    files = {
        "k.yaml": "---\n".join(
            [_ks("a", "./a", api="v1beta1"), _ks("b", "./b", api="v1beta2"), _ks("c", None), _ks("d", "./d", api="v9")]
        ),
        "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    }
    found, problems = kustomizations.find(files)
    assert [(k.ref.name, k.path) for k in found] == [("a", "a"), ("b", "b"), ("c", ""), ("d", "d")]
    assert len(problems) == 1 and "Kustomization flux-system/d" in problems[0] and "v9" in problems[0]


def _places(files: dict[str, str], pipeline: tuple[str, ...], placement: Placement | None = None) -> Places:
    topo = discover(files, pipeline=pipeline, placement=placement)
    found, _ = kustomizations.find(files)
    return places(files, topo, found, placement)


def test_fleet_b_two_kustomizations_in_flux_system_placed_by_what_they_apply() -> None:
    fleet = names_in_one_namespace()  # §2: staging-app and prod-app in flux-system, markers under apps/<env>
    files = {
        **fleet.files,
        # Names and paths chosen to say nothing; only the markers under each path tell the env.
        "clusters/one/apps.yaml": _ks("first", "./apps/staging") + "---\n" + _ks("second", "./apps/prod"),
    }
    p = _places(files, ("staging", "prod"))
    assert p.env_of("Kustomization", "flux-system", "first") == "staging"
    assert p.env_of("Kustomization", "flux-system", "second") == "prod"
    assert p.env_of("ImagePolicy", "flux-system", "prod-app") == "prod"
    # One automation writes both envs: it has no single environment.
    assert p.env_of("ImageUpdateAutomation", "flux-system", "flux-system") is None


def test_path_target_namespace_name_and_alert_summary() -> None:
    fleet = one_automation()  # markers under deploy/<env>
    files = {
        **fleet.files,
        "flux/ks.yaml": "---\n".join([
            _ks("by-path", "./clusters/production"),  # no markers there: the directory's name says it
            _ks("by-target", "./infra", extra="  targetNamespace: staging\n"),
            _ks("apps-production", "./infra"),
            _ks("everything", None),  # applies both envs' markers: no single env
            _ks("oci", "./deploy/staging", extra="").replace("kind: GitRepository", "kind: OCIRepository"),
        ]),
        "infra/x.yaml": "kind: ConfigMap\n",
    }  # fmt: skip
    p = _places(files, ("staging", "production"))
    env = p.env_of
    assert env("Kustomization", "flux-system", "by-path") == "production"
    assert env("Kustomization", "flux-system", "by-target") == "staging"
    assert env("Kustomization", "flux-system", "apps-production") == "production"
    assert env("Kustomization", "flux-system", "everything") is None
    assert env("Kustomization", "flux-system", "oci") is None  # another artifact's path: not this repository
    assert env("HelmRelease", "app-podinfo", "podinfo", "env=staging") == "staging"  # Fleet G's Alert summary
    assert env("HelmRelease", "app-podinfo", "podinfo", "env=stg") is None  # not an environment here


def test_configured_paths_place_a_kustomization() -> None:
    files = {"flux/ks.yaml": _ks("eu", "./clusters/eu-1")}
    p = _places(files, ("staging", "production"), Placement(paths={"production": ("clusters/eu-1",)}))
    assert p.env_of("Kustomization", "flux-system", "eu") == "production"
