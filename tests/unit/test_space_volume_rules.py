"""The shape rules of Space volumes, and how the sandbox binds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zenml_hf_registry.hub.errors import BadRequest
from zenml_hf_registry.hub.spaces.sandbox import Sandbox
from zenml_hf_registry.hub.spaces.volumes import Mount, parse_volumes

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


def test_the_sandbox_binds_volumes_outermost_first_and_read_only_unless_writable(
    tmp_path: Path,
) -> None:
    argv = Sandbox("/usr/bin/bwrap").wrap(
        ["python", "app.py"],
        files=tmp_path,
        home=tmp_path,
        workdir=None,
        hidden=[],
        mounts=[
            Mount(tmp_path / "model", "/data/model", read_only=True),
            Mount(tmp_path / "bucket", "/data", read_only=False),
        ],
    )
    binds = [
        argv[i : i + 3] for i, a in enumerate(argv) if a.endswith("bind") and "/data" in argv[i + 2]
    ]
    assert binds == [
        ["--bind", str(tmp_path / "bucket"), "/data"],
        ["--ro-bind", str(tmp_path / "model"), "/data/model"],
    ]
