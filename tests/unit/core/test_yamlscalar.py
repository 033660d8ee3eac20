"""go-yaml's resolvers and quoting, as ported in bot.core.yamlscalar (see FLUX-FACTS §2.2)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.core.yamlscalar import (
    DOUBLE,
    PLAIN,
    SINGLE,
    fit_style,
    flux_style,
    reads_as_non_string,
    render,
    v2_resolves_non_string,
    v3_resolves_non_string,
)

# (text, yaml.v2 non-string?, yaml.v3 non-string?) for plain scalars, from resolve.go in each.
RESOLVE = [
    ("1606364286", True, True),
    ("1.10", True, True),
    ("1e3", True, True),
    ("1_000", True, True),  # underscores are dropped before ParseInt
    ("_1", False, False),  # no number hint
    ("0755", True, True),  # YAML 1.1 octal
    ("0o17", True, True),
    ("0x1F", True, True),
    ("0b101", True, True),
    ("-0b101", True, True),
    ("08", True, True),  # not octal, but ParseFloat("08") is 8
    ("0x", False, False),
    ("0xFFFFFFFFFFFFFFFFFF", False, False),  # hex beyond uint64, and the float regex wants decimals
    ("99999999999999999999", True, True),  # beyond uint64 → float
    ("18446744073709551615", True, True),  # max uint64
    ("-9223372036854775808", True, True),  # min int64
    ("1e400", False, False),  # ErrRange: go-yaml keeps the string
    ("1" * 400, False, False),  # a 400-digit integer overflows float64 too
    (".5", True, True),
    (".5_0", True, True),
    ("._5", False, False),
    ("1.", True, True),
    ("+1", True, True),
    ("-", False, False),
    ("+", False, False),
    ("1.2.3", False, False),
    ("v1.2.3", False, False),
    (".inf", True, True),
    ("-.Inf", True, True),
    (".iNf", False, False),
    ("Infinity", False, False),  # Go ParseFloat would take it, but no hint leads there
    ("NaN", False, False),
    (".nan", True, True),
    ("~", True, True),
    ("null", True, True),
    ("Null", True, True),
    ("nULL", False, False),
    ("true", True, True),
    ("True", True, True),
    ("tRUE", False, False),
    ("y", True, False),  # YAML 1.1 only
    ("Yes", True, False),
    ("ON", True, False),
    ("off", True, False),
    ("n", True, False),
    ("oN", False, False),
    ("<<", False, True),  # v2 gives the string "<<"; v3 tags it !!merge
    ("", True, True),  # both resolve it to null (kyaml's IsValueNonString still calls "" a string)
    ("2024-01-15", False, True),  # timestamps: a string to v2's interface{}, !!timestamp to v3
    ("2024-1-5", False, True),
    ("2024-02-30", False, False),  # day out of range: time.Parse fails
    ("2024-13-01", False, False),
    ("2001-12-14t21:59:43.10-05:00", False, True),
    ("2001-12-14 21:59:43,10", False, True),  # Go accepts a comma before fractional seconds
    ("2001-12-14T21:59:43Z", False, True),
    ("2001-12-14T24:00:00Z", False, False),
    ("2001-12-14T21:59:43", False, False),  # T form needs a zone
    ("12024-01-15", False, False),  # five-digit year: no timestamp, no number
]


@pytest.mark.parametrize(("text", "v2", "v3"), RESOLVE, ids=lambda v: repr(v)[:20])
def test_resolvers(text: str, v2: bool, v3: bool) -> None:
    assert v2_resolves_non_string(text) is v2
    assert v3_resolves_non_string(text) is v3


@pytest.mark.parametrize(
    ("value", "non_string"),
    [
        ("1606364286", True),
        ("", False),  # kyaml's explicit early return
        ("a\nb", False),  # anything with a line break
        ("ghcr.io/acme/app:1.2.3", False),
        ("a: b", True),  # v2.Unmarshal of the whole value gives a map
        ("a:", True),
        ("- x", True),  # a list
        ("[1]", True),
        ("{", False),  # a parse error counts as a string
        ("*x", False),  # an unknown alias is an error too
        ("---", True),  # an empty document: nil
        ("# note", True),
        ("'quoted'", False),
        ('"1"', False),
        ("5 # note", True),  # the comment is dropped, 5 is an int
        ("foo # note", False),
        ("!!int 5", True),
        ("x y", False),
        ("-1", True),
        ("yes", True),
    ],
)
def test_reads_as_non_string(value: str, non_string: bool) -> None:
    assert reads_as_non_string(value) is non_string


@pytest.mark.parametrize(
    ("value", "current", "style", "text"),
    [
        ("1606364286", PLAIN, DOUBLE, '"1606364286"'),
        ("1606364286", SINGLE, SINGLE, "'1606364286'"),
        ("1606364286", DOUBLE, DOUBLE, '"1606364286"'),
        ("1.10", PLAIN, DOUBLE, '"1.10"'),
        ("v1.10", PLAIN, PLAIN, "v1.10"),
        ("", PLAIN, DOUBLE, '""'),
        ("", SINGLE, SINGLE, "''"),
        ("yes", PLAIN, DOUBLE, '"yes"'),
        ("2024-01-15", PLAIN, DOUBLE, '"2024-01-15"'),  # the v3 encoder force-quotes a !!str timestamp
        ("<<", PLAIN, DOUBLE, '"<<"'),
        ("it's", PLAIN, PLAIN, "it's"),
        ("it's", SINGLE, SINGLE, "'it''s'"),
        ('say "hi"', DOUBLE, DOUBLE, '"say \\"hi\\""'),
        ("a: b", PLAIN, DOUBLE, '"a: b"'),  # v2 reads a map
        ("x #y", PLAIN, SINGLE, "'x #y'"),  # plain is not allowed, single is
        (" lead", PLAIN, SINGLE, "' lead'"),
        ("trail ", PLAIN, SINGLE, "'trail '"),
        ("@at", PLAIN, SINGLE, "'@at'"),
        ("tab\there", PLAIN, DOUBLE, '"tab\\there"'),
        ("tab\there", SINGLE, DOUBLE, '"tab\\there"'),
        ("line\nbreak", PLAIN, DOUBLE, '"line\\nbreak"'),  # deliberate: Flux would write a literal block
        ("back\\slash", DOUBLE, DOUBLE, '"back\\\\slash"'),
        ("ünïcode", PLAIN, PLAIN, "ünïcode"),
        ("ünïcode", DOUBLE, DOUBLE, '"ünïcode"'),
        ("bell\a", DOUBLE, DOUBLE, '"bell\\a"'),
        ("nel\x85", DOUBLE, DOUBLE, '"nel\\N"'),
        ("bom\ufeff", DOUBLE, DOUBLE, '"bom\\uFEFF"'),
        ("smile\U0001f600", DOUBLE, DOUBLE, '"smile\\U0001F600"'),  # go-yaml's is_printable stops at U+FFFD
        ("ctl\x01", PLAIN, DOUBLE, '"ctl\\x01"'),
        ("nbsp\xa0", DOUBLE, DOUBLE, '"nbsp\xa0"'),
    ],
)
def test_flux_style_and_render(value: str, current: str, style: str, text: str) -> None:
    assert flux_style(value, current) == style
    assert render(value, style) == text


def test_fit_style_keeps_what_can_stay() -> None:
    assert fit_style("true", PLAIN) == PLAIN  # fit_style alone does not care about types (set_field uses it)
    assert fit_style("---x", PLAIN) == SINGLE
    assert fit_style("a, b", PLAIN) == PLAIN  # block context allows flow indicators after the first char
    assert fit_style("- x", PLAIN) == SINGLE


@given(st.text(max_size=30), st.sampled_from([PLAIN, SINGLE, DOUBLE]))
def test_rendered_value_reads_back_as_the_same_text(value: str, current: str) -> None:
    style = flux_style(value, current)
    text = render(value, style)
    node = yaml.compose(f"key: {text}\n", Loader=yaml.SafeLoader)
    assert isinstance(node, yaml.MappingNode)
    assert node.value[0][1].value == value
    if style == PLAIN:
        assert not reads_as_non_string(value)
        assert not v3_resolves_non_string(value)
