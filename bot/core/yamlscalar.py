"""How go-yaml types and quotes one scalar, so values are written the way Flux writes them.

Flux's setter sets a node's value, then two things decide its quoting (kyaml v0.21.1, yaml.v3 v3.0.4):
  1. kyaml `FormatNonStringStyle`: the setter schema is `string`, so a value that yaml.v2 (YAML 1.1) would
     read as a non-string is double-quoted unless the node is already quoted.
  2. the yaml.v3 encoder: a `!!str` plain scalar whose text v3 resolves to another type is double-quoted,
     and the emitter falls back to single (then double) quotes when the text cannot be a block plain scalar.
PyYAML's resolver is neither (it has sexagesimal ints and no `y`/`n`), so both go-yaml resolvers are ported.
"""

from __future__ import annotations

import calendar
import re

import yaml

PLAIN, SINGLE, DOUBLE = "plain", "single", "double"

_NULLS = {"~", "null", "Null", "NULL"}
_INF_NAN = {
    ".nan",
    ".NaN",
    ".NAN",
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "+.Inf",
    "+.INF",
    "-.inf",
    "-.Inf",
    "-.INF",
}
_BOOLS_12 = {"true", "True", "TRUE", "false", "False", "FALSE"}
_BOOLS_11 = _BOOLS_12 | {
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "on",
    "On",
    "ON",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "off",
    "Off",
    "OFF",
}
# go-yaml only tries numbers when the first byte hints at one (resolve.go resolveTable).
_NUMBER_HINT = set("+-0123456789.")
_GO_INT = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?")
_DATE = r"([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?)"
_CLOCK = r"([0-9][0-9]?):([0-9][0-9]?):([0-9][0-9]?)(?:[.,][0-9]+)?"
_TIMESTAMPS = (
    re.compile(_DATE),
    re.compile(_DATE + " " + _CLOCK),
    re.compile(_DATE + "[Tt]" + _CLOCK + r"(?:Z|[+-]([0-9]{2}):([0-9]{2}))"),
)
# A value made only of these characters is a single plain scalar token, so no YAML parse is needed.
_SIMPLE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/@+~:-]*(?<!:)")
_BREAKS = "\r\n\x85\u2028\u2029"
_INT64 = 1 << 63


def _underscores_ok(s: str) -> bool:
    """Go strconv's rule: `_` only between digits (or after a base prefix)."""
    body = s[1:] if s[:1] in "+-" else s
    saw, i, hexa = "^", 0, False
    if len(body) >= 2 and body[0] == "0" and body[1] in "bBoOxX":
        saw, i, hexa = "0", 2, body[1] in "xX"
    for c in body[i:]:
        if c.isdigit() or (hexa and c in "abcdefABCDEF"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _finite(text: str) -> bool:
    # Go's ParseFloat reports ErrRange where Python returns inf, and go-yaml then keeps the string.
    return abs(float(text)) != float("inf")


def _is_number(s: str) -> bool:
    """The int/float part of go-yaml's resolve (identical in v2 and v3 for plain scalars)."""
    if not s or s[0] not in _NUMBER_HINT:
        return False
    if s[0] == ".":
        bare = s.replace("_", "")
        return bool(_DOT_FLOAT.fullmatch(bare)) and _underscores_ok(s) and _finite(bare)
    plain = s.replace("_", "")
    if _GO_INT.fullmatch(plain):
        value = int(plain, 8) if re.fullmatch(r"[+-]?0[0-7]+", plain) else int(plain, 0)
        if -_INT64 <= value < _INT64 or (plain[0] not in "+-" and value < 2 * _INT64):
            return True
    return bool(_YAML_FLOAT.fullmatch(plain)) and _finite(plain)


def _is_timestamp(s: str) -> bool:
    """yaml.v3 parseTimestamp: Go time.Parse with the four layouts go-yaml allows."""
    for n, pattern in enumerate(_TIMESTAMPS):
        m = pattern.fullmatch(s)
        if not m:
            continue
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
            return False
        if n and (int(m[4]) > 23 or int(m[5]) > 59 or int(m[6]) > 59):
            return False
        return not (n == 2 and m[7] is not None and (int(m[7]) > 24 or int(m[8]) > 60))
    return False


def v2_resolves_non_string(s: str) -> bool:
    """yaml.v2 resolve() on a plain scalar gives something other than a string (empty is null)."""
    return s == "" or s in _NULLS or s in _INF_NAN or s in _BOOLS_11 or _is_number(s)


def v3_resolves_non_string(s: str) -> bool:
    """yaml.v3 resolve() on a plain scalar gives a tag other than !!str (empty is null, `<<` is merge)."""
    if s in ("", "<<") or s in _NULLS or s in _INF_NAN or s in _BOOLS_12:
        return True
    return _is_number(s) or _is_timestamp(s)


def reads_as_non_string(value: str) -> bool:
    """kyaml IsValueNonString: `yaml.v2.Unmarshal(value)` into interface{} is not a Go string."""
    if value == "" or "\n" in value:
        return False
    if _SIMPLE.fullmatch(value):
        return v2_resolves_non_string(value)
    try:
        node = yaml.compose(value, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, ValueError, RecursionError):
        return False  # v2 fails to unmarshal it, and kyaml then calls it a string
    if node is None or not isinstance(node, yaml.ScalarNode):
        return True  # nil, a map or a list
    if node.style:
        return False  # quoted or block: a string
    # An explicit tag (`!!int 5`) is judged by its text, which is what v2 does for the core tags.
    return v2_resolves_non_string(node.value)


def _printable(c: str) -> bool:
    o = ord(c)
    return o == 0x0A or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)


def _analyze(value: str) -> tuple[bool, bool]:
    """(block plain allowed, single quotes allowed): yaml.v3 emitterc.go yaml_emitter_analyze_scalar."""
    if not value or _SIMPLE.fullmatch(value):
        return True, True
    block_ind = value.startswith(("---", "..."))
    special = tab = line_breaks = False
    leading_space = trailing_space = leading_break = trailing_break = False
    break_space = space_break = previous_space = previous_break = False
    preceded_by_ws = True
    last = len(value) - 1
    for i, c in enumerate(value):
        followed_by_ws = i == last or value[i + 1] in " \t"
        if i == 0:
            if c in "#,[]{}&*!|>'\"%@`" or (c in "?:-" and followed_by_ws):
                block_ind = True
        elif (c == ":" and followed_by_ws) or (c == "#" and preceded_by_ws):
            block_ind = True
        if c == "\t":
            tab = True
        elif not _printable(c):
            special = True
        if c == " ":
            leading_space = leading_space or i == 0
            trailing_space = trailing_space or i == last
            break_space = break_space or previous_break
            previous_space, previous_break = True, False
        elif c in _BREAKS:
            line_breaks = True
            leading_break = leading_break or i == 0
            trailing_break = trailing_break or i == last
            space_break = space_break or previous_space
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_ws = c in " \t\0" or c in _BREAKS
    edges = leading_space or leading_break or trailing_space or trailing_break
    single = not (break_space or space_break or tab or special)
    return single and not (edges or line_breaks or block_ind), single


def flux_style(value: str, current: str) -> str:
    """The style yaml.v3 emits after a Flux setter writes `value` into a scalar of style `current`.

    Deviation, on purpose: a value with a line break is double-quoted (Flux would emit a literal block);
    image references never contain one.
    """
    style = current
    if style == PLAIN and (reads_as_non_string(value) or v3_resolves_non_string(value)):
        style = DOUBLE
    return fit_style(value, style)


def fit_style(value: str, style: str) -> str:
    """The emitter's fallback: plain → single quotes → double quotes, as far as the text needs."""
    plain_ok, single_ok = _analyze(value)
    if any(c in _BREAKS for c in value):
        return DOUBLE
    if style == PLAIN and not plain_ok:
        style = SINGLE
    if style == SINGLE and not single_ok:
        style = DOUBLE
    return style


_ESCAPES = {
    "\0": "0",
    "\a": "a",
    "\b": "b",
    "\t": "t",
    "\n": "n",
    "\v": "v",
    "\f": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


def _escape(c: str) -> str:
    if c in _ESCAPES and (c in '"\\' or not _printable(c) or c in _BREAKS):
        return "\\" + _ESCAPES[c]
    if _printable(c) and c != "\ufeff":
        return c
    o = ord(c)
    return f"\\x{o:02X}" if o <= 0xFF else f"\\u{o:04X}" if o <= 0xFFFF else f"\\U{o:08X}"


def render(value: str, style: str) -> str:
    """The scalar's text in `style` (no line wrapping: kyaml sets an unlimited width)."""
    if style == PLAIN:
        return value
    if style == SINGLE:
        return "'" + value.replace("'", "''") + "'"
    return '"' + "".join(_escape(c) for c in value) + '"'
