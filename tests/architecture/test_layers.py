"""Every module in bot/ imports only the layers its own layer may (tests/architecture/layers.py).

Read from the source with `ast`, so a lazy import inside a function or under TYPE_CHECKING counts too:
a type-only import is still a dependency a reader must follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.architecture.layers import ALLOWED, LAYER_OF, layer_of

BOT = Path(__file__).resolve().parents[2] / "bot"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported bot.* module) for every import in `source`, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "bot"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "bot":
                continue
            # `from bot import wiring` names the module bot.wiring, not the package.
            names = [f"{target}.{a.name}" for a in node.names]
            found += [(node.lineno, n if layer_of(n) != "package" else target) for n in names]
            found = [(ln, t if layer_of(t) not in (None, "package") else target) for ln, t in found]
    return found


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    assert own is not None, f"{module} belongs to no layer: add it to tests/architecture/layers.py"
    bad = []
    for line, target in project_imports(source, module, is_package):
        theirs = layer_of(target)
        if theirs not in ALLOWED[own] and theirs != "package":
            bad.append(f"line {line}: {module} ({own}) imports {target} ({theirs})")
    return bad


MODULES = sorted(BOT.rglob("*.py"))


def test_every_module_has_a_layer_and_every_layer_is_used() -> None:
    names = [module_name(p, BOT) for p in MODULES]
    assert all(layer_of(n) is not None for n in names), [n for n in names if layer_of(n) is None]
    assert {layer_of(n) for n in names} == set(ALLOWED)
    assert set(LAYER_OF.values()) == set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(BOT)))
def test_module_imports_only_what_its_layer_may(path: Path) -> None:
    module = module_name(path, BOT)
    bad = violations(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
    assert not bad, "\n".join(bad)


# The violations issue 12 found on main, each as the import that made it: the checker must refuse every one.
KNOWN_VIOLATIONS = [
    ("bot.settings", "from bot.flux.events import Route"),
    ("bot.slack.timed", "from bot import jobs"),
    ("bot.jobs", "from bot.slack import blocks"),
    ("bot.flux.delivery", "from bot.slack import blocks, durable"),
    ("bot.flux.render", "from bot.flux.events import FluxEvent\nfrom bot.slack.blocks import section"),
    ("bot.core.plan", "from bot.adapters.git_repo import GitRepo"),
    ("bot.promotion.promote", "from bot.slack.blocks import section"),
    ("bot.adapters.registry", "from bot.wiring import context"),
    ("bot.cli", "from bot.adapters.state_store import StateStore"),
    ("bot.service", "from bot.slack.workflow import Workflow"),
    ("bot.slack.blocks", "from bot.text_output import age"),
    ("bot.flux.events", "from bot.settings import Settings"),
    ("bot.actions.promote", "from bot.slack import messages"),
]


@pytest.mark.parametrize(("module", "source"), KNOWN_VIOLATIONS, ids=[m for m, _ in KNOWN_VIOLATIONS])
def test_the_checker_refuses_each_known_violation(module: str, source: str) -> None:
    assert violations(source, module)


def test_the_checker_resolves_relative_and_lazy_imports() -> None:
    src = "def f():\n    from ..slack import blocks\n"
    assert violations(src, "bot.promotion.promote")
    assert not violations("from . import ports\n", "bot.promotion.promote")
