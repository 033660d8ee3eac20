"""Registry hosts as Flux resolves them, one setting per real host, and a per-host endpoint override, through the
composition root's RegistryRouter against real backends (Debian's docker-registry, an on-disk OCI layout)."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.oci_layout import OciLayoutRegistry
from bot.settings import RegistrySettings
from bot.wiring import RegistryRouter
from tests.images import push_image
from tests.servers.registry import RegistryServer


def test_docker_hub_names_use_the_docker_io_setting(tmp_path: Path) -> None:
    # old code: the `docker.io` setting was never used and the bot asked registry-1.docker.io
    layout = OciLayoutRegistry(tmp_path / "hub")
    layout.add_image("acme/app", ["v1"])
    layout.add_image("library/tool", ["v2"])
    router = RegistryRouter({"index.docker.io": RegistrySettings(layout=tmp_path / "hub")}, env={})
    for image, repo, tags in (
        ("acme/app", "acme/app", ["v1"]),
        ("docker.io/acme/app", "acme/app", ["v1"]),
        ("index.docker.io/acme/app", "acme/app", ["v1"]),
        ("tool", "library/tool", ["v2"]),
        ("docker.io/library/tool", "library/tool", ["v2"]),
    ):
        backend, path = router.for_image(image)
        assert path == repo and backend.list_tags(path) == tags, image
    assert router.for_image("acme/app")[0] is router.for_image("docker.io/acme/app")[0]  # one backend per host


def test_an_endpoint_sends_a_host_to_another_server(registry: RegistryServer) -> None:
    # old code: a hard-coded host such as ghcr.io could not be sent to a mirror or a local registry
    push_image(registry.host, "acme/backend", ["staging-v0.0.1-a1b2c3d-100"])
    router = RegistryRouter({"ghcr.io": RegistrySettings(endpoint=registry.host, insecure=True)}, env={})
    backend, repo = router.for_image("ghcr.io/acme/backend")
    assert repo == "acme/backend"
    assert backend.list_tags(repo) == ["staging-v0.0.1-a1b2c3d-100"]
    assert backend.digest(repo, "staging-v0.0.1-a1b2c3d-100") is not None
