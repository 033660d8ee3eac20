"""Build and run the real image with buildah (no Docker engine here), on a Debian stand-in base.

The public registries are unreachable, so the Dockerfile's `FROM` image is made locally from Debian with
debootstrap (see /work/shared/container/BUILD-FACTS.md) and committed under that exact name. That base is
the one thing kept between runs: it lives in buildah's own storage (where `--pull=never` looks), labelled
with a key of the FROM name and everything that shapes it, so a second run skips the ~50 s debootstrap and
a changed recipe, CA bundle or mirror makes a new one.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.dockerfile import ROOT, load

# Every call names the driver: vfs needs no overlay filesystem or user namespaces (see BUILD-FACTS).
BUILDAH = ("buildah", "--storage-driver", "vfs")
SUITE = "bookworm"  # the Debian release the Dockerfile's tag names (…-slim-bookworm)
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
# The official python image's layout: the interpreter and pip on /usr/local/bin, no PEP 668 marker.
LINKS = {"usr/local/bin/python": "/usr/bin/python3", "usr/local/bin/pip": "/usr/bin/pip3"}
EXTERNALLY_MANAGED = "usr/lib/python3.11/EXTERNALLY-MANAGED"
# The registries are reached through a proxy whose CA only the host's bundle has; without it pip and
# apt inside the build fail certificate checks.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8")
KEY_LABEL = "io.gitops-bot.test.standin-key"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
MIRROR_OVERRIDE = "GITOPS_BOT_TEST_DEBIAN_MIRROR"  # for a CI machine whose apt has no Debian mirror


def buildah(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*BUILDAH, *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"buildah {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}", pytrace=False)
    return proc


def inspect_image(name: str) -> dict[str, Any] | None:
    proc = buildah("inspect", "--type", "image", name, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def base_name() -> str:
    """The FROM image, as buildah stores it: a short Docker Hub name gets docker.io/library/."""
    stages = load()
    images = {stage.image for stage in stages if stage.image not in {s.name for s in stages}}
    assert len(images) == 1, f"one base image expected, the Dockerfile has {images}"
    (image,) = images
    first = image.split("/", 1)[0]
    if "/" not in image:
        return f"docker.io/library/{image}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{image}"
    return image


def _sources_entries() -> Iterator[tuple[Path, str, list[str]]]:
    """(file, URI, suites) of every enabled `deb` source, from one-line .list and deb822 .sources files."""
    paths = [APT_SOURCES[0]] if APT_SOURCES[0].is_file() else []
    if APT_SOURCES[1].is_dir():
        paths += sorted(p for p in APT_SOURCES[1].iterdir() if p.suffix in {".list", ".sources"})
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".sources":
            for stanza in text.split("\n\n"):
                fields = dict(
                    (k.strip().lower(), v.strip())
                    for k, sep, v in (ln.partition(":") for ln in stanza.splitlines())
                    if sep and not k.startswith((" ", "\t", "#"))
                )
                if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes").lower() != "no":
                    for uri in fields.get("uris", "").split():
                        yield path, uri, fields.get("suites", "").split()
        else:
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if words[:1] == ["deb"]:
                    words = [w for w in words[1:] if not w.startswith("[") and not w.endswith("]")]
                    if len(words) >= 2:
                        yield path, words[0], [words[1]]


def debian_mirrors() -> tuple[str, str | None, str]:
    """(archive, security, where they were read) mirror URIs this machine's apt uses: reachable if apt works."""
    if os.environ.get(MIRROR_OVERRIDE):
        return os.environ[MIRROR_OVERRIDE].rstrip("/"), None, f"${MIRROR_OVERRIDE}"
    archive: list[tuple[str, Path]] = []
    security: list[str] = []
    seen = []
    for path, uri, suites in _sources_entries():
        seen.append(f"{path}: {uri} {' '.join(suites)}")
        # Third-party repositories (nodesource, cloud SDKs) also say `deb`; Debian's are named by path.
        if uri.rstrip("/").endswith("/debian-security") or any(s.endswith("-security") for s in suites):
            security.append(uri.rstrip("/"))
        elif uri.rstrip("/").endswith("/debian"):
            archive.append((uri.rstrip("/"), path))
    if not archive:
        pytest.fail(
            "no Debian archive mirror in this machine's apt sources, so debootstrap has nowhere to fetch the stand-in "
            f"base from. Sources read: {seen or 'none'}. Set {MIRROR_OVERRIDE}=http://<mirror>/debian.",
            pytrace=False,
        )
    return archive[0][0], (security[0] if security else None), f"from {archive[0][1]}"


def _apt_sources(archive: str, security: str | None) -> str:
    """The official image's /etc/apt/sources.list.d/debian.sources, pointed at this machine's mirrors."""
    keyring = "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    text = f"Types: deb\nURIs: {archive}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n{keyring}"
    if security:
        text += f"\nTypes: deb\nURIs: {security}\nSuites: {SUITE}-security\nComponents: main\n{keyring}"
    return text


def _debootstrap(rootfs: Path, archive: str, origin: str) -> None:
    # Fail fast with the mirror's name when it cannot be reached: debootstrap alone would spend minutes
    # and end in a log line about a Release file.
    release = f"{archive}/dists/{SUITE}/InRelease"
    error: OSError | None = None
    try:
        urllib.request.urlopen(release, timeout=30).close()  # noqa: S310 (the URL is apt's own mirror)
    except OSError as err:
        error = err  # failed outside the handler, so the report is this one sentence, not a chained trace
    if error is not None:
        pytest.fail(f"cannot reach the Debian mirror {release} ({origin}): {error}. The stand-in base image "
                    f"is made from it; fix the mirror or set {MIRROR_OVERRIDE} to a reachable one.",
                    pytrace=False)  # fmt: skip
    proc = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), archive],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        log = rootfs / "debootstrap" / "debootstrap.log"
        detail = log.read_text(errors="replace")[-3000:] if log.is_file() else proc.stderr[-3000:]
        pytest.fail(f"debootstrap {SUITE} from {archive} exited {proc.returncode}:\n{detail}", pytrace=False)


def _finish_rootfs(rootfs: Path, archive: str, security: str | None) -> None:
    for link, target in LINKS.items():
        (rootfs / link).symlink_to(target)
    (rootfs / EXTERNALLY_MANAGED).unlink()
    shutil.copyfile(HOST_CA, rootfs / HOST_CA.relative_to("/"))
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(_apt_sources(archive, security), encoding="utf-8")
    # The official slim image ships no package lists or downloaded .debs; vfs copies every byte of a
    # layer into each container, so they would also slow every build and run.
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / cache).glob("*"):
            if item.is_file():
                item.unlink()


def recipe_key(name: str, archive: str, security: str | None) -> str:
    """Everything that shapes the stand-in: a change to any of it makes a new base, nothing else does."""
    parts = {
        "from": name,
        "debootstrap": inspect.getsource(_debootstrap),
        "finish": inspect.getsource(_finish_rootfs),
        "sources": _apt_sources(archive, security),
        "constants": [SUITE, PACKAGES, LINKS, EXTERNALLY_MANAGED, BASE_ENV],
        "ca": hashlib.sha256(HOST_CA.read_bytes()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two pytest runs on one machine (worktrees) share buildah's storage: one makes the base, the other waits.
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_base() -> tuple[str, bool]:
    """The stand-in base under the FROM name; (name, True) when it had to be made now."""
    name = base_name()
    archive, security, origin = debian_mirrors()
    key = recipe_key(name, archive, security)
    with _locked(Path(tempfile.gettempdir()) / "gitops-bot-standin-base.lock"):
        found = inspect_image(name)
        if found and (found.get("OCIv1", {}).get("config", {}).get("Labels") or {}).get(KEY_LABEL) == key:
            return name, False
        with tempfile.TemporaryDirectory(prefix="gitops-bot-standin-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            _debootstrap(rootfs, archive, origin)
            _finish_rootfs(rootfs, archive, security)
            container = buildah("from", "scratch").stdout.strip()
            try:
                mount = buildah("mount", container).stdout.strip()
                subprocess.run(["cp", "-a", f"{rootfs}/.", mount], check=True, timeout=600)
                buildah("umount", container)
                env = [arg for pair in BASE_ENV for arg in ("--env", pair)]
                buildah("config", *env, "--cmd", '["python3"]', "--label", f"{KEY_LABEL}={key}", container)
                # Committing under the name moves it off an older stand-in, which is then removed below.
                buildah("commit", "--quiet", container, name, timeout=600)
            finally:
                buildah("rm", container, check=False)
        if found:
            buildah("rmi", found["FromImageID"], check=False)
    return name, True


def build(tag: str) -> None:
    """The real Dockerfile from the repository root, resolving FROM from local storage only.

    Docker format, as `docker build` makes it: the OCI config has no field for HEALTHCHECK, and buildah
    drops it there.
    """
    buildah("bud", "--isolation", "chroot", "--pull=never", "--format", "docker",
            "--file", str(ROOT / "Dockerfile"), "--tag", tag, str(ROOT), timeout=900)  # fmt: skip
