"""`gitops-bot demo` as a person runs it: one child process, the whole story, well under ten seconds.

What it prints is checked against the Git remote it leaves in --dir, so the story cannot just be text.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.world import PROJECT
from tests.secrets_guard import check_output, secret_env
from tests.servers.git_daemon import git

# The bound. The demo needs well under a second on an idle machine; ten leaves room for a
# loaded CI runner, yet a demo that went back to polling or sleeping would blow it.
DEADLINE = 10.0


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if text.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _trailers(remote: Path, rev: str) -> dict[str, str]:
    out = git("log", "-1", "--format=%(trailers:only,unfold)", rev, cwd=remote)
    return dict(line.split(": ", 1) for line in out.splitlines() if line)


@pytest.mark.slow
def test_demo_tells_the_whole_story_fast_and_leaves_nothing_running(tmp_path: Path) -> None:
    root = tmp_path / "demo"  # not there yet: the demo creates it
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--dir", str(root)],
        cwd=PROJECT, env={**os.environ, **secret_env()}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, so leftovers can be found by group
    )  # fmt: skip
    out, err = proc.communicate(timeout=60)
    check_output("gitops-bot demo", out, err)
    elapsed = time.monotonic() - started

    assert proc.returncode == 0, f"{out}\n{err}"
    assert elapsed < DEADLINE, f"demo took {elapsed:.1f}s"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # no member of its group is left
    assert _processes_mentioning(str(root)) == []
    assert err == ""
    assert "\x1b[" not in out  # no colour when stdout is not a terminal

    assert out.count("── /versions ") == 3
    promoted = re.search(r"^── /promote (staging-v0\.0\.2-b2c3d4e-\d+) to production +\(as Alice <slack:U0ALICE1>\)",
                         out, re.M)  # fmt: skip
    committed = re.search(r"^✅ committed ([0-9a-f]{12}); Flux will deploy (production-v0\.0\.2-b2c3d4e-\d+)$",
                          out, re.M)  # fmt: skip
    rolled = re.search(r"^backend in production: (\S+) → (production-v0\.0\.1-a1b2c3d-\d+)$", out, re.M)
    assert promoted and committed and rolled, out
    source, (sha, target), old = promoted[1], committed.groups(), rolled[2]
    assert rolled[1] == target
    assert "⏸ production:backend is held (its markers name HELD:production:backend)" in out
    assert f"refused: Resuming backend in production would deploy {target} (Git has {old})." in out
    assert "resume with --force" in out

    remote = root / "fleet.git"
    promotion, revert = git("rev-parse", "main~1", "main", cwd=remote).split()
    assert promotion.startswith(sha)
    log = out[out.index("── git log") :]
    for line in (
        f"commit {revert[:12]}  gitops-bot  Revert ",
        "    Rolled-back-by: Bob <slack:U0BOB001>",
        f"    Reverts: {promotion}",
        f"    Target-tag: {old}",
        f"commit {promotion[:12]}  gitops-bot  promote(backend): v0.0.2 b2c3d4e staging → production",
        "    Promoted-by: Alice <slack:U0ALICE1>",
        f"    Source-tag: {source}",
        f"    Target-tag: {target}",
    ):
        assert f"\n{line}" in log, line
    # What it printed is what Git holds.
    t = _trailers(remote, promotion)
    assert (t["Promoted-by"], t["Source-tag"], t["Target-tag"]) == ("Alice <slack:U0ALICE1>", source, target)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", t["Digest"]) and f"    Digest: {t['Digest']}" in log
    assert _trailers(remote, revert)["Reverts"] == promotion
