"""/readyz: named checks, each (ok, reason), answered from memory so a probe is cheap and never blocked.

A part either sets its state when it changes (`set`), registers a check that a background thread runs every
`period` seconds (`register`: Git reachable, the state store writable), or adds a live probe asked at each
/readyz (`probe`: state only its owner sees as it changes, such as the Socket Mode connection).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.http_server import Response

Check = Callable[[], tuple[bool, str]]


@dataclass
class Readiness:
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    periodic: dict[str, Check] = field(default_factory=dict)
    probes: dict[str, Check] = field(default_factory=dict)
    _stopped: threading.Event = field(default_factory=threading.Event)

    def set(self, name: str, ok: bool, reason: str = "") -> None:
        with self.lock:
            self.checks[name] = (ok, reason)

    def probe(self, name: str, check: Check) -> None:
        """Ask `check` at each /readyz (it must be cheap: it reads state, it does no I/O)."""
        with self.lock:
            self.probes[name] = check

    def register(self, name: str, check: Check) -> None:
        """Run `check` now and then every period; a check that raises counts as failing."""
        with self.lock:
            self.periodic[name] = check
        self._run(name, check)

    def refresh(self) -> None:
        with self.lock:
            periodic = dict(self.periodic)
        for name, check in periodic.items():
            self._run(name, check)

    def _run(self, name: str, check: Check) -> None:
        try:
            ok, why = check()
        except Exception as err:  # a probe must never take the prober down
            ok, why = False, type(err).__name__
        self.set(name, ok, why)

    def start(self, period: float = 10.0) -> None:
        def loop() -> None:
            while not self._stopped.wait(period):
                self.refresh()

        threading.Thread(target=loop, name="readiness", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def response(self) -> Response:
        with self.lock:
            checks, probes = dict(self.checks), dict(self.probes)
        for name, check in probes.items():
            try:
                checks[name] = check()
            except Exception as err:  # as above: a failing probe reads as failing, never as a 500
                checks[name] = (False, type(err).__name__)
        ok = bool(checks) and all(v[0] for v in checks.values())
        body = {name: ("ok" if good else f"failing: {why}") for name, (good, why) in checks.items()}
        return Response.json(200 if ok else 503, {"ready": ok, "checks": body})
