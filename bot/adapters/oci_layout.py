"""An OCI image layout per repository on disk, as a Registry: <root>/<repo>/{oci-layout, index.json, blobs/…}.

Tags are the `org.opencontainers.image.ref.name` annotations of index.json's descriptors, which is what
skopeo's `oci:<dir>:<tag>` transport reads. Every write goes to a temp file first and lands with os.replace,
and index.json's read-modify-write holds an flock on the repo directory, so readers never see half a file.
"""

from __future__ import annotations

import fcntl
import gzip
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.adapters.registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    RepositoryNotFound,
    declared_media_type,
    retag_by_bytes,
    sha256_digest,
)
from bot.core.imageref import check_digest, check_ref, check_repo, check_tag
from bot.errors import DigestMismatch, ManifestNotFound

REF_NAME = "org.opencontainers.image.ref.name"
_PLATFORMS = (("linux", "amd64", ""), ("linux", "arm64", ""), ("linux", "arm", "v7"), ("linux", "s390x", ""))


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class TinyImage:
    """A complete tiny image: `manifest` is the top level (image manifest, or index when `children` exist);
    `blobs` holds configs and layers by digest. Push order: blobs, children by digest, then the manifest."""

    manifest: Manifest
    children: tuple[Manifest, ...]
    blobs: Mapping[str, bytes]


def tiny_image(seed: str, *, platform_variants: int = 1, docker: bool = False) -> TinyImage:
    """Deterministic per `seed`: a one-file gzip layer and a valid config per platform (linux/amd64 first,
    then arm64, arm/v7, s390x). `docker=True` uses the Docker v2 media types instead of OCI's."""
    if not 1 <= platform_variants <= len(_PLATFORMS):
        raise ValueError(f"platform_variants must be 1..{len(_PLATFORMS)}")
    kind = DOCKER_MANIFEST if docker else OCI_MANIFEST
    config_type = (
        "application/vnd.docker.container.image.v1+json" if docker else "application/vnd.oci.image.config.v1+json"
    )
    layer_type = (
        "application/vnd.docker.image.rootfs.diff.tar.gzip" if docker else "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    blobs: dict[str, bytes] = {}
    children: list[tuple[Manifest, dict[str, str]]] = []
    for os_name, arch, variant in _PLATFORMS[:platform_variants]:
        content = f"{seed} {os_name}/{arch}{variant}\n".encode()
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            info = tarfile.TarInfo("hello.txt")
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            archive.addfile(info, io.BytesIO(content))
        layer = gzip.compress(tar.getvalue(), mtime=0)
        platform = {"os": os_name, "architecture": arch, **({"variant": variant} if variant else {})}
        config = _json(
            {
                **platform,
                "config": {"Cmd": ["/hello.txt"]},
                "rootfs": {"type": "layers", "diff_ids": [sha256_digest(tar.getvalue())]},
            }
        )
        blobs[sha256_digest(layer)] = layer
        blobs[sha256_digest(config)] = config
        raw = _json(
            {
                "schemaVersion": 2,
                "mediaType": kind,
                "config": {"mediaType": config_type, "digest": sha256_digest(config), "size": len(config)},
                "layers": [{"mediaType": layer_type, "digest": sha256_digest(layer), "size": len(layer)}],
            }
        )
        children.append((Manifest.from_raw(raw, kind), platform))
    if platform_variants == 1:
        return TinyImage(children[0][0], (), blobs)
    index_type = DOCKER_LIST if docker else OCI_INDEX
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": index_type,
            "manifests": [
                {"mediaType": m.media_type, "digest": m.digest, "size": len(m.raw), "platform": p} for m, p in children
            ],
        }
    )
    return TinyImage(Manifest.from_raw(index, index_type), tuple(m for m, _ in children), blobs)


class OciLayoutRegistry:
    """The Registry port over OCI image layouts under `root`, one layout directory per repository."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # --- the Registry port -------------------------------------------------------------------------------
    def list_tags(self, repo: str) -> list[str]:
        return sorted({name for name, _ in self._tagged(repo)})

    def get_manifest(self, repo: str, ref: str) -> Manifest:
        check_ref(ref)
        if ref.startswith("sha256:"):
            raw = self._read_blob(repo, ref, missing=f"{repo}@{ref}")
            if declared_media_type(raw) is None and b'"schemaVersion"' not in raw:
                raise ManifestNotFound(f"{repo}@{ref} in {self._where(repo)} is a blob, not a manifest.")
            return Manifest(ref, declared_media_type(raw) or OCI_MANIFEST, raw)
        for name, desc in self._tagged(repo):
            if name == ref:
                raw = self._read_blob(repo, str(desc["digest"]), missing=f"{repo}:{ref}")
                return Manifest(
                    str(desc["digest"]),
                    str(desc.get("mediaType") or declared_media_type(raw) or OCI_MANIFEST),
                    raw,
                )
        raise ManifestNotFound(f"{repo}:{ref} does not exist in {self._where(repo)}.")

    def digest(self, repo: str, tag: str) -> str | None:
        try:
            return self.get_manifest(repo, tag).digest
        except RepositoryNotFound:
            raise
        except ManifestNotFound:
            return None

    def put_manifest(self, repo: str, tag: str, manifest: Manifest) -> str:
        check_repo(repo)
        check_ref(tag)
        digest = sha256_digest(manifest.raw)
        if digest != manifest.digest or (tag.startswith("sha256:") and tag != digest):
            raise DigestMismatch(f"The manifest for {repo}:{tag} hashes to {digest}, not {manifest.digest}.")
        self._write_blob(repo, manifest.raw)
        if not tag.startswith("sha256:"):
            media_type = declared_media_type(manifest.raw) or manifest.media_type
            descriptor = {"mediaType": media_type, "digest": digest, "size": len(manifest.raw),
                          "annotations": {REF_NAME: tag}}  # fmt: skip
            with self._locked_index(repo) as index:
                index["manifests"] = [d for d in index["manifests"] if _ref_name(d) != tag] + [descriptor]
        return digest

    def retag(self, repo: str, source_tag: str, new_tags: Sequence[str], *, expect_digest: str | None = None) -> str:
        return retag_by_bytes(self, self._where(repo), repo, source_tag, new_tags, expect_digest=expect_digest)

    # --- helpers for the demo and tests ------------------------------------------------------------------
    def add_image(self, repo: str, tags: Sequence[str], *, platform_variants: int = 1, seed: str | None = None) -> str:
        """Write a tiny image (an index when platform_variants > 1) and tag it; returns its digest. The seed
        defaults to repo:first-tag, so different builds get different digests and reruns the same ones."""
        check_repo(repo)
        for tag in tags:
            check_tag(tag)
        image = tiny_image(seed or f"{repo}:{tags[0] if tags else ''}", platform_variants=platform_variants)
        for blob in image.blobs.values():
            self._write_blob(repo, blob)
        for child in image.children:
            self.put_manifest(repo, child.digest, child)
        self._write_blob(repo, image.manifest.raw)
        for tag in tags:
            self.put_manifest(repo, tag, image.manifest)
        return image.manifest.digest

    # --- files --------------------------------------------------------------------------------------------
    def _dir(self, repo: str) -> Path:
        # The repo grammar admits no `.`-only component and no leading `/`, so this stays under root.
        return self.root / check_repo(repo)

    def _where(self, repo: str) -> str:
        return f"the OCI layout {self._dir(repo)}"

    def _tagged(self, repo: str) -> list[tuple[str, Mapping[str, Any]]]:
        index_file = self._dir(repo) / "index.json"
        try:
            index = json.loads(index_file.read_bytes())
        except FileNotFoundError as err:
            raise RepositoryNotFound(f"Repository {repo} does not exist in {self._where(repo)}.") from err
        except ValueError as err:
            raise ManifestNotFound(f"{index_file} is not valid JSON.") from err
        return [(name, d) for d in index.get("manifests", []) if (name := _ref_name(d))]

    def _read_blob(self, repo: str, digest: str, *, missing: str) -> bytes:
        check_digest(digest)
        if not (self._dir(repo) / "index.json").exists():
            raise RepositoryNotFound(f"Repository {repo} does not exist in {self._where(repo)}.")
        try:
            raw = (self._dir(repo) / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
        except FileNotFoundError as err:
            raise ManifestNotFound(f"{missing} does not exist in {self._where(repo)}.") from err
        if sha256_digest(raw) != digest:
            raise DigestMismatch(f"The blob {digest} in {self._where(repo)} is corrupt (its bytes hash differently).")
        return raw

    def _write_blob(self, repo: str, raw: bytes) -> str:
        self._ensure_layout(repo)
        digest = sha256_digest(raw)
        path = self._dir(repo) / "blobs" / "sha256" / digest.removeprefix("sha256:")
        if not path.exists():
            _atomic_write(path, raw)
        return digest

    def _ensure_layout(self, repo: str) -> None:
        base = self._dir(repo)
        if (base / "index.json").exists():
            return
        (base / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        with _flock(base):
            if not (base / "oci-layout").exists():
                _atomic_write(base / "oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
            if not (base / "index.json").exists():
                _atomic_write(base / "index.json", _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}))

    @contextmanager
    def _locked_index(self, repo: str) -> Iterator[dict[str, Any]]:
        self._ensure_layout(repo)
        base = self._dir(repo)
        with _flock(base):
            index: dict[str, Any] = json.loads((base / "index.json").read_bytes())
            index.setdefault("manifests", [])
            yield index
            _atomic_write(base / "index.json", json.dumps(index, indent=2).encode())


def _ref_name(descriptor: Mapping[str, Any]) -> str:
    annotations = descriptor.get("annotations") or {}
    return str(annotations.get(REF_NAME, "")) if isinstance(annotations, Mapping) else ""


@contextmanager
def _flock(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
        os.fchmod(tmp.fileno(), 0o644)  # a layout is meant to be read by other tools, not only this user
        tmp.write(data)
        tmp.flush()
        os.fsync(tmp.fileno())
    try:
        os.replace(tmp.name, path)
    except OSError:
        os.unlink(tmp.name)
        raise
