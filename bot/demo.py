"""`gitops-bot demo`: the whole story on embedded defaults, no Slack and no cluster.

In a temp dir (or --dir) it builds a GitOps repository in the seed layout behind a bare Git remote,
and an on-disk OCI registry with a few develop/staging/production builds; then it runs
versions → promote staging to production → versions → rollback → versions → resume attempt, and
prints what a Slack user would see plus the resulting `git log` with trailers.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import text_output, wiring
from bot.errors import BotError
from bot.promotion.ports import Context
from bot.promotion.promote import PromoteRequest, describe, promote
from bot.promotion.resume import ResumeRequest, resume
from bot.promotion.rollback import RollbackRequest, rollback
from bot.promotion.versions import versions
from bot.seed_layout import IMAGE_REGISTRY_VAR, marker_file, seed_files
from bot.settings import Author, EnvironmentSettings, RegistrySettings, RepoSettings, Settings

REGISTRY_HOST = "registry.demo.local"
PIPELINE = ("develop", "staging", "production")
SHAS = {
    ("backend", "0.0.1"): "a1b2c3d",
    ("backend", "0.0.2"): "b2c3d4e",
    ("backend", "0.0.3"): "c3d4e5f",
    ("frontend", "0.0.1"): "0f1e2d3",
    ("frontend", "0.0.2"): "1e2d3c4",
    ("frontend", "0.0.3"): "2d3c4b5",
}
ALICE = "Alice <slack:U0ALICE1>"
BOB = "Bob <slack:U0BOB001>"


def _tag(svc: str, env: str, version: str, ts: int) -> str:
    return f"{env}-v{version}-{SHAS[(svc, version)]}-{ts}"


def _git(
    cwd: Path, *args: str, author: tuple[str, str] = ("platform-team", "platform@acme.example"), at: int = 0
) -> None:
    env = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    if at:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{at} +0000"
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@dataclass(frozen=True)
class World:
    settings: Settings
    tags: dict[tuple[str, str, str], str]  # (service, env, version) → tag


def build_world(root: Path, now: int | None = None) -> World:
    """Create the registry, the remote and its history. Deterministic for a given `now`."""
    now = now or int(time.time())
    t0 = now - 3 * 86400
    registry = wiring.layout_registry(root / "registry")
    tags: dict[tuple[str, str, str], str] = {}
    for svc in ("backend", "frontend"):
        repo = f"acme/{svc}"
        for i, version in enumerate(("0.0.1", "0.0.2", "0.0.3")):
            built = t0 + i * 86400
            dev = _tag(svc, "develop", version, built)
            registry.add_image(repo, [dev, "develop"], seed=f"{svc}-{version}")
            tags[(svc, "develop", version)] = dev
            if version != "0.0.3":  # the newest build is still only in develop
                staging = _tag(svc, "staging", version, built + 3600)
                registry.retag(repo, dev, [staging, "staging"])
                tags[(svc, "staging", version)] = staging
        prod = _tag(svc, "production", "0.0.1", t0 + 7200)
        registry.retag(repo, tags[(svc, "staging", "0.0.1")], [prod, "production"])
        tags[(svc, "production", "0.0.1")] = prod

    image_registry = f"{REGISTRY_HOST}/acme"
    remote = root / "fleet.git"
    seed = root / "seed"
    seed.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True, capture_output=True)
    _git(seed, "init", "-q", "-b", "main")
    current = {(s, e): tags[(s, e, "0.0.1")] for s in ("backend", "frontend") for e in PIPELINE}
    _write(seed, seed_files(image_registry, current, PIPELINE))
    _git(seed, "add", "-A")
    _git(seed, "commit", "-q", "-m", "Add backend and frontend to the fleet", at=t0 + 7200)
    flux = ("fluxcdbot", "fluxcdbot@users.noreply.github.com")
    for env, version, at in (
        ("develop", "0.0.2", t0 + 86400),
        ("staging", "0.0.2", t0 + 90000),
        ("develop", "0.0.3", t0 + 2 * 86400),
    ):
        for svc in ("backend", "frontend"):
            current[(svc, env)] = tags[(svc, env, version)]
        files = seed_files(image_registry, current, PIPELINE)
        _write(seed, {marker_file(s, env): files[marker_file(s, env)] for s in ("backend", "frontend")})
        _git(seed, "commit", "-q", "-am", "Update from image update automation", author=flux, at=at)
    _git(seed, "remote", "add", "origin", str(remote))
    _git(seed, "push", "-q", "origin", "main")

    settings = Settings(
        repo=RepoSettings(url=str(remote), author=Author()),
        state_dir=root / "state",
        substitutions={IMAGE_REGISTRY_VAR: image_registry},
        registries={REGISTRY_HOST: RegistrySettings(layout=root / "registry")},
        pipeline=PIPELINE,
        environments={"production": EnvironmentSettings(approvals=0)},
    )
    return World(settings, tags)


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _log(ctx: Context, count: int) -> list[str]:
    lines = []
    for c in ctx.repo.history(["."], max_count=count):
        lines.append(f"commit {c.sha[:12]}  {c.author_name}  {c.subject}")
        lines += [f"    {k}: {v}" for k, v in c.trailers.items]
    return lines


def run(root: Path | None = None, out: Callable[[str], None] = print, color: bool = False) -> int:
    """Run the story. Returns 0 when every step behaved as documented."""
    root = root or Path(tempfile.mkdtemp(prefix="gitops-bot-demo-"))
    world = build_world(root)
    ctx = wiring.context(world.settings, cache_ttl=0)
    style = text_output.Style(color)

    def step(title: str) -> None:
        out("")
        out(style(f"── {title} " + "─" * max(0, 70 - len(title)), "bold"))

    out(f"demo world in {root}: remote {world.settings.repo.url}, registry {root / 'registry'}")
    step("/versions")
    out(text_output.versions(versions(ctx), style))

    staging_build = world.tags[("backend", "staging", "0.0.2")]
    step(f"/promote {staging_build} to production   (as {ALICE})")
    result = promote(ctx, PromoteRequest(tag=staging_build, target_env="production", who=ALICE, reason="release 0.0.2"))
    out("\n".join(describe(result.plan)))
    out(
        style(
            f"✅ committed {result.commit and result.commit[:12]}; Flux will deploy {result.plan.target_tag}",
            "green",
        )
    )

    step("/versions")
    out(text_output.versions(versions(ctx), style))

    step(f"/rollback production backend   (as {BOB})")
    rb = rollback(ctx, RollbackRequest(env="production", who=BOB, service="backend"))
    out(f"backend in production: {rb.plan.from_tag or '?'} → {rb.plan.to_tag}")
    out(
        style(
            f"⏸ {rb.plan.hold} is held (its markers name HELD:{rb.plan.hold}) so Flux cannot bump it back; "
            "resume with `/resume production backend`",
            "yellow",
        )
    )

    step("/versions")
    out(text_output.versions(versions(ctx), style))

    step("/resume production backend")
    try:
        resume(ctx, ResumeRequest(env="production", who=BOB, service="backend"))
        out(style("unexpected: resume went through", "red"))
        return 1
    except BotError as err:
        out(style(f"refused: {err}", "yellow"))

    step("git log (newest first) with trailers")
    out("\n".join(_log(ctx, 4)))
    return 0
