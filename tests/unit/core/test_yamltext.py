"""bot.core.yamltext: scalar spans as Flux reads a file, byte-preserving replacement, set_field/get_field."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import yamltext
from bot.core.yamltext import (
    ObjectId,
    Scalar,
    get_field,
    replace_scalar,
    replace_spans,
    set_field,
    value_scalars,
)
from bot.errors import InvalidInput, NotFound
from tests.unit.core.yaml_strategies import automation, yaml_file

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/web:1.0.0 # {"$imagepolicy": "flux-system:web"}
      - name: 'side car'   #   note
        args: ["a", b]  # not a line comment of a scalar
        env: |
          X=1
"""


def _summary(text: str, **kw: bool) -> list[tuple[str, str, str, int, str]]:
    scalars = value_scalars(text, **kw)
    assert scalars is not None
    return [(s.path, s.value, s.style, s.line, s.comment) for s in scalars]


def test_value_scalars_of_a_deployment() -> None:
    assert _summary(DEPLOY) == [
        ("apiVersion", "apps/v1", "plain", 1, ""),
        ("kind", "Deployment", "plain", 2, ""),
        ("metadata.name", "web", "plain", 4, ""),
        ("metadata.namespace", "apps", "plain", 5, ""),
        ("spec.template.spec.containers[0].name", "web", "plain", 10, ""),
        (
            "spec.template.spec.containers[0].image",
            "ghcr.io/acme/web:1.0.0",
            "plain",
            11,
            '# {"$imagepolicy": "flux-system:web"}',
        ),
        ("spec.template.spec.containers[1].name", "side car", "single", 12, "#   note"),
        ("spec.template.spec.containers[1].args[0]", "a", "double", 13, ""),  # flow context: no comment
        ("spec.template.spec.containers[1].args[1]", "b", "plain", 13, ""),
        ("spec.template.spec.containers[1].env", "X=1\n", "literal", 14, ""),
    ]
    scalars = value_scalars(DEPLOY)
    assert scalars is not None
    assert {s.object for s in scalars} == {ObjectId("apps/v1", "Deployment", "web", "apps")}
    for s in scalars:
        assert yaml.safe_load("v: " + DEPLOY[s.start : s.end])["v"] == s.value or s.style == "literal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Flux splits on `\n---.*\n` and reads only what follows; a `--- # comment` separator is fine.
        ("a: 1\n--- # two\nb: 2\n", [("a", "1", 0), ("b", "2", 1)]),
        ("---\na: 1\n---\n\n---\nb: 2", [("a", "1", 0), ("b", "2", 1)]),
        # yaml.v3 decodes only the first document of a part: `...` does not start a part.
        ("a: 1\n...\nb: 2\n", [("a", "1", 0)]),
        # Aliases are not visited, only the anchored node, at its own path.
        ("a: &x v\nb: *x\n", [("a", "v", 0)]),
        # Only the first of duplicate keys is visited (kyaml looks fields up by name).
        ("a: 1\na: 2\n", [("a", "1", 0)]),
        ("a: !!str 5\n", [("a", "5", 0)]),
        ("a: [x, {y: z}]\n", [("a[0]", "x", 0), ("a[1].y", "z", 0)]),
        ("a:\n- - n\n", [("a[0][0]", "n", 0)]),
        ("~\n---\na: 1\n", [("a", "1", 0)]),  # a null document is skipped, as kyaml does
        ("", []),
        ("# only a comment\n", []),
    ],
)
def test_documents_as_flux_reads_them(text: str, expected: list[tuple[str, str, int]]) -> None:
    scalars = value_scalars(text)
    assert scalars is not None
    assert [(s.path, s.value, s.document) for s in scalars] == expected


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n--- x\nb: 2\n",  # kyaml: invalid document separator
        "a: [1\n",
        "- a\n- b\n",  # kyaml cannot annotate a bare list document
        "just text\n",
        "a: 1\n---\n- b\n",
        "a: *nope\n",
        "a: 1\n\tb: 2\n",
        # Deep nesting: PyYAML's RecursionError, not a crash inside libyaml.
        pytest.param("a: " + "[" * 50000 + "]" * 50000 + "\n", id="deep-flow"),
        pytest.param("- " * 50000 + "x\n", id="deep-block"),
    ],
)
def test_unreadable_files_give_none(text: str) -> None:
    assert value_scalars(text) is None
    assert value_scalars(text, libyaml=False) is None


def test_spans_and_comments_survive_crlf() -> None:
    text = DEPLOY.replace("\n", "\r\n")
    scalars = value_scalars(text, commented_only=True)
    assert scalars is not None
    assert [(text[s.start : s.end], s.line, s.comment) for s in scalars] == [
        ("ghcr.io/acme/web:1.0.0", 11, '# {"$imagepolicy": "flux-system:web"}'),
        ("'side car'", 12, "#   note"),
    ]


def test_spans_skip_anchor_and_tag() -> None:
    text = "a: &x !!str 'v' # c\nb: &y\nc: !t x\n"
    scalars = value_scalars(text)
    assert scalars is not None
    assert [(text[s.start : s.end], s.comment) for s in scalars] == [("'v'", "# c"), ("", ""), ("x", "")]


def test_no_comment_after_block_scalars_or_empty_values() -> None:
    assert _summary("a: | # c\n  x\nb: # c\n") == [("a", "x\n", "literal", 1, ""), ("b", "", "plain", 3, "")]


def test_replace_scalar_keeps_style_and_every_other_byte() -> None:
    scalars = value_scalars(DEPLOY)
    assert scalars is not None
    image, side = scalars[5], scalars[6]
    out = replace_scalar(DEPLOY, image, "ghcr.io/acme/web:2.0.0")
    assert out == DEPLOY.replace("web:1.0.0", "web:2.0.0")
    out = replace_scalar(DEPLOY, side, "it's")
    assert out == DEPLOY.replace("'side car'", "'it''s'")
    with pytest.raises(InvalidInput, match="block scalar"):
        replace_scalar(DEPLOY, scalars[-1], "X=2")


def test_replace_spans_refuses_overlaps() -> None:
    assert replace_spans("abcdef", [(4, 5, "E"), (0, 1, "A")]) == "AbcdEf"
    with pytest.raises(InvalidInput):
        replace_spans("abcdef", [(0, 3, "x"), (2, 4, "y")])


# --- set_field / get_field ------------------------------------------------------------------------------

IUA = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: auto
  namespace: flux-system
spec:
  interval: 30m
  update:
    path: ./clusters   # where
    strategy: Setters
  # a comment after the last entry
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: auto
"""
HEAD = "kind: ImageUpdateAutomation\nmetadata: {name: auto, namespace: flux-system}\n"
AUTO = {"kind": "ImageUpdateAutomation", "name": "auto", "namespace": "flux-system"}


@pytest.mark.parametrize(
    ("text", "path", "value", "expected"),
    [
        (IUA, "spec.suspend", True, IUA.replace("Setters\n", "Setters\n  suspend: true\n")),
        (IUA, ("spec", "suspend"), "false", IUA.replace("Setters\n", "Setters\n  suspend: false\n")),
        (IUA, "spec.update.path", "./apps", IUA.replace("./clusters", "./apps")),
        (IUA, "spec.interval", 5, IUA.replace("30m", "5")),
        (
            IUA,
            "metadata.labels.team",
            "a: b",
            IUA.replace("flux-system\nspec", "flux-system\n  labels:\n    team: 'a: b'\nspec"),
        ),
        (
            IUA,
            "spec.git.commit.author",
            "bot",
            IUA.replace("Setters\n", "Setters\n  git:\n    commit:\n      author: bot\n"),
        ),
        (
            HEAD + "spec: {interval: 1m}\n",
            "spec.suspend",
            True,
            HEAD + "spec: {interval: 1m, suspend: true}\n",
        ),
        (
            HEAD + "spec: ~ # later\n",
            "spec.suspend",
            True,
            HEAD + "spec: # later\n  suspend: true\n",
        ),
        (
            HEAD + "spec:\n  suspend:\n",
            "spec.suspend",
            False,
            HEAD + "spec:\n  suspend: false\n",
        ),
        (
            HEAD + "spec:\n  suspend: 'false' # held\n",
            "spec.suspend",
            True,  # a boolean is written plain, whatever quoting the string had
            HEAD + "spec:\n  suspend: true # held\n",
        ),
        (
            HEAD + "spec:\n  list:\n  - a\n  - b\n",
            "spec.suspend",
            True,
            HEAD + "spec:\n  list:\n  - a\n  - b\n  suspend: true\n",
        ),
        (
            HEAD + "spec:\n    interval: 1m",
            "spec.suspend",
            True,
            HEAD + "spec:\n    interval: 1m\n    suspend: true\n",
        ),
        (
            IUA.replace("\n", "\r\n"),
            "spec.suspend",
            True,
            IUA.replace("Setters\n", "Setters\n  suspend: true\n").replace("\n", "\r\n"),
        ),
    ],
)
def test_set_field(text: str, path: yamltext.FieldPath, value: str | bool | int, expected: str) -> None:
    assert set_field(text, path=path, value=value, **AUTO) == expected
    want = value if isinstance(value, str) else str(value).lower()
    assert get_field(expected, path=path, **AUTO) == want


def test_get_field() -> None:
    assert get_field(IUA, path="spec.update.strategy", **AUTO) == "Setters"
    assert get_field(IUA, path="spec.suspend", **AUTO) is None
    assert get_field(IUA, path="spec.interval.x", **AUTO) is None
    assert get_field(IUA, path="metadata.name", kind="ConfigMap", name="auto", namespace="") == "auto"
    with pytest.raises(InvalidInput, match="more than one value"):
        get_field(IUA, path="spec.update", **AUTO)


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"path": "spec.suspend", "name": "other"}, NotFound, "no ImageUpdateAutomation flux-system/other"),
        ({"path": "spec.update", "value": True}, InvalidInput, "more than one value"),
        (
            {"path": "spec.interval.x"},
            InvalidInput,
            "spec.interval of ImageUpdateAutomation auto is not a mapping",
        ),
        ({"path": "spec.list[0]"}, InvalidInput, "list item"),
        ({"path": "spec..x"}, InvalidInput, "not a field path"),
        ({"path": ()}, InvalidInput, "not a field path"),
    ],
)
def test_set_field_errors(kw: dict[str, object], error: type[Exception], match: str) -> None:
    args: dict[str, object] = {**AUTO, "value": True, **kw}
    with pytest.raises(error, match=match):
        set_field(IUA, **args)  # type: ignore[arg-type]


def test_set_field_on_unreadable_text() -> None:
    with pytest.raises(InvalidInput, match="not YAML that Flux can read"):
        set_field("a: [", path="x", value=True, **AUTO)


# --- properties -----------------------------------------------------------------------------------------


@given(yaml_file())
@settings(max_examples=150, deadline=None)
def test_libyaml_and_pyyaml_agree(text: str) -> None:
    assert value_scalars(text) == value_scalars(text, libyaml=False)


@given(yaml_file())
@settings(max_examples=150, deadline=None)
def test_spans_hold_their_values_in_order(text: str) -> None:
    scalars = value_scalars(text)
    assert scalars is not None  # the generator writes valid YAML
    last = -1
    for s in scalars:
        assert s.start >= last
        last = s.end
        node = yaml.compose("v: " + text[s.start : s.end].replace("\r\n", "\n"), Loader=yaml.SafeLoader)
        assert isinstance(node, yaml.MappingNode)
        assert node.value[0][1].value == s.value
        assert s.line == text.count("\n", 0, s.start) + 1


@given(st.text(max_size=200) | yaml_file().map(lambda t: t[: len(t) // 2]))
@settings(max_examples=300, deadline=None)
def test_value_scalars_never_raises(text: str) -> None:
    result = value_scalars(text)
    assert result is None or all(isinstance(s, Scalar) for s in result)


def _inserted(old: str, new: str, line: str) -> bool:
    starts = [0, *(i + 1 for i, c in enumerate(old) if c == "\n"), len(old)]
    return any(new == old[:i] + line + old[i:] or new == old[:i] + "\n" + line + old[i:] for i in starts)


@given(automation(), st.booleans())
@settings(max_examples=150, deadline=None)
def test_set_field_keeps_every_other_byte(case: tuple[str, int, str | None], value: bool) -> None:
    text, indent, existing = case
    new = set_field(text, path="spec.suspend", value=value, **AUTO)
    word = "true" if value else "false"
    assert get_field(new, path="spec.suspend", **AUTO) == word
    if existing is None:
        assert _inserted(text, new, f"{' ' * indent}suspend: {word}\n")
    else:
        old_value = existing.split(" #")[0]
        assert new.replace(f"suspend: {word}", f"suspend: {old_value}", 1) == text


@given(automation())
@settings(max_examples=100, deadline=None)
def test_suspend_true_then_false_round_trips(case: tuple[str, int, str | None]) -> None:
    text, _, existing = case
    held = set_field(text, path="spec.suspend", value=True, **AUTO)
    released = set_field(held, path="spec.suspend", value=False, **AUTO)
    assert released == set_field(text, path="spec.suspend", value=False, **AUTO)
    if existing in ("false", "false # held"):
        assert released == text
    other = value_scalars(text)
    assert other is not None
    assert [s.value for s in value_scalars(released) or [] if s.path != "spec.suspend"] == [
        s.value for s in other if s.path != "spec.suspend"
    ]
