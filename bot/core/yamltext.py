"""Byte-preserving edits of YAML text: find scalar values with exact spans, replace them, set one field.

Every edit replaces spans of the caller's text and keeps every other character, so a reviewer sees only the
value that changed. Positions come from `yamldocs`, which reads a file the way Flux does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from bot.core.yamldocs import NULL, STYLES, Doc, ObjectId, Parsed, comment_after, field, parse, walk
from bot.core.yamlscalar import DOUBLE, PLAIN, SINGLE, fit_style, render
from bot.errors import InvalidInput, NotFound

__all__ = [
    "FieldPath",
    "ObjectId",
    "Scalar",
    "get_field",
    "replace_scalar",
    "replace_spans",
    "set_field",
    "value_scalars",
]


@dataclass(frozen=True)
class Scalar:
    """One scalar value (a mapping value or a sequence item, never a key) and where it is in the text."""

    start: int  # offset in the caller's text of its first character (after any anchor or tag)
    end: int
    line: int  # 1-based
    value: str
    style: str  # plain | single | double | literal | folded
    path: str  # e.g. spec.template.spec.containers[0].image
    comment: str  # the comment after it on the same line, from its "#"; "" when none or in a flow collection
    document: int
    object: ObjectId


def value_scalars(text: str, *, commented_only: bool = False, libyaml: bool = True) -> list[Scalar] | None:
    """Every scalar value in the documents Flux reads, in document order; None if Flux cannot read the text.

    Comments are read only for plain and quoted scalars in block context: a comment after a block scalar's
    header or inside a flow collection is not a line comment of that scalar in our model.
    """
    parsed = parse(text, libyaml)
    if parsed is None:
        return None
    out: list[Scalar] = []
    pos = line = 0
    for doc in parsed.docs:
        for node, path, flow in walk(doc.root):
            start, end = parsed.span(doc, node)
            style = STYLES.get(node.style, PLAIN)
            blocky = flow or style not in (PLAIN, SINGLE, DOUBLE) or start == end
            comment = "" if blocky else comment_after(doc.part, end)
            if commented_only and not comment:
                continue
            at = doc.offset + start
            if at < pos:
                pos = line = 0
            line += parsed.norm.count("\n", pos, at)
            pos = at
            out.append(
                Scalar(
                    parsed.orig(at),
                    parsed.orig(doc.offset + end),
                    line + 1,
                    str(node.value),
                    style,
                    path,
                    comment,
                    doc.index,
                    doc.object,
                )
            )
    return out


def replace_spans(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    """Replace non-overlapping [start, end) spans of `text`; every other character is kept."""
    pieces: list[str] = []
    cursor = 0
    for start, end, new in sorted(edits):
        if start < cursor:
            raise InvalidInput("Two edits overlap in the same place of the file.")
        pieces += [text[cursor:start], new]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def replace_scalar(text: str, scalar: Scalar, value: str) -> str:
    """Write `value` over `scalar`, keeping its quote style as far as the new text allows."""
    if scalar.style not in (PLAIN, SINGLE, DOUBLE):
        raise InvalidInput(f"{scalar.path} (line {scalar.line}) is a block scalar; edit it by hand.")
    return replace_spans(text, [(scalar.start, scalar.end, render(value, fit_style(value, scalar.style)))])


# --- structured edits of one field of one object ------------------------------------------------------

FieldPath = str | Sequence[str | int]
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[[0-9]+\])*)")


def _segments(path: FieldPath) -> list[str | int]:
    if not isinstance(path, str):
        segs = list(path)
        if segs and all(isinstance(s, int) or s for s in segs):
            return segs
        raise InvalidInput(f"{list(path)!r} is not a field path.", hint="Give keys like ('spec', 'suspend').")
    out: list[str | int] = []
    for part in path.split("."):
        m = _SEGMENT.fullmatch(part)
        if not m:
            raise InvalidInput(f"{path!r} is not a field path.", hint="Write it like spec.suspend or a[0].b.")
        out.append(m[1])
        out += [int(i) for i in re.findall(r"[0-9]+", m[2])]
    return out


def _show(segs: Sequence[str | int]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in segs).lstrip(".") or "(document)"


def _readable(text: str, kind: str, name: str, namespace: str) -> tuple[Parsed, Doc]:
    parsed = parse(text)
    if parsed is None:
        raise InvalidInput("The file is not YAML that Flux can read, so it cannot be edited safely.")
    for doc in parsed.docs:
        if (doc.object.kind, doc.object.name, doc.object.namespace) == (kind, name, namespace):
            return parsed, doc
    where = f"{namespace}/{name}" if namespace else name
    raise NotFound(f"The file has no {kind} {where}.")


def _descend(node: yaml.Node, seg: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(seg, str):
        return field(node, seg) if isinstance(node, yaml.MappingNode) else None
    if isinstance(node, yaml.SequenceNode) and 0 <= seg < len(node.value):
        return None, node.value[seg]
    return None


def get_field(text: str, *, kind: str, name: str, namespace: str, path: FieldPath) -> str | None:
    """The text of one scalar field of one object (e.g. "true" for spec.suspend); None when it is absent."""
    _, doc = _readable(text, kind, name, namespace)
    node: yaml.Node = doc.root
    for seg in _segments(path):
        step = _descend(node, seg)
        if step is None:
            return None
        node = step[1]
    if not isinstance(node, yaml.ScalarNode):
        raise InvalidInput(f"{_show(_segments(path))} of {kind} {name} holds more than one value.")
    return str(node.value)


class _FieldEdit:
    """One set_field call: the parsed text, the object's document and the value's YAML text."""

    def __init__(self, parsed: Parsed, doc: Doc, value: str | bool | int) -> None:
        self.parsed, self.doc = parsed, doc
        self.newline = "\r\n" if parsed.orig(len(parsed.norm)) != len(parsed.norm) else "\n"
        if isinstance(value, bool):
            self.value, self.style = ("true" if value else "false"), PLAIN
        elif isinstance(value, int):
            self.value, self.style = str(value), PLAIN
        else:
            self.value, self.style = value, ""

    def edit(self, start: int, end: int, new: str) -> str:
        """Replace a span given in the part's offsets."""
        o, orig = self.doc.offset, self.parsed.orig
        return replace_spans(self.parsed.text, [(orig(o + start), orig(o + end), new)])

    def rendered(self, style: str) -> str:
        return render(self.value, fit_style(self.value, self.style or style))

    def replace(self, node: yaml.ScalarNode, where: str) -> str:
        style = STYLES.get(node.style, PLAIN)
        if style not in (PLAIN, SINGLE, DOUBLE):
            raise InvalidInput(f"{where} is a block scalar; edit it by hand.")
        start, end = self.parsed.span(self.doc, node)
        new = self.rendered(style)
        return self.edit(start, end, new if start < end else " " + new)  # `key:` with no value gets ` value`

    def nested(self, keys: Sequence[str], flow: bool, indent: str = "") -> str:
        parts = [render(k, fit_style(k, PLAIN)) for k in keys]
        if flow:
            inner = f"{parts[-1]}: {self.rendered(PLAIN)}"
            for k in reversed(parts[:-1]):
                inner = f"{k}: {{{inner}}}"
            return inner
        lines = [f"{indent}{'  ' * d}{k}:" for d, k in enumerate(parts)]
        lines[-1] += " " + self.rendered(PLAIN)
        return self.newline.join(lines) + self.newline

    def line_after(self, norm_at: int) -> tuple[int, str]:
        """Where the line after the one holding `norm_at` starts (and a line break to add before it)."""
        nl = self.parsed.norm.find("\n", norm_at)
        return (len(self.parsed.norm), self.newline) if nl < 0 else (nl + 1, "")

    def insert_block(self, mapping: yaml.MappingNode, keys: Sequence[str]) -> str:
        """Add the key after the mapping's last entry, at the column of its keys."""
        col = mapping.value[0][0].start_mark.column
        norm, doc_end = self.parsed.norm, self.doc.offset + len(self.doc.part)
        at, prefix = self.line_after(self.doc.offset + mapping.value[-1][0].start_mark.index)
        cursor = at
        while cursor < doc_end and cursor < len(norm):
            stop, _ = self.line_after(cursor)
            line = norm[cursor:stop].rstrip("\n")
            body = line.lstrip(" ")
            indent = len(line) - len(body)
            if body and not body.startswith("#"):
                # The last entry's value goes on while lines are deeper, or are `- ` items at its own column.
                if not (indent > col or (indent == col and (body == "-" or body.startswith(("- ", "-\t"))))):
                    break
                at, prefix = stop, ("" if norm[stop - 1 : stop] == "\n" else self.newline)
            cursor = stop
        new = prefix + self.nested(keys, False, " " * col)
        return replace_spans(self.parsed.text, [(self.parsed.orig(at), self.parsed.orig(at), new)])

    def insert_flow(self, mapping: yaml.MappingNode, keys: Sequence[str]) -> str:
        close = mapping.end_mark.index - 1  # the "}"
        j = close - 1
        while j > 0 and self.doc.part[j] in " \t\n":
            j -= 1
        sep = "" if self.doc.part[j] == "{" else " " if self.doc.part[j] == "," else ", "
        return self.edit(close, close, sep + self.nested(keys, True))

    def fill_null(self, key: yaml.Node, node: yaml.ScalarNode, keys: Sequence[str], flow: bool) -> str:
        """`spec:` or `spec: ~` becomes a mapping holding the new keys."""
        start, end = self.parsed.span(self.doc, node)
        if flow:
            new = "{" + self.nested(keys, True) + "}"
            return self.edit(start, end, new if start < end else " " + new)
        while start > 0 and self.doc.part[start - 1] in " \t":
            start -= 1
        at, prefix = self.line_after(self.doc.offset + max(end, key.end_mark.index))
        o, orig = self.doc.offset, self.parsed.orig
        new = prefix + self.nested(keys, False, " " * (key.start_mark.column + 2))
        edits = [(orig(o + start), orig(o + end), ""), (orig(at), orig(at), new)]
        return replace_spans(self.parsed.text, edits)


def set_field(text: str, *, kind: str, name: str, namespace: str, path: FieldPath, value: str | bool | int) -> str:
    """Set one scalar field of one object, e.g. spec.suspend of an ImageUpdateAutomation; all else kept.

    A present scalar is replaced in place (a string keeps its quote style as far as the text allows). A
    missing key is added as a new line after the last entry of its parent mapping, at that mapping's
    indentation (missing parents are created; a null parent becomes a mapping). `value` is YAML text: "true"
    and True both write `true`, a boolean; a string that plain YAML cannot hold is quoted.
    """
    parsed, doc = _readable(text, kind, name, namespace)
    segs = _segments(path)
    edit = _FieldEdit(parsed, doc, value)
    node: yaml.Node = doc.root
    parent: yaml.Node = doc.root
    key: yaml.Node | None = None
    flow = False
    done = 0
    for seg in segs:
        step = _descend(node, seg)
        if step is None:
            break
        flow = flow or bool(getattr(node, "flow_style", False))
        parent, (key, node), done = node, step, done + 1
    if done == len(segs):
        if not isinstance(node, yaml.ScalarNode):
            raise InvalidInput(f"{_show(segs)} of {kind} {name} holds more than one value; nothing changed.")
        return edit.replace(node, _show(segs))
    rest = segs[done:]
    if any(isinstance(s, int) for s in rest):
        raise InvalidInput(f"{_show(segs)} of {kind} {name} names a list item that does not exist.")
    keys = [str(s) for s in rest]
    if isinstance(node, yaml.MappingNode):
        return edit.insert_flow(node, keys) if node.flow_style else edit.insert_block(node, keys)
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL and key is not None:
        return edit.fill_null(key, node, keys, flow or bool(getattr(parent, "flow_style", False)))
    where = f"{_show(segs[:done])} of {kind} {name}"
    raise InvalidInput(f"{where} is not a mapping, so {_show(segs)} cannot be added under it.")
