"""Flux image objects as YAML text, for the fleet fixtures (written for this project, LAYOUTS.md's shapes)."""

from __future__ import annotations

SHA = {"0.0.1": "a1b2c3d", "0.0.2": "b2c3d4e", "0.0.3": "c3d4e5f", "1.27.3": "d4e5f60", "1.28.5": "e5f6071",
       "1.28.6": "f607182"}  # fmt: skip


def tag(env: str, version: str, ts: int) -> str:
    """A build tag in the bot's own convention (`<env>-v<semver>-<sha>-<ts>`)."""
    return f"{env}-v{version}-{SHA[version]}-{ts}"


def bot_filter(env: str, version: str = r"[0-9]+\.[0-9]+\.[0-9]+") -> str:
    return f"^{env}-v{version}-[a-f0-9]+-(?P<ts>[0-9]+)$"


def repository(name: str, namespace: str, image: str, *, api: str = "v1", access_from: bool = False) -> str:
    access = "  accessFrom:\n    namespaceSelectors:\n      - matchLabels: {}\n" if access_from else ""
    return (
        f"apiVersion: image.toolkit.fluxcd.io/{api}\nkind: ImageRepository\n"
        f"metadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"spec:\n  image: {image}\n  interval: 5m\n{access}"
    )


def policy(
    name: str,
    namespace: str,
    pattern: str | None,
    *,
    repo: str = "app",
    repo_namespace: str = "",
    api: str = "v1",
    labels: str = "",
) -> str:
    ref = f"    name: {repo}\n" + (f"    namespace: {repo_namespace}\n" if repo_namespace else "")
    filt = f"  filterTags:\n    pattern: '{pattern}'\n    extract: '$ts'\n" if pattern is not None else ""
    meta_labels = f"  labels: {{{labels}}}\n" if labels else ""
    return (
        f"apiVersion: image.toolkit.fluxcd.io/{api}\nkind: ImagePolicy\n"
        f"metadata:\n  name: {name}\n  namespace: {namespace}\n{meta_labels}"
        f"spec:\n  imageRepositoryRef:\n{ref}{filt}  policy:\n    numerical:\n      order: asc\n"
    )


FLUXCDBOT = ("fluxcdbot", "fluxcdbot@users.noreply.github.com")

# The four template styles of LAYOUTS §10 and a message each renders (Fleet A's is a block scalar: ends in \n).
FLEET_A = "[ci skip] An automated update from FluxBot\n"
FLEET_B = "{{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}"
FLEET_C = "{{range .Updated.Images}}{{println .}}{{end}}"
FLEET_D = (
    'ci(flux): :rocket: {{ range .Changed.Changes }}{{ print .Setter | replace "flux-system:" ""}} {{ end }}\n\n'
    "{{- range .Changed.Changes }}\n"
    '- {{ printf "%s: %s -> %s" (.Setter | replace "flux-system:" "" | replace ":tag" "") .OldValue .NewValue }}\n'
    "{{- end }}\n"
)


def automation(
    name: str,
    namespace: str,
    path: str | None,
    *,
    api: str = "v1",
    extra: str = "",
    author: tuple[str, str] | None = FLUXCDBOT,
    template: str = "",
    checkout: str = "main",
    push: str = "main",
) -> str:
    """An ImageUpdateAutomation; `template` is written as a literal block scalar (as fleets write them), so a
    one-line template ends with a newline exactly as Fleet A's does."""
    update = f"  update:\n    path: {path}\n    strategy: Setters\n" if path is not None else ""
    who = f"      author:\n        name: {author[0]}\n        email: {author[1]}\n" if author else ""
    tmpl = "".join(f"        {ln}\n" if ln else "\n" for ln in template.rstrip("\n").split("\n")) if template else ""
    commit = f"    commit:\n{who}" + (f"      messageTemplate: |\n{tmpl}" if template else "") if who or tmpl else ""
    out = f"    push:\n      branch: {push}\n" if push else ""
    return (
        f"apiVersion: image.toolkit.fluxcd.io/{api}\nkind: ImageUpdateAutomation\n"
        f"metadata:\n  name: {name}\n  namespace: {namespace}\n"
        "spec:\n  interval: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        f"    namespace: flux-system\n  git:\n    checkout:\n      ref:\n        branch: {checkout}\n"
        f"{commit}{out}{update}{extra}"
    )


def docs(*parts: str) -> str:
    return "---\n".join(parts)


def kustomization(setter: str, value: str, *, quoted: bool = False, name: str = "") -> str:
    shown = f'"{value}"' if quoted else value
    new_name = f'    newName: {name} # {{"$imagepolicy": "{setter}:name"}}\n' if name else ""
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\nimages:\n"
        f"  - name: app\n{new_name}    newTag: {shown} # {{\"$imagepolicy\": \"{setter}:tag\"}}\n"
    )


def helmrelease(setter: str, image: str, value: str, namespace: str = "apps") -> str:
    return (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
        f"metadata:\n  name: app\n  namespace: {namespace}\nspec:\n  interval: 10m\n  chart:\n    spec:\n"
        "      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n"
        f"    image:\n      repository: {image} # {{\"$imagepolicy\": \"{setter}:name\"}}\n"
        f"      tag: {value} # {{\"$imagepolicy\": \"{setter}:tag\"}}\n"
    )


def deployment(setter: str, ref: str, namespace: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata:\n  name: app\n  namespace: {namespace}\nspec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: app\n          image: {ref} # {{\"$imagepolicy\": \"{setter}\"}}\n"
    )


def crd_bundle(lines: int) -> str:
    """A `gotk-components.yaml` stand-in: CRDs of the image group (which mention `kind: ImagePolicy` under
    `names:`) padded with schema lines, no setter marker and no image object."""
    head = (
        "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: imagepolicies.image.toolkit.fluxcd.io\nspec:\n  group: image.toolkit.fluxcd.io\n"
        "  names:\n    kind: ImagePolicy\n    plural: imagepolicies\n  versions:\n    - name: v1\n"
        "      schema:\n        openAPIV3Schema:\n          properties:\n"
    )
    body = "".join(f"            field{i}:\n              type: string\n" for i in range(lines // 2))
    alert = (
        "---\napiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: images\n"
        "spec:\n  eventSources:\n    - kind: ImagePolicy\n      name: '*'\n"
    )
    return head + body + alert
