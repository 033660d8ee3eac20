"""How the bot talks to one registry host: credentials, the 401 challenge (Basic, or Bearer tokens from the
realm it names), timeouts and retries. registry.py builds the Distribution API on top of RegistrySession.

Credentials come from REGISTRY_<HOST>_USERNAME / _PASSWORD (or their *_FILE variants, for mounted Secrets),
else from a Docker config.json. They never appear in a message: errors name the variable or the file instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from bot.errors import ConfigError, RegistryAuthError, RegistryError, RegistryUnreachable

Credentials = tuple[str, str]
# (url, query params, basic credentials or None) -> response. RegistrySession passes its retrying sender, so
# token calls get the same timeouts, retries and unreachable-host errors as registry calls.
TokenFetch = Callable[[str, Mapping[str, str], Credentials | None], requests.Response]
# (host, HTTP status or "error", seconds) for every attempt: the metrics hook (bot/observability.py).
RequestObserver = Callable[[str, str, float], None]

# Docker Hub is reached as index.docker.io (what Flux resolves it to), but `docker login` files it under these keys.
_HUB_ALIASES = ("registry-1.docker.io", "index.docker.io", "docker.io", "https://index.docker.io/v1/")
_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))')
# Docker's token spec: no expires_in means 60 s; renew a little early so a token cannot lapse mid-call.
_DEFAULT_TTL = 60
_EARLY = 5
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_RETRY_AFTER_CAP = 10.0


def env_prefix(host: str) -> str:
    """`127.0.0.1:5000` → `REGISTRY_127_0_0_1_5000`."""
    return "REGISTRY_" + re.sub(r"[^A-Za-z0-9]", "_", host).upper()


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    if name in env:
        return env[name]
    file_name = env.get(f"{name}_FILE")
    if file_name is None:
        return None
    try:
        return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as err:
        raise ConfigError(
            [f"{name}_FILE: cannot read the file it names ({err.strerror})"], source="environment"
        ) from err


def credentials_from_env(host: str, env: Mapping[str, str]) -> Credentials | None:
    prefix = env_prefix(host)
    user, password = _env_value(env, f"{prefix}_USERNAME"), _env_value(env, f"{prefix}_PASSWORD")
    if user is None and password is None:
        return None
    if user is None or password is None:
        missing = f"{prefix}_USERNAME" if user is None else f"{prefix}_PASSWORD"
        raise ConfigError([f"{missing}: must be set too (or {missing}_FILE) for registry {host}"], source="environment")
    return user, password


def _config_host(key: str) -> str:
    return urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]


def credentials_from_docker_config(host: str, path: Path) -> Credentials | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise ConfigError([f"{path}: not a readable Docker config.json"], source="docker config") from err
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return None
    wanted = {host, *_HUB_ALIASES} if host in _HUB_ALIASES else {host}
    for key, entry in auths.items():
        if (key in wanted or _config_host(key) in wanted) and isinstance(entry, dict):
            if isinstance(entry.get("auth"), str) and entry["auth"]:
                try:
                    user, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError) as err:
                    raise ConfigError(
                        [f"{path}: auths.{key}.auth is not base64 of user:password"], source="docker config"
                    ) from err
                if sep:
                    return user, password
            if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
                return entry["username"], entry["password"]
    return None


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-case: "basic" or "bearer"
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """`Bearer realm="https://x/token",service="x",scope="repository:a:pull"` → Challenge. Quoted values may
    hold commas (scopes do), so parameters are matched rather than split."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


def _basic(credentials: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()


class Authenticator:
    """Remembers what the registry asked for and answers later requests up front; tokens are cached per
    scope (one client serves one host) until shortly before `expires_in`. Thread-safe."""

    def __init__(
        self, host: str, credentials: Credentials | None, fetch: TokenFetch, *, allow_http_realm: bool
    ) -> None:
        self._host = host
        self._credentials = credentials
        self._fetch = fetch
        self._allow_http_realm = allow_http_realm
        self._scheme: str | None = None
        self._bearer: Mapping[str, str] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def has_credentials(self) -> bool:
        return self._credentials is not None

    def header(self, scope: str) -> str | None:
        """The Authorization value to send for `scope`, fetching a token if one is known to be needed."""
        if self._scheme == "basic" and self._credentials is not None:
            return _basic(self._credentials)
        if self._scheme != "bearer":
            return None
        with self._lock:
            cached = self._tokens.get(scope)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
        token, ttl = self._token(scope)
        value = f"Bearer {token}"
        with self._lock:
            self._tokens[scope] = (value, time.monotonic() + max(ttl - _EARLY, 1))
        return value

    def learn(self, www_authenticate: str | None, scope: str) -> bool:
        """Take in a 401's challenge. True when a retry with new credentials could succeed."""
        challenge = parse_challenge(www_authenticate or "")
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            return False
        sent_basic = self._scheme == "basic" and self._credentials is not None
        self._scheme = challenge.scheme
        if challenge.scheme == "basic":
            return self._credentials is not None and not sent_basic
        if "realm" not in challenge.params:
            raise RegistryAuthError(f"Registry {self._host} asked for a token but named no token service.")
        self._bearer = challenge.params
        # The refused token may have expired early (clock skew): drop it so the one retry gets a fresh one.
        with self._lock:
            self._tokens.pop(scope, None)
        return True

    def _token(self, scope: str) -> tuple[str, int]:
        realm = self._bearer["realm"]
        if urlsplit(realm).scheme != "https" and not (self._allow_http_realm and realm.startswith("http://")):
            raise RegistryAuthError(
                f"Registry {self._host} sent its token service as a non-HTTPS address; "
                "refusing to send credentials there."
            )
        params = {"scope": scope}
        if "service" in self._bearer:
            params["service"] = self._bearer["service"]
        resp = self._fetch(realm, params, self._credentials)
        if resp.status_code in (401, 403):
            who = "the configured credentials" if self._credentials else "anonymous access"
            raise RegistryAuthError(
                f"The token service of registry {self._host} refused {who}.",
                hint=f"Check {env_prefix(self._host)}_USERNAME / _PASSWORD.",
            )
        if resp.status_code != 200:
            raise RegistryError(f"The token service of registry {self._host} answered HTTP {resp.status_code}.")
        try:
            body = resp.json()
            token = body.get("token") or body.get("access_token")
            ttl = int(body.get("expires_in") or _DEFAULT_TTL)
        except (ValueError, AttributeError, TypeError) as err:
            raise RegistryError(f"The token service of registry {self._host} sent an unreadable answer.") from err
        if not isinstance(token, str) or not token:
            raise RegistryError(f"The token service of registry {self._host} sent no token.")
        return token, ttl


class RegistrySession:
    """One pooled requests.Session to one registry host: timeouts on every call, retries with backoff on
    connection errors, 429 and 5xx (Retry-After honoured up to a cap), and the 401 challenge answered once."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool,
        credentials: Credentials | None,
        timeout: float,
        retries: int,
        backoff: float,
        on_request: RequestObserver | None = None,
    ) -> None:
        self.host = host
        self.base = f"{'http' if insecure else 'https'}://{host}"
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._on_request = on_request
        self._session = requests.Session()
        self._session.mount(self.base, HTTPAdapter(pool_connections=1, pool_maxsize=32))
        self._session.headers["User-Agent"] = "gitops-promotion-bot"
        self._auth = Authenticator(host, credentials, self._fetch_token, allow_http_realm=insecure)

    def close(self) -> None:
        self._session.close()

    def request(
        self,
        method: str,
        url: str,
        repo: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Send with whatever auth the host is known to want; on a 401, learn its challenge and retry once."""
        # Anonymous callers can never push, and some token services refuse an anonymous push scope outright.
        scope = f"repository:{repo}:{'pull,push' if self._auth.has_credentials else 'pull'}"
        for attempt in range(2):
            sent = dict(headers or {})
            authorization = self._auth.header(scope)
            if authorization:
                sent["Authorization"] = authorization
            resp = self.send(method, url, headers=sent, data=data)
            challenge = resp.headers.get("WWW-Authenticate")
            if resp.status_code != 401 or attempt or not self._auth.learn(challenge, scope):
                break
        if resp.status_code in (401, 403):
            raise RegistryAuthError(
                f"Registry {self.host} refused access to {repo} (HTTP {resp.status_code}).",
                hint=f"Check {env_prefix(self.host)}_USERNAME / _PASSWORD and their rights.",
            )
        return resp

    def _fetch_token(self, url: str, params: Mapping[str, str], creds: Credentials | None) -> requests.Response:
        return self.send("GET", url, params=params, auth=creds)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        auth: Credentials | None = None,
    ) -> requests.Response:
        where = urlsplit(url).netloc
        for attempt in range(self.retries + 1):
            delay = self.backoff * 2**attempt
            try:
                resp = self._attempt(
                    where, method, url, headers=headers, data=data, params=params, auth=auth,
                    timeout=self.timeout, allow_redirects=method != "PUT",
                )  # fmt: skip
            except requests.exceptions.SSLError as err:
                raise RegistryUnreachable(
                    f"TLS with registry {where} failed.",
                    hint="Set `insecure: true` only for a plain-HTTP test registry.",
                ) from err
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt == self.retries:
                    raise _unreachable(where, err, attempt + 1) from err
            else:
                if resp.status_code not in _RETRY_STATUS or attempt == self.retries:
                    return resp
                delay = max(delay, _retry_after(resp.headers.get("Retry-After")))
                resp.close()
            time.sleep(min(delay, _RETRY_AFTER_CAP))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, where: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP attempt, timed for the metrics hook whether it is answered or not."""
        started = time.monotonic()
        status = "error"
        try:
            resp = self._session.request(method, url, **kwargs)
            status = str(resp.status_code)
            return resp
        finally:
            if self._on_request is not None:
                self._on_request(where, status, time.monotonic() - started)


def _retry_after(value: str | None) -> float:
    """Retry-After is delay-seconds or an HTTP date."""
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return 0.0


# urllib3 wraps a failed DNS lookup as NameResolutionError (older: "Name or service not known", "nodename nor
# servname", "Temporary failure in name resolution"); the words decide the advice, not the exception type.
_DNS_WORDS = ("NameResolutionError", "Name or service not known", "nodename nor servname",
              "Temporary failure in name resolution", "getaddrinfo failed")  # fmt: skip


def _unreachable(where: str, err: Exception, tries: int) -> RegistryUnreachable:
    if isinstance(err, requests.Timeout):
        return RegistryUnreachable(f"Registry {where} timed out ({tries} tries).")
    if any(w in str(err) for w in _DNS_WORDS):
        return RegistryUnreachable(
            f"Registry host {where} could not be found (DNS).",
            hint="Check the host name in the image (and substitutions), or the machine's network.",
        )
    return RegistryUnreachable(f"Registry {where} refused the connection ({tries} tries).")
