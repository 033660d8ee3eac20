"""The suite's fake secrets, and the search for them in text.

Every shared secret the tests hand the bot is one of these. Each carries MARKER, so `find` also catches
a canary cut short, URL-encoded, or one a test made up itself as long as it carries the marker, and a hit
in a log or a commit names the secret it came from.
"""

from __future__ import annotations

import re

MARKER = "SECRET-canary"

# Shapes follow the real thing where the bot or a library checks them: Slack tokens start xoxb-/xapp-.
BOT_TOKEN = "xoxb-SECRET-canary-bot-1001"
SIGNING_SECRET = "signing-SECRET-canary-1002"
APP_TOKEN = "xapp-SECRET-canary-1003"  # only ever in an environment: handing it to the bot means Socket Mode
FLUX_TOKEN = "flux-SECRET-canary-1004"
GIT_TOKEN = "git-SECRET-canary-1005"
REGISTRY_PASSWORD = "registry-SECRET-canary-1006"
# Wrong credentials are secrets too: a mistyped one is often a real token for something else.
WRONG_GIT_TOKEN = "git-SECRET-canary-wrong-1007"
WRONG_REGISTRY_PASSWORD = "registry-SECRET-canary-wrong-1008"

ALL = (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, FLUX_TOKEN, GIT_TOKEN, REGISTRY_PASSWORD, WRONG_GIT_TOKEN,
       WRONG_REGISTRY_PASSWORD)  # fmt: skip

# The word around the marker, so a report shows which canary it was; case-blind, since a leak may be
# upper-cased by whatever printed it.
_WORD = re.compile(rf"[\w.+/%=~-]*{re.escape(MARKER)}[\w.+/%=~-]*", re.IGNORECASE)


def find(text: str) -> list[str]:
    """Every canary-bearing word in `text`, each once, in order of first appearance."""
    if MARKER.lower() not in text.lower():  # the common case, without the regex
        return []
    return list(dict.fromkeys(m.group(0) for m in _WORD.finditer(text)))
