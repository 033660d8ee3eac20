"""Secrets out of the logs: known secret values and token-shaped strings become `***` in every record.

Known values come from the environment variables the README names (and the files their *_FILE twins
point at), because that is where the bot's secrets live; the patterns catch what nobody configured
(a token pasted into a command, a URL with a password in it). The filter runs on the handler, so it sees
records from every logger, including libraries', after they propagated to the root.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

MASK = "***"
SECRET_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "GIT_TOKEN", "FLUX_WEBHOOK_TOKEN")
_REGISTRY_PASSWORD = re.compile(r"REGISTRY_[A-Z0-9_]+_PASSWORD")
# Shorter values would mask ordinary words in every line; no real token is this short.
MIN_SECRET_LENGTH = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"xox[abeprs]-[0-9A-Za-z-]+"), MASK),  # Slack bot/user/app-level/refresh tokens
    (re.compile(r"xapp-[0-9A-Za-z-]+"), MASK),  # Slack app-level token (Socket Mode)
    (re.compile(r"\bgh[opusr]_[0-9A-Za-z]{8,}"), MASK),  # GitHub classic tokens
    (re.compile(r"\bgithub_pat_[0-9A-Za-z_]{8,}"), MASK),  # GitHub fine-grained tokens
    # scheme://user:password@host → scheme://***@host (userinfo ends at the last "@" before the path)
    (re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+(?:@[^/@\s]*)*@"), rf"\g<scheme>{MASK}@"),
    # A private key (GIT_SSH_KEY_FILE names one), whole: PEM or OpenSSH armour
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S), MASK),
    # An Authorization header value however it was printed: `Authorization: Bearer x`, `'Authorization': 'Basic x'`
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)\s+)[^\s'\",}]+"),
        rf"\g<1>{MASK}",
    ),
)

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
STANDARD_ATTRS = frozenset((*logging.makeLogRecord({}).__dict__, "message", "asctime", "taskName"))


def _is_secret_var(name: str) -> bool:
    return name in SECRET_VARS or _REGISTRY_PASSWORD.fullmatch(name) is not None


def secrets_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    """The values of the secret variables in `env`, and the contents of the files their *_FILE twins name.

    A file that cannot be read is skipped: the part of the bot that needs it reports that, and this
    must never be the reason the bot does not start.
    """
    found: list[str] = []
    for name, value in env.items():
        if _is_secret_var(name):
            found.append(value)
        elif name.endswith("_FILE") and _is_secret_var(name[: -len("_FILE")]):
            try:
                text = Path(value).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            # Readers strip differently (whitespace vs. only the newline); mask every form they may hold.
            found += [text, text.rstrip("\r\n"), text.strip()]
    return tuple(dict.fromkeys(s for s in found if s))


class Redactor:
    """Text → text with known secrets (as given and URL-encoded) and token-shaped strings masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms = {f for s in secrets if len(s) >= MIN_SECRET_LENGTH for f in (s, quote(s, safe=""))}
        # Longest first, so a secret that contains another is masked whole.
        self._known = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def value(self, value: Any) -> Any:
        """Scrub a structured value: strings and the strings inside dicts, lists and tuples; numbers, bools
        and None stay as they are; any other object becomes its redacted `str`, since that is what a
        formatter would print."""
        if isinstance(value, str):
            return self(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {self(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return self(str(value))


class RedactingFilter(logging.Filter):
    """Masks secrets in the message, its arguments, `extra=` fields, the traceback and the stack."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record, nor leak its arguments unmasked
            message = f"{record.msg} {record.args}"
        # The arguments are merged into the message so that no handler can format them unmasked later.
        record.msg, record.args = self.redact(message), ()
        for key, value in list(record.__dict__.items()):
            if key not in STANDARD_ATTRS and not key.startswith("_"):
                record.__dict__[key] = self.redact.value(value)
        if record.exc_info and not record.exc_text:
            # Formatters reuse `exc_text` when set, so the traceback is rendered (and masked) once, here.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True
