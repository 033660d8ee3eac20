"""RegistryClient against Debian's real docker-registry, with results checked by skopeo."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest

from bot.adapters.registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    RegistryClient,
    RepositoryNotFound,
    sha256_digest,
)
from bot.errors import (
    ConfigError,
    DigestMismatch,
    InvalidInput,
    ManifestNotFound,
    RegistryAuthError,
    RegistryUnreachable,
)
from tests.canaries import WRONG_REGISTRY_PASSWORD
from tests.images import BearerToken, push_image, put_tags
from tests.servers.registry import PASSWORD, USER, RegistryServer, TokenServer

REPO = "acme/backend"


def skopeo_raw(host: str, repo: str, tag: str) -> bytes:
    ref = f"docker://{host}/{repo}:{tag}"
    return subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", ref], check=True, capture_output=True, timeout=60
    ).stdout


def skopeo_digest(host: str, repo: str, tag: str) -> str:
    # --override-arch picks the linux/amd64 child of an index whatever machine runs the test.
    ref = f"docker://{host}/{repo}:{tag}"
    out = subprocess.run(
        ["skopeo", "--override-os", "linux", "--override-arch", "amd64", "inspect", "--tls-verify=false",
         "--format", "{{.Digest}}", ref],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return out.stdout.strip()


def client(server: RegistryServer, **kw: object) -> RegistryClient:
    return RegistryClient(server.host, insecure=True, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variants", "docker", "media_type"),
    [(1, False, OCI_MANIFEST), (2, False, OCI_INDEX), (1, True, DOCKER_MANIFEST), (2, True, DOCKER_LIST)],
)
def test_get_and_head_return_the_exact_pushed_bytes_for_each_media_type(
    registry: RegistryServer, variants: int, docker: bool, media_type: str
) -> None:
    image = push_image(registry.host, REPO, ["v1"], platform_variants=variants, docker=docker)
    with client(registry) as reg:
        got = reg.get_manifest(REPO, "v1")
        assert got == image.manifest
        assert got.media_type == media_type
        assert reg.digest(REPO, "v1") == image.manifest.digest
        assert reg.get_manifest(REPO, image.manifest.digest) == image.manifest
    assert sha256_digest(skopeo_raw(registry.host, REPO, "v1")) == image.manifest.digest


@pytest.mark.parametrize("variants", [1, 2], ids=["manifest", "index"])
def test_retag_writes_the_same_digest_under_each_new_tag(registry: RegistryServer, variants: int) -> None:
    image = push_image(registry.host, REPO, ["staging-v1.0.0-abc1234-100"], platform_variants=variants)
    source = image.manifest.digest
    with client(registry) as reg:
        new = ["production-v1.0.0-abc1234-200", "production"]
        assert reg.retag(REPO, "staging-v1.0.0-abc1234-100", new, expect_digest=source) == source
        assert set(reg.list_tags(REPO)) == {"staging-v1.0.0-abc1234-100", *new}
    for tag in new:
        raw = skopeo_raw(registry.host, REPO, tag)
        assert raw == image.manifest.raw  # an index stays an index: the very same bytes
        assert sha256_digest(raw) == source
        assert skopeo_digest(registry.host, REPO, tag) == source


def test_put_manifest_by_digest_and_tag(registry: RegistryServer) -> None:
    image = push_image(registry.host, REPO, ["v1"], platform_variants=2)
    child = image.children[1]
    with client(registry) as reg:
        assert reg.put_manifest(REPO, "arm64-only", child) == child.digest
        assert reg.get_manifest(REPO, "arm64-only") == child
        forged = Manifest(image.manifest.digest, child.media_type, child.raw)
        with pytest.raises(DigestMismatch):
            reg.put_manifest(REPO, "forged", forged)
        assert reg.digest(REPO, "forged") is None


def test_list_tags_returns_every_tag_sorted(registry: RegistryServer) -> None:
    image = push_image(registry.host, REPO, ["seed"])
    tags = [f"t{i:02d}" for i in range(25)]
    put_tags(registry.host, REPO, image.manifest, tags)
    with client(registry, page_size=10) as reg:
        # docker-registry 2.8 ignores n= and sends one unsorted page; Link paging is covered in
        # test_registry_protocol.py against a server that pages.
        assert reg.list_tags(REPO) == sorted([*tags, "seed"])


def test_missing_things_are_named(registry: RegistryServer) -> None:
    push_image(registry.host, REPO, ["v1"])
    with client(registry) as reg:
        with pytest.raises(ManifestNotFound, match="acme/backend:nope"):
            reg.get_manifest(REPO, "nope")
        assert reg.digest(REPO, "nope") is None
        with pytest.raises(RepositoryNotFound, match="acme/other"):
            reg.list_tags("acme/other")
        with pytest.raises(ManifestNotFound, match="acme/backend:nope"):
            reg.retag(REPO, "nope", ["x"])


def test_expect_digest_mismatch_tags_nothing(registry: RegistryServer) -> None:
    push_image(registry.host, REPO, ["v1"])
    other = push_image(registry.host, REPO, ["v2"]).manifest.digest
    with client(registry) as reg, pytest.raises(DigestMismatch, match="nothing was tagged"):
        reg.retag(REPO, "v1", ["v1-promoted"], expect_digest=other)
    with client(registry) as reg:
        assert reg.list_tags(REPO) == ["v1", "v2"]
        assert reg.digest(REPO, "v1-promoted") is None


@pytest.mark.parametrize("bad", ["a b", "../x", "x;rm", "", "-x", ".x", "x" * 129, "v1\n", "a/b", "ä"])
def test_invalid_tags_are_refused_before_any_request(registry: RegistryServer, bad: str) -> None:
    push_image(registry.host, REPO, ["v1"])
    registry.stop()  # a request would now raise RegistryUnreachable: InvalidInput proves none was made
    reg = client(registry, retries=0)
    with pytest.raises(InvalidInput):
        reg.retag(REPO, "v1", ["ok", bad])
    with pytest.raises(InvalidInput):
        reg.get_manifest(REPO, bad)
    with pytest.raises(InvalidInput):
        reg.digest(REPO, bad)
    registry.start()
    assert reg.list_tags(REPO) == ["v1"]


@pytest.mark.parametrize(
    "bad", ["Acme/backend", "acme//backend", "../etc", "acme/backend?x=1", "/acme", "acme/"]
)
def test_invalid_repositories_are_refused(bad: str) -> None:
    reg = RegistryClient("127.0.0.1:9", insecure=True, retries=0)  # port 9: nothing may be asked
    with pytest.raises(InvalidInput):
        reg.list_tags(bad)
    with pytest.raises(InvalidInput):
        reg.retag(bad, "v1", ["v2"])


def test_stopped_registry_is_unreachable_quickly_and_leaves_no_partial_state(
    registry: RegistryServer,
) -> None:
    push_image(registry.host, REPO, ["v1", "v2"])
    registry.stop()
    reg = RegistryClient(registry.host, insecure=True, credentials=(USER, PASSWORD))  # default retries
    started = time.monotonic()
    with pytest.raises(RegistryUnreachable) as caught:
        reg.retag(REPO, "v1", ["v3"])
    assert time.monotonic() - started < 3
    assert registry.host in str(caught.value)
    assert PASSWORD not in str(caught.value) and USER not in str(caught.value)
    registry.start()
    assert reg.list_tags(REPO) == ["v1", "v2"]


# --- auth ---------------------------------------------------------------------------------------------------
def test_basic_auth_from_env_and_docker_config(basic_registry: RegistryServer, tmp_path: Path) -> None:
    image = push_image(basic_registry.host, REPO, ["v1"], auth=(USER, PASSWORD))
    prefix = "REGISTRY_127_0_0_1_" + str(basic_registry.port)
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    from_env = RegistryClient.for_host(
        basic_registry.host,
        insecure=True,
        env={f"{prefix}_USERNAME": USER, f"{prefix}_PASSWORD_FILE": str(secret)},
    )
    assert from_env.retag(REPO, "v1", ["v1-copy"]) == image.manifest.digest
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    config.write_text(json.dumps({"auths": {basic_registry.host: {"auth": auth}}}))
    from_file = RegistryClient.for_host(
        basic_registry.host, insecure=True, env={"DOCKER_CONFIG": str(config.parent)}
    )
    assert from_file.list_tags(REPO) == ["v1", "v1-copy"]


@pytest.mark.parametrize("creds", [None, (USER, WRONG_REGISTRY_PASSWORD)], ids=["anonymous", "wrong"])
def test_basic_auth_refusals_name_no_secret(
    basic_registry: RegistryServer, creds: tuple[str, str] | None
) -> None:
    with pytest.raises(RegistryAuthError) as caught:
        client(basic_registry, credentials=creds).list_tags(REPO)
    assert WRONG_REGISTRY_PASSWORD not in str(caught.value)
    assert "REGISTRY_127_0_0_1_" in caught.value.hint


def test_half_set_credentials_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="REGISTRY_GHCR_IO_PASSWORD"):
        RegistryClient.for_host("ghcr.io", env={"REGISTRY_GHCR_IO_USERNAME": "me"})


def test_bearer_tokens_are_fetched_once_per_scope(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    token = token_server.mint(f"repository:{REPO}:pull,push", authenticated=True)
    image = push_image(token_registry.host, REPO, ["v1"], auth=BearerToken(token))
    token_server.requests.clear()
    reg = client(token_registry, credentials=(USER, PASSWORD))
    assert reg.retag(REPO, "v1", ["v2", "v3"]) == image.manifest.digest
    assert reg.list_tags(REPO) == ["v1", "v2", "v3"]
    assert reg.digest(REPO, "v2") == image.manifest.digest
    assert token_server.requests == [(f"repository:{REPO}:pull,push", True)]
    with pytest.raises(RepositoryNotFound):
        reg.list_tags("acme/nothing-here")  # another scope, so another token
    assert token_server.requests[1:] == [("repository:acme/nothing-here:pull,push", True)]


def test_anonymous_bearer_can_read_but_not_push(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    token = token_server.mint(f"repository:{REPO}:pull,push", authenticated=True)
    push_image(token_registry.host, REPO, ["v1"], auth=BearerToken(token))
    reg = client(token_registry)
    assert reg.list_tags(REPO) == ["v1"]
    with pytest.raises(RegistryAuthError):
        reg.retag(REPO, "v1", ["v2"])
    assert reg.list_tags(REPO) == ["v1"]
    with pytest.raises(RegistryAuthError, match="refused the configured credentials"):
        client(token_registry, credentials=(USER, WRONG_REGISTRY_PASSWORD)).list_tags(REPO)


def test_expired_tokens_are_fetched_again(token_server: TokenServer, token_registry: RegistryServer) -> None:
    token_server.expires_in = 6  # cached for 1 s: the client renews 5 s early
    reg = client(token_registry, credentials=(USER, PASSWORD))
    token = token_server.mint(f"repository:{REPO}:pull,push", authenticated=True)
    push_image(token_registry.host, REPO, ["v1"], auth=BearerToken(token))
    token_server.requests.clear()
    reg.list_tags(REPO)
    reg.list_tags(REPO)
    assert len(token_server.requests) == 1
    time.sleep(1.2)
    reg.list_tags(REPO)
    assert len(token_server.requests) == 2
