"""Soak: many deploy/update/delete cycles and publishes against one local Hub, then count leaks.

The local Hub runs as its own `zenml-hf-registry hub serve` process (process runtime), so
its file descriptors, threads, child processes and listening ports can be read with psutil.
Each cycle drives the deployer's domain logic (`plan_space` + `SpaceOperator`, the same code
`zenml pipeline deploy` runs) with the real client: create a Space with a tiny app and wait
until it serves, change a secret (one restart) and wait again, delete it. Then the publish
loop publishes a new commit of a small model to a registry on the same Hub, `publishes` times.

Reported: the server's fds, threads, children and listening ports before, after the cycles and
after the publishes (a leak shows as growth), the client's fds and threads, and the data dir's
size against the bytes actually stored (Spaces' working files must be gone after deletion;
no temporary upload may remain). The anchor is the server's own idle state in the same run.

    .venv/bin/python benchmarks/soak.py [--cycles 50] [--publishes 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"

import psutil
from huggingface_hub import HfApi

from zenml_hf_registry.deployer.space import SpaceOperator, SpaceSpec, plan_space, secret_digest
from zenml_hf_registry.hub_client import make_api
from zenml_hf_registry.registry import HubTarget, RegistryTarget, publish_snapshot

RESULTS = Path(__file__).parent / "results" / "soak.json"
CLI = Path(sys.executable).with_name("zenml-hf-registry")
TOKEN = "soak-token-0123456789"
REGISTRY_TOKEN = "soak-registry-token-0123456789"
LEAK_KEYS = ("fds", "threads", "children", "listening_ports")
APP = b"""\
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ.get("GREETING", "").encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def server_state(process: psutil.Process) -> dict[str, int]:
    children = process.children(recursive=True)
    return {
        "fds": process.num_fds(),
        "threads": process.num_threads(),
        "children": len(children),
        "listening_ports": sum(
            1
            for p in [process, *children]
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ),
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
    }


def client_state() -> dict[str, int]:
    me = psutil.Process()
    return {"fds": me.num_fds(), "threads": me.num_threads()}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def disk(data_dir: Path) -> dict[str, int]:
    return {
        "total": folder_bytes(data_dir),
        "blobs": folder_bytes(data_dir / "blobs"),
        "database": sum(p.stat().st_size for p in data_dir.glob("hub.sqlite3*")),
        "spaces_working_files": folder_bytes(data_dir / "spaces"),
        "temporary_uploads": folder_bytes(data_dir / "tmp") + folder_bytes(data_dir / "multipart"),
    }


def spec(space_id: str, greeting: str) -> SpaceSpec:
    return SpaceSpec(
        space_id=space_id,
        private=False,
        hardware=None,
        sleep_time=None,
        files={
            "README.md": b"---\nsdk: docker\napp_port: 7860\n---\n",
            "Dockerfile": f'FROM img\nCMD ["{sys.executable}", "app.py"]\n'.encode(),
            "app.py": APP,
        },
        secrets={"GREETING": greeting},
        variables={},
    )


def deploy(operator: SpaceOperator, desired: SpaceSpec, managed: dict[str, str]) -> None:
    observed = operator.observe(desired.space_id, read_variables=False)
    plan = plan_space(
        desired, observed, managed_secrets=managed, managed_variables=frozenset(), salt=TOKEN
    )
    operator.apply(desired, plan, commit_message="soak")


def wait_serving(operator: SpaceOperator, space_id: str, greeting: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runtime, host = operator.runtime(space_id)
        if runtime.stage == "RUNNING" and host:
            with urllib.request.urlopen(host, timeout=10) as response:
                if response.read().decode() == greeting:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"{space_id} did not serve {greeting!r} within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--publishes", type=int, default=100)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="soak-"))
    data_dir = work / "hub"
    server = subprocess.Popen(
        [
            str(CLI),
            *("hub", "serve", "--port", "0", "--data-dir", str(data_dir)),
            *("--token", f"{TOKEN}:alice:write:acme"),
            *("--registry", "acme/models", "--registry-token", f"acme/models={REGISTRY_TOKEN}"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        match = re.search(r"at (http://\S+)", server.stdout.readline())
        assert match, "the local Hub did not print its endpoint"
        endpoint = match[1]
        # Keep reading the server's access log, or a full pipe would block its event loop.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        process = psutil.Process(server.pid)
        operator = SpaceOperator(make_api(endpoint, TOKEN))
        idle = server_state(process)
        client_idle = client_state()

        started = time.perf_counter()
        for cycle in range(args.cycles):
            space_id = f"acme/soak-{cycle:03d}"
            first = spec(space_id, f"hello {cycle}")
            deploy(operator, first, {})
            wait_serving(operator, space_id, f"hello {cycle}")
            managed = {k: secret_digest(k, v, TOKEN) for k, v in first.secrets.items()}
            deploy(operator, spec(space_id, f"again {cycle}"), managed)
            wait_serving(operator, space_id, f"again {cycle}")
            assert operator.delete(space_id)
            if cycle == args.cycles // 2 - 1:
                time.sleep(1)
                mid_cycles = server_state(process)
        cycles_seconds = time.perf_counter() - started
        time.sleep(1)  # let the last app's exit be reaped
        after_cycles = server_state(process)
        disk_after_cycles = disk(data_dir)

        api = HfApi(endpoint=endpoint, token=TOKEN)
        api.create_repo("acme/soak-model")
        registry = RegistryTarget(
            org="acme",
            registry="models",
            token=REGISTRY_TOKEN,
            endpoint=f"{endpoint}/acme/models/huggingface",
            api_url=endpoint,
        )
        published_bytes = 0
        started = time.perf_counter()
        for number in range(args.publishes):
            weights = number.to_bytes(4, "little") * (64 * 1024)  # 256 KiB, distinct each time
            sha = api.upload_file(
                path_or_fileobj=weights, path_in_repo="weights.bin", repo_id="acme/soak-model"
            ).oid
            record = publish_snapshot(
                "acme/soak-model",
                revision=sha,
                source=HubTarget(endpoint=endpoint, token=TOKEN),
                registry=registry,
                cache_dir=work / "cache",
                progress=lambda _line: None,
            )
            assert record.revision == sha
            published_bytes += len(weights)
            if number == args.publishes // 2 - 1:
                mid_publishes = server_state(process)
                client_mid = client_state()
        publish_seconds = time.perf_counter() - started
        after_publishes = server_state(process)
        disk_after_publishes = disk(data_dir)
        client_after = client_state()

        results: dict[str, Any] = {
            "benchmark": "soak",
            "date": time.strftime("%Y-%m-%d"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "cycles": args.cycles,
            "cycle": "create + serve, change a secret (restart) + serve, delete",
            "cycles_seconds": round(cycles_seconds, 1),
            "publishes": args.publishes,
            "publish": "new 256 KiB commit at the source, publish it to the registry",
            "publish_seconds": round(publish_seconds, 1),
            "server": {
                "idle (anchor)": idle,
                "half_the_cycles": mid_cycles,
                "after_cycles": after_cycles,
                "half_the_publishes": mid_publishes,
                "after_publishes": after_publishes,
            },
            "client": {
                "before": client_idle,
                "half_the_publishes": client_mid,
                "after": client_after,
            },
            "disk_bytes": {
                "after_cycles": disk_after_cycles,
                "after_publishes": disk_after_publishes,
                "published_payload": published_bytes,
            },
            # Growth over the second half of each loop: connection pools and caches fill in
            # the first half; anything still growing after that is a leak.
            "growth_over_second_half": {
                "cycles": {k: after_cycles[k] - mid_cycles[k] for k in LEAK_KEYS},
                "publishes": {k: after_publishes[k] - mid_publishes[k] for k in LEAK_KEYS},
                "client_fds": client_after["fds"] - client_mid["fds"],
            },
            "left_behind_bytes": {
                "spaces_working_files": disk_after_cycles["spaces_working_files"],
                "temporary_uploads": disk_after_publishes["temporary_uploads"],
                "blobs_beyond_published_payload": disk_after_publishes["blobs"] - published_bytes,
            },
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
