"""Flux's setter fixtures from data/setter_cases.json (see ORIGIN.md), run through bot.core.setters.

Every Flux fixture file must come out byte-identical, written only when Flux writes it, with the change
records Flux reports. conftest_setters.py prints how many ran.

Derived cases (`d-*`, never executed against Go) run from `flat_cases`: all but one, each re-checked
against the kyaml/yaml.v3 source: FormatNonStringStyle and IsValueNonString (numeric tags double-quoted,
existing quotes kept; "" is not "non-string", but the v3 encoder force-quotes an empty !!str), fieldmeta.Read
(all leading `#` trimmed, json.Unmarshal rejects trailing text) and the setter lookup (unknown names are left
alone). Left out: `d-float-node-tag-quirk`. There a plain `tag: 1.0` keeps its resolved !!float node tag and
yaml.v3 would print `tag: !!float v1.1`, which no Kubernetes consumer can read as a float. We write
`tag: v1.1` on purpose: Flux reads that back as the same value, so it never rewrites it, and the file stays
valid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.imageref import ImageRef as LatestRef
from bot.core.setters import (
    Change,
    ObjectId,
    apply_setters,
    in_update_path,
    rewrite,
    setter_values,
    validate_update_strategy,
)
from bot.errors import PolicyError

CASES: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "setter_cases.json").read_text())
NOT_FOLLOWED = {"d-float-node-tag-quirk"}


def _policies(items: list[dict[str, Any]]) -> dict[str, LatestRef]:
    return {f"{p['namespace']}:{p['name']}": LatestRef(**p["latestRef"]) for p in items}


def _object(o: dict[str, str]) -> ObjectId:
    return ObjectId(o["apiVersion"], o["kind"], o["name"], o["namespace"])


UPDATE = CASES["flux_update_with_setters"]
UPDATE_FILES = {f["file"]: f["input"] for f in UPDATE["files"]}
UPDATE_RESULT = apply_setters(
    UPDATE_FILES, _policies(UPDATE["policies"]), automation_namespace="automation-ns"
)


@pytest.mark.parametrize("entry", UPDATE["files"], ids=lambda f: f["id"])
def test_flux_update_with_setters(entry: dict[str, Any]) -> None:
    out = UPDATE_RESULT.files.get(entry["file"], entry["input"])
    assert out == entry["expected"]
    assert (entry["file"] in UPDATE_RESULT.files) == entry["written"]


def test_flux_update_with_setters_result() -> None:
    got: dict[str, list[Change]] = {}
    for ch in UPDATE_RESULT.changes:
        got.setdefault(ch.file, []).append(ch)
    want = {
        r["file"]: [
            Change(r["file"], _object(r["object"]), c["OldValue"], c["NewValue"], c["Setter"])
            for c in r["changes"]
        ]
        for r in UPDATE["expected_result"]
    }
    assert got == want
    # Within a file, changes are in document order; across files, in the order Flux walks the tree.
    files = [c.file for c in UPDATE_RESULT.changes]
    assert files == sorted(files, key=lambda f: f.split("/"))


def test_flux_setter_values_column() -> None:
    for p in UPDATE["policies"]:
        key = f"{p['namespace']}:{p['name']}"
        got = setter_values({key: LatestRef(**p["latestRef"])})
        assert got == p["setter_values"]


APPLY_FILES = [
    pytest.param(case, f, id=f"{case['id']}/{f['file']}")
    for case in CASES["flux_apply_policies"]
    if not case["expect_error"]
    for f in case["files"]
]


@pytest.mark.parametrize(("case", "entry"), APPLY_FILES)
def test_flux_apply_policies(case: dict[str, Any], entry: dict[str, Any]) -> None:
    path = validate_update_strategy(case["update"])
    files = {f["file"]: f["input"] for f in case["files"]}
    result = apply_setters(
        files, _policies(case["policies"]), automation_namespace="test-ns", update_path=path
    )
    assert result.files.get(entry["file"], entry["input"]) == entry["expected"]
    assert (entry["file"] in result.files) == entry["written"]
    for p in case["policies"]:
        assert (
            setter_values({f"{p['namespace']}:{p['name']}": LatestRef(**p["latestRef"])})
            == p["setter_values"]
        )


@pytest.mark.parametrize(
    "case", [c for c in CASES["flux_apply_policies"] if c["expect_error"]], ids=lambda c: c["id"]
)
def test_flux_apply_policies_error(case: dict[str, Any]) -> None:
    with pytest.raises(PolicyError) as err:
        validate_update_strategy(case["update"])
    assert err.value.message == case["error"]


def test_flux_controller_fixture() -> None:
    case = CASES["flux_controller_fixture"]
    result = apply_setters(
        {case["file"]: case["input"]}, _policies(case["policies"]), automation_namespace="<ns>"
    )
    assert result.files == {case["file"]: case["expected"]}
    # The asserted commit message was "- helloworld:1.0.0 -> helloworld:v1.0.0".
    assert [(c.old, c.new) for c in result.changes] == [("helloworld:1.0.0", "helloworld:v1.0.0")]


FLAT = [pytest.param(c, id=c["id"]) for c in CASES["flat_cases"] if c["id"] not in NOT_FOLLOWED]


@pytest.mark.parametrize("case", FLAT)
def test_flat_cases(case: dict[str, Any]) -> None:
    values = setter_values({k: LatestRef(**v) for k, v in case["policies"].items()})
    scanned = in_update_path(case["file"], case.get("update_path", ""))
    out, changes = rewrite(case["file"], case["input"], values) if scanned else (case["input"], [])
    assert out == case["expected"]
    assert bool(changes) == case["written"]
    # Running again changes nothing: Flux reads back what it wrote.
    if scanned:
        assert rewrite(case["file"], case["expected"], values) == (case["expected"], [])


def test_derived_cases_are_the_flat_ones() -> None:
    """derived_setter_cases repeats flat_cases' derived rows, so running flat_cases runs both."""
    flat = {c["id"]: (c["input"], c["expected"], c["written"]) for c in CASES["flat_cases"]}
    for c in CASES["derived_setter_cases"]:
        assert flat[c["id"]] == (c["input"], c["expected"], c["written"])


def test_float_quirk_is_the_only_divergence() -> None:
    """What we write instead of `!!float v1.1` (see the module docstring)."""
    (case,) = [c for c in CASES["flat_cases"] if c["id"] in NOT_FOLLOWED]
    values = setter_values({k: LatestRef(**v) for k, v in case["policies"].items()})
    out, changes = rewrite(case["file"], case["input"], values)
    assert out == case["expected"].replace("!!float ", "")
    assert [(c.old, c.new) for c in changes] == [("1.0", "v1.1")]
