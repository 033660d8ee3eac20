"""The libyaml guard: `_nesting_bound` must never under-estimate how deep a text nests, or a hostile file
could crash the process inside libyaml's C composer."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import yamldocs

_leaf = st.one_of(st.integers(), st.text(max_size=5), st.none())
_trees = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3),
                            st.dictionaries(st.text(min_size=1, max_size=3), inner, min_size=1, max_size=3)),
    max_leaves=40,
)  # fmt: skip


def _depth(node: yaml.Node) -> int:
    if isinstance(node, yaml.MappingNode):
        return 1 + max((max(_depth(k), _depth(v)) for k, v in node.value), default=0)
    if isinstance(node, yaml.SequenceNode):
        return 1 + max((_depth(v) for v in node.value), default=0)
    return 1


@settings(max_examples=300, deadline=None)
@given(_trees, st.sampled_from([False, True, None]), st.integers(min_value=2, max_value=4))
def test_the_bound_covers_the_real_depth(tree: Any, flow: bool | None, indent: int) -> None:
    text = yaml.safe_dump(tree, default_flow_style=flow, indent=indent)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    assert node is not None
    assert yamldocs._nesting_bound(text) >= _depth(node)


def test_compact_and_indented_nesting_is_counted() -> None:
    assert yamldocs._nesting_bound("- " * 50000 + "x\n") >= 50000
    deep = "".join(" " * (2 * i) + f"k{i}:\n" for i in range(3000)) + " " * 6000 + "v\n"
    assert yamldocs._nesting_bound(deep) >= 3000
    assert yamldocs._nesting_bound("a: " + "[" * 50000 + "]" * 50000) >= 50000


def test_ordinary_manifests_take_libyaml() -> None:
    service = "".join(
        f"---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: svc-{i}\n"
        f"spec:\n  filterTags:\n    pattern: '^staging-v[0-9]+-(?P<ts>[0-9]+)$'\n"
        for i in range(500)
    )
    assert yamldocs._use_libyaml(service)  # 500 documents, each shallow: the fast path
