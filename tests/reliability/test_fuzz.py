"""Fuzz properties for every parser that reads text from outside: slash commands, build tags, Flux event
bodies, YAML files with setter markers and whole repositories for discovery.

Each property states the whole contract: a value or one of the bot's own errors with a sentence a person
can read; never a bare Python exception, which would reach Slack as a stack trace or a 500.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.core.discovery import Topology, discover
from bot.core.names import env_name, service_name
from bot.core.setters import find_markers, rewrite
from bot.core.tags import BuildTag
from bot.errors import BotError, InvalidInput
from bot.flux.events import MAX_MESSAGE, FluxEvent, classify, parse_event
from bot.slack.parse import USAGE, FreezeCmd, PromoteCmd, ReleaseCmd, RollbackCmd, parse
from tests.unit.core import seed
from tests.unit.core.yaml_strategies import ANY_VALUE, SETTERS, TRICKY, Draw, yaml_file

FAST = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every code point class, including controls, lone surrogates and line separators Python's split() knows.
WILD = st.characters(codec=None, categories=None)
WILD_TEXT = st.text(WILD, max_size=60)

# -- 1. slash commands ------------------------------------------------------------------------------------
WORDS = st.sampled_from(
    [
        "to",
        "at",
        "force",
        "until",
        "cancel",
        "service:backend",
        "service:",
        "service:Bad_Name",
        "staging",
        "production",
        "develop",
        "Production",
        "prod--x",
        "env-",
        "staging-v0.0.1-a1b2c3d-1738860123",
        "staging-v01.0.1-a1b2c3d-1738860123",
        "staging-v0.0.1-A1B2C3D-1738860123",
        "x" * 129 + "-v0.0.1-a1b2c3d-1",
        "2026-11-25T14:00",
        "2026-11-25T14:00:00+01:00",
        "14:00",
        "2h",
        "30m",
        "3d",
        "0",
        "5",
        "abcdef",
        "abc123ffee",
        '"$imagepolicy"',
        '{"$imagepolicy":"ns:p"}',
        "#",
        "`rm`",
        "é",
        "\u200b",
        "\x00",
        "\x7f",
        "\ud800",
        "🚀",
    ]
)
SEPARATORS = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\x0b", "\x1c", "\x85", "\u2028", "\u3000"])


@st.composite
def command_text(draw: Draw) -> str:
    """Words the grammars know, odd words and huge tokens, joined by every whitespace str.split() splits on."""
    pieces = draw(st.lists(WORDS | WILD_TEXT | st.text(WILD, min_size=300, max_size=2000), max_size=8))
    out: str = draw(st.sampled_from(["", " ", "\n"]))
    for piece in pieces:
        out += piece + draw(SEPARATORS)
    return out


COMMANDS = st.sampled_from(sorted(USAGE)) | st.sampled_from(["", "/Promote", "/promote ", "promote", "/nope"])

VALID_TAGS = st.from_regex(
    r"[a-z][a-z0-9]{0,6}-v(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]?)\.(0|[1-9])-[0-9a-f]{7,12}-(0|[1-9][0-9]{0,11})",
    fullmatch=True,
)
ENVS = st.sampled_from(["develop", "staging", "production", "qa-1"])
# The shapes each grammar accepts, so that the fuzzer reaches the success branches and not only refusals.
TEMPLATES: dict[str, list[list[str]]] = {
    "/promote": [
        ["TAG", "to", "ENV"],
        ["TAG", "to", "ENV", "at", "14:00", "service:backend", "WORD", "WORD"],
        ["ENV", "to", "ENV", "backend"],
        ["TAG", "to", "ENV", "WORD"],
    ],
    "/rollback": [["ENV"], ["ENV", "backend", "to", "TAG"], ["ENV", "to", "TAG"]],
    "/freeze": [["ENV", "2h", "WORD"], ["ENV", "until", "2026-11-27T18:00", "WORD"]],
    "/resume": [["ENV", "backend", "force"]],
    "/unfreeze": [["ENV"]],
    "/history": [["ENV", "backend"]],
    "/versions": [[], ["backend"]],
    "/schedule": [[], ["cancel", "abc123"]],
}


@st.composite
def templated_command(draw: Draw) -> tuple[str, str]:
    """A well-formed command with up to two words replaced by odd ones."""
    command = draw(st.sampled_from(sorted(TEMPLATES)))
    fill = {"TAG": VALID_TAGS, "ENV": ENVS, "WORD": st.text(WILD, max_size=10) | WORDS}
    words = [draw(fill[w]) if w in fill else w for w in draw(st.sampled_from(TEMPLATES[command]))]
    for _ in range(draw(st.integers(0, 2))):
        if words and draw(st.booleans()):
            words[draw(st.integers(0, len(words) - 1))] = draw(WORDS | WILD_TEXT)
    return command, "".join(w + draw(SEPARATORS) for w in words)


@FAST
@given(st.tuples(COMMANDS, command_text() | WILD_TEXT) | templated_command())
def test_slash_command_text_gives_a_command_or_a_readable_refusal(case: tuple[str, str]) -> None:
    command, text = case
    try:
        result = parse(command, text)
    except InvalidInput as err:
        assert str(err).strip(), f"empty message for {command!r} {text!r}"
        assert err.message.strip()
        event("refused")
        return
    event(type(result).__name__)
    assert command in USAGE
    if isinstance(result, PromoteCmd):
        assert BuildTag.is_valid(result.tag) and str(BuildTag.parse(result.tag)) == result.tag
        assert env_name(result.env) == result.env
        assert result.service is None or service_name(result.service) == result.service
        assert "\n" not in result.reason and result.reason.isprintable()  # a reason becomes a commit trailer
    if isinstance(result, ReleaseCmd):
        assert env_name(result.source) == result.source and env_name(result.env) == result.env
    if isinstance(result, RollbackCmd):
        assert result.to_tag is None or BuildTag.is_valid(result.to_tag)
    if isinstance(result, FreezeCmd):
        assert "\n" not in result.reason and result.reason.isprintable()


def test_slash_command_fuzz_can_reach_a_promotion() -> None:
    """Guards the property above against only ever seeing refusals."""
    text = "staging-v0.0.1-a1b2c3d-1738860123\u2028to\tproduction\x0bservice:backend  hotfix"
    assert parse("/promote", text) == PromoteCmd(
        "staging-v0.0.1-a1b2c3d-1738860123", "production", "backend", "hotfix", None
    )


# -- 2. build tags ----------------------------------------------------------------------------------------
NEAR_TAGS = st.from_regex(
    r"[a-zA-Z0-9-]{0,12}-v[0-9]{1,11}\.[0-9]{1,3}\.[0-9]{1,3}-[0-9a-fA-F]{5,42}-[0-9]{0,14}[a-z\n ]?", fullmatch=True
)


@FAST
@given(WILD_TEXT | NEAR_TAGS | VALID_TAGS | st.text(WILD, min_size=120, max_size=400))
def test_build_tag_parses_or_says_what_it_expected(text: str) -> None:
    try:
        tag = BuildTag.parse(text)
    except InvalidInput as err:
        assert "Expected" in str(err)
        assert not BuildTag.is_valid(text)
        event("refused")
        return
    event("parsed")
    assert BuildTag.is_valid(text)
    assert str(tag) == text  # the grammar exists so that parse/format round-trips exactly


# -- 3. Flux event bodies ---------------------------------------------------------------------------------
_EXAMPLES_FILE = Path(__file__).parents[1] / "conformance" / "data" / "events_examples.json"
EXAMPLES: list[dict[str, Any]] = [
    e["forwarded_to_generic_provider"]["event"] for e in json.loads(_EXAMPLES_FILE.read_text())["examples"]
]

HUGE = st.sampled_from(["x" * (MAX_MESSAGE + 1), "é" * MAX_MESSAGE, "y" * MAX_MESSAGE])
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(WILD, max_size=20)
    | st.sampled_from(["", "info", "error", "trace", "2026-08-01T10:00:00Z", "2026-02-30T10:00:00Z", "\ud800"])
    | HUGE
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(WILD, max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "involvedObject",
    "severity",
    "timestamp",
    "message",
    "reason",
    "metadata",
    "reportingController",
    "reportingInstance",
]
OBJECT_FIELDS = ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]


@st.composite
def mutated_event(draw: Draw) -> bytes:
    """A real example with a few fields dropped or replaced, at the top, in involvedObject or in metadata."""
    doc: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.sampled_from(["top", "object", "metadata"]))
        if where == "top":
            target: Any = doc
            key = draw(st.sampled_from(FIELDS) | st.text(max_size=5))
        elif where == "object":
            target = doc.get("involvedObject")
            key = draw(st.sampled_from(OBJECT_FIELDS))
        else:
            target = doc.get("metadata")
            key = draw(st.sampled_from(["revision", "kustomize.toolkit.fluxcd.io/revision", "token"]))
        if not isinstance(target, dict):
            continue
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(JSON_VALUES)
    ascii_only = draw(st.booleans())  # ensure_ascii writes lone surrogates as \ud800 escapes, as a forger might
    text = json.dumps(doc, ensure_ascii=ascii_only, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


RAW_BODIES = st.binary(max_size=300) | st.sampled_from(
    [b"", b"null", b"[]", b"{}", b"1e999999", b"9" * 5000, b"[" * 100_000, b'{"a":NaN}', b"\xef\xbb\xbf{}"]
)


def _check_event(event: FluxEvent) -> None:
    # What the receiver does next with a parsed event must not raise either.
    event.dedupe_key()
    classify(event)
    assert event.severity in ("info", "error")
    assert len(event.message) <= MAX_MESSAGE
    for text in (event.message, event.involved.name, *event.metadata, *event.metadata.values()):
        text.encode("utf-8")  # Slack and the dedupe key need encodable text


@FAST
@given(RAW_BODIES | mutated_event())
def test_flux_event_body_parses_or_is_refused_by_field(body: bytes) -> None:
    try:
        parsed = parse_event(body)
    except InvalidInput as err:
        assert str(err).strip()
        event("refused: " + err.message.split("`")[1] if "`" in err.message else "refused")
        return
    event("parsed")
    _check_event(parsed)


def test_flux_event_examples_parse() -> None:
    """Guards the mutation property: unmutated examples must reach the success branch."""
    for doc in EXAMPLES:
        _check_event(parse_event(json.dumps(doc, separators=(",", ":")).encode()))


# -- 4. YAML files with setter markers --------------------------------------------------------------------
SETTER_VALUES = st.dictionaries(
    SETTERS,
    TRICKY | ANY_VALUE | st.sampled_from(["a\nb", "\t", "x" * 500, "#", "- x", "{a: b}", "'", '"']),
    min_size=2,
    max_size=6,
)
MARKER = st.sampled_from(
    [' # {"$imagepolicy": "ns:p1"}', ' # {"$imagepolicy": "ns:p1:tag"}', '#{"$imagepolicy":"ns:p2"}', ""]
)


@st.composite
def line_soup(draw: Draw) -> str:
    """Lines that are mostly not YAML Flux can read, with markers sprinkled in."""
    lines = draw(
        st.lists(
            st.sampled_from(["a:", "  b: c", "- d", "  - e: f", "---", "x: [1, 2", "k: |", "  lit", "y: &a z", "w: *a"])
            | WILD_TEXT,
            max_size=10,
        )
    )
    return "\n".join(line + draw(MARKER) for line in lines)


def _lines(text: str) -> list[str]:
    return text.split("\n")


@SLOW
@given(yaml_file() | line_soup(), SETTER_VALUES)
def test_setter_rewrite_touches_only_marked_lines(text: str, values: dict[str, str]) -> None:
    file = "deploy.yaml"
    try:
        before = find_markers(file, text)
        out, changes = rewrite(file, text, values)
    except BotError as err:
        assert str(err).strip()
        event("refused")
        return
    event(f"{len(changes)} changes")
    marked = {site.line for site in before if site.setter in values}
    old, new = _lines(text), _lines(out)
    assert len(new) == len(old), "a rewrite must not add or remove lines"
    for number, (a, b) in enumerate(zip(old, new, strict=True), start=1):
        if number not in marked:
            assert a == b, f"line {number} changed but holds no marker that was set"
    if not changes:
        assert out == text
        return
    after = find_markers(file, out)
    assert [(s.line, s.path, s.setter) for s in after] == [(s.line, s.path, s.setter) for s in before]
    for site in after:
        if site.setter in values:
            assert site.value == values[site.setter], "Flux would read back a different value"
    assert rewrite(file, out, values) == (out, [])


def test_setter_rewrite_property_sees_changes() -> None:
    """Guards the property above: a plain marked field is rewritten in place."""
    text = 'spec:\n  image: a:1 # {"$imagepolicy": "ns:p1"}\n  other: x\n'
    out, changes = rewrite("deploy.yaml", text, {"ns:p1": "a:2"})
    assert out == 'spec:\n  image: a:2 # {"$imagepolicy": "ns:p1"}\n  other: x\n' and len(changes) == 1


# -- 5. discovery -----------------------------------------------------------------------------------------
SEED = seed.files()
PATHS = st.sampled_from(sorted(SEED)) | st.sampled_from(["a.yaml", "b.yml", "Kustomization", "x/.yaml", "README"])


@st.composite
def mutated_file(draw: Draw, base: str) -> str:
    """A seed file with lines deleted, duplicated, re-indented or overwritten."""
    lines = base.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "indent", "value", "junk"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 3)) + lines[i]
        elif op == "value":
            head, _, _ = lines[i].partition(":")
            lines[i] = head + ": " + draw(JSON_SCALARS.map(json.dumps) | TRICKY | st.just("{"))
        else:
            lines[i] = draw(WILD_TEXT)
    return "\n".join(lines)


@st.composite
def file_map(draw: Draw) -> dict[str, str]:
    """The seed repository with files dropped, mutated or replaced, plus stray files."""
    files = dict(SEED)
    for path in draw(st.lists(PATHS, max_size=6, unique=True)):
        kind = draw(st.sampled_from(["drop", "mutated", "mutated", "mutated", "wild"]))
        base = SEED.get(path) or draw(st.sampled_from(sorted(SEED.values())))
        if kind == "drop":
            files.pop(path, None)
        elif kind == "mutated":
            files[path] = draw(mutated_file(base))
        else:
            files[path] = "apiVersion: image.toolkit.fluxcd.io/v1\n" + draw(WILD_TEXT) + draw(MARKER)
    return files


SUBSTITUTIONS = st.dictionaries(
    st.sampled_from(["image_registry", "x", ""]), st.sampled_from([seed.REGISTRY, "", "${image_registry}", "a\nb: c"])
)
PIPELINES = st.sampled_from([seed.PIPELINE, (), ("staging",), ("production", "production")])


@SLOW
@given(file_map(), PIPELINES, SUBSTITUTIONS)
def test_discovery_never_raises(files: dict[str, str], pipeline: tuple[str, ...], subs: dict[str, str]) -> None:
    topo = discover(files, pipeline=pipeline, substitutions=subs)
    assert isinstance(topo, Topology)
    event(f"{len(topo.targets)} targets")
    for (service, env), target in topo.targets.items():
        assert topo.target(service, env) is target
        target.current_tags()
        assert all(site.file in files for site in target.sites)
    for env in pipeline:
        topo.in_env(env)
    assert all(isinstance(p, str) and p for p in topo.problems)
