"""The OCI Distribution v2 client (requests): list tags, read and write manifests, retag by raw bytes.

Retagging never moves blobs: the source manifest's exact bytes are PUT under the new tag, so the digest
cannot change, and each new tag is read back to prove it (a mismatch raises DigestMismatch). Every repo,
tag and digest is checked against the OCI grammars before it is put into a URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import requests

from bot.adapters.registry_auth import (
    Credentials,
    RegistrySession,
    RequestObserver,
    credentials_from_docker_config,
    credentials_from_env,
)
from bot.core.imageref import check_digest, check_host, check_ref, check_repo, check_tag, is_digest
from bot.errors import DigestMismatch, InvalidInput, ManifestNotFound, RegistryError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
ACCEPT = ", ".join(MANIFEST_TYPES)

_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*rel="?next"?', re.I)
_MAX_PAGES = 10_000


class RepositoryNotFound(ManifestNotFound):
    """The repository itself is unknown to the registry (NAME_UNKNOWN)."""


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    raw: bytes

    @classmethod
    def from_raw(cls, raw: bytes, media_type: str = "") -> Manifest:
        """Digest computed from the bytes; media type from the JSON's `mediaType` unless given."""
        return cls(sha256_digest(raw), media_type or declared_media_type(raw) or OCI_MANIFEST, raw)


class Registry(Protocol):
    def list_tags(self, repo: str) -> list[str]: ...
    def get_manifest(self, repo: str, ref: str) -> Manifest: ...
    def digest(self, repo: str, tag: str) -> str | None: ...
    def put_manifest(self, repo: str, tag: str, manifest: Manifest) -> str: ...
    def retag(
        self, repo: str, source_tag: str, new_tags: Sequence[str], *, expect_digest: str | None = None
    ) -> str: ...


def sha256_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def declared_media_type(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("mediaType")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _at(repo: str, ref: str) -> str:
    return f"{repo}@{ref}" if ref.startswith("sha256:") else f"{repo}:{ref}"


def retag_by_bytes(
    registry: Registry,
    where: str,
    repo: str,
    source_tag: str,
    new_tags: Sequence[str],
    *,
    expect_digest: str | None,
) -> str:
    """The retag both backends share: read the source once, write its exact bytes under every new tag,
    then read every new tag back. Nothing is written if an argument is invalid or the source is unexpected."""
    check_repo(repo)
    check_ref(source_tag)
    targets = [check_tag(t) for t in new_tags]
    if expect_digest is not None:
        check_digest(expect_digest)
    if not targets:
        raise InvalidInput("Retag needs at least one new tag.")
    try:
        source = registry.get_manifest(repo, source_tag)
    except RegistryError as err:
        raise type(err)(f"{err.message} Nothing was tagged.", hint=err.hint) from err
    if expect_digest is not None and source.digest != expect_digest:
        raise DigestMismatch(
            f"{_at(repo, source_tag)} is now {source.digest}, not the expected {expect_digest}; nothing was tagged.",
            hint="Someone pushed over it; look again.",
        )
    done: list[str] = []
    for tag in targets:
        try:
            registry.put_manifest(repo, tag, source)
        except RegistryError as err:
            if not done:
                raise
            raise type(err)(f"{err.message} Already tagged: {', '.join(done)}.", hint=err.hint) from err
        done.append(tag)
    for tag in targets:
        found = registry.digest(repo, tag)
        if found != source.digest:
            raise DigestMismatch(
                f"{where} now serves {repo}:{tag} as {found or 'nothing'}, "
                f"not {source.digest} which was just written there.",
                hint="Something rewrote the manifest; do not deploy this tag.",
            )
    return source.digest


def _error_codes(resp: requests.Response) -> str:
    try:
        codes = [str(e.get("code")) for e in resp.json().get("errors", []) if isinstance(e, dict)]
    except (ValueError, AttributeError):
        codes = []
    return f" ({', '.join(codes)})" if codes else ""


class RegistryClient:
    """Distribution API v2 over HTTP(S) for one host, with one pooled session. Thread-safe."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        page_size: int | None = None,
        on_request: RequestObserver | None = None,
    ) -> None:
        self.host = check_host(host)
        self._http = RegistrySession(
            host,
            insecure=insecure,
            credentials=credentials,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            on_request=on_request,
        )
        self.base = self._http.base
        # None lets the registry choose the page size; its Link header is followed either way.
        self.page_size = page_size

    @classmethod
    def for_host(
        cls,
        host: str,
        *,
        insecure: bool = False,
        env: Mapping[str, str] = os.environ,
        docker_config: Path | None = None,
        on_request: RequestObserver | None = None,
        timeout: float = 10.0,
    ) -> RegistryClient:
        """Credentials from REGISTRY_<HOST>_USERNAME/_PASSWORD (or *_FILE), else a Docker config.json."""
        creds = credentials_from_env(host, env)
        if creds is None:
            if docker_config is None:
                folder = env.get("DOCKER_CONFIG")
                docker_config = Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"
            creds = credentials_from_docker_config(host, docker_config)
        return cls(host, insecure=insecure, credentials=creds, on_request=on_request, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the Registry port -------------------------------------------------------------------------------
    def list_tags(self, repo: str) -> list[str]:
        check_repo(repo)
        url = f"{self.base}/v2/{repo}/tags/list" + (f"?n={self.page_size}" if self.page_size else "")
        tags: list[str] = []
        seen: set[str] = set()
        while url:
            if url in seen or len(seen) >= _MAX_PAGES:
                raise RegistryError(f"Registry {self.host} kept sending the same page of tags for {repo}.")
            seen.add(url)
            resp = self._http.request("GET", url, repo)
            if resp.status_code == 404:
                raise RepositoryNotFound(f"Repository {repo} does not exist on registry {self.host}.")
            self._expect(resp, (200,), f"list the tags of {repo}")
            try:
                page = resp.json().get("tags") or []
            except (ValueError, AttributeError) as err:
                raise RegistryError(f"Registry {self.host} sent an unreadable tag list for {repo}.") from err
            tags.extend(str(t) for t in page)
            url = self._next_page(resp, url)
        # The spec promises lexical order, but docker-registry 2.8 returns directory order: sort here.
        return sorted(set(tags))

    def get_manifest(self, repo: str, ref: str) -> Manifest:
        check_repo(repo)
        check_ref(ref)
        resp = self._http.request("GET", f"{self.base}/v2/{repo}/manifests/{ref}", repo, headers={"Accept": ACCEPT})
        if resp.status_code == 404:
            raise ManifestNotFound(f"{_at(repo, ref)} does not exist on registry {self.host}.")
        self._expect(resp, (200,), f"read {_at(repo, ref)}")
        raw = resp.content
        digest = sha256_digest(raw)
        for claimed in (
            resp.headers.get("Docker-Content-Digest"),
            ref if ref.startswith("sha256:") else None,
        ):
            if claimed and claimed != digest:
                raise DigestMismatch(
                    f"Registry {self.host} sent bytes for {_at(repo, ref)} that hash to {digest}, not {claimed}."
                )
        # Some registries serve manifests as application/json; the manifest's own mediaType then decides.
        served = resp.headers.get("Content-Type", "").split(";")[0].strip()
        media_type = served if served in MANIFEST_TYPES else declared_media_type(raw) or served
        if media_type not in MANIFEST_TYPES:
            raise RegistryError(
                f"{_at(repo, ref)} on {self.host} is a {media_type or 'untyped'} manifest, which the bot cannot retag.",
                hint=f"Supported: {ACCEPT}.",
            )
        return Manifest(digest, media_type, raw)

    def digest(self, repo: str, tag: str) -> str | None:
        check_repo(repo)
        check_ref(tag)
        resp = self._http.request("HEAD", f"{self.base}/v2/{repo}/manifests/{tag}", repo, headers={"Accept": ACCEPT})
        if resp.status_code == 404:
            return None
        self._expect(resp, (200,), f"look up {_at(repo, tag)}")
        found = resp.headers.get("Docker-Content-Digest")
        # The header is optional in the spec; without it the bytes themselves must be fetched and hashed.
        return found if found and is_digest(found) else self.get_manifest(repo, tag).digest

    def put_manifest(self, repo: str, tag: str, manifest: Manifest) -> str:
        check_repo(repo)
        check_ref(tag)
        digest = sha256_digest(manifest.raw)
        if digest != manifest.digest or (tag.startswith("sha256:") and tag != digest):
            raise DigestMismatch(
                f"The manifest for {_at(repo, tag)} hashes to {digest}, not {manifest.digest}; nothing was written."
            )
        # The spec: Content-Type MUST equal the manifest's own mediaType when it declares one.
        content_type = declared_media_type(manifest.raw) or manifest.media_type
        resp = self._http.request(
            "PUT",
            f"{self.base}/v2/{repo}/manifests/{tag}",
            repo,
            headers={"Content-Type": content_type},
            data=manifest.raw,
        )
        self._expect(resp, (200, 201, 202), f"write {_at(repo, tag)}")
        stored = resp.headers.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise DigestMismatch(f"Registry {self.host} stored {_at(repo, tag)} as {stored}, not {digest}.")
        return digest

    def retag(self, repo: str, source_tag: str, new_tags: Sequence[str], *, expect_digest: str | None = None) -> str:
        return retag_by_bytes(self, f"Registry {self.host}", repo, source_tag, new_tags, expect_digest=expect_digest)

    def _expect(self, resp: requests.Response, ok: tuple[int, ...], action: str) -> None:
        if resp.status_code not in ok:
            raise RegistryError(
                f"Registry {self.host} could not {action}: HTTP {resp.status_code}{_error_codes(resp)}."
            )

    def _next_page(self, resp: requests.Response, url: str) -> str:
        match = _LINK_NEXT.search(resp.headers.get("Link", ""))
        if match is None:
            return ""
        nxt = urljoin(url, str(match.group(1)))
        if urlsplit(nxt).netloc != urlsplit(url).netloc:
            raise RegistryError(f"Registry {self.host} pointed the next page of tags at another host.")
        return nxt
