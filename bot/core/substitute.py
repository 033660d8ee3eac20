"""Flux postBuild-style variable substitution (`${var}`, `${var:=default}`, `${var:-default}`, `$${escaped}`).

kustomize-controller substitutes these when it applies manifests, so the objects Flux sees carry the
substituted values while Git keeps the `${...}` text. Discovery reads objects the way Flux sees them;
setter rewrites edit the raw text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[=-]([^}]*))?\}")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace known variables; unknown ones without a default are left as they are (Flux's non-strict mode)."""
    if "${" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name, default = m.group(1), m.group(2)
        if name in values:
            return values[name]
        return default if default is not None else m.group(0)

    return _VAR.sub(repl, text)
