"""The local Hub serves one developer on loopback; a wider bind is refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from zenml_hf_registry.hub import HubSettings, LocalHub
from zenml_hf_registry.hub.server import SharedModeError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("host", "space_host"),
    [("0.0.0.0", "127.0.0.1"), ("127.0.0.1", "0.0.0.0")],  # noqa: S104 - what is refused
)
def test_a_bind_beyond_loopback_is_refused_before_anything_listens(
    tmp_path: Path, host: str, space_host: str
) -> None:
    settings = HubSettings(data_dir=tmp_path / "hub", space_host=space_host)
    hub = LocalHub(settings, host=host)
    with pytest.raises(SharedModeError, match="around the gate"):
        hub.start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = hub.port  # nothing was bound
