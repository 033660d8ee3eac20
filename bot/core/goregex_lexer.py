"""The lexical pieces of Go's regexp syntax: its error messages, single-rune escapes and repeat counts.

Each function reads `src` at an index, as Go's parser reads the rest of the pattern, and reports the
offending text exactly as Go's regexp/syntax.Error does (`error parsing regexp: <code>: `<expr>``).
"""

from __future__ import annotations

import re

from bot.core.goregex_classes import MAX_RUNE
from bot.errors import InvalidInput

ERR_CHAR_RANGE = "invalid character class range"
ERR_ESCAPE = "invalid escape sequence"
ERR_NAMED_CAPTURE = "invalid named capture"
ERR_PERL_OP = "invalid or unsupported Perl syntax"
ERR_REPEAT_OP = "invalid nested repetition operator"
ERR_REPEAT_SIZE = "invalid repeat count"
ERR_MISSING_BRACKET = "missing closing ]"
ERR_MISSING_PAREN = "missing closing )"
ERR_MISSING_REPEAT = "missing argument to repetition operator"
ERR_TRAILING_BACKSLASH = "trailing backslash at end of expression"
ERR_UNEXPECTED_PAREN = "unexpected )"

MAX_REPEAT = 1000
# Python group names for Go names Python cannot take as they are (`1x`, duplicates): `_go<index>_<name>`.
MANGLED = re.compile(r"_go([0-9]+)_(.*)", re.DOTALL)

_C_ESCAPES = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}


class GoRegexError(InvalidInput):
    """Go's regexp.Compile rejects the pattern; the message is Go's error text, word for word."""

    def __init__(self, code: str, expr: str) -> None:
        super().__init__(f"error parsing regexp: {code}: `{expr}`")
        self.code = code
        self.expr = expr


class UnsupportedGoRegex(InvalidInput):
    """Go may accept the pattern, but the bot cannot evaluate it the way Go would."""


def is_ascii_alnum(ch: str) -> bool:
    return ch < "\x80" and ch.isalnum()


def _unhex(ch: str) -> int:
    return int(ch, 16) if ch in "0123456789abcdefABCDEF" else -1


def parse_escape(src: str, i: int) -> tuple[int, int]:
    """A single-rune escape at `i` (the backslash): the rune and the index after it (Go's parseEscape)."""
    n = len(src)
    if i + 1 >= n:
        raise GoRegexError(ERR_TRAILING_BACKSLASH, "")
    c, j = src[i + 1], i + 2
    if c in "1234567" and (j >= n or not "0" <= src[j] <= "7"):
        raise GoRegexError(ERR_ESCAPE, src[i:j])  # \1 alone is a backreference, which Go does not support
    if c in "01234567":
        rune = int(c)
        for _ in range(2):
            if j < n and "0" <= src[j] <= "7":
                rune, j = rune * 8 + int(src[j]), j + 1
        return rune, j
    if c == "x":
        return _hex_escape(src, i, j)
    if c in _C_ESCAPES:
        return _C_ESCAPES[c], j
    if c < "\x80" and not is_ascii_alnum(c):
        return ord(c), j
    raise GoRegexError(ERR_ESCAPE, src[i:j])


def _hex_escape(src: str, i: int, j: int) -> tuple[int, int]:
    """`\\xHH` or `\\x{H...}`; `j` is just past the `x`."""
    n = len(src)
    if j >= n:
        raise GoRegexError(ERR_ESCAPE, src[i:j])
    c, j = src[j], j + 1
    if c == "{":
        digits, rune = 0, 0
        while True:
            if j >= n:
                raise GoRegexError(ERR_ESCAPE, src[i:j])
            c, j = src[j], j + 1
            if c == "}":
                break
            value = _unhex(c)
            rune = rune * 16 + value
            if value < 0 or rune > MAX_RUNE:
                raise GoRegexError(ERR_ESCAPE, src[i:j])
            digits += 1
        if digits == 0:
            raise GoRegexError(ERR_ESCAPE, src[i:j])
        return rune, j
    if j >= n:
        raise GoRegexError(ERR_ESCAPE, src[i:j])
    x, y, j = _unhex(c), _unhex(src[j]), j + 1
    if x < 0 or y < 0:
        raise GoRegexError(ERR_ESCAPE, src[i:j])
    return x * 16 + y, j


def repeat_bounds(src: str, i: int) -> tuple[int, int, int] | None:
    """Go's parseRepeat on `{min}`, `{min,}`, `{min,max}` at `i`: (min, max or -1, index after).

    None means the text is not a repeat and Go reads the `{` literally. Numbers too big to hold come
    back as -1, which the caller reports as an invalid repeat count.
    """
    lo, j = _repeat_int(src, i + 1)
    if j is None or j >= len(src):
        return None
    hi = lo
    if src[j] == ",":
        j += 1
        if j >= len(src):
            return None
        if src[j] == "}":
            hi = -1
        else:
            hi, j = _repeat_int(src, j)
            if j is None:
                return None
            if hi < 0:
                lo = -1
    if j >= len(src) or src[j] != "}":
        return None
    return lo, hi, j + 1


def _repeat_int(src: str, j: int) -> tuple[int, int | None]:
    n = len(src)
    if j >= n or not "0" <= src[j] <= "9":
        return 0, None
    if j + 1 < n and src[j] == "0" and "0" <= src[j + 1] <= "9":
        return 0, None  # Go refuses leading zeros, so `{01}` is literal text
    value = 0
    while j < n and "0" <= src[j] <= "9":
        value = -1 if value < 0 or value >= 100_000_000 else value * 10 + int(src[j])
        j += 1
    return value, j
