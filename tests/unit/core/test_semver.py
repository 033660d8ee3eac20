"""Masterminds/semver behaviour that the Flux vectors do not pin: limits, messages, whitespace, ordering."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.goregex import compile_go
from bot.core.semver import (
    Constraint,
    Constraints,
    InvalidConstraint,
    InvalidVersion,
    Version,
    parse_version,
    rewrite_range,
    sort_descending,
)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("v1.2.3", (1, 2, 3, "", "")),
        ("1.2-rc.1", (1, 2, 0, "rc.1", "")),
        ("v2025.07.03", (2025, 7, 3, "", "")),
        ("1.0.0-x-y.0+b.1-c", (1, 0, 0, "x-y.0", "b.1-c")),
        ("18446744073709551615.0.0", (2**64 - 1, 0, 0, "", "")),
    ],
)
def test_parse_version_coerces_like_masterminds(text: str, parts: tuple[object, ...]) -> None:
    v = parse_version(text)
    assert (v.major, v.minor, v.patch, v.pre, v.metadata) == parts
    assert v.original == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.5", "invalid semantic version"),  # Flux's two-dot rule, before Masterminds sees it
        ("V1.2.3", "invalid semantic version"),  # only a lowercase v
        ("1.2.3\n", "invalid semantic version"),  # Go's $ is the end of the text
        (" 1.2.3", "invalid semantic version"),
        ("1.2.٣", "invalid semantic version"),
        ("18446744073709551616.0.0", 'parsing "18446744073709551616": value out of range'),
        ("1.2.3-01", "version segment starts with 0"),
        ("1.2.3-a..b", "invalid semantic version"),
    ],
)
def test_parse_version_refusals(text: str, message: str) -> None:
    with pytest.raises(InvalidVersion, match=message):
        parse_version(text)


def test_string_form_drops_the_v_and_keeps_pre_and_metadata() -> None:
    assert str(Version.parse("v01.2-rc.1+build.5")) == "1.2.0-rc.1+build.5"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0.0-18446744073709551616", "1.0.0-a", -1),  # too big for uint64: compared as text
        ("1.0.0-18446744073709551616", "1.0.0-5", 1),  # ...and text sorts after numbers
        ("1.0.0-18446744073709551615", "1.0.0-5", 1),  # still a number
        ("1.0.0-a", "1.0.0-a.0", -1),  # a shorter prefix is lower
        ("1.0.0-Z", "1.0.0-a", -1),  # byte order: uppercase first
        ("v1.0.0+x", "1.0.0+y", 0),  # the v and build metadata are ignored
    ],
)
def test_compare_edges(a: str, b: str, expected: int) -> None:
    assert Version.parse(a).compare(Version.parse(b)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "improper constraint: "),
        (">=\v1.0", "improper constraint: >=\v1.0"),  # Go's \s has no \v
        ("1|2.0", "constraint parser error"),  # the version class admits `|`, NewVersion does not
        ("1x", "constraint parser error"),
        (">= 1.0 || foo", "improper constraint:  foo"),
        ("1.2.3.4", "improper constraint: 1.2.3.4"),
    ],
)
def test_constraint_refusals_carry_masterminds_messages(text: str, message: str) -> None:
    with pytest.raises(InvalidConstraint) as err:
        Constraints.parse(text)
    assert err.value.message == message


@pytest.mark.parametrize(
    ("rng", "version", "ok"),
    [
        (">=\t1.0,\n<2", "1.5.0", True),  # tab and newline are Go whitespace
        ("=1.0.0+abc", "1.0.0+xyz", True),  # build metadata never matters
        ("1-2", "1.0.0-3", True),  # no spaces: a prerelease constraint, not a range
        ("1 - 2", "2.9.9", True),  # a range's upper bound is <=2, i.e. tilde-like
        ("~1.2.3", "1.2.3-rc.1", False),
        (">=1.2.3-0", "1.2.3-rc.1", True),
        (">=1.0.0, <2.0.0-0", "1.9.0-rc.1", True),  # any prerelease in the AND group opts it in
        (">=1.0.0 || <2.0.0-0", "1.9.0-rc.1", True),
        (">=1.0.0 || >=3.0.0-0", "1.9.0-rc.1", False),  # ...but only that group
        ("^*", "1.2.3", False),  # Masterminds' caret: major 0 and no minor wildcard
        ("~*", "1.2.3", True),
    ],
)
def test_constraint_checks(rng: str, version: str, ok: bool) -> None:
    assert Constraints.parse(rng).check(Version.parse(version)) is ok


def test_include_prerelease_opts_every_group_in() -> None:
    constraints = Constraints.parse(">=1.0.0")
    v = Version.parse("1.1.0-rc.1")
    assert not constraints.check(v)
    assert Constraints(constraints.groups, include_prerelease=True).check(v)


def test_single_constraint_defaults_to_its_own_prerelease_opt_in() -> None:
    v = Version.parse("1.2.4-beta.1")
    assert Constraint.parse("~1.2.3-beta.0").check(v)
    assert not Constraint.parse("~1.2.3").check(v)
    assert Constraint.parse("~1.2.3").check(v, include_pre=True)


def test_sort_descending_is_stable_for_equal_versions() -> None:
    tags = ["1.0.0+b", "v1.0.0", "0.9.0", "nope", "1.0.0", "1.1", "1.0.0-rc.1"]
    assert sort_descending(None, tags) == ["1.0.0+b", "v1.0.0", "1.0.0", "1.0.0-rc.1", "0.9.0"]


_ident = st.from_regex(r"(0|[1-9][0-9]{0,3}|[0-9]*[a-zA-Z-][0-9a-zA-Z-]{0,4})", fullmatch=True)
versions = st.builds(
    lambda ma, mi, pa, pre, meta, v: Version.parse(
        f"{v}{ma}.{mi}.{pa}" + (f"-{'.'.join(pre)}" if pre else "") + (f"+{'.'.join(meta)}" if meta else "")
    ),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.lists(_ident, max_size=3),
    st.lists(_ident, max_size=2),
    st.sampled_from(["", "v"]),
)


@given(versions, versions, versions)
def test_compare_is_a_total_preorder(a: Version, b: Version, c: Version) -> None:
    assert a.compare(b) == -b.compare(a)
    assert a.compare(a) == 0
    if a.compare(b) <= 0 and b.compare(c) <= 0:
        assert a.compare(c) <= 0


@given(versions)
def test_string_form_parses_back_to_an_equal_version(v: Version) -> None:
    again = Version.parse(str(v))
    assert again.compare(v) == 0
    assert (again.pre, again.metadata) == (v.pre, v.metadata)


@given(st.lists(versions, max_size=12))
def test_sort_descending_agrees_with_compare(vs: list[Version]) -> None:
    ordered = sort_descending(None, [v.original for v in vs])
    expected = sorted(vs, key=functools.cmp_to_key(Version.compare), reverse=True)
    assert ordered == [v.original for v in expected]


# Masterminds' validConstraintRegex, verbatim; semver.py checks with an equivalent, unambiguous form.
_MM_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_MM_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_MM_VALID = compile_go(rf"^(\s*({_MM_OPS})\s*({_MM_CV})\s*)((?:\s+|,\s*)({_MM_OPS})\s*({_MM_CV})\s*)*$")


@settings(max_examples=500)
@given(st.text(alphabet=" \t,.=<>!~^vxX*|-+019ab", max_size=16))
def test_validity_check_accepts_exactly_masterminds_language(text: str) -> None:
    try:
        Constraints.parse(text)
        accepted = True
    except InvalidConstraint as err:
        accepted = err.message != f"improper constraint: {text}"  # refused later, by parseConstraint
    if "||" not in text and rewrite_range(text) == text:
        assert accepted == (_MM_VALID.search(text) is not None)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("separator", ["  ", " , ", "\t\n", " "])
def test_long_invalid_ranges_fail_fast(separator: str) -> None:
    # Go's engine is linear here; a naive port of the pattern to Python's engine takes 2^n steps.
    for text in (separator.join([">=1.0"] * 300) + " !", separator.join(["1.0"] * 300) + " !"):
        with pytest.raises(InvalidConstraint):
            Constraints.parse(text)
