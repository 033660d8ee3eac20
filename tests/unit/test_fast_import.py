"""The fast-import stream, byte for byte, without git: what git reads from it is checked by the GitRepo tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.adapters import fast_import
from bot.adapters.fast_import import Commit, Ident, clean_message, encode, marked_shas, quoted_path
from bot.errors import GitError, InvalidInput

BOT = Ident("gitops-bot", "bot@example.com")
WHEN = 1738860000
PARENT = "0123456789abcdef0123456789abcdef01234567"
WHO = b"gitops-bot <bot@example.com> 1738860000 +0000"


def stream(*commits: Commit, modes: dict[str, str] | None = None) -> bytes:
    return encode(commits, ref="refs/gitops-bot/batch", parent=PARENT, ident=BOT, when=WHEN, modes=modes or {})


def header(n: int, message: bytes, parent: bytes) -> bytes:
    return b"commit refs/gitops-bot/batch\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\nfrom %s\n" % (
        n,
        WHO,
        WHO,
        len(message),
        message,
        parent,
    )


def test_the_module_needs_no_git() -> None:
    tree = ast.parse(Path(fast_import.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "collections.abc", "dataclasses", "bot.errors"}


def test_one_commit_is_header_message_parent_then_inline_files() -> None:
    got = stream(Commit({"apps/a.yaml": "x: 1\n", "b.yml": "y: 2"}, "subject\n\nbody\n"))
    assert got == (
        header(1, b"subject\n\nbody\n", PARENT.encode())
        + b"M 100644 inline apps/a.yaml\ndata 5\nx: 1\n\n"
        + b"M 100644 inline b.yml\ndata 4\ny: 2\n"
    )


def test_later_commits_build_on_the_previous_mark() -> None:
    got = stream(Commit({"a.yaml": "1\n"}, "one"), Commit({"a.yaml": "2\n"}, "two"), Commit({"b.yaml": "3\n"}, "3"))
    assert got == (
        header(1, b"one\n", PARENT.encode()) + b"M 100644 inline a.yaml\ndata 2\n1\n\n"
        + header(2, b"two\n", b":1") + b"M 100644 inline a.yaml\ndata 2\n2\n\n"
        + header(3, b"3\n", b":2") + b"M 100644 inline b.yaml\ndata 2\n3\n\n"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("é\n", b"data 3\n\xc3\xa9\n\n"),  # two bytes for one character
        ("image: ghcr.io/acme/app:v1 # ✓\n", b"data 33\nimage: ghcr.io/acme/app:v1 # \xe2\x9c\x93\n\n"),
        ("🚀", b"data 4\n\xf0\x9f\x9a\x80\n"),
        ("", b"data 0\n\n"),
        ("no newline at the end", b"data 21\nno newline at the end\n"),
        ("a\0b\n", b"data 4\na\x00b\n\n"),  # data is counted, never scanned, so any byte may be in it
    ],
)
def test_data_lengths_count_utf8_bytes(text: str, data: bytes) -> None:
    assert stream(Commit({"f.yaml": text}, "m")).endswith(b"M 100644 inline f.yaml\n" + data)


@pytest.mark.parametrize(
    ("path", "written"),
    [
        ("apps/staging/svc-a/deployment.yaml", "apps/staging/svc-a/deployment.yaml"),
        ("apps/svc a/b c.yaml", "apps/svc a/b c.yaml"),  # unquoted, the path is the rest of the line
        ("apps/é/ü.yaml", "apps/é/ü.yaml"),  # raw UTF-8 is fine either way
        ("tab\there", "tab\there"),
        ("trailing space ", "trailing space "),
        (" leading", '" leading"'),
        ('a/"q".yaml', '"a/\\"q\\".yaml"'),
        ('"starts.yaml', '"\\"starts.yaml"'),
        ("back\\slash", '"back\\\\slash"'),
        ("line\nbreak", '"line\\nbreak"'),
        ('é "q"\n\\', '"é \\"q\\"\\n\\\\"'),
    ],
)
def test_paths_are_quoted_only_where_git_needs_it(path: str, written: str) -> None:
    assert quoted_path(path) == written
    assert f"M 100644 inline {written}\n".encode() in stream(Commit({path: "x\n"}, "m"))
    assert stream(Commit({path: None}, "m")).endswith(f"D {written}\n".encode())


@pytest.mark.parametrize(
    "path", ["", "/abs.yaml", "a//b.yaml", "dir/", ".", "./a.yaml", "a/../b.yaml", "..", "nul\0.yaml"]
)
def test_paths_git_would_store_differently_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        quoted_path(path)
    with pytest.raises(InvalidInput):
        stream(Commit({path: "x\n"}, "m"))


def test_file_modes_keep_executables_and_replace_anything_else_with_a_regular_file() -> None:
    modes = {"run.sh": "100755", "plain.yaml": "100644", "link": "120000", "vendored": "160000"}
    files: dict[str, str | None] = {"run.sh": "#!/bin/sh\n", "plain.yaml": "a\n", "link": "b\n", "vendored": "c\n",
                                    "new.yaml": "d\n"}  # fmt: skip
    got = stream(Commit(files, "m"), modes=modes)
    lines = [line for line in got.split(b"\n") if line.startswith(b"M ")]
    assert lines == [
        b"M 100755 inline run.sh",
        b"M 100644 inline plain.yaml",
        b"M 100644 inline link",
        b"M 100644 inline vendored",
        b"M 100644 inline new.yaml",
    ]


def test_deletes_and_writes_in_one_commit_keep_their_order() -> None:
    got = stream(Commit({"gone.yaml": None, "kept.yaml": "k\n", "sub dir/x.yml": None}, "m"))
    assert got.endswith(b"D gone.yaml\nM 100644 inline kept.yaml\ndata 2\nk\n\nD sub dir/x.yml\n")


def test_messages_are_cleaned_like_git_commit_and_trailers_survive() -> None:
    raw = (
        "\n\npromote(svc-a): v1.2.3 abc1234 develop → staging  \n\n\n"
        "Promoted after review.\t\n\n"
        "Promoted-by: Alice <slack:U0ALICE>\nApproved-by: Bøb <slack:U0BOB>\n\n\n"
    )
    cleaned = (
        "promote(svc-a): v1.2.3 abc1234 develop → staging\n\nPromoted after review.\n\n"
        "Promoted-by: Alice <slack:U0ALICE>\nApproved-by: Bøb <slack:U0BOB>\n"
    )
    assert clean_message(raw) == cleaned
    body = cleaned.encode()
    assert stream(Commit({"a": "x"}, raw)).startswith(header(1, body, PARENT.encode()))
    assert len(body) == len(cleaned) + 3  # →, ø: the length is in bytes


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("", "\n"), ("s", "s\n"), ("s\n", "s\n"), ("\n\ns \n\n\nb\n\n", "s\n\nb\n"), ("a\r\nb", "a\nb\n")],
)
def test_clean_message_table(raw: str, cleaned: str) -> None:
    assert clean_message(raw) == cleaned


def test_author_and_committer_lines() -> None:
    got = encode([Commit({}, "m")], ref="refs/x", parent=PARENT, ident=Ident("Zoë Bot", "z@ex.org"), when=0, modes={})
    assert b"\nauthor Zo\xc3\xab Bot <z@ex.org> 0 +0000\ncommitter Zo\xc3\xab Bot <z@ex.org> 0 +0000\n" in got


@pytest.mark.parametrize(
    "ident",
    [Ident("a <b>", "x@y"), Ident("bot", "x@y>"), Ident("bot", "<x@y"), Ident("two\nlines", "x@y"), Ident("n", "\0")],
)
def test_identities_fast_import_would_misread_are_refused(ident: Ident) -> None:
    with pytest.raises(InvalidInput, match="Git identity"):
        encode([Commit({}, "m")], ref="refs/x", parent=PARENT, ident=ident, when=WHEN, modes={})


@pytest.mark.parametrize(("ref", "parent"), [("refs/a b", PARENT), ("", PARENT), ("refs/x", "abc\n"), ("refs/x", "")])
def test_ref_and_parent_must_be_one_word(ref: str, parent: str) -> None:
    with pytest.raises(InvalidInput):
        encode([Commit({}, "m")], ref=ref, parent=parent, ident=BOT, when=WHEN, modes={})


def test_marks_are_read_back_in_commit_order() -> None:
    marks = f":2 {'b' * 40}\n:1 {'a' * 40}\n\n:3 {'c' * 40}\n"
    assert marked_shas(marks, 3) == ["a" * 40, "b" * 40, "c" * 40]
    assert marked_shas(marks, 0) == []
    with pytest.raises(GitError, match=":4"):
        marked_shas(marks, 4)
