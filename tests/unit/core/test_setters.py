"""bot.core.setters: Flux's marker rules, setter values, rewrite/rewrite_sites and a whole Setters run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import yamltext
from bot.core.imageref import ImageRef as LatestRef
from bot.core.setters import (
    Change,
    MarkerSite,
    ObjectId,
    apply_setters,
    find_markers,
    in_update_path,
    is_candidate_file,
    parse_marker,
    rewrite,
    rewrite_sites,
    setter_values,
    validate_update_strategy,
)
from bot.errors import NotFound, PolicyError, PushConflict
from tests.unit.core.yaml_strategies import TRICKY, yaml_file


@pytest.mark.parametrize(
    ("path", "candidate"),
    [
        ("deploy.yaml", True),
        ("a/b/kustomization.yml", True),
        ("Kustomization", True),
        ("dir/Kustomization", True),
        (".yaml", True),  # Go's filepath.Ext(".yaml") is ".yaml"
        ("deploy.YAML", False),  # case-sensitive
        ("kustomization", False),
        ("Kustomization.bak", False),
        ("deploy.yaml.bak", False),
        ("x.yaml/README", False),
        ("values.json", False),
    ],
)
def test_is_candidate_file(path: str, candidate: bool) -> None:
    assert is_candidate_file(path) is candidate


@pytest.mark.parametrize(
    ("comment", "setter"),
    [
        ('# {"$imagepolicy": "ns:p"}', "ns:p"),
        ('#{"$imagepolicy":"ns:p:tag"}', "ns:p:tag"),
        ('### {"$imagepolicy": "ns:p"}', "ns:p"),  # all leading # go
        ('# {"$imagepolicy": "ns:p", "x": "y"}', "ns:p"),
        ('# {"x": null, "$imagepolicy": "ns:p"}', "ns:p"),  # Go decodes null into a string as ""
        ('# {"$imagepolicy": "a", "$imagepolicy": "ns:p"}', "ns:p"),  # the last duplicate wins, as in Go
        ('# {"$imagepolicy": "ns:p"} # note', None),  # trailing text: json.Unmarshal fails
        ('# {"$imagepolicy": 1}', None),  # not a map of strings
        ('# {"$imagepolicy": "ns:p", "n": 1}', None),
        ('# {"$imagepolicy": ""}', None),
        ("# {}", None),
        ('# ["$imagepolicy"]', None),
        ('# {"$imagepolicy": "ns:p"', None),
        ('# {"\\u0024imagepolicy": "ns:p"}', "ns:p"),  # the JSON is fine; the file screen is separate
        ("# plain note", None),
        ("#", None),
    ],
)
def test_parse_marker(comment: str, setter: str | None) -> None:
    assert parse_marker(comment) == setter


def test_latest_ref_and_setter_values() -> None:
    assert str(LatestRef("ghcr.io/a/web", "1.2.3")) == "ghcr.io/a/web:1.2.3"
    digest = "sha256:" + "ab" * 32
    assert str(LatestRef("web", "1", digest)) == f"web:1@{digest}"
    assert setter_values({"ns:web": LatestRef("web", "1", digest), "ns:db": LatestRef("db", "2")}) == {
        "ns:web": f"web:1@{digest}",
        "ns:web:tag": "1",
        "ns:web:name": "web",
        "ns:web:digest": digest,
        "ns:db": "db:2",
        "ns:db:tag": "2",
        "ns:db:name": "db",
        "ns:db:digest": "",  # no digest reflection: the :digest field is blanked
    }


HELM = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: apps
spec:
  values:
    image:
      repository: ghcr.io/acme/web # {"$imagepolicy": "flux-system:web:name"}
      tag: 1606234201 # {"$imagepolicy": "flux-system:web:tag"}
      digest: "" # {"$imagepolicy": "flux-system:web:digest"}
      pullPolicy: IfNotPresent # {"$imagepolicy": "flux-system:web:other"}
    sidecars:
    - ghcr.io/acme/side:1 # {"$imagepolicy": "other-ns:side"}
    "key:with # {\\"$imagepolicy\\": \\"flux-system:web\\"}": x
"""
HR = ObjectId("helm.toolkit.fluxcd.io/v2", "HelmRelease", "web", "apps")


def test_find_markers() -> None:
    assert find_markers("hr.yaml", HELM) == [
        MarkerSite("hr.yaml", 9, HR, "flux-system:web:name", "flux-system:web", "name", "ghcr.io/acme/web",
                   "spec.values.image.repository"),
        MarkerSite("hr.yaml", 10, HR, "flux-system:web:tag", "flux-system:web", "tag", "1606234201",
                   "spec.values.image.tag"),
        MarkerSite("hr.yaml", 11, HR, "flux-system:web:digest", "flux-system:web", "digest", "",
                   "spec.values.image.digest"),
        # an unknown suffix is no setter; another namespace's marker is still a marker (apply_setters filters)
        MarkerSite("hr.yaml", 14, HR, "other-ns:side", "other-ns:side", "", "ghcr.io/acme/side:1",
                   "spec.values.sidecars[0]"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("hr.txt", HELM),  # not a candidate name
        ("hr.yaml", HELM.replace('"$imagepolicy"', '"\\u0024imagepolicy"')),  # no literal token in the file
        ("hr.yaml", HELM.replace("  name: web\n", "  name: web\n--- x\n")),  # Flux cannot read it
        ("hr.yaml", "image: x # $imagepolicy: ns:p\n"),
    ],
)
def test_find_markers_screens_like_flux(file: str, text: str) -> None:
    assert find_markers(file, text) == []


def test_rewrite_quotes_and_blanks_like_flux() -> None:
    values = setter_values({"flux-system:web": LatestRef("ghcr.io/acme/web", "1606364286")})
    out, changes = rewrite("hr.yaml", HELM, values)
    assert out == HELM.replace("tag: 1606234201", 'tag: "1606364286"')  # numeric tag: double-quoted
    assert changes == [Change("hr.yaml", HR, "1606234201", "1606364286", "flux-system:web:tag")]
    # "" was already there, and the :other marker is not a setter: both untouched.


def test_unchanged_markers_are_restyled_only_in_a_written_file() -> None:
    text = 'a: 1606234201 # {"$imagepolicy": "ns:p:tag"}\nb: x # {"$imagepolicy": "ns:q:tag"}\n'
    same = {"ns:p:tag": "1606234201", "ns:q:tag": "x"}
    assert rewrite("f.yaml", text, same) == (text, [])
    out, changes = rewrite("f.yaml", text, {**same, "ns:q:tag": "z"})
    # Flux sets every marked field again in a file it writes, so FormatNonStringStyle quotes the number too.
    assert out == text.replace("a: 1606234201", 'a: "1606234201"').replace("b: x", "b: z")
    assert [c.setter for c in changes] == ["ns:q:tag"]


def test_rewrite_sites_edits_chosen_sites_only() -> None:
    sites = find_markers("hr.yaml", HELM)
    out, changes = rewrite_sites("hr.yaml", HELM, {sites[1]: "v1", (14, "spec.values.sidecars[0]"): "side:0"})
    assert out == HELM.replace("1606234201", "v1").replace("ghcr.io/acme/side:1", "side:0")
    assert [(c.old, c.new, c.setter) for c in changes] == [
        ("1606234201", "v1", "flux-system:web:tag"),
        ("ghcr.io/acme/side:1", "side:0", "other-ns:side"),
    ]
    assert rewrite_sites("hr.yaml", HELM, {sites[1]: "1606234201"}) == (HELM, [])
    moved = HELM.replace("tag: 1606234201", "tag: v9")
    with pytest.raises(PushConflict) as err:
        rewrite_sites("hr.yaml", moved, {sites[1]: "v1"})
    assert err.value.current == "v9"
    with pytest.raises(NotFound):
        rewrite_sites("hr.yaml", HELM, {(3, "spec.values.image.tag"): "v1"})


FILES = {
    "apps/web.yaml": 'image: web:1 # {"$imagepolicy": "flux-system:web"}\n',
    "apps.yaml": 'tag: "1" # {"$imagepolicy": "flux-system:web:tag"}\n',
    "other/db.yaml": 'image: db:1 # {"$imagepolicy": "team:db"}\n',
    "apps/Kustomization": 'images:\n- name: web\n  newTag: "2" # {"$imagepolicy": "flux-system:web:tag"}\n',
}


def test_apply_setters() -> None:
    policies = {"flux-system:web": LatestRef("web", "2"), "team:db": LatestRef("db", "2")}
    result = apply_setters(FILES, policies, automation_namespace="flux-system")
    assert result.files == {
        "apps/web.yaml": 'image: web:2 # {"$imagepolicy": "flux-system:web"}\n',
        "apps.yaml": 'tag: "2" # {"$imagepolicy": "flux-system:web:tag"}\n',
    }
    # filepath.Walk order: the apps/ directory comes before apps.yaml.
    assert [c.file for c in result.changes] == ["apps/web.yaml", "apps.yaml"]
    only_apps = apply_setters(FILES, policies, automation_namespace="flux-system", update_path="./apps/")
    assert list(only_apps.files) == ["apps/web.yaml"]
    assert apply_setters(FILES, policies, automation_namespace="nobody").files == {}


@pytest.mark.parametrize(
    ("path", "update_path", "inside"),
    [
        ("a/b.yaml", "", True),
        ("a/b.yaml", ".", True),
        ("a/b.yaml", "./a", True),
        ("a/b.yaml", "a/", True),
        ("ab/c.yaml", "a", False),
        ("a/b.yaml", "../a", True),  # securejoin keeps it under the root
        ("b.yaml", "a", False),
        ("a", "a", True),
    ],
)
def test_in_update_path(path: str, update_path: str, inside: bool) -> None:
    assert in_update_path(path, update_path) is inside


def test_validate_update_strategy() -> None:
    assert validate_update_strategy({"strategy": "Setters", "path": "./apps"}) == "./apps"
    assert validate_update_strategy({}) == ""  # the CRD default
    with pytest.raises(PolicyError, match=r"^no update strategy$"):
        validate_update_strategy(None)
    with pytest.raises(PolicyError, match=r"^unsupported update strategy: foo$"):
        validate_update_strategy({"strategy": "foo"})


# --- properties -----------------------------------------------------------------------------------------

REFS = st.builds(LatestRef, TRICKY, TRICKY, st.sampled_from(["", "sha256:" + "0" * 64]))
POLICIES = st.fixed_dictionaries({"ns:p1": REFS, "ns:p2": REFS, "other:p3": REFS})


def _without_marked(text: str, values: dict[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """The text with every marked scalar that has a value cut out, and (setter, value) of each cut."""
    marked = [
        (s, str(parse_marker(s.comment)))
        for s in yamltext.value_scalars(text, commented_only=True) or []
        if parse_marker(s.comment) in values
    ]
    cut = yamltext.replace_spans(text, [(s.start, s.end, "") for s, _ in marked])
    return cut, [(setter, s.value) for s, setter in marked]


@given(yaml_file(), POLICIES)
@settings(max_examples=200, deadline=None)
def test_rewrite_is_idempotent_and_touches_only_marked_scalars(
    text: str, policies: dict[str, LatestRef]
) -> None:
    values = setter_values(policies)
    out, changes = rewrite("f.yaml", text, values)
    assert rewrite("f.yaml", out, values) == (out, [])
    before, old = _without_marked(text, values)
    after, new = _without_marked(out, values)
    assert before == after  # not one byte outside the marked scalars changed
    assert [setter for setter, _ in old] == [setter for setter, _ in new]
    if changes:
        assert all(value == values[setter] for setter, value in new)
        assert [(c.old, c.new) for c in changes] == [
            (o, n) for (_, o), (_, n) in zip(old, new, strict=True) if o != n
        ]
    else:
        assert out == text
        assert all(value == values[setter] for setter, value in old)


@given(yaml_file(), POLICIES)
@settings(max_examples=100, deadline=None)
def test_markers_read_back_the_written_values(text: str, policies: dict[str, LatestRef]) -> None:
    values = setter_values(policies)
    out, _ = rewrite("f.yaml", text, values)
    for site in find_markers("f.yaml", out):
        if site.setter in values:
            assert site.value == values[site.setter]


@given(
    st.text(max_size=300).map(lambda t: t + ' # {"$imagepolicy": "ns:p"}') | yaml_file().map(lambda t: t[:-7])
)
@settings(max_examples=300, deadline=None)
def test_find_markers_never_raises(text: str) -> None:
    for site in find_markers("f.yaml", text):
        assert site.file == "f.yaml"
        assert site.policy.count(":") == 1
