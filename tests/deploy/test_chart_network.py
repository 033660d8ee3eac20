"""Who reaches the bot: the Ingress (HTTP mode only), the NetworkPolicy, the ServiceMonitor, Flux's Provider."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from bot.settings import parse
from tests.deploy.manifests import NAMESPACE, ROOT, VARIANTS, Manifests, render


def test_ingress_publishes_only_slack_events(chart: helm.Chart) -> None:
    m = render(chart, VARIANTS["http-ingress"])
    spec = m.one("Ingress")["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"secretName": "bot-tls", "hosts": ["bot.example.org"]}]
    (rule,) = spec["rules"]
    assert rule["host"] == "bot.example.org"
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/slack/events", "Exact")
    assert path["backend"]["service"] == {"name": m.one("Service")["metadata"]["name"], "port": {"name": "http"}}


def _peers(m: Manifests) -> list[dict[str, Any]]:
    (rule,) = m.one("NetworkPolicy")["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    peers: list[dict[str, Any]] = rule["from"]
    return peers


def _namespaces(peers: list[dict[str, Any]]) -> list[str]:
    return [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in peers]


def test_network_policy_admits_flux_and_only_what_is_enabled(chart: helm.Chart) -> None:
    default = render(chart)
    policy = default.one("NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress"]  # egress open by default: Git, registries, Slack are outside
    assert _peers(default) == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "flux-system"}},
            "podSelector": {"matchLabels": {"app": "notification-controller"}},
        }
    ]
    assert _namespaces(_peers(render(chart, VARIANTS["http-ingress"]))) == ["flux-system", "ingress-nginx"]
    assert _namespaces(_peers(render(chart, VARIANTS["servicemonitor"]))) == ["flux-system", "monitoring"]


def test_network_policy_without_peers_admits_no_one(chart: helm.Chart) -> None:
    spec = render(chart, {"networkPolicy": {"flux": {"namespace": ""}}}).one("NetworkPolicy")["spec"]
    # `ingress: []` denies; a rule without `from` would have admitted every source.
    assert spec["ingress"] == []


def test_network_policy_can_restrict_egress(chart: helm.Chart) -> None:
    https = {"to": [{"ipBlock": {"cidr": "140.82.112.0/20"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
    spec = render(chart, {"networkPolicy": {"egress": {"restrict": True, "rules": [https]}}}).one("NetworkPolicy")[
        "spec"
    ]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    dns, allowed = spec["egress"]
    assert {p["port"] for p in dns["ports"]} == {53} and "to" not in dns
    assert allowed == https


def test_service_monitor_scrapes_metrics_of_this_service(chart: helm.Chart) -> None:
    m = render(chart, VARIANTS["servicemonitor"])
    monitor = m.one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    service_labels = m.one("Service")["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service_labels.items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}


def test_service_is_where_the_flux_provider_posts(chart: helm.Chart) -> None:
    provider = yaml.safe_load((ROOT / "config" / "flux" / "provider.yaml").read_text(encoding="utf-8"))
    match = re.fullmatch(r"http://([^.]+)\.([^.]+)\.svc\.cluster\.local:(\d+)(/.*)", provider["spec"]["address"])
    assert match is not None
    service, namespace, port, path = match.groups()
    m = render(chart, name="gitops-bot", namespace=namespace)
    assert m.one("Service")["metadata"]["name"] == service
    assert m.one("Service")["spec"]["ports"][0]["port"] == int(port)
    config = yaml.safe_load(m.one("ConfigMap")["data"]["bot.yaml"])
    assert parse(config, base_dir=Path("/etc/gitops-bot")).flux.path == path
