"""Registry adapter vs skopeo, against a docker-registry this benchmark starts and stops itself.

- retag: our `retag` of one tag to one new tag (GET, PUT, HEAD read-back) vs `skopeo copy` of the same tag.
  Ours runs in-process, as the bot does; skopeo's time includes its process start, which is what the bot would
  pay if it shelled out to it. A cold-client row (new session, new connection) is shown too.
- list: `list_tags` of 10k tags vs `skopeo list-tags`. The 10k tags are one manifest PUT under 10k names from
  a thread pool (about half a minute on 2 cores).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Row, best_of
from bot.adapters.registry import RegistryClient
from tests.images import push_image, put_tags
from tests.servers.registry import RegistryServer, start_registry

REPO = "bench/app"
LIST_REPO = "bench/many"
MANY = 10_000


def _skopeo(*args: str) -> None:
    subprocess.run(["skopeo", *args], check=True, capture_output=True, timeout=120)


def _retag_rows(server: RegistryServer) -> list[Row]:
    push_image(server.host, REPO, ["src"])
    counter = itertools.count()
    with RegistryClient(server.host, insecure=True) as reg:
        reg.retag(REPO, "src", ["warmup"])
        ours = best_of(lambda: reg.retag(REPO, "src", [f"ours-{next(counter)}"]), repeat=15)

    def cold() -> None:
        with RegistryClient(server.host, insecure=True) as fresh:
            fresh.retag(REPO, "src", [f"cold-{next(counter)}"])

    ours_cold = best_of(cold, repeat=15)
    src = f"docker://{server.host}/{REPO}:src"
    flags = ("--src-tls-verify=false", "--dest-tls-verify=false", "--quiet")
    ref = best_of(
        lambda: _skopeo("copy", *flags, src, f"docker://{server.host}/{REPO}:skopeo-{next(counter)}"),
        repeat=7,
    )
    return [
        Row("registry: retag 1 tag → 1 new tag (warm client)", ours, ref, "skopeo copy", 0.5),
        Row("registry: retag 1 tag → 1 new tag (new client)", ours_cold, ref, "skopeo copy", 0.5),
    ]


def _list_rows(server: RegistryServer) -> list[Row]:
    image = push_image(server.host, LIST_REPO, ["seed"])
    started = time.perf_counter()
    put_tags(server.host, LIST_REPO, image.manifest, [f"t{i:05d}" for i in range(MANY - 1)], workers=8)
    print(f"  created {MANY} tags in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    with RegistryClient(server.host, insecure=True) as reg:
        assert len(reg.list_tags(LIST_REPO)) == MANY
        ours = best_of(lambda: reg.list_tags(LIST_REPO), repeat=5)
    ref = best_of(lambda: _skopeo("list-tags", "--tls-verify=false", f"docker://{server.host}/{LIST_REPO}"), repeat=5)
    return [Row(f"registry: list {MANY} tags", ours, ref, "skopeo list-tags", 1.0)]


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        server = start_registry(Path(tmp))
        try:
            return _retag_rows(server) + _list_rows(server)
        finally:
            server.stop()
