"""config/flux wires a cluster to the bot: a generic-hmac Provider at the bot's receiver path, an Alert on it."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.settings import FluxSettings

FLUX = Path(__file__).resolve().parents[2] / "config" / "flux"


def test_provider_alert_and_secret_fit_together() -> None:
    provider = yaml.safe_load((FLUX / "provider.yaml").read_text())
    alert = yaml.safe_load((FLUX / "alert.yaml").read_text())
    secret = yaml.safe_load((FLUX / "secret.yaml").read_text())
    assert provider["spec"]["type"] == "generic-hmac"
    assert provider["spec"]["address"].endswith(FluxSettings().path)
    assert provider["spec"]["secretRef"]["name"] == secret["metadata"]["name"] and "token" in secret["stringData"]
    assert alert["spec"]["providerRef"]["name"] == provider["metadata"]["name"]
    kinds = {s["kind"] for s in alert["spec"]["eventSources"]}
    assert {"Kustomization", "ImageUpdateAutomation", "ImagePolicy"} <= kinds
