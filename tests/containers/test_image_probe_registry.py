"""The pullability probe against Debian's docker-registry: open, and behind htpasswd."""

from __future__ import annotations

from typing import Any

import pytest

from zenml_hf_registry.images import ImageNotPublicError, ImageReference, probe_public_image

pytestmark = pytest.mark.docker


def test_an_image_in_an_open_registry_is_public_and_pinned_to_its_pushed_digest(
    pushed_image: str, docker_client: Any
) -> None:
    digest = probe_public_image(pushed_image)
    assert digest == docker_client.images.get_registry_data(pushed_image).id
    pinned = ImageReference.parse(pushed_image).pinned(digest)
    assert probe_public_image(pinned) == digest
    # The engine pulls the pinned reference as a Space's builder would.
    assert digest in docker_client.images.pull(pinned).attrs["RepoDigests"][0]


def test_an_image_behind_htpasswd_is_refused_before_anything(authenticated_registry: str) -> None:
    image = f"{authenticated_registry}/private/base:latest"
    with pytest.raises(ImageNotPublicError) as refused:
        probe_public_image(image)
    assert "requires credentials to pull it" in str(refused.value)
    assert image in str(refused.value)
