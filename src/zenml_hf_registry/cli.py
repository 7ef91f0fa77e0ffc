"""The `zenml-hf-registry` command line: the local Hub and the registry tools.

Heavy modules (the emulator's FastAPI app, ZenML) are imported inside the commands that need
them, so `zenml-hf-registry --help` answers at once.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from zenml_hf_registry._version import __version__

if TYPE_CHECKING:
    from zenml_hf_registry.registry import PackageRecord, RegistryTarget

T = TypeVar("T")


# Exit codes, documented in the README.
EXIT_FAILURE = 1  # the operation failed (a publish or pull that could not be verified, ...)
EXIT_USAGE = 2  # a bad command line or input (click's own code for usage errors)
EXIT_ACCESS = 3  # the Hub or registry refused the token
EXIT_NOT_FOUND = 4  # no such repo, revision or package
EXIT_UNAVAILABLE = 5  # the Hub could not be reached or kept failing; the port is in use


def _exit_code_and_message(exc: Exception) -> tuple[int, str] | None:
    """How an expected failure is shown: one line and an exit code; None for a bug.

    Input values are never echoed (a rejected value may be a token).
    """
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from pydantic import ValidationError

    from zenml_hf_registry.errors import (
        ConfigurationError,
        HfRegistryError,
        HubAccessError,
        HubUnavailableError,
        SnapshotNotFoundError,
    )

    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        return EXIT_USAGE, problems
    if isinstance(exc, SnapshotNotFoundError | RepositoryNotFoundError | RevisionNotFoundError):
        return EXIT_NOT_FOUND, str(exc).splitlines()[0]
    if isinstance(exc, EntryNotFoundError):
        return EXIT_NOT_FOUND, str(exc).splitlines()[0]
    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, HubAccessError):
        return EXIT_ACCESS, str(exc)
    if isinstance(exc, HubUnavailableError):
        return EXIT_UNAVAILABLE, str(exc)
    if isinstance(exc, HfRegistryError):
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, HfHubHTTPError):
        return EXIT_FAILURE, str(exc).splitlines()[0]
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return EXIT_UNAVAILABLE, f"cannot listen: {exc.strerror} (choose another --port, or 0)"
    if isinstance(exc, ValueError) and type(exc).__module__.startswith("huggingface_hub"):
        # huggingface_hub's validators (HFValidationError, HfUriError): bad input it read.
        return EXIT_USAGE, str(exc).splitlines()[0]
    return None


class _Cli(click.Group):
    """The command group that shows expected failures as one line with a documented code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            shown = _exit_code_and_message(exc)
            if shown is None:
                raise
            code, message = shown
            click.echo(f"Error: {message}", err=True)
            ctx.exit(code)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="zenml-hf-registry")
def cli() -> None:
    """Ship ZenML pipelines to Hugging Face Spaces and model snapshots to a private registry."""


@cli.group()
def hub() -> None:
    """The local Hugging Face Hub emulator (offline development, demos and tests)."""


@hub.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8077, show_default=True, type=click.IntRange(0, 65535), help="0 picks one."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, writable=True),
    default=".hub-data",
    show_default=True,
    help="Where repos, blobs and the metadata database live; reused across restarts.",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="TOKEN[:USER[:ROLE[:ORG,ORG...]]]",
    help="Accept this token (repeatable). ROLE is read or write (default write).",
)
@click.option(
    "--registry",
    "registries",
    multiple=True,
    metavar="ORG/NAME[:public]",
    help="Serve a package registry at /ORG/NAME/huggingface (private unless ':public').",
)
@click.option(
    "--registry-token",
    "registry_tokens",
    multiple=True,
    metavar="ORG/NAME=TOKEN[:read]",
    help="A token of a registry (write unless ':read').",
)
@click.option(
    "--space-runtime",
    type=click.Choice(["process", "docker"]),
    default="process",
    show_default=True,
    help="Run Spaces as local processes or as Docker containers.",
)
@click.option(
    "--space-workdir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Working directory of process-runtime Spaces.",
)
def hub_serve(
    host: str,
    port: int,
    data_dir: str,
    tokens: tuple[str, ...],
    registries: tuple[str, ...],
    registry_tokens: tuple[str, ...],
    space_runtime: str,
    space_workdir: Path | None,
) -> None:
    """Run the local Hub in the foreground until interrupted."""
    from zenml_hf_registry.hub.server import serve_forever
    from zenml_hf_registry.hub.settings import HubSettings, RegistrySpec, TokenRole, TokenSpec

    by_realm: dict[str, list[TokenSpec]] = {}
    for item in registry_tokens:
        realm, sep, rest = item.partition("=")
        value, _, role = rest.partition(":")
        if not sep or not value:
            raise click.BadParameter(
                f"{item!r} is not ORG/NAME=TOKEN", param_hint="--registry-token"
            )
        org = realm.split("/", 1)[0]
        by_realm.setdefault(realm, []).append(
            TokenSpec(token=value, user=org, role=TokenRole(role or "write"))
        )
    specs = []
    for item in registries:
        realm, _, visibility = item.partition(":")
        org, sep, name = realm.partition("/")
        if not sep:
            raise click.BadParameter(f"{item!r} is not ORG/NAME", param_hint="--registry")
        specs.append(
            RegistrySpec(
                org=org,
                name=name,
                private=visibility != "public",
                tokens=tuple(by_realm.get(realm, ())),
            )
        )
    settings = HubSettings(
        data_dir=Path(data_dir),
        tokens=tuple(TokenSpec.parse(spec) for spec in tokens),
        registries=tuple(specs),
        space_runtime=space_runtime,
        space_workdir=space_workdir,
    )
    serve_forever(settings, host=host, port=port, echo=click.echo)


@cli.command("invoke")
@click.argument("deployment")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A pipeline parameter (repeatable); values are parsed as JSON when they can be.",
)
@click.option("--json", "json_params", help="All parameters as one JSON object.")
@click.option("--timeout", default=300, show_default=True, help="Seconds to wait for the run.")
def invoke(deployment: str, params: tuple[str, ...], json_params: str | None, timeout: int) -> None:
    """Invoke a Space deployment, through the Hub's gate for private Spaces.

    `zenml deployment invoke` sends ZenML's auth key, which a private Space's gate does not
    accept; this command sends the deployer's Hugging Face token instead.
    """
    from zenml_hf_registry.deployer.invoke import invoke_space_deployment

    parameters: dict[str, object] = {}
    if json_params:
        try:
            loaded = json.loads(json_params)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--json") from exc
        if not isinstance(loaded, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--json")
        parameters.update(loaded)
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        try:
            parameters[key] = json.loads(value)
        except ValueError:
            parameters[key] = value
    try:
        result = invoke_space_deployment(deployment, parameters, timeout=timeout)
    except Exception as exc:  # ZenML's deployer errors: shown as a message, not a traceback
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, indent=2) if not isinstance(result, str) else result)


def _registry_target(
    registry: str, token: str | None, endpoint: str | None, api_url: str | None
) -> RegistryTarget:
    from zenml_hf_registry.registry import RegistryTarget

    org, sep, name = registry.partition("/")
    if not sep:
        raise click.BadParameter("use ORG/REGISTRY, e.g. acme/models", param_hint="--registry")
    try:
        return RegistryTarget(
            org=org, registry=name, token=token, endpoint=endpoint, api_url=api_url
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--registry") from exc


_registry_options = [
    click.option("--registry", required=True, metavar="ORG/REGISTRY", help="Target registry."),
    click.option(
        "--registry-endpoint",
        metavar="URL",
        help="Hub-protocol endpoint of the registry "
        "[default: https://packages.buildkite.com/ORG/REGISTRY/huggingface].",
    ),
    click.option("--registry-api", metavar="URL", help="Base URL of the package REST API."),
    click.option(
        "--registry-token",
        envvar="ZENML_HF_REGISTRY_TOKEN",
        help="Registry token [env: ZENML_HF_REGISTRY_TOKEN]. Never sent to the source Hub.",
    ),
]


def _with_registry_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_registry_options):
        command = option(command)
    return command


def _summary(record: PackageRecord, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
        ("package", record.name),
        ("registry", f"{record.registry} ({record.visibility or 'unknown visibility'})"),
        ("registry revision", record.registry_revision),
        ("file", record.file_name),
        ("size", f"{record.size} bytes ({len(record.files)} files)"),
        ("md5", record.md5),
        ("sha1", record.sha1),
        ("sha256", record.sha256),
        ("sha512", record.sha512),
        ("uploaded", f"{record.uploaded_bytes} bytes"),
        ("install", record.install_command),
    ):
        table.add_row(label, value)
    Console().print(table)


def _run_with_status(message: str, work: Callable[[Callable[[str], None]], T]) -> T:
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(message) as status:

        def progress(line: str) -> None:
            console.log(line)
            status.update(line)

        return work(progress)


@cli.command("publish")
@click.argument("repo_id", metavar="NS/REPO")
@click.option("--revision", default="main", show_default=True, help="Branch, tag or commit.")
@_with_registry_options
@click.option(
    "--source-endpoint",
    envvar="HF_ENDPOINT",
    default="https://huggingface.co",
    show_default=True,
    help="Source Hub [env: HF_ENDPOINT].",
)
@click.option("--source-token", envvar="HF_TOKEN", help="Token for the source Hub [env: HF_TOKEN].")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Hub cache to download into [default: the standard cache].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def publish(
    repo_id: str,
    revision: str,
    registry: str,
    registry_endpoint: str | None,
    registry_api: str | None,
    registry_token: str | None,
    source_endpoint: str,
    source_token: str | None,
    cache_dir: Path | None,
    as_json: bool,
) -> None:
    """Publish NS/REPO at one commit to a registry, and print the package record."""
    from zenml_hf_registry.registry import HubTarget, publish_snapshot

    target = _registry_target(registry, registry_token, registry_endpoint, registry_api)
    try:
        source = HubTarget(endpoint=source_endpoint, token=source_token)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--source-endpoint") from exc
    record = _run_with_status(
        f"publishing {repo_id}@{revision}",
        lambda progress: publish_snapshot(
            repo_id,
            revision=revision,
            source=source,
            registry=target,
            cache_dir=cache_dir,
            progress=progress,
        ),
    )
    if as_json:
        click.echo(record.model_dump_json(indent=2))
    else:
        _summary(record, "Published")


@cli.command("pull")
@click.argument("repo_id", metavar="NS/REPO")
@_with_registry_options
@click.option("--revision", help="Registry revision (package version) [default: latest].")
@click.option(
    "--local-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Download into this folder instead of the cache.",
)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--allow-unverified",
    is_flag=True,
    help="Download a package the registry gives no checksums for (refused by default).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def pull(
    repo_id: str,
    registry: str,
    registry_endpoint: str | None,
    registry_api: str | None,
    registry_token: str | None,
    revision: str | None,
    local_dir: Path | None,
    cache_dir: Path | None,
    allow_unverified: bool,
    as_json: bool,
) -> None:
    """Download a published snapshot and verify it: each file, then the package checksums."""
    from zenml_hf_registry.registry import pull_snapshot

    target = _registry_target(registry, registry_token, registry_endpoint, registry_api)
    record, folder = _run_with_status(
        f"pulling {repo_id}",
        lambda progress: pull_snapshot(
            repo_id,
            registry=target,
            revision=revision,
            local_dir=local_dir,
            cache_dir=cache_dir,
            progress=progress,
            allow_unverified=allow_unverified,
        ),
    )
    if as_json:
        click.echo(json.dumps({"path": str(folder), "record": record.model_dump(mode="json")}))
    else:
        _summary(record, f"Pulled into {folder}")


@cli.group()
def packages() -> None:
    """Packages of a registry."""


@packages.command("list")
@_with_registry_options
@click.option("--name", metavar="NS/REPO", help="Only this package.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def packages_list(
    registry: str,
    registry_endpoint: str | None,
    registry_api: str | None,
    registry_token: str | None,
    name: str | None,
    as_json: bool,
) -> None:
    """List packages, newest first."""
    from rich.console import Console
    from rich.table import Table

    from zenml_hf_registry.registry import list_packages

    target = _registry_target(registry, registry_token, registry_endpoint, registry_api)
    items = list_packages(target, name=name)
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    table = Table(title=f"Packages of {target.slug}")
    for column in ("name", "version", "created_at", "id"):
        table.add_column(column)
    for item in items:
        table.add_row(*(str(item.get(c, "")) for c in ("name", "version", "created_at", "id")))
    Console().print(table)


def main() -> None:
    """Entry point for `python -m zenml_hf_registry`."""
    cli()
