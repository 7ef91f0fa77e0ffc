"""Upload and download 1 GB of LFS files through the real client against the local Hub.

Anchor: a plain file copy of the same folder on the same disk, in the same run, each step
starting from a dropped page cache (when run as root) so neither side reads from memory the
other warmed. Reports the
ratios and the server's peak RSS (the Hub runs as its own `zenml-hf-registry hub serve`
process, sampled with psutil). Goal (issue: local Hub part 1): within 3x of the copy, server
RSS under 200 MB.

    .venv/bin/python benchmarks/hub_transfer.py [--total-mb 1024] [--files 4]
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable
from pathlib import Path

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import psutil
from huggingface_hub import HfApi, snapshot_download

RESULTS = Path(__file__).parent / "results" / "hub_transfer.json"
CLI = Path(sys.executable).with_name("zenml-hf-registry")
MiB = 1024 * 1024


class PeakRss:
    """Samples a process's RSS every 50 ms in a thread; `peak` in bytes."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def make_folder(folder: Path, total_mb: int, files: int) -> None:
    folder.mkdir(parents=True)
    per_file = total_mb * MiB // files
    block = os.urandom(MiB)
    for i in range(files):
        with (folder / f"model-{i:05d}-of-{files:05d}.safetensors").open("wb") as handle:
            for j in range(per_file // MiB):
                # Distinct content per MiB so no two files or blocks are the same object.
                handle.write(j.to_bytes(8, "little") + i.to_bytes(8, "little") + block[16:])
    (folder / "config.json").write_text('{"model_type": "bench"}\n')


def drop_caches() -> bool:
    """Flush and drop the page cache (root only) so every step starts from the same cold state."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def timed(label: str, fn: Callable[[int], object], repeats: int) -> float:
    """Median wall time of `repeats` runs of `fn(run_index)`, each from a cold page cache."""
    times = []
    for run in range(repeats):
        drop_caches()
        start = time.perf_counter()
        fn(run)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"{label:<28} {median:8.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hub-bench-", dir=Path(__file__).parent.parent))
    try:
        source = work / "source"
        make_folder(source, args.total_mb, args.files)
        total = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())

        server = subprocess.Popen(
            [CLI, "hub", "serve", "--port", "0", "--data-dir", str(work / "hub")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert server.stdout is not None
        endpoint = re.search(r"at (http://\S+)", server.stdout.readline())[1]  # type: ignore[index]
        server.stdout.readline()
        token = server.stdout.readline().rsplit(": ", 1)[1].strip()
        # Keep reading the server's access log, or a full pipe would block its event loop.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        idle_rss = psutil.Process(server.pid).memory_info().rss
        api = HfApi(endpoint=endpoint, token=token)
        n = args.repeats

        def copy(run: int) -> None:
            shutil.copytree(source, work / f"copy-{run}")

        def upload(run: int) -> None:
            # A fresh repo each run, so every run really sends the bytes.
            api.create_repo(f"dev/bench-{run}")
            api.upload_folder(repo_id=f"dev/bench-{run}", folder_path=source)

        def download(run: int) -> None:
            snapshot_download(
                f"dev/bench-{run}", endpoint=endpoint, token=token, cache_dir=work / f"cache-{run}"
            )

        copy_time = timed("anchor: plain copy", copy, n)
        with PeakRss(server.pid) as rss_up:
            upload_time = timed("upload_folder", upload, n)
        with PeakRss(server.pid) as rss_down:
            download_time = timed("snapshot_download", download, n)
        server.terminate()
        server.wait(timeout=30)

        results = {
            "benchmark": "hub_transfer",
            "date": time.strftime("%Y-%m-%d"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "page_cache_dropped_before_each_step": drop_caches(),
            },
            "payload": {"bytes": total, "lfs_files": args.files},
            "median_seconds": {
                "plain_copy_anchor": round(copy_time, 3),
                "upload_folder": round(upload_time, 3),
                "snapshot_download": round(download_time, 3),
            },
            "repeats": n,
            "ratio_vs_copy": {
                "upload": round(upload_time / copy_time, 2),
                "download": round(download_time / copy_time, 2),
            },
            "server_rss_mb": {
                "idle": round(idle_rss / MiB, 1),
                "peak_upload": round(rss_up.peak / MiB, 1),
                "peak_download": round(rss_down.peak / MiB, 1),
            },
            "goals": {"ratio_max": 3.0, "server_rss_mb_max": 200},
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
