"""The composition root: the one place that builds the application — adapters from settings, the
actions registry, and for `serve` the Slack app, the Flux receiver, the outbox and the scheduler.
`serve`, the CLI and the demo all assemble through here; it is the only module that imports every layer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.actions import registry as action_registry
from bot.actions.base import Actions
from bot.adapters.git_credentials import split_password
from bot.adapters.git_repo import GitCredentials, GitRepo
from bot.adapters.oci_layout import OciLayoutRegistry
from bot.adapters.registry import RegistryClient
from bot.adapters.registry_auth import RequestObserver
from bot.adapters.state_store import StateStore
from bot.core.imageref import locate
from bot.errors import BotError
from bot.flux.applied import AppliedRecorder
from bot.flux.events import FluxEvent
from bot.flux.receiver import FluxReceiver
from bot.http_server import Request, Response, Router, Server
from bot.jobs import build_scheduler, standard_jobs
from bot.observability import Metrics
from bot.promotion.fleet_places import FleetPlaces
from bot.promotion.freeze import Window
from bot.promotion.ports import Context, Env, Registry
from bot.promotion.registry_cache import CachedRegistries
from bot.promotion.schedule import Scheduled
from bot.readiness import Readiness
from bot.settings import RegistrySettings, Settings
from bot.slack import deferred
from bot.slack.app import Workers, build_app, web_client
from bot.slack.authz import Authorizer, SlackDirectory
from bot.slack.notices import new_build_payload
from bot.slack.outbox import Deliverer
from bot.slack.port import SlackPort, SlackWeb
from bot.slack.queries import Queries
from bot.slack.recovery import Recovery
from bot.slack.request_flow import RequestFlow
from bot.slack.socket import SocketLink
from bot.slack.store import RequestRecord
from bot.slack.timed import TimedCommands, start_scheduled

log = logging.getLogger(__name__)


class RegistryRouter:
    """Image name → the backend for its host (HTTP client or on-disk OCI layout), one per host.

    Hosts are resolved as Flux resolves them (`locate`), and the settings are keyed the same way. A host's
    `endpoint` sends its requests to another server (a mirror, a local registry), with that server's
    credentials: the image's own host's credentials never leave for a server they were not issued by.
    """

    def __init__(
        self,
        registries: Mapping[str, RegistrySettings],
        env: Mapping[str, str] | None = None,
        *,
        on_request: RequestObserver | None = None,
    ) -> None:
        self._settings = registries
        self._env = env if env is not None else os.environ
        self._on_request = on_request
        self._backends: dict[str, Registry] = {}
        self._lock = threading.Lock()

    def for_image(self, image: str) -> tuple[Registry, str]:
        host, repo = locate(image)
        with self._lock:
            backend = self._backends.get(host)
            if backend is None:
                conf = self._settings.get(host, RegistrySettings())
                if conf.layout is not None:
                    backend = OciLayoutRegistry(conf.layout)
                else:
                    backend = RegistryClient.for_host(
                        conf.endpoint or host,
                        insecure=conf.insecure,
                        env=self._env,
                        on_request=self._on_request,
                        timeout=conf.timeout,
                    )
                self._backends[host] = backend
        return backend, repo


def git_repo(settings: Settings, *, on_push_retry: Callable[[], None] | None = None) -> GitRepo:
    return GitRepo(
        settings.repo.url,
        settings.repo.branch,
        settings.state_dir / "repo",
        author_name=settings.repo.author.name,
        author_email=settings.repo.author.email,
        credentials=GitCredentials.from_env(),
        timeout=settings.repo.timeout,
        on_push_retry=on_push_retry,
    )


def context(
    settings: Settings,
    *,
    clock: Callable[[], int] | None = None,
    cache_ttl: float = 30.0,
    metrics: Metrics | None = None,
) -> Context:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    registries = RegistryRouter(settings.registries, on_request=metrics.registry_request if metrics else None)
    return Context(
        repo=git_repo(settings, on_push_retry=metrics.push_retried if metrics else None),
        registries=CachedRegistries(registries, ttl=cache_ttl) if cache_ttl > 0 else registries,
        pipeline=settings.pipeline,
        repo_path=settings.repo.path,
        branch=settings.repo.branch,
        objects_branch=settings.repo.objects_branch,
        substitutions=dict(settings.substitutions),
        placement=settings.placement,
        environments={
            name: Env(
                require_deployed_in_source=e.require_deployed_in_source,
                rollback=e.rollback,
                freezes=tuple(Window(w.cron, w.duration, w.reason) for w in e.freezes),
                break_glass=e.break_glass,
            )
            for name, e in settings.environments.items()
        },
        clock=clock,
    )


def state_path(settings: Settings, name: str) -> Path:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return settings.state_dir / name


def layout_registry(path: Path) -> OciLayoutRegistry:
    """A registry kept as an OCI image layout on disk (the demo's, and `registries.<host>.layout`)."""
    return OciLayoutRegistry(path)


def repo_secrets(settings: Settings) -> list[str]:
    """Secrets the config itself carries: a password written into the repository URL (logs mask it)."""
    return [s for s in (split_password(settings.repo.url)[1],) if s]


def state_store(settings: Settings, clock: Callable[[], float] = time.time) -> StateStore:
    return StateStore(state_path(settings, "state.db"), clock=clock)


def actions(store: StateStore | None = None) -> Actions:
    """Every kind of request the bot knows, registered by kind; scheduling needs the state store."""
    return action_registry.standard(store)





@dataclass
class Bot:
    settings: Settings
    server: Server
    workers: Workers
    readiness: Readiness
    store: StateStore
    ctx: Context | None = None
    deliverer: Deliverer | None = None
    stop_hooks: list[Callable[[], None]] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    before_drain: list[Callable[[], None]] = field(default_factory=list)  # stop taking work (the scheduler)

    def stop(self, grace: float | None = None) -> int:
        """Stop taking work (HTTP, then the scheduler), let in-flight work finish for up to `grace` seconds,
        then close the rest, the state store last: a push that lands during the grace is recorded as it
        should be. Returns how many pieces of work were still running; those requests stay `running` in the
        store, and the next start settles them from Git (bot/slack/recovery.py)."""
        self.server.stop()
        for hook in self.before_drain:
            hook()
        unfinished = self.workers.shutdown(timeout=grace)
        for hook in self.stop_hooks:
            hook()
        if unfinished:
            log.warning("%d piece(s) of work still running at shutdown; the next start settles them", unfinished)
        return unfinished


def assemble(
    settings: Settings,
    *,
    listen: tuple[str, int] = ("127.0.0.1", 0),
    bot_token: str,
    signing_secret: str | None,
    app_token: str | None = None,
    flux_token: str | None = None,
    clock: Callable[[], float] = time.time,
    socket_ping: float = 10.0,
    socket_retry: float = 30.0,
) -> Bot:
    metrics = Metrics()  # this bot's own registry: a process (a test) may assemble several bots
    ctx = context(settings, metrics=metrics)
    store = state_store(settings, clock)
    metrics.watch_outbox(store.depth)
    client = web_client(bot_token, settings.slack_api_url)
    metrics.count_slack_429s(client)
    authz = Authorizer({e: s.promoters for e, s in settings.environments.items()}, SlackDirectory(client))
    slack = SlackWeb(client)
    registry = actions(store)
    flow = RequestFlow(ctx, settings, registry, store=store, authz=authz, slack=slack, clock=clock,
                       observe=metrics.observe_promotion)  # fmt: skip
    workers = Workers()
    timed = TimedCommands(ctx, settings, registry, store=store, authz=authz, slack=slack)
    app = build_app(flow, Queries(ctx, clock, store), timed, client, workers, signing_secret=signing_secret,
                    socket_mode=app_token is not None)  # fmt: skip
    readiness = Readiness()
    router = Router()
    router.route("GET", "/healthz", lambda _r: Response.text(200, "ok"))
    router.route("GET", "/readyz", lambda _r: readiness.response())
    router.route("GET", "/metrics", metrics.handle)
    if app_token is None:
        router.mount("/slack/events", SlackRequestHandler(app), guard=slack_guard)
    deliverer = _outbox(settings, router, store, ctx, bot_token, clock, flux_token, metrics=metrics, story=flow.story)
    server = Server(router, host=listen[0], port=listen[1])
    bot = Bot(settings, server, workers, readiness, store, ctx, deliverer, metrics=metrics)
    deliverer.start()
    bot.stop_hooks.append(deliverer.stop)
    jobs = standard_jobs(
        ctx,
        store,
        channel_of=lambda env: settings.env(env).channel or None,
        render_new_build=new_build_payload,
        deliverer=deliverer if flux_token else None,
        clock=clock,
        report=_counted(metrics, timed.report),
        git_poll=settings.flux.git_poll,
        start_scheduled=lambda item: start_scheduled(flow, item),
        expired=lambda reqs: deferred.announce_expired(flow, cast(list[RequestRecord], reqs)),
    )
    recovery = Recovery(flow, ctx)
    jobs["interrupted-requests"] = (recovery.recheck, 5.0)
    scheduler = build_scheduler(jobs)
    scheduler.start()
    readiness.register("scheduler", lambda: (scheduler.running, "not running"))
    bot.before_drain.append(lambda: scheduler.shutdown(wait=False))
    bot.stop_hooks.append(store.close)
    _check_slack(slack, readiness)
    readiness.register("git", lambda: _git_reachable(ctx))
    readiness.register("state", lambda: _store_writable(store))
    readiness.start()
    bot.before_drain.append(readiness.stop)
    _recover(recovery)
    if app_token is not None:
        # A refused apps.connections.open keeps the bot up and says so on /readyz, as HTTP mode does.
        link = SocketLink(app, app_token, ping_interval=socket_ping, retry_every=socket_retry)
        readiness.probe("slack_socket", link.status)
        link.start()
        bot.before_drain.append(link.close)
    return bot


def _outbox(  # noqa: PLR0917 - private assembly step of `assemble`, called once
    settings: Settings,
    router: Router,
    store: StateStore,
    ctx: Context,
    bot_token: str,
    clock: Callable[[], float],
    token: str | None,
    *,
    metrics: Metrics,
    story: Callable[[str], tuple[str, list[str]] | None],
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
    fleet = FleetPlaces(ctx)

    def place(event: FluxEvent) -> str | None:
        o = event.involved
        return fleet.env_of(o.kind, o.namespace, o.name, event.meta("summary") or "")

    return Deliverer(store, SlackWeb(client), ctx.repo, clock=clock, reconcile_timeout=settings.flux.reconcile_timeout,
                     env_channel=env_channel, rollback_button=lambda env: env == settings.pipeline[-1],
                     watch=bool(token), story=story, place=place,
                     unrouted_channel=settings.flux.default_channel,
                     observe=AppliedRecorder(store, place))  # fmt: skip


def _recover(recovery: Recovery) -> None:
    """Settle what a killed predecessor left running; a Git outage now must not keep the bot from starting."""
    try:
        if found := recovery.at_start():
            log.warning("found %d request(s) interrupted by the last stop", found)
    except BotError as err:
        log.warning("could not settle interrupted requests: %s", err.message)


def _counted(metrics: Metrics, report: Callable[[Scheduled], None]) -> Callable[[Scheduled], None]:
    def run(item: Scheduled) -> None:
        metrics.count_scheduled(item.env, item.status, item.result)
        report(item)

    return run


def _check_slack(slack: SlackPort, readiness: Readiness) -> None:
    try:
        slack.call("auth_test", {})
        readiness.set("slack", True)
    except BotError as err:
        readiness.set("slack", False, f"auth.test failed ({type(err.__cause__ or err).__name__})")


def slack_guard(req: Request) -> Response | None:
    """What Bolt would turn into a 500 and a traceback per request: a timestamp that is not a number, or a
    body that is not UTF-8. Slack sends neither, so they are refused as unsigned (401) or bad (400), with
    one short log line."""
    if not req.headers.get("x-slack-request-timestamp", "").isdigit():
        log.info("refused a Slack request: X-Slack-Request-Timestamp missing or not a number")
        return Response.json(401, {"error": "invalid request"})
    try:
        req.body.decode("utf-8")
    except UnicodeDecodeError:
        log.info("refused a Slack request: the body is not UTF-8")
        return Response.json(400, {"error": "invalid request"})
    return None


def _git_reachable(ctx: Context) -> tuple[bool, str]:
    try:
        if isinstance(ctx.repo, GitRepo):  # (always, in serve) ls-remote: cheap, takes no clone lock
            ctx.repo.reachable()
        else:
            ctx.repo.sync()
    except BotError as err:
        return False, err.message
    return True, ""


def _store_writable(store: StateStore) -> tuple[bool, str]:
    try:
        store.put("readiness.probe", "ok")
    except BotError as err:
        return False, err.message
    return True, ""
