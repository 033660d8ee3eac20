"""Build tiny images and push them to a real registry through the raw Distribution API (plain requests).

Pushing does not go through RegistryClient on purpose: what the tests then read back with the client was
written by independent code, and skopeo checks both.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import requests

from bot.adapters.oci_layout import TinyImage, tiny_image
from bot.adapters.registry import Manifest

Auth = requests.auth.AuthBase | tuple[str, str] | None


class BearerToken(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def _check(resp: requests.Response, what: str) -> None:
    if resp.status_code not in (200, 201, 202):
        raise AssertionError(f"{what}: HTTP {resp.status_code} {resp.text[:300]}")


def push_blob(
    session: requests.Session, base: str, repo: str, digest: str, blob: bytes, *, auth: Auth = None
) -> None:
    start = session.post(f"{base}/v2/{repo}/blobs/uploads/", auth=auth, timeout=10)
    _check(start, f"start upload of {digest}")
    location = urljoin(f"{base}/", start.headers["Location"])
    sep = "&" if "?" in location else "?"
    done = session.put(
        f"{location}{sep}digest={digest}", data=blob, auth=auth, timeout=10,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    _check(done, f"finish upload of {digest}")


def put_manifest(
    session: requests.Session, base: str, repo: str, ref: str, manifest: Manifest, *, auth: Auth = None
) -> None:
    resp = session.put(
        f"{base}/v2/{repo}/manifests/{ref}", data=manifest.raw, auth=auth, timeout=10,
        headers={"Content-Type": manifest.media_type},
    )  # fmt: skip
    _check(resp, f"put manifest {repo}:{ref}")


def push_image(
    host: str,
    repo: str,
    tags: Sequence[str],
    *,
    platform_variants: int = 1,
    docker: bool = False,
    seed: str | None = None,
    auth: Auth = None,
) -> TinyImage:
    """Push blobs, then child manifests by digest, then the top manifest under each tag."""
    image = tiny_image(seed or f"{repo}:{tags[0]}", platform_variants=platform_variants, docker=docker)
    base = f"http://{host}"
    with requests.Session() as session:
        for digest, blob in image.blobs.items():
            push_blob(session, base, repo, digest, blob, auth=auth)
        for child in image.children:
            put_manifest(session, base, repo, child.digest, child, auth=auth)
        for tag in tags:
            put_manifest(session, base, repo, tag, image.manifest, auth=auth)
    return image


def put_tags(host: str, repo: str, manifest: Manifest, tags: Sequence[str], *, workers: int = 8) -> None:
    """PUT one manifest under many tags concurrently (its blobs must already be in the repo)."""
    base = f"http://{host}"
    with requests.Session() as session:
        session.mount(base, requests.adapters.HTTPAdapter(pool_maxsize=workers))
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(lambda t: put_manifest(session, base, repo, t, manifest), tags):
                pass
