"""The `git fast-import` stream for a run of commits, as bytes: no git, no I/O.

Kept pure so the exact bytes can be tested without git: a wrong data length or an unquoted newline in a path
does not fail loudly, it makes fast-import read the rest of the stream as something else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.errors import GitError, InvalidInput

__all__ = ["Commit", "Ident", "clean_message", "encode", "marked_shas", "quoted_path"]

DEFAULT_MODE = "100644"
# Only regular files are written; anything else already there (a symlink, a submodule) is replaced by one.
FILE_MODES = ("100644", "100755")


@dataclass(frozen=True)
class Ident:
    """Who the commits are by; fast-import reads `name <email> when`, so neither may hold <, > or a newline."""

    name: str
    email: str

    def line(self, when: int) -> str:
        for part in (self.name, self.email):
            if any(c in part for c in "<>\n\0"):
                raise InvalidInput(f"{part!r} cannot be part of a Git identity (no <, > or line breaks).")
        return f"{self.name} <{self.email}> {when} +0000"


@dataclass(frozen=True)
class Commit:
    files: Mapping[str, str | None]  # repo-relative path → new text, or None to delete the file
    message: str


def clean_message(text: str) -> str:
    """What `git commit --cleanup=whitespace` keeps: no trailing blanks, no leading, trailing or repeated
    empty lines, one final newline."""
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if stripped or (lines and lines[-1]):
            lines.append(stripped)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def quoted_path(path: str) -> str:
    """A path as fast-import reads it: C-style quoted when it has a quote, backslash, newline or leading space.

    Unquoted, the path is the rest of the line, so spaces and non-ASCII inside it are fine as they are.
    Paths git would store as something else are refused: a NUL ends the path early, and an empty, `.` or
    `..` component is not a canonical tree path."""
    parts = path.split("/")
    if "\0" in path or any(p in ("", ".", "..") for p in parts):
        raise InvalidInput(f"{path!r} is not a canonical file path for a Git tree.")
    if not any(c in path for c in '"\\\n') and not path.startswith(" "):
        return path
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _ref_word(value: str, what: str) -> str:
    if not value or any(c.isspace() or c == "\0" for c in value):
        raise InvalidInput(f"{value!r} is not a {what} fast-import can read.")
    return value


def _data(payload: bytes) -> bytes:
    # The length counts bytes, not characters; the LF after the payload is optional and kept for readability.
    return b"data %d\n%s\n" % (len(payload), payload)


def encode(
    commits: Sequence[Commit],
    *,
    ref: str,
    parent: str,
    ident: Ident,
    when: int,
    modes: Mapping[str, str],
) -> bytes:
    """One commit after another on `ref`, the first on top of `parent` (a sha), commit n marked :n.

    `modes` are the parent tree's file modes: an executable stays executable, a new file is 100644."""
    ref, parent = _ref_word(ref, "ref"), _ref_word(parent, "parent commit")
    who = ident.line(when)
    out = bytearray()
    for n, commit in enumerate(commits, start=1):
        out += f"commit {ref}\nmark :{n}\nauthor {who}\ncommitter {who}\n".encode()
        out += _data(clean_message(commit.message).encode("utf-8"))
        out += (f"from {parent}\n" if n == 1 else f"from :{n - 1}\n").encode()
        for path, text in commit.files.items():
            if text is None:
                out += f"D {quoted_path(path)}\n".encode()
                continue
            mode = modes.get(path, DEFAULT_MODE)
            out += f"M {mode if mode in FILE_MODES else DEFAULT_MODE} inline {quoted_path(path)}\n".encode()
            out += _data(text.encode("utf-8"))
    return bytes(out)


def marked_shas(marks: str, count: int) -> list[str]:
    """The shas of commits :1..:count from an `--export-marks` file (`:<n> <sha>` per line)."""
    found = dict(line.split(" ", 1) for line in marks.splitlines() if line)
    try:
        return [found[f":{n}"].strip() for n in range(1, count + 1)]
    except KeyError as missing:
        raise GitError(f"fast-import did not report commit {missing.args[0]}.") from None
