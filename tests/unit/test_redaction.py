"""The redaction filter: known secrets and token-shaped strings never leave a handler unmasked."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.redaction import MASK, RedactingFilter, Redactor, secrets_from_env

SECRET = "s3cr3t-Value/with+chars"  # URL-encoding changes it, so both forms are tested
SHORT = "abc12"  # below MIN_SECRET_LENGTH: would mask ordinary words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token is {SECRET}.", f"token is {MASK}."),
        ("url-encoded s3cr3t-Value%2Fwith%2Bchars here", f"url-encoded {MASK} here"),
        ("slack xoxb-123-456-abcDEF and xoxp-9-9-zz", f"slack {MASK} and {MASK}"),
        ("refresh xoxe-1-ABC app xapp-1-A0B1-2345-ffee", f"refresh {MASK} app {MASK}"),
        ("github ghp_abcdefghijklmnop1234 and github_pat_11AB_cdefgh", f"github {MASK} and {MASK}"),
        ("clone https://x-access-token:tok@git.example/org/repo.git", f"clone https://{MASK}@git.example/org/repo.git"),
        ("odd https://u@x:p@w@host/r", f"odd https://{MASK}@host/r"),
        ("headers {'Authorization': 'Bearer eyJhbGciOi.payload.sig'}", f"headers {{'Authorization': 'Bearer {MASK}'}}"),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: Basic {MASK}"),
        (
            "key -----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\nbnNz\n-----END OPENSSH PRIVATE KEY-----\nok",
            f"key {MASK}\nok",
        ),
        ("cut -----BEGIN RSA PRIVATE KEY-----\nMIIE", f"cut {MASK}"),
        # Things that look close and must stay readable:
        ("promote staging-v0.0.1-a1b2c3d-1738860123 to production", None),
        ("by platform-team <platform@acme.example> at https://github.com/org/repo@main", None),
        ("image 127.0.0.1:5000/acme/backend@sha256:" + "a" * 64, None),
        ("xoxo, the basic idea and a ghp_ prefix alone", None),
        (f"{SHORT} is too short to be a secret", None),
    ],
    ids=lambda v: str(v)[:40] if v is not None else "unchanged",
)
def test_redactor(text: str, expected: str | None) -> None:
    assert Redactor([SECRET, SHORT])(text) == (text if expected is None else expected)


def test_longest_secret_is_masked_whole() -> None:
    assert Redactor(["abcdef", "abcdefghij"])("x abcdefghij y") == f"x {MASK} y"


def test_structured_values() -> None:
    class Thing:
        def __str__(self) -> str:
            return f"Thing({SECRET})"

    r = Redactor([SECRET])
    value = {"a": [SECRET, 1, None, True], SECRET: ("x", 2.5), "obj": Thing()}
    assert r.value(value) == {"a": [MASK, 1, None, True], MASK: ["x", 2.5], "obj": f"Thing({MASK})"}


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    out = logging.StreamHandler(stream)
    out.setFormatter(logging.Formatter("%(message)s|%(extra_field)s"))
    out.addFilter(RedactingFilter(Redactor([SECRET])))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(out)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(out)
        logger.propagate = True


@pytest.mark.parametrize(
    ("msg", "args", "extra"),
    [
        (f"in the message {SECRET}", (), "plain"),
        ("in the args %s and %r", (SECRET, SECRET), "plain"),
        ("in a dict arg %(t)s", ({"t": SECRET},), "plain"),
        ("in the extra", (), SECRET),
        ("a token in args %s", ("xoxb-1-2-abc",), "plain"),
        ("a broken format %d", (SECRET,), "plain"),  # logging would otherwise print the args as they are
    ],
    ids=["message", "args", "dict-args", "extra", "token-args", "bad-format"],
)
def test_filter_masks_message_args_and_extras(
    captured: tuple[logging.Logger, io.StringIO], msg: str, args: tuple[object, ...], extra: str
) -> None:
    logger, stream = captured
    logger.info(msg, *args, extra={"extra_field": extra})
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert SECRET not in line and "xoxb-1-2-abc" not in line and "%2F" not in line
    assert MASK in line


def test_filter_masks_the_traceback_and_the_stack(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise RuntimeError(f"remote said {SECRET}")
    except RuntimeError:
        logger.exception("push failed", extra={"extra_field": "-"}, stack_info=True)
    text = stream.getvalue()
    assert "RuntimeError: remote said ***" in text and "Stack (most recent call last)" in text
    assert SECRET not in text


def test_secrets_from_env_reads_the_named_variables_and_files(tmp_path: Path) -> None:
    token_file = tmp_path / "git-token"
    token_file.write_text("  file-token-value  \n")
    registry_file = tmp_path / "registry-password"
    registry_file.write_text("registry-file-pw\n")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-env-token",
        "SLACK_SIGNING_SECRET": "signing-secret-value",
        "SLACK_APP_TOKEN": "",  # empty: nothing to mask
        "GIT_TOKEN_FILE": str(token_file),
        "FLUX_WEBHOOK_TOKEN_FILE": str(tmp_path / "missing"),  # unreadable: skipped, not fatal
        "REGISTRY_GHCR_IO_PASSWORD": "ghcr-password",
        "REGISTRY_127_0_0_1_5000_PASSWORD_FILE": str(registry_file),
        "REGISTRY_GHCR_IO_USERNAME": "not-a-secret",
        "SLACK_API_URL": "https://slack.com/api/",
        "HOME": "/root",
    }
    found = set(secrets_from_env(env))
    assert {"xoxb-env-token", "signing-secret-value", "ghcr-password", "registry-file-pw"} <= found
    assert {"file-token-value", "  file-token-value  "} <= found  # stripped and as-is: readers differ
    assert not found & {"not-a-secret", "https://slack.com/api/", "/root", ""}
