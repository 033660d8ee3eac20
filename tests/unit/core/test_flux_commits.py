"""Flux's automation commits known by their automation's author and template (LAYOUTS §10, FLUX-FACTS §2.4)."""

from __future__ import annotations

import pytest

from bot.core.commit_message import ChangeKind
from bot.core.flux_commits import CommitAuthor, automation_kind, is_bootstrap, template_shape
from tests.fleets.objects import FLEET_A, FLEET_B, FLEET_C, FLEET_D

FLUXCDBOT = CommitAuthor("fluxcdbot", "fluxcdbot@users.noreply.github.com")
FLUX_E = CommitAuthor("flux", "bot@fluxcd.io")
FLUX_BOT = CommitAuthor("flux-bot", "bot@example.dev")

RENDERED = {
    FLEET_A: "[ci skip] An automated update from FluxBot",
    FLEET_B: "v1.0.7 -> v1.0.8\n",
    FLEET_C: "ghcr.io/acme/app:b26.20240527.063829\n",
    FLEET_D: "ci(flux): :rocket: traefik:tag \n- traefik: v3.7.0 -> v3.7.1",
    "": "Update from image update automation",
}


@pytest.mark.parametrize(
    ("template", "author"),
    [(FLEET_A, FLUXCDBOT), (FLEET_B, FLUXCDBOT), (FLEET_C, FLUXCDBOT), (FLEET_C, FLUX_E), (FLEET_D, FLUX_BOT)],
    ids=["fleet-a", "fleet-b", "fleet-c", "fleet-e", "fleet-d"],
)
def test_each_template_style_and_author_form_is_an_automation_commit(template: str, author: CommitAuthor) -> None:
    message = RENDERED[template]
    writers = [(author, template)]
    assert automation_kind(message, author.name, author.email, writers=writers) is ChangeKind.AUTOMATION
    # Before: only the default wording counted, so every one of these custom templates read as `other`.
    assert "image update automation" not in message


def test_the_author_is_what_counts_not_the_wording() -> None:
    writers = [(FLUXCDBOT, "")]
    # Flux's default wording by a person is not Flux's commit once the automation names its author.
    assert automation_kind("Update from image update automation", "Someone", "s@x.org", writers=writers) == "other"
    # Emails compare case-insensitively; a declared name must match.
    assert automation_kind("x", "fluxcdbot", "FluxCDBot@users.noreply.github.com", writers=writers) == "automation"
    assert automation_kind("x", "other-name", "fluxcdbot@users.noreply.github.com", writers=writers) == "other"
    nameless = [(CommitAuthor("", "bot@fluxcd.io"), "")]
    assert automation_kind("x", "anything", "bot@fluxcd.io", writers=nameless) == "automation"


def test_without_an_author_the_template_shape_decides() -> None:
    for template, message in RENDERED.items():
        assert automation_kind(message, "Someone", "s@x.org", writers=[(None, template)]) == "automation", template
    assert automation_kind("fix typo", "Someone", "s@x.org", writers=[(None, FLEET_A)]) == "other"
    assert automation_kind("fix typo", "Someone", "s@x.org", writers=[(None, "")]) == "other"
    assert template_shape(FLEET_B).fullmatch("v1 -> v2\nv3 -> v4") is not None


def test_bootstrap_commits_and_our_own_trailers() -> None:
    assert is_bootstrap("Add Flux v2.3.0 component manifests")
    flux = CommitAuthor("Flux", "")
    assert automation_kind("Add Flux v2.3.0 component manifests", "Flux", "", writers=[(flux, "")]) == "other"
    assert automation_kind("Add Flux v2.3.0 component manifests", "Flux", "", writers=[]) == "other"
    promoted = "promote(app): v1\n\nbody\n\nPromoted-by: A <slack:U1>"
    assert automation_kind(promoted, FLUXCDBOT.name, FLUXCDBOT.email, writers=[(FLUXCDBOT, "")]) == "promote"


def test_with_no_automation_in_git_the_default_wording_is_the_fallback() -> None:
    assert automation_kind("Update from image update automation", "x", "x@y", writers=[]) == "automation"
    assert automation_kind("v1 -> v2", "fluxcdbot", FLUXCDBOT.email, writers=[]) == "other"
