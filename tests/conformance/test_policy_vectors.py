"""Every vector in data/policy_cases.json (see ORIGIN.md), run against bot.core's port of Flux's selection.

Test functions are named after the file's sections; conftest.py prints how many ran per section.
The derived_* sections were worked out from Go source and never executed. Each one run here was
re-checked by reading the Go code it names (numerical.go's strictly-worse skip, strconv's
readFloat/underscoreOK/ErrRange, fluxcd/pkg ParseVersion's SplitN rule, Masterminds' containsPre and
Compare, filter.go's map assignment, regexp.Expand's extract()); none is left out.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from bot.core.goregex import compile_go, expand
from bot.core.imageref import ImageRef
from bot.core.policy import PolicySpec, TagFilter, database_order, ready_message, select
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
from bot.errors import PolicyError

CASES: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "policy_cases.json").read_text())


def _cases(section: str, *keys: str) -> Any:
    """pytest params for a section, with readable ids (the vector's id, else its key fields)."""
    params = []
    for i, case in enumerate(CASES[section]):
        label = case.get("id") or "|".join(str(case.get(k)) for k in keys) or str(i)
        params.append(pytest.param(case, id=f"{i}-{label}"))
    return params


def _manifest(policy: str | None, params: dict[str, Any], filter_tags: dict[str, str] | None = None) -> Any:
    choice = {policy: params} if policy else {}
    spec: dict[str, Any] = {"imageRepositoryRef": {"name": "app"}, "policy": choice}
    if filter_tags is not None:
        spec["filterTags"] = filter_tags
    api = "image.toolkit.fluxcd.io/v1"
    return {"apiVersion": api, "kind": "ImagePolicy", "metadata": {"name": "p"}, "spec": spec}


def _spec(case: dict[str, Any]) -> PolicySpec:
    return PolicySpec.from_manifest(_manifest(case["policy"], case["params"], case.get("filterTags")))


# -- flux_* -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("flux_policy_latest_cases"))
def test_flux_policy_latest_cases(case: dict[str, Any]) -> None:
    selector = _spec(case).compile()
    if case["expect_error"]:
        with pytest.raises(PolicyError) as err:
            selector.latest(case["tags"])
        assert err.value.message.startswith(case["error_message_prefix"])
        assert err.value.reason == "Failure"
        return
    assert selector.latest(case["tags"]) == case["expected"]
    if case.get("order_independent"):
        rng = random.Random(case["id"])
        for _ in range(8):
            shuffled = rng.sample(case["tags"], len(case["tags"]))
            assert selector.latest(shuffled) == case["expected"], shuffled


@pytest.mark.parametrize("case", _cases("flux_policy_constructor_cases", "policy", "params"))
def test_flux_policy_constructor_cases(case: dict[str, Any]) -> None:
    if not case["expect_error"]:
        assert _spec(case).compile().spec.kind == case["policy"]
        return
    with pytest.raises(PolicyError) as err:
        _spec(case)
    assert err.value.reason == "InvalidPolicy"
    assert err.value.message.startswith("invalid policy: ")
    if case["policy"] is None:
        assert err.value.message == "invalid policy: given ImagePolicyChoice object is invalid"


@pytest.mark.parametrize("case", _cases("flux_filter_cases"))
def test_flux_filter_cases(case: dict[str, Any]) -> None:
    found = TagFilter(case["pattern"], case["extract"]).apply(case["tags"])
    assert sorted(found) == case["expected_items_sorted"]
    for key, original in found.items():
        assert original in case["tags"] and compile_go(case["pattern"]).search(original)
        if not case["extract"]:
            assert key == original


# Flux's prose `error_kind` for each failing applyPolicy vector, as (condition reason, message text).
APPLY_ERRORS = {
    "apply-invalid-policy": ("InvalidPolicy", "invalid policy: given ImagePolicyChoice object is invalid"),
    "apply-no-tags": ("DependencyNotReady", "no tags in database"),
    "apply-invalid-filter": (
        "InvalidPolicy",
        "failed to filter tags: invalid regular expression pattern '[=': "
        "error parsing regexp: missing closing ]: `[=`",
    ),
    "calc-semver-invalid-range": ("InvalidPolicy", "invalid policy: improper constraint: *-*"),
    "filtertags-invalid": (
        "InvalidPolicy",
        "failed to filter tags: invalid regular expression pattern '^test-(.*': "
        "error parsing regexp: missing closing ): `^test-(.*`",
    ),
}
# podinfo-6.7 ran against the live ghcr.io/stefanprodan/podinfo tag list; these are real tag names from
# it (plus a cosign signature tag and `latest`), enough to exercise the filter, the range and the
# exclusion list the vector's note describes.
PODINFO_TAGS = ["6.5.4", "6.6.0", "6.6.3", "6.7.0", "6.7.1", "6.8.0", "latest", "sha256-1d8f.sig"]


@pytest.mark.parametrize("case", _cases("flux_apply_policy_cases"))
def test_flux_apply_policy_cases(case: dict[str, Any]) -> None:
    if case["id"] == "podinfo-6.7":
        spec = _spec(case)
        assert select(spec, database_order(PODINFO_TAGS)) == case["expected"]
        assert select(spec, database_order(PODINFO_TAGS, ["^6\\.7\\.1$"])) == "6.7.0"
        return
    tags = case["tags"] or []
    if case["expect_error"]:
        reason, message = APPLY_ERRORS[case["id"]]
        with pytest.raises(PolicyError) as err:
            select(_spec(case), tags)
        assert (err.value.reason, err.value.message) == (reason, message)
        # Cross-check the table against the vector's own prose: its quoted text and named reason.
        for quoted in re.findall(r"message contains [\"'](.+)[\"']$", case["error_kind"]):
            assert quoted in message
        for named in ("InvalidPolicy", "DependencyNotReady"):
            if named in case["error_kind"]:
                assert reason == named
        return
    spec = _spec(case)
    assert select(spec, tags) == case["expected"]
    # The same answer from the order the ImageRepository stores (these vectors have no ties).
    assert select(spec, database_order(tags)) == case["expected"]


@pytest.mark.parametrize("case", _cases("flux_ready_message_cases", "expected"))
def test_flux_ready_message_cases(case: dict[str, Any]) -> None:
    previous = case["observedPreviousRef"]
    message = ready_message(ImageRef(**case["latestRef"]), ImageRef(**previous) if previous else None)
    assert message == case["expected"]


@pytest.mark.parametrize("case", _cases("flux_parse_version_cases", "tag"))
def test_flux_parse_version_cases(case: dict[str, Any]) -> None:
    if case["expect_error"]:
        with pytest.raises(InvalidVersion):
            parse_version(case["tag"])
    else:
        assert parse_version(case["tag"]).original == case["tag"]


@pytest.mark.parametrize("case", _cases("flux_version_sort_cases", "range"))
def test_flux_version_sort_cases(case: dict[str, Any]) -> None:
    assert sort_descending(Constraints.parse(case["range"]), case["tags"]) == case["expected_descending"]


# -- masterminds_* ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("masterminds_constraints_check_cases", "range", "version"))
def test_masterminds_constraints_check_cases(case: dict[str, Any]) -> None:
    constraints = Constraints.parse(case["range"])
    assert constraints.check(Version.parse(case["version"])) is case["check"]
    # As an ImagePolicy tag the version is only ever selected when Flux's two-dot rule lets it through.
    spec = PolicySpec("semver", range=case["range"])
    if case["check"] and case["flux_tag_parses"]:
        assert select(spec, [case["version"]]) == case["version"]
    else:
        with pytest.raises(PolicyError, match="unable to determine latest version"):
            select(spec, [case["version"]])
    if not case["flux_tag_parses"]:
        with pytest.raises(InvalidVersion):
            parse_version(case["version"])


@pytest.mark.parametrize("case", _cases("masterminds_single_constraint_check_cases", "constraint", "version"))
def test_masterminds_single_constraint_check_cases(case: dict[str, Any]) -> None:
    assert Constraint.parse(case["constraint"]).check(Version.parse(case["version"])) is case["check"]


@pytest.mark.parametrize("case", _cases("masterminds_new_constraint_cases", "range"))
def test_masterminds_new_constraint_cases(case: dict[str, Any]) -> None:
    if case["expect_error"]:
        with pytest.raises(InvalidConstraint):
            Constraints.parse(case["range"])
        return
    parsed = Constraints.parse(case["range"])
    assert (len(parsed.groups), len(parsed.groups[0])) == (case["or_groups"], case["and_count_first_group"])


@pytest.mark.parametrize("case", _cases("masterminds_rewrite_range_cases", "input"))
def test_masterminds_rewrite_range_cases(case: dict[str, Any]) -> None:
    assert rewrite_range(case["input"]) == case["rewritten"]


@pytest.mark.parametrize("case", _cases("masterminds_new_version_cases", "version"))
def test_masterminds_new_version_cases(case: dict[str, Any]) -> None:
    for parse, key in ((Version.parse, "expect_error"), (parse_version, "flux_parse_version_expect_error")):
        if case[key]:
            with pytest.raises(InvalidVersion):
                parse(case["version"])
        else:
            assert parse(case["version"]).original == case["version"]


@pytest.mark.parametrize("case", _cases("masterminds_compare_cases", "v1", "v2"))
def test_masterminds_compare_cases(case: dict[str, Any]) -> None:
    a, b = Version.parse(case["v1"]), Version.parse(case["v2"])
    assert a.compare(b) == case["expected"]
    assert b.compare(a) == -case["expected"]


# -- derived_* (never run against Go; each re-checked against the Go source, see the module docstring) -


@pytest.mark.parametrize("case", _cases("derived_policy_cases"))
def test_derived_policy_cases(case: dict[str, Any]) -> None:
    spec = _spec(case)
    if case.get("expect_error"):
        with pytest.raises(PolicyError) as err:
            select(spec, case["tags"])
        assert err.value.reason == "Failure"
        assert err.value.message == f"failed to parse invalid numeric value '{case['tags'][0]}'"
        return
    assert select(spec, case["tags"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("derived_expand_template_cases", "pattern", "extract"))
def test_derived_expand_template_cases(case: dict[str, Any]) -> None:
    match = compile_go(case["pattern"]).search(case["tag"])
    assert match is not None
    assert expand(case["extract"], match) == case["key"]
    # The filter's fast path for a lone `$name` must agree with the general expansion.
    assert TagFilter(case["pattern"], case["extract"]).apply([case["tag"]]) == {case["key"]: case["tag"]}
