"""ImagePolicy selection as the bot uses it: our tag grammar, the exclusion list, manifests, Flux's quirks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.goregex import UnsupportedGoRegex
from bot.core.policy import PolicySpec, Selector, TagFilter, database_order, select
from bot.core.tags import BuildTag, flux_filter_pattern
from bot.errors import InvalidInput, PolicyError


def newest(env: str) -> PolicySpec:
    """The bot's standard policy: this env's build tags, by their unix time."""
    return PolicySpec("numerical", order="asc", filter_pattern=flux_filter_pattern(env), extract="$ts")


REPO = [
    "staging-v0.0.1-a1b2c3d-1738860123",
    "staging-v0.0.9-aaaaaaa-1738860999",  # newest staging build
    "staging-v1.0.0-bbbbbbb-1738860500",  # a higher version is not newer
    "production-v0.0.9-aaaaaaa-1738861000",  # newer, but another environment
    "staging",  # the moving alias
    "latest",
    "staging-v0.0.9-aaaaaaa-1738860999.sig",
    "pre-staging-v0.0.9-ccccccc-1738869999",  # `^` keeps another env's prefix out
    "staging-v0.0.9-aaaaaaa-1738860999-debug",  # `$` keeps suffixed tags out
    "staging-v0.0.9-AAAAAAA-1738869999",  # the sha is lowercase hex
]


def test_our_grammar_selects_the_newest_build_of_the_env() -> None:
    assert select(newest("staging"), database_order(REPO)) == "staging-v0.0.9-aaaaaaa-1738860999"
    assert select(newest("production"), database_order(REPO)) == "production-v0.0.9-aaaaaaa-1738861000"


def test_the_key_is_the_timestamp_but_the_answer_is_the_original_tag() -> None:
    selector = newest("staging").compile()
    found = selector.candidates(database_order(REPO))
    assert found["1738860999"] == "staging-v0.0.9-aaaaaaa-1738860999"
    assert sorted(found) == ["1738860123", "1738860500", "1738860999"]


def test_no_build_of_the_env_is_flux_empty_list_error() -> None:
    with pytest.raises(PolicyError) as err:
        select(newest("develop"), database_order(REPO))
    assert (err.value.message, err.value.reason) == ("version list argument cannot be empty", "Failure")


def test_a_numerical_policy_without_filter_breaks_on_a_latest_tag() -> None:
    with pytest.raises(PolicyError) as err:
        select(PolicySpec("numerical"), database_order(["1738860123", "latest", "1738860999"]))
    assert err.value.message == "failed to parse invalid numeric value 'latest'"


@given(
    st.lists(
        st.builds(
            BuildTag,
            env=st.sampled_from(["develop", "staging", "production"]),
            major=st.integers(0, 20),
            minor=st.integers(0, 20),
            patch=st.integers(0, 20),
            sha=st.from_regex(r"[0-9a-f]{7}", fullmatch=True),
            ts=st.integers(1_600_000_000, 1_900_000_000),
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t.ts,
    ),
    st.lists(st.sampled_from(["latest", "staging", "main", "x.sig"]), max_size=4),
)
def test_selection_is_the_newest_build_of_the_env(builds: list[BuildTag], noise: list[str]) -> None:
    tags = database_order([str(b) for b in builds] + noise)
    staging = [b for b in builds if b.env == "staging"]
    if not staging:
        with pytest.raises(PolicyError, match="version list argument cannot be empty"):
            select(newest("staging"), tags)
    else:
        assert select(newest("staging"), tags) == str(max(staging, key=lambda b: b.ts))


# -- the ImageRepository's stored list --------------------------------------------------------------


def test_database_order_is_byte_wise_descending() -> None:
    assert database_order(["a", "B", "b", "10", "9", "é", "_"]) == ["é", "b", "a", "_", "B", "9", "10"]


def test_default_exclusion_drops_cosign_signatures_only() -> None:
    tags = ["v1", "sha256-abc.sig", "a.sig.x", "sig", "x.SIG", "b.sig\n"]
    assert database_order(tags) == ["x.SIG", "v1", "sig", "b.sig\n", "a.sig.x"]


def test_an_exclusion_list_replaces_the_default() -> None:
    tags = ["v1", "v1-debug", "sha256-abc.sig"]
    assert database_order(tags, ["-debug$"]) == ["v1", "sha256-abc.sig"]
    assert database_order(tags, []) == ["v1-debug", "v1", "sha256-abc.sig"]
    assert database_order(tags, ["^v", "sig"]) == []


def test_exclusion_patterns_are_unanchored_go_regexps() -> None:
    assert database_order(["ab", "xaby", "b"], ["a"]) == ["b"]
    assert database_order(["a1", "a١"], ["a\\d"]) == ["a١"]  # \d is ASCII in Go


def test_a_bad_exclusion_pattern_is_flux_scan_error() -> None:
    with pytest.raises(PolicyError) as err:
        database_order(["v1"], ["(?!x)"])
    assert err.value.message == (
        "failed to compile regex (?!x): error parsing regexp: invalid or unsupported Perl syntax: `(?!`"
    )


def test_at_most_25_exclusion_patterns() -> None:
    assert database_order(["v1"], ["^x$"] * 25) == ["v1"]
    with pytest.raises(InvalidInput, match="at most 25"):
        database_order(["v1"], ["^x$"] * 26)


# -- policer quirks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "order", "tags", "expected"),
    [
        ("numerical", "ASC", ["1", "1.0", "01"], "01"),  # the last of equal values wins
        ("numerical", "DESC", ["1", "1.0", "01"], "01"),
        ("numerical", "ASC", ["5", "NaN", "3"], "3"),  # NaN replaces the pick, then anything replaces NaN
        ("numerical", "ASC", ["5", "3", "NaN"], "NaN"),
        ("numerical", "ASC", ["15", "0x1p4", "1_5"], "0x1p4"),  # Go float syntax
        ("numerical", "DESC", ["-Inf", "-1e308"], "-Inf"),
        ("alphabetical", "ASC", ["v9", "v10", "V99"], "v9"),  # byte-wise, not natural order
        ("alphabetical", "DESC", ["v9", "v10", "V99"], "V99"),
        ("alphabetical", "ASC", ["b", "é", "z"], "é"),  # UTF-8 byte order
    ],
)
def test_policer_quirks(kind: str, order: str, tags: list[str], expected: str) -> None:
    assert PolicySpec(kind, order=order).compile().latest(tags) == expected


@pytest.mark.parametrize("bad", ["1e400", " 3", "+nan", "0x10"])
def test_numerical_refuses_what_go_refuses(bad: str) -> None:
    with pytest.raises(PolicyError) as err:
        PolicySpec("numerical").compile().latest(["1", bad, "2"])
    assert err.value.message == f"failed to parse invalid numeric value '{bad}'"


def test_semver_keeps_the_first_of_equal_versions_and_returns_it_verbatim() -> None:
    spec = PolicySpec("semver", range=">=1.0.0")
    assert spec.compile().latest(["1.0.0+b", "v1.0.0", "1.0.0"]) == "1.0.0+b"
    assert spec.compile().latest(["0.9.0", "v1.0.0", "1.0.0"]) == "v1.0.0"


def test_extract_collisions_keep_the_last_tag_under_the_first_position() -> None:
    found = TagFilter("^(?P<v>[a-z]+)-", "$v").apply(["b-2", "a-1", "b-1"])
    assert list(found.items()) == [("b", "b-1"), ("a", "a-1")]


@pytest.mark.parametrize("extract", ["$ts", "${ts}", "$1", "x$ts", "${ts}$nope"])
def test_every_extract_form_gives_the_same_winner(extract: str) -> None:
    spec = PolicySpec("alphabetical", filter_pattern=flux_filter_pattern("staging"), extract=extract)
    assert select(spec, database_order(REPO)) == "staging-v0.0.9-aaaaaaa-1738860999"


def test_an_empty_pattern_keeps_every_tag_and_extract_may_collapse_them() -> None:
    assert select(PolicySpec("alphabetical", filter_pattern=""), ["a", "c", "b"]) == "c"
    # `$1` with no group 1 expands to "" for every tag: one key, the last tag wins.
    assert select(PolicySpec("alphabetical", filter_pattern="", extract="$1"), ["a", "c", "b"]) == "b"


def test_no_tags_wins_over_a_bad_filter_and_a_bad_filter_over_the_policer() -> None:
    spec = PolicySpec("numerical", filter_pattern="(")
    with pytest.raises(PolicyError) as err:
        select(spec, [])
    assert (err.value.message, err.value.reason) == ("no tags in database", "DependencyNotReady")
    with pytest.raises(PolicyError) as err:
        select(spec, ["latest"])
    assert err.value.reason == "InvalidPolicy"
    assert err.value.message.endswith("error parsing regexp: missing closing ): `(`")


def test_a_pattern_go_may_accept_but_the_bot_cannot_run_is_not_reported_as_flux_error() -> None:
    with pytest.raises(UnsupportedGoRegex):
        select(PolicySpec("alphabetical", filter_pattern="\\p{Greek}"), ["a"])


def test_compiled_selectors_are_reused() -> None:
    assert Selector.compile(newest("staging")) is newest("staging").compile()


# -- PolicySpec and manifests ---------------------------------------------------------------------------


def manifest(policy: Any, filter_tags: Any = None, api: str = "image.toolkit.fluxcd.io/v1") -> dict[str, Any]:
    spec: dict[str, Any] = {"imageRepositoryRef": {"name": "app"}, "policy": policy}
    if filter_tags is not None:
        spec["filterTags"] = filter_tags
    return {"apiVersion": api, "kind": "ImagePolicy", "metadata": {"name": "app"}, "spec": spec}


def test_reads_our_standard_policy_from_v1_and_v1beta2() -> None:
    filter_tags = {"pattern": flux_filter_pattern("staging"), "extract": "$ts"}
    for api in ("image.toolkit.fluxcd.io/v1", "image.toolkit.fluxcd.io/v1beta2"):
        doc = manifest({"numerical": {"order": "asc"}}, filter_tags, api)
        assert PolicySpec.from_manifest(doc) == newest("staging")


ALPHA_DESC = PolicySpec("alphabetical", order="desc")


@pytest.mark.parametrize(
    ("policy", "filter_tags", "expected"),
    [
        ({"numerical": {}}, None, PolicySpec("numerical", order="ASC")),
        ({"numerical": None, "alphabetical": {"order": "Desc"}}, None, ALPHA_DESC),
        # Flux's factory tries semver first.
        ({"semver": {"range": "1.x"}, "numerical": {}}, None, PolicySpec("semver", range="1.x")),
        ({"alphabetical": {}}, {}, PolicySpec("alphabetical", filter_pattern="")),
        ({"alphabetical": {}}, {"extract": "$1"}, PolicySpec("alphabetical", "", "", "", "$1")),
    ],
)
def test_manifest_shapes(policy: Any, filter_tags: Any, expected: PolicySpec) -> None:
    assert PolicySpec.from_manifest(manifest(policy, filter_tags)) == expected


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (None, "invalid policy: given ImagePolicyChoice object is invalid"),
        ({}, "invalid policy: given ImagePolicyChoice object is invalid"),
        ({"numerical": {"order": "newest"}}, "invalid policy: invalid order argument provided: 'NEWEST', "
         "must be one of: ASC, DESC"),
        ({"semver": {}}, "invalid policy: improper constraint: "),
        ({"semver": {"range": "1.0.0p"}}, "invalid policy: improper constraint: 1.0.0p"),
        ({"semver": {"range": "x1"}}, "invalid policy: constraint parser error"),
    ],
)
def test_invalid_policies_carry_flux_messages(policy: Any, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        PolicySpec.from_manifest(manifest(policy))
    assert (err.value.message, err.value.reason) == (message, "InvalidPolicy")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({**manifest({"numerical": {}}), "apiVersion": "image.toolkit.fluxcd.io/v1alpha2"}, "Not an Image"),
        ({**manifest({"numerical": {}}), "kind": "ImageRepository"}, "Not an ImagePolicy"),
        (manifest(["numerical"]), "spec.policy must be a mapping, not list"),
        (manifest({"numerical": {"order": 1}}), "spec.policy.numerical.order must be a string, not int"),
        (manifest({"numerical": {}}, "^v"), "spec.filterTags must be a mapping, not str"),
        (manifest({"numerical": {}}, {"pattern": ["^v"]}), "spec.filterTags.pattern must be a string"),
    ],
)
def test_malformed_manifests_name_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        PolicySpec.from_manifest(doc)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "semver", "range": "1.x", "order": "ASC"},
        {"kind": "numerical", "range": "1.x"},
        {"kind": "numerical", "extract": "$ts"},
    ],
)
def test_constructor_refuses_fields_that_do_not_belong(kwargs: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        PolicySpec(**kwargs)
