"""Socket Mode: the bot's one WebSocket to Slack, kept open, and whether it is open (for /readyz).

Bolt's handler reconnects by itself once a session has existed (`refresh_requested`, a dropped socket), but
when `apps.connections.open` is refused at start (a revoked app token, Slack down) `connect()` raises and
nobody tries again. Here that is not fatal: the process keeps serving its probes, `/readyz` names Slack as
the reason, and a background thread asks again until Slack answers or the bot stops. Nothing in Bolt reports
a socket that went away, so readiness asks the client each time (SLACK-FACTS §3a).
"""

from __future__ import annotations

import http.client
import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)
_REFUSALS = (SlackApiError, SlackClientError, OSError, http.client.HTTPException)


def _why(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        code = err.response.get("error", "") if hasattr(err.response, "get") else ""
        return f"Slack refused apps.connections.open ({code or 'http ' + str(err.response.status_code)})"
    return f"Slack's Socket Mode endpoint did not answer ({type(err).__name__})"


class SocketLink:
    """The Socket Mode connection: `start()` never raises; `status()` is (connected, why not)."""

    def __init__(self, app: App, app_token: str, *, ping_interval: float = 10.0, retry_every: float = 30.0) -> None:
        # ping_interval is also how often the client notices a dead socket and dials again.
        self.handler = SocketModeHandler(app, app_token, ping_interval=ping_interval)
        self._retry_every = retry_every
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._why = "Socket Mode has not connected to Slack yet"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self._try():
            self._thread = threading.Thread(target=self._keep_trying, name="slack-socket-dial", daemon=True)
            self._thread.start()

    def _try(self) -> bool:
        try:
            self.handler.connect()  # type: ignore[no-untyped-call]  # non-blocking: HTTP keeps serving probes
        except _REFUSALS as err:
            with self._lock:
                self._why = _why(err)
            log.warning("%s; trying again every %ss", self._why, self._retry_every)
            return False
        return True

    def _keep_trying(self) -> None:
        while not self._stopped.wait(self._retry_every):
            if self._try():
                log.info("Socket Mode connected to Slack")
                return

    def status(self) -> tuple[bool, str]:
        if self.handler.client.is_connected():
            return True, ""
        with self._lock:
            why = self._why
        connected_before = self.handler.client.current_session is not None
        return False, "Socket Mode lost its connection to Slack; reconnecting" if connected_before else why

    def close(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.handler.close()  # type: ignore[no-untyped-call]
