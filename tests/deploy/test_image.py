"""The image, really built from the Dockerfile and run: the demo as the image's own user, and its config.

What this proves: the Dockerfile builds (both stages, the bind-mounted wheels, the pinned apt packages),
the entrypoint resolves to a working `gitops-bot`, the whole demo story (git clone/commit/push, the OCI
layout registry) runs as the configured non-root user, and the recorded HEALTHCHECK command answers
right inside the image. What it cannot: the base is a Debian stand-in (Debian's Python 3.11.2 at
/usr/bin, not python.org's 3.11.x at /usr/local/bin), and `buildah run` exercises neither a read-only
root, nor a network namespace, nor Docker's HEALTHCHECK scheduling; those are read from the image
config instead. `buildah run` also mounts fresh directories of its own over the VOLUMEs (its /tmp is
0777, not 1777), so what Docker would seed an anonymous volume with is checked in the layer itself.
"""

from __future__ import annotations

import json
import re
import stat
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import buildah as bh
from tests.deploy.dockerfile import load

# Slow, and the first (cold) run makes the base with debootstrap: the fixture's time counts against the
# test that first uses it, so the suite's 300 s default is too tight for a loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def image() -> Iterator[dict[str, Any]]:
    bh.ensure_base()
    # A unique tag: parallel runs in other worktrees share buildah's storage.
    tag = f"localhost/gitops-promotion-bot-test:{uuid.uuid4().hex[:12]}"
    try:
        bh.build(tag)
        found = bh.inspect_image(tag)
        assert found, f"{tag} was built but cannot be inspected"
        yield found
    finally:
        bh.buildah("rmi", tag, check=False)


@pytest.fixture(scope="module")
def container(image: dict[str, Any]) -> Iterator[str]:
    name = bh.buildah("from", "--pull=never", image["FromImageID"]).stdout.strip()
    try:
        yield name
    finally:
        bh.buildah("rm", name, check=False)


def config(image: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = image["OCIv1"]["config"]
    return value


def run(container: str, user: str, *command: str, env: tuple[str, ...] = ()) -> tuple[int, str, str]:
    extra = [arg for pair in env for arg in ("--env", pair)]
    proc = bh.buildah("run", "--isolation", "chroot", "--user", user, *extra, container, "--", *command,
                      timeout=300, check=False)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def test_demo_runs_as_the_configured_non_root_user(image: dict[str, Any], container: str) -> None:
    user = config(image)["User"]
    assert re.fullmatch(r"\d+:\d+", user), f"User {user!r}: Kubernetes' runAsNonRoot needs numeric ids"
    uid, gid = (int(x) for x in user.split(":"))
    assert uid != 0 and gid != 0
    code, out, err = run(container, user, "python", "-c", "import os; print(os.getuid(), os.getgid())")
    assert (code, out.split()) == (0, [str(uid), str(gid)]), err
    # The entrypoint itself, not a spelled-out path: what `docker run IMAGE demo` would start.
    code, out, err = run(container, user, *config(image)["Entrypoint"], "demo")
    assert code == 0, f"demo exited {code}:\n{out[-3000:]}\n{err[-3000:]}"
    assert re.search(r"✅ committed [0-9a-f]{12}; Flux will deploy production-v0\.0\.2-", out), out
    assert "is held (its markers name HELD:production:backend) so Flux cannot bump it back" in out
    assert "refused: Resuming backend in production would deploy" in out
    assert "Promoted-by: Alice <slack:U0ALICE1>" in out and "Rolled-back-by: Bob <slack:U0BOB001>" in out


def test_config_matches_the_dockerfile(image: dict[str, Any]) -> None:
    final = load()[-1]
    cfg = config(image)
    assert cfg["Entrypoint"] == final.last("ENTRYPOINT").exec_form()
    assert cfg["Cmd"] == final.last("CMD").exec_form()
    assert set(cfg["ExposedPorts"]) == {f"{final.last('EXPOSE').args}/tcp"}
    assert cfg["WorkingDir"] == final.last("WORKDIR").args
    assert set(cfg["Volumes"]) == set(json.loads(final.last("VOLUME").args))
    env = dict(item.split("=", 1) for item in cfg["Env"])
    assert final.env().items() <= env.items()
    # Docker format records the HEALTHCHECK (OCI has no field for it); durations are in nanoseconds.
    health = image["Docker"]["config"]["Healthcheck"]
    assert health["Test"] == ["CMD", *final.last("HEALTHCHECK").exec_form()]
    options = dict(re.findall(r"--([a-z-]+)=(\d+)s?\b", final.last("HEALTHCHECK").args.split("CMD", 1)[0]))
    assert health["Interval"] == int(options["interval"]) * 10**9
    assert health["Timeout"] == int(options["timeout"]) * 10**9
    assert health["StartPeriod"] == int(options["start-period"]) * 10**9
    assert health["Retries"] == int(options["retries"])


def test_final_image_holds_no_build_inputs(image: dict[str, Any], container: str) -> None:
    # The wheels were bind-mounted, the sources stayed in the builder; git is the pinned upstream release.
    probe = "import os, sys, importlib.metadata as m; print(os.path.exists('/wheels'), os.path.exists('/src'), " \
            "m.version('gitops-promotion-bot'), sys.version_info[:2] == (3, 11))"  # fmt: skip
    code, out, err = run(container, config(image)["User"], "python", "-c", probe)
    assert (code, out.split()) == (0, ["False", "False", "0.1.0", "True"]), err
    (git_pin,) = re.findall(r"git=1:([\d.]+)-", " ".join(i.args for i in load()[-1].all("RUN")))
    code, out, err = run(container, config(image)["User"], "git", "--version")
    assert code == 0 and out.split()[-1] == git_pin, (out, err)


def test_volume_directories_in_the_layer(image: dict[str, Any], container: str) -> None:
    # Docker and containerd copy these into a new volume; a /tmp without the sticky bit would let any
    # user delete another's files there.
    uid, gid = (int(x) for x in config(image)["User"].split(":"))
    home = dict(item.split("=", 1) for item in config(image)["Env"])["HOME"]  # the state directory
    assert home in config(image)["Volumes"]
    root = Path(bh.buildah("mount", container).stdout.strip())
    try:
        tmp = (root / "tmp").stat()
        state = (root / home.lstrip("/")).stat()
    finally:
        bh.buildah("umount", container)
    assert (stat.S_IMODE(tmp.st_mode), tmp.st_uid) == (0o1777, 0)
    assert (stat.S_IMODE(state.st_mode), state.st_uid, state.st_gid) == (0o750, uid, gid)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False), (None, False)])
def test_recorded_healthcheck_runs_inside(image: dict[str, Any], container: str, status: int | None,
                                          healthy: bool) -> None:  # fmt: skip
    # `buildah run` with chroot isolation shares the host's network, so a host server stands in for the
    # bot's /healthz; None is a port nothing listens on (connection refused).
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Health,), {"status": status}))
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    if status is None:
        server.server_close()
    else:
        thread.start()
    try:
        test = image["Docker"]["config"]["Healthcheck"]["Test"]
        assert test[0] == "CMD"
        code, _, err = run(container, config(image)["User"], *test[1:], env=(f"GITOPS_BOT_HEALTH_URL={url}",))
        assert (code == 0) is healthy, (code, err)
    finally:
        if status is not None:
            server.shutdown()
            server.server_close()
