"""GitRepo against real remotes: bare repos on disk, `git daemon`, and smart HTTP with Basic auth."""

from __future__ import annotations

import logging
import re
import shlex
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.git_credentials import GitCredentials, display_url, git_env, split_password
from bot.adapters.git_repo import GitRepo, PushResult, Snapshot
from bot.core.commit_message import CommitMessage, person, promotion_message
from bot.core.plan import Edit
from bot.errors import (
    ConfigError,
    GitError,
    InvalidInput,
    NotFound,
    PushConflict,
    PushRetriesExhausted,
    RemoteUnreachable,
)
from tests.canaries import WRONG_GIT_TOKEN
from tests.servers.git_daemon import BareRemote, GitDaemon, GitHTTP, MakeRemote, free_port, git

ALICE = person("Alice", "slack:U0ALICE")
SERVICES = ("svc-a", "svc-b")


def deploy_path(svc: str) -> str:
    return f"apps/staging/{svc}/deployment.yaml"


def tag(n: int) -> str:
    return f"staging-v0.0.{n}-a1b2c3d-{1738860000 + n}"


def deployment(svc: str, n: int) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: {svc}\nspec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: app\n"
        f'          image: ghcr.io/acme/{svc}:{tag(n)} # {{"$imagepolicy": "flux-system:{svc}-staging"}}\n'
    )


def layout() -> dict[str, str]:
    files = {deploy_path(s): deployment(s, 0) for s in SERVICES}
    files["apps/staging/kustomization.yaml"] = "resources:\n" + "".join(f"  - {s}\n" for s in SERVICES)
    files["apps/staging/Kustomization"] = "resources: []\n"
    files["apps/staging/notes.txt"] = "not a manifest\n"
    files["clusters/staging/flux.yml"] = "kind: Kustomization\n"
    files[".gitignore"] = "*.local\n"
    return files


def current_n(text: str) -> int:
    m = re.search(r":staging-v0\.0\.(\d+)-", text)
    assert m is not None, text
    return int(m.group(1))


def promotion(svc: str, n: int) -> CommitMessage:
    return promotion_message(
        service=svc, version=f"0.0.{n}", sha="a1b2c3d", source_env="develop", target_env="staging",
        source_tag=f"develop-v0.0.{n}-a1b2c3d-1738850000", target_tag=tag(n), digest="sha256:" + "ab" * 32,
        promoted_by=ALICE, approved_by=[person("Bob", "slack:U0BOB")], request_id=f"req-{svc}-{n}",
    )


def bump(svc: str, n: int, calls: list[str] | None = None) -> Callable[[Snapshot], Edit | None]:
    """A promotion-shaped plan: set svc's marker line to tag(n), computed from the snapshot it is given."""

    def plan(snapshot: Snapshot) -> Edit | None:
        if calls is not None:
            calls.append(snapshot.head)
        text = snapshot.read(deploy_path(svc))
        assert text is not None
        return Edit({deploy_path(svc): re.sub(r":staging-v\S+ #", f":{tag(n)} #", text)}, promotion(svc, n))

    return plan


def repo_for(url: str, workdir: Path, branch: str = "main", **kw: Any) -> GitRepo:
    return GitRepo(url, branch, workdir, author_name="gitops-bot", author_email="bot@example.com", **kw)


def assert_clean(repo: GitRepo) -> None:
    """The clone sits exactly on origin/main with nothing local."""
    assert git("status", "--porcelain", "--ignored", cwd=repo.workdir) == ""
    head = git("rev-parse", "HEAD", cwd=repo.workdir)
    assert head == git("rev-parse", "refs/remotes/origin/main", cwd=repo.workdir)


# --- the clone ------------------------------------------------------------------------------------------


def test_sync_clones_once_then_fetches_and_wipes_local_changes(bare_remote: MakeRemote,
                                                               tmp_path: Path) -> None:
    remote = bare_remote(layout())
    repo = repo_for(remote.url, tmp_path / "clone")
    first = repo.sync()
    assert first.head == remote.head()
    sentinel = repo.workdir / ".git" / "sentinel-from-this-test"
    sentinel.write_text("same clone\n")

    # Local damage of every kind, then someone else pushes.
    (repo.workdir / deploy_path("svc-a")).write_text("garbage\n")
    (repo.workdir / "untracked.yaml").write_text("junk: true\n")
    (repo.workdir / "ignored.local").write_text("junk\n")
    git("add", "untracked.yaml", cwd=repo.workdir)
    git("commit", "-q", "-m", "a local commit that never got pushed", cwd=repo.workdir)
    moved = remote.push({deploy_path("svc-b"): deployment("svc-b", 7)})
    (repo.workdir / ".git" / "index.lock").write_text("")  # as a git killed by the timeout leaves it

    second = repo.sync()
    assert second.head == moved == remote.head()
    assert sentinel.exists(), "sync must reuse the clone, not clone afresh"
    assert not (repo.workdir / "untracked.yaml").exists()
    assert not (repo.workdir / "ignored.local").exists()
    assert second.read(deploy_path("svc-a")) == deployment("svc-a", 0)
    assert second.read(deploy_path("svc-b")) == deployment("svc-b", 7)
    assert_clean(repo)

    # A new instance (a restarted bot) on the same workdir reuses the clone too.
    third = repo_for(remote.url, tmp_path / "clone").sync()
    assert third.head == moved and sentinel.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clone", "others", "remotes", "seeds"]


def test_a_blobless_clone_fetches_blobs_on_demand(bare_remote: MakeRemote, git_daemon: GitDaemon,
                                                  tmp_path: Path) -> None:
    remote = bare_remote(layout())
    remote.git("config", "uploadpack.allowFilter", "true")
    repo = repo_for(git_daemon.url(remote.name), tmp_path / "clone", blobless=True)
    assert repo.commit_and_push(bump("svc-a", 1)).sha == remote.head()
    assert git("config", "remote.origin.partialclonefilter", cwd=repo.workdir) == "blob:none"
    shas = [r.sha for r in repo.history([deploy_path("svc-a")])]
    assert shas == remote.git("rev-list", "main").splitlines()


def test_snapshot_lists_tracked_manifests_only(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    repo = repo_for(remote.url, tmp_path / "clone")
    snap = repo.sync()
    (repo.workdir / "apps/staging/stray.yaml").write_text("untracked: true\n")
    assert sorted(snap.files()) == [
        "apps/staging/Kustomization", "apps/staging/kustomization.yaml", deploy_path("svc-a"),
        deploy_path("svc-b"), "clusters/staging/flux.yml",
    ]
    assert sorted(snap.files("clusters/")) == ["clusters/staging/flux.yml"]
    assert snap.files("apps/staging/svc-a") == {deploy_path("svc-a"): deployment("svc-a", 0)}
    assert snap.files("apps/stag") == {}  # a prefix is a directory, not a string prefix
    assert snap.read("apps/staging/notes.txt") == "not a manifest\n"
    assert snap.read("apps/staging/stray.yaml") is None
    assert snap.read("../remotes/fleet.git/HEAD") is None
    assert snap.read("missing.yaml") is None


def test_commit_lands_as_the_bot_with_the_person_in_trailers(bare_remote: MakeRemote, git_daemon: GitDaemon,
                                                            tmp_path: Path) -> None:
    remote = bare_remote(layout())
    repo = repo_for(git_daemon.url(remote.name), tmp_path / "clone")
    result = repo.commit_and_push(bump("svc-a", 1))
    assert result == PushResult(sha=remote.head(), tries=1, noop=False)
    assert remote.show(deploy_path("svc-a")) + "\n" == deployment("svc-a", 1)
    assert remote.git("log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        "gitops-bot <bot@example.com>|gitops-bot <bot@example.com>"
    )
    assert remote.git("log", "-1", "--format=%B") + "\n" == promotion("svc-a", 1).render()
    assert git("log", "-1", "--format=%(trailers:key=Promoted-by,valueonly)", cwd=repo.workdir) == ALICE
    record = repo.history([deploy_path("svc-a")], max_count=1)[0]
    assert record.sha == result.sha
    assert record.trailers.get("Promoted-by") == ALICE
    assert record.trailers.all("Approved-by") == [person("Bob", "slack:U0BOB")]
    assert record.kind == "promote"
    assert_clean(repo)


def test_noop_plans_commit_nothing(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    before = remote.head()
    repo = repo_for(remote.url, tmp_path / "clone")
    assert repo.commit_and_push(lambda s: None) == PushResult(None, 1, True)
    same = Edit({deploy_path("svc-a"): deployment("svc-a", 0)}, promotion("svc-a", 0))
    assert repo.commit_and_push(lambda s: same) == PushResult(None, 1, True)
    assert remote.head() == before
    assert_clean(repo)


def test_an_edit_outside_the_repository_is_refused(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    before = remote.head()
    repo = repo_for(remote.url, tmp_path / "clone")
    for bad in ("../escape.yaml", "/etc/passwd", ".git/config", "apps/../../x.yaml"):
        edit = Edit({bad: "x: 1\n"}, promotion("svc-a", 1))

        def plan(snapshot: Snapshot, edit: Edit = edit) -> Edit | None:
            return edit

        with pytest.raises(InvalidInput):
            repo.commit_and_push(plan)
    assert remote.head() == before
    assert not (tmp_path / "escape.yaml").exists() and not (tmp_path / "x.yaml").exists()
    assert_clean(repo)


def test_an_edit_through_a_symlink_is_refused(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    other = tmp_path / "other"
    git("clone", "-q", remote.url, str(other))
    (other / "linked").symlink_to("/tmp")
    (other / "deploy.yaml").symlink_to(deploy_path("svc-a"))
    git("add", "-A", cwd=other)
    git("commit", "-q", "-m", "links", cwd=other)
    git("push", "-q", "origin", "HEAD:main", cwd=other)
    before = remote.head()
    repo = repo_for(remote.url, tmp_path / "clone")
    for bad in ("linked/x.yaml", "deploy.yaml"):
        edit = Edit({bad: "x: 1\n"}, promotion("svc-a", 1))

        def plan(snapshot: Snapshot, edit: Edit = edit) -> Edit | None:
            return edit

        with pytest.raises(InvalidInput, match="symbolic link"):
            repo.commit_and_push(plan)
    assert remote.head() == before
    assert_clean(repo)


# --- contention -----------------------------------------------------------------------------------------


def test_two_replicas_pushing_concurrently_land_every_commit_linearly(
    bare_remote: MakeRemote, git_daemon: GitDaemon, tmp_path: Path
) -> None:
    remote = bare_remote(layout())
    # Pushes take turns per process and (url, branch) (GroupCommit); two replicas are two processes. Two
    # spellings of the same daemon path (git daemon tries "<name>" and "<name>.git") give each its own turn.
    urls = {"svc-a": git_daemon.url(remote.name), "svc-b": git_daemon.url(remote.name.removesuffix(".git"))}
    calls: dict[str, list[str]] = {s: [] for s in SERVICES}
    results: dict[str, list[PushResult]] = {s: [] for s in SERVICES}
    errors: list[BaseException] = []
    start = threading.Barrier(len(SERVICES))

    def replica(svc: str) -> None:
        try:
            repo = repo_for(urls[svc], tmp_path / f"replica-{svc}", max_tries=30, backoff=(0.01, 0.2))
            start.wait()
            for n in range(1, 21):
                results[svc].append(repo.commit_and_push(bump(svc, n, calls[svc])))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=replica, args=(s,)) for s in SERVICES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors
    assert all(len(results[s]) == 20 for s in SERVICES)

    head = remote.head()
    assert remote.git("rev-list", "--count", head) == "41"
    assert remote.git("rev-list", "--merges", head) == ""
    for svc in SERVICES:
        shas = [r.sha for r in results[svc]]
        assert all(sha is not None for sha in shas)
        for sha in shas:
            remote.git("merge-base", "--is-ancestor", str(sha), head)  # raises when not an ancestor
        assert current_n(remote.show(deploy_path(svc))) == 20
        # Every try called the plan once, on the HEAD it had just fetched; a retry never reused a HEAD.
        assert len(calls[svc]) == sum(r.tries for r in results[svc])
    retries = sum(r.tries - 1 for s in SERVICES for r in results[s])
    assert retries > 0, "two replicas racing on one branch should have been rejected at least once"
    subjects = remote.git("log", "--format=%s", head).splitlines()
    assert sorted(subjects[:-1]) == sorted(
        f"promote({s}): v0.0.{n} a1b2c3d develop → staging" for s in SERVICES for n in range(1, 21)
    )


def test_instances_sharing_url_and_branch_take_turns_in_one_process(bare_remote: MakeRemote,
                                                                    tmp_path: Path) -> None:
    remote = bare_remote(layout())
    results: list[PushResult] = []
    errors: list[BaseException] = []

    def worker(svc: str) -> None:
        try:
            repo = repo_for(remote.url, tmp_path / f"w-{svc}", max_tries=1)
            results.extend(repo.commit_and_push(bump(svc, n)) for n in range(1, 6))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(s,)) for s in SERVICES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors  # with max_tries=1, one rejected push would have raised PushRetriesExhausted
    assert [r.tries for r in results] == [1] * 10
    assert remote.git("rev-list", "--count", "main") == "11"


def test_callers_queued_behind_a_push_land_together_one_commit_each(bare_remote: MakeRemote,
                                                                    tmp_path: Path) -> None:
    remote = bare_remote(layout())
    remote.git("config", "core.logAllRefUpdates", "always")
    repo = repo_for(remote.url, tmp_path / "clone")
    repo.sync()
    gate, holding = threading.Event(), threading.Event()
    results: dict[str, PushResult | BaseException] = {}

    def first(snapshot: Snapshot) -> Edit | None:
        holding.set()
        gate.wait(30)  # holds the lock while the others queue up
        return bump("svc-a", 1)(snapshot)

    def conflicting(snapshot: Snapshot) -> Edit | None:
        raise PushConflict("svc-b moved.", current="x")

    def call(name: str, plan: Callable[[Snapshot], Edit | None]) -> None:
        try:
            results[name] = repo.commit_and_push(plan)
        except BaseException as err:
            results[name] = err

    plans = {"first": first, "a2": bump("svc-a", 2), "b1": bump("svc-b", 1), "conflict": conflicting,
             "b1-again": bump("svc-b", 1), "a3": bump("svc-a", 3)}  # fmt: skip
    threads = {n: threading.Thread(target=call, args=(n, p)) for n, p in plans.items()}
    threads["first"].start()
    assert holding.wait(30), "the first push never got to plan"
    for name in ("a2", "b1", "conflict", "b1-again", "a3"):
        threads[name].start()
        while repo.waiting < list(plans).index(name):  # queue in this order, behind the first
            time.sleep(0.01)
    before = len(_reflog(remote))
    gate.set()
    for t in threads.values():
        t.join(timeout=60)

    assert isinstance(results["conflict"], PushConflict)  # only its own caller sees its refusal
    noop = results["b1-again"]
    assert isinstance(noop, PushResult) and noop.noop  # planned on top of b1's commit, in the same batch
    landed = {n: r for n, r in results.items() if isinstance(r, PushResult) and not r.noop}
    assert set(landed) == {"first", "a2", "b1", "a3"}
    assert len(_reflog(remote)) - before == 2, "the four queued behind the first should go in one push"
    subjects = remote.git("log", "--format=%s", "-4", "main").splitlines()
    assert subjects == [f"promote({s}): v0.0.{n} a1b2c3d develop → staging"
                        for s, n in (("svc-a", 3), ("svc-b", 1), ("svc-a", 2), ("svc-a", 1))]  # fmt: skip
    assert remote.git("rev-list", "--count", "main") == "5"
    assert landed["a3"].sha == remote.head()
    assert current_n(remote.show(deploy_path("svc-a"))) == 3
    assert_clean(repo)


def _reflog(remote: BareRemote) -> list[str]:
    log = remote.path / "logs" / "refs" / "heads" / "main"  # written from the first update after the config
    return log.read_text().splitlines() if log.exists() else []


def test_retry_replans_on_the_new_head_and_propagates_the_plans_conflict(bare_remote: MakeRemote,
                                                                         tmp_path: Path) -> None:
    remote = bare_remote(layout())
    repo = repo_for(remote.url, tmp_path / "clone")
    calls: list[str] = []
    raced: list[str] = []

    def plan(snapshot: Snapshot) -> Edit | None:
        calls.append(snapshot.head)
        text = snapshot.read(deploy_path("svc-a")) or ""
        if current_n(text) != 0:  # the value this promotion expected to replace has moved
            now = tag(current_n(text))
            raise PushConflict(f"svc-a in staging moved to {now}.", current=now)
        if not raced:  # someone else promotes svc-a between our sync and our push
            raced.append(remote.push({deploy_path("svc-a"): deployment("svc-a", 5)}, "promote svc-a 5"))
        return bump("svc-a", 1)(snapshot)

    with pytest.raises(PushConflict) as info:
        repo.commit_and_push(plan)
    assert info.value.current == tag(5)
    assert len(calls) == 2 and calls[1] == raced[0] != calls[0]
    assert remote.head() == raced[0], "nothing of ours may land"
    assert_clean(repo)


def test_a_branch_that_keeps_moving_exhausts_the_retries(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    repo = repo_for(remote.url, tmp_path / "clone", max_tries=3, backoff=(0.01, 0.02))
    calls: list[str] = []

    def plan(snapshot: Snapshot) -> Edit | None:
        calls.append(remote.push({"churn.txt": f"{len(calls)}\n"}, "someone else, again"))
        return bump("svc-a", 1)(snapshot)

    with pytest.raises(PushRetriesExhausted) as info:
        repo.commit_and_push(plan)
    assert "main" in str(info.value) and "3 pushes were rejected" in str(info.value)
    assert len(calls) == 3
    assert remote.head() == calls[-1]
    assert current_n(remote.show(deploy_path("svc-a"))) == 0
    assert_clean(repo)


# --- failures -------------------------------------------------------------------------------------------


def test_daemon_down_is_unreachable_and_the_next_call_after_restart_works(
    bare_remote: MakeRemote, git_daemon: GitDaemon, tmp_path: Path
) -> None:
    remote = bare_remote(layout())
    repo = repo_for(git_daemon.url(remote.name), tmp_path / "clone")
    repo.sync()
    git_daemon.stop()
    with pytest.raises(RemoteUnreachable) as info:
        repo.sync()
    assert git_daemon.url(remote.name) in str(info.value)
    calls: list[str] = []
    with pytest.raises(RemoteUnreachable):
        repo.commit_and_push(bump("svc-a", 1, calls))
    assert calls == []

    git_daemon.start()
    result = repo.commit_and_push(bump("svc-a", 1, calls))
    assert result.sha == remote.head() and result.tries == 1
    assert_clean(repo)


def test_remote_dying_between_commit_and_push_leaves_the_clone_reset(
    bare_remote: MakeRemote, git_daemon: GitDaemon, tmp_path: Path
) -> None:
    remote = bare_remote(layout())
    before = remote.head()
    repo = repo_for(git_daemon.url(remote.name), tmp_path / "clone")

    def plan_then_kill(snapshot: Snapshot) -> Edit | None:
        edit = bump("svc-a", 1)(snapshot)
        git_daemon.stop()
        return edit

    with pytest.raises(RemoteUnreachable) as info:
        repo.commit_and_push(plan_then_kill)
    assert "pushing" in str(info.value)
    assert remote.head() == before
    assert_clean(repo)  # the local commit is gone: the next promotion starts from the remote

    git_daemon.start()
    result = repo.commit_and_push(bump("svc-b", 2))
    assert remote.git("rev-list", "--count", "main") == "2"
    assert remote.git("log", "-1", "--format=%s") == promotion("svc-b", 2).subject
    assert result.sha == remote.head()


def test_a_remote_that_never_answers_times_out(black_hole: int, tmp_path: Path) -> None:
    repo = repo_for(f"git://127.0.0.1:{black_hole}/fleet.git", tmp_path / "clones" / "clone", timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(RemoteUnreachable, match="did not answer within 1s while cloning"):
        repo.sync()
    assert time.monotonic() - t0 < 10
    assert list((tmp_path / "clones").iterdir()) == []  # the half-made clone is gone


def test_a_missing_branch_says_so(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    repo = repo_for(remote.url, tmp_path / "clone", branch="release")
    with pytest.raises(GitError) as info:
        repo.sync()
    assert type(info.value) is GitError  # not "unreachable": the remote answered
    assert str(info.value).startswith(f"The Git remote {remote.url} has no branch release")


# --- credentials ----------------------------------------------------------------------------------------


def test_https_token_goes_through_askpass_and_nowhere_else(bare_remote: MakeRemote, git_http: GitHTTP,
                                                           tmp_path: Path) -> None:
    remote = bare_remote(layout())
    url = git_http.url(remote.name)
    repo = repo_for(url, tmp_path / "clone", credentials=GitCredentials(token=git_http.token))
    result = repo.commit_and_push(bump("svc-a", 1))
    assert result.sha == remote.head()
    assert git_http.accepted > 0 and git_http.denied > 0  # git asked only after the 401 challenge
    assert all(git_http.token not in p for p in git_http.seen_paths)
    assert git("config", "remote.origin.url", cwd=repo.workdir) == url
    for f in (repo.workdir / ".git").rglob("*"):
        if f.is_file():
            assert git_http.token.encode() not in f.read_bytes(), f


def test_a_password_in_the_url_is_moved_out_of_git_config(bare_remote: MakeRemote, git_http: GitHTTP,
                                                          tmp_path: Path) -> None:
    remote = bare_remote(layout())
    url = f"http://{git_http.username}:{git_http.token}@127.0.0.1:{git_http.port}/{remote.name}"
    repo = repo_for(url, tmp_path / "clone")
    assert repo.commit_and_push(bump("svc-a", 1)).sha == remote.head()
    stored = git("config", "remote.origin.url", cwd=repo.workdir)
    assert stored == f"http://{git_http.username}@127.0.0.1:{git_http.port}/{remote.name}"
    assert git_http.token not in repo.display_url and git_http.username not in repo.display_url


def test_a_wrong_token_is_reported_without_the_token(
    bare_remote: MakeRemote, git_http: GitHTTP, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    remote = bare_remote(layout())
    wrong = WRONG_GIT_TOKEN
    repo = repo_for(git_http.url(remote.name), tmp_path / "clone", credentials=GitCredentials(token=wrong))
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteUnreachable) as info:
        repo.sync()
    assert "refused our credentials while cloning" in str(info.value)
    assert wrong not in str(info.value) and wrong not in caplog.text
    assert git_http.seen_auth, "git should have tried the token"
    nobody = repo_for(git_http.url(remote.name), tmp_path / "clone2")
    with pytest.raises(RemoteUnreachable, match="refused our credentials"):
        nobody.sync()


def test_failure_messages_carry_neither_userinfo_nor_token(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    secret = "ghp_S3CR3TS3CR3TS3CR3T"
    port = free_port()  # nothing listens here
    cases = [
        (f"https://alice:hunter2@127.0.0.1:{port}/acme/fleet.git", GitCredentials(token=secret)),
        (f"http://alice:{secret}@127.0.0.1:{port}/acme/fleet.git", None),
        (f"ssh://git@127.0.0.1:{port}/acme/fleet.git", GitCredentials(ssh_key_file=str(tmp_path / "id"))),
    ]
    (tmp_path / "id").write_text("not really a key\n")
    for i, (url, creds) in enumerate(cases):
        repo = repo_for(url, tmp_path / f"clone{i}", credentials=creds, timeout=10)
        with caplog.at_level(logging.DEBUG), pytest.raises(RemoteUnreachable) as info:
            repo.sync()
        text = f"{info.value}\n{info.value.hint}\n{caplog.text}"
        for leak in (secret, "hunter2", "alice", "git@"):
            assert leak not in text, (leak, text)
        assert f"127.0.0.1:{port}/acme/fleet.git" in str(info.value)


def test_ssh_command_pins_the_key_and_known_hosts() -> None:
    creds = GitCredentials(ssh_key_file="/keys/deploy key", known_hosts_file="/keys/known_hosts")
    env = git_env(creds, secret=None, timeout=30)
    argv = shlex.split(env["GIT_SSH_COMMAND"])
    assert argv[0] == "ssh"
    pairs = list(pairwise(argv))
    for flag, value in [("-i", "/keys/deploy key"), ("-o", "IdentitiesOnly=yes"), ("-o", "BatchMode=yes"),
                        ("-o", "UserKnownHostsFile=/keys/known_hosts"), ("-o", "StrictHostKeyChecking=yes"),
                        ("-o", "ConnectTimeout=30")]:
        assert (flag, value) in pairs
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GITOPS_BOT_GIT_TOKEN" not in env


def test_credentials_from_the_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("tok_from_file\n")
    assert GitCredentials.from_env({"GIT_TOKEN_FILE": str(token_file)}).token == "tok_from_file"
    both = {"GIT_TOKEN": "tok_env", "GIT_TOKEN_FILE": str(token_file)}
    assert GitCredentials.from_env(both).token == "tok_env"
    ssh = {"GIT_SSH_KEY_FILE": "/k", "GIT_SSH_KNOWN_HOSTS_FILE": "/kh", "GIT_USERNAME": "oauth2"}
    c = GitCredentials.from_env(ssh)
    assert (c.token, c.ssh_key_file, c.known_hosts_file, c.username) == (None, "/k", "/kh", "oauth2")
    assert "tok_env" not in repr(GitCredentials(token="tok_env"))
    with pytest.raises(ConfigError, match="GIT_TOKEN_FILE"):
        GitCredentials.from_env({"GIT_TOKEN_FILE": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="one line"):
        GitCredentials.from_env({"GIT_TOKEN": "tok\nsecond"})


@pytest.mark.parametrize(
    ("url", "shown", "bare", "password"),
    [
        ("https://u:p%40ss@host/r.git", "https://host/r.git", "https://u@host/r.git", "p@ss"),
        ("https://host/r.git", "https://host/r.git", "https://host/r.git", None),
        ("ssh://git@host:2222/r.git", "ssh://host:2222/r.git", "ssh://git@host:2222/r.git", None),
        ("/srv/git/r.git", "/srv/git/r.git", "/srv/git/r.git", None),
        ("https://:tok@host/r", "https://host/r", "https://host/r", "tok"),
    ],
)
def test_urls_are_shown_without_userinfo(url: str, shown: str, bare: str, password: str | None) -> None:
    assert display_url(url) == shown
    assert split_password(url) == (bare, password)


# --- history --------------------------------------------------------------------------------------------


def _history_remote(bare_remote: MakeRemote) -> tuple[BareRemote, dict[str, str]]:
    remote = bare_remote(layout())
    shas = {"initial": remote.head()}
    for n in (1, 2):
        shas[f"a{n}"] = remote.push({deploy_path("svc-a"): deployment("svc-a", n)},
                                    promotion("svc-a", n).render())
    shas["b1"] = remote.push({deploy_path("svc-b"): deployment("svc-b", 1)}, promotion("svc-b", 1).render())
    two_hunks = deployment("svc-a", 3).replace("apps/v1", "apps/v2") + "# trailing, no newline"
    odd_name = 'apps/staging/svc a/é "q".yaml'
    shas["a3"] = remote.push(
        {deploy_path("svc-a"): two_hunks, odd_name: 'tag: x # {"$imagepolicy": "a:b"}\n'},
        "Update from image update automation\n\nAutomation: flux-system/staging\n",
        env={"GIT_AUTHOR_NAME": "fluxcdbot", "GIT_AUTHOR_EMAIL": "fluxcdbot@users.noreply.github.com",
             "GIT_AUTHOR_DATE": "1738861234 +0000"},
    )
    return remote, shas


def test_history_extends_what_it_read_for_an_older_head(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote, shas = _history_remote(bare_remote)
    repo = repo_for(remote.url, tmp_path / "clone")
    paths = [deploy_path("svc-a"), deploy_path("svc-b")]
    repo.sync()
    assert [r.sha for r in repo.history(paths, max_count=3)] == [shas["a3"], shas["b1"], shas["a2"]]
    later = [remote.push({deploy_path("svc-b"): deployment("svc-b", 2)}, promotion("svc-b", 2).render()),
             remote.push({"unrelated.txt": "x\n"}, "not a marker file")]  # fmt: skip
    repo.sync()
    fresh = repo_for(remote.url, tmp_path / "fresh")
    fresh.sync()
    for limit in (3, 2):  # the newer head walks only the new commits; a smaller limit reuses the answer
        got = repo.history(paths, max_count=limit)
        assert [r.sha for r in got] == [r.sha for r in fresh.history(paths, max_count=limit)]
    assert got[0].sha == later[0] and got[0].diffs == fresh.history(paths, max_count=1)[0].diffs
    assert [r.sha for r in repo.history(paths)] == [r.sha for r in fresh.history(paths)]  # no limit: a full walk

    # A rewritten remote (not a descendant of what was read) is read from scratch.
    remote.git("update-ref", "refs/heads/main", shas["b1"])
    repo.sync()
    assert [r.sha for r in repo.history(paths, max_count=3)] == [shas["b1"], shas["a2"], shas["a1"]]


def test_history_reads_marker_lines_and_trailers(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote, shas = _history_remote(bare_remote)
    repo = repo_for(remote.url, tmp_path / "clone")
    repo.sync()
    records = repo.history([deploy_path("svc-a")])
    assert [r.sha for r in records] == [shas["a3"], shas["a2"], shas["a1"], shas["initial"]]
    a3, a2, _a1, first = records
    assert a3.author_name == "fluxcdbot" and a3.authored_at == 1738861234 and a3.kind == "automation"
    assert a3.parents == (shas["b1"],)
    assert [d.path for d in a3.diffs] == [deploy_path("svc-a")]  # limited to the asked paths
    assert a3.diffs[0].removed == ("apiVersion: apps/v1", deployment("svc-a", 2).splitlines()[-1])
    assert a3.diffs[0].added == (
        "apiVersion: apps/v2", deployment("svc-a", 3).splitlines()[-1], "# trailing, no newline",
    )
    assert a2.diffs[0].removed == (deployment("svc-a", 1).splitlines()[-1],)
    assert a2.diffs[0].added == (deployment("svc-a", 2).splitlines()[-1],)
    assert a2.trailers.get("Target-tag") == tag(2) and a2.trailers.get("Promoted-by") == ALICE
    assert a2.subject == promotion("svc-a", 2).subject and a2.message == promotion("svc-a", 2).render()
    assert first.parents == () and first.diffs[0].removed == ()
    assert first.diffs[0].added == tuple(deployment("svc-a", 0).splitlines())

    assert [r.sha for r in repo.history([deploy_path("svc-a")], max_count=2)] == [shas["a3"], shas["a2"]]
    assert [r.sha for r in repo.history([deploy_path("svc-a")], rev=shas["a2"])] == [
        shas["a2"], shas["a1"], shas["initial"],
    ]
    both = repo.history([deploy_path("svc-a"), deploy_path("svc-b")], max_count=3)
    assert [r.sha for r in both] == [shas["a3"], shas["b1"], shas["a2"]]
    odd = repo.history(["apps/staging/svc a"])
    assert [d.path for d in odd[0].diffs] == ['apps/staging/svc a/é "q".yaml']
    assert odd[0].diffs[0].added == ('tag: x # {"$imagepolicy": "a:b"}',)


def test_ancestry_and_new_commits(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote, shas = _history_remote(bare_remote)
    repo = repo_for(remote.url, tmp_path / "clone")
    repo.sync()
    assert repo.is_ancestor(shas["a1"])
    assert repo.is_ancestor(shas["a1"], shas["b1"])
    assert not repo.is_ancestor(shas["b1"], shas["a1"])
    new = repo.commits_between(shas["a2"])
    assert [c.sha for c in new] == [shas["a3"], shas["b1"]]
    assert [c.kind for c in new] == ["automation", "promote"]
    assert repo.commits_between(shas["a3"]) == []
    with pytest.raises(NotFound):
        repo.is_ancestor("0" * 40)
    with pytest.raises(NotFound):
        repo.history([deploy_path("svc-a")], rev="no-such-branch")
    with pytest.raises(InvalidInput):
        repo.history([deploy_path("svc-a")], rev="--output=/tmp/x")
    with pytest.raises(InvalidInput):
        repo.commits_between("-p")
