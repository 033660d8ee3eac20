"""The seed GitOps repository layout, as text: what `gitops-bot demo` and the tests start from.

    flux/image-automation/repositories.yaml           one ImageRepository per service in flux-system, shared
                                                      with the env namespaces through spec.accessFrom
    flux/image-automation/<env>.yaml                  per service: an ImagePolicy and an ImageUpdateAutomation
                                                      in the env's namespace, the automation's update.path
                                                      being that service's directory in that env
    flux/apps/backend/<env>/deployment.yaml           Deployment `image:` marker  "<env>:backend"
    flux/apps/frontend/base/...                       plain kustomize base
    flux/apps/frontend/overlays/<env>/kustomization.yaml   `images:` markers  "<env>:frontend:name|:tag"

This layout needs no per-service configuration: discovery finds everything from the Flux objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

IMAGE_REGISTRY_VAR = "image_registry"
REPOSITORIES_FILE = "flux/image-automation/repositories.yaml"


def automation_file(env: str) -> str:
    return f"flux/image-automation/{env}.yaml"


def image_repositories(services: Sequence[str], pipeline: Sequence[str]) -> str:
    """Each image scanned once, in flux-system; a policy in another namespace needs accessFrom to read it."""
    admitted = "".join(
        f"      - matchLabels:\n          kubernetes.io/metadata.name: {env}\n" for env in pipeline
    )
    return "---\n".join(
        f"""apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: {svc}
  namespace: flux-system
spec:
  image: ${{{IMAGE_REGISTRY_VAR}}}/{svc}
  interval: 1m
  accessFrom:
    namespaceSelectors:
{admitted}"""
        for svc in services
    )


def image_automation(env: str, services: Sequence[str]) -> str:
    docs = []
    for svc in services:
        docs.append(
            f"""apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: {svc}
  namespace: {env}
spec:
  imageRepositoryRef:
    name: {svc}
    namespace: flux-system
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
  name: {svc}
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
    path: ./{marker_file(svc, env).rsplit("/", 1)[0]}
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
    files[REPOSITORIES_FILE] = image_repositories(services, pipeline)
    for env in pipeline:
        files[automation_file(env)] = image_automation(env, services)
    for (svc, env), tag in tags.items():
        image = f"{registry}/{svc}"
        if svc == "frontend":
            files.update(FRONTEND_BASE)
            files[marker_file(svc, env)] = frontend_overlay(env, image, tag)
        else:
            files[marker_file(svc, env)] = backend_deployment(env, image, tag).replace("backend", svc)
    return files
