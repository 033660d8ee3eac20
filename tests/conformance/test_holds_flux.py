"""The held marker form against Flux's rules (bot/core/holds.py), run through the project's setter engine.

What the form rests on, in Flux's source (pinned as in FLUX-FACTS: IAC d36e2ea07a39, KYAML kyaml/v0.21.1):
  - kyaml `kyaml/fieldmeta/fieldmeta.go` `Read` (l.53-98): the line comment, all leading `#` stripped, is
    decoded as JSON into map[string]string and its "$imagepolicy" value is the setter name; a comment that does
    not decode as that map is retried as an OpenAPI schema (where a `$ref` is a setter too).
  - IAC `internal/update/filter.go` (l.79-86): a field is set only when that name is one of the setters of the
    run; IAC `internal/update/setters.go` builds them as `<ns>:<name>` (+ `:tag`/`:name`/`:digest`) from the
    policies of the automation's namespace (FLUX-FACTS §2.1). Flux's executed fixture `otherns.yaml`
    (TestUpdateWithSetters, copied in data/setter_cases.json, see ORIGIN.md) shows an unknown name left alone.
  - Kubernetes namespaces are lowercase RFC 1123 labels, so no setter is ever named `HELD:…`.
The forms Flux still honours (`##{…}`, extra JSON keys, `$ref`) are shown live, and never written by a hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.core import holds, setters
from bot.core.discovery import discover
from bot.core.imageref import ImageRef
from bot.core.setters import apply_setters, find_markers
from bot.settings_values import DEFAULT_PIPELINE
from tests.fleets.flux_run import automation_run, with_newer_builds
from tests.fleets.layouts import FLEETS, one_automation

CASES: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "setter_cases.json").read_text())
POLICY = {"apps:app": ImageRef("ghcr.io/acme/app", "v2", "")}
LINE = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - image: ghcr.io/acme/app:v1 # {}\n"


def _run(comment: str) -> str:
    text = LINE.replace("# {}", comment)
    return apply_setters({"pod.yaml": text}, POLICY, automation_namespace="apps").files.get("pod.yaml", text)


def test_flux_otherns_fixture_an_unknown_setter_is_left_unwritten() -> None:
    [case] = [f for f in CASES["flux_update_with_setters"]["files"] if f["file"] == "otherns.yaml"]
    policies = {
        f"{p['namespace']}:{p['name']}": ImageRef(
            p["latestRef"]["name"], p["latestRef"]["tag"], p["latestRef"]["digest"]
        )
        for p in CASES["flux_update_with_setters"]["policies"]
    }
    result = apply_setters({"otherns.yaml": case["input"]}, policies, automation_namespace="automation-ns")
    assert (case["written"], result.files) == (False, {})


def test_the_held_form_is_left_unwritten_and_read_back_as_held() -> None:
    held = '# {"$imagepolicy": "HELD:apps:app"}'
    assert _run(held) == LINE.replace("# {}", held)
    [site] = find_markers("pod.yaml", LINE.replace("# {}", held))
    assert (site.held, site.setter, site.policy, site.marker) == (True, "apps:app", "apps:app", "HELD:apps:app")
    assert "ghcr.io/acme/app:v2" in _run('# {"$imagepolicy": "apps:app"}')  # the same marker, unheld, is written


@pytest.mark.parametrize(
    "comment",
    ['##{"$imagepolicy": "apps:app"}', '# {"$imagepolicy": "apps:app", "held": "true"}'],
    ids=["double-hash", "extra-json-key"],
)
def test_forms_flux_still_honours_are_written_so_they_hold_nothing(comment: str) -> None:
    assert "ghcr.io/acme/app:v2" in _run(comment)


def _hold_everything(files: dict[str, str], config: dict[str, Any] | None = None) -> dict[str, str]:
    config = config or {}
    pipeline = config.get("pipeline", DEFAULT_PIPELINE)
    topo = discover(files, pipeline=pipeline, substitutions=config.get("substitutions"))
    edited: dict[str, str] = {}
    for t in topo.targets.values():
        holds.write_markers(files, edited, t, {}, hold=True)
    return {**files, **edited}


def test_a_hold_writes_none_of_the_forbidden_forms_and_leaves_flux_objects_alone() -> None:
    fleet = one_automation()
    held = _hold_everything(fleet.files)
    changed = {p for p in held if held[p] != fleet.files[p]}
    assert changed == {p for p in fleet.files if p.startswith("deploy/")}  # no ImagePolicy/automation narrowed
    for path in changed:
        for line in held[path].splitlines():
            if "$imagepolicy" in line:
                comment = line[line.index(" # ") + 3 :]
                assert not comment.startswith("#")  # no `##{…}`
                assert "$ref" not in comment  # no schema comment
                marker = json.loads(comment)
                assert list(marker) == ["$imagepolicy"] and marker["$imagepolicy"].startswith(setters.HELD_PREFIX)
        # nothing but the marker names moved
        assert held[path].replace(setters.HELD_PREFIX, "") == fleet.files[path]


@pytest.mark.parametrize("make", FLEETS, ids=lambda f: f().name)
def test_a_flux_run_writes_no_held_marker(make: Any) -> None:
    fleet = make()
    held = _hold_everything(fleet.files, fleet.config)
    assert held != fleet.files
    after = automation_run(held, with_newer_builds(fleet.images, 9_999_999_999), fleet.config.get("substitutions"))
    assert after == held
    unheld = automation_run(
        fleet.files, with_newer_builds(fleet.images, 9_999_999_999), fleet.config.get("substitutions")
    )
    assert unheld != fleet.files  # without the holds the same run bumps
