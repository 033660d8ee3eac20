"""A burst of 10k Flux events: all accepted, none lost, Slack paced per channel, memory bounded.

The bot runs in-process (HTTP receiver + outbox + deliverer) against the fake Slack Web API; the events
are real generic-hmac posts over loopback HTTP from 4 client threads.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from bench.table import Row
from bot import settings as settings_mod
from bot.wiring import assemble
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.integration.slack_bot import populate, slack_config
from tests.integration.world import running_world

EVENTS = 10_000
TOKEN = b"bench-token"
CHANNELS = ("C0BURSTA", "C0BURSTB")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _body(i: int) -> bytes:
    ev = {
        "involvedObject": {"kind": "HelmRelease", "namespace": f"team{i % 2}", "name": f"app{i}"},
        "severity": "error", "timestamp": "2026-08-01T10:00:00Z",
        "message": f"Helm upgrade failed for release team{i % 2}/app{i}: timed out", "reason": "UpgradeFailed",
        "reportingController": "helm-controller",
    }  # fmt: skip
    return json.dumps(ev, separators=(",", ":")).encode()


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp, running_world(Path(tmp)) as world, FakeSlack(token=BOT_TOKEN) as fake:
        populate(fake)
        cfg = slack_config(world, fake, approvals=0, groups=[])
        data = yaml.safe_load(cfg.read_text())
        data["flux"] = {"routes": [{"channel": CHANNELS[0], "namespaces": ["team0"]},
                                   {"channel": CHANNELS[1], "namespaces": ["team1"]}]}  # fmt: skip
        cfg.write_text(yaml.safe_dump(data))
        bot = assemble(settings_mod.load(cfg), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                       flux_token=TOKEN.decode())  # fmt: skip
        bot.server.start()
        url = f"{bot.server.url}/flux/events"
        rss0 = _rss_mb()

        def post(i: int) -> int:
            body = _body(i)
            sig = "sha256=" + hmac.new(TOKEN, body, hashlib.sha256).hexdigest()
            req = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "X-Signature": sig},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                return int(resp.status)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(post, range(EVENTS)))
        accept_s = time.perf_counter() - t0
        deadline = time.monotonic() + 120
        while bot.store.depth() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = bot.store.depth()
        rss_growth = _rss_mb() - rss0
        bot.stop()
        posts = [c for c in fake.calls("chat.postMessage") if c.ok]
        worst_rate = 0.0
        for ch in CHANNELS:
            times = sorted(c.time for c in posts if c.params.get("channel") == ch)
            gaps = [b - a for a, b in itertools.pairwise(times)]
            if gaps:
                worst_rate = max(worst_rate, 1.0 / max(min(gaps), 1e-6))
        shown = sum(int(t.split("and ")[-1].split(" more")[0]) if "more" in t else 0
                    for t in (c.params.get("text", "") for c in posts))  # fmt: skip
    accepted = statuses.count(202)
    print(f"  {accepted}/{EVENTS} accepted in {accept_s:.1f} s; {len(posts)} Slack posts; {left} left in outbox; "
          f"'…and N more' folded {shown}; RSS +{rss_growth:.1f} MB")  # fmt: skip
    return [
        Row("flux burst: events lost (of 10k accepted)", float(EVENTS - accepted + left), float(EVENTS),
            "events sent", 0.0, unit=""),
        Row("flux burst: Slack posts per second per channel (max)", worst_rate, 1.0, "Slack 1 msg/s/channel", 1.05,
            unit="/s"),
        Row("flux burst: RSS growth", rss_growth, 50.0, "goal 50 MB", 1.0, unit="MB"),
        Row("flux burst: accept time per event", accept_s / EVENTS, 3.0, "Slack-style 3 s budget", 0.01),
    ]  # fmt: skip
