"""Flux's automation commits in real Git, as `/versions`, `/history` and the Git-read image notices see them.

Each case is one of LAYOUTS §10's real template styles with one of its author forms: the automation in Git
declares them, Flux's commit (author = that author; for Fleet D a person is the committer, §5) moves the
staging tag, and all three readers must call it an automation bump.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import settings as settings_mod
from bot import wiring
from bot.adapters.oci_layout import OciLayoutRegistry
from bot.promotion.history_view import history
from bot.promotion.image_notices import new_automation_bumps
from bot.promotion.ports import Context
from bot.promotion.versions import versions
from tests.fleets.layouts import P1, S1, S2
from tests.fleets.objects import (
    FLEET_A,
    FLEET_B,
    FLEET_C,
    FLEET_D,
    automation,
    bot_filter,
    docs,
    kustomization,
    policy,
    repository,
)  # fmt: skip
from tests.servers.git_daemon import BareRemote, make_bare_remote

FLUXCDBOT = ("fluxcdbot", "fluxcdbot@users.noreply.github.com")
CASES = {
    "fleet-a": (FLEET_A, FLUXCDBOT, "[ci skip] An automated update from FluxBot\n"),
    "fleet-b-seed": (FLEET_B, FLUXCDBOT, f"{S1} -> {S2}\n"),
    "fleet-c": (FLEET_C, FLUXCDBOT, f"ghcr.io/acme/app:{S2}\n"),
    "fleet-e": (FLEET_C, ("flux", "bot@fluxcd.io"), f"ghcr.io/acme/app:{S2}\n"),
    "fleet-d": (FLEET_D, ("flux-bot", "bot@example.dev"), f"ci(flux): :rocket: app \n- app: {S1} -> {S2}\n"),
    "default": ("", FLUXCDBOT, "Update from image update automation"),
}


def _setup(
    tmp_path: Path, template: str, author: tuple[str, str], *, checkout: str = "main", push: str = "main"
) -> tuple[BareRemote, Context]:
    files = {"infra/repository.yaml": repository("app", "flux-system", "ghcr.io/acme/app", access_from=True)}
    for env, now in (("staging", S1), ("production", P1)):
        files[f"infra/{env}.yaml"] = docs(
            policy("app", env, bot_filter(env), repo_namespace="flux-system"),
            automation("app", env, f"./{env}", author=author, template=template, checkout=checkout, push=push),
        )
        files[f"{env}/kustomization.yaml"] = kustomization(f"{env}:app", now)
    remote = make_bare_remote(tmp_path / "remotes", files)
    registry = OciLayoutRegistry(tmp_path / "registry")
    for t in (S1, S2, P1):
        registry.add_image("acme/app", [t], seed=t)
    config = tmp_path / "bot.yaml"
    config.write_text(yaml.safe_dump({
        "repo": {"url": remote.url}, "state_dir": str(tmp_path / "state"), "pipeline": ["staging", "production"],
        "registries": {"ghcr.io": {"layout": str(tmp_path / "registry")}},
    }))  # fmt: skip
    return remote, wiring.context(settings_mod.load(config), cache_ttl=0)


@pytest.mark.parametrize("case", list(CASES))
def test_every_template_style_and_author_form_is_an_automation_bump(tmp_path: Path, case: str) -> None:
    template, (name, email), message = CASES[case]
    remote, ctx = _setup(tmp_path, template, (name, email))
    seen, _ = new_automation_bumps(ctx, None)  # the first look only remembers HEAD
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email}  # Flux's author; the committer is someone else
    path = "staging/kustomization.yaml"
    sha = remote.push({path: remote.show(path).replace(S1, S2)}, message, env=env)

    report = versions(ctx)
    last = report.services[0].environments["staging"].last_change
    assert last is not None and (last.kind, last.commit, last.by) == ("automation", sha, f"{name} <{email}>")
    # The layout commit and Flux's may share a second, so find Flux's rather than trusting the order.
    entry = next(e for e in history(ctx, "staging") if e.commit == sha)
    assert (entry.kind, entry.new_tag) == ("automation", S2)
    _, notices = new_automation_bumps(ctx, seen)
    assert [(n.service, n.env, n.old_tag, n.new_tag, n.commit) for n in notices] == [("app", "staging", S1, S2, sha)]


def test_the_default_wording_by_someone_else_is_not_flux(tmp_path: Path) -> None:
    """The automation names its author, so a person's commit that copies Flux's wording is theirs."""
    remote, ctx = _setup(tmp_path, "", FLUXCDBOT)
    seen, _ = new_automation_bumps(ctx, None)
    path = "staging/kustomization.yaml"
    sha = remote.push({path: remote.show(path).replace(S1, S2)}, "Update from image update automation")
    assert next(e for e in history(ctx, "staging") if e.commit == sha).kind == "other"
    assert new_automation_bumps(ctx, seen)[1] == []


def test_where_flux_writes_is_named(tmp_path: Path) -> None:
    """LAYOUTS §5 (Fleet D: checkout main, push a side branch a PR bot merges) and §6 (Fleet A: the automation
    checks out `release` while the bot reads `main`): `/versions` and `check` say where Flux writes."""
    _, ctx = _setup(tmp_path / "d", "", FLUXCDBOT, push="flux-image-automation/main")
    problems = versions(ctx).problems
    assert any("ImageUpdateAutomation staging/app checks out main and pushes to flux-image-automation/main" in p
               and "reach main only when merged" in p for p in problems), problems  # fmt: skip
    _, ctx = _setup(tmp_path / "a", "", FLUXCDBOT, checkout="release", push="")
    problems = versions(ctx).problems
    assert any("checks out release, but the bot reads main" in p and "set repo.branch to release" in p
               for p in problems), problems  # fmt: skip
    assert not any("pushes to" in p for p in problems)  # no push.branch: Flux pushes to the checkout branch
