"""One synced view of the repository: the snapshot, its YAML files and the discovered topology."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.core.automations import branch_notes
from bot.core.discovery import Topology, discover
from bot.promotion.ports import Context, Snapshot


@dataclass(frozen=True)
class Workspace:
    snapshot: Snapshot
    files: dict[str, str]
    topology: Topology

    @classmethod
    def of(cls, ctx: Context, snapshot: Snapshot) -> Workspace:
        files = snapshot.files(ctx.repo_path)
        topology = discover(
            _with_objects(ctx, files), pipeline=ctx.pipeline, substitutions=ctx.substitutions or {},
            placement=ctx.placement,
        )
        # Where Flux writes, when not simply here: every reader of the topology (/versions, `check`) says so.
        notes = branch_notes(topology.automations, ctx.branch)
        if notes:
            topology = replace(topology, problems=(*topology.problems, *notes))
        return cls(snapshot, files, topology)

    @classmethod
    def sync(cls, ctx: Context) -> Workspace:
        return cls.of(ctx, ctx.repo.sync())


# A file that declares Flux objects the bot reads (image automation, Kustomizations), by its raw text.
_FLUX_OBJECTS = re.compile(r"^apiVersion:\s*['\"]?(image|kustomize)\.toolkit\.fluxcd\.io/", re.M)


def _with_objects(ctx: Context, files: dict[str, str]) -> dict[str, str]:
    """The files discovery reads: the markers' branch, plus, when the Flux objects live on another branch
    (`repo.objects_branch`), that branch's object files that the markers' branch does not have. Edits are
    planned against `files` only, so the bot never writes to the objects' branch."""
    if not ctx.objects_branch or ctx.objects_branch == ctx.branch:
        return files
    objects = ctx.repo.files_on(ctx.objects_branch, ctx.repo_path)
    extra = {p: t for p, t in objects.items() if p not in files and _FLUX_OBJECTS.search(t)}
    return {**extra, **files} if extra else files
