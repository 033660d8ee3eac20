from __future__ import annotations

import pytest

from bot.actions.release import ReleaseCmd
from bot.errors import InvalidInput
from bot.slack.parse import (
    HelpCmd,
    PickCmd,
    PromoteCmd,
    PromoteServiceCmd,
    ResumeCmd,
    RollbackCmd,
    RollbackPickCmd,
    VersionsCmd,
    parse,
)

TAG = "staging-v0.0.2-b2c3d4e-1738860123"


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/versions", "", VersionsCmd()),
        ("/versions", "backend", VersionsCmd("backend")),
        ("/promote", f"{TAG} to production", PromoteCmd(TAG, "production")),
        ("/promote", f"{TAG} to production hotfix  for login", PromoteCmd(TAG, "production", None, "hotfix for login")),
        ("/promote", f"{TAG} to production service:backend why", PromoteCmd(TAG, "production", "backend", "why")),
        ("/rollback", "", RollbackPickCmd()),  # the picker
        ("/rollback", "production", RollbackCmd("production")),
        ("/rollback", "production backend", RollbackCmd("production", "backend")),
        ("/rollback", f"production backend to {TAG}", RollbackCmd("production", "backend", TAG)),
        ("/rollback", f"production to {TAG}", RollbackCmd("production", None, TAG)),
        ("/resume", "production", ResumeCmd("production")),
        ("/resume", "production backend force", ResumeCmd("production", "backend", True)),
    ],
)
def test_parse(command: str, text: str, expected: object) -> None:
    assert parse(command, text) == expected


@pytest.mark.parametrize(
    ("command", "text", "fragment"),
    [
        ("/versions", "a b", "at most one"),
        ("/versions", "Back;end", "not a valid service"),
        ("/promote", "", "needs a tag"),
        ("/promote", f"{TAG} into production", "needs a tag"),
        ("/promote", f"{TAG}\";rm to production", "not a build tag"),
        ("/promote", f"{TAG} to prod$(id)", "not a valid environment"),
        ("/promote", f"{TAG} to production service:../x", "not a valid service"),
        ("/rollback", "production backend to", "to <tag>"),
        ("/rollback", "production backend to latest", "not a build tag"),
        ("/resume", "production backend please", "force"),
        ("/deploy", "x", "Unknown command"),
    ],
)
def test_refusals_name_the_problem(command: str, text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse(command, text)
    assert fragment in str(err.value)


PIPELINE = ("develop", "staging", "production")


@pytest.mark.parametrize(("command", "text", "expected"), [
    ("/promote", "backend", PromoteServiceCmd("backend")),
    ("/promote", "backend to production", PromoteServiceCmd("backend", "production")),
    ("/promote", "backend to production hotfix", PromoteServiceCmd("backend", "production", "hotfix")),
    ("/promote", "", PickCmd()),
    ("/promote", "help", HelpCmd("/promote")),
    ("/promote", "staging to production", ReleaseCmd("staging", "production", ())),
    ("/versions", "production", VersionsCmd(env="production")),
    ("/versions", "backend", VersionsCmd("backend")),
])  # fmt: skip
def test_services_and_environments_are_told_apart_by_the_pipeline(command: str, text: str, expected: object) -> None:
    assert parse(command, text, PIPELINE) == expected


def test_a_broken_tag_is_still_read_as_a_tag() -> None:
    with pytest.raises(InvalidInput, match="not a build tag"):
        parse("/promote", "staging-v0.0.1-a1b2c3d-1;rm to production", PIPELINE)
