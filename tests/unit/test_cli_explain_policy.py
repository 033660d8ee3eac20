"""`gitops-bot explain-policy`: which tag would Flux pick? Exit 0 with the tag, 2 with Flux's error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.seed_layout import image_automation

TAGS = """
staging-v0.0.1-a1b2c3d-1738860100
staging-v0.0.3-c3d4e5f-1738860300
staging-v0.0.2-b2c3d4e-1738860200
staging-v0.0.9-c3d4e5f-1738860300.sig
develop-v0.0.4-d4e5f6a-1738869999
latest
"""


def _policy(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return p


def test_selects_the_newest_build_of_the_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(tmp_path, image_automation("staging", ["backend"]).split("---\n")[0])
    tags = tmp_path / "tags.txt"
    tags.write_text(TAGS)
    assert main(["explain-policy", str(policy), "--tags", str(tags)]) == 0
    assert capsys.readouterr().out.strip() == "staging-v0.0.3-c3d4e5f-1738860300"


def test_flux_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(
        tmp_path,
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: p}\n"
        "spec: {imageRepositoryRef: {name: r}, policy: {numerical: {order: asc}}}\n",
    )
    tags = tmp_path / "tags.txt"
    tags.write_text(TAGS)
    assert main(["explain-policy", str(policy), "--tags", str(tags)]) == 2
    assert "failed to parse invalid numeric value" in capsys.readouterr().err


def test_stdin_and_console_script(tmp_path: Path) -> None:
    policy = _policy(tmp_path, image_automation("develop", ["backend"]).split("---\n")[0])
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "explain-policy", str(policy), "--tags", "-"],
        input=TAGS, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "develop-v0.0.4-d4e5f6a-1738869999"


def test_a_file_without_one_policy_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _policy(tmp_path, "kind: ConfigMap\n")
    assert main(["explain-policy", str(policy), "--tags", "-"]) == 2
    assert "exactly one ImagePolicy" in capsys.readouterr().err
