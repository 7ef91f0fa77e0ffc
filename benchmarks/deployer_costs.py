"""What a deploy costs on the Hub: ZenML 0.98's built-in `huggingface` deployer vs this plugin.

Both deploy the same example pipeline through the real ZenML CLI, against the same local Hub
and local ZenML server, in the same run: first deploy, unchanged redeploys (`zenml deployment
provision` of the same snapshot, and `zenml pipeline deploy --update`, which compiles a new
but equivalent snapshot), a changed snapshot with the same image (a new default parameter),
new-image redeploy and delete; for this plugin also one redeploy that changes hardware, a
secret and a variable at once, and a volumes phase: a second deployment with a model volume
(pinned by the deployer to the branch's commit) and `space_storage` (a Storage Bucket at
`/data`), then its unchanged redeploy (`--update`) and its delete. Reported per phase: Hub
requests (all, and those that change something: writes), commits, Space builds and restarts,
and the deployment's status. On the Hub every commit rebuilds a Space and every
secret/variable/hardware/volume change restarts it.
Goals: ours at most 1 build or restart for a first deploy or a new image; 0 builds and 0
restarts for an unchanged redeploy of either kind; 1 restart and 0 builds for a changed
snapshot; 1 restart for hardware + secret + variable; for the volumes deployment 1 build and 0
restarts first (the bucket and the volumes go in with the Space's creation), then 0 writes,
builds and restarts unchanged; fewer than half the built-in's requests.

The local Hub runs Spaces with its process runtime in the bubblewrap sandbox (which mounts
volumes), so bubblewrap must be installed (`apt-get install bubblewrap`).

    .venv/bin/python benchmarks/deployer_costs.py      (about 6 minutes)

The built-in deployer runs with `ZENML_HF_REGISTRY_OVERRIDE_BUILTIN=false`, so `huggingface`
is ZenML's own; this plugin is registered under its explicit name `huggingface-spaces`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "deployer_costs.json"
ZENML = Path(sys.executable).with_name("zenml")
TOKEN = "bench-deployer-token-0123456789"
PIPELINE = "examples.hello_pipeline.pipeline.hello_pipeline"
DEPLOY_TIMEOUT = 45
# `--only plugin|builtin` runs one side and prints without writing the results file.
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None

os.environ["HF_HUB_DISABLE_XET"] = "1"
# Both deployers' apps import the example pipeline from this checkout, wherever ZenML chdirs.
os.environ["PYTHONPATH"] = str(ROOT)
os.environ["ZENML_HF_REGISTRY_OVERRIDE_BUILTIN"] = "false"

from huggingface_hub import HfApi  # noqa: E402

from zenml_hf_registry.hub import HubSettings, LocalHub, TokenSpec  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> Any:
    # With the token: the built-in deployer makes private Spaces, which anonymous listings hide.
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


class Cli:
    def __init__(self, root: Path, hub_url: str) -> None:
        (root / "home").mkdir(parents=True)
        self.env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(root / "zenml"),
            "HOME": str(root / "home"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_AUTO_OPEN_DASHBOARD": "false",
            "HF_ENDPOINT": hub_url,  # the built-in deployer can only be pointed at a Hub so
        }

    def __call__(self, *args: str, check: bool = True) -> tuple[int, str]:
        result = subprocess.run(
            [str(ZENML), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and result.returncode != 0:
            raise SystemExit(f"zenml {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.returncode, result.stdout + result.stderr


def phase(hub: LocalHub, cli: Cli, name: str, *args: str) -> dict[str, Any]:
    # The benchmark's own reads of the Hub stay outside the window the stats cover.
    spaces_before = {s["id"]: counters(hub, s["id"]) for s in get(f"{hub.url}/api/spaces")}
    hub.control.reset_stats()
    started = time.perf_counter()
    code, output = cli(*args, check=False)
    elapsed = time.perf_counter() - started
    stats = hub.control.stats()
    requests = {k: v for k, v in stats["requests"].items() if "/_emulator/" not in k}
    builds = restarts = 0
    stages = {}
    for space in get(f"{hub.url}/api/spaces"):
        now = settled(hub, space["id"])
        before = spaces_before.get(space["id"], {"builds": 0, "restarts": 0})
        builds += now["builds"] - before["builds"]
        restarts += now["restarts"] - before["restarts"]
        stages[space["id"]] = now["stage"]
    return {
        "phase": name,
        "exit_code": code,
        "seconds": round(elapsed, 1),
        "hub_requests": sum(requests.values()),
        "hub_mutating_requests": sum(
            v for k, v in requests.items() if not k.startswith(("GET", "HEAD"))
        ),
        "commits": sum(v for k, v in requests.items() if "/commit/" in k),
        "space_builds": builds,
        "space_restarts": restarts,
        "space_stages_after": stages,
        "requests_by_route": dict(sorted(requests.items())),
        "outcome": output.strip().splitlines()[-1][:200] if output.strip() else "",
    }


def counters(hub: LocalHub, space_id: str) -> dict[str, Any]:
    return hub.control.space(space_id)


TRANSIENT = {"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}


def settled(hub: LocalHub, space_id: str, timeout: float = 90) -> dict[str, Any]:
    """The Space's counters once what the phase set off has played out (a deployer may return
    before its Space finished building), so every build lands in the phase that caused it."""
    deadline = time.monotonic() + timeout
    now = counters(hub, space_id)
    while now["stage"] in TRANSIENT and time.monotonic() < deadline:
        time.sleep(0.5)
        now = counters(hub, space_id)
    return now


def run_deployer(hub: LocalHub, cli: Cli, label: str, flavor: str, work: Path) -> list[Any]:
    plugin = label == "plugin"
    cli(
        "deployer",
        "register",
        f"d-{label}",
        f"--flavor={flavor}",
        # From a ZenML secret for both: the built-in deployer's Space loads its component with
        # this package installed and the override on (Spaces get a clean environment), where a
        # plain token is refused and the app would not start.
        "--token={{bench_hf.token}}",
        "--organization=acme",
        *([f"--endpoint={hub.url}"] if label == "plugin" else []),
    )
    cli(
        "stack",
        "register",
        f"s-{label}",
        "-o",
        "default",
        "-a",
        "default",
        "-c",
        "bench-cr",
        "-D",
        f"d-{label}",
        "--set",
    )
    base = (ROOT / "examples" / "hello_pipeline" / "local_hub.yaml").read_text()
    # A new default parameter: another snapshot, the same image.
    changed = "parameters:\n  name: Space\n" + base
    configs = {
        "v1": base,
        "changed": changed,
        # Hardware, a secret (by reference) and a variable, all at once.
        "settings": changed
        + "    space_hardware: t4-small\n"
        + "    space_secrets:\n      API_KEY: '{{bench_app.api_key}}'\n"
        + "    environment:\n      GREETING_STYLE: plain\n",
    }
    # Only the image differs from the previous phase.
    configs["image"] = configs["settings" if plugin else "changed"].replace(
        "zenml-hf-registry:dev", "zenml-hf-registry:v2"
    )
    paths = {}
    for key, text in configs.items():
        paths[key] = work / f"{label}-{key}.yaml"
        paths[key].write_text(text)
    name = f"bench-{label}"
    timeout = str(DEPLOY_TIMEOUT)

    def deploy(phase_name: str, config: str, *flags: str) -> dict[str, Any]:
        return phase(
            hub,
            cli,
            phase_name,
            *("pipeline", "deploy", PIPELINE, "-n", name, "-c", str(paths[config])),
            *("-t", timeout, *flags),
        )

    phases = [
        deploy("first deploy", "v1"),
        phase(hub, cli, "unchanged provision", "deployment", "provision", name, "-t", timeout),
        deploy("unchanged pipeline deploy --update", "v1", "-u"),
        deploy("changed snapshot, same image", "changed", "-u"),
    ]
    if plugin:  # ZenML's own deployer has no secret or environment settings
        phases.append(deploy("hardware + secret + variable", "settings", "-u"))
    phases += [
        deploy("new image", "image", "-u"),
        phase(hub, cli, "delete", "deployment", "delete", name, "-y"),
    ]
    if plugin:  # ZenML's own deployer posts to the removed storage endpoint, and has no volumes
        phases += run_volumes(hub, cli, work, base)
    return phases


def run_volumes(hub: LocalHub, cli: Cli, work: Path, base: str) -> list[dict[str, Any]]:
    """A deployment with a model volume and `space_storage`, then its unchanged redeploy."""
    api = HfApi(endpoint=hub.url, token=TOKEN)
    api.create_repo("acme/bench-weights", exist_ok=True)
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="w.txt", repo_id="acme/bench-weights")
    config = work / "plugin-volumes.yaml"
    config.write_text(
        base
        + "    space_storage: true\n"
        + "    space_volumes:\n"
        + "      - {type: model, source: acme/bench-weights, mount_path: /model}\n"
    )
    name = "bench-volumes"
    deploy = ("pipeline", "deploy", PIPELINE, "-n", name, "-c", str(config), "-t")
    phases = [
        phase(hub, cli, "volumes: first deploy", *deploy, str(DEPLOY_TIMEOUT)),
        phase(hub, cli, "volumes: unchanged pipeline deploy --update", *deploy, "60", "-u"),
        phase(hub, cli, "volumes: delete", "deployment", "delete", name, "-y"),
    ]
    mounted = [p["space_stages_after"] for p in phases[:2]]
    if any(stage != "RUNNING" for stages in mounted for stage in stages.values()):
        raise SystemExit(f"the volumes deployment did not run: {mounted}")
    return phases


def request_ratio(results: dict[str, list[dict[str, Any]]]) -> float:
    """Hub requests of this plugin over the built-in's, on the phases both ran."""
    common = {p["phase"] for p in results["builtin"]} & {p["phase"] for p in results["plugin"]}

    def total(label: str) -> int:
        return sum(p["hub_requests"] for p in results[label] if p["phase"] in common)

    return round(total("plugin") / max(1, total("builtin")), 2)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="deployer-bench-"))
    try:
        settings = HubSettings(
            data_dir=work / "hub",
            tokens=(TokenSpec(token=TOKEN, user="bench", orgs=("acme",)),),
            space_workdir=ROOT,
            space_startup_timeout=60,
            space_sandbox="bubblewrap",  # volumes are mounted in the sandbox only
        )
        with LocalHub(settings) as hub:
            cli = Cli(work / "cli", hub.url)
            cli("login", "--local", "--port", str(free_port()))
            try:
                cli(
                    "deployer",
                    "flavor",
                    "register",
                    "zenml_hf_registry.flavors.HuggingFaceSpacesDeployerFlavor",
                )
                secrets = (("bench_hf", "token", TOKEN), ("bench_app", "api_key", "x"))
                for secret, key, value in secrets:
                    values = work / f"{secret}.yaml"
                    values.write_text(f'{key}: "{value}"\n')
                    cli("secret", "create", secret, f"--values=@{values}")
                    values.unlink()
                cli(
                    "container-registry",
                    "register",
                    "bench-cr",
                    "--flavor=default",
                    "--uri=localhost:5000",
                )
                results = {}
                if ONLY in (None, "builtin"):
                    results["builtin"] = run_deployer(hub, cli, "builtin", "huggingface", work)
                if ONLY in (None, "plugin"):
                    results["plugin"] = run_deployer(hub, cli, "plugin", "huggingface-spaces", work)
            finally:
                cli("logout", "--local", check=False)
        if ONLY is not None:  # an exploratory run: print, do not overwrite the committed figures
            print(json.dumps(results, indent=2))
            return
        report = {
            "benchmark": "deployer_costs",
            "date": time.strftime("%Y-%m-%d"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "deploy_timeout_seconds": DEPLOY_TIMEOUT,
            "results": results,
            "request_ratio_plugin_vs_builtin": request_ratio(results),
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
