# syntax=docker/dockerfile:1
# gitops-promotion-bot image.
#
#   docker build -t gitops-promotion-bot:0.1.0 .
#   docker run --read-only -v gitops-bot-state:/var/lib/gitops-bot -v "$PWD/bot.yaml:/etc/gitops-bot/bot.yaml:ro" \
#     -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN -p 8080:8080 gitops-promotion-bot:0.1.0
#
# The config must set `state_dir: /var/lib/gitops-bot` (the Helm chart does): a relative state_dir
# resolves next to the config file, which is read-only in a cluster.

# Both stages use the same exact tag, so the wheels are built against the interpreter that runs them.
FROM python:3.11.17-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only what the wheel is built from: README.md is the project's `readme`, so setuptools needs it.
COPY pyproject.toml README.md ./
COPY bot ./bot
# One wheel for the bot plus one for every runtime dependency, so the final stage installs from
# /wheels alone (--no-index): no compiler, no source tree and no registry access in that stage.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .


FROM python:3.11.17-slim-bookworm

# git and ssh are run as child processes (clone/fetch/push over HTTPS or SSH). The upstream versions
# are pinned; the Debian revision floats so that bookworm's security updates still apply.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        git=1:2.39.5-* \
        openssh-client=1:9.2p1-* \
    && rm -rf /var/lib/apt/lists/*

# A fixed, numeric, non-root identity: Kubernetes' runAsNonRoot can only check a numeric USER, and
# the chart's runAsUser/fsGroup use the same 10001. `-l` keeps a high UID from bloating lastlog.
RUN groupadd --system --gid 10001 gitops-bot \
    && useradd --system -l --uid 10001 --gid 10001 --home-dir /var/lib/gitops-bot --no-create-home \
        --shell /usr/sbin/nologin gitops-bot \
    && mkdir -p /var/lib/gitops-bot /etc/gitops-bot \
    && chown 10001:10001 /var/lib/gitops-bot \
    && chmod 0750 /var/lib/gitops-bot

# The wheels are bind-mounted from the builder, so none of them stays in a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --disable-pip-version-check /wheels/*.whl

# Read-only root filesystem: the only writable places are the state volume (git clone, SQLite) and
# /tmp (GIT_ASKPASS helper, temporary files). HOME is the state directory so nothing git or ssh
# might write lands on the read-only layer; caches go to /tmp. Bytecode is compiled at install
# time, and Python must not try to write more of it at run time.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/gitops-bot \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config \
    XDG_STATE_HOME=/var/lib/gitops-bot/.local/state \
    GITOPS_BOT_CONFIG=/etc/gitops-bot/bot.yaml \
    GITOPS_BOT_HEALTH_URL=http://127.0.0.1:8080/healthz

WORKDIR /var/lib/gitops-bot
VOLUME ["/var/lib/gitops-bot", "/tmp"]
USER 10001:10001
EXPOSE 8080

# No curl in the image: the standard library does the probe. A non-2xx answer or no answer raises,
# and the exit status 1 marks the container unhealthy. Change GITOPS_BOT_HEALTH_URL with --listen.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['GITOPS_BOT_HEALTH_URL'], timeout=4).close()"]

ENTRYPOINT ["gitops-bot"]
CMD ["-c", "/etc/gitops-bot/bot.yaml", "serve", "--listen", "0.0.0.0:8080"]
