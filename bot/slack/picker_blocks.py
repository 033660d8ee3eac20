"""The Promote picker as Block Kit: a service menu, then one menu of recent builds per pipeline step.

Static selects hold at most 100 options, an option's text 75 characters and its value 150: a longer list of
services becomes several menus in one row (up to 25), so none is left out; builds are the newest PICKED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.slack import messages as say
from bot.slack.blocks import Block, context, section

PICK_SERVICE = "pick_service"
PICK_BUILD = "pick_build"  # action ids are `pick_build:<target env>`; block ids `pick:<target env>:<service>`
OPTIONS = 100
PICKED = 10


@dataclass(frozen=True)
class Build:
    tag: str
    label: str  # "v0.0.2 b2c3d4e · 1d"
    runs_in: tuple[str, ...]  # environments running this build now


def _option(text: str, value: str) -> Block:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def services(names: Sequence[str]) -> list[Block]:
    menus: list[Block] = []
    for n, start in enumerate(range(0, len(names), OPTIONS)):
        chunk = names[start : start + OPTIONS]
        placeholder = say.PICK_SERVICE if len(names) <= OPTIONS else say.pick_services(start + 1, start + len(chunk))
        menus.append({"type": "static_select", "action_id": f"{PICK_SERVICE}:{n}",
                      "placeholder": {"type": "plain_text", "text": placeholder},
                      "options": [_option(s, s) for s in chunk]})  # fmt: skip
    if not menus:
        return [section(say.NO_SERVICES)]
    rows: list[Block] = [{"type": "actions", "elements": menus[i : i + 25]} for i in range(0, len(menus), 25)]
    return [section(say.PICK_HEAD), *rows]


def builds(service: str, steps: Sequence[tuple[str, str, Sequence[Build]]]) -> list[Block]:
    """One menu per step (source → target): its recent builds, newest first, each marked where it runs."""
    out: list[Block] = [section(say.pick_build_head(service))]
    for source, target, found in steps:
        if not found:
            out.append(context(say.no_builds(source, target)))
            continue
        options = [_option(say.build_option(b.label, b.runs_in), b.tag) for b in found if len(b.tag) <= 150]
        out.append({
            "type": "actions",
            "block_id": f"pick:{target}:{service}",  # env and service names are short, colon-free words
            "elements": [{"type": "static_select", "action_id": f"{PICK_BUILD}:{target}",
                          "placeholder": {"type": "plain_text", "text": say.pick_build(source, target)},
                          "options": options}],
        })  # fmt: skip
    return out
