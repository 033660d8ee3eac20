"""Requests (previewed promotions, rollbacks, resumes) moved by compare-and-set, and their approvals."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Any

from bot.adapters.store.db import Db, columns
from bot.errors import GateRefused, NotFound
from bot.promotion.states import OPEN_REQUESTS, RequestStatus, request_move_allowed

_SETTABLE = frozenset({"channel", "message_ts", "result"})


@dataclass(frozen=True)
class PendingRequest:
    id: str
    kind: str
    env: str
    service: str
    requester: str
    payload: str  # JSON: the plan inputs
    plan_hash: str
    status: RequestStatus
    created_at: float
    expires_at: float
    updated_at: float
    origin_channel: str  # where the command was typed
    channel: str  # where the preview / approval message lives
    message_ts: str
    result: str


_REQUEST = f"SELECT {columns(PendingRequest)} FROM requests"  # noqa: S608 - column names are constants
_OPEN = ", ".join(f"'{s}'" for s in sorted(OPEN_REQUESTS))  # constants, so inlined into the SQL


def _request(row: tuple[Any, ...]) -> PendingRequest:
    return replace(PendingRequest(*row), status=RequestStatus(row[7]))


def _statuses(names: AbstractSet[str]) -> frozenset[RequestStatus] | None:
    """`names` as statuses; None if any is not one (a caller's typo must not become a silent no-op)."""
    try:
        return frozenset(RequestStatus(n) for n in names)
    except ValueError:
        return None


class Requests(Db):
    def create_request(self, *, id: str, kind: str, env: str, service: str, requester: str, payload: str,
                       plan_hash: str, expires_at: float, origin_channel: str = "") -> None:  # fmt: skip
        now = self._clock()
        with self._write() as db:
            if db.execute("SELECT 1 FROM requests WHERE id = ?", (id,)).fetchone():
                raise ValueError(f"request {id} already exists")
            db.execute(
                "INSERT INTO requests (id, kind, env, service, requester, payload, plan_hash, status, created_at,"
                " expires_at, updated_at, origin_channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (id, kind, env, service, requester, payload, plan_hash, RequestStatus.PENDING, now, expires_at, now,
                 origin_channel),
            )  # fmt: skip

    def get_request(self, id: str) -> PendingRequest | None:
        rows = self._read(f"{_REQUEST} WHERE id = ?", (id,))
        return _request(rows[0]) if rows else None

    def requests_in(self, status: str) -> list[PendingRequest]:
        """Every request in `status`, oldest first (e.g. "running" ones a killed process left behind)."""
        rows = self._read(f"{_REQUEST} WHERE status = ? ORDER BY created_at", (status,))
        return [_request(r) for r in rows]

    def transition(self, id: str, expected: AbstractSet[str], to: str, **fields: str) -> bool:
        """Move `id` to `to` (and set `fields`) only if its status is one of `expected`; True if this call did.

        Whether the move is legal is states.REQUEST_MOVES' call; an illegal one is a programming error."""
        sources, target = _statuses(expected), _statuses({to})
        illegal = [str(s) for s in sorted(sources or ()) if target and not request_move_allowed({s}, *target)]
        if not sources or not target or illegal:
            raise ValueError(f"no transition {sorted(expected)} → {to} (illegal from {illegal})")
        if unknown := set(fields) - _SETTABLE:
            raise ValueError(f"transition cannot set {sorted(unknown)}; only {sorted(_SETTABLE)}")
        names = sorted(fields)
        sets = "".join(f", {name} = ?" for name in names)
        marks = ", ".join("?" * len(sources))
        sql = f"UPDATE requests SET status = ?, updated_at = ?{sets} WHERE id = ? AND status IN ({marks})"  # noqa: S608
        with self._write() as db:
            cur = db.execute(sql, (to, self._clock(), *(fields[n] for n in names), id, *sorted(sources)))
            return cur.rowcount == 1

    def expire_requests(self) -> list[PendingRequest]:
        """Mark open requests whose expires_at has passed as expired; returns those this call expired."""
        now = self._clock()
        with self._write() as db:
            rows = db.execute(f"{_REQUEST} WHERE status IN ({_OPEN}) AND expires_at < ? ORDER BY id", (now,)).fetchall()
            db.execute(
                f"UPDATE requests SET status = ?, updated_at = ? WHERE status IN ({_OPEN}) AND expires_at < ?",  # noqa: S608
                (RequestStatus.EXPIRED, now, now),
            )
        return [replace(_request(r), status=RequestStatus.EXPIRED, updated_at=now) for r in rows]

    # --- approvals ------------------------------------------------------------------------------
    def add_approval(self, id: str, approver: str, plan_hash: str) -> bool:
        """Record one approval; False if this approver already approved. Refuses self-approval and stale hashes."""
        with self._write() as db:
            row = db.execute("SELECT requester, plan_hash, status FROM requests WHERE id = ?", (id,)).fetchone()
            if row is None:
                raise NotFound(f"There is no request {id}.")
            requester, current_hash, status = row
            if approver == requester:
                raise GateRefused("You cannot approve your own request; another promoter has to.")
            if status != RequestStatus.PENDING:
                raise GateRefused(f"This request is {status}, so it no longer takes approvals.")
            if plan_hash != current_hash:
                raise GateRefused("This approval is for a different plan than the one requested; ask for a new one.")
            cur = db.execute(
                "INSERT OR IGNORE INTO approvals (request_id, approver, plan_hash, at) VALUES (?, ?, ?, ?)",
                (id, approver, plan_hash, self._clock()),
            )
            return cur.rowcount == 1

    def approvers(self, id: str) -> list[str]:
        """Approvers of `id` in the order they approved."""
        rows = self._read("SELECT approver FROM approvals WHERE request_id = ? ORDER BY at, rowid", (id,))
        return [r[0] for r in rows]

    def approval_count(self, id: str) -> int:
        return int(self._read("SELECT count(*) FROM approvals WHERE request_id = ?", (id,))[0][0])
