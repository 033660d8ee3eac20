"""Go's regexp dialect (RE2, as Flux compiles it with regexp.Compile) on top of Python's `re`.

Flux evaluates ImagePolicy filterTags, ImageRepository exclusionList and Alert inclusion/exclusion
lists with Go's regexp. Python's `re` reads many of the same patterns differently: it accepts
lookarounds and backreferences Go rejects, its `\\d \\w \\s` are Unicode-aware, its `$` also matches
before a final newline, and it cannot take `(?<name>...)`, `[[:alpha:]]`, `\\Q...\\E` or a mid-pattern
`(?i)`. `compile_go` parses with Go's grammar (goregex_parser) and hands `re` an equivalent pattern,
so a pattern is accepted, rejected and matched the way Flux would.

Searches are unanchored and leftmost-first in both engines, so `compile_go(p).search(s)` is Go's
`FindStringSubmatchIndex` and `MatchString`. Known differences, all outside what tags can contain:
case folding of non-ASCII letters under (?i) follows Python; Unicode classes use Python's tables;
`\\p{Greek}`-style scripts are refused (UnsupportedGoRegex); Go's size limits ("expression too large",
"expression nests too deeply") are not reproduced, but Python's own limits surface as UnsupportedGoRegex.
Python's engine backtracks where Go's runs in linear time, so a pathological pattern such as `(a+)+$`
can be slow on a hostile string; the patterns come from our own manifests, not from users.
"""

from __future__ import annotations

import functools
import re

from bot.core.goregex_lexer import MANGLED, GoRegexError, UnsupportedGoRegex
from bot.core.goregex_parser import translate

__all__ = [
    "GoRegexError",
    "UnsupportedGoRegex",
    "compile_go",
    "expand",
    "reference_groups",
    "subexp_names",
    "translate",
]


@functools.lru_cache(maxsize=512)
def compile_go(pattern: str) -> re.Pattern[str]:
    """Compile a Go regexp; raises GoRegexError (Go's message) or UnsupportedGoRegex."""
    source = translate(pattern)
    try:
        return re.compile(source)
    except (re.error, RecursionError, OverflowError) as err:
        raise UnsupportedGoRegex(
            f"The bot cannot evaluate the regular expression {pattern[:80]!r}: it is too large or too "
            "deeply nested for Python's engine.",
            hint="Simplify the pattern.",
        ) from err


@functools.lru_cache(maxsize=512)
def subexp_names(rx: re.Pattern[str]) -> tuple[str, ...]:
    """Go's SubexpNames for a pattern from compile_go: index 0 and unnamed groups are ""."""
    names = [""] * (rx.groups + 1)
    for key, index in rx.groupindex.items():
        mangled = MANGLED.fullmatch(key)
        names[index] = mangled[2] if mangled and int(mangled[1]) == index else key
    return tuple(names)


def _reference(template: str) -> tuple[str, int, str] | None:
    """Go's `extract`: the name after a `$`, its group number (-1 if it is not one) and the rest."""
    brace = template.startswith("{")
    body = template[1:] if brace else template
    i = 0
    while i < len(body) and (body[i].isalpha() or body[i].isdecimal() or body[i] == "_"):
        i += 1
    if i == 0:
        return None
    name = body[:i]
    if brace:
        if i >= len(body) or body[i] != "}":
            return None
        i += 1
    num = 0
    for ch in name:
        if not "0" <= ch <= "9" or num >= 100_000_000:
            num = -1
            break
        num = num * 10 + int(ch)
    if name[0] == "0" and len(name) > 1:
        num = -1  # `$01` names a group called "01", it is not group 1
    return name, num, body[i:]


def _groups_for(name: str, num: int, rx: re.Pattern[str]) -> tuple[int, ...]:
    """The groups a reference may expand to, in the order Go tries them (leftmost matched one wins)."""
    if num >= 0:
        return (num,) if num <= rx.groups else ()
    return tuple(i for i, n in enumerate(subexp_names(rx)) if n == name)


def expand(template: str, match: re.Match[str]) -> str:
    """Go's Regexp.ExpandString(nil, template, src, match): only the expanded template, nothing around it.

    `$name` takes the longest run of letters, digits and `_`, so `$1x` is the (empty) group "1x"; `${1}x`
    is group 1 then "x". `$$` is "$". Unknown names, out-of-range numbers and unmatched groups expand to
    "", and a malformed `$` (at the end, before `-`) is copied as it is.
    """
    out: list[str] = []
    while template:
        before, dollar, after = template.partition("$")
        if not dollar:
            break
        out.append(before)
        template = after
        if template.startswith("$"):
            out.append("$")
            template = template[1:]
            continue
        ref = _reference(template)
        if ref is None:
            out.append("$")
            continue
        name, num, template = ref
        for group in _groups_for(name, num, match.re):
            value = match.group(group)
            if value is not None:
                out.append(value)
                break
    out.append(template)
    return "".join(out)


def reference_groups(template: str, rx: re.Pattern[str]) -> tuple[int, ...] | None:
    """When `template` is exactly one `$name`/`${name}`, the groups it may expand to; otherwise None.

    Lets a caller replace `expand` in a hot loop with `match.group(i) or ""` (an empty tuple means the
    result is always "").
    """
    if not template.startswith("$"):
        return None
    ref = _reference(template[1:])
    if ref is None or ref[2]:
        return None
    return _groups_for(ref[0], ref[1], rx)
