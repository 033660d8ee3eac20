"""Credentials for the Git remote, the child-process environment that carries them, and redaction.

Secrets never reach a file, a URL, argv or Git config: an HTTPS token (or a password found in the
URL) travels in the git child's environment only and is handed over by a GIT_ASKPASS helper that reads
it from there; SSH uses a key file named by path. Everything that turns Git's stderr into a sentence
for a person goes through `Redactor`, so no message carries a token or a URL's userinfo.
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from bot.errors import BotError, ConfigError, GitError, NotFound, RemoteUnreachable

TOKEN_ENV = "GITOPS_BOT_GIT_TOKEN"  # noqa: S105 - the name of the child's variable, not a secret
USERNAME_ENV = "GITOPS_BOT_GIT_USERNAME"

# The helper is argv[0] of a child git starts without a shell, so it has to be a file; it holds no
# secret, only the names of the variables to echo.
_ASKPASS_SCRIPT = f"""#!/bin/sh
case "$1" in
  [Uu]sername*) printf '%s\\n' "${USERNAME_ENV}" ;;
  *) printf '%s\\n' "${TOKEN_ENV}" ;;
esac
"""
_askpass_guard = threading.Lock()
_askpass_path: Path | None = None


@dataclass(frozen=True)
class GitCredentials:
    token: str | None = field(default=None, repr=False)
    ssh_key_file: str | None = None
    known_hosts_file: str | None = None
    username: str = "x-access-token"  # GitHub/Gitea accept any name with a token; GitLab wants "oauth2"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GitCredentials:
        """GIT_TOKEN (or GIT_TOKEN_FILE), GIT_USERNAME, GIT_SSH_KEY_FILE, GIT_SSH_KNOWN_HOSTS_FILE."""
        env = os.environ if environ is None else environ
        token = env.get("GIT_TOKEN") or None
        token_file = env.get("GIT_TOKEN_FILE")
        if token is None and token_file:
            try:
                token = Path(token_file).read_text(encoding="utf-8").strip() or None
            except OSError as err:
                raise ConfigError(
                    [f"GIT_TOKEN_FILE: cannot read {token_file} ({err.strerror})"], source="environment"
                ) from None
        if token is not None and ("\n" in token or "\r" in token):
            raise ConfigError(["GIT_TOKEN: a token is one line"], source="environment")
        return cls(
            token=token,
            ssh_key_file=env.get("GIT_SSH_KEY_FILE") or None,
            known_hosts_file=env.get("GIT_SSH_KNOWN_HOSTS_FILE") or None,
            username=env.get("GIT_USERNAME") or "x-access-token",
        )


# `scheme://userinfo@host` - userinfo ends at the last "@" before the path.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]*(?:@[^/@\s]*)*)@")


# A query string or fragment after a URL's path: where `?access_token=…` would sit.
_QUERY = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s?#]*)[?#][^\s]*")


def display_url(url: str) -> str:
    """The URL as it may appear in a message: no userinfo, no query string, no fragment."""
    return _QUERY.sub(lambda m: m.group("url"), _USERINFO.sub(lambda m: m.group("scheme"), url))


def split_password(url: str) -> tuple[str, str | None]:
    """(url without its password, the password): the password must not reach argv or .git/config."""
    if "://" not in url:
        return url, None
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}@{host}" if user else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, unquote(parts.password)


class Redactor:
    """Removes the secret (in the forms Git may echo it) and any URL userinfo from a text."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        forms = {f for s in secrets if s for f in (s, quote(s, safe=""))}
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        return display_url(text)


def _askpass() -> Path:
    global _askpass_path  # noqa: PLW0603 - one helper file per process, made on first use
    with _askpass_guard:
        if _askpass_path is None or not _askpass_path.exists():
            folder = Path(tempfile.mkdtemp(prefix="gitops-bot-askpass-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "askpass.sh"
            path.write_text(_ASKPASS_SCRIPT, encoding="utf-8")
            path.chmod(0o700)
            _askpass_path = path
        return _askpass_path


def git_env(credentials: GitCredentials, *, secret: str | None, timeout: float) -> dict[str, str]:
    """Environment for every git child: isolated config, no prompts, network limits, credentials."""
    config = {
        # A stalled HTTP transfer fails instead of hanging (kill_after_timeout is the outer bound).
        "http.lowSpeedLimit": "1000",
        "http.lowSpeedTime": str(max(1, round(timeout))),
        # Housekeeping in the foreground: no detached gc outliving the call.
        "gc.autoDetach": "false",
        "maintenance.autoDetach": "false",
        "core.quotePath": "false",
        "advice.detachedHead": "false",
        "credential.helper": "",
    }
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        # The host's ~/.gitconfig and /etc/gitconfig (signing, hooks, insteadOf, helpers) must not
        # change what the bot does; its settings come from here.
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_COUNT": str(len(config)),
    }
    for i, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    if secret:
        env["GIT_ASKPASS"] = str(_askpass())
        env[TOKEN_ENV] = secret
        env[USERNAME_ENV] = credentials.username
    else:
        env["GIT_ASKPASS"] = "/bin/false"
    env["GIT_SSH_COMMAND"] = ssh_command(credentials, timeout=timeout)
    return env


def ssh_command(credentials: GitCredentials, *, timeout: float) -> str:
    """GIT_SSH_COMMAND (git runs it through sh, hence the quoting)."""
    args = [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        f"ConnectTimeout={max(1, round(timeout))}",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=3",
    ]
    if credentials.ssh_key_file:
        args += ["-i", credentials.ssh_key_file, "-o", "IdentitiesOnly=yes"]
    if credentials.known_hosts_file:
        args += ["-o", f"UserKnownHostsFile={credentials.known_hosts_file}", "-o", "StrictHostKeyChecking=yes"]
    return " ".join(shlex.quote(a) for a in args)


# --- Git's stderr → one of our errors -------------------------------------------------------------

_AUTH = re.compile(
    r"Authentication failed|could not read (Username|Password)|terminal prompts disabled|"
    r"Permission denied \(|Host key verification failed|returned error: 40[13]|HTTP 40[13]|"
    r"Invalid username or password|access denied",
    re.I,
)
_NETWORK = re.compile(
    r"unable to connect|Connection refused|Could not resolve host|Could not read from remote repository|"
    r"unable to access|does not appear to be a git repository|remote end hung up|early EOF|timed out|"
    r"Failed to connect|Connection reset|No route to host|Network is unreachable|not found|"
    r"protocol error|unable to look up|ssh: connect to host|Could not resolve hostname",
    re.I,
)
_TIMEOUT = re.compile(r"kill_after_timeout|did not complete in")
_NO_BRANCH = re.compile(r"couldn't find remote ref|Remote branch \S+ not found", re.I)
_UNKNOWN_REV = re.compile(
    r"unknown revision|bad revision|Not a valid object name|not a valid commit|Needed a single revision", re.I
)


def _reason(stderr: str, redact: Redactor) -> str:
    """Git's own words: its last fatal/error line and whatever detail follows it, redacted and short."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    marks = [i for i, ln in enumerate(lines) if ln.lower().startswith(("fatal:", "error:", "ssh:"))]
    picked = " ".join(lines[marks[-1] :] if marks else lines[-1:]) or "no error text"
    picked = re.sub(r"^(fatal|error):\s*", "", picked, flags=re.I).rstrip(" .:")
    text = redact(picked)
    return text if len(text) <= 240 else text[:237] + "..."


def describe_failure(
    stderr: str, *, doing: str, url: str, timeout: float, network: bool, redact: Redactor, branch: str = ""
) -> BotError:
    """Turn a failed git command into the error a person reads."""
    where = display_url(url)
    if network and _TIMEOUT.search(stderr):
        return RemoteUnreachable(
            f"The Git remote {where} did not answer within {timeout:g}s while {doing}.",
            hint="Check the network and the remote, then try again.",
        )
    if network and _AUTH.search(stderr):
        return RemoteUnreachable(
            f"The Git remote {where} refused our credentials while {doing}.",
            hint="Check GIT_TOKEN (HTTPS) or GIT_SSH_KEY_FILE and known hosts (SSH).",
        )
    if network and _NO_BRANCH.search(stderr):
        return GitError(
            f"The Git remote {where} has no branch {branch or '(unnamed)'}.",
            hint="Check repo.branch in the configuration.",
        )
    if network and _NETWORK.search(stderr):
        reason = _reason(stderr, redact)
        return RemoteUnreachable(
            f"Could not reach the Git remote {where} while {doing}: {reason}.",
            hint="Check the network and the remote, then try again.",
        )
    if _UNKNOWN_REV.search(stderr):
        return NotFound(f"Git has no such commit ({doing}): {_reason(stderr, redact)}.")
    return GitError(f"Git failed while {doing}: {_reason(stderr, redact)}.")
