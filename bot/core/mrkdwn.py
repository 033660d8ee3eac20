"""The one escaping function for outside text on its way into Slack mrkdwn.

Flux messages, commit subjects, freeze reasons, display names, tags and error texts all reach Slack
through this: `&`, `<` and `>` are the only characters Slack gives meaning to in plain text, and left
as they are `<!channel>` pings a whole channel and `<https://evil|docs>` disguises a link.
"""

from __future__ import annotations


def escape(text: str) -> str:
    """Slack's three control characters, as Slack documents them; everything else is safe as it is."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
