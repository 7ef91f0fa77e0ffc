"""Container image references: what a Space's `FROM` line may name."""

from __future__ import annotations

import re

from zenml_hf_registry.errors import ConfigurationError

__all__ = ["InvalidImageReferenceError", "validate_image_reference"]

# The distribution spec's reference grammar, as `FROM` accepts it:
# [domain[:port]/]path[:tag][@sha256:digest]; the first part is a domain only when it has a
# '.' or a ':' or is `localhost` (otherwise it is a lowercase path component).
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


class InvalidImageReferenceError(ConfigurationError):
    """An image reference a Dockerfile's FROM cannot use."""

    def __init__(self, image: str, reason: str) -> None:
        super().__init__(f"invalid image reference {image!r}: {reason}")
        self.image = image


def validate_image_reference(image: str) -> str:
    """Check the reference's syntax (the pullability probe comes with the images work)."""
    if not image or image != image.strip() or "\n" in image:
        raise InvalidImageReferenceError(image, "it is empty or has whitespace")
    expected = (
        "expected [registry[:port]/]repository[:tag][@sha256:<64 hex>] with a lowercase repository"
    )
    name, _, digest = image.partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidImageReferenceError(image, f"the digest is not sha256:<64 hex>; {expected}")
    parts = name.split("/")
    last, colon, tag = parts[-1].partition(":")
    if colon and not _TAG.match(tag):
        raise InvalidImageReferenceError(image, f"the tag {tag!r} is invalid; {expected}")
    parts[-1] = last
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _DOMAIN.match(parts[0]):
            raise InvalidImageReferenceError(image, f"the registry {parts[0]!r} is invalid")
        parts = parts[1:]
    if not all(_COMPONENT.match(part) for part in parts) or len(name) > 255:
        raise InvalidImageReferenceError(image, expected)
    return image
