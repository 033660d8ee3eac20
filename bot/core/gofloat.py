"""Go's strconv.ParseFloat(s, 64), which Flux's numerical ImagePolicy runs on every tag.

Python's float() differs in both directions: it accepts surrounding whitespace, `+nan` and non-ASCII
digits, and turns `1e400` into inf; it rejects hex floats (`0x1p4`). Here the Go syntax is checked
first (src/strconv/atof.go: readFloat, special, underscoreOK), then Python does the correctly rounded
conversion, which both languages share.
"""

from __future__ import annotations

import math
import re

_DEC = r"[0-9]+(?:_[0-9]+)*"
_HEX = r"[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*"
# Underscores may only sit between two digits (or right after the 0x prefix), as underscoreOK demands.
_DECIMAL = re.compile(rf"[+-]?(?:{_DEC}(?:\.(?:{_DEC})?)?|\.{_DEC})(?:[eE][+-]?{_DEC})?")
_HEXADECIMAL = re.compile(rf"[+-]?0[xX](?:_?{_HEX}(?:\.(?:{_HEX})?)?|\.{_HEX})[pP][+-]?{_DEC}")
# A sign is allowed before Inf/Infinity but not before NaN (Go's `special`).
_SPECIAL = re.compile(r"([+-]?)(?:inf|infinity)|nan", re.IGNORECASE)


def parse_go_float(text: str) -> float:
    """The float64 Go's ParseFloat returns, or ValueError carrying Go's error text."""
    if text.isascii() and text.isdigit():
        value = float(text)  # the common case: a plain timestamp or build number
    elif special := _SPECIAL.fullmatch(text):
        return -math.inf if special[1] == "-" else math.inf if special[1] is not None else math.nan
    elif _DECIMAL.fullmatch(text):
        value = float(text.replace("_", ""))
    elif _HEXADECIMAL.fullmatch(text):
        try:
            return float.fromhex(text.replace("_", ""))
        except OverflowError:
            raise ValueError(f'strconv.ParseFloat: parsing "{text}": value out of range') from None
    else:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    if math.isinf(value):
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value
