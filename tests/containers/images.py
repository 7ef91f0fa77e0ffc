"""Tiny images made offline for the Docker tests: no Docker Hub, only Debian's static busybox."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

BUSYBOX = Path(shutil.which("busybox") or "/bin/busybox")


def busybox_rootfs_tar() -> bytes:
    """A root filesystem holding a static busybox and the few applets the tests call."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("bin", "tmp", "www"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(BUSYBOX), arcname="bin/busybox")
        applets = ("sh", "echo", "cat", "env", "httpd", "sleep", "mkdir", "ln", "ls", "id", "wc")
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    return buffer.getvalue()


def import_busybox_image(client: Any, repository: str, tag: str = "latest") -> str:
    """Import the busybox root filesystem as `repository:tag` and return that reference."""
    if not BUSYBOX.exists():
        raise RuntimeError("busybox is not installed (Debian package busybox-static)")
    client.api.import_image_from_data(
        busybox_rootfs_tar(),
        repository=repository,
        tag=tag,
        changes=["ENV PATH=/bin", 'CMD ["/bin/sh"]'],
    )
    return f"{repository}:{tag}"
