"""Hypothesis strategies that write Kubernetes-like YAML text with setter markers, for the property tests of
yamltext and setters. The text is built line by line, so it has the odd spacing real files have."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Draw = Callable[[st.SearchStrategy[Any]], Any]

KEYS = st.sampled_from(
    ["image", "tag", "name", "newTag", "repository", "values", "a-b", "x", "k8s", "digest"]
)
PLAIN = st.sampled_from(
    ["v1", "1.0", "1606234201", "ghcr.io/a/b:1.2.3", "true", "yes", "x y", "a,b"]
) | st.from_regex(r"[a-z][a-z0-9.-]{0,8}(:[a-z0-9.]{1,6})?", fullmatch=True)
ANY_VALUE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)
SETTERS = st.sampled_from(
    ["ns:p1", "ns:p1:tag", "ns:p1:name", "ns:p1:digest", "ns:p2", "ns:p2:tag", "other:p3", "ns:p1:bogus"]
)
# New values that exercise quoting: numbers, YAML 1.1 booleans, empty, timestamps, indicators, quotes.
TRICKY = st.sampled_from(
    [
        "1606364286",
        "1.10",
        "true",
        "yes",
        "",
        "a: b",
        "it's",
        'q"uote',
        "x #y",
        " lead",
        "ünï",
        "0x1F",
        "2024-01-15",
    ]
) | st.from_regex(r"[a-z0-9][a-z0-9._/:@-]{0,20}", fullmatch=True)


@st.composite
def scalar(draw: Draw, values: st.SearchStrategy[str] = PLAIN) -> str:
    style = draw(st.sampled_from(["plain", "single", "double"]))
    if style == "plain":
        return str(draw(PLAIN))
    value = str(draw(values | ANY_VALUE))
    return (
        "'" + value.replace("'", "''") + "'" if style == "single" else json.dumps(value, ensure_ascii=False)
    )


@st.composite
def comment(draw: Draw, markers: bool) -> str:
    kind = draw(
        st.sampled_from(["none", "note", "marker", "marker", "marker"] if markers else ["none", "note"])
    )
    if kind == "none":
        return ""
    if kind == "note":
        return " # note"
    setter = draw(SETTERS)
    form = draw(
        st.sampled_from(
            [' # {{"$imagepolicy": "{}"}}', ' #{{"$imagepolicy":"{}"}}', '  ## {{"$imagepolicy": "{}"}}']
        )
    )
    return str(form.format(setter))


@st.composite
def block(
    draw: Draw, indent: int, depth: int, markers: bool, keys: st.SearchStrategy[str] = KEYS
) -> list[str]:
    """Lines of a block mapping at `indent` (never empty)."""
    pad = " " * indent
    lines: list[str] = []
    for key in draw(st.lists(keys, min_size=1, max_size=4, unique=True)):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", f"{pad}# a comment line", "# at column 0"])))
        kind = draw(st.sampled_from(["scalar", "scalar", "map", "seq"] if depth < 3 else ["scalar"]))
        if kind == "scalar":
            lines.append(f"{pad}{key}: {draw(scalar())}{draw(comment(markers))}")
        elif kind == "map":
            lines.append(f"{pad}{key}:")
            lines += draw(block(indent + 2, depth + 1, markers))
        else:
            lines.append(f"{pad}{key}:")
            item_pad = pad if draw(st.booleans()) else pad + "  "
            for _ in range(draw(st.integers(1, 3))):
                if draw(st.booleans()):
                    lines.append(f"{item_pad}- {draw(scalar())}{draw(comment(markers))}")
                else:
                    sub = draw(block(len(item_pad) + 2, depth + 1, markers))
                    lines += [f"{item_pad}- {sub[0].lstrip(' ')}", *sub[1:]]
    return lines


@st.composite
def document(draw: Draw, index: int, markers: bool = True) -> str:
    head = f"apiVersion: v1\nkind: Deployment\nmetadata:\n  name: app{index}\n"
    if draw(st.booleans()):
        head += "  namespace: apps\n"
    return head + "spec:\n" + "\n".join(draw(block(2, 1, markers))) + "\n"


@st.composite
def yaml_file(draw: Draw, markers: bool = True) -> str:
    """One or more documents, maybe a leading `---`, `--- # comment` separators, maybe CRLF line ends."""
    docs = [draw(document(i, markers)) for i in range(draw(st.integers(1, 3)))]
    seps = [draw(st.sampled_from(["---\n", "--- # next\n"])) for _ in docs[1:]]
    text: str = (
        draw(st.sampled_from(["", "---\n"]))
        + docs[0]
        + "".join(s + d for s, d in zip(seps, docs[1:], strict=True))
    )
    if draw(st.booleans()):
        text = text.rstrip("\n")
    return text.replace("\n", "\r\n") if draw(st.integers(0, 4)) == 0 else text


SPEC_KEYS = st.sampled_from(["interval", "sourceRef", "git", "update", "policySelector", "x"])


@st.composite
def automation(draw: Draw) -> tuple[str, int, str | None]:
    """An ImageUpdateAutomation between other documents: (text, spec child indent, existing suspend text)."""
    indent = draw(st.sampled_from([2, 4]))
    lines = draw(block(indent, 1, False, SPEC_KEYS))
    suspend = draw(st.sampled_from([None, "true", "false", '"false"', "false # held"]))
    if suspend is not None:
        pad = " " * indent
        roots = [
            i
            for i, line in enumerate(lines)
            if line[:indent] == pad and line[indent : indent + 1] not in " #-"
        ]
        at = draw(st.sampled_from([*roots, len(lines)]))
        lines.insert(at, f"{' ' * indent}suspend: {suspend}")
    doc = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: auto\n"
    doc += "  namespace: flux-system\nspec:\n" + "\n".join(lines) + "\n"
    before = draw(st.sampled_from(["", "kind: ConfigMap\nmetadata: {name: c}\n---\n"]))
    after = draw(
        st.sampled_from(["", "---\nkind: ConfigMap\nmetadata:\n  name: d\n", "# trailing comment\n"])
    )
    return before + doc + after, indent, suspend
