"""Block Kit payloads stay inside Slack's limits whatever the input size."""

from __future__ import annotations

import json

from bot.promotion.versions import EnvVersion, ServiceVersions, VersionsReport
from bot.slack import blocks, versions_blocks


def _env(tag: str, version: str, sha: str, at: int, latest: str | None = None) -> EnvVersion:
    return EnvVersion(
        tag=tag,
        version=version,
        sha=sha,
        built_at=at,
        image="r/x",
        digest=None,
        automation="active",
        latest_available=latest,
        last_change=None,
    )


def _report(n: int) -> VersionsReport:
    services = [
        ServiceVersions(
            f"svc{i}",
            {
                "staging": _env("staging-v0.0.2-b2c3d4e-200", "0.0.2", "b2c3d4e", 200),
                "production": _env("production-v0.0.1-a1b2c3d-100", "0.0.1", "a1b2c3d", 100),
            },
        )
        for i in range(n)
    ]
    return VersionsReport(revision="f" * 40, pipeline=("develop", "staging", "production"), services=services)


def test_promote_button_where_staging_is_ahead() -> None:
    out = versions_blocks.versions(_report(1), now=300)
    buttons = [e for b in out if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == 1
    assert json.loads(buttons[0]["value"]) == {
        "tag": "staging-v0.0.2-b2c3d4e-200",
        "env": "production",
        "service": "svc0",
    }


def test_many_services_are_paged_and_every_one_is_reachable_with_its_promote_button() -> None:
    report, page = _report(200), 0
    seen: list[str] = []
    buttons: list[dict[str, str]] = []
    while True:
        out = versions_blocks.versions(report, now=300, page=page)
        assert len(out) <= 50
        for b in out:
            if b["type"] == "section":
                assert len(b["text"]["text"]) <= 3000 and len(b.get("fields", [])) <= 10
        seen += [b["text"]["text"].strip("*") for b in out if b["type"] == "section" and "fields" in b]
        buttons += [e for b in out if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == blocks.PROMOTE_FROM_VERSIONS]
        nxt = [e for b in out if b["type"] == "actions" for e in b["elements"] if e["action_id"].endswith(":next")]
        if not nxt:
            break
        page = json.loads(nxt[0]["value"])["page"]
    assert seen == [f"svc{i}" for i in range(200)]
    assert len(buttons) == 200  # a Promote button for every service that is ahead, the 200th too
    assert "Services 196–200 of 200" in json.dumps(out, ensure_ascii=False)


def test_every_status_a_thread_can_show_has_its_icon() -> None:
    # `done` once fell through to "•": the table is now keyed by the enum and must cover all of it.
    assert set(blocks.STATUS_ICON) == set(blocks.Shown)
    for status in blocks.Shown:
        shown = blocks.status_message("promote *x*", status)[0]["text"]
        assert isinstance(shown, dict) and f"{blocks.STATUS_ICON[status]} promote *x* — *{status}*" == shown["text"]


def test_discovery_problems_show_under_versions_escaped_and_within_the_block_cap() -> None:
    from dataclasses import replace

    from bot.slack import versions_blocks

    problems = (
        *(f'p{i}.yaml: ImagePolicy a/p{i}: cannot tell its environment; set policies."a/p{i}".env' for i in range(7)),
        "x.yaml:3: marker names a:<b>, which no ImagePolicy defines",
    )
    for n in (1, 200):
        out = versions_blocks.versions(replace(_report(n), problems=problems), now=300)
        assert len(out) <= 50
        text = "\n".join(str(b.get("text", "")) for b in out)
        assert all(f'set policies."a/p{i}".env' in text for i in range(7))  # every problem, none cut
        assert "a:&lt;b&gt;" in text and "a:<b>" not in text
