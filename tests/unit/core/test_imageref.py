"""The one image-reference parser: every form the four old parsers took (discovery.split_ref,
flux.events.image_tag, registry.parse_image, plan._retarget), and the edges between them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.imageref import DOCKER_HUB, ImageRef, check_ref, locate, tag_or_ref
from bot.errors import InvalidInput

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("ref", "name", "tag", "digest"),
    [
        ("ghcr.io/acme/backend:1.2.3", "ghcr.io/acme/backend", "1.2.3", ""),
        ("127.0.0.1:5000/acme/app:prod-v1.0.0-abcdef0-1", "127.0.0.1:5000/acme/app", "prod-v1.0.0-abcdef0-1", ""),
        ("127.0.0.1:5000/acme/app", "127.0.0.1:5000/acme/app", "", ""),  # the ':' before the '/' is a port
        ("localhost:5000/app:1.2", "localhost:5000/app", "1.2", ""),
        ("localhost:5000/app:1.2@sha256:abc", "localhost:5000/app", "1.2", "sha256:abc"),
        (f"app:1@{D}", "app", "1", D),  # digest and tag
        (f"app@{D}", "app", "", D),  # digest, no tag
        ("reg.io:443/a/b/c/d:v1", "reg.io:443/a/b/c/d", "v1", ""),  # nested path under a host with a port
        ("helloworld:v1.0.0", "helloworld", "v1.0.0", ""),
        ("nginx", "nginx", "", ""),
        ("app:", "app", "", ""),  # an empty tag is no tag
        ("develop-v0.0.3-c3d4e5f-1738860123", "develop-v0.0.3-c3d4e5f-1738860123", "", ""),  # a bare tag value
        ("", "", "", ""),
        ("a/b:c:d", "a/b:c", "d", ""),  # junk stays junk: only the last ':' can start a tag
        ("x@y@z", "x", "", "y@z"),  # the digest is everything after the first '@'
    ],
)
def test_parse_splits_without_judging(ref: str, name: str, tag: str, digest: str) -> None:
    assert ImageRef.parse(ref) == ImageRef(name, tag, digest)


@pytest.mark.parametrize(
    ("ref", "tag"),
    [
        ("ghcr.io/acme/backend:develop-v0.0.3-c3d4e5f-1738860123", "develop-v0.0.3-c3d4e5f-1738860123"),
        ("localhost:5000/app:1.2@sha256:abc", "1.2"),
        ("develop-v0.0.3-c3d4e5f-1738860123", "develop-v0.0.3-c3d4e5f-1738860123"),  # a `:tag` setter's value
        ("localhost:5000/app", "localhost:5000/app"),  # no tag: the name is shown
        ("app:", "app:"),  # nothing to take: the value as it is
        (f"app@{D}", "app"),
    ],
)
def test_tag_or_ref(ref: str, tag: str) -> None:
    assert tag_or_ref(ref) == tag


@pytest.mark.parametrize(
    ("ref", "tag", "out"),
    [
        ("ghcr.io/acme/web:1", "2", "ghcr.io/acme/web:2"),
        (f"localhost:5000/web:1@{D}", "2", f"localhost:5000/web:2@{D}"),  # the port survives, the digest too
        ("localhost:5000/web", "2", "localhost:5000/web:2"),
        (f"web@{D}", "2", f"web:2@{D}"),
    ],
)
def test_retagged(ref: str, tag: str, out: str) -> None:
    assert str(ImageRef.parse(ref).retagged(tag)) == out


def test_str_round_trips_a_tagged_ref() -> None:
    assert str(ImageRef("ghcr.io/a/web", "1.2.3")) == "ghcr.io/a/web:1.2.3"
    assert str(ImageRef("web", "1", D)) == f"web:1@{D}"


@given(
    st.sampled_from(["", "ghcr.io/", "localhost:5000/", "reg.io:443/a/"]),
    st.from_regex(r"[a-z0-9]+(/[a-z0-9]+){0,2}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    st.sampled_from(["", D]),
)
def test_parse_inverts_str(host: str, path: str, tag: str, digest: str) -> None:
    ref = ImageRef(host + path, tag, digest)
    assert ImageRef.parse(str(ref)) == ref


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("127.0.0.1:5000/acme/backend", ("127.0.0.1:5000", "acme/backend")),
        ("ghcr.io/acme/backend", ("ghcr.io", "acme/backend")),
        ("ghcr.io/acme/team/deep/backend", ("ghcr.io", "acme/team/deep/backend")),
        ("localhost/acme", (DOCKER_HUB, "localhost/acme")),  # go-containerregistry: no `.`/`:`, Hub
        ("localhost:5000/acme", ("localhost:5000", "acme")),
        ("nginx", (DOCKER_HUB, "library/nginx")),
        ("bitnami/nginx", (DOCKER_HUB, "bitnami/nginx")),
        ("docker.io/nginx", (DOCKER_HUB, "library/nginx")),
        ("index.docker.io/acme/x", (DOCKER_HUB, "acme/x")),
        ("GHCR.IO/acme/x", ("ghcr.io", "acme/x")),  # hosts are case-insensitive
        ("a_b/c", (DOCKER_HUB, "a_b/c")),  # no '.' or ':': a Docker Hub namespace, not a host
    ],
)
def test_locate(image: str, expected: tuple[str, str]) -> None:
    assert locate(image) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "ghcr.io/acme/backend:v1",  # a tag
        "nginx@sha256:00",  # a digest
        f"ghcr.io/acme/x@{D}",
        "localhost:5000",  # no path: the port reads as a tag
        "ghcr.io/Acme/x",  # uppercase path
        "Nginx",
        "ghcr.io/",  # empty parts
        "ghcr.io//x",
        "/x",
        "",
        "ghcr.io/x/",
        "ghcr.io/-x",
        "bad host.io/x",
        "ghcr.io:99999999/x",
        "ghcr.io/" + "a" * 256,
    ],
)
def test_locate_refuses(bad: str) -> None:
    with pytest.raises(InvalidInput):
        locate(bad)


@pytest.mark.parametrize(("ref", "ok"), [("v1.0", True), (D, True), ("sha256:00", False), ("-x", False), ("", False)])
def test_check_ref(ref: str, ok: bool) -> None:
    if ok:
        assert check_ref(ref) == ref
    else:
        with pytest.raises(InvalidInput):
            check_ref(ref)
