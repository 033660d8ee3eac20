"""Shape rules a reviewer would otherwise check by hand: module size, and dispatch by kind, not by type."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
MAX_LINES = 400
FRONT_ENDS = [*sorted((BOT / "slack").glob("*.py")), BOT / "cli.py", BOT / "jobs.py"]


@pytest.mark.parametrize("path", sorted(BOT.rglob("*.py")), ids=lambda p: str(p.relative_to(BOT)))
def test_module_stays_under_the_size_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it by concern"


def command_type_checks(source: str) -> list[int]:
    """Lines where `isinstance(x, SomethingCmd)` (or a tuple/union of them) picks what to do by type."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance" and len(node.args) == 2:
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            if any(n.endswith("Cmd") for n in names):
                found.append(node.lineno)
    return found


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: str(p.relative_to(BOT)))
def test_front_ends_dispatch_by_kind_not_by_command_type(path: Path) -> None:
    assert not command_type_checks(path.read_text(encoding="utf-8")), "look the handler up by `cmd.kind` instead"


def test_the_dispatch_check_sees_type_dispatch() -> None:
    assert command_type_checks("if isinstance(cmd, PromoteCmd | ReleaseCmd):\n    pass\n") == [1]
    assert command_type_checks("if isinstance(cmd, (FreezeCmd, UnfreezeCmd)):\n    pass\n") == [1]
    assert not command_type_checks("if isinstance(err, BotError):\n    pass\n")
