"""The `zenml-hf-registry` command line: the local Hub and the registry tools.

Heavy modules (the emulator's FastAPI app, ZenML) are imported inside the commands that need
them, so `zenml-hf-registry --help` answers at once.
"""

from __future__ import annotations

from pathlib import Path

import click

from zenml_hf_registry._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
def hub_serve(host: str, port: int, data_dir: str, tokens: tuple[str, ...]) -> None:
    """Run the local Hub in the foreground until interrupted."""
    from zenml_hf_registry.hub.server import serve_forever
    from zenml_hf_registry.hub.settings import HubSettings, TokenSpec

    settings = HubSettings(
        data_dir=Path(data_dir), tokens=tuple(TokenSpec.parse(spec) for spec in tokens)
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
    import json

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


def main() -> None:
    """Entry point for `python -m zenml_hf_registry`."""
    cli()
