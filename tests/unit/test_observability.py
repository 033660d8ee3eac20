"""Metrics: hooks map to bounded label values; every bot has its own registry."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.http_server import Request
from bot.observability import Metrics

FAMILIES = {
    "gitops_bot_promotions": "counter",
    "gitops_bot_promotion_duration_seconds": "histogram",
    "gitops_bot_git_push_retries": "counter",
    "gitops_bot_registry_request_duration_seconds": "histogram",
    "gitops_bot_flux_events": "counter",
    "gitops_bot_outbox_depth": "gauge",
    "gitops_bot_slack_rate_limited": "counter",
}


def scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = metrics.handle(Request("GET", "/metrics", {}, b""))
    assert resp.status == 200
    assert dict(resp.headers)["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(resp.body.decode())
        for s in fam.samples
    }


def test_every_family_is_exposed_before_anything_happened() -> None:
    metrics = Metrics()
    metrics.watch_outbox(lambda: 7)
    resp = metrics.handle(Request("GET", "/metrics", {}, b""))
    found = {f.name: f.type for f in text_string_to_metric_families(resp.body.decode())}
    assert {name: found.get(name) for name in FAMILIES} == FAMILIES
    assert scrape(metrics)[("gitops_bot_outbox_depth", ())] == 7.0


@pytest.mark.parametrize(
    ("result", "labels"),
    [
        ("accepted", (("reason", "new"), ("result", "accepted"))),
        ("duplicate", (("reason", "duplicate"), ("result", "accepted"))),
        ("rejected:401", (("reason", "unauthorized"), ("result", "rejected"))),
        ("rejected:400", (("reason", "invalid"), ("result", "rejected"))),
        ("rejected:413", (("reason", "too_large"), ("result", "rejected"))),
        ("rejected:418", (("reason", "other"), ("result", "rejected"))),
        ("rejected:free text from a request", (("reason", "other"), ("result", "rejected"))),
    ],
)
def test_flux_results_become_bounded_labels(result: str, labels: tuple[tuple[str, str], ...]) -> None:
    metrics = Metrics()
    metrics.flux_result(result)
    values = {k: v for k, v in scrape(metrics).items() if k[0] == "gitops_bot_flux_events_total"}
    assert values == {("gitops_bot_flux_events_total", labels): 1.0}


@pytest.mark.parametrize(
    ("status", "result", "outcome"),
    [
        ("done", "0123456789abcdef0123456789abcdef01234567", "committed"),
        ("done", "production already runs it", "noop"),
        ("failed", "The registry refused", "failed"),
    ],
)
def test_scheduled_promotions_are_counted(status: str, result: str, outcome: str) -> None:
    metrics = Metrics()
    metrics.count_scheduled("production", status, result)
    key = ("gitops_bot_promotions_total", (("action", "promote"), ("env", "production"), ("result", outcome)))
    assert scrape(metrics)[key] == 1.0


def test_promotion_registry_and_push_hooks() -> None:
    metrics = Metrics()
    metrics.observe_promotion("rollback", "staging", "committed", 1.5)
    metrics.registry_request("127.0.0.1:5000", "200", 0.02)
    metrics.registry_request("127.0.0.1:5000", "error", 3.0)
    metrics.push_retried()
    values = scrape(metrics)
    labels = (("action", "rollback"), ("env", "staging"), ("result", "committed"))
    assert values[("gitops_bot_promotions_total", labels)] == 1.0
    assert values[("gitops_bot_promotion_duration_seconds_sum", labels)] == 1.5
    latency = "gitops_bot_registry_request_duration_seconds_count"
    assert values[(latency, (("host", "127.0.0.1:5000"), ("status", "200")))] == 1
    assert values[(latency, (("host", "127.0.0.1:5000"), ("status", "error")))] == 1
    assert values[("gitops_bot_git_push_retries_total", ())] == 1.0


def test_two_bots_have_separate_registries() -> None:
    a, b = Metrics(), Metrics()  # the global registry would refuse the second set of names
    a.push_retried()
    assert scrape(a)[("gitops_bot_git_push_retries_total", ())] == 1.0
    assert scrape(b)[("gitops_bot_git_push_retries_total", ())] == 0.0
