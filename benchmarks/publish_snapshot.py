"""Publishing a 1 GB multi-file snapshot: `zenml-hf-registry publish` vs `hf upload`.

Anchor: `hf upload NS/REPO <cached snapshot folder>` of the same folder to the same kind of
registry, in the same run (the path Buildkite's docs give). Both start from the snapshot
already in the Hugging Face cache; ours then also resolves the source revision, checks write
access, verifies every file at the new commit and computes the package's MD5/SHA1/SHA256/SHA512
in one streaming pass. Each measured upload goes to a registry host of its own (fresh data
dir), so the content-addressed store never spares one side an upload the other made. Runs
alternate (anchor, ours, ours, anchor, ...) and the medians are compared.

Reported: wall-time ratio ours / `hf upload` (goal <= 1.25), the peak RSS of each client process
(goal < 250 MB for ours), and an unchanged republish's requests and bytes (goal <= 5 requests,
0 bytes).

    .venv/bin/python benchmarks/publish_snapshot.py [--total-mb 1024] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import psutil
from huggingface_hub import HfApi, snapshot_download

from zenml_hf_registry.hub import HubSettings, LocalHub, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec

RESULTS = Path(__file__).parent / "results" / "publish_snapshot.json"
BIN = Path(sys.executable).parent
MiB = 1024 * 1024
SOURCE_TOKEN = "bench-source-token-0123456789"
REGISTRY_TOKEN = "bench-registry-token-0123456789"
REPO = "acme/bench-model"


def make_snapshot(folder: Path, total_mb: int) -> None:
    """A model-like snapshot: four weight shards, an index and small text files."""
    folder.mkdir(parents=True)
    shards = 4
    block = os.urandom(MiB)
    for i in range(shards):
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        with (folder / name).open("wb") as handle:
            for j in range(total_mb // shards):
                handle.write(j.to_bytes(8, "little") + i.to_bytes(8, "little") + block[16:])
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {f"layer.{i}": f"shard-{i}" for i in range(2000)}})
    )
    (folder / "config.json").write_text('{"model_type": "bench", "hidden_size": 4096}\n')
    (folder / "tokenizer.json").write_text(
        json.dumps({"vocab": {f"t{i}": i for i in range(50000)}})
    )
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# bench model\n")


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a client process; its wall time (s), peak RSS (MB, sampled every 20 ms) and output.

    Sampled rather than read from wait4: a forked child's ru_maxrss starts at the size of this
    process, which holds the local Hubs.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        watched = psutil.Process(process.pid)
        while not done.is_set():
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert process.stdout is not None
    output = process.stdout.read()
    process.wait()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}):\n{output}")
    return elapsed, peak / MiB, output


def stats(hub: LocalHub) -> dict[str, Any]:
    """The server's counters, without the benchmark's own calls to the emulator's endpoints."""
    counters = hub.control.stats()
    counters["total_requests"] = sum(
        n for route, n in counters["requests"].items() if "/_emulator/" not in route
    )
    return counters


def registry_hub(root: Path) -> LocalHub:
    return LocalHub(
        HubSettings(
            data_dir=root,
            tokens=(),
            registries=(
                RegistrySpec(
                    org="acme",
                    name="models",
                    tokens=(TokenSpec(token=REGISTRY_TOKEN, user="acme"),),
                ),
            ),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="publish-bench-", dir=Path(__file__).parent.parent))
    cache = work / "hf-cache"
    env = {
        **os.environ,
        "HF_HOME": str(work / "hf-home"),
        "HF_HUB_CACHE": str(cache),
        "HF_HUB_DISABLE_XET": "1",
    }
    env.pop("HF_TOKEN", None)
    try:
        source_settings = HubSettings(
            data_dir=work / "source", tokens=(TokenSpec(token=SOURCE_TOKEN, user="acme"),)
        )
        with LocalHub(source_settings) as source:
            api = HfApi(endpoint=source.url, token=SOURCE_TOKEN)
            make_snapshot(work / "snapshot", args.total_mb)
            api.create_repo(REPO)
            sha = api.upload_folder(repo_id=REPO, folder_path=work / "snapshot").oid
            shutil.rmtree(work / "snapshot")
            folder = Path(
                snapshot_download(
                    REPO, revision=sha, endpoint=source.url, token=SOURCE_TOKEN, cache_dir=cache
                )
            )
            total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            files = sum(1 for p in folder.rglob("*") if p.is_file())
            print(f"snapshot {REPO}@{sha}: {files} files, {total / MiB:.0f} MiB, cached")

            anchor_times: list[float] = []
            anchor_rss: list[float] = []
            ours_times: list[float] = []
            ours_rss: list[float] = []
            republish: dict[str, Any] = {}
            order = ["anchor", "ours", "ours", "anchor"] * ((args.repeats + 1) // 2)
            for run, side in enumerate(order[: 2 * args.repeats]):
                with registry_hub(work / f"registry-{run}") as registry:
                    endpoint = f"{registry.url}/acme/models/huggingface"
                    if side == "anchor":
                        seconds, rss, _ = run_measured(
                            [str(BIN / "hf"), "upload", REPO, str(folder), "."],
                            {**env, "HF_ENDPOINT": endpoint, "HF_TOKEN": REGISTRY_TOKEN},
                        )
                        anchor_times.append(seconds)
                        anchor_rss.append(rss)
                    else:
                        command = [
                            str(BIN / "zenml-hf-registry"),
                            *("publish", REPO, "--revision", sha, "--registry", "acme/models"),
                            *("--registry-endpoint", endpoint, "--registry-api", registry.url),
                            *("--source-endpoint", source.url, "--json"),
                        ]
                        secrets = {
                            "HF_TOKEN": SOURCE_TOKEN,
                            "ZENML_HF_REGISTRY_TOKEN": REGISTRY_TOKEN,
                        }
                        seconds, rss, output = run_measured(command, {**env, **secrets})
                        record = json.loads(output[output.index("{") :])
                        assert record["size"] > total, record
                        ours_times.append(seconds)
                        ours_rss.append(rss)
                        if not republish:
                            before_registry, before_source = stats(registry), stats(source)
                            again, again_rss, output = run_measured(command, {**env, **secrets})
                            after_registry, after_source = stats(registry), stats(source)
                            assert (
                                json.loads(output[output.index("{") :])["sha256"]
                                == (record["sha256"])
                            )
                            republish = {
                                "seconds": round(again, 2),
                                "peak_rss_mb": round(again_rss, 1),
                                "registry_requests": after_registry["total_requests"]
                                - before_registry["total_requests"],
                                "source_requests": after_source["total_requests"]
                                - before_source["total_requests"],
                                "registry_upload_bytes": after_registry["lfs_upload_bytes"]
                                - before_registry["lfs_upload_bytes"],
                            }
                    print(f"run {run}: {side:<6} {seconds:7.2f} s  peak RSS {rss:6.1f} MB")
                shutil.rmtree(work / f"registry-{run}", ignore_errors=True)

        anchor = statistics.median(anchor_times)
        ours = statistics.median(ours_times)
        results = {
            "benchmark": "publish_snapshot",
            "date": time.strftime("%Y-%m-%d"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "payload": {"bytes": total, "files": files},
            "anchor": "hf upload NS/REPO <cached snapshot folder> to the registry endpoint",
            "seconds": {
                "hf_upload_runs": [round(t, 2) for t in anchor_times],
                "publish_runs": [round(t, 2) for t in ours_times],
                "hf_upload_median": round(anchor, 2),
                "publish_median": round(ours, 2),
            },
            "ratio_publish_vs_hf_upload": round(ours / anchor, 2),
            "peak_rss_mb": {
                "hf_upload": round(max(anchor_rss), 1),
                "publish": round(max(ours_rss), 1),
            },
            "unchanged_republish": republish,
            "goals": {
                "ratio_max": 1.25,
                "publish_rss_mb_max": 250,
                "republish_requests_max": 5,
                "republish_bytes": 0,
            },
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
