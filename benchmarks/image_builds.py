"""How the image reaches a Space: ZenML's build and push vs Space-build mode, digest vs tag.

Everything real and offline: the ZenML CLI with a local ZenML server, ZenML's local image
builder on the Docker engine at DOCKER_HOST, the registry at ZHR_TEST_REGISTRY, and the local
Hub's docker runtime building and running each Space. All scenarios deploy the same example
pipeline from the same project directory in the same run. Anchor: the default path (ZenML
builds and pushes, the Space is pinned to the pushed digest).

Scenarios, each a first deploy then a code-only change (the greeting's text) deployed again:

- `registry-digest` (anchor): ZenML builds and pushes the pipeline image; the Space builds
  `FROM image@sha256:...`.
- `space-build`: `build_in_space`, no registry in the stack: ZenML's build context is
  committed and the Space builds the image.
- `user-tag-digest` / `user-tag-tag`: an image the user builds and pushes under a fixed tag
  (`skip_build`), with `verify_image` on (pinned) or off (`FROM name:tag`). Their change is a
  re-push of the same tag followed by `zenml deployment provision`, which shows what pinning
  is for: the pinned Space rebuilds and serves the new code, the tag-based one keeps serving
  the old code until something else restarts it.

Per phase: the CLI's wall time, ZenML's image build+push time (from its own log lines),
the Space's build and app-start times (the local Hub's counters), builds and restarts, and
what `invoke` answers afterwards.

    eval "$(scripts/services.sh start)"; export DOCKER_HOST ZHR_TEST_REGISTRY
    .venv/bin/python benchmarks/image_builds.py           (about 10 minutes)

It removes, on that engine, the images it builds on top of its parent image (and only
those), so that each first deploy starts cold.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = Path(__file__).parent / "results" / "image_builds.json"
ZENML = Path(sys.executable).with_name("zenml")
PIPELINE = "examples.hello_pipeline.pipeline.hello_pipeline"
TOKEN = "hf_bench_images_0123456789abcdef"
REGISTRY = os.environ.get("ZHR_TEST_REGISTRY", "127.0.0.1:5000")
DEPLOY_TIMEOUT = "300"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None

os.environ["HF_HUB_DISABLE_XET"] = "1"

import docker  # noqa: E402
from tests.containers.zenml_image import pushed_zenml_parent_image  # noqa: E402
from tests.zenml_cli import ZenML, free_port  # noqa: E402

from zenml_hf_registry.hub import HubSettings, LocalHub, TokenSpec  # noqa: E402


def get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


class Cli:
    """The ZenML CLI in its own config dir, run from the project; lines timestamped."""

    def __init__(self, root: Path, project: Path) -> None:
        self.project = project
        # The tests' isolated CLI environment, unbuffered: lines arrive when written, so their
        # timestamps mean something.
        self.env = {**ZenML(root).env, "PYTHONUNBUFFERED": "1"}

    def __call__(self, *args: str) -> list[tuple[float, str]]:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(ZENML), *args],
            env=self.env,
            cwd=self.project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        lines = [(time.perf_counter() - started, line.rstrip()) for line in process.stdout]
        lines.append((time.perf_counter() - started, ""))
        if process.wait(timeout=900) != 0:
            text = "\n".join(line for _, line in lines)
            raise SystemExit(f"zenml {' '.join(args)} failed:\n{text}")
        return lines


def build_push_seconds(lines: list[tuple[float, str]]) -> float | None:
    """From ZenML's first `Building Docker image` line to its `Finished pushing` line."""
    start = next((t for t, line in lines if "Building Docker image" in line), None)
    end = next((t for t, line in lines if "Finished pushing Docker image" in line), None)
    return round(end - start, 1) if start is not None and end is not None else None


def space_id_of(cli: Cli, name: str) -> str:
    text = "\n".join(line for _, line in cli("deployment", "describe", name, "--show-metadata"))
    match = re.search(r"space_id:\s*(\S+)", text)
    assert match, text
    return match.group(1)


def invoke(cli: Cli, name: str) -> str:
    text = "\n".join(line for _, line in cli("deployment", "invoke", name, "--name=Bench"))
    match = re.search(r"(Hello|Hi), Bench!", text)
    return match.group(0) if match else text[-200:]


def phase(
    hub: LocalHub, cli: Cli, label: str, name: str, args: list[str], space_id: str | None
) -> tuple[dict[str, Any], str]:
    before = hub.control.space(space_id) if space_id else None
    started = time.perf_counter()
    lines = cli(*args)
    seconds = time.perf_counter() - started
    if os.environ.get("BENCH_VERBOSE"):
        print("\n".join(f"{t:7.2f} {line}" for t, line in lines), flush=True)
    space_id = space_id or space_id_of(cli, name)
    after = hub.control.space(space_id)
    builds = after["builds"] - (before["builds"] if before else 0)
    return {
        "phase": label,
        "deploy_seconds": round(seconds, 1),
        "zenml_build_push_seconds": build_push_seconds(lines),
        "space_build_seconds": after["lastBuildSeconds"] if builds else 0.0,
        "space_start_seconds": after["lastStartSeconds"] if builds else 0.0,
        "space_builds": builds,
        "space_restarts": after["restarts"] - (before["restarts"] if before else 0),
        "stage": after["stage"],
        "serves": invoke(cli, name),
    }, space_id


def set_greeting(project: Path, greeting: str) -> None:
    module = project / "examples" / "hello_pipeline" / "pipeline.py"
    text = re.sub(r'f"(Hello|Hi), \{name\}!"', f'f"{greeting}, {{name}}!"', module.read_text())
    module.write_text(text)


def config_file(work: Path, name: str, docker: dict[str, Any], deployer: dict[str, Any]) -> Path:
    lines = ["settings:", "  docker:"]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in docker.items()]
    lines += ["  deployer:"] + [f"    {k}: {json.dumps(v)}" for k, v in deployer.items()]
    path = work / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def push_user_image(client: Any, project: Path, parent: str, reference: str) -> None:
    """What a user managing their own image does: build FROM the parent with the code, push."""
    (project / "Dockerfile.user").write_text(
        f"FROM {parent}\nWORKDIR /app\nCOPY examples /app/examples\n"
    )
    repository, tag = reference.rsplit(":", 1)
    client.images.build(
        path=str(project), dockerfile="Dockerfile.user", tag=reference, rm=True, forcerm=True
    )
    for line in client.api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in line:
            raise SystemExit(f"pushing {reference}: {line['error']}")


def forget_builds(client: Any, parent: str) -> None:
    """Every scenario starts cold: every image built on top of the parent image (ZenML's,
    the Spaces', the user's, and their cached layers) is removed, with the stopped build
    containers that hold them; the parent stays, as on a user's machine. Nothing else on the
    engine is touched."""
    from docker.errors import APIError

    parent_id = client.images.get(parent).id

    def built_on_parent(image_id: str) -> bool:
        while image_id:
            image_id = client.api.inspect_image(image_id).get("Parent") or ""
            if image_id == parent_id:
                return True
        return False

    for _ in range(20):  # leaves first: each pass removes the images nothing else uses
        doomed = {i.id for i in client.images.list(all=True) if built_on_parent(i.id)}
        if not doomed:
            return
        # ZenML builds with `rm=False`: its stopped build containers keep their layers alive.
        for container in client.containers.list(all=True, filters={"status": "exited"}):
            if container.attrs.get("Image") in doomed:
                container.remove()
        for image_id in doomed:
            try:
                client.images.remove(image_id, force=True)
            except APIError:
                continue


def run_scenario(
    hub: LocalHub, cli: Cli, client: Any, work: Path, project: Path, parent: str, scenario: str
) -> dict[str, Any]:
    name = f"bench-{scenario}"
    forget_builds(client, parent)
    common = {
        "python_package_installer": "pip",
        "allow_download_from_artifact_store": False,
        "allow_download_from_code_repository": False,
    }
    set_greeting(project, "Hello")
    user_image = f"{REGISTRY}/zhr-bench/app-{os.getpid()}:v1"
    if scenario.startswith("user-tag"):
        push_user_image(client, project, parent, user_image)
        docker = {**common, "parent_image": user_image, "skip_build": True}
    else:
        docker = {**common, "parent_image": parent}
    deployer: dict[str, Any] = {"app_port": 7860}
    if scenario == "space-build":
        deployer["build_in_space"] = True
    if scenario == "user-tag-tag":
        deployer["verify_image"] = False
    stack = "no-registry" if scenario == "space-build" else "with-registry"
    cli("stack", "set", stack)
    config = config_file(work, scenario, docker, deployer)
    deploy = [
        "pipeline",
        "deploy",
        PIPELINE,
        "-n",
        name,
        "-u",
        "-c",
        str(config),
        "-t",
        DEPLOY_TIMEOUT,
    ]

    first, space_id = phase(hub, cli, "first deploy", name, deploy, None)
    set_greeting(project, "Hi")
    if scenario.startswith("user-tag"):
        push_user_image(client, project, parent, user_image)
        change_args = ["deployment", "provision", name, "-t", DEPLOY_TIMEOUT]
        change_label = "code change: same tag re-pushed, then provision"
    else:
        change_args = deploy
        change_label = "code change: deploy again"
    change, _ = phase(hub, cli, change_label, name, change_args, space_id)
    dockerfile = Path(
        urllib.request.urlretrieve(f"{hub.url}/spaces/{space_id}/resolve/main/Dockerfile")[0]
    ).read_text()
    cli("deployment", "delete", name, "-y")
    return {
        "scenario": scenario,
        "from": dockerfile.splitlines()[0],
        "phases": [first, change],
    }


def main() -> None:
    client = docker.from_env(timeout=600)
    client.ping()
    parent = pushed_zenml_parent_image(client, REGISTRY)

    scenarios = ["registry-digest", "space-build", "user-tag-digest", "user-tag-tag"]
    if ONLY:
        scenarios = [ONLY]
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        work = Path(tmp)
        project = work / "project"
        shutil.copytree(
            ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__")
        )
        (project / ".dockerignore").write_text("Dockerfile.user\n")
        settings = HubSettings(
            data_dir=work / "hub",
            tokens=(TokenSpec(token=TOKEN, user="alice", orgs=("acme",)),),
            space_runtime="docker",
            space_startup_timeout=180,
        )
        with LocalHub(settings) as hub:
            cli = Cli(work / "cli", project)
            cli("login", "--local", "--port", str(free_port()))
            try:
                cli("container-registry", "register", "bench-cr", "--flavor=default",
                    f"--uri={REGISTRY}")  # fmt: skip
                setup = project / "examples" / "hello_pipeline" / "setup_stack.sh"
                env = {**cli.env, "HF_TOKEN": TOKEN, "ZENML": str(ZENML)}
                for stack, extra in (("with-registry", ["--container-registry", "bench-cr"]),
                                     ("no-registry", [])):  # fmt: skip
                    subprocess.run(
                        [str(setup), "--organization", "acme", "--endpoint", hub.url,
                         "--stack", stack, *extra],
                        env=env, cwd=project, check=True, capture_output=True, timeout=300,
                    )  # fmt: skip
                runs: dict[str, list[dict[str, Any]]] = {s: [] for s in scenarios}
                for run in range(RUNS):  # interleaved, so drift hits every scenario alike
                    for scenario in scenarios:
                        print(f"[images] run {run + 1}/{RUNS}: {scenario} ...", flush=True)
                        result = run_scenario(hub, cli, client, work, project, parent, scenario)
                        print(json.dumps(result, indent=1), flush=True)
                        runs[scenario].append(result)
            finally:
                forget_builds(client, parent)
                subprocess.run(
                    [str(ZENML), "logout", "--local"], env=cli.env, capture_output=True, check=False
                )
    if ONLY:
        return
    summary = {scenario: summarize(results) for scenario, results in runs.items()}

    def ratio(scenario: str, index: int) -> float:
        anchor = summary["registry-digest"]["phases"][index]["deploy_seconds"]
        return round(summary[scenario]["phases"][index]["deploy_seconds"] / anchor, 2)

    report = {
        "benchmark": "image_builds",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "anchor": "registry-digest: ZenML builds and pushes, the Space builds FROM the digest",
        "runs": RUNS,
        "figures": "medians over the runs; every first deploy starts with no image built on "
        "the parent and no layer cache",
        "scenarios": summary,
        "deploy_time_ratio_to_anchor": {
            scenario: {"first deploy": ratio(scenario, 0), "code change": ratio(scenario, 1)}
            for scenario in summary
            if scenario != "registry-digest"
        },
        "all_runs": runs,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"[images] wrote {RESULTS}")


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of each phase's times over the runs; counts and answers of the last run."""
    phases = []
    for index, last in enumerate(results[-1]["phases"]):
        phase = dict(last)
        for key in (
            "deploy_seconds",
            "zenml_build_push_seconds",
            "space_build_seconds",
            "space_start_seconds",
        ):
            values = [r["phases"][index][key] for r in results]
            phase[key] = None if None in values else round(statistics.median(values), 2)
        phase["serves_in_every_run"] = sorted({r["phases"][index]["serves"] for r in results})
        del phase["serves"]
        phases.append(phase)
    return {"from": results[-1]["from"], "phases": phases}


if __name__ == "__main__":
    main()
