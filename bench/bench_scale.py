"""Cost curves: promotion and /versions as the fleet grows (10 → 100 → 1000 services) and as history grows
(100 → 5k → 50k commits), all against a local bare Git remote and one on-disk OCI-layout registry.

Every world is built with `git fast-import` (a seed commit from `seed_files`, then commits that touch only an
unrelated file, as in a monorepo where most commits are not promotions). Before each timed promotion a
separate clone pushes a Flux-style commit that moves svc-0000's staging tag to a fresh build, so the timed
promotion fetches one new commit, finds its tag current in staging (the common case of the
deployed-in-source gate) and promotes it to production. Worlds are measured turn about so a busy neighbour
on the shared 2 cores slows every size alike.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.table import Row
from bot import wiring
from bot.adapters.git_repo import GitRepo, Snapshot
from bot.adapters.oci_layout import OciLayoutRegistry
from bot.core.commit_message import CommitMessage
from bot.core.plan import Edit
from bot.promotion.ports import Context
from bot.promotion.promote import PromoteRequest, promote
from bot.promotion.versions import versions
from bot.seed_layout import IMAGE_REGISTRY_VAR, marker_file, seed_files
from bot.settings import Author, EnvironmentSettings, RegistrySettings, RepoSettings, Settings

HOST = "registry.bench.local"
IMAGE_REGISTRY = f"{HOST}/acme"
PIPELINE = ("develop", "staging", "production")
MEASURED = "svc-0000"
T0 = 1738000000
SERVICE_SIZES = (10, 100, 1000)
HISTORY_SIZES = (100, 5_000, 50_000)
SMALL_HISTORY = HISTORY_SIZES[0]
SMALL_FLEET = SERVICE_SIZES[0]
ROUNDS = 5  # promotions (and /versions calls) per world; the median is reported
# /versions at 1000 services took ~40 s per call when this was written (it grows faster than linearly), so
# that world gets BIG_ROUNDS rounds, all counted (imports and caches are warm from the smaller worlds by then),
# to keep `python -m bench scale` under 4 minutes on 2 cores.
BIG_ROUNDS = 2
ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}


def _service(i: int) -> str:
    return f"svc-{i:04d}"


def _tag(env: str, build: int) -> str:
    return f"{env}-v0.0.{build}-{build:07x}-{T0 + build * 10 + PIPELINE.index(env)}"


def build_registry(root: Path, services: int, builds: int) -> None:
    """Every service has one image tagged in all three envs; the measured one also has `builds` staging builds."""
    registry = OciLayoutRegistry(root)
    for i in range(services):
        svc = _service(i)
        registry.add_image(f"acme/{svc}", [*(_tag(e, 0) for e in PIPELINE), *PIPELINE], seed=f"{svc}-0")
    for build in range(1, builds + 1):
        registry.add_image(f"acme/{MEASURED}", [_tag("develop", build), _tag("staging", build)], seed=f"b{build}")


def _blob(path: str, text: str) -> bytes:
    data = text.encode()
    return b"M 100644 inline " + path.encode() + b"\ndata " + str(len(data)).encode() + b"\n" + data + b"\n"


def build_remote(path: Path, services: int, commits: int) -> None:
    """A bare repo: one seed commit with `services` services, then `commits - 1` commits to an unrelated file."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], env=ENV, check=True, capture_output=True)
    current = {(_service(i), e): _tag(e, 0) for i in range(services) for e in PIPELINE}
    files = seed_files(f"${{{IMAGE_REGISTRY_VAR}}}", current, PIPELINE)
    chunks: list[bytes] = []
    for n in range(1, commits + 1):
        msg = (b"Add the fleet" if n == 1 else f"docs: note {n}".encode()) + b"\n"
        body = b"".join(_blob(p, t) for p, t in files.items()) if n == 1 else _blob("docs/notes.txt", f"{n}\n")
        chunks.append(
            f"commit refs/heads/main\nmark :{n}\ncommitter bench <bench@example.com> {T0 + n} +0000\n"
            f"data {len(msg)}\n".encode()
            + msg
            + (f"from :{n - 1}\n".encode() if n > 1 else b"")
            + body
            + b"\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, env=ENV, input=b"".join(chunks), check=True, capture_output=True
    )


@dataclass
class World:
    name: str
    ctx: Context
    flux: GitRepo
    promote_times: list[float]
    versions_times: list[float]


def _flux_bump(build: int) -> Callable[[Snapshot], Edit | None]:
    path = marker_file(MEASURED, "staging")
    message = CommitMessage("Update from image update automation")

    def plan(snapshot: Snapshot) -> Edit | None:
        text = snapshot.read(path)
        assert text is not None, path
        return Edit({path: re.sub(r"staging-v[0-9.]+-[0-9a-f]+-[0-9]+", _tag("staging", build), text)}, message)

    return plan


def make_world(root: Path, registry: Path, services: int, commits: int) -> World:
    name = f"{services}svc-{commits}c"
    remote = root / f"{name}.git"
    build_remote(remote, services, commits)
    settings = Settings(
        repo=RepoSettings(url=str(remote), author=Author()),
        state_dir=root / f"state-{name}",
        substitutions={IMAGE_REGISTRY_VAR: IMAGE_REGISTRY},
        registries={HOST: RegistrySettings(layout=registry)},
        pipeline=PIPELINE,
        environments={"production": EnvironmentSettings(approvals=0)},
    )
    ctx = wiring.context(settings, cache_ttl=0)
    ctx.repo.sync()  # the clone is a one-off at start-up, not part of any request
    flux = GitRepo(str(remote), "main", root / f"flux-{name}", author_name="fluxcdbot", author_email="flux@example.com")
    flux.sync()
    return World(name, ctx, flux, [], [])


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _round(world: World, build: int) -> None:
    world.flux.commit_and_push(_flux_bump(build))
    request = PromoteRequest(tag=_tag("staging", build), target_env="production", who="Bench <slack:U0BENCH>",
                             service=MEASURED)  # fmt: skip
    result: list[object] = []
    world.promote_times.append(_timed(lambda: result.append(promote(world.ctx, request))))
    assert result and getattr(result[0], "commit", None), f"{world.name}: promotion of build {build} made no commit"
    report: list[object] = []
    world.versions_times.append(_timed(lambda: report.append(versions(world.ctx))))


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        t_build = time.perf_counter()
        build_registry(root / "registry", max(SERVICE_SIZES), ROUNDS + 1)
        sizes = [(s, SMALL_HISTORY) for s in SERVICE_SIZES] + [(SMALL_FLEET, c) for c in HISTORY_SIZES[1:]]
        worlds = {size: make_world(root, root / "registry", *size) for size in sizes}
        print(f"scale: built registry and {len(worlds)} worlds in {time.perf_counter() - t_build:.1f}s",
              file=sys.stderr, flush=True)  # fmt: skip
        # Build 1 warms imports, page cache and each clone; it is not counted.
        for build in range(1, ROUNDS + 2):
            for (services, _), world in worlds.items():
                big = services == max(SERVICE_SIZES)
                if big and build > BIG_ROUNDS:
                    continue
                _round(world, build)
                if build == 1 and not big:
                    world.promote_times.clear()
                    world.versions_times.clear()
    med = {s: (statistics.median(w.promote_times), statistics.median(w.versions_times)) for s, w in worlds.items()}
    for (services, commits), (p, v) in med.items():
        print(
            f"curve: {services:>5} services {commits:>6} commits  "
            f"promote {p * 1000:8.1f} ms  versions {v * 1000:8.1f} ms"
        )

    base = (SMALL_FLEET, SMALL_HISTORY)
    ref_name = f"same at {SMALL_FLEET} svc, {SMALL_HISTORY} commits"
    rows: list[Row] = []
    for n in SERVICE_SIZES[1:]:
        size = (n, SMALL_HISTORY)
        # Goal: at most linear in fleet size. Every request re-reads and re-discovers the whole repository
        # (a Git snapshot is the source of truth; there is no index to keep in sync), so linear is the bound.
        linear = n / SMALL_FLEET
        rows.append(Row(f"scale: promotion (1 service), {n} services", med[size][0], med[base][0], ref_name, linear))
        rows.append(Row(f"scale: /versions, {n} services", med[size][1], med[base][1], ref_name, linear))
    deep = (SMALL_FLEET, HISTORY_SIZES[-1])
    # Goal: history size barely matters (≤ 1.3×): promotion reads no history when the tag is current in the
    # source env, and /versions reads at most HISTORY_DEPTH commits that touch marker files.
    rows.append(Row(f"scale: promotion, {deep[1]} commits", med[deep][0], med[base][0], ref_name, 1.3))
    rows.append(Row(f"scale: /versions, {deep[1]} commits", med[deep][1], med[base][1], ref_name, 1.3))
    return rows


if __name__ == "__main__":
    from bench.table import format_table

    print(format_table(run()))
