"""The shape rules of Space volumes, and how the sandbox binds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zenml_hf_registry.hub.errors import BadRequest
from zenml_hf_registry.hub.spaces.sandbox import Sandbox
from zenml_hf_registry.hub.spaces.volumes import (
    Mount,
    UnsafeMountError,
    parse_volumes,
    prepare_mounts,
)

pytestmark = pytest.mark.unit


def test_repos_are_read_only_whatever_was_asked_and_paths_are_normalised() -> None:
    (model, bucket) = parse_volumes(
        [
            {"type": "model", "source": "acme/m", "mountPath": "/models/", "readOnly": False},
            {"type": "bucket", "source": "acme/b", "mountPath": "/data", "path": "/runs/"},
        ]
    )
    assert (model.mount_path, model.read_only, model.writable) == ("/models", True, False)
    assert (bucket.read_only, bucket.writable, bucket.path) == (None, True, "runs")
    assert model.body() == {
        "type": "model",
        "source": "acme/m",
        "mountPath": "/models",
        "readOnly": True,
    }


@pytest.mark.parametrize(
    ("volumes", "message"),
    [
        ({"volumes": []}, "must be a list"),
        ([{"type": "bucket", "source": "acme", "mountPath": "/d"}], "namespace/name"),
        ([{"type": "bucket", "source": "acme/b", "mountPath": "/"}], "reserved"),
        ([{"type": "bucket", "source": "acme/b", "mountPath": "/home/user"}], "hide"),
        ([{"type": "bucket", "source": "acme/b", "mountPath": "/d/../etc"}], "'..'"),
        ([{"type": "bucket", "source": "acme/b", "mountPath": "/d", "revision": "main"}], "repos"),
        ([{"type": "model", "source": "acme/m", "mountPath": "/d", "path": "../x"}], "path"),
        (
            [
                {"type": "bucket", "source": "acme/b", "mountPath": "/d"},
                {"type": "model", "source": "acme/m", "mountPath": "/d/"},
            ],
            "Two volumes",
        ),
    ],
)
def test_bad_volume_lists_are_refused(volumes: Any, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_volumes(volumes)
    assert message in refused.value.message


def test_the_sandbox_binds_volumes_outermost_first_from_descriptors_read_only_unless_writable(
    tmp_path: Path,
) -> None:
    argv = Sandbox("/usr/bin/bwrap").wrap(
        ["python", "app.py"],
        files=tmp_path,
        home=tmp_path,
        workdir=None,
        hidden=[],
        mounts=[
            (Mount(tmp_path, "model", "/data/model", read_only=True), 7),
            (Mount(tmp_path, "bucket", "/data", read_only=False), 8),
        ],
    )
    binds = [argv[i : i + 3] for i, a in enumerate(argv) if a.endswith("bind-fd")]
    assert binds == [["--bind-fd", "8", "/data"], ["--ro-bind-fd", "7", "/data/model"]]
    assert str(tmp_path / "bucket") not in argv  # no path for the host to resolve


def _planted(tmp_path: Path) -> Path:
    """A bucket's folder in which a Space left links to host folders."""
    bucket = tmp_path / "buckets" / "1"
    (bucket / "runs").mkdir(parents=True)
    (bucket / "to-root").symlink_to("/")
    (bucket / "runs" / "latest").symlink_to(tmp_path)
    (bucket / "file").write_text("not a folder")
    return bucket


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("to-root", "'to-root' is a symbolic link"),
        ("to-root/etc", "'to-root' is a symbolic link"),
        ("runs/latest", "'runs/latest' is a symbolic link"),
        ("file", "'file' is a symbolic link or a file"),
    ],
)
def test_a_mount_never_follows_a_link_below_its_root(
    tmp_path: Path, relative: str, message: str
) -> None:
    root = _planted(tmp_path)
    mount = Mount(root, relative, "/data", False, description="bucket acme/b", create=True)
    with pytest.raises(UnsafeMountError) as refused:
        prepare_mounts([mount])
    assert str(refused.value).startswith(f"bucket acme/b at /data: {message}")
    assert "never followed" in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["buckets"]  # nothing made outside
    assert not Path("/etc/to-root").exists()


def test_a_root_that_is_a_link_is_refused(tmp_path: Path) -> None:
    bucket = _planted(tmp_path)
    (tmp_path / "swapped").symlink_to(bucket / "runs")
    with pytest.raises(UnsafeMountError, match="cannot be opened"):
        Mount(tmp_path / "swapped", "", "/data", read_only=True).open()


def test_missing_sub_folders_are_made_and_nested_mount_points_checked(tmp_path: Path) -> None:
    root = _planted(tmp_path)
    bucket = Mount(root, "runs/new", "/data", read_only=False, create=True)
    nested = Mount(root, "runs", "/data/models/v1", read_only=True)
    prepare_mounts([bucket, nested])
    assert (root / "runs" / "new" / "models" / "v1").is_dir()

    (root / "runs" / "new" / "models" / "v1").rmdir()
    (root / "runs" / "new" / "models" / "v1").symlink_to("/etc")
    with pytest.raises(UnsafeMountError) as refused:
        prepare_mounts([bucket, nested])
    assert "volume at /data/models/v1 (inside the volume at /data)" in str(refused.value)
    assert "'models/v1' is a symbolic link" in str(refused.value)


def test_a_mount_point_inside_a_read_only_volume_is_not_made(tmp_path: Path) -> None:
    root = _planted(tmp_path)
    outer = Mount(root, "runs", "/data", read_only=True)
    inner = Mount(root, "", "/data/inner", read_only=True)
    with pytest.raises(UnsafeMountError, match="'inner' does not exist"):
        prepare_mounts([outer, inner])
    assert not (root / "runs" / "inner").exists()
