"""The tag a promotion writes into the target environment's markers, by `environments.<env>.tag` (issue 16).

- `seed` (the default): `<target>-v<semver>-<sha>-<ts>`, its timestamp newer than every such tag there, a copy of
  the same digest; the env alias moves with it.
- `pin`: the source tag itself (`v1.0.1`), no registry copy. Under an automation the markers are held in the same
  commit: the target's policy (say semver `>=1.0.0`) would otherwise rewrite them to its own pick on its next
  run. The next promote or `resume` lifts the hold.
- a template such as `v{version}` or `{source_tag}`: a new tag on the same digest, accepted only when the target's
  ImagePolicy would select it (bot/core/policy.py `select`, as Flux orders the repository), else refused with
  the reason. No alias: an env-named tag is a stray candidate for alphabetical or unfiltered policies.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.policy import database_order, select
from bot.core.tags import Build, BuildTag, is_oci_tag
from bot.errors import GateRefused, PolicyError

if TYPE_CHECKING:
    from bot.core.discovery import Target

SEED, PIN = "seed", "pin"
FIELDS = ("source_tag", "version", "sha", "env", "ts")


@dataclass(frozen=True)
class Minted:
    tag: str
    copy: bool  # the registry gets `tag` (and the alias) as a copy of the source digest
    hold: bool  # the target's markers are held in the same commit
    alias: str = ""  # the moving env alias re-pointed with the copy ("" for none)


def template_problem(template: str) -> str:
    """Why `template` is not a usable tag template ("" when it is): a config-load check."""
    if template in (SEED, PIN):
        return ""
    try:
        names = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None or spec or conv]
    except ValueError as err:
        return f"it does not parse as a template ({err})"
    unknown = [n for n in names if n not in FIELDS]
    if unknown or not names:
        return f"expected seed, pin or a template using {', '.join('{' + f + '}' for f in FIELDS)}"
    return ""


def newest_seed_ts(env: str, tags: Iterable[str]) -> int:
    return max((BuildTag.parse(t).ts for t in tags if BuildTag.is_valid(t) and t.startswith(f"{env}-")), default=-1)


def mint(
    build: Build, target: Target, mode: str, *, now: int, target_tags: Iterable[str], current: str | None
) -> Minted:
    """The target tag for promoting `build` to `target` under `mode`; raises GateRefused when it would not deploy."""
    tags = [*target_tags, *(c for c in [current] if c)]
    if mode == PIN:
        return Minted(build.tag, copy=False, hold=target.automation is not None)
    if mode == SEED:
        if build.seed is None:
            raise GateRefused(
                f"{build.tag} is not in the seed convention (<env>-v<semver>-<sha>-<ts>), so no {target.env} tag "
                "can be minted from it.",
                hint=f"Set environments.{target.env}.tag to `pin` (deploy {build.tag} as it is) or to a template "
                "such as `v{version}` or `{source_tag}`.",
            )
        ts = max(now, newest_seed_ts(target.env, tags) + 1)
        return Minted(str(build.seed.retarget(target.env, ts)), copy=True, hold=False, alias=target.env)
    values = {"source_tag": build.tag, "version": build.version, "sha": build.sha, "env": target.env, "ts": str(now)}
    empty = [f for f, v in values.items() if not v and "{" + f + "}" in mode]
    if empty:
        raise GateRefused(
            f"The {target.env} tag template {mode!r} needs {{{empty[0]}}}, which {build.tag} does not carry.",
            hint="Use a template whose fields this build has, e.g. `{source_tag}`, or `pin`.",
        )
    new = mode.format(**values)
    if not is_oci_tag(new):
        raise GateRefused(f"The {target.env} tag template {mode!r} gives {new!r}, which is not an image tag.")
    _refuse_unselected(target, new, tags)
    return Minted(new, copy=True, hold=False)


def _refuse_unselected(target: Target, new: str, tags: list[str]) -> None:
    """The new tag must be the one Flux's policy would then select, or Flux would deploy another (or fail)."""
    try:
        pick = select(target.spec, database_order([*tags, new], target.exclusion_list))
    except PolicyError as err:
        pick, why = "", f"the policy fails: {err.message}"
    else:
        why = f"it would select {pick}"
    if pick == new:
        return
    raise GateRefused(
        f"{new} would not be deployed in {target.env}: ImagePolicy {target.setter} would not select it ({why}).",
        hint=f"Change environments.{target.env}.tag so the tag matches that policy, or use `pin` (held).",
    )
