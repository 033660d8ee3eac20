"""Plans: what a promotion, rollback or resume would change, as values. The caller does the I/O.

The plan values and promotion, resume and release planning live here; rollback planning, which builds
on the same edit helpers, in bot/core/rollback_plan.py.

A plan is computed from the repository text at one HEAD. When a push is rejected because the branch
moved, the Git adapter calls the planning function again on the new HEAD, so a plan never carries a
stale diff. Refusals are raised as `bot.errors.Refused` subclasses with the reason and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core import commit_message as cm
from bot.core import holds, setters
from bot.core.discovery import Target, Topology
from bot.core.imageref import ImageRef
from bot.core.names import known_env
from bot.core.tags import BuildTag
from bot.errors import GateRefused, InvalidInput, NotFound, NothingToDo


@dataclass(frozen=True)
class Edit:
    """New file texts (only files that change) plus the commit message that explains them."""

    files: Mapping[str, str]
    message: cm.CommitMessage
    changes: tuple[setters.Change, ...] = ()


@dataclass(frozen=True)
class PromotionPlan:
    service: str
    source_env: str
    target_env: str
    source_tag: str
    target_tag: str  # the new immutable tag in the target env
    alias: str  # the moving env alias, re-pointed at the same digest
    digest: str
    image: str
    current_tag: str | None
    edit: Edit | None  # None when the plan is a no-op
    warnings: tuple[str, ...] = ()
    lifted_hold: str = ""
    noop_reason: str = ""

    @property
    def noop(self) -> bool:
        return self.edit is None


@dataclass(frozen=True)
class RollbackPlan:
    service: str
    env: str
    from_tag: str | None
    to_tag: str
    reverted: str  # sha of the bump being undone
    edit: Edit
    hold: str = ""  # the setter whose markers are held in the same commit ("" in retag mode)
    retag_from: str = ""  # retag mode: copy this tag's digest to `to_tag`
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResumePlan:
    service: str
    env: str
    automation: str
    edit: Edit | None
    would_deploy: str | None = None
    warnings: tuple[str, ...] = field(default=())
    kept: tuple[str, ...] = ()  # "service/env" kept held when an earlier version's suspend is lifted


# --- pipeline gates -----------------------------------------------------------------------------


def next_env(pipeline: Sequence[str], env: str) -> str | None:
    i = pipeline.index(env)
    return pipeline[i + 1] if i + 1 < len(pipeline) else None


def check_route(pipeline: Sequence[str], source_env: str, target_env: str) -> None:
    """The target must be the environment right after the tag's own environment."""
    known_env(target_env, pipeline)
    if source_env not in pipeline:
        raise InvalidInput(
            f"The tag belongs to environment {source_env!r}, which is not in the pipeline.",
            hint=f"Pipeline: {' → '.join(pipeline)}.",
        )
    allowed = next_env(pipeline, source_env)
    if target_env == allowed:
        return
    if allowed is None:
        raise GateRefused(f"{source_env} is the last environment; its builds are not promoted further.")
    direction = "backwards" if pipeline.index(target_env) <= pipeline.index(source_env) else "past " + allowed
    raise GateRefused(
        f"A {source_env} build cannot go {direction} to {target_env}.",
        hint=f"Promote it to {allowed} (pipeline: {' → '.join(pipeline)}).",
    )


def candidate_services(topology: Topology, source_env: str, target_env: str, service: str | None) -> list[str]:
    """Services that exist in both environments (narrowed to `service` when given)."""
    if service is not None:
        topology.target(service, source_env)
        topology.target(service, target_env)
        return [service]
    return [t.service for t in topology.in_env(source_env) if (t.service, target_env) in topology.targets]


def pick_service(tag: str, found: Mapping[str, str]) -> str:
    """`found` maps each candidate service whose source image has the tag to its digest."""
    if not found:
        raise NotFound(f"No service has a build tagged {tag}.", hint="List what each environment runs with `versions`.")
    if len(found) > 1:
        raise GateRefused(
            f"{tag} exists in more than one service: {', '.join(sorted(found))}.",
            hint="Name the service (--service S, or `/promote <tag> to <env> <service>`).",
        )
    return next(iter(found))


def new_timestamp(now: int, target_env: str, existing_tags: Iterable[str]) -> int:
    """Strictly newer than every build tag already in the target env, so its ImagePolicy selects ours."""
    newest = max((t.ts for t in _parse_all(existing_tags) if t.env == target_env), default=-1)
    return max(now, newest + 1)


def _parse_all(tags: Iterable[str]) -> list[BuildTag]:
    return [BuildTag.parse(t) for t in tags if BuildTag.is_valid(t)]


# --- promotion ----------------------------------------------------------------------------------


def _values_for(target: Target, tag: str, digest: str) -> dict[str, str]:
    reflected = digest if target.digest_reflection in ("IfNotPresent", "Always") else ""
    return setters.setter_values({target.setter: ImageRef(target.image, tag, reflected)})


def apply_values(
    files: Mapping[str, str], target: Target, values: Mapping[str, str], *, hold: bool | None = None
) -> tuple[dict[str, str], list[setters.Change]]:
    """Write setter `values` into `target`'s markers, holding (True), lifting (False) or keeping (None) its
    hold: (changed files, changes)."""
    edited: dict[str, str] = {}
    changes = holds.write_markers(files, edited, target, values, hold)
    return edited, changes


def lift(
    files: Mapping[str, str],
    edited: dict[str, str],
    topology: Topology,
    target: Target,
    latest: Mapping[tuple[str, str], str | None],
) -> tuple[str, str, tuple[str, ...]]:
    """Lift `target`'s hold into `edited`: (what was lifted, the sentence for the commit, siblings kept held).

    A marker hold is lifted by naming the setter again; a suspend written by an earlier version is lifted by
    resuming the automation while every sibling Flux would move stays held by marker (bot/core/holds.py).
    """
    what, sentences, kept = "", [], tuple[str, ...]()
    if target.hold is holds.HoldKind.MARKER:
        holds.write_markers(files, edited, target, {}, hold=False)
        what = target.setter
        sentences.append(
            f"Lifts the hold on {target.service} in {target.env}: its markers name {target.setter} again, so "
            "Flux's image automation writes them."
        )
    if target.automation is not None and target.automation.suspended:
        kept = tuple(holds.lift_suspend(files, edited, topology, target, latest))
        ref = str(target.automation.ref)
        what = what or ref
        also = f" {', '.join(kept)} stay held, now by their markers (HELD:…)." if kept else ""
        sentences.append(
            f"Resumes image automation {ref} (spec.suspend: false; set by an earlier version's hold or by hand).{also}"
        )
    if what:
        return what, " ".join(sentences), kept
    return "", "", ()


def plan_promotion(
    topology: Topology,
    files: Mapping[str, str],
    *,
    tag: BuildTag,
    service: str,
    target_env: str,
    digest: str,
    target_tags: Iterable[str],
    current_digest: str | None,
    promoted_by: str,
    now: int,
    deployed_in_source: bool | None = None,
    approved_by: Sequence[str] = (),
    reason: str = "",
    request_id: str = "",
    slack_thread: str = "",
    target_tag: str | None = None,
    sibling_latest: Mapping[tuple[str, str], str | None] | None = None,
) -> PromotionPlan:
    """Plan one promotion. `deployed_in_source` is None when that gate is off for the environment.

    `target_tag` pins the new tag when re-planning after the registry copy already created it.
    `sibling_latest`: what each policy sharing a suspended automation would select now (bot/core/holds.py).
    """
    sibling_latest = sibling_latest or {}
    check_route(topology.pipeline, tag.env, target_env)
    src = topology.target(service, tag.env)
    dst = topology.target(service, target_env)
    if deployed_in_source is False:
        raise GateRefused(
            f"{tag} never ran in {tag.env} according to Git history, so it cannot go to {target_env}.",
            hint=f"Deploy it to {tag.env} first (now {tag.env} runs {src.current_tag() or 'nothing'}).",
        )
    current = dst.current_tag()
    base: dict[str, Any] = dict(
        service=service,
        source_env=tag.env,
        target_env=target_env,
        source_tag=str(tag),
        alias=target_env,
        digest=digest,
        image=dst.image,
        current_tag=current,
    )
    if current_digest is not None and current_digest == digest:
        return PromotionPlan(
            **base,
            target_tag=current or "",
            edit=None,
            noop_reason=f"{target_env} is already at {current} (same image).",
        )
    if current is not None and current == target_tag:
        return PromotionPlan(
            **base, target_tag=current, edit=None, noop_reason=f"{target_env} is already at {current}."
        )
    new_tag = target_tag or str(
        tag.retarget(target_env, new_timestamp(now, target_env, [*target_tags, *(c for c in [current] if c)]))
    )
    warnings = []
    cur = BuildTag.parse(current) if current and BuildTag.is_valid(current) else None
    if cur is None:
        warnings.append(f"First deploy of {service} to {target_env} by the bot (Git has {current or 'no tag'}).")
    elif (cur.major, cur.minor, cur.patch) > (tag.major, tag.minor, tag.patch):
        warnings.append(f"Downgrade: {target_env} runs v{cur.version}, this promotes v{tag.version}.")
    edited, changes = apply_values(files, dst, _values_for(dst, new_tag, digest))
    if not changes:
        # Refused here, before the registry is touched: a promotion whose commit would write no marker would
        # copy the tag, change nothing in Git, and could only be reported as a success that is not one.
        raise GateRefused(
            f"No file in Git holds {service}'s {target_env} marker for {dst.setter}, so promoting would change "
            "nothing in Git.",
            hint=f'Add the `# {{"$imagepolicy": "…"}}` marker for {dst.setter} to its manifest, then promote again.',
        )
    lifted, lift_sentence, kept = lift(files, edited, topology, dst, sibling_latest)
    if lifted:
        warnings.append(f"{service} is held in {target_env}; this promotion lifts the hold.")
    warnings += [f"{k} stays held (migrated from spec.suspend to its markers)." for k in kept]
    message = cm.promotion_message(
        service=service,
        version=tag.version,
        sha=tag.sha,
        source_env=tag.env,
        target_env=target_env,
        source_tag=str(tag),
        target_tag=new_tag,
        digest=digest,
        promoted_by=promoted_by,
        approved_by=approved_by,
        reason=reason,
        request_id=request_id,
        slack_thread=slack_thread,
        lifted_hold=lift_sentence,
    )
    return PromotionPlan(
        **base,
        target_tag=new_tag,
        edit=Edit(edited, message, tuple(changes)),
        warnings=tuple(warnings),
        lifted_hold=lifted,
    )


# --- resume -------------------------------------------------------------------------------------


def plan_resume(
    topology: Topology,
    files: Mapping[str, str],
    *,
    service: str,
    env: str,
    latest_available: str | None,
    resumed_by: str,
    force: bool = False,
    request_id: str = "",
    sibling_latest: Mapping[tuple[str, str], str | None] | None = None,
) -> ResumePlan:
    """Lift this service's hold in this env, and no other. Refused when Flux would then deploy a different tag
    than Git has, unless forced."""
    target = topology.target(service, env)
    if target.automation is None:
        raise NotFound(f"No ImageUpdateAutomation writes {service}'s markers in {env}; there is nothing to resume.")
    auto = str(target.automation.ref)
    if not target.held:
        return ResumePlan(service, env, auto, None)
    current = target.current_tag()
    if latest_available and latest_available != current and not force:
        raise GateRefused(
            f"Resuming {service} in {env} would deploy {latest_available} (Git has {current}).",
            hint="Promote a fixed build first, or resume with --force to let that tag come back.",
        )
    edited: dict[str, str] = {}
    _lifted, sentence, kept = lift(files, edited, topology, target, sibling_latest or {})
    warnings = [f"Flux will deploy {latest_available}."] if latest_available and latest_available != current else []
    warnings += [f"{k} stays held (migrated from spec.suspend to its markers)." for k in kept]
    message = cm.resume_message(service=service, env=env, lifted=sentence, resumed_by=resumed_by, request_id=request_id)
    return ResumePlan(service, env, auto, Edit(edited, message), latest_available, tuple(warnings), kept)


# --- release sets -------------------------------------------------------------------------------


def combine_release(plans: Sequence[PromotionPlan], *, promoted_by: str, request_id: str = "") -> Edit:
    """Several promotions (planned one on top of the other's files) as ONE commit and one message.

    Each service keeps its own Service / Source-tag / Target-tag / Digest trailers, in order, so history
    and per-service rollback read the commit like any single promotion of that service.
    """
    edits = [(p, p.edit) for p in plans if p.edit is not None]
    if not edits:
        raise NothingToDo("Nothing to release: every service already runs its source build.")
    live = [p for p, _ in edits]
    files: dict[str, str] = {}
    changes: list[setters.Change] = []
    for _, edit in edits:
        files.update(edit.files)
        changes.extend(edit.changes)
    first = live[0]
    names = ", ".join(f"{p.service} v{BuildTag.parse(p.source_tag).version}" for p in live)
    subject = f"release({first.source_env} → {first.target_env}): {names}"
    body = [f"Promote {len(live)} services from {first.source_env} to {first.target_env} in one commit (same images)."]
    pairs: list[tuple[str, str]] = [(cm.PROMOTED_BY, promoted_by)]
    for p in live:
        body.append(f"- {p.service}: {p.source_tag} → {p.target_tag} ({p.digest})")
        pairs += [
            (cm.SERVICE, p.service),
            (cm.ENVIRONMENT, p.target_env),
            (cm.SOURCE_TAG, p.source_tag),
            (cm.TARGET_TAG, p.target_tag),
            (cm.DIGEST, p.digest),
        ]
    if request_id:
        pairs.append((cm.REQUEST_ID, request_id))
    return Edit(files, cm.CommitMessage(subject, "\n".join(body), cm.Trailers(tuple(pairs))), tuple(changes))
