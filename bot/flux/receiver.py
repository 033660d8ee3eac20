"""`POST /flux/events`: a notification-controller Provider of type generic-hmac (or generic) posts here.

Verified, validated and written to the durable outbox before the 202, so a crash or restart loses no
accepted event; delivery to Slack happens later (bot/flux/delivery.py). Bad input gets a 4xx with a
reason and changes nothing; it never gets a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from bot import request_id
from bot.core.imageref import tag_or_ref
from bot.core.routes import Route
from bot.errors import InvalidInput
from bot.flux.events import (
    MAX_BODY,
    FluxEvent,
    ImageUpdated,
    PolicyResolved,
    classify,
    parse_event,
    route,
    verify_bearer,
    verify_hmac,
)
from bot.http_server import Request, Response

log = logging.getLogger(__name__)


class Outbox(Protocol):
    def enqueue(self, channel: str, payload: str, dedupe_key: str, now: float | None = None, *,
                window: float = 300.0) -> int | None: ...  # fmt: skip


def _dedupe_key(event: FluxEvent) -> str:
    """Image updates share one key per tag with the Git-polling path, so a change is announced once."""
    kind = classify(event)
    if isinstance(kind, PolicyResolved):
        return f"image-tag:{kind.tag}"
    if isinstance(kind, ImageUpdated) and len(kind.changes) == 1:
        return f"image-tag:{tag_or_ref(kind.changes[0][1])}"
    return event.dedupe_key()


class FluxReceiver:
    def __init__(
        self,
        outbox: Outbox,
        *,
        hmac_key: bytes | None,
        bearer: str | None,
        routes: Sequence[Route] = (),
        default_channel: Callable[[str], str | None] = lambda _ns: None,
        dedupe_window: float = 300.0,
        on_result: Callable[[str], None] = lambda _r: None,
    ) -> None:
        if not hmac_key and not bearer:
            # Accepting unauthenticated events would let anyone post into the env channels.
            raise InvalidInput("The Flux receiver needs FLUX_WEBHOOK_TOKEN (generic-hmac) or a bearer token.")
        self._outbox = outbox
        self._hmac_key = hmac_key
        self._bearer = bearer
        self._routes = routes
        self._default_channel = default_channel
        self._window = dedupe_window
        # The metrics hook: accepted | duplicate | rejected:<HTTP status> (a status, not the reason's text,
        # because a metric label must come from a small fixed set).
        self._on_result = on_result

    def _reject(self, status: int, why: str) -> Response:
        self._on_result(f"rejected:{status}")
        log.info("flux event rejected (%s): %s", status, why)
        return Response.json(status, {"error": why})

    def handle(self, req: Request) -> Response:
        if len(req.body) > MAX_BODY:
            return self._reject(413, f"body larger than {MAX_BODY} bytes")
        if self._hmac_key:
            ok = verify_hmac(req.body, req.headers.get("x-signature"), self._hmac_key)
        else:
            ok = verify_bearer(req.headers, self._bearer or "")
        if not ok:
            return self._reject(401, "bad or missing signature")
        try:
            event = parse_event(req.body)
        except InvalidInput as err:
            return self._reject(400, err.message)
        target = route(event, self._routes, self._default_channel)
        channel, mention = target if target else ("", "")
        # The request id travels with the item, so the deliverer's log lines for it carry the same id.
        rid = request_id.current()
        payload = json.dumps({"event": req.body.decode("utf-8"), "mention": mention, "request_id": rid})
        queued = self._outbox.enqueue(channel, payload, _dedupe_key(event), window=self._window)
        self._on_result("accepted" if queued is not None else "duplicate")
        return Response.json(202, {"accepted": True, "duplicate": queued is None})
