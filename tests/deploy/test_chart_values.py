"""values.yaml against values.schema.json: checked by jsonschema and by Helm itself, which must agree."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.registry_auth import env_prefix
from bot.settings import parse
from tests.deploy.manifests import CHART, SECRET_SHAPES, VARIANTS, default_values, render


def _validator(chart: helm.Chart) -> jsonschema.Draft7Validator:
    schema = chart.schema
    assert schema is not None, "the chart ships no values.schema.json"
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_values_yaml_is_valid_against_the_schema(chart: helm.Chart) -> None:
    validator = _validator(chart)
    assert [e.message for e in validator.iter_errors(default_values())] == []
    chart.validate_schema(None)  # Helm's own check of the same file


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_is_valid(chart: helm.Chart, name: str) -> None:
    assert [e.message for e in _validator(chart).iter_errors(chart.merge_values(VARIANTS[name]))] == []


# (values, what Helm's message must point at). Each is a mistake someone will make.
BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"replicaCount": 2}, "replicaCount"),  # one pod only, by design
    ({"slack": {"mode": "websocket"}}, "/slack/mode"),
    ({"ingress": {"enabled": True}}, "/ingress/enabled"),  # an Ingress in Socket Mode
    ({"config": {"slack": {"bot_token": "xoxb-1"}}}, "bot_token"),  # a secret in the config
    ({"config": {"repo": {"url": "https://u:p@git.example.org/x.git"}}}, "/config/repo/url"),
    ({"config": {"state_dir": "/data"}}, "/config"),  # the chart owns state_dir
    ({"config": {"registries": {"ghcr.io": {"password": "p"}}}}, "password"),
    ({"existingSecret": ""}, "/existingSecret"),
    ({"extraEnv": [{"name": "SLACK_BOT_TOKEN", "value": "xoxb-1"}]}, "/extraEnv/0"),
    ({"extraEnv": [{"name": "REGISTRY_GHCR_IO_PASSWORD", "value": "p"}]}, "/extraEnv/0"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
    ({"registries": ["https://ghcr.io"]}, "/registries/0"),
    ({"persistence": {"size": "lots"}}, "/persistence/size"),
]


@pytest.mark.parametrize(("values", "where"), BAD_VALUES)
def test_helm_and_jsonschema_both_refuse(chart: helm.Chart, values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        chart.render(values, name="gitops-bot")
    assert where in str(refused.value)
    assert list(_validator(chart).iter_errors(chart.merge_values(values))) != []


@pytest.mark.parametrize(
    "values",
    [
        {"slack": {"mode": "http"}, "ingress": {"enabled": True}},
        # A secret variable from another Secret is fine; only a literal value is not.
        {
            "extraEnv": [
                {"name": "GIT_TOKEN", "valueFrom": {"secretKeyRef": {"name": "other", "key": "t"}}},
                {"name": "HTTPS_PROXY", "value": "http://proxy.internal:3128"},
            ]
        },
    ],
)
def test_good_values_pass_both(chart: helm.Chart, values: dict[str, Any]) -> None:
    chart.validate_schema(values)
    assert list(_validator(chart).iter_errors(chart.merge_values(values))) == []


def _secretish(values: object, path: str = "") -> dict[str, object]:
    found: dict[str, object] = {}
    if isinstance(values, dict):
        for key, value in values.items():
            where = f"{path}.{key}" if path else key
            if re.search(r"token|secret|passw|credential|key", key, re.I):
                found[where] = value
            found.update(_secretish(value, where))
    return found


def test_values_yaml_holds_no_secret() -> None:
    assert SECRET_SHAPES.search((CHART / "values.yaml").read_text(encoding="utf-8")) is None
    # Every secret-sounding key is a reference: a Secret's name, a key inside it, or a switch.
    assert _secretish(default_values()) == {
        "existingSecret": "gitops-bot",
        "git.ssh.privateKeyKey": "GIT_SSH_KEY",
        "git.ssh.knownHostsKey": "GIT_SSH_KNOWN_HOSTS",
        "imagePullSecrets": [],
        "automountServiceAccountToken": False,
    }


_HOSTS = st.from_regex(r"\A[a-z0-9][a-z0-9.-]{0,30}(:[0-9]{1,5})?\Z")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hosts=st.lists(_HOSTS, min_size=1, max_size=3, unique=True))
def test_registry_env_names_match_the_bot_for_any_host(chart: helm.Chart, hosts: list[str]) -> None:
    # The template's regexReplaceAll/upper must agree with bot/adapters/registry_auth.env_prefix,
    # or the bot never sees the credentials.
    env = render(chart, {"registries": hosts}).env()
    registry_names = {n for n in env if n.startswith("REGISTRY_")}
    assert registry_names == {env_prefix(h) + s for h in hosts for s in ("_USERNAME", "_PASSWORD")}


# Values a person may put into substitutions: YAML-significant characters, quotes, unicode, newlines.
_TEXT = st.text(alphabet=st.sampled_from(string.printable + "äö€✅🚀\u00a0"), max_size=40)
_NAMES = st.from_regex(r"\A[a-z_][a-z0-9_]{0,12}\Z").filter(
    lambda k: re.search(r"token|secret|passw|credential|private_?key|api_?key", k) is None
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subs=st.dictionaries(_NAMES, _TEXT, max_size=5))
def test_config_survives_the_configmap_exactly(chart: helm.Chart, subs: dict[str, str]) -> None:
    config = yaml.safe_load(render(chart, {"config": {"substitutions": subs}}).one("ConfigMap")["data"]["bot.yaml"])
    assert config["substitutions"] == subs
    assert parse(config, base_dir=Path("/etc/gitops-bot")).substitutions == subs
