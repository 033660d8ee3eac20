from __future__ import annotations

from pathlib import Path

import pytest

from bot import settings
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_example_config_loads() -> None:
    s = settings.load(REPO / "config" / "bot.yaml")
    assert s.pipeline == ("develop", "staging", "production")
    assert s.env("production").approvals == 1 and s.env("production").approval_ttl == 1800
    assert s.state_dir == REPO / "config" / ".gitops-bot"
    assert s.registries["127.0.0.1:5000"].insecure


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        settings.parse(
            {
                "repo": {"url": "https://x/y.git", "token": "ghp_x"},
                "pipeline": ["develop", "staging", "prodution"],
                "environments": {"develop": {}, "staging": {}, "production": {"rollback": "undo"}},
                "registries": {"ghcr.io": {"password": "p"}},
                "extra": 1,
            },
            base_dir=Path("/"),
        )
    problems = err.value.problems
    assert "pipeline[2]: unknown environment 'prodution' (known: develop, staging, production)" in problems
    assert any(p.startswith("repo.token: secrets are never read") and "GIT_TOKEN" in p for p in problems)
    assert any(
        p.startswith("registries.ghcr.io.password") and "REGISTRY_<HOST>_PASSWORD" in p for p in problems
    )
    assert "environments.production.rollback: expected hold or retag, got 'undo'" in problems
    assert any(p.startswith("extra: unknown key") for p in problems)
    assert "ghp_x" not in str(err.value) and "'p'" not in str(err.value)


def test_credentials_in_url_are_refused() -> None:
    with pytest.raises(ConfigError, match="credentials in the URL"):
        settings.parse({"repo": {"url": "https://user:tok@github.com/a/b.git"}}, base_dir=Path("/"))


def test_secret_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "tok"
    f.write_text("s3cret\n")
    monkeypatch.delenv("GITOPS_TEST_SECRET", raising=False)
    monkeypatch.setenv("GITOPS_TEST_SECRET_FILE", str(f))
    assert settings.secret("GITOPS_TEST_SECRET") == "s3cret"
    monkeypatch.delenv("GITOPS_TEST_SECRET_FILE")
    with pytest.raises(ConfigError, match="GITOPS_TEST_SECRET_FILE"):
        settings.secret("GITOPS_TEST_SECRET", required=True)


@pytest.mark.parametrize(
    ("text", "secs"), [("30m", 1800), ("64h", 230400), ("1h30m", 5400), ("90s", 90), ("2d", 172800)]
)
def test_durations(text: str, secs: int) -> None:
    assert settings.parse_duration(text) == secs


@pytest.mark.parametrize("bad", ["", "m", "30", "1x", "-5m"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError):
        settings.parse_duration(bad)


BASE = {"repo": {"url": "https://x/y.git"}, "pipeline": ["staging", "production"],
        "environments": {"staging": {}, "production": {}}}  # fmt: skip


@pytest.mark.parametrize(("value", "seconds"), [(None, None), ("5s", 5.0), ("2m", 120.0), (1.5, 1.5), ("10m", 600.0)])
def test_network_timeouts(value: object, seconds: float | None) -> None:
    raw = {**BASE, "repo": {**BASE["repo"], "timeout": value}, "registries": {"r.example": {"timeout": value}}}  # type: ignore[dict-item]
    s = settings.parse(raw, base_dir=Path("/"))
    assert s.repo.timeout == (seconds or 60.0)
    assert s.registries["r.example"].timeout == (seconds or 10.0)


@pytest.mark.parametrize("bad", [0, -1, "11m", "soon", True, "0s"])
def test_bad_network_timeouts_are_named(bad: object) -> None:
    raw = {**BASE, "repo": {**BASE["repo"], "timeout": bad}, "registries": {"r.example": {"timeout": bad}}}  # type: ignore[dict-item]
    with pytest.raises(ConfigError) as err:
        settings.parse(raw, base_dir=Path("/"))
    assert {p.split(":")[0] for p in err.value.problems} == {"repo.timeout", "registries.r.example.timeout"}
