"""The end-to-end demo on the embedded local Hub: no account, no internet.

Run it with `make demo`. It starts the local Hub (with a Buildkite-style registry) and a local
ZenML server, deploys the example pipeline to a local Docker Space with `zenml pipeline
deploy`, invokes it, shows its logs, publishes a model snapshot to the registry and pulls it back.
Then it serves a model: trains a scikit-learn classifier, publishes its snapshot with the
companion step, deploys a pipeline that loads exactly that package at start, asks it for a
prediction, publishes a new snapshot and redeploys to switch the model. It cleans up, saying
what it did at each step. State lives under `.demo/` and is removed at
the end unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

# huggingface_hub reads these once, at import. Its caches (hf_xet's chunk and shard caches
# and logs included) go under .demo/, never into your HOME or your own HF_HOME.
os.environ["HF_HOME"] = str(Path(__file__).resolve().parent.parent / ".demo" / "hf-home")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("ZENML_LOGGING_COLORS_DISABLED", "true")  # also the Space app's logs

from huggingface_hub import HfApi

import zenml_hf_registry
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec
from zenml_hf_registry.registry import HubTarget, RegistryTarget, publish_snapshot, pull_snapshot

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo"
ZENML = Path(sys.executable).with_name("zenml")
HUB_TOKEN = TokenSpec(token="demo-hub-token", user="demo", orgs=("acme",))
REGISTRY_TOKEN = TokenSpec(token="demo-registry-token", user="acme", role=TokenRole.WRITE)
REGISTRY_READ_TOKEN = TokenSpec(token="demo-registry-read-token", user="acme", role=TokenRole.READ)
SERVING_PIPELINE = "examples.serving_pipeline.pipeline.iris_classifier"
FLOWER = {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}


def step(message: str) -> None:
    """Print one step of the demo."""
    print(f"\n==> {message}", flush=True)


def detail(message: str) -> None:
    """Print a detail of the current step."""
    for line in message.rstrip().splitlines():
        print(f"    {line}", flush=True)


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ZenMLCli:
    """The `zenml` CLI with its own config under .demo/ (your ZenML setup is not touched)."""

    def __init__(self) -> None:
        self.env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(STATE / "zenml"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_AUTO_OPEN_DASHBOARD": "false",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
            # The training pipeline's publish step caches the snapshot here, not in your HOME.
            "HF_HOME": str(STATE / "hf-home"),
            "COLUMNS": "120",
        }

    def run(self, *args: str, show: bool = False, timeout: float = 300) -> str:
        """Run `zenml ARGS`; print the command, and its output when `show`."""
        detail(f"$ zenml {' '.join(args)}")
        result = subprocess.run(
            [str(ZENML), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            detail(output[-3000:])
            raise SystemExit(f"demo failed at: zenml {' '.join(args)}")
        if show:
            detail(output)
        return output


def make_model(api: HfApi) -> str:
    """A small model on the local Hub: config, tokenizer and 12 MB of weights (LFS)."""
    api.create_repo("acme/demo-model", private=True)
    folder = STATE / "model"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "demo", "hidden_size": 8}\n')
    (folder / "tokenizer" / "vocab.txt").write_text("hello\nworld\n")
    (folder / "model.safetensors").write_bytes(os.urandom(12 * 1024 * 1024))
    return api.upload_folder(repo_id="acme/demo-model", folder_path=folder).oid


def train_and_publish(zenml: ZenMLCli, hub: LocalHub, c: float, name: str) -> Path:
    """Run the example's training pipeline (train, push, publish); the deploy config it wrote."""
    config = STATE / f"{name}.yaml"
    command = [
        sys.executable,
        "-m",
        "examples.serving_pipeline.train",
        *("--hub-endpoint", hub.url, "--registry", "acme/models"),
        *("--registry-endpoint", f"{hub.url}/acme/models/huggingface"),
        *("--c", str(c), "--config-out", str(config)),
        # Trained here, on the local stack: a stack with a deployer builds an image per run.
        *("--stack", "default"),
    ]
    detail(f"$ python -m examples.serving_pipeline.train --c {c} ...")
    result = subprocess.run(
        command, env=zenml.env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        log = STATE / f"{name}.log"
        log.write_text(result.stdout + result.stderr)
        detail((result.stdout + result.stderr)[-3000:])
        raise SystemExit(f"demo failed at: the training pipeline (whole output: {log})")
    detail(
        "\n".join(
            line
            for line in result.stdout.splitlines()
            if line.startswith(("package", "registry commit", "md5", "sha"))
        )
    )
    return config


def predict(zenml: ZenMLCli) -> dict[str, object]:
    """Invoke the serving deployment with one flower; its answer."""
    flags = [f"--{key}={value}" for key, value in FLOWER.items()]
    output = zenml.run("deployment", "invoke", "iris", *flags)
    answer = json.loads(output[output.index("{") :])
    prediction: dict[str, object] = answer["outputs"]["prediction"]
    detail(
        f"the model answered: {prediction['species']} (p={prediction['probability']}), "
        f"from package {prediction['package']}"
    )
    return prediction


def serve_a_model(zenml: ZenMLCli, hub: LocalHub) -> None:
    """Train, publish, deploy a pinned snapshot, predict; publish again, redeploy, predict."""
    step("Serving a model: train a classifier on scikit-learn's iris data, publish its snapshot")
    zenml.run("secret", "create", "registry_token", f"--token={REGISTRY_TOKEN.token}")
    zenml.run("secret", "create", "registry_read", f"--token={REGISTRY_READ_TOKEN.token}")
    first = train_and_publish(zenml, hub, 1.0, "serve-v1")

    step("Deploying the classifier, pinned to that package: pulled and verified at start")
    deploy = ["pipeline", "deploy", SERVING_PIPELINE, "--name", "iris", "--timeout", "240"]
    zenml.run(*deploy, "--config", str(first), timeout=400)
    step(f"Asking for a prediction: {FLOWER}")
    before = predict(zenml)

    step("Publishing a new snapshot (stronger regularization) and redeploying to switch to it")
    second = train_and_publish(zenml, hub, 0.05, "serve-v2")
    zenml.run(*deploy, "--config", str(second), "--update", timeout=400)
    after = predict(zenml)
    if after["package"] == before["package"]:
        raise SystemExit("demo failed: the redeployed app still serves the first package")
    detail(f"switched from {before['package']} to {after['package']}")

    step("Cleaning up: deleting the serving deployment (and its Space)")
    zenml.run("deployment", "delete", "iris", "-y")


def main() -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep .demo/ afterwards")
    args = parser.parse_args()

    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir()
    started = time.monotonic()
    step(f"zenml-hf-registry {zenml_hf_registry.__version__} is installed")

    settings = HubSettings(
        data_dir=STATE / "hub",
        tokens=(HUB_TOKEN,),
        registries=(
            RegistrySpec(
                org="acme",
                name="models",
                private=True,
                tokens=(REGISTRY_TOKEN, REGISTRY_READ_TOKEN),
            ),
        ),
        space_workdir=ROOT,  # the Space imports the example pipeline from this checkout
        space_startup_timeout=180,
    )
    zenml = ZenMLCli()
    with LocalHub(settings) as hub:
        step(
            f"Local Hub up at {hub.url}, registry acme/models at {hub.url}/acme/models/huggingface"
        )

        step("Starting a local ZenML server (zenml login --local)")
        zenml.run("login", "--local", "--port", str(free_port()), timeout=180)
        try:
            step("Registering the Hugging Face deployer and a stack that uses it")
            zenml.run("secret", "create", "hf_token", f"--token={HUB_TOKEN.token}")
            zenml.run(
                "deployer",
                "register",
                "hf",
                "--flavor=huggingface",
                "--secret_name=hf_token",
                "--organization=acme",
                f"--endpoint={hub.url}",
            )
            zenml.run(
                "stack",
                "register",
                "hf-stack",
                "-o",
                "default",
                "-a",
                "default",
                "-D",
                "hf",
                "--set",
            )

            step("Deploying examples/hello_pipeline to a Docker Space (zenml pipeline deploy)")
            zenml.run(
                "pipeline",
                "deploy",
                "examples.hello_pipeline.pipeline.hello_pipeline",
                "--name",
                "hello",
                "--config",
                "examples/hello_pipeline/local_hub.yaml",
            )
            zenml.run("deployment", "list", "--output", "tsv", show=True)

            step("Invoking the deployment")
            output = zenml.run("deployment", "invoke", "hello", "--name=Demo")
            greeting = next((line.strip() for line in output.splitlines() if "Hello" in line), "")
            detail(f"the pipeline answered: {greeting}")

            step("Build and run logs of the Space")
            logs = zenml.run("deployment", "logs", "hello", "--tail", "8")
            detail(logs)

            step("Publishing a model snapshot to the registry, pinned to its commit")
            api = HfApi(endpoint=hub.url, token=HUB_TOKEN.token)
            sha = make_model(api)
            registry = RegistryTarget(
                org="acme",
                registry="models",
                token=REGISTRY_TOKEN.token,
                endpoint=f"{hub.url}/acme/models/huggingface",
            )
            record = publish_snapshot(
                "acme/demo-model",
                revision=sha,
                registry=registry,
                source=HubTarget(endpoint=hub.url, token=HUB_TOKEN.token),
                cache_dir=STATE / "hf-cache",
                progress=detail,
            )
            detail(f"package {record.name}: {record.size} bytes, sha256 {record.sha256}")
            detail(f"install: {record.install_command}")

            step("Pulling it back into a fresh folder and verifying checksums")
            pulled, folder = pull_snapshot(
                "acme/demo-model",
                registry=registry,
                local_dir=STATE / "pulled",
            )
            detail(f"{len(pulled.files)} files in {folder.relative_to(ROOT)}, sha512 matches")

            step("Cleaning up: deleting the greeting deployment (and its Space)")
            zenml.run("deployment", "delete", "hello", "-y")

            serve_a_model(zenml, hub)
        finally:
            zenml.run("logout", "--local", timeout=120)
    if not args.keep:
        shutil.rmtree(STATE, ignore_errors=True)
    step(f"Done in {time.monotonic() - started:.0f}s: local Hub and ZenML server stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
