"""The layers of bot/ and which may import which: data, read by the boundary test and by docs/ARCHITECTURE.md.

Dependencies point one way: the front ends (cli, slack, flux, jobs) call actions and use cases; use cases
call the core and the ports they own; adapters implement those ports; `wiring` (the composition root) is
the only module that imports every layer, and `service` runs the process around it.
"""

from __future__ import annotations

# module prefix → layer (the longest matching prefix wins)
LAYER_OF: dict[str, str] = {
    "bot.errors": "errors",
    "bot.core": "core",
    "bot.request_id": "support",
    "bot.redaction": "support",
    "bot.log_format": "support",
    "bot.http_server": "support",
    "bot.observability": "support",
    "bot.readiness": "support",
    "bot.settings": "settings",
    "bot.settings_values": "settings",
    "bot.settings_parse": "settings",
    "bot.settings_checker": "settings",
    "bot.promotion": "promotion",
    "bot.actions": "actions",
    "bot.adapters": "adapters",
    "bot.flux": "flux",
    "bot.slack": "slack",
    "bot.jobs": "jobs",
    "bot.cli": "cli",
    "bot.__main__": "cli",
    "bot.text_output": "cli",
    "bot.demo": "cli",
    "bot.seed_layout": "cli",
    "bot.service": "service",
    "bot.wiring": "wiring",
    "bot": "package",  # bot/__init__.py
}

_BASE = {"errors"}
ALLOWED: dict[str, set[str]] = {
    "package": set(),
    "errors": set(),
    "core": {"core", *_BASE},
    "support": {"support", "core", *_BASE},
    "settings": {"settings", "core", *_BASE},
    "promotion": {"promotion", "core", *_BASE},
    "actions": {"actions", "promotion", "core", *_BASE},
    "adapters": {"adapters", "promotion", "core", "support", *_BASE},
    "flux": {"flux", "promotion", "core", "support", *_BASE},
    "jobs": {"jobs", "promotion", "core", "support", *_BASE},
    "slack": {"slack", "flux", "actions", "promotion", "core", "settings", "support", *_BASE},
    "cli": {"cli", "wiring", "service", "actions", "promotion", "core", "settings", "support", *_BASE},
    "service": {"service", "wiring", "settings", "support", *_BASE},
    "wiring": {
        "wiring", "actions", "adapters", "flux", "slack", "jobs", "promotion", "core", "settings", "support",
        *_BASE,
    },
}  # fmt: skip


def layer_of(module: str) -> str | None:
    best = max((p for p in LAYER_OF if module == p or module.startswith(p + ".")), key=len, default=None)
    return LAYER_OF[best] if best is not None else None
