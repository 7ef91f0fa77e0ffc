"""A trailing newline passes a `^...$` pattern under `re.match`: every validator that checks a
name, slug, key or reference must refuse one (it would end up in a header, a path, a Space
variable name or a Dockerfile)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from zenml_hf_registry.deployer.naming import validate_space_id
from zenml_hf_registry.flavors import HuggingFaceDeployerSettings, SpaceVolume
from zenml_hf_registry.images import validate_image_reference
from zenml_hf_registry.registry import RegistryTarget

pytestmark = pytest.mark.unit

CHECKS: dict[str, tuple[Callable[[str], object], str]] = {
    "space id": (validate_space_id, "acme/my-space"),
    "environment key": (lambda v: HuggingFaceDeployerSettings(environment={v: "1"}), "MY_KEY"),
    "secret key": (
        lambda v: HuggingFaceDeployerSettings(space_secrets={v: "{{s.k}}"}),
        "MY_SECRET",
    ),
    "volume source": (
        lambda v: SpaceVolume(type="model", source=v, mount_path="/model"),
        "acme/model",
    ),
    "image tag": (validate_image_reference, "ghcr.io/acme/app:1.0"),
    "image digest": (validate_image_reference, "ghcr.io/acme/app@sha256:" + "a" * 64),
    "registry slug": (lambda v: RegistryTarget(org=v, registry="models"), "acme"),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_valid_form_passes_and_a_trailing_newline_is_refused(name: str) -> None:
    check, valid = CHECKS[name]
    check(valid)
    with pytest.raises(ValueError, match=r"newline|not|invalid|may only|whitespace"):
        check(valid + "\n")
