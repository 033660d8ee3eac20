from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.tags import BuildTag, flux_filter_pattern, is_oci_tag
from bot.errors import InvalidInput


def test_parse_example() -> None:
    t = BuildTag.parse("staging-v0.0.1-a1b2c3d-1738860123")
    assert (t.env, t.version, t.sha, t.ts) == ("staging", "0.0.1", "a1b2c3d", 1738860123)
    assert str(t) == "staging-v0.0.1-a1b2c3d-1738860123"


def test_env_with_dashes() -> None:
    t = BuildTag.parse("pre-prod-v1.20.3-0123456789abcdef-1")
    assert t.env == "pre-prod" and t.version == "1.20.3" and t.ts == 1


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "empty"),
        ("staging", "'-v<major>.<minor>.<patch>' part is missing"),
        ("Staging-v0.0.1-a1b2c3d-1", "environment part"),
        ("staging-v0.01.1-a1b2c3d-1", "version '0.01.1'"),
        ("staging-v0.0-a1b2c3d-1", "version '0.0'"),
        ("staging-v0.0.1-A1B2C3D-1", "sha 'A1B2C3D'"),
        ("staging-v0.0.1-a1b2c3-1", "sha 'a1b2c3'"),
        ("staging-v0.0.1-a1b2c3d-17x", "time '17x'"),
        ("staging-v0.0.1-a1b2c3d", "three dash-separated parts"),
        ("staging-v0.0.1-a1b2c3d-1;rm -rf /", "characters a tag cannot have"),
        ("staging-v0.0.1-a1b2c3d-1\nnewTag: x", "characters a tag cannot have"),
        ('staging-v0.0.1-a1b2c3d-1" # {"$imagepolicy"', "characters a tag cannot have"),
        ("staging-v0.0.1-a1b2c3d-$(id)", "characters a tag cannot have"),
        ("x" * 200, "longer than 128"),
    ],
)
def test_errors_name_the_wrong_part(text: str, part: str) -> None:
    with pytest.raises(InvalidInput) as err:
        BuildTag.parse(text)
    assert part in str(err.value)
    assert "Expected <env>-v<major>" in str(err.value)


envs = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,5}){0,2}", fullmatch=True).filter(
    lambda e: not re.search(r"-v[0-9]", e)
)
tags = st.builds(
    BuildTag,
    env=envs,
    major=st.integers(0, 999),
    minor=st.integers(0, 999),
    patch=st.integers(0, 999),
    sha=st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True),
    ts=st.integers(0, 99_999_999_999),
)


@given(tags)
def test_round_trip(tag: BuildTag) -> None:
    text = str(tag)
    assert BuildTag.parse(text) == tag
    assert BuildTag.is_valid(text)
    assert is_oci_tag(text)


@given(tags)
def test_every_tag_matches_the_flux_filter_of_its_env(tag: BuildTag) -> None:
    m = re.search(flux_filter_pattern(tag.env), str(tag))
    assert m is not None and int(m["ts"]) == tag.ts


@given(st.text(max_size=60))
def test_arbitrary_text_is_parsed_or_refused_cleanly(text: str) -> None:
    try:
        tag = BuildTag.parse(text)
    except InvalidInput as err:
        assert str(err)
    else:
        assert str(tag) == text


def test_retarget_keeps_build_identity() -> None:
    t = BuildTag.parse("staging-v0.0.2-b2c3d4e-100").retarget("production", 200)
    assert str(t) == "production-v0.0.2-b2c3d4e-200"
