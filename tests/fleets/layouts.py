"""One fleet per layout pattern of LAYOUTS.md (§1, 2, 3, 4, 7, 8, 9, 12, 14), with what the bot must say of it.

Each `Fleet` is a repository (path → text), the config it needs, the registry's tags, the `versions --json`
rows expected (service, env → tag, automation), the `check` problems expected (one substring each, in
order), and a promote and a rollback with exactly the files Flux's own scope allows them to touch. Tags follow
the bot's own convention so that promotion can mint them (other conventions are issue 16).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fleets.objects import (
    automation,
    bot_filter,
    crd_bundle,
    deployment,
    docs,
    helmrelease,
    kustomization,
    policy,
    repository,
    tag,
)

S1, S2 = tag("staging", "0.0.1", 1100), tag("staging", "0.0.2", 2100)
P1 = tag("production", "0.0.1", 1200)
D1, D2 = tag("develop", "0.0.1", 1000), tag("develop", "0.0.2", 2000)
ACTIVE = "active"


@dataclass(frozen=True)
class Fleet:
    name: str
    files: dict[str, str]
    config: dict[str, Any]  # pipeline, environments, policies; `registries` when not ghcr.io
    images: Mapping[str, tuple[str, ...]]  # registry repository → tags (each its own build)
    rows: Mapping[tuple[str, str], tuple[str, str]]  # (service, env) → (tag, automation)
    problems: tuple[str, ...]
    promote: tuple[str, ...]
    promoted: frozenset[str]
    rollback: tuple[str, ...]
    rolled_back: frozenset[str]
    host: str = "ghcr.io"
    notes: dict[str, str] = field(default_factory=dict)


TWO = {"pipeline": ["staging", "production"]}


def namespaces() -> Fleet:
    """§1: an env per namespace, ImageRepository in flux-system shared through accessFrom, plain newTag."""
    files = {"infra/repository.yaml": repository("app", "flux-system", "ghcr.io/acme/app", access_from=True)}
    for env, now in (("develop", D2), ("staging", S2), ("production", P1)):
        files[f"infra/{env}.yaml"] = docs(
            policy("app", env, bot_filter(env), repo_namespace="flux-system"), automation("app", env, f"./{env}")
        )
        files[f"{env}/kustomization.yaml"] = kustomization(f"{env}:app", now)
    return Fleet(
        "s01_namespaces", files, {},
        {"acme/app": (D1, D2, S1, S2, P1)},
        {("app", "develop"): (D2, ACTIVE), ("app", "staging"): (S2, ACTIVE), ("app", "production"): (P1, ACTIVE)},
        (),
        ("promote", S2, "to", "production"), frozenset({"production/kustomization.yaml"}),
        ("rollback", "production", "app"), frozenset({"production/kustomization.yaml"}),
    )  # fmt: skip


def one_namespace_per_cluster() -> Fleet:
    """§1 (Fleet G): every cluster directory holds the same namespace and the same object names."""
    files: dict[str, str] = {}
    for env, now in (("staging", S2), ("production", P1)):
        files[f"clusters/{env}/images.yaml"] = docs(
            repository("app", "apps", "ghcr.io/acme/app"),
            policy("app", "apps", bot_filter(env)),
            automation("app", "apps", f"./clusters/{env}"),
        )
        files[f"clusters/{env}/app/release.yaml"] = helmrelease("apps:app", "ghcr.io/acme/app", now)
    return Fleet(
        "s01_one_namespace_per_cluster", files, TWO,
        {"acme/app": (S1, S2, P1)},
        {("app", "staging"): (S2, ACTIVE), ("app", "production"): (P1, ACTIVE)},
        (),
        ("promote", S2, "to", "production"), frozenset({"clusters/production/app/release.yaml"}),
        ("rollback", "production"),
        frozenset({"clusters/production/app/release.yaml"}),
    )  # fmt: skip


PROD1 = tag("prod", "0.0.1", 1200)


def names_in_one_namespace() -> Fleet:
    """§2: staging-app and prod-app in flux-system, one multi-document file; one automation over ./apps (§4)."""
    where = "infrastructure/image-update-automation"
    files = {
        f"{where}/app.yaml": docs(
            repository("app", "flux-system", "ghcr.io/acme/app"),
            policy("staging-app", "flux-system", bot_filter("staging")),
            policy("prod-app", "flux-system", bot_filter("prod")),
        ),
        f"{where}/automation.yaml": automation("flux-system", "flux-system", "./apps"),
        "apps/staging/app/kustomization.yaml": kustomization("flux-system:staging-app", S2, quoted=True),
        "apps/prod/app/kustomization.yaml": kustomization("flux-system:prod-app", PROD1, quoted=True),
    }
    return Fleet(
        "s02_names_in_one_namespace", files, {"pipeline": ["staging", "prod"]},
        {"acme/app": (S1, S2, PROD1)},
        {("app", "staging"): (S2, ACTIVE), ("app", "prod"): (PROD1, ACTIVE)},
        (),
        ("promote", S2, "to", "prod"), frozenset({"apps/prod/app/kustomization.yaml"}),
        ("rollback", "prod"), frozenset({"apps/prod/app/kustomization.yaml"}),
    )  # fmt: skip


T27S, T28S, T28S_NEW = tag("staging", "1.27.3", 1100), tag("staging", "1.28.5", 1100), tag("staging", "1.28.6", 2100)
T27P, T28P = tag("production", "1.27.3", 1200), tag("production", "1.28.5", 1200)


def _template(env: str, values: Mapping[str, str]) -> str:
    items = "".join(
        f'            - "{v}" # {{"$imagepolicy": "flux-system:app-{track}-{env}:tag"}}\n'
        for track, v in values.items()
    )
    return (
        "apiVersion: templates.weave.works/v1alpha2\nkind: GitOpsTemplate\nmetadata:\n  name: cluster\n"
        f"  namespace: default\nspec:\n  params:\n    - name: VERSION\n      options:\n{items}"
    )


def tracks() -> Fleet:
    """§3: several policies on one ImageRepository in one namespace (version tracks), markers as list items of
    another CRD (§8), and one automation with no update.path (§4: the whole repository)."""
    tracks_ = {"1-27": r"1\.27\.[0-9]+", "1-28": r"1\.28\.[0-9]+"}
    files = {
        "flux/repository.yaml": repository("app", "flux-system", "ghcr.io/acme/app"),
        "flux/automation.yaml": automation("flux-system", "flux-system", None),
        "clusters/staging/template.yaml": _template("staging", {"1-27": T27S, "1-28": T28S_NEW}),
        "clusters/production/template.yaml": _template("production", {"1-27": T27P, "1-28": T28P}),
    }
    for env in ("staging", "production"):
        files[f"flux/policies-{env}.yaml"] = docs(
            *(policy(f"app-{t}-{env}", "flux-system", bot_filter(env, v)) for t, v in tracks_.items())
        )
    return Fleet(
        "s03_tracks", files, TWO,
        {"acme/app": (T27S, T28S, T28S_NEW, T27P, T28P)},
        {
            ("app-1-27", "staging"): (T27S, ACTIVE), ("app-1-28", "staging"): (T28S_NEW, ACTIVE),
            ("app-1-27", "production"): (T27P, ACTIVE), ("app-1-28", "production"): (T28P, ACTIVE),
        },
        (),
        ("promote", T28S_NEW, "to", "production", "--service", "app-1-28"),
        frozenset({"clusters/production/template.yaml"}),
        ("rollback", "production", "app-1-28"),
        frozenset({"clusters/production/template.yaml"}),
    )  # fmt: skip


def one_automation() -> Fleet:
    """§4: one automation for every service and env, with no `update` at all (Setters over the whole repo)."""
    files = {"flux/automation.yaml": automation("flux-system", "flux-system", None)}
    for svc in ("backend", "frontend"):
        files[f"flux/{svc}.yaml"] = docs(
            repository(svc, "flux-system", f"ghcr.io/acme/{svc}"),
            *(policy(f"{svc}-{env}", "flux-system", bot_filter(env), repo=svc) for env in ("staging", "production")),
        )
        for env, now in (("staging", S2), ("production", P1)):
            files[f"deploy/{env}/{svc}.yaml"] = deployment(
                f"flux-system:{svc}-{env}", f"ghcr.io/acme/{svc}:{now}", env
            )
    return Fleet(
        "s04_one_automation", files, TWO,
        {"acme/backend": (S1, S2, P1), "acme/frontend": (S1, S2, P1)},
        {(s, e): (now, ACTIVE) for s in ("backend", "frontend") for e, now in (("staging", S2), ("production", P1))},
        (),
        ("promote", S2, "to", "production", "--service", "backend"), frozenset({"deploy/production/backend.yaml"}),
        ("rollback", "production", "backend"), frozenset({"deploy/production/backend.yaml"}),
    )  # fmt: skip


def api_versions() -> Fleet:
    """§7: v1beta1 everywhere in develop, v1beta2 objects with a v1beta1 automation in staging, v1beta2 with a
    v1 automation in production."""
    apis = {"develop": ("v1beta1", "v1beta1"), "staging": ("v1beta2", "v1beta1"), "production": ("v1beta2", "v1")}
    files: dict[str, str] = {}
    for env, now in (("develop", D2), ("staging", S2), ("production", P1)):
        objects, auto = apis[env]
        files[f"infra/{env}.yaml"] = docs(
            repository("app", env, "ghcr.io/acme/app", api=objects),
            policy("app", env, bot_filter(env), api=objects),
            automation("app", env, f"./{env}", api=auto),
        )
        files[f"{env}/kustomization.yaml"] = kustomization(f"{env}:app", now)
    return Fleet(
        "s07_api_versions", files, {},
        {"acme/app": (D1, D2, S1, S2, P1)},
        {("app", "develop"): (D2, ACTIVE), ("app", "staging"): (S2, ACTIVE), ("app", "production"): (P1, ACTIVE)},
        (),
        ("promote", S2, "to", "production"), frozenset({"production/kustomization.yaml"}),
        ("rollback", "production"), frozenset({"production/kustomization.yaml"}),
    )  # fmt: skip


def _list_items(setter: str, value: str) -> str:
    return (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: smoke\n  namespace: production\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: smoke\n          image: busybox\n          args:\n"
        f'            - "{value}" # {{"$imagepolicy": "{setter}:tag"}}\n'
    )


def marker_shapes() -> Fleet:
    """§8: HelmRelease values (develop), kustomize newName + quoted newTag (staging), a full `image:` ref and a
    list item of another kind (production)."""
    image = "ghcr.io/acme/app"
    files: dict[str, str] = {}
    for env in ("develop", "staging", "production"):
        files[f"flux/{env}.yaml"] = docs(
            repository("app", env, image), policy("app", env, bot_filter(env)), automation("app", env, f"./apps/{env}")
        )
    files["apps/develop/release.yaml"] = helmrelease("develop:app", image, D2, namespace="develop")
    files["apps/staging/kustomization.yaml"] = kustomization("staging:app", S2, quoted=True, name=image)
    files["apps/production/deployment.yaml"] = deployment("production:app", f"{image}:{P1}", "production")
    files["apps/production/smoke.yaml"] = _list_items("production:app", P1)
    both = frozenset({"apps/production/deployment.yaml", "apps/production/smoke.yaml"})
    return Fleet(
        "s08_marker_shapes", files, {},
        {"acme/app": (D1, D2, S1, S2, P1)},
        {("app", "develop"): (D2, ACTIVE), ("app", "staging"): (S2, ACTIVE), ("app", "production"): (P1, ACTIVE)},
        (),
        ("promote", S2, "to", "production"), both,
        ("rollback", "production"), both,
    )  # fmt: skip


P0 = tag("production", "0.0.1", 900)


def stale_copies() -> Fleet:
    """§9: a parked copy outside the automation's update.path, and a marker naming a policy defined nowhere."""
    files = {
        "flux/images.yaml": docs(
            repository("app", "apps", "ghcr.io/acme/app"),
            policy("app-staging", "apps", bot_filter("staging")),
            policy("app-production", "apps", bot_filter("production")),
            automation("apps", "apps", "./envs"),
        ),
        "envs/staging/app.yaml": helmrelease("apps:app-staging", "ghcr.io/acme/app", S2),
        "envs/production/app.yaml": helmrelease("apps:app-production", "ghcr.io/acme/app", P1),
        "parked/app.yaml": helmrelease("apps:app-production", "ghcr.io/acme/app", P0),
        "examples/kustomization.yaml": kustomization("apps:ghost", "v1.0.0"),
    }
    return Fleet(
        "s09_stale_copies", files, TWO,
        {"acme/app": (S1, S2, P1)},
        {("app", "staging"): (S2, ACTIVE), ("app", "production"): (P1, ACTIVE)},
        (
            "examples/kustomization.yaml:7: marker names apps:ghost, which no ImagePolicy in the repository defines",
            "app/production: not automated: parked/app.yaml:16, parked/app.yaml:17 name(s) apps:app-production "
            "outside every ImageUpdateAutomation's update.path",
        ),
        ("promote", S2, "to", "production"), frozenset({"envs/production/app.yaml"}),
        ("rollback", "production"), frozenset({"envs/production/app.yaml"}),
    )  # fmt: skip


def docker_hub_names() -> Fleet:
    """§12: Docker Hub images written without a host (`acme/app`, a bare `tool`), configured as `docker.io`."""
    files: dict[str, str] = {}
    for env, now in (("staging", S2), ("production", P1)):
        files[f"flux/{env}.yaml"] = docs(
            repository("app", env, "acme/app"),
            repository("tool", env, "tool"),
            policy("app", env, bot_filter(env)),
            policy("tool", env, bot_filter(env), repo="tool"),
            automation("apps", env, f"./apps/{env}"),
        )
        files[f"apps/{env}/app.yaml"] = deployment(f"{env}:app", f"acme/app:{now}", env)
        files[f"apps/{env}/tool.yaml"] = deployment(f"{env}:tool", f"tool:{now}", env)
    return Fleet(
        "s12_docker_hub_names", files, TWO,
        {"acme/app": (S1, S2, P1), "library/tool": (S1, S2, P1)},
        {(s, e): (now, ACTIVE) for s in ("app", "tool") for e, now in (("staging", S2), ("production", P1))},
        (),
        ("promote", S2, "to", "production", "--service", "app"), frozenset({"apps/production/app.yaml"}),
        ("rollback", "production", "app"), frozenset({"apps/production/app.yaml"}),
        host="docker.io",
    )  # fmt: skip


BUNDLE_LINES = 14_000


def big_bundle() -> Fleet:
    """§14: a 14,000-line CRD bundle next to the Flux objects; it holds `kind: ImagePolicy` but no object."""
    fleet = namespaces()
    files = {**fleet.files, "clusters/prod/flux-system/gotk-components.yaml": crd_bundle(BUNDLE_LINES)}
    return Fleet(
        "s14_big_bundle", files, fleet.config, fleet.images, fleet.rows, fleet.problems,
        fleet.promote, fleet.promoted, fleet.rollback, fleet.rolled_back,
    )  # fmt: skip


def seed() -> Fleet:
    """The seed's layout, exactly as bot/seed_layout.py writes it for `gitops-bot demo` and the integration world:
    each ImageRepository in flux-system shared through accessFrom, and per environment per service an
    ImagePolicy and an automation whose path is that service's directory in that environment."""
    from bot.seed_layout import IMAGE_REGISTRY_VAR, marker_file, seed_files

    services = ("backend", "frontend")
    current = {"develop": D2, "staging": S2, "production": P1}
    pipeline = tuple(current)
    files = seed_files("ghcr.io/acme", {(s, e): now for s in services for e, now in current.items()}, pipeline)
    prod = marker_file("backend", "production")
    return Fleet(
        "seed", files, {"substitutions": {IMAGE_REGISTRY_VAR: "ghcr.io/acme"}},
        {f"acme/{s}": (D1, D2, S1, S2, P1) for s in services},
        {(s, e): (now, ACTIVE) for s in services for e, now in current.items()},
        (),
        ("promote", S2, "to", "production", "--service", "backend"), frozenset({prod}),
        ("rollback", "production", "backend"), frozenset({prod}),
    )  # fmt: skip


FLEETS = (
    seed,
    namespaces, one_namespace_per_cluster, names_in_one_namespace, tracks, one_automation, api_versions,
    marker_shapes, stale_copies, docker_hub_names, big_bundle,
)  # fmt: skip
