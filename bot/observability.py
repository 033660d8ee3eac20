"""Prometheus metrics for one bot, in a registry the bot owns (not prometheus_client's global one), so a
process - a test - can assemble several bots without "duplicated timeseries".

The adapters and use cases do not import this module: they take plain callables (`on_request`,
`on_push_retry`, `observe`, `on_result`) and `bot/service.py` hands them these methods. The core stays
pure. Label values are bounded sets (env names from the config, registry and token-service hosts, HTTP statuses,
fixed reasons), never free text.

    gitops_bot_promotions_total{action,env,result}        action promote|release|rollback|resume,
                                                          result committed|noop|failed
    gitops_bot_promotion_duration_seconds{action,env,result}  registry copy + commit + push, after approval
    gitops_bot_git_push_retries_total                     pushes rejected because the branch moved, re-planned
    gitops_bot_registry_request_duration_seconds{host,status}  one HTTP attempt; status "error" = no answer
    gitops_bot_flux_events_total{result,reason}           accepted: new|duplicate;
                                                          rejected: unauthorized|invalid|too_large|other
    gitops_bot_outbox_depth                               messages waiting for Slack (read at scrape time)
    gitops_bot_slack_rate_limited_total{method}           HTTP 429 answers from the Slack Web API
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.http_server import Request, Response

# A promotion is a registry copy plus a Git push (seconds); a long tail means a slow or contended remote.
PROMOTION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
REGISTRY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_FLUX_REJECTIONS = {401: "unauthorized", 400: "invalid", 413: "too_large"}
_SLACK_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.promotions = Counter(
            "gitops_bot_promotions", "Promotions, releases, rollbacks and resumes by environment and result.",
            ["action", "env", "result"], registry=r,
        )  # fmt: skip
        self.promotion_seconds = Histogram(
            "gitops_bot_promotion_duration_seconds",
            "Time from the go-ahead to the pushed commit (registry copy, commit, push and its retries).",
            ["action", "env", "result"], buckets=PROMOTION_BUCKETS, registry=r,
        )  # fmt: skip
        self.push_retries = Counter(
            "gitops_bot_git_push_retries", "Git pushes rejected because the branch moved; each was re-planned.",
            registry=r,
        )  # fmt: skip
        self.registry_seconds = Histogram(
            "gitops_bot_registry_request_duration_seconds",
            "One HTTP attempt to a container registry or its token service; status is the HTTP code or 'error'.",
            ["host", "status"], buckets=REGISTRY_BUCKETS, registry=r,
        )  # fmt: skip
        self.flux_events = Counter(
            "gitops_bot_flux_events", "Flux notification events posted to the receiver, by result and reason.",
            ["result", "reason"], registry=r,
        )  # fmt: skip
        self.outbox_depth = Gauge(
            "gitops_bot_outbox_depth", "Messages in the durable outbox waiting to be posted to Slack.", registry=r
        )
        self.slack_rate_limited = Counter(
            "gitops_bot_slack_rate_limited", "HTTP 429 answers from the Slack Web API, by API method.",
            ["method"], registry=r,
        )  # fmt: skip

    # --- hooks handed to the parts that do the work -----------------------------------------------------
    def observe_promotion(self, action: str, env: str, result: str, seconds: float) -> None:
        self.promotions.labels(action, env, result).inc()
        self.promotion_seconds.labels(action, env, result).observe(seconds)

    def count_scheduled(self, env: str, status: str, result: str) -> None:
        """A scheduled promotion ran (bot.promotion.schedule reports done|failed and the commit or the reason)."""
        outcome = "failed" if status == "failed" else "committed" if re.fullmatch(r"[0-9a-f]{40}", result) else "noop"
        self.promotions.labels("promote", env, outcome).inc()

    def push_retried(self) -> None:
        self.push_retries.inc()

    def registry_request(self, host: str, status: str, seconds: float) -> None:
        self.registry_seconds.labels(host, status).observe(seconds)

    def flux_result(self, result: str) -> None:
        """The receiver's `on_result`: "accepted", "duplicate" or "rejected:<HTTP status>"."""
        if result == "accepted":
            self.flux_events.labels("accepted", "new").inc()
        elif result == "duplicate":
            self.flux_events.labels("accepted", "duplicate").inc()
        else:
            status = result.partition(":")[2]
            reason = _FLUX_REJECTIONS.get(int(status), "other") if status.isdigit() else "other"
            self.flux_events.labels("rejected", reason).inc()

    def watch_outbox(self, depth: Callable[[], int]) -> None:
        self.outbox_depth.set_function(lambda: float(depth()))

    def count_slack_429s(self, client: Any) -> None:
        """Count 429s on a slack_sdk client: a retry handler placed first that never retries itself, so the
        handlers after it (Retry-After waits, or none) behave exactly as before."""
        client.retry_handlers.insert(0, _RateLimitCounter(self.slack_rate_limited))

    # --- exposition -------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        """GET /metrics: the Prometheus text format (0.0.4), or OpenMetrics when the scraper's Accept asks
        for it - the library's own negotiation, as its WSGI app does."""
        encode, content_type = choose_encoder(req.headers.get("accept", ""))
        return Response(200, encode(self.registry), (("Content-Type", content_type),))


class _RateLimitCounter(RetryHandler):
    def __init__(self, counter: Counter) -> None:
        super().__init__(max_retry_count=0)
        self._counter = counter

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            method = request.url.rsplit("/", 1)[-1].split("?", 1)[0]
            self._counter.labels(method if _SLACK_METHOD.fullmatch(method) else "other").inc()
        return False
