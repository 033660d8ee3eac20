"""`gitops-bot serve`: assemble the long-running bot from settings and secrets, and run it.

HTTP mode serves `POST /slack/events` (signed requests) on the one listener that also answers
`/healthz`, `/readyz` and `/metrics` (Prometheus); Socket Mode (when SLACK_APP_TOKEN is set) connects
out to Slack and keeps the same listener for health probes (and, later, the Flux receiver).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot import log_format as logs
from bot import redaction, wiring
from bot import settings as settings_mod
from bot.adapters.git_credentials import split_password
from bot.adapters.state_store import StateStore
from bot.errors import BotError
from bot.flux.delivery import Deliverer
from bot.flux.receiver import FluxReceiver
from bot.http_server import Response, Router, Server
from bot.jobs import build_scheduler, standard_jobs
from bot.log_format import LogFormat
from bot.observability import Metrics
from bot.promotion.schedule import Scheduled
from bot.settings import Settings
from bot.slack.app import Workers, build_app, web_client
from bot.slack.authz import Authorizer, SlackDirectory
from bot.slack.timed import TimedCommands
from bot.slack.workflow import Workflow

log = logging.getLogger(__name__)


@dataclass
class Readiness:
    """Named checks, each (ok, reason), updated by whoever owns that part."""

    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, name: str, ok: bool, reason: str = "") -> None:
        with self.lock:
            self.checks[name] = (ok, reason)

    def response(self) -> Response:
        with self.lock:
            checks = dict(self.checks)
        ok = bool(checks) and all(v[0] for v in checks.values())
        body = {name: ("ok" if good else f"failing: {why}") for name, (good, why) in checks.items()}
        return Response.json(200 if ok else 503, {"ready": ok, "checks": body})


@dataclass
class Bot:
    settings: Settings
    server: Server
    workers: Workers
    readiness: Readiness
    store: StateStore
    ctx: Any = None
    deliverer: Deliverer | None = None
    stop_hooks: list[Callable[[], None]] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)

    def stop(self) -> None:
        for hook in self.stop_hooks:
            hook()
        self.server.stop()
        self.workers.shutdown()


def assemble(
    settings: Settings,
    *,
    listen: tuple[str, int] = ("127.0.0.1", 0),
    bot_token: str,
    signing_secret: str | None,
    app_token: str | None = None,
    flux_token: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Bot:
    metrics = Metrics()  # this bot's own registry: a process (a test) may assemble several bots
    ctx = wiring.context(settings, metrics=metrics)
    store = StateStore(wiring.state_path(settings, "state.db"), clock=clock)
    metrics.watch_outbox(store.depth)
    client = web_client(bot_token, settings.slack_api_url)
    metrics.count_slack_429s(client)
    authz = Authorizer({e: s.promoters for e, s in settings.environments.items()}, SlackDirectory(client))
    workflow = Workflow(
        ctx, settings, store=store, authz=authz, client=client, clock=clock, observe=metrics.observe_promotion
    )
    workers = Workers()
    timed = TimedCommands(ctx, settings, store=store, authz=authz, client=client, clock=clock)
    app = build_app(
        workflow, client, workers, signing_secret=signing_secret, socket_mode=app_token is not None, timed=timed
    )
    readiness = Readiness()
    router = Router()
    router.route("GET", "/healthz", lambda _r: Response.text(200, "ok"))
    router.route("GET", "/readyz", lambda _r: readiness.response())
    router.route("GET", "/metrics", metrics.handle)
    if app_token is None:
        router.mount("/slack/events", SlackRequestHandler(app))
    deliverer = _outbox(settings, router, store, ctx, bot_token, clock, flux_token, metrics=metrics)
    server = Server(router, host=listen[0], port=listen[1])
    bot = Bot(settings, server, workers, readiness, store, ctx, deliverer, metrics=metrics)
    deliverer.start()
    bot.stop_hooks.append(deliverer.stop)
    jobs = standard_jobs(
        ctx,
        store,
        deliverer if flux_token else None,
        lambda env: settings.env(env).channel or None,
        clock,
        _counted(metrics, timed.report),
        settings.flux.git_poll,
    )
    scheduler = build_scheduler(jobs)
    scheduler.start()
    readiness.set("scheduler", scheduler.running)
    bot.stop_hooks.append(lambda: scheduler.shutdown(wait=False))
    bot.stop_hooks.append(store.close)
    _check_slack(client, readiness)
    _check_git(ctx, readiness)
    _recover(workflow)
    if app_token is not None:
        handler = SocketModeHandler(app, app_token)
        handler.connect()  # type: ignore[no-untyped-call]  # non-blocking: HTTP keeps serving probes
        bot.stop_hooks.append(handler.close)
    return bot


def _outbox(  # noqa: PLR0917 - private assembly step of `assemble`, called once
    settings: Settings,
    router: Router,
    store: StateStore,
    ctx: Any,
    bot_token: str,
    clock: Callable[[], float],
    token: str | None,
    *,
    metrics: Metrics,
) -> Deliverer:
    """The deliverer that empties the outbox (always: statuses Slack refused wait there too), and the Flux
    receiver feeding it, mounted only with FLUX_WEBHOOK_TOKEN."""

    def env_channel(name: str) -> str | None:
        return settings.env(name).channel or None if name in settings.pipeline else None

    if token:
        receiver = FluxReceiver(
            store,
            hmac_key=token.encode(),
            bearer=None,
            routes=settings.flux.routes,
            default_channel=env_channel,
            dedupe_window=settings.flux.dedupe_window,
            on_result=metrics.flux_result,
        )
        router.route("POST", settings.flux.path, receiver.handle)
    else:
        log.info("FLUX_WEBHOOK_TOKEN is not set: the Flux receiver is off")
    # Its own client without the blocking 429 retry handler: the deliverer schedules retries itself.
    client = WebClient(token=bot_token, base_url=settings.slack_api_url, timeout=10)
    metrics.count_slack_429s(client)
    return Deliverer(store, client, ctx.repo, clock=clock, reconcile_timeout=settings.flux.reconcile_timeout,
                     env_channel=env_channel, rollback_button=lambda env: env == settings.pipeline[-1],
                     watch=bool(token))  # fmt: skip


def _recover(workflow: Workflow) -> None:
    """Settle what a killed predecessor left running; a Git outage now must not keep the bot from starting."""
    try:
        if found := workflow.recover_interrupted():
            log.warning("settled %d request(s) interrupted by the last stop", found)
    except BotError as err:
        log.warning("could not settle interrupted requests: %s", err.message)


def _counted(metrics: Metrics, report: Callable[[Scheduled], None]) -> Callable[[Scheduled], None]:
    def run(item: Scheduled) -> None:
        metrics.count_scheduled(item.env, item.status, item.result)
        report(item)

    return run


def _check_slack(client: Any, readiness: Readiness) -> None:
    try:
        client.auth_test()
        readiness.set("slack", True)
    except Exception as err:
        readiness.set("slack", False, f"auth.test failed ({type(err).__name__})")


def _check_git(ctx: Any, readiness: Readiness) -> None:
    try:
        ctx.repo.sync()
        readiness.set("git", True)
    except BotError as err:
        readiness.set("git", False, err.message)


def install_logging(
    fmt: LogFormat, settings: Settings | None = None, *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """What `serve` does to logging: JSON (or text) lines on stderr, every secret it can know masked -
    the README's secret variables and their files, and a password written into the repository URL."""
    secrets = list(redaction.secrets_from_env(os.environ))
    if settings is not None:
        secrets += [s for s in (split_password(settings.repo.url)[1],) if s]
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
    bot.stop()
    return 0
