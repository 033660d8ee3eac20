"""`gitops-bot serve`: the process around the bot — logging, secrets, signals; `bot.wiring` assembles it.

HTTP mode serves `POST /slack/events` (signed requests) on the one listener that also answers
`/healthz`, `/readyz` and `/metrics` (Prometheus); Socket Mode (when SLACK_APP_TOKEN is set) connects
out to Slack and keeps the same listener for health probes (and, later, the Flux receiver).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import TextIO

from bot import log_format as logs
from bot import redaction
from bot import settings as settings_mod
from bot.log_format import LogFormat
from bot.settings import Settings
from bot.wiring import assemble, repo_secrets

log = logging.getLogger(__name__)
# SIGTERM → exit within this many seconds, below Kubernetes' default terminationGracePeriodSeconds (30).
SHUTDOWN_GRACE = 20.0


def install_logging(
    fmt: LogFormat, settings: Settings | None = None, *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """What `serve` does to logging: JSON (or text) lines on stderr, every secret it can know masked -
    the README's secret variables and their files, and a password written into the repository URL."""
    secrets = list(redaction.secrets_from_env(os.environ))
    if settings is not None:
        secrets += repo_secrets(settings)
    return logs.install(fmt, secrets, level=level, stream=stream)


def serve(config: str | None, listen: str, log_format: LogFormat = "json") -> int:
    settings = settings_mod.load(config)
    install_logging(log_format, settings)
    host, _, port = listen.rpartition(":")
    bot = assemble(
        settings,
        listen=(host or "0.0.0.0", int(port)),  # noqa: S104 - in-cluster service listens on the pod IP
        bot_token=settings_mod.secret("SLACK_BOT_TOKEN", required=True) or "",
        signing_secret=settings_mod.secret("SLACK_SIGNING_SECRET"),
        app_token=settings_mod.secret("SLACK_APP_TOKEN"),
        flux_token=settings_mod.secret("FLUX_WEBHOOK_TOKEN"),
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    bot.server.start()
    log.info("gitops-bot listening on %s", bot.server.url)
    done.wait()
    log.info("stopping: no new work; in-flight work gets %ss to finish", SHUTDOWN_GRACE)
    if bot.stop(grace=SHUTDOWN_GRACE):
        # A worker still inside a push would keep the interpreter from exiting (pool threads are joined at
        # exit) past Kubernetes' grace; its request stays `running`, and the next start settles it from Git.
        logging.shutdown()
        os._exit(0)
    return 0
