"""The seed GitOps repository layout, as text: what `gitops-bot demo` and the tests start from.

    flux/image-automation/<env>.yaml                  ImageRepository + ImagePolicy per service, one
                                                      ImageUpdateAutomation per env (namespace = env)
    flux/apps/backend/<env>/deployment.yaml           Deployment `image:` marker  "<env>:backend"
    flux/apps/frontend/base/...                       plain kustomize base
    flux/apps/frontend/overlays/<env>/kustomization.yaml   `images:` markers  "<env>:frontend:name|:tag"

This layout needs no per-service configuration: discovery finds everything from the Flux objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

IMAGE_REGISTRY_VAR = "image_registry"


def image_automation(env: str, services: Sequence[str]) -> str:
    docs = []
    for svc in services:
        docs.append(
            f"""apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: {svc}
  namespace: {env}
spec:
  image: ${{{IMAGE_REGISTRY_VAR}}}/{svc}
  interval: 1m
"""
        )
        docs.append(
            f"""apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: {svc}
  namespace: {env}
spec:
  imageRepositoryRef:
    name: {svc}
  filterTags:
    pattern: '^{env}-v[0-9]+\\.[0-9]+\\.[0-9]+-[a-f0-9]+-(?P<ts>[0-9]+)$'
    extract: '$ts'
  policy:
    numerical:
      order: asc
"""
        )
    docs.append(
        f"""apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: {env}
  namespace: {env}
spec:
  interval: 5m
  sourceRef:
    kind: GitRepository
    name: fleet
    namespace: flux-system
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        name: fluxcdbot
        email: fluxcdbot@users.noreply.github.com
    push:
      branch: main
  update:
    path: ./flux/apps
    strategy: Setters
"""
    )
    return "---\n".join(docs)


def backend_deployment(env: str, image: str, tag: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
  namespace: {env}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: backend
  template:
    metadata:
      labels:
        app: backend
    spec:
      containers:
        - name: backend
          image: {image}:{tag} # {{"$imagepolicy": "{env}:backend"}}
          ports:
            - containerPort: 8080
"""


def frontend_overlay(env: str, image: str, tag: str) -> str:
    return f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {env}
resources:
  - ../../base
images:
  - name: frontend
    newName: {image} # {{"$imagepolicy": "{env}:frontend:name"}}
    newTag: {tag} # {{"$imagepolicy": "{env}:frontend:tag"}}
"""


FRONTEND_BASE = {
    "flux/apps/frontend/base/kustomization.yaml": """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
""",
    "flux/apps/frontend/base/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  selector:
    matchLabels:
      app: frontend
  template:
    metadata:
      labels:
        app: frontend
    spec:
      containers:
        - name: frontend
          image: frontend
""",
}


def marker_file(service: str, env: str) -> str:
    if service == "frontend":
        return f"flux/apps/frontend/overlays/{env}/kustomization.yaml"
    return f"flux/apps/{service}/{env}/deployment.yaml"


def seed_files(registry: str, tags: Mapping[tuple[str, str], str], pipeline: Sequence[str]) -> dict[str, str]:
    """The whole repository for `tags[(service, env)]`; services other than frontend get a Deployment."""
    services = sorted({s for s, _ in tags})
    files: dict[str, str] = {"README.md": "Fleet repository managed by Flux.\n"}
    for env in pipeline:
        files[f"flux/image-automation/{env}.yaml"] = image_automation(env, services)
    for (svc, env), tag in tags.items():
        image = f"{registry}/{svc}"
        if svc == "frontend":
            files.update(FRONTEND_BASE)
            files[marker_file(svc, env)] = frontend_overlay(env, image, tag)
        else:
            files[marker_file(svc, env)] = backend_deployment(env, image, tag).replace("backend", svc)
    return files
