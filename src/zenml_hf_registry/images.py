"""Container images for Spaces: what a `FROM` line may name, and whether a Space can pull it.

A Docker Space pulls its `FROM` image anonymously: the Hub's builders hold no registry
credentials. `probe_public_image` asks the image's registry exactly that question over the OCI
distribution API before any Space is created or changed, and returns the manifest digest so
the Space can be pinned to it (`FROM name@sha256:...`): a retagged image then cannot change a
running Space silently, and a new digest is exactly what triggers a rebuild.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

import requests

from zenml_hf_registry.errors import ConfigurationError

__all__ = [
    "ImageNotPublicError",
    "ImageReference",
    "InvalidImageReferenceError",
    "private_registry_kind",
    "probe_public_image",
    "validate_image_reference",
]

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


class ImageNotPublicError(ConfigurationError):
    """The Space could not pull the image: it needs credentials, is missing, or is unreachable."""

    def __init__(self, image: str, reason: str) -> None:
        super().__init__(
            f"The Space cannot pull the image {image}: {reason}. Hugging Face Spaces pull their "
            "image anonymously, so it must be publicly pullable: make its repository public, "
            "push it to a public registry (for example registry.hf.space), or set the deployer "
            "setting build_in_space=True to let the Space build the pipeline image itself."
        )
        self.image = image
        self.reason = reason


def validate_image_reference(image: str) -> str:
    """Check the reference's syntax, as a Dockerfile's `FROM` parses it."""
    if not image or image != image.strip() or "\n" in image:
        raise InvalidImageReferenceError(image, "it is empty or has whitespace")
    expected = (
        "expected [registry[:port]/]repository[:tag][@sha256:<64 hex>] with a lowercase repository"
    )
    name, _, digest = image.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise InvalidImageReferenceError(image, f"the digest is not sha256:<64 hex>; {expected}")
    parts = name.split("/")
    last, colon, tag = parts[-1].partition(":")
    if colon and not _TAG.fullmatch(tag):
        raise InvalidImageReferenceError(image, f"the tag {tag!r} is invalid; {expected}")
    parts[-1] = last
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _DOMAIN.fullmatch(parts[0]):
            raise InvalidImageReferenceError(image, f"the registry {parts[0]!r} is invalid")
        parts = parts[1:]
    if not all(_COMPONENT.fullmatch(part) for part in parts) or len(name) > 255:
        raise InvalidImageReferenceError(image, expected)
    return image


_DOCKER_HUB = "docker.io"
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference: where the registry is, which repository, which tag or digest."""

    registry: str  # host[:port] as written, or docker.io
    repository: str  # library/python for Docker Hub's official images
    tag: str | None
    digest: str | None
    name: str  # the reference without tag and digest, as written

    @classmethod
    def parse(cls, image: str) -> ImageReference:
        """Parse a reference that `validate_image_reference` accepts."""
        validate_image_reference(image)
        name, _, digest = image.partition("@")
        head, _, last = name.rpartition("/")
        last, _, tag = last.partition(":")
        name = f"{head}/{last}" if head else last
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
        else:
            registry, repository = _DOCKER_HUB, name
        if registry == _DOCKER_HUB and "/" not in repository:
            repository = f"library/{repository}"
        if not tag and not digest:
            tag = "latest"
        return cls(registry, repository, tag or None, digest or None, name)

    @property
    def api_base(self) -> str:
        """Base URL of the registry's distribution API; plain HTTP only on loopback."""
        host = "registry-1.docker.io" if self.registry == _DOCKER_HUB else self.registry
        return f"{'http' if _is_loopback(host) else 'https'}://{host}"

    def pinned(self, digest: str) -> str:
        """This image at `digest`: `name@sha256:...`."""
        return f"{self.name}@{digest}"


def _is_loopback(host: str) -> bool:
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    hostname = hostname.strip("[]")
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def probe_public_image(image: str, *, timeout: float = 15.0) -> str:
    """Check that `image` can be pulled without credentials; return its manifest digest.

    Speaks the OCI distribution API as an anonymous client: `HEAD /v2/<repo>/manifests/<ref>`,
    and when the registry answers 401 with a Bearer challenge (Docker Hub, GHCR,
    registry.hf.space), fetches an anonymous token from the challenge's realm and asks again.
    A Basic challenge, a refused token, 403 or 404 mean the Space could not pull it.

    Raises:
        InvalidImageReferenceError: The reference is malformed.
        ImageNotPublicError: The image needs credentials, does not exist, or the registry
            cannot be reached; the message names the image and the ways out.
    """
    ref = ImageReference.parse(image)
    url = f"{ref.api_base}/v2/{ref.repository}/manifests/{ref.digest or ref.tag}"
    headers = {"Accept": _MANIFEST_TYPES}
    with requests.Session() as session:
        session.trust_env = False  # no credentials from ~/.netrc: ask as the Hub's builder would
        try:
            response = session.head(url, headers=headers, timeout=timeout, allow_redirects=True)
            if response.status_code == 401:
                token = _anonymous_token(session, ref, response, image, timeout)
                headers["Authorization"] = f"Bearer {token}"
                response = session.head(url, headers=headers, timeout=timeout, allow_redirects=True)
            if response.status_code == 200 and not response.headers.get("Docker-Content-Digest"):
                response = session.get(url, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise ImageNotPublicError(
                image, f"its registry {ref.registry} could not be reached ({type(exc).__name__})"
            ) from exc
    if response.status_code in (401, 403):
        # Registries answer so for private and for missing repositories alike.
        raise ImageNotPublicError(
            image, f"its registry {ref.registry} refuses anonymous pulls of it (private or missing)"
        )
    if response.status_code == 404:
        raise ImageNotPublicError(image, f"it does not exist in {ref.registry}")
    if response.status_code != 200:
        raise ImageNotPublicError(
            image, f"its registry {ref.registry} answered HTTP {response.status_code}"
        )
    digest = response.headers.get("Docker-Content-Digest") or (
        "sha256:" + hashlib.sha256(response.content).hexdigest()
    )
    if ref.digest and digest != ref.digest:
        raise ImageNotPublicError(
            image, f"its registry {ref.registry} serves digest {digest} for it instead"
        )
    return digest


def _anonymous_token(
    session: requests.Session,
    ref: ImageReference,
    challenge: requests.Response,
    image: str,
    timeout: float,
) -> str:
    header = challenge.headers.get("WWW-Authenticate", "")
    scheme = header.split(" ", 1)[0].lower()
    if scheme != "bearer":
        raise ImageNotPublicError(
            image, f"its registry {ref.registry} requires credentials to pull it"
        )
    params = dict(_CHALLENGE.findall(header))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise ImageNotPublicError(
            image, f"its registry {ref.registry} sent an unusable token realm {realm!r}"
        )
    params.setdefault("scope", f"repository:{ref.repository}:pull")
    response = session.get(realm, params=params, timeout=timeout)
    if response.status_code != 200:
        raise ImageNotPublicError(
            image, f"its registry {ref.registry} refused an anonymous pull token"
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    # A token service answers an object (Docker's token spec); anything else is no token.
    token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ImageNotPublicError(
            image, f"its registry {ref.registry} refused an anonymous pull token"
        )
    return token


# Registries whose repositories are private unless made public with extra steps: a Space
# cannot pull from them with the defaults, so users hear about it when the stack is set up.
_PRIVATE_KINDS = (
    (
        re.compile(r"^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?(/|$)"),
        "Amazon ECR",
    ),
    (re.compile(r"^([a-z]+\.)?gcr\.io(/|$)"), "Google Container Registry"),
    (re.compile(r"^[a-z0-9-]+-docker\.pkg\.dev(/|$)"), "Google Artifact Registry"),
    (re.compile(r"^[a-z0-9]+\.azurecr\.io(/|$)"), "Azure Container Registry"),
)


def private_registry_kind(uri: str) -> str | None:
    """The name of a registry kind that is private by default (ECR, GCR, Artifact Registry,
    ACR) when `uri` points at one; None otherwise (Docker Hub, GHCR, public.ecr.aws, ...)."""
    host = uri.split("://", 1)[-1].lower()
    for pattern, kind in _PRIVATE_KINDS:
        if pattern.match(host):
            return kind
    return None
