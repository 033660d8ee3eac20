"""How the service logs: one JSON object per line (or plain text for a person at a terminal), every
line stamped with the request id when one is bound, every record passed through the redaction filter.

    {"ts": "2026-02-06T16:42:03.120Z", "level": "INFO", "logger": "bot.flux.delivery",
     "msg": "promotion reconciled", "request_id": "9f1c…", "env": "production"}

`extra=` fields become top-level keys; one that would overwrite a fixed key is kept as `extra.<key>`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Literal, TextIO

from bot import request_id
from bot.core.clock_text import iso_utc_millis
from bot.redaction import STANDARD_ATTRS, RedactingFilter, Redactor

LogFormat = Literal["json", "text"]
FORMATS: tuple[LogFormat, ...] = ("json", "text")


def _timestamp(created: float) -> str:
    return iso_utc_millis(created)


def _request_id(record: logging.LogRecord) -> str | None:
    # An explicit `extra={"request_id": …}` wins over the bound one: the deliverer names the promotion it
    # reports on while handling someone else's event.
    explicit = record.__dict__.get("request_id")
    return str(explicit) if explicit else request_id.current()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = _request_id(record)
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key in STANDARD_ATTRS or key.startswith("_") or key == "request_id":
                continue
            out[f"extra.{key}" if key in out else key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        # default=str: an extra that is not JSON (a Path, an exception) is logged as its text, never dropped.
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`<time> LEVEL logger [request id] message`, for reading in a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = _request_id(record)
        record.__dict__["rid"] = f" [{rid}]" if rid else ""
        try:
            return super().format(record)
        finally:
            record.__dict__.pop("rid", None)


def handler(fmt: LogFormat, stream: TextIO, secrets: Iterable[str] = ()) -> logging.Handler:
    """A stream handler with the formatter for `fmt` and the redaction filter for `secrets`."""
    out = logging.StreamHandler(stream)
    out.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    out.addFilter(RedactingFilter(Redactor(secrets)))
    return out


def install(fmt: LogFormat, secrets: Iterable[str] = (), *, level: int = logging.INFO,
            stream: TextIO | None = None) -> logging.Handler:  # fmt: skip
    """Make the root logger write only through `handler(...)`: whatever was configured before (the CLI's
    stderr handler) goes, so no record reaches an unfiltered handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    new = handler(fmt, stream if stream is not None else sys.stderr, secrets)
    root.addHandler(new)
    root.setLevel(level)
    return new
