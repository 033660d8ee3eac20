"""The one exception tree. Every message is written for the person reading it in Slack or a terminal.

    BotError                       str(e) is the user-facing sentence; .hint says what to do next
    ├── NothingToDo                exit 0: understood, and Git already is as asked (nothing held, nothing to release)
    ├── Refused                    exit 2: the request is understood and declined; nothing was changed
    │   ├── InvalidInput           a tag, environment, service or command argument breaks its grammar
    │   ├── ConfigError            the config file or a secret is wrong; .problems lists every one
    │   ├── PolicyError            Flux itself would fail this ImagePolicy (same message as Flux)
    │   ├── GateRefused            a promotion/rollback gate said no (pipeline order, not deployed, ...)
    │   └── NotFound               the tag, service or environment does not exist
    └── OperationFailed            exit 1: something outside us failed (remote, registry, Slack)
        ├── GitError
        │   ├── RemoteUnreachable  the Git remote did not answer (network, auth, timeout)
        │   ├── PushConflict       someone else changed the same field; .current says what is there now
        │   └── PushRetriesExhausted  the branch kept moving under us
        ├── RegistryError
        │   ├── RegistryUnreachable
        │   ├── RegistryAuthError
        │   ├── ManifestNotFound
        │   └── DigestMismatch     a retag read back a different digest: we fail loudly
        ├── SlackError             Slack's Web API said no, or did not answer
        │   ├── SlackRateLimited   429: .retry_after seconds (worth retrying)
        │   ├── SlackUnavailable   5xx or no answer at all (worth retrying)
        │   ├── SlackNotInChannel  the bot is not a member of the channel: invite it
        │   ├── SlackChannelNotFound
        │   ├── SlackInvalidAuth   the bot token is wrong or revoked
        │   └── SlackMissingScope  the app lacks a scope: reinstall with the manifest
        └── PartialPromotion       the registry copy landed but the Git push did not

Adapters translate library exceptions into these at their boundary (`raise ... from err`) and never
put URLs with credentials, tokens or raw library messages into the text.
"""

from __future__ import annotations

from collections.abc import Sequence


class BotError(Exception):
    """Base of every error the bot raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class NothingToDo(BotError):
    """The request is understood and there is nothing to change: not a refusal, so the CLI exits 0."""

    exit_code = 0


class Refused(BotError):
    """The request was declined before anything changed."""

    exit_code = 2


class InvalidInput(Refused):
    """An argument does not match its grammar."""


class ConfigError(Refused):
    """The configuration is invalid; every problem is listed, one per line, as `key.path: ...`."""

    def __init__(self, problems: Sequence[str], *, source: str = "config") -> None:
        self.problems = list(problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source} has {len(self.problems)} problem(s):\n{body}")


class PolicyError(Refused):
    """Flux's image-reflector would reject this policy or tag list with the same message."""

    def __init__(self, message: str, *, reason: str = "Failure") -> None:
        super().__init__(message)
        # Flux's condition reason: InvalidPolicy (Stalled), Failure (Ready=False) or DependencyNotReady.
        self.reason = reason


class GateRefused(Refused):
    """A promotion, rollback or resume gate declined the request."""


class NotFound(Refused):
    """A named tag, service, environment or commit does not exist."""


class OperationFailed(BotError):
    """An external system failed; the message says what state things were left in."""


class GitError(OperationFailed):
    pass


class RemoteUnreachable(GitError):
    pass


class PushConflict(GitError):
    """The remote changed a field we were about to change."""

    def __init__(self, message: str, *, current: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.current = current


class PushRetriesExhausted(GitError):
    pass


class RegistryError(OperationFailed):
    pass


class RegistryUnreachable(RegistryError):
    pass


class RegistryAuthError(RegistryError):
    pass


class ManifestNotFound(RegistryError):
    pass


class DigestMismatch(RegistryError):
    pass


class PartialPromotion(OperationFailed):
    """The registry copy succeeded but the Git commit could not be pushed."""


class SlackError(OperationFailed):
    """Slack's Web API refused a call (`.code` is Slack's error string) or did not answer."""

    retryable = False

    def __init__(self, message: str, *, code: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.code = code


class SlackRateLimited(SlackError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float, hint: str = "") -> None:
        super().__init__(message, code="ratelimited", hint=hint)
        self.retry_after = retry_after


class SlackUnavailable(SlackError):
    retryable = True


class SlackNotInChannel(SlackError):
    pass


class SlackChannelNotFound(SlackError):
    pass


class SlackInvalidAuth(SlackError):
    pass


class SlackMissingScope(SlackError):
    pass
