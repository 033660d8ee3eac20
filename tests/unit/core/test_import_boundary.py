"""The core is pure: it imports the standard library's pure parts, PyYAML's parser, itself and bot.errors.

Read from the source with `ast`, so a lazily imported module inside a function is caught too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[3] / "bot" / "core"
# Standard-library modules that do I/O or touch the process: none may appear in the core.
IO_MODULES = {
    "os",
    "io",
    "pathlib",
    "subprocess",
    "socket",
    "ssl",
    "http",
    "urllib",
    "shutil",
    "tempfile",
    "sqlite3",
    "threading",
    "multiprocessing",
    "concurrent",
    "asyncio",
    "logging",
    "select",
    "signal",
    "time",
    "glob",
    "fcntl",
    "mmap",
    "builtins",
}
ALLOWED_THIRD_PARTY = {"yaml"}
ALLOWED_PROJECT = ("bot.core", "bot.errors")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "bot.core." + (node.module or "")))
            elif node.module:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in {
            "open",
            "__import__",
            "exec",
            "eval",
        }:
            found.append((node.lineno, f"<call {node.func.id}>"))  # type: ignore[attr-defined]
    return found


def _violation(module: str) -> str | None:
    if module.startswith("<call"):
        return "calls a builtin that does I/O or dynamic imports"
    top = module.split(".", maxsplit=1)[0]
    if module.startswith("bot"):
        return None if module.startswith(ALLOWED_PROJECT) else "imports a project module outside the core"
    if top in ALLOWED_THIRD_PARTY or top == "__future__":
        return None
    if top in IO_MODULES:
        return "imports an I/O module"
    if top not in sys.stdlib_module_names:
        return "imports a third-party library"
    return None


def test_core_modules_exist() -> None:
    assert len(list(CORE.glob("*.py"))) >= 5


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    bad = [f"line {ln}: {mod} ({why})" for ln, mod in _imports(path) if (why := _violation(mod))]
    assert not bad, f"{path.name} breaks the core's import boundary:\n" + "\n".join(bad)


def test_the_checker_catches_violations(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import subprocess\nfrom bot.adapters import git_repo\nimport requests\nopen('x')\n")
    reasons = [_violation(m) for _, m in _imports(sample)]
    assert all(reasons), reasons
