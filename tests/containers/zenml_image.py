"""A ZenML-ready parent image made offline: Debian from its own mirror, Python packages from
a wheelhouse downloaded on the host. No Docker Hub involved.

The image holds this checkout's package (and so ZenML) in /opt/venv, and a user with UID 1000
and a home, as Hugging Face's Docker Spaces documentation asks of Space images. Its tag hashes
the package's sources, so a code change builds a new one and an unchanged tree reuses it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BASE = "zhr-tests/debian-python:bookworm"
MIRROR = "http://deb.debian.org/debian"
# What ZenML's pipeline image build installs on top (its deployment app's requirements, and the
# serving example's `DockerSettings` requirements, pinned by the `examples` extra): in the
# parent already, so the offline build finds them satisfied.
EXTRA = (
    "Jinja2",
    "asgiref~=3.10.0",
    "secure~=1.0.1",
    *tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "examples"
    ],
)
DOCKERFILE = """\
FROM {base}
COPY wheels /wheels
RUN python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels \\
    zenml-hf-registry {extra} \\
 && rm -rf /wheels \\
 && useradd --create-home --uid 1000 user
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    HOME=/home/user
"""


def _sources_hash() -> str:
    digest = hashlib.sha256(DOCKERFILE.encode() + repr(EXTRA).encode())
    for path in sorted([ROOT / "pyproject.toml", *(ROOT / "src").rglob("*.py")]):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _has_image(client: Any, reference: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(reference)
    except ImageNotFound:
        return False
    return True


def _base_image(client: Any, work: Path) -> None:
    if _has_image(client, BASE):
        return
    rootfs = work / "rootfs"
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "bookworm",
            str(rootfs),
            MIRROR,
        ],
        check=True,
        capture_output=True,
    )
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        shutil.rmtree(rootfs / cache, ignore_errors=True)
    archive = work / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
    repository, tag = BASE.split(":")
    client.api.import_image_from_file(str(archive), repository=repository, tag=tag)


def pushed_zenml_parent_image(client: Any, registry: str) -> str:
    """The parent image, pushed to `registry`; returns the reference there.

    Tests name it by this reference, never by its local tag: once pushed, the image has a repo
    digest, and ZenML then pulls a parent named by its local tag from Docker Hub.
    """
    from filelock import FileLock

    with FileLock(Path(tempfile.gettempdir()) / "zhr-tests-zenml-parent.lock"):
        local = _build_parent_image(client)
        repository = f"{registry}/zhr-tests/zenml-parent"
        tag = local.rsplit(":", 1)[1]
        client.images.get(local).tag(repository, tag=tag)
        for line in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in line:
                raise RuntimeError(f"pushing {repository}:{tag}: {line['error']}")
    return f"{repository}:{tag}"


def _build_parent_image(client: Any) -> str:
    from docker.errors import BuildError

    reference = f"zhr-tests/zenml-parent:{_sources_hash()}"
    if _has_image(client, reference):
        return reference
    with tempfile.TemporaryDirectory(prefix="zenml-parent-") as tmp:
        work = Path(tmp)
        _base_image(client, work)
        context = work / "context"
        wheels = context / "wheels"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        subprocess.run(
            [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
            check=True,
            capture_output=True,
        )
        (package,) = wheels.glob("zenml_hf_registry-*.whl")
        subprocess.run(
            [
                *pip,
                "download",
                "--quiet",
                "--only-binary=:all:",
                "--dest",
                str(wheels),
                str(package),
                *EXTRA,
            ],
            check=True,
            capture_output=True,
        )
        (context / "Dockerfile").write_text(
            DOCKERFILE.format(base=BASE, extra=" ".join(f"'{r}'" for r in EXTRA))
        )
        try:
            client.images.build(path=str(context), tag=reference, rm=True, forcerm=True)
        except BuildError as exc:
            log = "".join(str(chunk.get("stream", "")) for chunk in exc.build_log)
            raise RuntimeError(f"building {reference} failed: {exc}\n{log[-3000:]}") from exc
    return reference
