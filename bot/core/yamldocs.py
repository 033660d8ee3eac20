"""The documents Flux reads from a YAML file, with exact marks for every node.

Flux reads a file the way kyaml's ByteReader does: CRLF becomes LF, the text is split on lines matching
`\\n---.*\\n` (a separator followed by anything but a comment makes the whole file unreadable) and yaml.v3
decodes the first document of each part. We split the same way and compose each part with PyYAML (libyaml when
it is there), keeping marks, so every node can be mapped back to the caller's own text, CRLF included.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml

from bot.core.yamlscalar import DOUBLE, PLAIN, SINGLE

_SEPARATOR = re.compile(r"\n---.*\n")
STYLES = {None: PLAIN, "": PLAIN, "'": SINGLE, '"': DOUBLE, "|": "literal", ">": "folded"}
NULL = "tag:yaml.org,2002:null"
_LIBYAML = getattr(yaml, "CSafeLoader", None)
# libyaml's composer recurses in C and crashes the process somewhere past 10 000 levels (`[[[...` or
# `- - - ...`), where PyYAML's own composer raises RecursionError. `_nesting_bound` over-estimates the depth
# a text can reach; only texts under the limit go to libyaml (about 15× faster than the Python composer).
_LIBYAML_MAX_NESTING = 2000


def _nesting_bound(text: str) -> int:
    """An upper bound on a YAML text's nesting depth. Flow levels each need a bracket anywhere in the text.
    A block level either starts a line deeper than its parent (a sequence may sit at its mapping's indent,
    hence two levels per column) or follows a `- `, `? ` or `: ` indicator on the same line."""
    flow = text.count("[") + text.count("{")
    block = 0
    for line in text.splitlines():
        body = line.lstrip(" ")
        depth = 2 * (len(line) - len(body) + 1) + body.count("-") + body.count("?") + body.count(":")
        block = max(block, depth)
    return flow + block


def _use_libyaml(text: str) -> bool:
    return _LIBYAML is not None and _nesting_bound(text) < _LIBYAML_MAX_NESTING


_EXPECTED = (yaml.YAMLError, ValueError, RecursionError, UnicodeError)


@dataclass(frozen=True)
class ObjectId:
    """The Kubernetes object a YAML document holds; "" for each part that is absent (kyaml GetMeta)."""

    api_version: str
    kind: str
    name: str
    namespace: str


@dataclass(frozen=True)
class Doc:
    """One document Flux reads: its part of the normalised text and its composed root mapping."""

    index: int
    offset: int  # where the part starts in the normalised text
    part: str
    root: yaml.MappingNode
    object: ObjectId


class Parsed:
    """The caller's text, its LF-normalised form, and the documents Flux would read from it."""

    def __init__(self, text: str, docs: list[Doc], norm: str, crlf: list[int], libyaml: bool) -> None:
        self.text, self.docs, self.norm, self._crlf, self._libyaml = text, docs, norm, crlf, libyaml
        self._starts: dict[int, dict[int, int]] = {}

    def orig(self, offset: int) -> int:
        """The caller's offset for a normalised one: each dropped \\r before it shifts it by one."""
        return offset + bisect.bisect_left(self._crlf, offset) if self._crlf else offset

    def span(self, doc: Doc, node: yaml.Node) -> tuple[int, int]:
        """The scalar's own span in the part. PyYAML starts a node at its anchor or tag, so look past them."""
        start, end = node.start_mark.index, node.end_mark.index
        if start < end and doc.part[start] in "&!":
            if doc.index not in self._starts:
                self._starts[doc.index] = _scalar_token_starts(doc.part, self._libyaml)
            start = self._starts[doc.index].get(end, end)  # no scalar token: an empty value after the anchor
        return start, end


def _loader(part: str, libyaml: bool) -> yaml.SafeLoader:
    use_c = libyaml and _use_libyaml(part)
    cls: Callable[[str], yaml.SafeLoader] = _LIBYAML if use_c else yaml.SafeLoader  # type: ignore[assignment]
    return cls(part)


def _scalar_token_starts(part: str, libyaml: bool) -> dict[int, int]:
    starts: dict[int, int] = {}
    loader = _loader(part, libyaml)
    try:
        while loader.check_token():
            token = loader.get_token()  # type: ignore[no-untyped-call]
            if isinstance(token, yaml.ScalarToken):
                starts[token.end_mark.index] = token.start_mark.index
    except _EXPECTED:
        pass  # tokens after the first document do not matter
    finally:
        loader.dispose()
    return starts


def _first_node(part: str, libyaml: bool) -> yaml.Node | None:
    """yaml.v3 Decoder.Decode reads only the first document of a part; later ones are never looked at."""
    loader = _loader(part, libyaml)
    try:
        return loader.get_node() if loader.check_node() else None
    finally:
        loader.dispose()


def field(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """kyaml's Field: the first entry whose key text matches (later duplicates are never seen)."""
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _text_of(entry: tuple[yaml.Node, yaml.Node] | None) -> str:
    if entry is None or not isinstance(entry[1], yaml.ScalarNode) or entry[1].tag == NULL:
        return ""
    return str(entry[1].value)


def _object_of(root: yaml.MappingNode) -> ObjectId:
    meta = field(root, "metadata")
    name = namespace = ""
    if meta is not None and isinstance(meta[1], yaml.MappingNode):
        name, namespace = _text_of(field(meta[1], "name")), _text_of(field(meta[1], "namespace"))
    return ObjectId(_text_of(field(root, "apiVersion")), _text_of(field(root, "kind")), name, namespace)


def parse(text: str, libyaml: bool = True) -> Parsed | None:
    """None when Flux could not read the file (it then skips it silently)."""
    norm = text.replace("\r\n", "\n") if "\r\n" in text else text
    crlf = [m.start() - k for k, m in enumerate(re.finditer("\r\n", text))] if norm is not text else []
    parts: list[tuple[int, str]] = []
    prev = 0
    for m in _SEPARATOR.finditer(norm):
        rest = m.group()[4:].strip()
        if rest and not rest.startswith("#"):
            return None
        parts.append((prev, norm[prev : m.start()] + "\n"))
        prev = m.end()
    parts.append((prev, norm[prev:]))
    docs: list[Doc] = []
    for offset, part in parts:
        try:
            root = _first_node(part, libyaml)
        except _EXPECTED:
            return None
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == NULL):
            continue
        if not isinstance(root, yaml.MappingNode):
            return None  # kyaml cannot annotate a bare list or scalar document, so the whole file fails
        docs.append(Doc(len(docs), offset, part, root, _object_of(root)))
    return Parsed(text, docs, norm, crlf, libyaml)


def walk(root: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, str, bool]]:
    """Scalar values in document order with their paths, as kyaml's setter walk visits them.

    Aliases are skipped (kyaml sees an AliasNode, not the anchored node), and of duplicate keys only the first
    is visited (kyaml looks each field up by name).
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str, bool]] = [(root, "", False)]
    while stack:
        node, path, flow = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            yield node, path, flow
            continue
        flow = flow or bool(getattr(node, "flow_style", False))
        children: list[tuple[yaml.Node, str, bool]] = []
        if isinstance(node, yaml.MappingNode):
            names: set[str] = set()
            for key, value in node.value:
                seen.add(id(key))
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
                if name not in names:
                    names.add(name)
                    children.append((value, f"{path}.{name}" if path else name, flow))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, f"{path}[{i}]", flow) for i, item in enumerate(node.value)]
        stack.extend(reversed(children))


def comment_after(part: str, end: int) -> str:
    """The comment on the rest of the line after offset `end` ("" if none; YAML wants a blank before "#")."""
    j = end
    while j < len(part) and part[j] in " \t":
        j += 1
    if j == end or j >= len(part) or part[j] != "#":
        return ""
    k = part.find("\n", j)
    return part[j : k if k >= 0 else len(part)]


def load_all(text: str) -> list[object]:
    """`yaml.safe_load_all`, on libyaml only when the text cannot nest deep enough to crash it."""
    loader: type[yaml.SafeLoader] = _LIBYAML if _LIBYAML is not None and _use_libyaml(text) else yaml.SafeLoader
    return list(yaml.load_all(text, Loader=loader))
