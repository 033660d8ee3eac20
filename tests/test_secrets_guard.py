"""The secrets guard can fail: a pytest run in a child process, one inner test per channel, read back as JUnit XML.

A child process rather than pytester's in-process run: the guard's handler sits on this process's root logger,
and an inner session would take it off when it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

from tests.canaries import BOT_TOKEN, FLUX_TOKEN, GIT_TOKEN, REGISTRY_PASSWORD, SIGNING_SECRET, find

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ["tests.servers.git_daemon", "tests.fakes.fixtures", "tests.secrets_guard"]  # as tests/conftest.py
Outcomes = dict[str, tuple[set[str], str]]  # test name → ({"failure", "error"} or empty, their text)

INNER = """
import logging

from slack_sdk import WebClient

from bot.errors import GateRefused
from tests.canaries import BOT_TOKEN, FLUX_TOKEN, GIT_TOKEN, REGISTRY_PASSWORD, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.secrets_guard import check_output


def post(fake, text):
    fake.add_channel("C1")
    return WebClient(token=BOT_TOKEN, base_url=fake.base_url).chat_postMessage(channel="C1", text=text)


def test_clean(fake_slack, bare_remote):
    post(fake_slack, "deployed")  # the token travels in the Authorization header, which is no leak
    bare_remote({"values.yaml": "tag: v1\\n"})
    logging.getLogger("inner.fine").debug("nothing to see")
    check_output("gitops-bot versions", "backend v1", "")


def test_own_assertion_may_name_a_canary():
    assert BOT_TOKEN == "", BOT_TOKEN


def test_log_message():
    logging.getLogger("inner.message").debug("token is %s", GIT_TOKEN)


def test_log_extra():
    logging.getLogger("inner.extra").info("calling", extra={"auth": FLUX_TOKEN})


def test_log_traceback():
    try:
        raise ValueError(SIGNING_SECRET)
    except ValueError:
        logging.getLogger("inner.trace").exception("failed")


def test_slack_message():
    with FakeSlack(token=BOT_TOKEN) as fake:
        post(fake, "token: " + BOT_TOKEN)


def test_commit(bare_remote):
    bare_remote({"values.yaml": "password: " + REGISTRY_PASSWORD + "\\n"})


def test_cli_output():
    check_output("gitops-bot promote", "", "gitops-bot: refused " + GIT_TOKEN + "\\n")


def test_serve_log(tmp_path):
    (tmp_path / "bot0").mkdir()
    (tmp_path / "bot0" / "serve.log").write_text('{"msg": "listening", "token": "' + FLUX_TOKEN + '"}\\n')


def test_bot_error_escaping():
    raise GateRefused("cannot use " + SIGNING_SECRET)
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    where = tmp_path_factory.mktemp("inner")
    (where / "test_inner.py").write_text(INNER, encoding="utf-8")
    plugins = [arg for p in PLUGINS for arg in ("-p", p)]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugins, "--junitxml=report.xml",
         "--rootdir", str(where), "test_inner.py"],
        cwd=where, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=240,
        check=False,
    )  # fmt: skip
    assert (where / "report.xml").exists(), proc.stdout + proc.stderr
    out: Outcomes = {}
    for case in ElementTree.parse(where / "report.xml").iter("testcase"):  # noqa: S314 - our own child wrote it
        bad = [c for c in case if c.tag in ("failure", "error")]
        out[case.get("name", "")] = ({c.tag for c in bad}, "\n".join(f"{c.get('message')}\n{c.text}" for c in bad))
    return out


def test_a_clean_test_passes_and_a_canary_in_its_own_assert_is_no_leak(outcomes: Outcomes) -> None:
    assert outcomes["test_clean"] == (set(), "")
    outcome, text = outcomes["test_own_assertion_may_name_a_canary"]
    assert outcome == {"failure"} and "secrets guard" not in text, text


@pytest.mark.parametrize(
    ("test", "canary", "where"),
    [
        ("test_log_message", GIT_TOKEN, "reached log: logger inner.message (DEBUG)"),
        ("test_log_extra", FLUX_TOKEN, "reached log: logger inner.extra (INFO)"),
        ("test_log_traceback", SIGNING_SECRET, "reached log: logger inner.trace (ERROR)"),
        ("test_slack_message", BOT_TOKEN, "reached Slack: chat.postMessage to FakeSlack"),
        ("test_commit", REGISTRY_PASSWORD, "reached commit: remote "),
        ("test_cli_output", GIT_TOKEN, "reached output: gitops-bot promote"),
        ("test_serve_log", FLUX_TOKEN, "reached output: file "),
        ("test_bot_error_escaping", SIGNING_SECRET, "reached error: GateRefused escaping test_inner.py::"),
    ],
)
def test_each_channel_fails_the_test_naming_canary_and_place(
    outcomes: Outcomes, test: str, canary: str, where: str
) -> None:
    outcome, text = outcomes[test]
    assert "error" in outcome, (outcome, text)  # an error at teardown, after the test's own result
    assert "secrets guard:" in text and f"{canary!r} {where}" in text, text


def test_find_names_each_canary_once_however_it_was_printed() -> None:
    assert find(f"a {BOT_TOKEN} b {BOT_TOKEN}") == [BOT_TOKEN]
    assert find("token=xoxb-SECRET-canary-b…") == ["token=xoxb-SECRET-canary-b"]  # cut short
    assert find(f"https://x:{GIT_TOKEN}@host/fleet.git") == [GIT_TOKEN]  # the word stops at URL syntax
    assert find(quote(f"{GIT_TOKEN}/+", safe="")) == [f"{GIT_TOKEN}%2F%2B"]
    assert find(GIT_TOKEN.upper()) == [GIT_TOKEN.upper()]
    assert find("nothing secret here, not even a SECRET or a canary") == []
