"""From `zenml pipeline deploy` to the first answer: the serving example vs the greeting pipeline.

Both deploy through the real ZenML CLI to the same local Hub (process runtime) and local ZenML
server, in the same run, alternating which goes first. Timed per deploy: `zenml pipeline
deploy` until it returns (the Space RUNNING), then `zenml deployment invoke` until the first
answer. The serving deployment's app pulls its pinned package from the registry, verifies it
and loads a scikit-learn model before it answers; the greeting pipeline (the anchor) loads
nothing. Reported: medians, the serving/greeting ratio of deploy-to-first-answer, the local
Hub's own measure of each app's start, the serving app's init hook time (pull, verify, load,
from its run log), and the one-off train-and-publish time.

    .venv/bin/python benchmarks/serving_deploy.py [--runs 3]      (about 4 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "serving_deploy.json"
ZENML = Path(sys.executable).with_name("zenml")
HF_TOKEN = "bench-serving-hf-token-0123456789"
GREETING = "examples.hello_pipeline.pipeline.hello_pipeline"
SERVING = "examples.serving_pipeline.pipeline.iris_classifier"
FLOWER = ("--sepal_length=6.3", "--sepal_width=3.3", "--petal_length=6.0", "--petal_width=2.5")

os.environ["HF_HUB_DISABLE_XET"] = "1"

from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec  # noqa: E402
from zenml_hf_registry.hub.settings import RegistrySpec  # noqa: E402

REGISTRY_WRITE = TokenSpec(token="bench-registry-write-0123", user="acme", role=TokenRole.WRITE)
REGISTRY_READ = TokenSpec(token="bench-registry-read-01234", user="acme", role=TokenRole.READ)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cli:
    """The `zenml` CLI with its own config and HOME under the benchmark's temp dir."""

    def __init__(self, root: Path) -> None:
        (root / "home").mkdir(parents=True)
        self.env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(root / "zenml"),
            "HOME": str(root / "home"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_AUTO_OPEN_DASHBOARD": "false",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
        }

    def __call__(self, *args: str, timeout: float = 600) -> str:
        result = subprocess.run(
            [str(ZENML), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise SystemExit(f"zenml {' '.join(args)} failed:\n{output[-3000:]}")
        return output


def deploy_and_ask(
    cli: Cli, hub: LocalHub, pipeline: str, name: str, config: Path, ask: tuple[str, ...]
) -> dict[str, Any]:
    """Deploy, then invoke once; the timings of each, and what the app answered."""
    started = time.perf_counter()
    cli("pipeline", "deploy", pipeline, "--name", name, "--config", str(config))
    deployed = time.perf_counter()
    answer = cli("deployment", "invoke", name, *ask)
    answered = time.perf_counter()
    details = cli("deployment", "describe", name, "--show-metadata")
    space_id = next(
        line.split(":", 1)[1].strip()
        for line in details.splitlines()
        if line.strip().startswith("space_id:")
    )
    counters = hub.control.space(space_id)
    loaded = re.search(r"loaded in ([0-9.]+) s", cli("deployment", "logs", name))
    cli("deployment", "delete", name, "-y")
    outputs = json.loads(answer[answer.index("{") :])["outputs"]
    return {
        "deploy_seconds": round(deployed - started, 2),
        "invoke_seconds": round(answered - deployed, 2),
        "deploy_to_first_answer_seconds": round(answered - started, 2),
        "hub_app_start_seconds": counters["lastStartSeconds"],
        # The serving app's init hook: pull, verify and load, as its run log says.
        "init_hook_seconds": float(loaded.group(1)) if loaded else None,
        "answer": outputs,
    }


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return round(statistics.median(values), 2) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        settings = HubSettings(
            data_dir=work / "hub",
            tokens=(TokenSpec(token=HF_TOKEN, user="bench", orgs=("acme",)),),
            registries=(
                RegistrySpec(org="acme", name="models", tokens=(REGISTRY_WRITE, REGISTRY_READ)),
            ),
            space_workdir=ROOT,
            space_startup_timeout=180,
        )
        cli = Cli(work)
        with LocalHub(settings) as hub:
            cli("login", "--local", "--port", str(free_port()))
            try:
                cli("secret", "create", "hf_token", f"--token={HF_TOKEN}")
                cli("secret", "create", "registry_token", f"--token={REGISTRY_WRITE.token}")
                cli("secret", "create", "registry_read", f"--token={REGISTRY_READ.token}")
                cli(
                    *("deployer", "register", "hf", "--flavor=huggingface"),
                    *("--secret_name=hf_token", "--organization=acme", f"--endpoint={hub.url}"),
                )
                cli("stack", "register", "hf-stack", "-o", "default", "-a", "default", "-D", "hf")
                cli("stack", "set", "hf-stack")

                started = time.perf_counter()
                serve_config = work / "serve.yaml"
                trained = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "examples.serving_pipeline.train",
                        *("--hub-endpoint", hub.url, "--registry", "acme/models"),
                        *("--registry-endpoint", f"{hub.url}/acme/models/huggingface"),
                        *("--stack", "default", "--config-out", str(serve_config)),
                        *("--record-out", str(work / "record.json")),
                    ],
                    env=cli.env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if trained.returncode != 0:
                    raise SystemExit((trained.stdout + trained.stderr)[-3000:])
                train_seconds = round(time.perf_counter() - started, 2)
                record = json.loads((work / "record.json").read_text())

                greeting_config = ROOT / "examples" / "hello_pipeline" / "local_hub.yaml"
                greeting: list[dict[str, Any]] = []
                serving: list[dict[str, Any]] = []
                for run in range(args.runs):
                    order = ["greeting", "serving"] if run % 2 == 0 else ["serving", "greeting"]
                    for which in order:
                        if which == "greeting":
                            figures = deploy_and_ask(
                                cli, hub, GREETING, f"hello-{run}", greeting_config, ("--name=B",)
                            )
                            greeting.append(figures)
                        else:
                            figures = deploy_and_ask(
                                cli, hub, SERVING, f"iris-{run}", serve_config, FLOWER
                            )
                            serving.append(figures)
                        print(which, run, {k: v for k, v in figures.items() if k != "answer"})
            finally:
                cli("logout", "--local", timeout=120)

    key = "deploy_to_first_answer_seconds"
    results = {
        "benchmark": "serving_deploy",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runtime": "local Hub, process runtime",
        "anchor": "the greeting pipeline (examples/hello_pipeline), same Hub, server and run",
        "runs": args.runs,
        "train_and_publish_seconds": train_seconds,
        "medians": {
            name: {
                "deploy_seconds": median(runs, "deploy_seconds"),
                "invoke_seconds": median(runs, "invoke_seconds"),
                key: median(runs, key),
                "hub_app_start_seconds": median(runs, "hub_app_start_seconds"),
            }
            for name, runs in (("greeting", greeting), ("serving", serving))
        },
        "serving_init_hook_seconds_median": median(serving, "init_hook_seconds"),
        "package": {"name": record["name"], "size_bytes": record["size"]},
        "deploy_to_first_answer_ratio": round(
            statistics.median(r[key] for r in serving)
            / statistics.median(r[key] for r in greeting),
            2,
        ),
        "all_runs": {"greeting": greeting, "serving": serving},
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "all_runs"}, indent=2))


if __name__ == "__main__":
    main()
