"""Go's strconv.ParseFloat(s, 64), behind Flux's numerical policy, where it differs from Python's float()."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.gofloat import parse_go_float


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1606364286", 1606364286.0),
        ("-27.8520927455902", -27.8520927455902),
        ("+5", 5.0),
        ("007", 7.0),
        ("1_000", 1000.0),
        ("1_000.000_5", 1000.0005),
        ("1e1_0", 1e10),
        ("0_1", 1.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1E3", 1000.0),
        ("0x1p4", 16.0),  # hex floats need the p exponent
        ("0x1.8p1", 3.0),
        ("-0X.8P1", -1.0),
        ("0x_1p-1", 0.5),
        ("0x1_0p0", 16.0),
        ("Inf", math.inf),
        ("+Infinity", math.inf),
        ("-iNf", -math.inf),
        ("1e-400", 0.0),  # underflow is not an error
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("4.9e-324", 5e-324),
    ],
)
def test_accepted(text: str, value: float) -> None:
    assert parse_go_float(text) == value


@pytest.mark.parametrize("text", ["NaN", "nan", "NAN"])
def test_nan_in_any_case(text: str) -> None:
    assert math.isnan(parse_go_float(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",  # Python's float() strips spaces, Go does not
        "1 ",
        "\t1",
        "+nan",  # Go takes a sign before Inf only
        "-NaN",
        "infin",
        "infinityy",
        "1__0",
        "_1",
        "1_",
        "1_.5",
        "1._5",
        "1_e5",
        "1e_5",
        "0x1",  # no p exponent
        "0x1e5",
        "0x",
        "0x__1p0",
        "1p4",
        ".",
        "e5",
        "1e",
        "1e+",
        "١٢",  # only ASCII digits
        "1,5",
        "latest",
        "0b101",
        "1.2.3",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_go_float(text)
    assert str(err.value) == f'strconv.ParseFloat: parsing "{text}": invalid syntax'


@pytest.mark.parametrize("text", ["1e400", "-1e400", "1.7976931348623159e308", "0x1p1024", "9" * 400])
def test_range_errors(text: str) -> None:
    with pytest.raises(ValueError, match="value out of range"):
        parse_go_float(text)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_round_trips_pythons_shortest_repr(x: float) -> None:
    assert parse_go_float(repr(x)) == x


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_round_trips_hex(x: float) -> None:
    assert parse_go_float(x.hex()) == x
