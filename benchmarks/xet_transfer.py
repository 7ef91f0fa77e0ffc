"""Xet against LFS on one local Hub: a 1 GB file up and down, and re-uploading a small change.

Anchor: the client's LFS path (`HF_HUB_DISABLE_XET=1`) moving the same incompressible file to
and from the same kind of local Hub (`zenml-hf-registry hub serve`, its own process) in the
same run. Each transfer runs in a fresh client process (its own `HF_HOME`, so no Xet cache
helps) against a fresh Hub (its own data dir, so no de-duplication across runs), timed inside
the client around the one call; the page cache is dropped before each step (when run as
root). Xet and LFS alternate which goes first. Every download is checked byte for byte.

Then the de-duplication figure: upload the file through Xet, change 1 MiB in its middle,
upload it again from a client with an empty cache (so only the Hub's global de-duplication
helps), and count the request bytes the Hub received for that second upload.

Goals (issue #16): Xet within 1.5x of LFS both ways; the re-upload under 5% of the file.

    .venv/bin/python benchmarks/xet_transfer.py [--mb 1024] [--repeats 3]

To see where the server spends an upload, run `py-spy record --pid <hub serve pid>` (or
`py-spy dump`) while this runs; the figures of the latest profile are in the README row.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "xet_transfer.json"
CLI = Path(sys.executable).with_name("zenml-hf-registry")
MiB = 1024 * 1024
FILE = "model.safetensors"

# One transfer in a fresh client process, timed around the call alone.
CHILD = """
import json, sys, time
from huggingface_hub import HfApi, hf_hub_download
action, endpoint, token, repo, path, FILE = sys.argv[1:7]
api = HfApi(endpoint=endpoint, token=token)
start = time.perf_counter()
if action == "upload":
    api.upload_file(path_or_fileobj=path, path_in_repo=FILE, repo_id=repo)
else:
    hf_hub_download(repo, FILE, endpoint=endpoint, token=token, local_dir=path)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


class Hub:
    """A `hub serve` process in its own data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [CLI, "hub", "serve", "--port", "0", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        lines = [self.process.stdout.readline() for _ in range(4)]
        self.endpoint = re.search(r"at (http://\S+)", lines[0])[1]  # type: ignore[index]
        self.token = lines[2].rsplit(": ", 1)[1].strip()
        self.admin = lines[3].rsplit(": ", 1)[1].strip()
        # Keep reading the access log, or a full pipe would block the server's event loop.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def control(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.endpoint}/_emulator{path}",
            method=method,
            headers={"Authorization": f"Bearer {self.admin}"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory so far (VmHWM), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = int(re.search(r"VmHWM:\s+(\d+) kB", status)[1])  # type: ignore[index]
        return round(kib * 1024 / 1e6, 1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def drop_caches() -> bool:
    """Flush and drop the page cache (root only) so every step starts from the same cold state."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def transfer(hub: Hub, mode: str, action: str, repo: str, path: Path, home: Path) -> float:
    """One upload or download in a fresh client process; its seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_HOME=str(home),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    if mode == "lfs":
        env["HF_HUB_DISABLE_XET"] = "1"
    drop_caches()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, action, hub.endpoint, hub.token, repo, str(path), FILE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        for _ in range(size // (64 * MiB)):
            handle.write(os.urandom(64 * MiB))
        handle.write(os.urandom(size % (64 * MiB)))


def create_repo(hub: Hub, repo: str) -> None:
    from huggingface_hub import HfApi

    HfApi(endpoint=hub.endpoint, token=hub.token).create_repo(repo)


def received(hub: Hub) -> int:
    """Request bytes the Hub received since its counters were last reset."""
    return int(sum(hub.control("GET", "/stats")["request_bytes"].values()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xet-bench-", dir=Path(__file__).parent.parent))
    try:
        source = work / FILE
        make_file(source, args.mb * MiB)
        expected = sha256_of(source)
        times: dict[str, dict[str, list[float]]] = {
            m: {"upload": [], "download": []} for m in ("xet", "lfs")
        }
        upload_bytes: dict[str, int] = {}
        peak_rss: dict[str, float] = {"xet": 0.0, "lfs": 0.0}
        runs = 0
        for repeat in range(args.repeats):
            for mode in ("xet", "lfs") if repeat % 2 == 0 else ("lfs", "xet"):
                runs += 1
                hub = Hub(work / f"hub-{runs}")
                try:
                    repo = "dev/bench"
                    create_repo(hub, repo)
                    hub.control("POST", "/stats/reset")
                    home = work / f"home-{runs}"
                    seconds = transfer(hub, mode, "upload", repo, source, home)
                    times[mode]["upload"].append(seconds)
                    upload_bytes[mode] = received(hub)
                    target = work / f"download-{runs}"
                    seconds = transfer(hub, mode, "download", repo, target, work / f"dl-{runs}")
                    times[mode]["download"].append(seconds)
                    assert sha256_of(target / FILE) == expected, f"{mode} download differs"
                    shutil.rmtree(target)
                    peak_rss[mode] = max(peak_rss[mode], hub.peak_rss_mb())
                    print(
                        f"run {repeat} {mode}: up {times[mode]['upload'][-1]:.2f} s, "
                        f"down {times[mode]['download'][-1]:.2f} s"
                    )
                finally:
                    hub.stop()
                    shutil.rmtree(work / f"hub-{runs}", ignore_errors=True)
                    shutil.rmtree(work / f"home-{runs}", ignore_errors=True)
                    shutil.rmtree(work / f"dl-{runs}", ignore_errors=True)

        # De-duplication: the same file with 1 MiB changed in its middle, uploaded again.
        hub = Hub(work / "hub-dedup")
        try:
            create_repo(hub, "dev/dedup")
            transfer(hub, "xet", "upload", "dev/dedup", source, work / "home-dedup")
            changed = work / "changed" / FILE
            changed.parent.mkdir()
            shutil.copyfile(source, changed)
            with changed.open("r+b") as handle:
                handle.seek(args.mb * MiB // 2)
                handle.write(os.urandom(MiB))
            hub.control("POST", "/stats/reset")
            # From another client (an empty HF_HOME): only the Hub's global de-duplication
            # can spare it the unchanged chunks.
            reupload = transfer(hub, "xet", "upload", "dev/dedup", changed, work / "home-dedup-2")
            stats = hub.control("GET", "/stats")
            reupload_bytes = int(sum(stats["request_bytes"].values()))
            xorb_bytes = int(
                sum(v for k, v in stats["request_bytes"].items() if "/_xet/v1/xorbs/" in k)
            )
            target = work / "download-dedup"
            transfer(hub, "xet", "download", "dev/dedup", target, work / "dl-dedup")
            assert sha256_of(target / FILE) == sha256_of(changed), "changed file differs"
        finally:
            hub.stop()

        medians = {m: {k: statistics.median(v) for k, v in t.items()} for m, t in times.items()}
        size = source.stat().st_size
        results = {
            "benchmark": "xet_transfer",
            "date": time.strftime("%Y-%m-%d"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "page_cache_dropped_before_each_step": drop_caches(),
            },
            "payload": {"bytes": size, "files": 1, "content": "random (incompressible)"},
            "repeats": args.repeats,
            "median_seconds": {
                f"{m}_{k}": round(v, 3) for m, d in medians.items() for k, v in d.items()
            },
            "runs_seconds": {
                f"{m}_{k}": [round(x, 3) for x in v] for m, t in times.items() for k, v in t.items()
            },
            "ratio_xet_vs_lfs": {
                k: round(medians["xet"][k] / medians["lfs"][k], 2) for k in ("upload", "download")
            },
            "upload_request_bytes": upload_bytes,
            "server_peak_rss_mb": peak_rss,
            "reupload_after_1mib_change": {
                "seconds": round(reupload, 3),
                "request_bytes": reupload_bytes,
                "xorb_bytes": xorb_bytes,
                "fraction_of_file": round(reupload_bytes / size, 5),
                "client_cache": "empty (another HF_HOME): global de-duplication only",
            },
            "goals": {"ratio_max": 1.5, "reupload_fraction_max": 0.05},
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
