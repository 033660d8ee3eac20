"""Fixtures that run Debian's docker-registry on 127.0.0.1: no auth, htpasswd Basic auth, or JWT token auth.

The plain functions and classes here are reused by bench/bench_registry.py. Every started registry is stopped
at fixture teardown, and at interpreter exit as a backstop, so no `docker-registry` process outlives the run.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import secrets
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.canaries import REGISTRY_PASSWORD

BINARY = "/usr/bin/docker-registry"
SERVICE = "test-registry"
ISSUER = "test-token-issuer"
USER, PASSWORD = "promoter", REGISTRY_PASSWORD  # the user name is no secret; the password is a canary
_LIVE: set[RegistryServer] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bcrypt_hash(password: str) -> str:
    """docker-registry's htpasswd accepts bcrypt only. The `bcrypt` wheel is preferred; Python ≤3.12's `crypt`
    (libxcrypt) also makes `$2b$` hashes, so the fixture works on a machine that lacks the wheel."""
    try:
        import bcrypt

        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # type: ignore[import-not-found,unused-ignore]
        # bcrypt ("blowfish") is the one hash docker-registry accepts, not a weak choice.
        salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)  # noqa: S324
        hashed: str = crypt.crypt(password, salt)
        return hashed


class RegistryServer:
    """One `docker-registry serve` process over a storage directory that survives stop()/start()."""

    def __init__(self, workdir: Path, *, auth_yaml: str = "") -> None:
        self.workdir = workdir
        self.storage = workdir / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.auth_yaml = auth_yaml
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _config(self) -> Path:
        # No blob-descriptor cache: a fresh process must see exactly what is on disk after a restart.
        text = f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {self.host}
  secret: {secrets.token_hex(16)}
{self.auth_yaml}"""
        path = self.workdir / "config.yml"
        path.write_text(text, encoding="utf-8")
        return path

    def start(self, *, timeout: float = 15.0) -> None:
        if self.proc is not None:
            return
        log = (self.workdir / "registry.log").open("ab")
        self.proc = subprocess.Popen(
            [BINARY, "serve", str(self._config())],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        _LIVE.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                _LIVE.discard(self)
                raise RuntimeError(f"docker-registry exited at start:\n{self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/v2/", timeout=0.5).status_code in (200, 401):
                    return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"docker-registry silent on {self.host} for {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        _LIVE.discard(self)
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "registry.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


def start_registry(workdir: Path, *, auth_yaml: str = "") -> RegistryServer:
    """Start on a free port; a port grabbed by someone else between probe and bind gets one more try."""
    for attempt in range(3):
        server = RegistryServer(workdir, auth_yaml=auth_yaml)
        try:
            server.start()
            return server
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def basic_auth_yaml(workdir: Path, user: str = USER, password: str = PASSWORD) -> str:
    htpasswd = workdir / "htpasswd"
    htpasswd.write_text(f"{user}:{bcrypt_hash(password)}\n", encoding="utf-8")
    return f"auth:\n  htpasswd:\n    realm: test-realm\n    path: {htpasswd}\n"


class TokenServer:
    """A Docker token server: Basic creds → JWT (RS256, x5c self-signed cert) granting the asked-for actions;
    anonymous callers get `pull` only. Counts requests so tests can see the client's token cache at work."""

    def __init__(self, workdir: Path, *, expires_in: int = 300) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.expires_in = expires_in
        self.requests: list[tuple[str, bool]] = []  # (scope, authenticated)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test token signer")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.rootcert = workdir / "token-root.pem"
        self.rootcert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/token"

    def auth_yaml(self) -> str:
        return (
            f"auth:\n  token:\n    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
            f"    rootcertbundle: {self.rootcert}\n"
        )

    def mint(self, scope: str, *, authenticated: bool) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        if scope:
            kind, rest = scope.split(":", 1)
            name, actions = rest.rsplit(":", 1)
            granted = actions.split(",") if authenticated else [a for a in actions.split(",") if a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {
            "iss": ISSUER,
            "sub": USER if authenticated else "",
            "aud": SERVICE,
            "exp": now + self.expires_in,
            "nbf": now - 5,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64(signature)}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self
        good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                given = self.headers.get("Authorization")
                if given is not None and given != good:
                    self.send_response(401)
                    self.end_headers()
                    return
                scope = query.get("scope", [""])[0]
                server.requests.append((scope, given is not None))
                token = server.mint(scope, authenticated=given is not None)
                body = json.dumps({"token": token, "expires_in": server.expires_in}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A fresh, auth-less registry per test (starting one takes well under a second)."""
    server = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry behind htpasswd Basic auth; the user is USER / PASSWORD."""
    workdir = tmp_path_factory.mktemp("registry-basic")
    server = start_registry(workdir, auth_yaml=basic_auth_yaml(workdir))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    server = TokenServer(tmp_path_factory.mktemp("token"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, token_server: TokenServer
) -> Iterator[RegistryServer]:
    """A registry with `auth: token`, trusting `token_server`'s signing certificate."""
    server = start_registry(tmp_path_factory.mktemp("registry-token"), auth_yaml=token_server.auth_yaml())
    try:
        yield server
    finally:
        server.stop()
