"""Setter write-back on a 1000-document file: Flux-exact `rewrite` versus a bare `str.replace` loop.

The workload is one multi-document file with 1000 Deployments, each with a full-ref image marker naming its
own policy; every value changes (a promotion of all services at once). `rewrite` splits the file like
kyaml, composes every document with marks, reads each marker's JSON, applies go-yaml's quoting rules and
replaces spans. The reference replaces each old image string with `str.replace`, which knows nothing of
markers, documents or quoting. No goal came with the task; 50x is the goal set here.
"""

from __future__ import annotations

from bench.table import Row, interleaved_medians
from bot.core.imageref import ImageRef
from bot.core.setters import rewrite, setter_values

N_DOCS = 1000
OLD_TAG = "staging-v0.0.1-a1b2c3d-1738860123"
NEW_TAG = "production-v0.0.2-b2c3d4e-1738870000"


def workload(n: int = N_DOCS) -> tuple[str, dict[str, str], list[tuple[str, str]]]:
    """(file text, setter values, (old, new) pairs for the naive loop)."""
    docs = [
        f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  namespace: apps
  labels:
    app: svc-{i}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: svc-{i}
        image: ghcr.io/acme/svc-{i}:{OLD_TAG} # {{"$imagepolicy": "flux-system:svc-{i}"}}
        ports:
        - containerPort: 8080
        env:
        - name: MODE
          value: "production"
"""
        for i in range(n)
    ]
    policies = {f"flux-system:svc-{i}": ImageRef(f"ghcr.io/acme/svc-{i}", NEW_TAG) for i in range(n)}
    pairs = [(f"ghcr.io/acme/svc-{i}:{OLD_TAG} ", f"ghcr.io/acme/svc-{i}:{NEW_TAG} ") for i in range(n)]
    return "---\n".join(docs), setter_values(policies), pairs


def run() -> list[Row]:
    text, values, pairs = workload()

    def ours() -> str:
        out, changes = rewrite("services.yaml", text, values)
        assert len(changes) == N_DOCS
        return out

    def naive() -> str:
        out = text
        for old, new in pairs:
            out = out.replace(old, new)
        return out

    assert ours() == naive()  # same bytes: the comparison is fair
    t_ours, t_ref = interleaved_medians(ours, naive)
    return [
        Row(
            measure=f"setters.rewrite: {N_DOCS}-document file, {N_DOCS} markers",
            ours=t_ours,
            reference=t_ref,
            reference_name=f"str.replace x{N_DOCS}",
            goal=50,
        )
    ]
