"""The hash an approval is bound to: the exact plan and the repository state it was made from.

An approval is void when anything it approved moved: the tag, the digest, or the current text of any
file the commit would touch (Git blob ids in spirit; content hashes here, which change exactly when
blob ids do).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from bot.core.plan import PromotionPlan, ResumePlan, RollbackPlan


def _files(edit_files: Mapping[str, str] | None, current: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((f, hashlib.sha256(current.get(f, "").encode()).hexdigest()) for f in (edit_files or {}))


def fingerprint(plan: PromotionPlan | RollbackPlan | ResumePlan, current: Mapping[str, str]) -> str:
    if isinstance(plan, PromotionPlan):
        facts: dict[str, object] = {
            "kind": "promote",
            "service": plan.service,
            "source": plan.source_tag,
            "digest": plan.digest,
            "env": plan.target_env,
            "current": plan.current_tag,
            "files": _files(plan.edit.files if plan.edit else None, current),
        }
    elif isinstance(plan, RollbackPlan):
        facts = {
            "kind": "rollback",
            "service": plan.service,
            "env": plan.env,
            "from": plan.from_tag,
            "to": plan.to_tag if not plan.retag_from else plan.retag_from,
            "reverted": plan.reverted,
            "files": _files(plan.edit.files, current),
        }
    else:
        facts = {
            "kind": "resume",
            "service": plan.service,
            "env": plan.env,
            "automation": plan.automation,
            "deploys": plan.would_deploy,
            "files": _files(plan.edit.files if plan.edit else None, current),
        }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
