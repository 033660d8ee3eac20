"""The service's log lines: one JSON object per line with ts/level/logger/msg, the bound request id, extras."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import request_id
from bot.log_format import handler

Emit = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def emit() -> Iterator[Emit]:
    """Log one record through `handler("json", …)` as serve installs it; return every parsed line."""
    stream = io.StringIO()
    out = handler("json", stream, secrets=["canary-secret-123"])
    logger = logging.getLogger("tests.log_format")
    logger.addHandler(out)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    def run(level: int, msg: str, *args: object, **kwargs: Any) -> list[dict[str, Any]]:
        stream.seek(0)
        stream.truncate()
        logger.log(level, msg, *args, **kwargs)
        text = stream.getvalue()
        assert text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]

    try:
        yield run
    finally:
        logger.removeHandler(out)
        logger.propagate = True


TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.mark.parametrize(
    ("level", "msg", "args", "extra", "expected"),
    [
        (logging.INFO, "pushed %s", ("abc123",), None, {"level": "INFO", "msg": "pushed abc123"}),
        (logging.WARNING, "multi\nline", (), None, {"level": "WARNING", "msg": "multi\nline"}),
        (logging.DEBUG, "emoji ✅ → ok", (), None, {"level": "DEBUG", "msg": "emoji ✅ → ok"}),
        (logging.INFO, "with extras", (), {"env": "production", "tries": 2}, {"env": "production", "tries": 2}),
        # An extra may not overwrite a fixed key; it is kept beside it.
        (
            logging.INFO,
            "clash",
            (),
            {"level": "mine", "ts": 1},
            {"level": "INFO", "extra.level": "mine", "extra.ts": 1},
        ),
        (logging.INFO, "not json", (), {"path": Path("/tmp/x")}, {"path": "/tmp/x"}),
        (logging.ERROR, "secret canary-secret-123", (), {"x": "canary-secret-123"}, {"msg": "secret ***", "x": "***"}),
    ],
    ids=["args", "newline", "unicode", "extras", "clash", "non-json-extra", "redacted"],
)
def test_one_json_object_per_line(  # noqa: PLR0917 - one parameter per table column
    emit: Emit, level: int, msg: str, args: tuple[object, ...], extra: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    [line] = emit(level, msg, *args, extra=extra)
    assert TS.fullmatch(line["ts"]), line["ts"]
    assert line["logger"] == "tests.log_format"
    assert "request_id" not in line  # none bound
    for key, value in expected.items():
        assert line[key] == value, key


def test_request_id_is_the_bound_one_and_an_explicit_one_wins(emit: Emit) -> None:
    with request_id.bound("rid-outer"):
        [bound] = emit(logging.INFO, "x")
        [explicit] = emit(logging.INFO, "y", extra={"request_id": "rid-promotion"})
    [after] = emit(logging.INFO, "z")
    assert bound["request_id"] == "rid-outer"
    assert explicit["request_id"] == "rid-promotion"
    assert "request_id" not in after


def test_exception_is_one_field_on_one_line(emit: Emit) -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        [line] = emit(logging.ERROR, "failed", exc_info=True)
    assert line["msg"] == "failed"
    assert line["exc"].startswith("Traceback") and "ValueError: bad\nthing" in line["exc"]


def test_text_format_names_the_request_id() -> None:
    stream = io.StringIO()
    out = handler("text", stream, secrets=["canary-secret-123"])
    record = logging.makeLogRecord({"name": "bot.x", "levelname": "INFO", "levelno": 20, "msg": "hi canary-secret-123"})
    with request_id.bound("rid-1"):
        out.handle(record)
    out.handle(logging.makeLogRecord({"name": "bot.x", "levelname": "INFO", "levelno": 20, "msg": "bye"}))
    first, second = stream.getvalue().splitlines()
    assert first.endswith("INFO bot.x [rid-1]: hi ***")
    assert second.endswith("INFO bot.x: bye")


def test_bound_restores_and_new_ids_differ() -> None:
    assert request_id.current() is None
    with request_id.bound("a"):
        with request_id.bound(None):
            assert request_id.current() is None
        assert request_id.current() == "a"
    assert request_id.current() is None
    ids = {request_id.new() for _ in range(100)}
    assert len(ids) == 100 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
