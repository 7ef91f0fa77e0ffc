"""Space-build mode: the Space builds the pipeline image itself from ZenML's build context.

With `build_in_space`, nothing is built or pushed here: no container registry and no local
Docker engine are needed. The files ZenML would send to an image builder — its generated
Dockerfile, the requirements files and the source root (honouring `.dockerignore`) — become
the Space repo's files, and the Hub builds the image from them like any Docker Space.

`read_build_context` holds the checks, with no ZenML in it: the context must stay under a size
limit, and no file may carry the deployer's token. `zenml_build_context` asks ZenML for the
context exactly as its own image build makes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from zenml_hf_registry.errors import ConfigurationError

if TYPE_CHECKING:
    from zenml.models import PipelineSnapshotResponse
    from zenml.stack import Stack

__all__ = [
    "REPO_FORBIDDEN_FOLDERS",
    "BuildContextError",
    "SpaceBuildContext",
    "read_build_context",
    "zenml_build_context",
]

_MB = 1024 * 1024
_LARGEST_SHOWN = 5
# Folders the Hub refuses in a commit (huggingface_hub's FORBIDDEN_FOLDERS): a source root's
# .git holds nothing the image needs, so they are left out rather than refused.
REPO_FORBIDDEN_FOLDERS = frozenset({".git", ".cache"})


class BuildContextError(ConfigurationError):
    """The build context cannot go into a Space repo as it is."""


@dataclass(frozen=True)
class SpaceBuildContext:
    """What ZenML would hand its image builder: the Dockerfile and the context's files."""

    dockerfile: str  # ZenML's generated Dockerfile, FROM the parent image
    files: dict[str, str]  # path in the context -> path on disk (the source root's files)
    generated: dict[str, str]  # path in the context -> content (requirements files)
    root: str | None


def _human(size: int) -> str:
    if size >= _MB:
        return f"{size / _MB:.1f} MB"
    return f"{size / 1024:.1f} kB" if size >= 1024 else f"{size} B"


def _largest_parts(sizes: Mapping[str, int]) -> str:
    """The top-level entries that weigh most, e.g. `.venv/ 480.2 MB, data.csv 12.0 MB`."""
    parts: dict[str, int] = {}
    for path, size in sizes.items():
        first, *rest = PurePosixPath(path).parts
        key = f"{first}/" if rest else first
        parts[key] = parts.get(key, 0) + size
    largest = sorted(parts.items(), key=lambda item: (-item[1], item[0]))[:_LARGEST_SHOWN]
    return ", ".join(f"{name} {_human(size)}" for name, size in largest)


def read_build_context(
    context: SpaceBuildContext,
    *,
    limit_mb: int,
    secrets: Iterable[str],
    reserved: Iterable[str] = (),
) -> dict[str, bytes]:
    """The context's files as Space repo files, after checking them; nothing is sent yet.

    Args:
        context: The build context.
        limit_mb: Largest total size allowed, in MiB.
        secrets: Values that must not appear in any file (the deployer's token).
        reserved: Paths the Space's own files take (README.md, Dockerfile); the context's
            files of those names are left out, as are files under .git/ and .cache/.

    Returns:
        Path in the Space repo -> content, the Dockerfile not included.

    Raises:
        BuildContextError: The context is over the limit, or a file holds a secret.
    """
    skip = set(reserved) | {
        path
        for path in context.files
        if REPO_FORBIDDEN_FOLDERS.intersection(PurePosixPath(path).parts)
    }
    sizes = {
        path: Path(source).stat().st_size
        for path, source in context.files.items()
        if path not in skip
    }
    sizes.update({path: len(text.encode()) for path, text in context.generated.items()})
    total = sum(sizes.values())
    if total > limit_mb * _MB:
        where = f" in {context.root}" if context.root else ""
        raise BuildContextError(
            f"The build context is {_human(total)}, over the {limit_mb} MB that build_in_space "
            f"commits to a Space (setting build_context_limit_mb). Largest parts: "
            f"{_largest_parts(sizes)}. Leave out data, models and virtualenvs with a "
            f".dockerignore{where}, or raise the limit."
        )
    files: dict[str, bytes] = {}
    for path, source in sorted(context.files.items()):
        if path in skip:
            continue
        files[path] = Path(source).read_bytes()
    files.update({path: text.encode() for path, text in context.generated.items()})
    needles = [secret.encode() for secret in secrets if secret]
    for path, content in files.items():
        if any(needle in content for needle in needles):
            raise BuildContextError(
                f"The build context file {path!r} holds the deployer's Hugging Face token; "
                "build_in_space commits every context file to the Space repo. Add the file "
                "to .dockerignore, or move the token out of it."
            )
    return files


def zenml_build_context(
    snapshot: PipelineSnapshotResponse, stack: Stack, parent_image: str
) -> SpaceBuildContext:
    """The build context ZenML's own image build makes for `snapshot`'s deployment image.

    The same requirements (stack, integrations, the deployment app's), apt packages and
    Dockerfile as `PipelineDockerImageBuilder.build_docker_image`, with the source root's files
    always included: the Space has no other way to get the code.

    Raises:
        BuildContextError: The Docker settings ask for a build the Space cannot make.
    """
    from zenml.config.docker_settings import DockerBuildConfig
    from zenml.deployers.utils import load_deployment_requirements
    from zenml.image_builders import BuildContext
    from zenml.integrations.registry import integration_registry
    from zenml.utils import source_utils
    from zenml.utils.pipeline_docker_image_builder import PipelineDockerImageBuilder

    configuration = snapshot.pipeline_configuration
    docker = configuration.docker_settings
    if docker.dockerfile:
        raise BuildContextError(
            "build_in_space builds FROM DockerSettings.parent_image and cannot also build "
            f"DockerSettings.dockerfile ({docker.dockerfile}): build and push that image "
            "publicly and name it as parent_image."
        )
    if docker.skip_build:
        raise BuildContextError(
            "build_in_space builds the pipeline image in the Space, but DockerSettings."
            "skip_build asks for no build: turn one of them off."
        )
    extra: dict[str, list[str]] = {}
    if docker.install_deployment_requirements:
        extra[".zenml_deployment_requirements"] = load_deployment_requirements(
            configuration.deployment_settings
        )
    requirements = PipelineDockerImageBuilder.gather_requirements_files(
        docker_settings=docker, stack=stack, log=False, extra_requirements_files=extra
    )
    apt_packages = list(docker.apt_packages)
    if docker.install_stack_requirements:
        apt_packages += stack.apt_packages
    for name in docker.required_integrations:
        apt_packages += integration_registry.integrations[name].APT_PACKAGES
    # ZenML 0.98's own Dockerfile generator (pinned): the image is the one its build makes.
    dockerfile = PipelineDockerImageBuilder._generate_zenml_pipeline_dockerfile(
        parent_image=parent_image,
        docker_settings=docker,
        requirements_files=requirements,
        apt_packages=apt_packages,
    )
    build_config = docker.build_config or DockerBuildConfig()
    root = source_utils.get_source_root()
    context = BuildContext(
        root=root, dockerignore_file=build_config.dockerignore or docker.dockerignore
    )
    return SpaceBuildContext(
        dockerfile=dockerfile,
        # Docker's walk lists directories too; a repo holds files (symlinks as their target).
        files={path: src for path, src in context.get_files().items() if Path(src).is_file()},
        generated={name: content for name, content, _ in requirements},
        root=root,
    )
