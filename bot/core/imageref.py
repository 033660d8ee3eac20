"""Image references, `[host[:port]/]path[:tag][@digest]`: the one parser, and the OCI grammar checks.

Two readings, one lexer (`ImageRef.parse`):
  - Lenient, for values Flux wrote or a manifest holds (setter values, event messages): split without
    judging, because a marker may hold anything and the bot must still show it.
  - Strict, for a repository the bot is about to put into a registry URL (`locate`): every part checked
    against the OCI distribution grammar, tags and digests refused, Docker Hub names expanded.

The tag is what follows the last `:` when that `:` comes after the last `/`; a `:` before it is a port
(`localhost:5000/app`). The digest is everything after the first `@`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.tags import is_oci_tag
from bot.errors import InvalidInput

__all__ = [
    "DOCKER_HUB",
    "ImageRef",
    "canonical_host",
    "check_digest",
    "check_host",
    "check_ref",
    "check_repo",
    "check_tag",
    "is_digest",
    "locate",
    "tag_or_ref",
]

# Docker Hub as go-containerregistry names it (`name.DefaultRegistry`), which is what Flux's image-reflector
# resolves every Hub image to; `docker.io` is its alias (`pkg/name/registry.go`).
DOCKER_HUB = "index.docker.io"
_HUB_ALIAS = "docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPO = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*", re.ASCII)
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}", re.ASCII)
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?", re.ASCII)
_MAX_REPO = 255  # the distribution spec's limit on a repository name, host included by most registries


@dataclass(frozen=True)
class ImageRef:
    """`name:tag[@digest]`, e.g. an ImagePolicy's status.latestRef (there `name` is the ImageRepository's
    spec.image, verbatim) or a `ns:policy` setter's value."""

    name: str
    tag: str
    digest: str = ""

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}" + (f"@{self.digest}" if self.digest else "")

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        """Split without judging: `host:5000/app:tag@sha256:…` → (`host:5000/app`, `tag`, `sha256:…`).

        A part that is absent is "": `app` has no tag, `app@sha256:…` a digest but no tag.
        """
        rest, _, digest = ref.partition("@")
        colon = rest.rfind(":")
        if colon > rest.rfind("/"):
            return cls(rest[:colon], rest[colon + 1 :], digest)
        return cls(rest, "", digest)

    def retagged(self, tag: str) -> ImageRef:
        """The same image name and digest under another tag (a rollback restores a tag, not a build)."""
        return ImageRef(self.name, tag, self.digest)


def tag_or_ref(ref: str) -> str:
    """The tag of `name:tag[@digest]`, or the name itself when it has no tag (a `:tag` setter's value is a
    bare tag, and a name without one is still worth showing)."""
    parsed = ImageRef.parse(ref)
    return parsed.tag or ref.partition("@")[0]


def locate(image: str) -> tuple[str, str]:
    """An image repository → (registry host, repository path), strictly checked.

    As Flux resolves it (image-reflector `internal/registry/helper.go` → go-containerregistry
    `name.ParseReference`, `pkg/name/repository.go`): the first part is a host only when it holds a `.` or
    `:`, else the image is on Docker Hub (`localhost/app` too); `docker.io` is `index.docker.io`; a one-part
    Hub name gets `library/`. `127.0.0.1:5000/acme/backend` → (`127.0.0.1:5000`, `acme/backend`);
    `nginx` → (`index.docker.io`, `library/nginx`). Hosts are case-insensitive and lowered, paths are not.
    """
    parsed = ImageRef.parse(image)
    if parsed.tag or parsed.digest:
        # The path grammar would refuse the `:`/`@` anyway; say why in words.
        raise InvalidInput(
            f"{_show(image)} names a tag or digest; expected an image repository.",
            hint="Give the repository only, like ghcr.io/acme/backend.",
        )
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first):
        host, repo = canonical_host(first), rest
    else:
        host, repo = DOCKER_HUB, image
    if host == DOCKER_HUB and "/" not in repo:
        repo = f"library/{repo}"
    return check_host(host), check_repo(repo)


def canonical_host(host: str) -> str:
    """The registry host as Flux resolves it: lowered, `docker.io` → `index.docker.io`."""
    lowered = host.lower()
    return DOCKER_HUB if lowered == _HUB_ALIAS else lowered


def _show(value: str) -> str:
    # Long hostile input would flood the error (and Slack); show enough to recognise it.
    return repr(value if len(value) <= 60 else value[:57] + "...")


def check_host(host: str) -> str:
    if not _HOST.fullmatch(host):
        raise InvalidInput(f"{_show(host)} is not a valid registry host.", hint="e.g. ghcr.io or 127.0.0.1:5000")
    return host


def check_repo(repo: str) -> str:
    if len(repo) > _MAX_REPO or not _REPO.fullmatch(repo):
        raise InvalidInput(
            f"{_show(repo)} is not a valid image repository.",
            hint="Use lowercase path parts like acme/backend (letters, digits, . _ - inside).",
        )
    return repo


def check_tag(tag: str) -> str:
    if not is_oci_tag(tag):
        raise InvalidInput(
            f"{_show(tag)} is not a valid image tag.",
            hint="A tag is 1-128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`.",
        )
    return tag


def check_digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise InvalidInput(f"{_show(digest)} is not a sha256 digest.", hint="Expected sha256:<64 hex digits>.")
    return digest


def check_ref(ref: str) -> str:
    """A manifest reference in a URL: a digest when it looks like one, else a tag."""
    return check_digest(ref) if ref.startswith("sha256:") else check_tag(ref)


def is_digest(text: str) -> bool:
    return _DIGEST.fullmatch(text) is not None
