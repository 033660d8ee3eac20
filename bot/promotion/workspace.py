"""One synced view of the repository: the snapshot, its YAML files and the discovered topology."""

from __future__ import annotations

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
            files, pipeline=ctx.pipeline, substitutions=ctx.substitutions or {}, placement=ctx.placement
        )
        # Where Flux writes, when not simply here: every reader of the topology (/versions, `check`) says so.
        notes = branch_notes(topology.automations, ctx.branch)
        if notes:
            topology = replace(topology, problems=(*topology.problems, *notes))
        return cls(snapshot, files, topology)

    @classmethod
    def sync(cls, ctx: Context) -> Workspace:
        return cls.of(ctx, ctx.repo.sync())
