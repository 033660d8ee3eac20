from __future__ import annotations

import pytest

from bot.core.history import marker_value, tag_of


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('    image: ghcr.io/a/b:v1 # {"$imagepolicy": "ns:p"}', ("ns:p", "ghcr.io/a/b:v1")),
        ('    newTag: "1606364286" # {"$imagepolicy": "ns:p:tag"}', ("ns:p:tag", "1606364286")),
        ('    newTag: \'v1\' # {"$imagepolicy": "ns:p:tag"}', ("ns:p:tag", "v1")),
        ('  - 127.0.0.1:5000/a:v2 # {"$imagepolicy": "ns:p"}', ("ns:p", "127.0.0.1:5000/a:v2")),
        ('    image: a:v1 # {"$imagepolicy": "ns:p"} # note', None),
        ("    image: a:v1 # no marker", None),
        ('    image: a:v1 # {"$imagepolicy": 3}', None),
    ],
)
def test_marker_value(line: str, expected: tuple[str, str] | None) -> None:
    assert marker_value(line) == expected


def test_tag_of() -> None:
    assert tag_of("ns:p", "127.0.0.1:5000/a/b:prod-v1.0.0-abcdef0-1") == "prod-v1.0.0-abcdef0-1"
    assert tag_of("ns:p:tag", "prod-v1.0.0-abcdef0-1") == "prod-v1.0.0-abcdef0-1"
