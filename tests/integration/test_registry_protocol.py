"""RegistryClient against a small in-process Distribution server, for what docker-registry 2.8 cannot show:
paged tag lists (2.8 ignores `n=` and sends no Link), short pages, 429/5xx, timeouts, a registry that rewrites
manifests, and proof that invalid input sends no request at all."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.oci_layout import tiny_image
from bot.adapters.registry import RegistryClient, sha256_digest
from bot.adapters.registry_auth import env_prefix, parse_challenge
from bot.core.imageref import check_repo, check_tag
from bot.core.imageref import locate as parse_image
from bot.errors import DigestMismatch, InvalidInput, RegistryError, RegistryUnreachable

REPO = "acme/app"


@dataclass
class Behaviour:
    tags: list[str] = field(default_factory=list)
    page_cap: int = 1000  # the server sends at most this many per page, whatever n asks
    link: str = "relative"  # relative | absolute | foreign | loop
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    fail: list[tuple[int, str]] = field(
        default_factory=list
    )  # (status, Retry-After) answered first, in order
    rewrite_puts: bool = False
    omit_digest_header: bool = False
    lie_digest: str = ""
    seen: list[str] = field(default_factory=list)


class FakeRegistry:
    def __init__(self) -> None:
        self.b = Behaviour()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        b, fake = self.b, self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _route(self) -> None:
                b.seen.append(f"{self.command} {self.path}")
                if b.fail:
                    status, retry_after = b.fail.pop(0)
                    self._send(status, headers={"Retry-After": retry_after} if retry_after else {})
                    return
                url = urlsplit(self.path)
                if url.path == f"/v2/{REPO}/tags/list":
                    self._tags(parse_qs(url.query))
                elif url.path.startswith(f"/v2/{REPO}/manifests/"):
                    self._manifest(url.path.rsplit("/", 1)[1])
                else:
                    self._send(404)

            def _tags(self, query: dict[str, list[str]]) -> None:
                ordered = sorted(b.tags)
                last = query.get("last", [""])[0]
                rest = [t for t in ordered if t > last]
                n = min(int(query.get("n", ["1000"])[0]), b.page_cap)
                page = rest[:n]
                headers = {"Content-Type": "application/json"}
                if len(rest) > n:
                    nxt = f"/v2/{REPO}/tags/list?n={query.get('n', ['1000'])[0]}&last={page[-1]}"
                    nxt = {"absolute": f"http://{fake.host}{nxt}", "foreign": f"http://evil.example{nxt}",
                           "loop": self.path}.get(b.link, nxt)  # fmt: skip
                    headers["Link"] = f'<{nxt}>; rel="next"'
                body = json.dumps({"name": REPO, "tags": page}).encode()
                self._send(200, body, headers)

            def _manifest(self, ref: str) -> None:
                if self.command == "PUT":
                    raw = self.rfile.read(int(self.headers["Content-Length"]))
                    media_type = self.headers["Content-Type"]
                    stored = raw + b"\n" if b.rewrite_puts else raw
                    b.manifests[ref] = (media_type, stored)
                    self._send(201)
                    return
                if ref not in b.manifests:
                    self._send(404)
                    return
                media_type, raw = b.manifests[ref]
                headers = {"Content-Type": media_type}
                if not b.omit_digest_header:
                    headers["Docker-Content-Digest"] = b.lie_digest or sha256_digest(raw)
                self._send(200, raw, headers)

            do_GET = do_HEAD = do_PUT = _route

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    server = FakeRegistry()
    try:
        yield server
    finally:
        server.close()


def client(fake: FakeRegistry, **kw: object) -> RegistryClient:
    return RegistryClient(fake.host, insecure=True, backoff=0.01, **kw)  # type: ignore[arg-type]


TAGS = [f"v{i:03d}" for i in range(25)]


@pytest.mark.parametrize(
    ("page_size", "page_cap", "link", "pages"),
    [
        (10, 1000, "relative", 3),
        (10, 1000, "absolute", 3),
        (10, 4, "relative", 7),  # short pages that still carry Link are not the end
        (None, 1000, "relative", 1),
        (None, 10, "relative", 3),  # the server's own page size, with Link
    ],
)
def test_tag_pages_are_followed_by_link(
    fake: FakeRegistry, page_size: int | None, page_cap: int, link: str, pages: int
) -> None:
    fake.b.tags, fake.b.page_cap, fake.b.link = list(TAGS), page_cap, link
    assert client(fake, page_size=page_size).list_tags(REPO) == TAGS
    assert len(fake.b.seen) == pages


@pytest.mark.parametrize(("link", "message"), [("foreign", "another host"), ("loop", "same page")])
def test_bad_links_stop_with_an_error(fake: FakeRegistry, link: str, message: str) -> None:
    fake.b.tags, fake.b.link = list(TAGS), link
    with pytest.raises(RegistryError, match=message):
        client(fake, page_size=10).list_tags(REPO)
    assert not any("evil" in s for s in fake.b.seen)


def test_5xx_is_retried_then_succeeds(fake: FakeRegistry) -> None:
    fake.b.tags, fake.b.fail = ["a"], [(503, ""), (502, "")]
    assert client(fake).list_tags(REPO) == ["a"]
    assert len(fake.b.seen) == 3


def test_429_honours_retry_after(fake: FakeRegistry) -> None:
    fake.b.tags, fake.b.fail = ["a"], [(429, "1")]
    started = time.monotonic()
    assert client(fake).list_tags(REPO) == ["a"]
    assert time.monotonic() - started >= 1.0


def test_persistent_5xx_gives_up_after_the_retries(fake: FakeRegistry) -> None:
    fake.b.fail = [(500, "")] * 10
    with pytest.raises(RegistryError, match="HTTP 500"):
        client(fake, retries=2).list_tags(REPO)
    assert len(fake.b.seen) == 3


def test_a_silent_server_times_out_as_unreachable() -> None:
    with socket.socket() as listener:  # accepts the TCP handshake (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        host = f"127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(RegistryUnreachable, match="timed out"):
            RegistryClient(host, insecure=True, timeout=0.3, retries=1, backoff=0.01).list_tags(REPO)
        assert time.monotonic() - started < 3


def test_a_registry_that_rewrites_the_manifest_fails_the_retag_loudly(fake: FakeRegistry) -> None:
    image = tiny_image("x").manifest
    fake.b.manifests["src"] = (image.media_type, image.raw)
    fake.b.rewrite_puts = True
    with pytest.raises(DigestMismatch, match="do not deploy"):
        client(fake).retag(REPO, "src", ["dst"])


def test_a_lying_digest_header_is_caught(fake: FakeRegistry) -> None:
    image = tiny_image("x").manifest
    fake.b.manifests["src"] = (image.media_type, image.raw)
    fake.b.lie_digest = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatch):
        client(fake).get_manifest(REPO, "src")


def test_digest_without_the_header_hashes_the_body(fake: FakeRegistry) -> None:
    image = tiny_image("x").manifest
    fake.b.manifests["src"] = (image.media_type, image.raw)
    fake.b.omit_digest_header = True
    assert client(fake).digest(REPO, "src") == image.digest
    assert [s.split()[0] for s in fake.b.seen] == ["HEAD", "GET"]


@pytest.mark.parametrize("bad", ["a b", "../x", "x;rm", "x%2F..", "x?y", "x#y", "", "-x"])
def test_invalid_input_sends_no_request(fake: FakeRegistry, bad: str) -> None:
    image = tiny_image("x").manifest
    reg = client(fake)
    for call in (
        lambda: reg.retag(REPO, "src", ["fine", bad]),
        lambda: reg.retag(REPO, bad, ["fine"]),
        lambda: reg.retag(REPO, "src", ["fine"], expect_digest=bad or "sha256:x"),
        lambda: reg.put_manifest(REPO, bad, image),
        lambda: reg.get_manifest(REPO, bad),
        lambda: reg.list_tags(bad),
    ):
        with pytest.raises(InvalidInput):
            call()
    assert fake.b.seen == []


# --- pure helpers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("127.0.0.1:5000/acme/backend", ("127.0.0.1:5000", "acme/backend")),
        ("ghcr.io/acme/backend", ("ghcr.io", "acme/backend")),
        ("localhost/acme", ("index.docker.io", "localhost/acme")),  # go-containerregistry: no `.`/`:`, Hub
        ("nginx", ("index.docker.io", "library/nginx")),
        ("bitnami/nginx", ("index.docker.io", "bitnami/nginx")),
        ("docker.io/nginx", ("index.docker.io", "library/nginx")),
        ("index.docker.io/acme/x", ("index.docker.io", "acme/x")),
        ("GHCR.IO/acme/x", ("ghcr.io", "acme/x")),
    ],
)
def test_parse_image(image: str, expected: tuple[str, str]) -> None:
    assert parse_image(image) == expected


@pytest.mark.parametrize(
    "bad", ["ghcr.io/acme/backend:v1", "ghcr.io/Acme/x", "ghcr.io/", "nginx@sha256:00", ""]
)
def test_parse_image_refuses_tags_and_bad_names(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_image(bad)


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        ('Basic realm="test-realm"', "basic", {"realm": "test-realm"}),
        (
            'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push"',
            "bearer",
            {"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:a/b:pull,push"},
        ),
        ("Bearer realm=https://x/t, service=x", "bearer", {"realm": "https://x/t", "service": "x"}),
    ],
)
def test_parse_challenge(header: str, scheme: str, params: dict[str, str]) -> None:
    challenge = parse_challenge(header)
    assert challenge is not None
    assert (challenge.scheme, dict(challenge.params)) == (scheme, params)


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("127.0.0.1:5000", "REGISTRY_127_0_0_1_5000"),
        ("ghcr.io", "REGISTRY_GHCR_IO"),
        ("my-reg.io", "REGISTRY_MY_REG_IO"),
    ],
)
def test_env_prefix(host: str, prefix: str) -> None:
    assert env_prefix(host) == prefix


@given(st.text(max_size=140))
def test_accepted_tags_are_safe_in_a_url_path(text: str) -> None:
    try:
        check_tag(text)
    except InvalidInput:
        return
    assert text and not set(text) & set("/?#%&;: \t\n\\") and not text.startswith((".", "-"))


@given(st.text(alphabet="abc./_-:?%", max_size=40))
def test_accepted_repos_cannot_climb_or_query(text: str) -> None:
    try:
        check_repo(text)
    except InvalidInput:
        return
    parts = text.split("/")
    assert all(p and p not in (".", "..") and p[0].isalnum() and p[-1].isalnum() for p in parts)
    assert not set(text) & set(":?%")
