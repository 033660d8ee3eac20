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
