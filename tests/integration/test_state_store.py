"""StateStore on real SQLite files: every method, racing threads, racing stores and processes, restarts, expiry."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.state_store import OutboxItem, PendingRequest, PromotionThread, StateStore
from bot.errors import GateRefused, NotFound, OperationFailed

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0

# The brief's state machine, written out independently of the module: (from, to) pairs that may happen.
LEGAL = {
    ("pending", "approved"), ("approved", "running"), ("pending", "running"),
    ("running", "done"), ("running", "failed"),
    *((s, end) for s in ("pending", "approved") for end in ("cancelled", "expired", "rejected")),
}  # fmt: skip
STATUSES = ("pending", "approved", "running", "done", "failed", "cancelled", "expired", "rejected")
# How to reach each status from a fresh request.
PATH = {
    "pending": [], "approved": ["approved"], "running": ["running"], "done": ["running", "done"],
    "failed": ["running", "failed"], "cancelled": ["cancelled"], "expired": ["expired"], "rejected": ["rejected"],
}  # fmt: skip


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(db_path: Path, clock: Clock) -> Iterator[StateStore]:
    with StateStore(db_path, clock=clock) as s:
        yield s


def new_request(store: StateStore, id: str = "r1", *, requester: str = "U1", plan_hash: str = "h1",
                expires_at: float = T0 + 600) -> None:  # fmt: skip
    store.create_request(
        id=id, kind="promote", env="staging", service="svc-a", requester=requester, payload='{"tag": "t"}',
        plan_hash=plan_hash, expires_at=expires_at, origin_channel="C0",
    )  # fmt: skip


def status(store: StateStore, id: str = "r1") -> str:
    req = store.get_request(id)
    assert req is not None
    return req.status


def race(n: int, fn: Callable[[int], bool]) -> list[bool]:
    """Run fn(0..n-1) on n threads released together; return each result."""
    barrier = threading.Barrier(n)
    results: list[bool | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert all(r is not None for r in results)
    return [bool(r) for r in results]


# --- opening, schema, failures -----------------------------------------------------------------


def test_a_new_file_is_wal_with_latest_schema_version(store: StateStore, db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 3
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        raw.close()
    assert {"requests", "approvals", "idempotency", "threads", "outbox", "outbox_keys", "kv"} <= tables


def test_reopening_migrates_nothing_and_keeps_rows(db_path: Path, clock: Clock) -> None:
    with StateStore(db_path, clock=clock) as s:
        s.put("k", "v")
    with StateStore(db_path, clock=clock) as s:
        assert s.get("k") == "v"


def test_a_database_from_a_newer_bot_is_refused(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA user_version = 7")
    raw.close()
    with pytest.raises(OperationFailed, match=r"newer version of the bot \(schema 7") as exc:
        StateStore(db_path)
    assert str(db_path) in str(exc.value)


def _garbage(tmp: Path) -> Path:
    (tmp / "state.db").write_bytes(b"not a database, just text\n" * 200)
    return tmp / "state.db"


def _bad_pages(tmp: Path) -> Path:
    (tmp / "state.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4080)
    return tmp / "state.db"


def _directory(tmp: Path) -> Path:
    (tmp / "state.db").mkdir()
    return tmp / "state.db"


def _missing_parent(tmp: Path) -> Path:
    return tmp / "missing" / "state.db"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_garbage, "is not a SQLite database"),
        (_bad_pages, "is not a SQLite database|is damaged"),
        (_directory, "cannot be opened"),
        (_missing_parent, "cannot be opened"),
    ],
)
def test_an_unusable_file_is_operation_failed_naming_it(tmp_path: Path, make: Callable[[Path], Path], why: str) -> None:
    path = make(tmp_path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(OperationFailed, match=why) as exc:
        StateStore(path)
    assert str(path) in exc.value.message
    if before is not None:
        assert path.read_bytes() == before, "a failed open must not rewrite the file"
        assert "backup" in exc.value.hint


# --- requests ------------------------------------------------------------------------------------


def test_create_and_get_round_trip_every_field(store: StateStore, clock: Clock) -> None:
    new_request(store, "abc", requester="U9", plan_hash="ph", expires_at=T0 + 30)
    assert store.get_request("abc") == PendingRequest(
        id="abc", kind="promote", env="staging", service="svc-a", requester="U9", payload='{"tag": "t"}',
        plan_hash="ph", status="pending", created_at=T0, expires_at=T0 + 30, updated_at=T0, origin_channel="C0",
        channel="", message_ts="", result="",
    )  # fmt: skip
    assert store.get_request("nope") is None


def test_a_request_id_cannot_be_reused(store: StateStore) -> None:
    new_request(store)
    with pytest.raises(ValueError, match="already exists"):
        new_request(store, plan_hash="other")
    req = store.get_request("r1")
    assert req is not None
    assert req.plan_hash == "h1"


@pytest.mark.parametrize("to", STATUSES)
@pytest.mark.parametrize("start", STATUSES)
def test_transition_follows_the_state_machine(store: StateStore, start: str, to: str) -> None:
    new_request(store)
    prev = "pending"
    for step in PATH[start]:
        assert store.transition("r1", {prev}, step)
        prev = step
    assert status(store) == start
    if (start, to) in LEGAL or start == to:
        assert store.transition("r1", {start}, to) is True
        assert status(store) == to
    else:
        with pytest.raises(ValueError, match="no transition"):
            store.transition("r1", {start}, to)
        assert status(store) == start


def test_transition_is_compare_and_set(store: StateStore, clock: Clock) -> None:
    new_request(store)
    clock.now = T0 + 5
    assert store.transition("r1", {"pending"}, "approved", channel="C1", message_ts="111.1")
    clock.now = T0 + 9
    # The status moved on, so a second approve (or a cancel expecting pending) loses and changes nothing.
    assert store.transition("r1", {"pending"}, "approved", channel="CX") is False
    assert store.transition("r1", {"pending"}, "cancelled") is False
    req = store.get_request("r1")
    assert req is not None
    assert (req.status, req.channel, req.message_ts, req.updated_at) == ("approved", "C1", "111.1", T0 + 5)
    assert store.transition("r1", {"pending", "approved"}, "running")
    assert store.transition("r1", {"running"}, "done", result="abc123")
    req = store.get_request("r1")
    assert req is not None
    assert (req.status, req.result, req.updated_at) == ("done", "abc123", T0 + 9)
    assert store.transition("missing", {"pending"}, "approved") is False


def test_same_status_transition_sets_fields_only_while_the_status_holds(store: StateStore) -> None:
    new_request(store)
    assert store.transition("r1", {"pending"}, "pending", channel="C1", message_ts="1.0")
    assert store.transition("r1", {"pending"}, "cancelled")
    assert store.transition("r1", {"pending"}, "pending", channel="C2") is False
    req = store.get_request("r1")
    assert req is not None
    assert (req.status, req.channel) == ("cancelled", "C1")


@pytest.mark.parametrize(
    ("expected", "to", "fields", "match"),
    [
        (set(), "approved", {}, "no transition"),
        ({"pending"}, "bogus", {}, "no transition"),
        ({"bogus"}, "approved", {}, "no transition"),
        ({"pending", "running"}, "approved", {}, r"illegal from \['running'\]"),
        ({"pending"}, "approved", {"status": "done"}, "cannot set"),
        ({"pending"}, "approved", {"plan_hash": "x"}, "cannot set"),
    ],
)
def test_transition_rejects_programming_errors(store: StateStore, expected: set[str], to: str,
                                               fields: dict[str, str], match: str) -> None:  # fmt: skip
    new_request(store)
    with pytest.raises(ValueError, match=match):
        store.transition("r1", expected, to, **fields)
    assert status(store) == "pending"


def test_expire_requests_sweeps_each_request_once(store: StateStore, clock: Clock) -> None:
    new_request(store, "a", expires_at=T0 + 100)
    new_request(store, "b", expires_at=T0 + 200)
    new_request(store, "c", expires_at=T0 + 50)
    new_request(store, "d", expires_at=T0 + 100)
    store.transition("c", {"pending"}, "running")  # running requests never expire
    store.transition("d", {"pending"}, "approved")
    clock.now = T0 + 100
    assert store.expire_requests() == [], "expires_at itself is still valid (the workflow expires on now > expires_at)"
    clock.now = T0 + 150
    swept = store.expire_requests()
    assert [(r.id, r.status, r.updated_at) for r in swept] == [("a", "expired", T0 + 150), ("d", "expired", T0 + 150)]
    assert swept[0] == store.get_request("a")
    assert store.expire_requests() == []
    assert [status(store, i) for i in "abcd"] == ["expired", "pending", "running", "expired"]
    assert store.transition("a", {"pending", "approved"}, "running") is False
    clock.now = T0 + 201
    assert [r.id for r in store.expire_requests()] == ["b"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sets(st.sampled_from(STATUSES), min_size=1), st.sampled_from(STATUSES)), max_size=12))
def test_transitions_match_a_model(ops: list[tuple[set[str], str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, StateStore(Path(tmp) / "s.db", clock=Clock()) as store:
        new_request(store)
        model = "pending"
        for expected, to in ops:
            if any((s, to) not in LEGAL and s != to for s in expected):
                with pytest.raises(ValueError):
                    store.transition("r1", expected, to)
                continue
            assert store.transition("r1", expected, to, result=f"{to}") is (model in expected)
            model = to if model in expected else model
            assert status(store) == model


# --- races ---------------------------------------------------------------------------------------


def test_racing_threads_on_one_store_have_exactly_one_winner(store: StateStore) -> None:
    for rid in (f"r{n}" for n in range(10)):
        new_request(store, rid)

        def click(i: int, rid: str = rid) -> bool:  # odd threads approve, even ones cancel
            return store.transition(rid, {"pending"}, "approved" if i % 2 else "cancelled")

        wins = race(8, click)
        assert wins.count(True) == 1
        assert status(store, rid) == ("approved" if wins.index(True) % 2 else "cancelled")


def test_racing_stores_on_one_file_have_exactly_one_winner(db_path: Path, clock: Clock) -> None:
    with StateStore(db_path, clock=clock) as a, StateStore(db_path, clock=clock) as b:
        stores = (a, b)
        for rid in (f"r{n}" for n in range(10)):
            new_request(a, rid)
            b.record_thread(rid, channel="C", ts="1.0", env="staging", service="svc-a")

            def run(i: int, rid: str = rid) -> bool:
                return stores[i % 2].transition(rid, {"pending", "approved"}, "running")

            def confirm(i: int, rid: str = rid) -> bool:
                return stores[i % 2].claim(f"confirm:{rid}", 60)

            def commit(i: int, rid: str = rid) -> bool:
                return stores[i % 2].thread_committed(rid, f"sha{i}")

            assert race(6, run).count(True) == 1
            assert race(6, confirm).count(True) == 1
            commits = race(6, commit)
            assert commits.count(True) == 1
            thread = a.thread_of(rid)
            assert thread is not None
            assert thread.commit_sha == f"sha{commits.index(True)}", "the winner's sha, not a later loser's"


class Ticking(Clock):
    """Moves one second forward on every reading, from any thread."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += 1
            return self.now


def test_read_then_write_operations_race_safely_across_stores(db_path: Path) -> None:
    """create_request and expire_requests read before they write, so they must hold the write lock from the start."""
    ids = [f"r{n:02}" for n in range(40)]
    ticking = Ticking()
    with StateStore(db_path, clock=ticking) as a, StateStore(db_path, clock=ticking) as b:
        stores = (a, b)
        created: list[list[str]] = [[] for _ in range(6)]
        expired: list[list[str]] = [[] for _ in range(6)]

        def create_all(i: int) -> bool:
            for rid in ids:
                try:
                    new_request(stores[i % 2], rid, expires_at=T0 + 200 + 2 * int(rid[1:]))
                    created[i].append(rid)
                except ValueError:
                    pass
            return True

        def sweep(i: int) -> bool:
            while ticking.now < T0 + 400:
                expired[i].extend(r.id for r in stores[i % 2].expire_requests())
            return True

        race(6, create_all)
        assert sorted(rid for done in created for rid in done) == ids, "each id created exactly once"
        race(6, sweep)
        assert sorted(rid for done in expired for rid in done) == ids, "each request expired exactly once"


_WORKER = """
import json, sys
from bot.adapters.state_store import StateStore
print("ready", flush=True)
sys.stdin.readline()
store = StateStore(sys.argv[1])
ids = sys.argv[2:]
won = [i for i in ids if store.transition(i, {"pending"}, "approved")]
claimed = [i for i in ids if store.claim("click:" + i, 60)]
print(json.dumps({"won": won, "claimed": claimed}), flush=True)
store.close()
"""


def _workers(n: int, path: Path, ids: list[str]) -> list[dict[str, list[str]]]:
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(path), *ids], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(n)]  # fmt: skip
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        for p in procs:  # release them as close together as pipes allow
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0] * n
    return [json.loads(o) for o in outs]


@pytest.mark.slow
def test_racing_processes_have_exactly_one_winner_per_request(db_path: Path) -> None:
    ids = [f"r{n}" for n in range(20)]
    with StateStore(db_path) as s:
        for i in ids:
            new_request(s, i)
    results = _workers(4, db_path, ids)
    for key in ("won", "claimed"):
        winners = [i for r in results for i in r[key]]
        assert sorted(winners) == sorted(ids), f"{key}: each id exactly once across processes"
    with StateStore(db_path) as s:
        assert {status(s, i) for i in ids} == {"approved"}


@pytest.mark.slow
def test_processes_opening_a_fresh_file_together_all_migrate_it_once(db_path: Path) -> None:
    results = _workers(4, db_path, [])
    assert results == [{"won": [], "claimed": []}] * 4
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 3
    finally:
        raw.close()


# --- approvals -----------------------------------------------------------------------------------


def test_approvals_are_unique_per_approver_and_ordered(store: StateStore, clock: Clock) -> None:
    new_request(store)
    assert store.approvers("r1") == []
    assert store.approval_count("r1") == 0
    clock.now = T0 + 2
    assert store.add_approval("r1", "U3", "h1") is True
    clock.now = T0 + 1  # an earlier clock reading still sorts by time first
    assert store.add_approval("r1", "U2", "h1") is True
    clock.now = T0 + 3
    assert store.add_approval("r1", "U3", "h1") is False
    assert store.approvers("r1") == ["U2", "U3"]
    assert store.approval_count("r1") == 2
    assert store.approvers("other") == []


@pytest.mark.parametrize(
    ("approver", "plan_hash", "prior", "match"),
    [
        ("U1", "h1", None, "your own request"),
        ("U2", "h-stale", None, "different plan"),
        ("U2", "h1", "approved", "is approved, so it no longer takes approvals"),
        ("U2", "h1", "cancelled", "is cancelled"),
    ],
)
def test_approvals_that_must_not_count_are_refused(store: StateStore, approver: str, plan_hash: str,
                                                   prior: str | None, match: str) -> None:  # fmt: skip
    new_request(store)
    if prior:
        store.transition("r1", {"pending"}, prior)
    with pytest.raises(GateRefused, match=match):
        store.add_approval("r1", approver, plan_hash)
    assert store.approval_count("r1") == 0


def test_approving_an_unknown_request_is_not_found(store: StateStore) -> None:
    with pytest.raises(NotFound):
        store.add_approval("ghost", "U2", "h1")


def test_a_double_clicked_approval_counts_once(store: StateStore) -> None:
    new_request(store)
    assert race(8, lambda _i: store.add_approval("r1", "U2", "h1")).count(True) == 1  # one approver, many clicks
    assert store.approval_count("r1") == 1


def test_distinct_approvers_racing_on_two_stores_all_count(db_path: Path) -> None:
    with StateStore(db_path) as a, StateStore(db_path) as b:
        new_request(a)

        def approve(i: int) -> bool:
            return (a, b)[i % 2].add_approval("r1", f"U{10 + i}", "h1")

        assert race(8, approve) == [True] * 8
        assert sorted(b.approvers("r1")) == [f"U{10 + i}" for i in range(8)]


# --- idempotency ---------------------------------------------------------------------------------


def test_claim_is_true_once_per_ttl(store: StateStore, clock: Clock) -> None:
    assert store.claim("k", 10) is True
    assert store.claim("k", 10) is False
    assert store.claim("other", 10) is True
    clock.now = T0 + 9.9
    assert store.claim("k", 10) is False
    clock.now = T0 + 10
    assert store.claim("k", 10) is True, "the key lapses at exactly ttl"
    assert store.claim("k", 10) is False
    with pytest.raises(ValueError, match="ttl"):
        store.claim("k", 0)


def test_expired_keys_are_purged_lazily(store: StateStore, db_path: Path, clock: Clock) -> None:
    for n in range(5):
        store.claim(f"k{n}", 10)
    store.claim("long", 1000)

    def rows() -> int:
        raw = sqlite3.connect(db_path)
        try:
            return int(raw.execute("SELECT count(*) FROM idempotency").fetchone()[0])
        finally:
            raw.close()

    clock.now = T0 + 20
    assert rows() == 6, "nothing is deleted until the next claim"
    store.claim("new", 10)
    assert rows() == 2


def test_claims_survive_a_restart(db_path: Path, clock: Clock) -> None:
    with StateStore(db_path, clock=clock) as s:
        assert s.claim("slack-retry:Ev1", 300)
    with StateStore(db_path, clock=clock) as s:
        assert s.claim("slack-retry:Ev1", 300) is False


# --- promotion threads ---------------------------------------------------------------------------


def test_record_and_read_a_thread(store: StateStore) -> None:
    assert store.thread_of("r1") is None
    store.record_thread("r1", channel="C1", ts="1.5", env="staging", service="svc-a")
    store.record_thread("r1", channel="C2", ts="9.9", env="prod", service="svc-b")  # a retried post cannot move it
    assert store.thread_of("r1") == PromotionThread(
        request_id="r1", channel="C1", ts="1.5", env="staging", service="svc-a", status="pending", commit_sha="",
        created_at=T0, committed_at=None, reconciled_at=None, watchdog_warned=False,
    )  # fmt: skip


def test_thread_lifecycle_marks_each_step_once(store: StateStore, clock: Clock) -> None:
    for n, name in enumerate(("a", "b", "c")):
        store.record_thread(name, channel="C", ts=f"{n}.0", env="staging", service=f"svc-{name}")
    assert store.thread_reconciled("a") is False, "not committed yet"
    assert store.thread_warned("a") is False, "the watchdog only watches committed threads"
    clock.now = T0 + 20
    assert store.thread_committed("b", "bbb") is True
    clock.now = T0 + 10
    assert store.thread_committed("a", "aaa") is True
    assert store.thread_committed("a", "zzz") is False
    assert store.committed_threads() == [store.thread_of("a"), store.thread_of("b")]
    a = store.thread_of("a")
    assert a is not None
    assert (a.status, a.commit_sha, a.committed_at) == ("committed", "aaa", T0 + 10)

    assert store.thread_warned("a") is True
    assert store.thread_warned("a") is False
    a = store.thread_of("a")
    assert a is not None
    assert a.watchdog_warned is True

    clock.now = T0 + 30
    assert store.thread_reconciled("a") is True
    assert store.thread_reconciled("a") is False
    assert store.thread_failed("a") is False, "a reconciled thread stays reconciled"
    assert store.thread_warned("a") is False
    a = store.thread_of("a")
    assert a is not None
    assert (a.status, a.reconciled_at) == ("reconciled", T0 + 30)
    assert [t.request_id for t in store.committed_threads()] == ["b"]

    assert store.thread_failed("b") is True, "Flux can fail a committed revision"
    assert store.thread_failed("b") is False
    assert store.thread_failed("c") is True, "the push itself can fail"
    assert store.thread_committed("c", "ccc") is False
    assert store.committed_threads() == []
    assert store.thread_failed("ghost") is False


# --- outbox --------------------------------------------------------------------------------------


def test_outbox_queue_due_deliver(store: StateStore) -> None:
    queued = [store.enqueue("C1", json.dumps({"n": n}), f"k{n}", T0 + n) for n in range(4)]
    ids = [i for i in queued if i is not None]
    assert len(ids) == 4
    assert ids == sorted(ids)
    assert store.depth() == 4
    assert [i.id for i in store.due(T0 + 10)] == ids
    assert [i.id for i in store.due(T0 + 1)] == ids[:2], "only items whose time has come"
    assert [i.id for i in store.due(T0 + 10, limit=3)] == ids[:3]
    first = store.due(T0 + 10)[0]
    assert first == OutboxItem(id=ids[0], channel="C1", payload='{"n": 0}', dedupe_key="k0", enqueued_at=T0,
                               next_attempt_at=T0, attempts=0, last_error="")  # fmt: skip
    assert store.delivered(first.id) is True
    assert store.delivered(first.id) is False
    assert store.depth() == 3
    assert [i.id for i in store.due(T0 + 10)] == ids[1:]


def test_retry_later_counts_attempts_and_waits(store: StateStore) -> None:
    a = store.enqueue("C1", "{}", "a", T0)
    b = store.enqueue("C1", "{}", "b", T0)
    assert a is not None
    assert b is not None
    assert store.retry_later(a, T0 + 60, "ratelimited") is True
    assert [i.id for i in store.due(T0 + 1)] == [b]
    assert store.retry_later(a, T0 + 120, "timeout") is True
    assert [i.id for i in store.due(T0 + 119)] == [b]
    item = store.due(T0 + 120)[0]
    assert (item.id, item.attempts, item.last_error, item.next_attempt_at) == (a, 2, "timeout", T0 + 120)
    assert store.retry_later(999, T0, "x") is False
    assert store.depth() == 2


def test_outbox_dedupe_window(store: StateStore, clock: Clock) -> None:
    first = store.enqueue("C1", "{}", "ev", T0, window=60)
    assert first is not None
    assert store.enqueue("C1", "{}", "ev", T0 + 59.9, window=60) is None
    assert store.enqueue("C1", "{}", "other", T0 + 1, window=60) is not None
    store.delivered(first)
    assert store.enqueue("C1", "{}", "ev", T0 + 30, window=60) is None, "a repeat after sending is still a repeat"
    second = store.enqueue("C1", "{}", "ev", T0 + 60, window=60)
    assert second is not None, "the window is measured from the last accepted enqueue and ends at exactly window"
    assert second > first
    assert store.enqueue("C1", "{}", "ev", T0 + 119, window=60) is None, "the window restarts at the new row"
    assert store.depth() == 2
    assert store.enqueue("C1", "{}", "", T0) is not None
    assert store.enqueue("C1", "{}", "", T0) is not None, "an empty key never deduplicates"
    clock.now = T0 + 200
    assert store.enqueue("C1", "{}", "ev") is None, "now defaults to the clock; the default window is 300 s"
    clock.now = T0 + 360
    assert store.enqueue("C1", "{}", "ev") is not None
    assert [i.enqueued_at for i in store.due()][-1] == T0 + 360


def test_outbox_ids_are_never_reused(db_path: Path) -> None:
    with StateStore(db_path) as s:
        old = s.enqueue("C", "{}", "", T0)
        assert old is not None
        s.delivered(old)
    with StateStore(db_path) as s:
        new = s.enqueue("C", "{}", "", T0)
        assert new is not None
        assert new > old
        assert s.depth() == 1


_KILLED = """
import sys, time
from bot.adapters.state_store import StateStore
store = StateStore(sys.argv[1])
row = store.enqueue("C1", '{"text": "deployed"}', "flux:abc", 1000.0)
print(row, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_an_enqueued_row_survives_sigkill(db_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(db_path)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE)  # fmt: skip
    try:
        assert proc.stdout is not None
        row = int(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with StateStore(db_path) as s:
        assert [(i.id, i.payload, i.dedupe_key) for i in s.due(1000.0)] == [(row, '{"text": "deployed"}', "flux:abc")]
        assert s.enqueue("C1", "{}", "flux:abc", 1001.0) is None, "the dedupe key was committed with the row"


# --- key-value and restarts ----------------------------------------------------------------------


def test_key_value(store: StateStore) -> None:
    assert store.get("last-revision") is None
    store.put("last-revision", "main@sha1:aaa")
    store.put("last-revision", "main@sha1:bbb")
    store.put("other", "")
    assert store.get("last-revision") == "main@sha1:bbb"
    assert store.get("other") == ""


def test_everything_survives_a_restart(db_path: Path, clock: Clock) -> None:
    with StateStore(db_path, clock=clock) as s:
        new_request(s)
        s.transition("r1", {"pending"}, "pending", channel="C1", message_ts="5.5")
        s.add_approval("r1", "U2", "h1")
        s.record_thread("r1", channel="C1", ts="5.5", env="staging", service="svc-a")
        s.thread_committed("r1", "sha1")
        row = s.enqueue("C1", "{}", "k", T0)
        s.put("k", "v")
        before = (s.get_request("r1"), s.thread_of("r1"), s.due(T0))
    with StateStore(db_path, clock=clock) as s:
        assert (s.get_request("r1"), s.thread_of("r1"), s.due(T0)) == before
        assert s.approvers("r1") == ["U2"]
        assert [i.id for i in s.due(T0)] == [row]
        assert s.get("k") == "v"
        assert s.transition("r1", {"pending"}, "approved")
