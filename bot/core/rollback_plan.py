"""Rollback planning: undo the newest standing bump of a service in an environment, or go back to a tag
it ran before, holding its markers (`hold`, bot/core/holds.py) or giving the old digest a fresh tag (`retag`).

Pure, like bot/core/plan.py whose plan values and edit helpers it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bot.core import commit_message as cm
from bot.core.clock_text import utc
from bot.core.discovery import Topology
from bot.core.history import Bump, effective_bumps
from bot.core.holds import push_branch_problem
from bot.core.imageref import ImageRef
from bot.core.names import known_env
from bot.core.plan import Edit, RollbackPlan, apply_values, new_timestamp
from bot.core.tags import BuildTag
from bot.errors import GateRefused, NotFound

__all__ = ["choose_rollback_service", "plan_rollback"]


def _refuse_ambiguous(topology: Topology, env: str, last: Mapping[str, int]) -> None:
    listed = ", ".join(f"{s} (last bump {utc(ts)})" for s, ts in sorted(last.items()))
    raise GateRefused(
        f"Several services were bumped in {env}: {listed}.",
        hint=f"Name one: `rollback {env} <service>`.",
    )


def choose_rollback_service(topology: Topology, env: str, last_bump_at: Mapping[str, int]) -> str:
    """With no service named: the only service bumped in that env, else a refusal listing them."""
    known_env(env, topology.pipeline)
    if len(last_bump_at) == 1:
        return next(iter(last_bump_at))
    if not last_bump_at:
        raise NotFound(f"Git has no tag bump in {env} to roll back.")
    _refuse_ambiguous(topology, env, last_bump_at)
    raise AssertionError  # unreachable: _refuse_ambiguous raises


def plan_rollback(
    topology: Topology,
    files: Mapping[str, str],
    *,
    service: str,
    env: str,
    history: Sequence[Bump],
    rolled_back_by: str,
    now: int,
    to_tag: str | None = None,
    mode: str = "hold",
    target_tags: Iterable[str] = (),
    request_id: str = "",
    slack_thread: str = "",
    pinned_to: str | None = None,
) -> RollbackPlan:
    """Undo the newest standing bump (or go back to `to_tag`, a tag the env ran before).

    In `retag` mode the old digest gets a fresh tag (`pinned_to` when re-planning after the copy).
    """
    target = topology.target(service, env)
    standing = effective_bumps(history)
    if not standing:
        raise NotFound(f"Git has no tag bump of {service} in {env} to roll back.")
    newest = standing[0]
    if to_tag is None:
        if newest.old_tag is None:
            raise GateRefused(
                f"{newest.new_tag} is the first {service} deploy in {env} recorded in Git; nothing to roll back to."
            )
        values = {ch.setter: ch.old for ch in newest.changes if ch.old is not None}
        to_value = newest.old_tag
        _refuse_removed_tag(service, env, history, to_value)
    else:
        BuildTag.parse(to_tag)
        source = next((b for b in history if b.new_tag == to_tag), None)
        if source is None:
            ran = sorted({b.new_tag for b in history if b.new_tag}, reverse=True)[:5]
            raise NotFound(
                f"{env} never ran {to_tag} according to Git.",
                hint=f"Recent tags: {', '.join(ran) or 'none'}.",
            )
        values = {ch.setter: ch.new for ch in source.changes if ch.new is not None}
        to_value = to_tag
    current = target.current_tag()
    if current == to_value:
        raise GateRefused(f"{service} in {env} already runs {to_value}.")
    retag_from = ""
    if mode == "retag":
        retag_from = to_value
        to_value = pinned_to or str(
            BuildTag.parse(to_value).retarget(
                env, new_timestamp(now, env, [*target_tags, *(c for c in [current] if c)])
            )
        )
        values = _retarget(values, to_value)
    warnings = []
    if mode == "hold" and target.automation is None:
        warnings.append("No ImageUpdateAutomation writes these markers; nothing to hold.")
    elif mode == "hold" and (elsewhere := push_branch_problem(target)):
        raise GateRefused(
            f"Cannot hold {service} in {env}: {elsewhere}.",
            hint=f"Set environments.{env}.rollback: retag (a fresh tag that Flux's policy selects itself, on every "
            "branch), or delete that branch first so Flux rebuilds it from this one, then roll back.",
        )
    hold_markers = mode == "hold" and target.automation is not None
    # Retag mode leaves the hold form as it is: the fresh tag is the newest, so the policy selects it itself;
    # a hold made earlier stays until `resume` or the next promotion lifts it.
    edited, changes = apply_values(files, target, values, hold=True if hold_markers else None)
    hold = target.setter if hold_markers else ""
    if current is not None and newest.new_tag != current and to_tag is None:
        warnings.append(f"Git now has {current}, not {newest.new_tag}; the markers are set back to {to_value} anyway.")
    message = cm.rollback_message(
        service=service,
        env=env,
        reverted_subject=newest.commit.subject,
        reverted_sha=newest.commit.sha,
        from_value=current or "?",
        to_value=to_value,
        rolled_back_by=rolled_back_by,
        hold=hold,
        request_id=request_id,
        slack_thread=slack_thread,
    )
    return RollbackPlan(
        service=service,
        env=env,
        from_tag=current,
        to_tag=to_value,
        reverted=newest.commit.sha,
        edit=Edit(edited, message, tuple(changes)),
        hold=hold,
        retag_from=retag_from,
        warnings=tuple(warnings),
    )


def _refuse_removed_tag(service: str, env: str, history: Sequence[Bump], to_value: str) -> None:
    """Undoing the bump before a rollback's can land on the very tag that rollback took out (say the fix was
    promoted from it); only a person naming it with --to may bring it back."""
    for b in history:
        if b.commit.trailers.get(cm.ROLLED_BACK_BY) and b.old_tag == to_value:
            raise GateRefused(
                f"Rolling back {service} in {env} would redeploy {to_value}, which the rollback "
                f"{b.commit.sha[:12]} took out.",
                hint=f"If that build is wanted after all, name it: `rollback {env} {service} --to {to_value}`.",
            )


def _retarget(values: Mapping[str, str], tag: str) -> dict[str, str]:
    """Point tag-bearing setters at `tag`; `:name` and `:digest` keep the restored values."""
    out = {}
    for setter, value in values.items():
        if setter.endswith(":tag"):
            out[setter] = tag
        elif setter.endswith((":name", ":digest")):
            out[setter] = value
        else:
            out[setter] = str(ImageRef.parse(value).retagged(tag))
    return out
