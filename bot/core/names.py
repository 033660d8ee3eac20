"""Strict grammars for every name a user can type: environments, services, Flux object names.

Anything that reaches YAML, a file path, a git argument or a URL has passed one of these first.
The grammars are deliberately narrower than Kubernetes allows: a name that fails here is rejected
with a message that shows the allowed shape, and nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.errors import InvalidInput

# Environment names are the tag prefix, so they cannot contain the tag's own separator shape
# ("-v<digit>"); the tag parser enforces that, this grammar keeps the alphabet small.
_ENV = re.compile(r"[a-z][a-z0-9-]{0,30}", re.ASCII)
# Service = ImageRepository name: a DNS-1123 label (what Kubernetes allows for object names we use).
_SERVICE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
# Kubernetes namespace / object name (DNS-1123 subdomain, kept to labels joined by dots).
_K8S_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?", re.ASCII)
# Slack user/group ids and the free text we carry into commit trailers.
_SLACK_ID = re.compile(r"[UWSB][A-Z0-9]{2,20}", re.ASCII)


def _show(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return repr(shown)


def env_name(value: str) -> str:
    """Validate an environment name (`develop`, `staging`, `production`, ...)."""
    if not _ENV.fullmatch(value) or "--" in value or value.endswith("-"):
        raise InvalidInput(
            f"{_show(value)} is not a valid environment name.",
            hint="Use lowercase letters, digits and single dashes, starting with a letter (e.g. staging).",
        )
    return value


def known_env(value: str, pipeline: Sequence[str]) -> str:
    """An environment name that is also one of the pipeline's; the refusal lists the known ones."""
    env_name(value)
    if value not in pipeline:
        raise InvalidInput(f"Unknown environment {value!r}.", hint=f"Known environments: {', '.join(pipeline)}.")
    return value


def service_name(value: str) -> str:
    """Validate a service name (the ImageRepository name, e.g. `backend`)."""
    if not _SERVICE.fullmatch(value):
        raise InvalidInput(
            f"{_show(value)} is not a valid service name.",
            hint="Use lowercase letters, digits and dashes (e.g. backend).",
        )
    return value


def k8s_name(value: str, what: str = "name") -> str:
    """Validate a Kubernetes object name or namespace read from the repository."""
    if not _K8S_NAME.fullmatch(value):
        raise InvalidInput(f"{_show(value)} is not a valid Kubernetes {what}.")
    return value


def slack_id(value: str) -> str:
    if not _SLACK_ID.fullmatch(value):
        raise InvalidInput(f"{_show(value)} is not a Slack user or group id.")
    return value


def one_line(value: str, what: str, limit: int = 200) -> str:
    """Free text that goes into a commit trailer: one line, printable, bounded.

    A newline would let a user forge extra trailers (e.g. a fake `Approved-by:`), so it is refused.
    """
    if any(ch in value for ch in "\r\n\x00") or not value.isprintable():
        raise InvalidInput(f"The {what} must be one line of printable text.")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"The {what} is longer than {limit} characters.")
    return value
