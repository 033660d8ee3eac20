"""Go's regexp dialect on Python's re: what Go rejects, what Go reads differently, and Regexp.Expand."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.goregex import (
    GoRegexError,
    UnsupportedGoRegex,
    compile_go,
    expand,
    reference_groups,
    subexp_names,
)

# Go's own error text (regexp/syntax) for patterns Python's re would accept or word differently.
REJECTED = [
    ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"),
    ("(?!a)", "invalid or unsupported Perl syntax: `(?!`"),
    ("(?<=a)b", "invalid named capture: `(?<=a)b`"),
    ("(?<!a)b", "invalid named capture: `(?<!a)b`"),
    ("(?P=n)", "invalid or unsupported Perl syntax: `(?P`"),
    ("(?>a)", "invalid or unsupported Perl syntax: `(?>`"),
    ("(?#note)a", "invalid or unsupported Perl syntax: `(?#`"),
    ("(?x)a b", "invalid or unsupported Perl syntax: `(?x`"),
    ("(?a)x", "invalid or unsupported Perl syntax: `(?a`"),
    ("(a)(?(1)b|c)", "invalid or unsupported Perl syntax: `(?(`"),
    ("(?i", "invalid or unsupported Perl syntax: `(?i`"),
    ("(?-)", "invalid or unsupported Perl syntax: `(?-)`"),
    ("(?i-:a)", "invalid or unsupported Perl syntax: `(?i-:`"),
    ("(?--i)", "invalid or unsupported Perl syntax: `(?--`"),
    ("(a)\\1", "invalid escape sequence: `\\1`"),
    ("\\8", "invalid escape sequence: `\\8`"),
    ("\\Z", "invalid escape sequence: `\\Z`"),
    ("\\C", "invalid escape sequence: `\\C`"),
    ("\\u0041", "invalid escape sequence: `\\u`"),
    ("\\N{DASH}", "invalid escape sequence: `\\N`"),
    ("\\g<1>", "invalid escape sequence: `\\g`"),
    ("\\é", "invalid escape sequence: `\\é`"),
    ("\\x", "invalid escape sequence: `\\x`"),
    ("\\x4", "invalid escape sequence: `\\x4`"),
    ("\\xZZ", "invalid escape sequence: `\\xZZ`"),
    ("\\x{}", "invalid escape sequence: `\\x{}`"),
    ("\\x{12", "invalid escape sequence: `\\x{12`"),
    ("\\x{110000}", "invalid escape sequence: `\\x{110000`"),
    ("a\\", "trailing backslash at end of expression: ``"),
    ("a*+", "invalid nested repetition operator: `*+`"),
    ("a++", "invalid nested repetition operator: `++`"),
    ("a**", "invalid nested repetition operator: `**`"),
    ("a*??", "invalid nested repetition operator: `*??`"),
    ("a{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
    ("a{2}*", "invalid nested repetition operator: `{2}*`"),
    ("*a", "missing argument to repetition operator: `*`"),
    ("a|+", "missing argument to repetition operator: `+`"),
    ("(?i)*", "missing argument to repetition operator: `*`"),
    ("({2})", "missing argument to repetition operator: `{2}`"),
    ("a{1001}", "invalid repeat count: `{1001}`"),
    ("a{1001,}", "invalid repeat count: `{1001,}`"),
    ("a{0,1001}", "invalid repeat count: `{0,1001}`"),
    ("a{2,1}", "invalid repeat count: `{2,1}`"),
    ("a{100000000}", "invalid repeat count: `{100000000}`"),
    ("(a{10}){101}", "invalid repeat count: `{101}`"),
    ("((a{2}){10}){51}", "invalid repeat count: `{51}`"),
    ("(a{2}|b{7}){143}", "invalid repeat count: `{143}`"),
    ("[=", "missing closing ]: `[=`"),
    ("[]", "missing closing ]: `[]`"),
    ("a[b-", "missing closing ]: `[b-`"),
    ("[z-a]", "invalid character class range: `z-a`"),
    ("[[:word:][:foo:]]", "invalid character class range: `[:foo:]`"),
    ("[a-\\d]", "invalid escape sequence: `\\d`"),
    ("\\p", "invalid character class range: `\\p`"),
    ("\\p{}", "invalid character class range: `\\p{}`"),
    ("\\p{L", "invalid character class range: `\\p{L`"),
    ("(?P<>a)", "invalid named capture: `(?P<>`"),
    ("(?P<a-b>x)", "invalid named capture: `(?P<a-b>`"),
    ("(?P<name", "invalid named capture: `(?P<name`"),
    ("(?<é>x)", "invalid named capture: `(?<é>`"),
    ("(a", "missing closing ): `(a`"),
    ("^test-(.*", "missing closing ): `^test-(.*`"),
    ("a)", "unexpected ): `a)`"),
    ("(a))(", "unexpected ): `(a))(`"),
]


@pytest.mark.parametrize(("pattern", "error"), REJECTED)
def test_go_rejects_with_its_own_message(pattern: str, error: str) -> None:
    with pytest.raises(GoRegexError) as err:
        compile_go(pattern)
    assert str(err.value) == f"error parsing regexp: {error}"
    assert err.value.expr == error.split(": `", 1)[1][:-1]


@pytest.mark.parametrize("pattern", ["\\p{Greek}", "\\PL\\p{Han}", "[\\p{Latin}]", "\\p{Letter}"])
def test_unicode_scripts_are_refused_as_unsupported_not_as_go_errors(pattern: str) -> None:
    with pytest.raises(UnsupportedGoRegex, match="Unicode scripts"):
        compile_go(pattern)


# (pattern, text, the span Go's FindStringIndex returns, or None): cases where Python's re, given the
# same pattern, would refuse it or answer differently.
MATCHES = [
    ("^a$", "a\n", None),  # Go's $ is the end of the text
    ("a$", "xa", (1, 2)),
    ("(?m)^a$", "b\na\n", (2, 3)),
    ("a\\z", "a\n", None),
    ("(?m)^$", "a\n", (2, 2)),
    ("\\d+", "12٣", (0, 2)),  # ASCII digits only
    ("\\w+", "ab_é", (0, 3)),
    ("\\s", "\v", None),  # no \v in Go's \s
    ("\\s", "\f", (0, 1)),
    ("[\\s]", "\x0b", None),
    ("[[:space:]]", "\x0b", (0, 1)),  # but POSIX [:space:] has it
    ("\\bx", "éx", (1, 2)),  # ASCII word boundary
    ("\\Bx", "éx", None),
    (".", "\n", None),
    ("(?s).", "\n", (0, 1)),
    ("[^a]", "\n", (0, 1)),
    ("a(?i)b|c", "C", (0, 1)),  # (?i) holds to the end of the group, across |
    ("a(?i)b|c", "aB", (0, 2)),
    ("(?i:a)b", "AB", None),
    ("(?i:a)b", "Ab", (0, 2)),
    ("((?i)a)b", "AB", None),
    ("(?i)a(?-i)b", "AB", None),
    ("(?i)[^k]", "K", None),
    ("(?i)\\W", "\u212a", None),  # Go folds \w (k takes in the Kelvin sign) before negating
    ("(?i)\\P{Lu}", "a", None),
    ("\\P{Lu}", "aA", (0, 1)),
    ("(?<n>x)y", "xy", (0, 2)),
    ("[[:alpha:]]+", "ab1", (0, 2)),
    ("[[:^digit:]]+", "ab1", (0, 2)),
    ("[^[:digit:]x]+", "ab1", (0, 2)),
    ("[]a]+", "]a]", (0, 3)),
    ("[a-]+", "-a", (0, 2)),
    ("\\Qa.b*\\E", "a.b*", (0, 4)),
    ("\\Qa.b", "axb", None),
    ("\\Qab\\E*", "abbb", (0, 4)),  # the star takes only the last quoted letter
    ("\\x{263a}", "☺", (0, 1)),
    ("\\x41\\101", "AA", (0, 2)),  # hex and octal
    ("\\12", "\n", (0, 1)),  # two octal digits are a character, not a backreference
    ("\\0", "\x00", (0, 1)),
    ("x{,3}", "x{,3}", (0, 5)),  # Go reads x{,n} literally
    ("x{01}", "x{01}", (0, 5)),
    ("x{2", "x{2", (0, 3)),
    ("a{2}{", "aa{", (0, 3)),
    ("(?U)a+", "aaa", (0, 1)),
    ("(?U)a+?", "aaa", (0, 3)),
    ("a*?", "aa", (0, 0)),
    ("^*a", "a", (0, 1)),  # Go repeats an assertion; Python refuses to
    ("\\b+a", "a", (0, 1)),
    ("a*(?i)*", "aa", (0, 2)),
    ("(?)a", "a", (0, 1)),
    ("(?:)*x", "x", (0, 1)),
    ("a{1000}", "a" * 1000, (0, 1000)),
    ("((a{2}){0}){1000}b", "b", (0, 1)),
    ("(a{2}){500}", "a" * 1000, (0, 1000)),
    ("\\pL+", "aé1", (0, 2)),
    ("\\p{Nd}", "٣", (0, 1)),
    ("\\PN+", "ab1", (0, 2)),
    ("[\\p{^L}]", "a1", (1, 2)),
    ("\\p{Any}", "\n", (0, 1)),
    ("\\pN", "x", None),
    ("^(?P<tag>123-[0-9]+\\.[0-9]+\\.[a-z0-9]+[^-debug])", "123-123.123.abcd123-debug", (0, 19)),
]


@pytest.mark.parametrize(("pattern", "text", "span"), MATCHES)
def test_matches_like_go(pattern: str, text: str, span: tuple[int, int] | None) -> None:
    m = compile_go(pattern).search(text)
    assert (m.span() if m else None) == span


def test_group_numbers_and_names_are_gos() -> None:
    rx = compile_go("(a)(?P<1x>b)(?:c)(?<ts>d)(?P<ts>e)?((?i)f)(?P<_go1_x>g)")
    assert subexp_names(rx) == ("", "", "1x", "ts", "ts", "", "_go1_x")
    m = rx.search("abcdfg")
    assert m is not None
    assert [m.group(i) for i in range(1, 7)] == ["a", "b", "d", None, "f", "g"]
    assert rx.groupindex["ts"] == 3  # a plain Go name stays usable as a Python group name


# Go's Regexp.ExpandString: template only, `$name` is the longest run of word characters, unknown
# or unmatched groups are empty, malformed `$` is literal.
EXPANDS = [
    ("$1", "12"),
    ("${1}x", "12x"),
    ("$1x", ""),
    ("$$1", "$1"),
    ("$$", "$"),
    ("$", "$"),
    ("a$", "a$"),
    ("$-", "$-"),
    ("${", "${"),
    ("${}", "${}"),
    ("${1", "${1"),
    ("${1}}", "12}"),
    ("$2", ""),
    ("$01", ""),
    ("$0", "ver12"),
    ("$000000001", ""),
    ("$1234567890", ""),
    ("$name", "12"),
    ("${name}-$name", "12-12"),
    ("$nam", ""),
    ("$é", ""),
    ("[$1]", "[12]"),
    ("$1.$name", "12.12"),
    ("x", "x"),
]


@pytest.mark.parametrize(("template", "expected"), EXPANDS)
def test_expand_follows_go(template: str, expected: str) -> None:
    m = compile_go("ver(?P<name>\\d+)").search("a ver12 b")
    assert m is not None
    assert expand(template, m) == expected


def test_expand_takes_the_leftmost_matched_group_of_a_duplicated_name() -> None:
    rx = compile_go("(?P<v>a)?(?P<v>b)")
    only_second, both = rx.search("b"), rx.search("ab")
    assert only_second is not None and both is not None
    assert expand("$v", only_second) == "b"
    assert expand("$v", both) == "a"
    assert reference_groups("$v", rx) == (1, 2)


@pytest.mark.parametrize(
    ("template", "groups"),
    [("$ts", (1,)), ("${ts}", (1,)), ("$1", (1,)), ("$0", (0,)), ("$9", ()), ("$nope", ()),
     ("x$ts", None), ("$ts$ts", None), ("$ts-", None), ("$", None), ("", None)],
)
def test_reference_groups_only_for_a_lone_reference(template: str, groups: tuple[int, ...] | None) -> None:
    assert reference_groups(template, compile_go("-(?P<ts>[0-9]+)$")) == groups


# -- properties ---------------------------------------------------------------------------------

# A pattern grammar inside the common ground of Go and Python (with Go's `$` spelled `\Z` for
# Python): on it the translation must not change what Python's engine matches.
_atom = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "\\.", "x"])


def _compose(children: st.SearchStrategy[tuple[str, str]]) -> st.SearchStrategy[tuple[str, str]]:
    def concat(parts: list[tuple[str, str]]) -> tuple[str, str]:
        return "".join(p[0] for p in parts), "".join(p[1] for p in parts)

    def alt(parts: list[tuple[str, str]]) -> tuple[str, str]:
        return "|".join(p[0] for p in parts), "|".join(p[1] for p in parts)

    return st.one_of(
        st.lists(children, min_size=1, max_size=3).map(concat),
        st.lists(children, min_size=2, max_size=3).map(alt),
        children.map(lambda p: (f"({p[0]})", f"({p[1]})")),
        children.map(lambda p: (f"(?:{p[0]})", f"(?:{p[1]})")),
        st.tuples(children, st.sampled_from(["*", "+", "?", "*?", "+?", "{1,2}", "{2}"])).map(
            lambda t: (f"(?:{t[0][0]}){t[1]}", f"(?:{t[0][1]}){t[1]}")
        ),
    )


_leaf = st.one_of(_atom.map(lambda a: (a, a)), st.just(("^", "^")), st.just(("$", "\\Z")))
_patterns = st.recursive(_leaf, _compose, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_patterns, st.text(alphabet="ab.x\n", max_size=8))
def test_translation_keeps_pythons_reading_of_the_common_ground(pair: tuple[str, str], text: str) -> None:
    go, py = pair
    ours, theirs = compile_go(go).search(text), re.compile(py).search(text)
    assert (ours is None) == (theirs is None)
    if ours is not None and theirs is not None:
        assert ours.span() == theirs.span()
        assert ours.groups() == theirs.groups()


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab()[]{}^$.*+?|\\-:=!<>PpQEdwszxi0123,_ ", max_size=14))
def test_any_text_is_compiled_or_refused_cleanly(pattern: str) -> None:
    try:
        rx = compile_go(pattern)
    except (GoRegexError, UnsupportedGoRegex):
        return
    rx.search("ab(1)")  # what Go accepts becomes a working Python pattern
