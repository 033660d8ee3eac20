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
    # The typo is caught from the environments' side: they need not list every pipeline environment.
    assert "environments.production: not in pipeline (pipeline: develop, staging, prodution)" in problems
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


def _problems(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        settings.parse(raw, base_dir=Path("/"))
    return err.value.problems


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"routes": [{"channel": "C1"}]}, "routes: unknown key; did you mean flux.routes?"),
        ({"freezes": []}, "freezes: unknown key; did you mean environments.<env>.freezes?"),
        ({"api_url": "https://x/"}, "api_url: unknown key; did you mean slack.api_url?"),
        ({"url": "https://x/y.git"}, "url: unknown key; did you mean repo.url?"),
        ({"jobs": {}}, "jobs: unknown key (known: environments, flux, pipeline, policies, registries, repo, slack,"
                       " state_dir, substitutions)"),
    ],
)  # fmt: skip
def test_unknown_top_level_keys_are_refused_and_pointed_home(extra: dict[str, object], problem: str) -> None:
    assert _problems({**BASE, **extra}) == [problem]


def test_timeout_lives_in_two_places_and_both_are_named() -> None:
    assert _problems({**BASE, "timeout": "5s"}) == [
        "timeout: unknown key; did you mean repo.timeout or registries.<host>.timeout?"
    ]


def test_nested_unknown_keys_are_pointed_home_too() -> None:
    raw = {**BASE, "flux": {"freezes": []}, "environments": {"staging": {"routes": []}, "production": {"colour": 1}}}
    assert _problems(raw) == [
        "environments.staging.routes: unknown key; did you mean flux.routes?",
        "environments.production.colour: unknown key (known: approval_ttl, approvals, break_glass, channel, freezes,"
        " paths, promoters, require_deployed_in_source, rollback)",
        "flux.freezes: unknown key; did you mean environments.<env>.freezes?",
    ]


def test_the_right_place_is_accepted() -> None:
    s = settings.parse({**BASE, "flux": {"routes": [{"channel": "C1", "kinds": ["HelmRelease"]}]}}, base_dir=Path("/"))
    assert s.flux.routes[0].channel == "C1" and s.flux.routes[0].kinds == ("HelmRelease",)


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("0 16 * * FRIDAY", "day of week 'FRIDAY' is not a day of week name"),
        ("0 16 * *", "has 4 fields"),
        ("0 25 * * FRI", "hour '25' is outside 0-23"),
    ],
)
def test_freeze_cron_is_checked_by_the_core_grammar(cron: str, says: str) -> None:
    window = {"cron": cron, "duration": "64h", "reason": "weekend"}
    (problem,) = _problems({**BASE, "environments": {"staging": {}, "production": {"freezes": [window]}}})
    assert problem.startswith("environments.production.freezes[0].cron: expected a crontab expression like")
    assert says in problem


def test_settings_does_not_import_flux_or_apscheduler() -> None:
    # Read from the source: the config layer must load without the Flux receiver or the scheduler.
    import ast

    for name in ("settings.py", "settings_values.py", "settings_parse.py"):
        tree = ast.parse((REPO / "bot" / name).read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        assert not {m for m in imported if m and m.startswith(("bot.flux", "apscheduler"))}, name


def test_partial_environments_merge_with_the_pipeline() -> None:
    # old code: "pipeline[0]: unknown environment 'develop' (known: production)"
    s = settings.parse(
        {"repo": {"url": "https://x/y.git"}, "environments": {"production": {"promoters": {"groups": ["sre"]}}}},
        base_dir=Path("/"),
    )
    assert s.pipeline == ("develop", "staging", "production")
    assert s.env("production").promoters.groups == ("sre",) and s.env("develop").promoters.anyone


def test_policies_and_paths_place_what_discovery_cannot() -> None:
    s = settings.parse(
        {**BASE, "policies": {"flux-system/live-app": {"env": "production", "service": "app"},
                              "apps/podinfo": {"envs": ["staging", "production"]}},
         "environments": {"staging": {"paths": ["environments/stg"]}, "production": {}}},
        base_dir=Path("/"),
    )  # fmt: skip
    placement = s.placement
    assert placement.policies["flux-system/live-app"].envs == ("production",)
    assert placement.policies["flux-system/live-app"].service == "app"
    assert placement.policies["apps/podinfo"].envs == ("staging", "production")
    assert placement.paths == {"staging": ("environments/stg",)}


def test_bad_policy_placements_name_their_key() -> None:
    assert _problems({**BASE, "policies": {"live-app": {"env": "production"},
                                           "a/b": {"env": "qa", "colour": 1},
                                           "c/d": {"env": "staging", "envs": ["production"]}}}) == [
        'policies."live-app": expected an ImagePolicy as <namespace>/<name>, like flux-system/staging-app, '
        "got 'live-app'",
        'policies."a/b".colour: unknown key (known: env, envs, service)',
        "policies.\"a/b\": unknown environment 'qa' (pipeline: staging, production)",
        'policies."c/d": give env or envs, not both',
    ]  # fmt: skip


def test_registry_settings_are_keyed_by_the_host_flux_resolves() -> None:
    # old code: `registries: {docker.io: ...}` was kept under docker.io and never looked up
    raw = {**BASE, "registries": {"docker.io": {"insecure": True}, "GHCR.io": {"endpoint": "127.0.0.1:5000"}}}
    s = settings.parse(raw, base_dir=Path("/"))
    assert set(s.registries) == {"index.docker.io", "ghcr.io"}
    assert s.registries["ghcr.io"].endpoint == "127.0.0.1:5000"
    assert _problems({**BASE, "registries": {"docker.io": {}, "index.docker.io": {}}}) == [
        "registries.index.docker.io: the same registry as registries.docker.io (index.docker.io); keep one of them"
    ]
    assert _problems({**BASE, "registries": {"ghcr.io": {"endpoint": "http://x/"}}}) == [
        "registries.ghcr.io.endpoint: expected a string matching [A-Za-z0-9.-]+(:[0-9]{1,5})?, got 'http://x/'"
    ]
