"""`git log -p -U0` output → CommitRecord values, parsed as the stream arrives (no Python walk over objects)."""

from __future__ import annotations

import codecs

from bot.core.history import CommitRecord, FileDiff

# Each commit starts with NUL + RS, and its fields are NUL-separated; the patch follows the body.
# Git cannot put a NUL in a commit header or message, and a file with NUL bytes is diffed as binary.
RECORD = b"\x00\x1e"
LOG_ARGS = (
    "log",
    "--format=%x00%x1e%H%x00%P%x00%an%x00%ae%x00%at%x00%B%x00",
    "-p",
    "-U0",
    "--no-color",
    "--no-renames",
    "--no-ext-diff",
    "--no-textconv",
)


def _unquote_path(text: str) -> str:
    """Git C-quotes paths with unusual bytes: "a/\\303\\251.yaml" → a/é.yaml."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        raw = codecs.escape_decode(text[1:-1].encode("utf-8"))[0]
        return bytes(raw).decode("utf-8", errors="replace")
    return text


def _diff_path(header: str) -> str:
    # Without renames both sides name one file, quoted alike: `a/<p> b/<p>` or `"a/<p>" "b/<p>"`,
    # so the first half of the line is the old side.
    rest = header[len("diff --git ") :]
    return _unquote_path(rest[: (len(rest) - 1) // 2])[2:]


def _parse_patch(text: str) -> tuple[FileDiff, ...]:
    files: list[FileDiff] = []
    path = ""
    removed: list[str] = []
    added: list[str] = []
    in_hunk = False
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            if path:
                files.append(FileDiff(path, tuple(removed), tuple(added)))
            path, removed, added, in_hunk = _diff_path(line), [], [], False
        elif line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("-"):
            removed.append(line[1:])
        elif in_hunk and line.startswith("+"):
            added.append(line[1:])
    if path:
        files.append(FileDiff(path, tuple(removed), tuple(added)))
    return tuple(files)


def _parse_record(raw: bytes) -> CommitRecord:
    fields = (f.decode("utf-8", errors="replace") for f in raw.split(b"\x00", 6))
    sha, parents, name, email, at, body, patch = fields
    return CommitRecord(
        sha=sha,
        parents=tuple(parents.split()),
        author_name=name,
        author_email=email,
        authored_at=int(at or "0"),
        message=body,
        diffs=_parse_patch(patch),
    )


class LogParser:
    """A write-only stream for GitPython's output_stream: parses `git log` output as it arrives."""

    def __init__(self) -> None:
        self._buffer = b""
        self._records: list[CommitRecord] = []

    def write(self, chunk: bytes) -> int:
        self._buffer += chunk
        *complete, self._buffer = self._buffer.split(RECORD)
        self._records.extend(_parse_record(r) for r in complete if r)
        return len(chunk)

    def close(self) -> list[CommitRecord]:
        if self._buffer:
            self._records.append(_parse_record(self._buffer))
            self._buffer = b""
        return self._records
