"""helm/gitops-bot: lint it and render it with Helm's Go SDK, then check the objects a cluster would get."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from bot.adapters.registry_auth import env_prefix
from bot.settings import parse
from tests.deploy.manifests import CHART, NAMESPACE, ROOT, SECRET_SHAPES, VARIANTS, Manifests, render

BASE_KINDS = {"ServiceAccount", "ConfigMap", "Service", "Deployment", "NetworkPolicy"}
EXPECTED_KINDS = {
    "default": BASE_KINDS | {"PersistentVolumeClaim"},
    "http-ingress": BASE_KINDS | {"PersistentVolumeClaim", "Ingress"},
    "servicemonitor": BASE_KINDS | {"PersistentVolumeClaim", "ServiceMonitor"},
    "no-persistence": BASE_KINDS,
    "ssh-registries": BASE_KINDS | {"PersistentVolumeClaim"},
}
# Env entries that may carry a literal value: paths and the config location, never a secret.
PLAIN_ENV = {"GITOPS_BOT_CONFIG", "GIT_SSH_KEY_FILE", "GIT_SSH_KNOWN_HOSTS_FILE"}


@pytest.fixture(params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, chart: helm.Chart) -> tuple[str, Manifests]:
    name: str = request.param
    return name, render(chart, VARIANTS[name])


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_lint_finds_no_errors_or_warnings(name: str) -> None:
    report = helm.lint(CHART, VARIANTS[name], strict=True, namespace=NAMESPACE, kube_version="v1.30.0")
    assert report["errors"] == []
    # Severity 2 = warning, 3 = error; 1 is the "icon is recommended" kind of advice.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
    assert report["total_charts_linted"] == 1


def test_chart_metadata_follows_the_package(chart: helm.Chart) -> None:
    meta = chart.metadata
    assert meta["apiVersion"] == "v2" and meta["name"] == "gitops-bot"
    # The default image tag is appVersion: it must be the version the Dockerfile builds.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["appVersion"] == project["version"]


def test_objects_per_variant(variant: tuple[str, Manifests]) -> None:
    name, manifests = variant
    assert sorted(manifests.kinds()) == sorted(EXPECTED_KINDS[name])
    assert "Secret" not in manifests.kinds()


def test_exactly_one_pod_replaced_by_recreate(variant: tuple[str, Manifests]) -> None:
    spec = variant[1].one("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_pod_and_container_are_locked_down(variant: tuple[str, Manifests]) -> None:
    m = variant[1]
    pod = m.pod["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001 and pod["fsGroup"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = m.container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert m.pod["spec"]["automountServiceAccountToken"] is False


def test_probes_hit_health_and_readiness_on_the_http_port(variant: tuple[str, Manifests]) -> None:
    m = variant[1]
    c = m.container
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["args"] == ["-c", "/etc/gitops-bot/bot.yaml", "serve", "--listen", "0.0.0.0:8080"]
    (port,) = m.one("Service")["spec"]["ports"]
    assert port["port"] == 8080 and port["targetPort"] == "http"


def test_writable_places_are_volumes(variant: tuple[str, Manifests]) -> None:
    name, m = variant
    assert m.volume("tmp")["emptyDir"]["sizeLimit"] == "256Mi"
    assert m.mount("/tmp")["name"] == "tmp"
    assert m.mount("/var/lib/gitops-bot")["name"] == "state"
    assert m.mount("/etc/gitops-bot") == {"name": "config", "mountPath": "/etc/gitops-bot", "readOnly": True}
    assert m.volume("config")["configMap"]["name"] == m.one("ConfigMap")["metadata"]["name"]
    state = m.volume("state")
    if name == "no-persistence":
        assert "PersistentVolumeClaim" not in m.kinds()
        assert state["emptyDir"] == {"sizeLimit": "2Gi"}
    else:
        pvc = m.one("PersistentVolumeClaim")
        assert state["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
        assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert "storageClassName" not in pvc["spec"]  # the cluster default


@pytest.mark.parametrize(
    ("persistence", "claim", "storage_class"),
    [
        ({"storageClass": "fast-ssd", "size": "5Gi"}, "gitops-bot-state", "fast-ssd"),
        ({"storageClass": "-"}, "gitops-bot-state", ""),
        ({"existingClaim": "bot-state-2024"}, "bot-state-2024", None),
    ],
)
def test_persistence_settings(
    chart: helm.Chart, persistence: dict[str, Any], claim: str, storage_class: str | None
) -> None:
    m = render(chart, {"persistence": persistence})
    assert m.volume("state")["persistentVolumeClaim"]["claimName"] == claim
    if storage_class is None:
        assert "PersistentVolumeClaim" not in m.kinds()
    else:
        pvc = m.one("PersistentVolumeClaim")["spec"]
        assert pvc["storageClassName"] == storage_class
        assert pvc["resources"]["requests"]["storage"] == persistence.get("size", "2Gi")


def test_secrets_are_only_referenced(variant: tuple[str, Manifests]) -> None:
    name, m = variant
    secret = VARIANTS[name].get("existingSecret", "gitops-bot")
    assert "envFrom" not in m.container
    for env_name, entry in m.env().items():
        if env_name in PLAIN_ENV:
            assert str(entry["value"]).startswith(("/etc/gitops-bot/", "/var/run/secrets/gitops-bot/"))
            continue
        assert "value" not in entry, f"{env_name} carries a literal value"
        ref = entry["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret and ref["key"] == env_name
    assert SECRET_SHAPES.search(m.text) is None


@pytest.mark.parametrize("mode", ["socket", "http"])
def test_required_secret_keys_follow_the_slack_mode(chart: helm.Chart, mode: str) -> None:
    env = render(chart, {"slack": {"mode": mode}}).env()

    def optional(name: str) -> bool:
        flag: bool = env[name]["valueFrom"]["secretKeyRef"]["optional"]
        return flag

    assert optional("SLACK_BOT_TOKEN") is False
    if mode == "socket":
        assert optional("SLACK_APP_TOKEN") is False and "SLACK_SIGNING_SECRET" not in env
    else:
        # The bot picks Socket Mode whenever SLACK_APP_TOKEN is set, so HTTP mode must not map it.
        assert optional("SLACK_SIGNING_SECRET") is False and "SLACK_APP_TOKEN" not in env
    assert all(optional(n) for n in ("GIT_TOKEN", "GIT_USERNAME", "FLUX_WEBHOOK_TOKEN"))


def test_registry_and_ssh_credentials_use_the_bots_names(chart: helm.Chart) -> None:
    values = VARIANTS["ssh-registries"]
    m = render(chart, values)
    env = m.env()
    for host in values["registries"]:
        for suffix in ("_USERNAME", "_PASSWORD"):
            assert env[env_prefix(host) + suffix]["valueFrom"]["secretKeyRef"]["optional"] is True
    key_file, hosts_file = env["GIT_SSH_KEY_FILE"]["value"], env["GIT_SSH_KNOWN_HOSTS_FILE"]["value"]
    ssh = m.volume("ssh")["secret"]
    assert ssh["secretName"] == "bot-credentials" and ssh["defaultMode"] == 0o440
    mount = m.mount(str(Path(key_file).parent))
    assert mount["name"] == "ssh" and mount["readOnly"] is True
    items = {i["path"]: i["key"] for i in ssh["items"]}
    assert items == {Path(key_file).name: "GIT_SSH_KEY", Path(hosts_file).name: "GIT_SSH_KNOWN_HOSTS"}


def test_configmap_holds_the_config_the_bot_accepts(chart: helm.Chart) -> None:
    custom: dict[str, Any] = {
        "repo": {"url": "ssh://git@git.example.org/fleet.git", "branch": "release"},
        "pipeline": ["staging", "production"],
        "environments": {"staging": {}, "production": {"approvals": 2, "channel": "#prod"}},
    }
    m = render(chart, {"config": custom})
    text = m.one("ConfigMap")["data"]["bot.yaml"]
    loaded = yaml.safe_load(text)
    assert loaded["state_dir"] == "/var/lib/gitops-bot"
    # Helm merges user config over the defaults: what the user gave must be there as given.
    assert loaded["repo"]["url"] == custom["repo"]["url"] and loaded["repo"]["branch"] == "release"
    assert loaded["pipeline"] == ["staging", "production"]
    # Defaults must not leak extra environments into a user's pipeline (the bot would refuse them).
    assert loaded["environments"] == custom["environments"]
    settings = parse(loaded, base_dir=Path("/etc/gitops-bot"), source="configmap")
    assert settings.state_dir == Path("/var/lib/gitops-bot")
    assert settings.repo.url == "ssh://git@git.example.org/fleet.git"
    assert settings.env("production").approvals == 2


def test_default_config_is_valid_for_the_bot(chart: helm.Chart) -> None:
    loaded = yaml.safe_load(render(chart).one("ConfigMap")["data"]["bot.yaml"])
    settings = parse(loaded, base_dir=Path("/etc/gitops-bot"), source="configmap")
    assert settings.pipeline == ("develop", "staging", "production")
    assert settings.flux.path == "/flux/events"


def test_a_config_change_rolls_the_pod(chart: helm.Chart) -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotation: str = render(chart, values).pod["metadata"]["annotations"]["checksum/config"]
        return annotation

    assert checksum({}) == checksum({})
    assert checksum({}) != checksum({"config": {"repo": {"branch": "other"}}})


def test_selectors_pick_the_bots_pod(variant: tuple[str, Manifests]) -> None:
    m = variant[1]
    pod_labels = m.pod["metadata"]["labels"].items()
    assert m.one("Deployment")["spec"]["selector"]["matchLabels"].items() <= pod_labels
    assert m.one("Service")["spec"]["selector"].items() <= pod_labels
    assert m.one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"].items() <= pod_labels


def test_image_reference(chart: helm.Chart) -> None:
    assert render(chart).container["image"] == "ghcr.io/acme/gitops-promotion-bot:0.1.0"
    digest = "sha256:" + "ab" * 32
    assert render(chart, {"image": {"tag": "9.9.9", "digest": digest}}).container["image"] == (
        f"ghcr.io/acme/gitops-promotion-bot@{digest}"
    )


def test_notes_name_the_secret_and_the_mode(chart: helm.Chart) -> None:
    socket = render(chart).notes
    assert 'Secret "gitops-bot"' in socket and "SLACK_APP_TOKEN" in socket and "Socket Mode" in socket
    http = render(chart, VARIANTS["http-ingress"]).notes
    assert "https://bot.example.org/slack/events" in http and "SLACK_SIGNING_SECRET" in http
    assert "persistence is disabled" in render(chart, VARIANTS["no-persistence"]).notes
