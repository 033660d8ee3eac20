"""What Flux has applied per environment and Kustomization, as its events said (bot/promotion/applied.py)."""

from __future__ import annotations

from bot.adapters.store.db import Db, columns
from bot.promotion.applied import AppliedRow

_ROWS = f"SELECT {columns(AppliedRow)} FROM applied ORDER BY env, kustomization"  # noqa: S608 - constant names


class Applied(Db):
    def record_applied(self, env: str, kustomization: str, revision: str, at: str) -> None:
        """Flux applied `revision` at `at` (the event's time, UTC ISO 8601); an older event changes nothing."""
        with self._write() as db:
            db.execute(
                """INSERT INTO applied (env, kustomization, revision, applied_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (env, kustomization) DO UPDATE SET revision = excluded.revision,
                   applied_at = excluded.applied_at WHERE excluded.applied_at >= applied.applied_at""",
                (env, kustomization, revision, at),
            )

    def record_failed(self, env: str, kustomization: str, revision: str, at: str, message: str) -> None:
        with self._write() as db:
            db.execute(
                """INSERT INTO applied (env, kustomization, failed_revision, failed_at, message)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (env, kustomization) DO UPDATE SET failed_revision = excluded.failed_revision,
                   failed_at = excluded.failed_at, message = excluded.message
                   WHERE excluded.failed_at >= applied.failed_at""",
                (env, kustomization, revision, at, message),
            )

    def applied_rows(self) -> list[AppliedRow]:
        rows = self._read(_ROWS)
        return [AppliedRow(*r) for r in rows]
