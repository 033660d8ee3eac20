"""OciLayoutRegistry on a real directory, with layouts checked by skopeo's `oci:` transport."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.adapters.oci_layout import REF_NAME, OciLayoutRegistry, tiny_image
from bot.adapters.registry import (
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    Registry,
    RegistryClient,
    RepositoryNotFound,
    sha256_digest,
)
from bot.errors import DigestMismatch, InvalidInput, ManifestNotFound

REPO = "acme/backend"
# Both backends must satisfy the port; `mypy --strict tests/integration/test_oci_layout.py` checks this line.
BACKENDS: tuple[type[Registry], ...] = (RegistryClient, OciLayoutRegistry)


def skopeo(layout: Path, tag: str, *args: str) -> str:
    # --override-arch picks the linux/amd64 child of an index whatever machine runs the test.
    command = ["skopeo", "--override-os", "linux", "--override-arch", "amd64", "inspect", *args]
    ref = f"oci:{layout}:{tag}"
    return subprocess.run([*command, ref], check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def layouts(tmp_path: Path) -> OciLayoutRegistry:
    return OciLayoutRegistry(tmp_path / "oci")


@pytest.mark.parametrize(("variants", "media_type"), [(1, OCI_MANIFEST), (2, OCI_INDEX)])
def test_add_image_writes_a_layout_skopeo_reads(
    layouts: OciLayoutRegistry, variants: int, media_type: str
) -> None:
    digest = layouts.add_image(REPO, ["v1", "latest"], platform_variants=variants)
    layout = layouts.root / REPO
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert layouts.list_tags(REPO) == ["latest", "v1"]
    manifest = layouts.get_manifest(REPO, "v1")
    assert (manifest.digest, manifest.media_type) == (digest, media_type)
    assert skopeo(layout, "v1", "--format", "{{.Digest}}").strip() == digest
    assert sha256_digest(skopeo(layout, "latest", "--raw").encode()) == digest


@pytest.mark.parametrize("variants", [1, 2], ids=["manifest", "index"])
def test_retag_keeps_the_bytes_and_the_digest(layouts: OciLayoutRegistry, variants: int) -> None:
    digest = layouts.add_image(REPO, ["staging-v1.0.0-abc1234-100"], platform_variants=variants)
    before = layouts.get_manifest(REPO, "staging-v1.0.0-abc1234-100")
    assert (
        layouts.retag(REPO, "staging-v1.0.0-abc1234-100", ["production", "prod-2"], expect_digest=digest)
        == digest
    )
    for tag in ("production", "prod-2"):
        assert layouts.get_manifest(REPO, tag) == before
        assert skopeo(layouts.root / REPO, tag, "--format", "{{.Digest}}").strip() == digest
    index = json.loads((layouts.root / REPO / "index.json").read_text())
    assert sorted(d["annotations"][REF_NAME] for d in index["manifests"]) == [
        "prod-2", "production", "staging-v1.0.0-abc1234-100",
    ]  # fmt: skip


def test_retagging_an_existing_tag_moves_it(layouts: OciLayoutRegistry) -> None:
    old = layouts.add_image(REPO, ["v1", "production"])
    new = layouts.add_image(REPO, ["v2"])
    assert old != new
    layouts.retag(REPO, "v2", ["production"])
    assert layouts.digest(REPO, "production") == new
    assert layouts.digest(REPO, "v1") == old
    assert layouts.list_tags(REPO) == ["production", "v1", "v2"]


def test_expect_digest_mismatch_tags_nothing(layouts: OciLayoutRegistry) -> None:
    layouts.add_image(REPO, ["v1"])
    other = layouts.add_image(REPO, ["v2"])
    before = (layouts.root / REPO / "index.json").read_bytes()
    with pytest.raises(DigestMismatch, match="nothing was tagged"):
        layouts.retag(REPO, "v1", ["v1-promoted"], expect_digest=other)
    assert (layouts.root / REPO / "index.json").read_bytes() == before


@pytest.mark.parametrize("bad", ["a b", "../x", "x;rm", "", "-x", "x/y", "x" * 129])
def test_invalid_tags_touch_nothing(layouts: OciLayoutRegistry, bad: str) -> None:
    with pytest.raises(InvalidInput):
        layouts.add_image(REPO, ["ok", bad])
    assert not layouts.root.exists()
    layouts.add_image(REPO, ["v1"])
    before = (layouts.root / REPO / "index.json").read_bytes()
    with pytest.raises(InvalidInput):
        layouts.retag(REPO, "v1", ["fine", bad])
    with pytest.raises(InvalidInput):
        layouts.put_manifest(REPO, bad, layouts.get_manifest(REPO, "v1"))
    assert (layouts.root / REPO / "index.json").read_bytes() == before


@pytest.mark.parametrize("bad", ["../escape", "acme/../../x", "/abs", "Acme"])
def test_invalid_repositories_cannot_escape_the_root(layouts: OciLayoutRegistry, bad: str) -> None:
    with pytest.raises(InvalidInput):
        layouts.add_image(bad, ["v1"])
    assert not layouts.root.exists()


def test_missing_things_are_named(layouts: OciLayoutRegistry) -> None:
    with pytest.raises(RepositoryNotFound, match="acme/backend"):
        layouts.list_tags(REPO)
    with pytest.raises(RepositoryNotFound):
        layouts.digest(REPO, "v1")
    layouts.add_image(REPO, ["v1"])
    with pytest.raises(ManifestNotFound, match="acme/backend:v9"):
        layouts.get_manifest(REPO, "v9")
    assert layouts.digest(REPO, "v9") is None


def test_manifests_are_readable_by_digest_children_included(layouts: OciLayoutRegistry) -> None:
    digest = layouts.add_image(REPO, ["v1"], platform_variants=2)
    index = layouts.get_manifest(REPO, digest)
    assert index.media_type == OCI_INDEX
    child_digest = json.loads(index.raw)["manifests"][1]["digest"]
    child = layouts.get_manifest(REPO, child_digest)
    assert json.loads(child.raw)["mediaType"] == OCI_MANIFEST
    layer_digest = json.loads(child.raw)["layers"][0]["digest"]
    with pytest.raises(ManifestNotFound, match="blob"):
        layouts.get_manifest(REPO, layer_digest)


def test_a_corrupt_blob_is_a_digest_mismatch(layouts: OciLayoutRegistry) -> None:
    digest = layouts.add_image(REPO, ["v1"])
    blob = layouts.root / REPO / "blobs" / "sha256" / digest.removeprefix("sha256:")
    blob.write_bytes(blob.read_bytes() + b" ")
    with pytest.raises(DigestMismatch, match="corrupt"):
        layouts.get_manifest(REPO, "v1")
    with pytest.raises(DigestMismatch):
        layouts.retag(REPO, "v1", ["v2"])
    assert layouts.list_tags(REPO) == ["v1"]


def test_digests_are_deterministic_and_put_checks_them(tmp_path: Path) -> None:
    a, b = OciLayoutRegistry(tmp_path / "a"), OciLayoutRegistry(tmp_path / "b")
    assert a.add_image(REPO, ["v1"], platform_variants=2) == b.add_image(REPO, ["v1"], platform_variants=2)
    assert a.add_image(REPO, ["v2"]) != a.add_image(REPO, ["v3"])
    image = tiny_image("seed").manifest
    with pytest.raises(DigestMismatch):
        a.put_manifest(REPO, "forged", Manifest("sha256:" + "1" * 64, image.media_type, image.raw))
    assert a.digest(REPO, "forged") is None


def test_concurrent_puts_lose_no_tag_and_leave_no_temp_files(layouts: OciLayoutRegistry) -> None:
    layouts.add_image(REPO, ["v0"])
    source = layouts.get_manifest(REPO, "v0")
    tags = [f"t{i:02d}" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: layouts.put_manifest(REPO, t, source), tags))
    assert layouts.list_tags(REPO) == sorted(["v0", *tags])
    assert not [p for p in (layouts.root / REPO).rglob(".tmp-*")]
