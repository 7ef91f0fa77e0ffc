"""The `zenml-hf-registry` command line: the local Hub and the registry tools.

Heavy modules (the emulator's FastAPI app, ZenML) are imported inside the commands that need
them, so `zenml-hf-registry --help` answers at once.
"""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from zenml_hf_registry._version import __version__

if TYPE_CHECKING:
    from zenml_hf_registry.registry import PackageRecord, RegistryTarget

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
    "--token-file",
    "token_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Accept the tokens in this file, one TOKEN[:USER[:ROLE[:ORG,...]]] a line (repeatable; "
    "'#' starts a comment). Keeps tokens out of `ps`.",
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
    token_files: tuple[Path, ...],
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
        tokens=tuple(
            TokenSpec.parse(spec)
            for spec in (*tokens, *(line for f in token_files for line in _token_lines(f)))
        ),
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

    A private Space's gate wants a Hugging Face token, not ZenML's auth key: this command
    sends the deployer's token (as `zenml deployment invoke` does once this package is
    installed).
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


@cli.group("deployer")
def deployer_group() -> None:
    """The Hugging Face deployer components of ZenML."""


@deployer_group.command("check")
@click.argument("name", required=False)
def deployer_check(name: str | None) -> None:
    """Check now what every deploy checks first: the token's secret, that the Hub answers and
    accepts the token, and that it may create Spaces in the organization.

    NAME is a deployer component (default: the active stack's). ZenML runs these checks at
    `zenml pipeline deploy`, before it builds anything; at `zenml deployer register` it runs
    no component code that could, so run this after registering.
    """
    from zenml.client import Client
    from zenml.deployers.exceptions import DeployerError
    from zenml.enums import StackComponentType
    from zenml.stack import StackComponent

    from zenml_hf_registry.deployer.deployer import HuggingFaceDeployer
    from zenml_hf_registry.errors import ConfigurationError

    client = Client()
    if name is None:
        models = client.active_stack_model.components.get(StackComponentType.DEPLOYER) or []
        if not models:
            raise click.UsageError("the active stack has no deployer: name one")
        model = models[0]
    else:
        try:
            model = client.get_stack_component(StackComponentType.DEPLOYER, name)
        except KeyError as exc:
            raise click.BadParameter(f"no deployer {name!r}", param_hint="NAME") from exc
    component = StackComponent.from_model(model)
    if not isinstance(component, HuggingFaceDeployer):
        raise click.UsageError(f"{model.name} is a {model.flavor_name} deployer, not Hugging Face")
    try:
        namespace = component.check_hub_access()
    except DeployerError as exc:
        raise ConfigurationError(str(exc)) from exc
    click.echo(
        f"{model.name}: the token may create Spaces in {namespace} at {component.config.endpoint}"
    )


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
        help="Registry token [env: ZENML_HF_REGISTRY_TOKEN]. Never sent to the source Hub. "
        "Prefer the environment or --registry-token-file: a command line shows in `ps`.",
    ),
    click.option(
        "--registry-token-file",
        type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
        help="Read the registry token from this file ('-': standard input).",
    ),
]


def _token_lines(path: Path) -> list[str]:
    """The non-empty, non-comment lines of a token file ('-': standard input)."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _token(token: str | None, token_file: Path | None, option: str) -> str | None:
    """The token from its option, its environment variable or its file; never two sources
    on the command line at once, and the file beats the environment."""
    if token_file is None:
        return token
    ctx = click.get_current_context()
    if token is not None and ctx.get_parameter_source(option) == ParameterSource.COMMANDLINE:
        raise click.UsageError(
            f"give --{option.replace('_', '-')} or --{option.replace('_', '-')}-file, not both"
        )
    lines = _token_lines(token_file)
    if len(lines) != 1 or len(lines[0].split()) != 1:
        raise click.BadParameter(
            "the file must hold the token alone, on one line",
            param_hint=f"--{option.replace('_', '-')}-file",
        )
    return lines[0]


def _with_registry_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_registry_options):
        command = option(command)
    return command


_FORMATS = ("table", "json", "yaml")


def _output_options(command: Callable[..., None]) -> Callable[..., None]:
    """`-o/--format table|json|yaml`, and `--json` as the short form of `-o json`."""
    command = click.option("--json", "as_json", is_flag=True, help="Same as -o json.")(command)
    return click.option(
        "-o",
        "--format",
        "output",
        type=click.Choice(_FORMATS),
        default="table",
        show_default=True,
        help="Output format. Nothing is ever cut to the terminal's width.",
    )(command)


def _emit(output: str, as_json: bool, data: Any, table: Callable[[], str]) -> None:
    """Print `data` as JSON or YAML, or the plain-text `table()`."""
    if as_json or output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, width=float("inf")), nl=False)
    else:
        click.echo(table())


def _columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows aligned in columns (like `docker ps --no-trunc`): values are never shortened."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def _record_table(record: PackageRecord, title: str) -> str:
    """A package record as `field  value` lines, checksums in full, then its files."""
    fields = (
        ("package", record.name),
        ("source commit", record.revision),
        ("registry", f"{record.registry} ({record.visibility or 'unknown visibility'})"),
        ("registry revision", record.registry_revision),
        ("package id", record.package_id or "-"),
        ("file", record.file_name),
        ("size", f"{record.size} bytes ({len(record.files)} files)"),
        ("md5", record.md5),
        ("sha1", record.sha1),
        ("sha256", record.sha256),
        ("sha512", record.sha512),
        ("pushed", record.pushed_at.isoformat() if record.pushed_at else "-"),
        ("uploaded", f"{record.uploaded_bytes} bytes"),
        ("install", record.install_command),
    )
    files = _columns(
        ("FILE", "SIZE", "SHA256 / GIT OID"),
        [(f.path, str(f.size), f.sha256 or f.git_oid or "-") for f in record.files],
    )
    width = max(len(label) for label, _ in fields)
    lines = [f"{label.ljust(width)}  {value}" for label, value in fields]
    return "\n".join([title, *lines, "", files])


def _say(line: str) -> None:
    click.echo(line, err=True)


def _progress_bars_for_terminals_only() -> None:
    """huggingface_hub's byte bars where stderr is a terminal; elsewhere none (a log or a pipe
    gets the one-line messages only). HF_HUB_DISABLE_PROGRESS_BARS=1 turns them off anywhere."""
    if not sys.stderr.isatty():
        from huggingface_hub.utils.tqdm import disable_progress_bars

        disable_progress_bars()


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
    "--source-token-file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    help="Read the source token from this file ('-': standard input).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Hub cache to download into [default: the standard cache].",
)
@_output_options
def publish(
    repo_id: str,
    revision: str,
    registry: str,
    registry_endpoint: str | None,
    registry_api: str | None,
    registry_token: str | None,
    registry_token_file: Path | None,
    source_endpoint: str,
    source_token: str | None,
    source_token_file: Path | None,
    cache_dir: Path | None,
    output: str,
    as_json: bool,
) -> None:
    """Publish NS/REPO at one commit to a registry, and print the package record.

    A byte bar shows the download from the source and the upload to the registry when
    stderr is a terminal.
    """
    from zenml_hf_registry.registry import HubTarget, publish_snapshot

    registry_token = _token(registry_token, registry_token_file, "registry_token")
    source_token = _token(source_token, source_token_file, "source_token")
    target = _registry_target(registry, registry_token, registry_endpoint, registry_api)
    try:
        source = HubTarget(endpoint=source_endpoint, token=source_token)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--source-endpoint") from exc
    _progress_bars_for_terminals_only()
    _say(f"publishing {repo_id}@{revision}")
    record = publish_snapshot(
        repo_id,
        revision=revision,
        source=source,
        registry=target,
        cache_dir=cache_dir,
        progress=_say,
    )
    _emit(
        output, as_json, record.model_dump(mode="json"), lambda: _record_table(record, "Published")
    )


@cli.command("pull")
@click.argument("repo_id", metavar="NS/REPO")
@_with_registry_options
@click.option(
    "--revision",
    help="Registry revision (package version), or the source commit a package holds "
    "(full, or its first 7+ hex digits) [default: latest].",
)
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
@_output_options
def pull(
    repo_id: str,
    registry: str,
    registry_endpoint: str | None,
    registry_api: str | None,
    registry_token: str | None,
    registry_token_file: Path | None,
    revision: str | None,
    local_dir: Path | None,
    cache_dir: Path | None,
    allow_unverified: bool,
    output: str,
    as_json: bool,
) -> None:
    """Download a published snapshot and verify it: each file, then the package checksums.

    A byte bar shows the download when stderr is a terminal.
    """
    from zenml_hf_registry.registry import pull_snapshot

    registry_token = _token(registry_token, registry_token_file, "registry_token")
    target = _registry_target(registry, registry_token, registry_endpoint, registry_api)
    _progress_bars_for_terminals_only()
    _say(f"pulling {repo_id}")
    record, folder = pull_snapshot(
        repo_id,
        registry=target,
        revision=revision,
        local_dir=local_dir,
        cache_dir=cache_dir,
        progress=_say,
        allow_unverified=allow_unverified,
    )
    _emit(
        output,
        as_json,
        {"path": str(folder), "record": record.model_dump(mode="json")},
        lambda: _record_table(record, f"Pulled into {folder}"),
    )


@cli.group()
def packages() -> None:
    """Packages of a registry."""


@packages.command("list")
@_with_registry_options
@click.option("--name", metavar="NS/REPO", help="Only this package.")
@_output_options
def packages_list(
    registry: str,
    registry_endpoint: str | None,
    registry_api: str | None,
    registry_token: str | None,
    registry_token_file: Path | None,
    name: str | None,
    output: str,
    as_json: bool,
) -> None:
    """List packages, newest first, each with the source commit it holds.

    `pull --revision` takes either commit.
    """
    from zenml_hf_registry.registry import list_package_versions

    registry_token = _token(registry_token, registry_token_file, "registry_token")
    target = _registry_target(registry, registry_token, registry_endpoint, registry_api)
    items = list_package_versions(target, name=name)
    _emit(
        output,
        as_json,
        [item.model_dump(mode="json") for item in items],
        lambda: _columns(
            ("NAME", "SOURCE COMMIT", "VERSION", "CREATED", "ID"),
            [(i.name, i.source_commit or "-", i.version, i.created_at or "-", i.id) for i in items],
        ),
    )


@packages.command("describe")
@click.argument("repo_id", metavar="NS/REPO")
@_with_registry_options
@click.option(
    "--revision",
    help="Registry revision, or the source commit a package holds [default: latest].",
)
@_output_options
def packages_describe(
    repo_id: str,
    registry: str,
    registry_endpoint: str | None,
    registry_api: str | None,
    registry_token: str | None,
    registry_token_file: Path | None,
    revision: str | None,
    output: str,
    as_json: bool,
) -> None:
    """Show one package: source commit, size, full checksums and files (nothing downloaded)."""
    from zenml_hf_registry.registry import describe_package

    registry_token = _token(registry_token, registry_token_file, "registry_token")
    target = _registry_target(registry, registry_token, registry_endpoint, registry_api)
    record = describe_package(repo_id, registry=target, revision=revision)
    _emit(
        output, as_json, record.model_dump(mode="json"), lambda: _record_table(record, record.name)
    )


def main() -> None:
    """Entry point for `python -m zenml_hf_registry`."""
    cli()
