"""The whole deployer lifecycle through the real ZenML CLI, a local ZenML server and the local Hub.

`zenml pipeline deploy` -> RUNNING -> `zenml deployment invoke` -> logs, list, describe ->
unchanged re-provision (0 builds, 0 restarts) -> changed hardware (exactly 1 restart) ->
`zenml deployment delete` removes the Space. The Space runs on the local Hub's process
runtime, importing the example pipeline from this checkout (no image build).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from tests.conftest import hub_faults, space_counters
from tests.zenml_cli import ZENML, ZenML, free_port
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec

# One ZenML server and one local Hub for the module: keep its tests on one xdist worker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("zenml-e2e")]

ROOT = Path(__file__).resolve().parents[2]
HF_TOKEN = "e2e-sentinel-hf-token-0123456789"
REGISTRY_TOKEN = "e2e-sentinel-registry-token-9876543210"
PIPELINE = "examples.hello_pipeline.pipeline.hello_pipeline"


@pytest.fixture(scope="module")
def zenml(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZenML]:
    cli = ZenML(tmp_path_factory.mktemp("zenml-e2e"))
    cli("login", "--local", "--port", str(free_port()), timeout=180)
    try:
        yield cli
    finally:
        cli("logout", "--local", check=False, timeout=120)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    settings = HubSettings(
        data_dir=tmp_path_factory.mktemp("hub-e2e"),
        tokens=(TokenSpec(token=HF_TOKEN, user="alice", orgs=("acme",)),),
        registries=(
            RegistrySpec(
                org="acme",
                name="models",
                tokens=(TokenSpec(token=REGISTRY_TOKEN, user="acme", role=TokenRole.WRITE),),
            ),
        ),
        space_workdir=ROOT,
        space_startup_timeout=120,
    )
    with LocalHub(settings) as running:
        yield running


@pytest.fixture(scope="module")
def stack(zenml: ZenML, hub: LocalHub) -> str:
    """The documented setup script: secret, deployer and stack; no token on a command line."""
    output = zenml.setup_stack(HF_TOKEN, "--organization", "acme", "--endpoint", hub.url)
    assert HF_TOKEN not in output
    assert "hf-stack" in zenml("stack", "describe")
    return "hf-stack"


def describe(zenml: ZenML) -> str:
    return zenml("deployment", "describe", "hello", "--show-metadata")


def test_deploy_invoke_update_and_delete_through_the_zenml_cli(
    zenml: ZenML, hub: LocalHub, stack: str
) -> None:

    output = zenml(
        "pipeline",
        "deploy",
        PIPELINE,
        "--name",
        "hello",
        "--config",
        "examples/hello_pipeline/local_hub.yaml",
        "--timeout",
        "180",
        timeout=300,
    )
    assert HF_TOKEN not in output
    details = describe(zenml)
    assert "RUNNING" in details
    space_id = next(
        line.split(":", 1)[1].strip()
        for line in details.splitlines()
        if line.strip().startswith("space_id:")
    )
    assert space_id.startswith("acme/zenml-hello-")
    app_url = HfApi(endpoint=hub.url, token=HF_TOKEN).space_info(space_id).host
    assert app_url
    assert app_url in details  # the deployment URL is the app's, not the Hub page
    assert HF_TOKEN not in details

    invoked = zenml("deployment", "invoke", "hello", "--name=Alice")
    assert "Hello, Alice!" in invoked

    logs = zenml("deployment", "logs", "hello")
    assert "[build] build succeeded" in logs
    assert "[run]" in logs
    assert "Application startup complete" in logs
    assert "RUNNING" in zenml("deployment", "list")
    first = space_counters(hub, space_id)
    assert (first["builds"], first["restarts"]) == (1, 0)

    # Re-provisioning the same snapshot changes nothing on the Hub.
    zenml("deployment", "provision", "hello", timeout=300)
    assert space_counters(hub, space_id) == first

    # Changed hardware on the component: exactly one restart, no rebuild.
    zenml("deployer", "update", "hf", "--space_hardware=t4-small")
    zenml("deployment", "provision", "hello", timeout=300)
    after = space_counters(hub, space_id)
    assert (after["builds"], after["restarts"]) == (1, 1)
    assert "t4-small" in describe(zenml)
    assert "Hello, Bob!" in zenml("deployment", "invoke", "hello", "--name=Bob")

    # A new prefix moves the deployment to a new Space and deletes the old one.
    zenml("deployer", "update", "hf", "--space_prefix=team")
    zenml("deployment", "provision", "hello", timeout=300)
    moved = describe(zenml)
    assert "space_id: acme/team-hello-" in moved
    assert "RUNNING" in moved
    assert runtime_status(hub, space_id) == 404

    zenml("deployment", "delete", "hello", "-y")
    new_id = next(
        line.split(":", 1)[1].strip()
        for line in moved.splitlines()
        if line.strip().startswith("space_id:")
    )
    assert runtime_status(hub, new_id) == 404
    assert "hello" not in zenml("deployment", "list")


def follow_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Read a process's output until `marker` appears, then stop it; return what it printed."""
    assert process.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        for line in process.stdout:
            lines.append(line)
            if marker in line:
                break
    finally:
        timer.cancel()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = "".join(lines)
    assert marker in output, f"{marker!r} never appeared:\n{output}"
    return output


def read_until(
    process: subprocess.Popen[bytes], done: Callable[[bytes], bool], timeout: float
) -> bytes:
    """What an unbuffered process printed until `done` holds for it (fails after `timeout`)."""
    assert process.stdout is not None
    output = b""
    deadline = time.monotonic() + timeout
    while not done(output):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; printed so far:\n{output.decode()}"
        if select.select([process.stdout], [], [], left)[0]:
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"exited; printed:\n{output.decode()}"
            output += chunk
    return output


def runtime_status(hub: LocalHub, space_id: str) -> int:
    try:
        with urllib.request.urlopen(f"{hub.url}/api/spaces/{space_id}/runtime", timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_private_space_is_invoked_through_the_hubs_gate(
    zenml: ZenML, hub: LocalHub, stack: str, tmp_path: Path
) -> None:
    config = tmp_path / "private.yaml"
    config.write_text(
        (ROOT / "examples" / "hello_pipeline" / "local_hub.yaml").read_text()
        + "    private: true\n"
    )
    # `--attach` deploys, then follows the deployment's logs until interrupted.
    attached = subprocess.Popen(
        [
            *(str(ZENML), "pipeline", "deploy", PIPELINE, "--name", "hello-private"),
            *("--config", str(config), "--timeout", "180", "--attach"),
        ],
        env={**zenml.env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = follow_until(attached, "Application startup complete", timeout=300)
    assert "[build]" in seen
    assert HF_TOKEN not in seen
    assert "RUNNING" in zenml("deployment", "describe", "hello-private")

    # The gate refuses ZenML's auth key (the Hub answers 404, as for a missing Space)...
    space_id = ZenML.space_id(zenml("deployment", "describe", "hello-private", "--show-metadata"))
    app_url = HfApi(endpoint=hub.url, token=HF_TOKEN).space_info(space_id).host
    assert app_url
    with pytest.raises(urllib.error.HTTPError) as gate:
        urllib.request.urlopen(
            urllib.request.Request(
                app_url.rstrip("/") + "/invoke",
                data=b'{"parameters": {"name": "Eve"}}',
                headers={"Authorization": "Bearer not-an-hf-token"},
            ),
            timeout=30,
        )
    assert gate.value.code == 404
    # ...yet ZenML's own invoke passes it: this package sends the deployer's HF token for
    # private Spaces (read from its ZenML secret at call time), and never prints it.
    invoked = zenml("deployment", "invoke", "hello-private", "--name=Eve")
    assert "Hello, Eve!" in invoked
    assert HF_TOKEN not in invoked
    submitted = zenml("deployment", "invoke", "hello-private", "--name=Eve", "--no-wait")
    assert HF_TOKEN not in submitted
    assert "Invoked deployment 'hello-private'" in submitted
    # `zenml-hf-registry invoke` does the same.
    cli = Path(sys.executable).with_name("zenml-hf-registry")
    result = subprocess.run(
        [str(cli), "invoke", "hello-private", "-p", "name=Eve"],
        env=zenml.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Hello, Eve!" in result.stdout
    assert HF_TOKEN not in result.stdout + result.stderr

    # The Hub failing the delete keeps the record: the Space still exists and costs money.
    spaces = HfApi(endpoint=hub.url, token=HF_TOKEN).list_spaces(
        author="acme", search="hello-private"
    )
    (space,) = list(spaces)
    hub_faults(hub, "POST", method="DELETE", path="/api/repos/delete", status=500, times=50)
    failed = zenml("deployment", "delete", "hello-private", "-y", check=False)
    assert space.id in failed
    assert "hello-private" in zenml("deployment", "list")
    assert HfApi(endpoint=hub.url, token=HF_TOKEN).repo_exists(space.id, repo_type="space")
    # --force drops the record anyway, and says which Space it leaves behind.
    forced = zenml("deployment", "delete", "hello-private", "-y", "--force", check=False)
    assert "Forcing deletion" in forced
    assert space.id in forced
    assert "hello-private" not in zenml("deployment", "list")
    hub_faults(hub, "DELETE")
    HfApi(endpoint=hub.url, token=HF_TOKEN).delete_repo(space.id, repo_type="space")


def test_an_image_the_space_cannot_pull_is_refused_before_any_space_exists(
    zenml: ZenML, hub: LocalHub, stack: str, tmp_path: Path
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        image = f"127.0.0.1:{closed.getsockname()[1]}/acme/pipeline:1.0"
    config = tmp_path / "unpullable.yaml"
    config.write_text(
        (ROOT / "examples" / "hello_pipeline" / "local_hub.yaml")
        .read_text()
        .replace("local/zenml-hf-registry:dev", image)
        .replace("verify_image: false", "verify_image: true")
    )
    spaces_before = HfApi(endpoint=hub.url, token=HF_TOKEN).list_spaces(author="acme")
    output = zenml(
        "pipeline",
        "deploy",
        PIPELINE,
        "--name",
        "hello-unpullable",
        "--config",
        str(config),
        "--timeout",
        "60",
        check=False,
    )
    assert f"The Space cannot pull the image {image}" in output
    assert "publicly pullable" in output
    spaces_after = HfApi(endpoint=hub.url, token=HF_TOKEN).list_spaces(author="acme")
    assert [s.id for s in spaces_after] == [s.id for s in spaces_before]
    zenml("deployment", "delete", "hello-unpullable", "-y", check=False)


PUBLISH_PIPELINE = """\
import sys

from zenml import pipeline
from zenml.client import Client

from zenml_hf_registry.registry.steps import publish_model_snapshot, pull_model_snapshot

hub, sha, pulled = sys.argv[1:4]


@pipeline(enable_cache=False)
def publish_and_pull() -> None:
    publish_model_snapshot(
        repo_id="acme/hygiene-model",
        registry="acme/models",
        revision=sha,
        registry_endpoint=f"{hub}/acme/models/huggingface",
        source_endpoint=hub,
        source_secret="hf_token",
    )
    pull_model_snapshot(
        repo_id="acme/hygiene-model",
        registry="acme/models",
        local_dir=pulled,
        registry_endpoint=f"{hub}/acme/models/huggingface",
        after="publish_model_snapshot",
    )


# A run on a stack with a containerized deployer would build the deployer's image (ZenML
# builds for every component of the stack): publish from the default stack, as a training
# pipeline would.
client = Client()
previous = client.active_stack_model.name
client.activate_stack("default")
try:
    publish_and_pull()
finally:
    client.activate_stack(previous)
print("published and pulled")
"""


def publish_and_pull(zenml: ZenML, hub: LocalHub, work: Path) -> list[str]:
    """A model snapshot published and pulled by the ZenML steps (tokens from ZenML secrets),
    then by this package's CLI (tokens from the environment); their outputs."""
    api = HfApi(endpoint=hub.url, token=HF_TOKEN)
    api.create_repo("acme/hygiene-model", private=True)
    sha = api.upload_file(
        path_or_fileobj=b"weights" * 1000, path_in_repo="model.bin", repo_id="acme/hygiene-model"
    ).oid
    values = work / "registry-token.yaml"
    values.write_text(f'token: "{REGISTRY_TOKEN}"\n')
    outputs = [zenml("secret", "create", "registry_token", f"--values=@{values}")]
    values.unlink()
    script = work / "publish_pipeline.py"
    script.write_text(PUBLISH_PIPELINE)
    runs = [
        [sys.executable, str(script), hub.url, sha, str(work / "pulled-by-step")],
        [
            str(Path(sys.executable).with_name("zenml-hf-registry")),
            *("publish", "acme/hygiene-model", "--revision", sha, "--registry", "acme/models"),
            *("--registry-endpoint", f"{hub.url}/acme/models/huggingface"),
            *("--source-endpoint", hub.url),
        ],
        [
            str(Path(sys.executable).with_name("zenml-hf-registry")),
            *("pull", "acme/hygiene-model", "--registry", "acme/models"),
            *("--registry-endpoint", f"{hub.url}/acme/models/huggingface"),
            *("--local-dir", str(work / "pulled-by-cli")),
        ],
    ]
    env = {**zenml.env, "HF_TOKEN": HF_TOKEN, "ZENML_HF_REGISTRY_TOKEN": REGISTRY_TOKEN}
    for command in runs:
        result = subprocess.run(
            command, env=env, cwd=work, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    assert "published and pulled" in outputs[1]
    for folder in ("pulled-by-step", "pulled-by-cli"):
        assert (work / folder / "model.bin").read_bytes() == b"weights" * 1000
    return outputs


def test_the_tokens_appear_nowhere_observable(
    zenml: ZenML, hub: LocalHub, stack: str, tmp_path: Path
) -> None:
    """A whole deploy, invoke, logs, describe, publish, pull and delete, then a search for the
    sentinel tokens (the Hub's and the registry's) in everything a user or an attacker with
    read access could see (the ZenML secrets holding them, and the Authorization headers the
    Hub checked, excepted)."""
    sentinels = (HF_TOKEN, REGISTRY_TOKEN)
    outputs = [
        zenml(
            "pipeline",
            "deploy",
            PIPELINE,
            "--name",
            "hello-hygiene",
            "--config",
            "examples/hello_pipeline/local_hub.yaml",
            "--timeout",
            "180",
            timeout=300,
        ),
        zenml("deployment", "invoke", "hello-hygiene", "--name=Mallory"),
        zenml("deployment", "logs", "hello-hygiene"),
        zenml("deployment", "describe", "hello-hygiene", "--show-metadata"),
        zenml("deployment", "list"),
        zenml("deployer", "describe", "hf"),
        zenml("stack", "describe"),
    ]
    assert "Hello, Mallory!" in outputs[1]
    api = HfApi(endpoint=hub.url, token=HF_TOKEN)
    (space,) = list(api.list_spaces(author="acme", search="hello-hygiene"))
    variables = api.get_space_variables(space.id)
    run_log = "".join(api.fetch_space_logs(space.id))
    files = api.snapshot_download(space.id, repo_type="space", local_dir=tmp_path / "space")
    space_files = "".join(p.read_text() for p in Path(files).rglob("*") if p.is_file())
    outputs.append(zenml("deployment", "delete", "hello-hygiene", "-y"))
    outputs += publish_and_pull(zenml, hub, tmp_path)

    texts = [*outputs, json.dumps({k: v.value for k, v in variables.items()}), run_log]
    for sentinel in sentinels:
        for text in texts:
            assert sentinel not in text
        assert sentinel not in space_files
    # Everything the local Hub stored: database, blobs, logs, Space working files, packages.
    for path in Path(hub.settings.data_dir).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not [s for s in sentinels if s.encode() in content], path
    # Everything written beside the runs: pulled snapshots, caches, the ZenML artifact store.
    for root in (tmp_path, Path(zenml.env["ZENML_CONFIG_PATH"]), Path(os.environ["HF_HOME"])):
        for path in root.rglob("*"):
            if path.is_file() and path.suffix != ".db":
                content = path.read_bytes()
                assert not [s for s in sentinels if s.encode() in content], path
    # Everything ZenML stored (run metadata, step configs...), but the secrets by design.
    databases = list(Path(zenml.env["ZENML_CONFIG_PATH"]).rglob("*.db"))
    rows = [(t, row) for database in databases for t, row in sqlite_rows(database)]
    assert any("hello-hygiene" in row for _, row in rows)  # the search does see the records
    assert any("acme/hygiene-model@" in row for _, row in rows)  # and the package's metadata
    leaks = [(t, row) for t, row in rows if "secret" not in t and any(s in row for s in sentinels)]
    assert leaks == []


def sqlite_rows(database: Path) -> Iterator[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the schema
                yield table, repr(row)


def space_secrets_stored(hub: LocalHub, space_id: str) -> dict[str, str]:
    """The secret values the local Hub keeps for a Space (no Hub API returns them)."""
    from zenml_hf_registry.hub.repos import RepoType

    namespace, name = space_id.split("/")
    backend = hub.app.state.hub.spaces.repos
    repo = backend.get_repo("", RepoType.SPACE, namespace, name, None)
    return {k: v["value"] for k, v in (repo.attributes.get("secrets") or {}).items()}


@pytest.mark.timeout(1200)
def test_pipeline_deploy_update_costs_only_what_changed(
    zenml: ZenML, hub: LocalHub, stack: str, tmp_path: Path
) -> None:
    base = (ROOT / "examples" / "hello_pipeline" / "local_hub.yaml").read_text()

    def deploy(config_text: str, *flags: str) -> str:
        config = tmp_path / "costs.yaml"
        config.write_text(config_text)
        return zenml(
            *("pipeline", "deploy", PIPELINE, "--name", "hello-costs", "--config", str(config)),
            *("--timeout", "180", *flags),
            timeout=300,
        )

    deploy(base)
    space_id = ZenML.space_id(zenml("deployment", "describe", "hello-costs", "--show-metadata"))
    first = space_counters(hub, space_id)
    assert (first["builds"], first["restarts"]) == (1, 0)
    dockerfile = HfApi(endpoint=hub.url, token=HF_TOKEN).hf_hub_download(
        space_id, "Dockerfile", repo_type="space", local_dir=tmp_path / "space"
    )
    assert "deployment_id" not in Path(dockerfile).read_text()  # nothing per deploy in there

    # A new, equivalent snapshot: no build, no restart; the app keeps serving.
    output = deploy(base, "--update")
    assert "equivalent" in output
    assert space_counters(hub, space_id) == first
    assert "Hello, Ann!" in zenml("deployment", "invoke", "hello-costs", "--name=Ann")

    # Another snapshot (other pipeline parameters), same image: one restart, no build.
    changed = "parameters:\n  name: Space\n" + base
    deploy(changed, "--update")
    after = space_counters(hub, space_id)
    assert (after["builds"], after["restarts"]) == (1, 1)
    assert "Hello, Cy!" in zenml("deployment", "invoke", "hello-costs", "--name=Cy")

    # Hardware, a secret (by reference) and a variable in one redeploy: one start.
    values = tmp_path / "app-secret.yaml"
    values.write_text('api_key: "sentinel-app-secret"\n')
    zenml("secret", "create", "app_secret", f"--values=@{values}")
    deploy(
        changed
        + "    space_hardware: t4-small\n"
        + "    space_secrets:\n      API_KEY: '{{app_secret.api_key}}'\n"
        + "    environment:\n      GREETING_STYLE: plain\n",
        "--update",
    )
    batched = space_counters(hub, space_id)
    assert batched["restarts"] - after["restarts"] == 1, batched
    assert "Hello, Bo!" in zenml("deployment", "invoke", "hello-costs", "--name=Bo")
    stored = space_secrets_stored(hub, space_id)
    assert list(stored) == ["ZENML_HF_DEPLOYMENT"]
    environment = json.loads(stored["ZENML_HF_DEPLOYMENT"])["environment"]
    assert environment["API_KEY"] == "sentinel-app-secret"  # resolved, not `{{...}}`
    variables = HfApi(endpoint=hub.url, token=HF_TOKEN).get_space_variables(space_id)
    assert variables["GREETING_STYLE"].value == "plain"
    zenml("deployment", "delete", "hello-costs", "-y")


def test_plain_secrets_and_tokens_are_refused_before_anything_exists(
    zenml: ZenML, hub: LocalHub, stack: str, tmp_path: Path
) -> None:
    refused = zenml(
        *("deployer", "register", "hf-plain", "--flavor=huggingface"),
        "--token=sentinel-plain-token",
        check=False,
    )
    assert "zenml secret create hf_token" in refused
    assert "sentinel-plain-token" not in refused
    assert "hf-plain" not in zenml("deployer", "list")

    config = tmp_path / "plain.yaml"
    config.write_text(
        (ROOT / "examples" / "hello_pipeline" / "local_hub.yaml").read_text()
        + "    space_secrets:\n      API_KEY: sentinel-plain-value\n"
    )
    output = zenml(
        *("pipeline", "deploy", PIPELINE, "--name", "hello-plain", "--config", str(config)),
        check=False,
    )
    assert "{API_KEY: '{{my_secret.api_key}}'}" in output
    assert "sentinel-plain-value" not in output
    assert "hello-plain" not in zenml("deployment", "list")


def test_a_crashed_app_names_its_cause_and_logs_tail_as_docker_logs_does(
    zenml: ZenML, hub: LocalHub, stack: str, tmp_path: Path
) -> None:
    """A pipeline module the Space cannot import: the deploy fails with the import error (not
    "operational state is error"), describe shows it, and `logs --tail` counts lines."""
    (tmp_path / "crashing_pipeline.py").write_text(
        (ROOT / "examples" / "hello_pipeline" / "pipeline.py").read_text()
    )
    config = ROOT / "examples" / "hello_pipeline" / "local_hub.yaml"
    output = zenml(
        *("pipeline", "deploy", "crashing_pipeline.hello_pipeline", "--name", "crashing"),
        *("--config", str(config), "--timeout", "120"),
        check=False,
        timeout=300,
        cwd=tmp_path,
    )
    cause = "ModuleNotFoundError: No module named 'crashing_pipeline'"
    assert f"Failed to provision deployment crashing: The app crashed: {cause}" in output
    assert "zenml deployment logs crashing" in output

    details = zenml("deployment", "describe", "crashing", "--show-metadata")
    assert "ERROR" in details
    assert f"error_message: The app crashed: {cause}" in details
    assert not [c for c in "│╭╰\x1b" if c in details]

    logs = zenml("deployment", "logs", "crashing").splitlines()
    assert cause in "\n".join(logs)
    assert not [line for line in logs if "\x1b" in line]
    tail_two = zenml("deployment", "logs", "crashing", "--tail", "2").splitlines()
    assert tail_two == logs[-2:]
    assert zenml("deployment", "logs", "crashing", "--tail", "0").strip() == ""
    refused = subprocess.run(
        [str(ZENML), "deployment", "logs", "crashing", "--tail", "-1"],
        env=zenml.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "Invalid value for '--tail': must be 0 or more" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    zenml("deployment", "delete", "crashing", "-y")


@pytest.mark.timeout(600)  # a deploy, four ZenML CLI calls and a 45 s follow
def test_logs_of_a_running_app_follow_from_the_tail_and_cost_what_describe_costs(
    zenml: ZenML, hub: LocalHub, stack: str
) -> None:
    zenml(
        *("pipeline", "deploy", PIPELINE, "--name", "hello-logs"),
        *("--config", "examples/hello_pipeline/local_hub.yaml", "--timeout", "180"),
        timeout=300,
    )
    timings: dict[str, float] = {}
    for command in ("describe", "logs", "describe", "logs"):
        started = time.monotonic()
        output = zenml("deployment", command, "hello-logs")
        timings[command] = min(timings.get(command, 1e9), time.monotonic() - started)
    logs = output
    # Both are dominated by ZenML's start-up (and this machine's load: the margin is loose);
    # logs once waited 5 s more for the silent stream of a running app.
    assert timings["logs"] < timings["describe"] + 4, timings

    # Exactly the last 3 lines, then nothing until the app logs something new.
    follower = subprocess.Popen(
        [str(ZENML), "deployment", "logs", "hello-logs", "--follow", "--tail", "3"],
        env={**zenml.env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # where ZenML's CLI prints log lines
        bufsize=0,
    )
    try:
        backlog = read_until(follower, lambda out: out.count(b"\n") >= 3, timeout=120)
        assert not select.select([follower.stdout], [], [], 5)[0], backlog
        assert backlog.decode().splitlines() == logs.splitlines()[-3:]
        zenml("deployment", "invoke", "hello-logs", "--name=Tail")
        read_until(follower, lambda out: b"POST /invoke" in out, timeout=120)
    finally:
        follower.kill()
        follower.wait()
    zenml("deployment", "delete", "hello-logs", "-y")
