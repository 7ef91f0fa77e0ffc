"""Resource attacks on the local Hub, and what a bystander sees meanwhile.

The local Hub runs as its own `zenml-hf-registry hub serve` process. Each attack runs while a
bystander thread calls `whoami` (no database) and `model_info` of a small repo (a database
read) every 100 ms. Anchor: the same bystander calls with nothing else going on, in the same
run (the ratios are the attack's worst latency over the idle median). Reports per attack the
server's answer, the bystander's worst and median latency, and the server's peak RSS (sampled
every 50 ms with psutil, and the kernel's high-water mark `VmHWM`).

Goals (trust-model issue): server peak RSS < 300 MB, a concurrent `whoami` < 1 s.

    .venv/bin/python benchmarks/hub_resources.py [--files 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import psutil
from huggingface_hub import CommitOperationAdd, HfApi

RESULTS = Path(__file__).parent / "results" / "hub_resources.json"
CLI = Path(sys.executable).with_name("zenml-hf-registry")
TOKEN = "bench-resources-token-0123456789"
MiB = 1024 * 1024


class Bystander:
    """Calls `whoami` and `model_info` every 100 ms and keeps each call's latency."""

    def __init__(self, endpoint: str) -> None:
        self.api = HfApi(endpoint=endpoint, token=TOKEN)
        self.whoami: list[float] = []
        self.model_info: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _timed(self, into: list[float], call: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - a refused bystander is a finding, not a crash
            self.failures.append(f"{type(exc).__name__}: {exc}"[:200])
        into.append(time.perf_counter() - started)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._timed(self.whoami, self.api.whoami)
            self._timed(self.model_info, lambda: self.api.model_info("acme/small"))
            self._stop.wait(0.1)

    def __enter__(self) -> Bystander:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, Any]:
        def summary(values: list[float]) -> dict[str, float]:
            return {
                "max_s": round(max(values), 3) if values else 0.0,
                "median_s": round(statistics.median(values), 4) if values else 0.0,
                "calls": len(values),
            }

        return {
            "whoami": summary(self.whoami),
            "model_info": summary(self.model_info),
            "failures": self.failures[:5],
        }


class PeakRss:
    """Samples a process's RSS every 50 ms in a thread; `peak` in bytes."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def high_water_mark(pid: int) -> int:
    """The kernel's peak RSS of the process so far (`VmHWM`), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) * 1024 if match else 0


def raw_exchange(endpoint: str, head: bytes, body: Iterable[bytes] = ()) -> str:
    """Send a request head and body over a plain socket; the status line, or how it ended."""
    url = urlsplit(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        try:
            sock.sendall(head)
            for chunk in body:
                sock.sendall(chunk)
        except OSError as exc:  # the server answered and closed while we were still sending
            sent = f"closed while sending ({type(exc).__name__})"
        else:
            sent = "sent"
        try:
            answer = sock.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        except OSError as exc:
            answer = f"no answer ({type(exc).__name__})"
        return f"{answer or 'connection closed'}; {sent}"


def big_json_body(endpoint: str, args: argparse.Namespace) -> str:
    """300 MB declared and sent to an anonymous JSON route, then 300 MB chunked."""
    size = 300 * MiB
    block = b"x" * MiB
    declared = raw_exchange(
        endpoint,
        b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {size}\r\n\r\n".encode(),
        (block for _ in range(size // MiB)),
    )
    chunk = f"{MiB:x}\r\n".encode() + block + b"\r\n"
    chunked = raw_exchange(
        endpoint,
        b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        (chunk for _ in range(size // MiB)),
    )
    return f"declared: {declared} | chunked: {chunked}"


def big_headers(endpoint: str, args: argparse.Namespace) -> str:
    """50 requests, each with a 1 MiB header."""
    answers = set()
    for _ in range(50):
        answers.add(
            raw_exchange(
                endpoint,
                b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * MiB + b"\r\n\r\n",
            )
        )
    return " | ".join(sorted(answers))


def slow_clients(endpoint: str, args: argparse.Namespace) -> str:
    """300 connections trickling a request head, one byte every 0.5 s for 10 s."""
    url = urlsplit(endpoint)
    socks = []
    for _ in range(300):
        sock = socket.create_connection((url.hostname, url.port), timeout=30)
        sock.sendall(b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\n")
        socks.append(sock)
    alive = len(socks)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive:
        for sock in socks:
            try:
                sock.sendall(b"X")
            except OSError:
                alive -= 1
        time.sleep(0.5)
    for sock in socks:
        sock.close()
    return f"300 opened, {max(alive, 0)} still open after 10 s"


def long_ndjson_line(endpoint: str, args: argparse.Namespace) -> str:
    """A commit whose one inline file is a 300 MiB base64 line (over `max_request_size`)."""
    size = 300 * MiB
    head = (
        b"POST /api/models/acme/big/commit/main HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/x-ndjson\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    first = b'{"key":"header","value":{"summary":"x"}}\n{"key":"file","value":{"content":"'
    chunk = f"{MiB:x}\r\n".encode() + b"A" * MiB + b"\r\n"

    def body() -> Iterator[bytes]:
        yield f"{len(first):x}\r\n".encode() + first + b"\r\n"
        for _ in range(size // MiB):
            yield chunk

    return raw_exchange(endpoint, head, body())


def commit_many_files(endpoint: str, args: argparse.Namespace) -> str:
    """One commit of `--files` small files in 400 folders."""
    api = HfApi(endpoint=endpoint, token=TOKEN)
    operations = [
        CommitOperationAdd(
            path_in_repo=f"d{i % 50}/sub{i % 8}/f{i}.txt", path_or_fileobj=f"{i}\n".encode()
        )
        for i in range(args.files)
    ]
    started = time.perf_counter()
    api.create_commit("acme/big", operations=operations, commit_message="many files")
    return f"{args.files} files committed in {time.perf_counter() - started:.1f} s"


def recursive_listings(endpoint: str, args: argparse.Namespace) -> str:
    """Two anonymous clients list the big repo recursively, every page, at the same time."""
    anonymous = HfApi(endpoint=endpoint, token=False)
    counts: list[int] = []

    def listing() -> None:
        counts.append(sum(1 for _ in anonymous.list_repo_tree("acme/big", recursive=True)))

    started = time.perf_counter()
    threads = [threading.Thread(target=listing) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return f"{counts} entries each, {time.perf_counter() - started:.1f} s"


def _xorb(seed: int, size: int) -> tuple[str, bytes]:
    """A valid xorb of `size` bytes of incompressible 64 KiB chunks, and its hash string."""
    from zenml_hf_registry.hub import xetformat

    frames: list[bytes] = []
    chunks: list[tuple[bytes, int]] = []
    block = 64 * 1024
    for i in range(size // block):
        data = os.urandom(block - 4) + (seed * 100000 + i).to_bytes(4, "little")
        header = bytes([0]) + block.to_bytes(3, "little") + bytes([0]) + block.to_bytes(3, "little")
        frames.append(header + data)
        chunks.append((xetformat.chunk_hash(data), block))
    return xetformat.hash_to_hex(xetformat.xorb_hash(chunks)), b"".join(frames)


def concurrent_xorbs(endpoint: str, args: argparse.Namespace) -> str:
    """A writer sends 8 valid 64 MiB xorbs at once (each spooled, then verified chunk by chunk)."""
    request = urllib.request.Request(
        f"{endpoint}/api/models/acme/small/xet-write-token/main",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        grant = json.load(reply)
    cas, token = grant["casUrl"], grant["accessToken"]
    xorbs = [_xorb(seed, 64 * MiB) for seed in range(8)]
    answers: list[str] = []

    def send(xorb: str, body: bytes) -> None:
        request = urllib.request.Request(
            f"{cas}/v1/xorbs/default/{xorb}",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as reply:
                answers.append(f"{reply.status} {reply.read().decode()}")
        except urllib.error.HTTPError as exc:
            answers.append(f"{exc.code} {exc.read().decode()[:200]}")

    threads = [threading.Thread(target=send, args=xorb) for xorb in xorbs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return f"{len(answers)} answers: {sorted(set(answers))}"


ATTACKS: dict[str, Callable[[str, argparse.Namespace], str]] = {
    "big_json_body": big_json_body,
    "big_headers": big_headers,
    "slow_clients": slow_clients,
    "long_ndjson_line": long_ndjson_line,
    "commit_many_files": commit_many_files,
    "recursive_listings": recursive_listings,
    "concurrent_xorbs": concurrent_xorbs,
}


@contextmanager
def local_hub(data_dir: Path) -> Iterator[tuple[str, int]]:
    server = subprocess.Popen(
        [
            str(CLI),
            *("hub", "serve", "--port", "0", "--data-dir", str(data_dir)),
            *("--token", f"{TOKEN}:alice:write:acme"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for _ in range(20):
            match = re.search(r"at (http://\S+)", server.stdout.readline())
            if match:
                break
        else:
            raise RuntimeError("the local Hub did not print its endpoint")
        # Keep reading the server's access log, or a full pipe would block its event loop.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        yield match[1], server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hub-resources-"))
    try:
        with local_hub(work / "hub") as (endpoint, pid):
            api = HfApi(endpoint=endpoint, token=TOKEN)
            api.create_repo("acme/small")
            api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id="acme/small")
            api.create_repo("acme/big", private=False)
            with Bystander(endpoint) as idle:
                time.sleep(5)
            idle_figures = idle.figures()
            idle_whoami = idle_figures["whoami"]["median_s"] or 1e-3
            idle_rss = psutil.Process(pid).memory_info().rss
            print(f"idle: {idle_figures}  rss {idle_rss / MiB:.0f} MB")

            attacks: dict[str, Any] = {}
            for name, attack in ATTACKS.items():
                with PeakRss(pid) as rss, Bystander(endpoint) as bystander:
                    started = time.perf_counter()
                    answer = attack(endpoint, args)
                    seconds = time.perf_counter() - started
                figures = bystander.figures()
                attacks[name] = {
                    "what": (attack.__doc__ or "").strip(),
                    "server_answer": answer,
                    "seconds": round(seconds, 2),
                    "bystander": figures,
                    "whoami_max_over_idle_median": round(
                        figures["whoami"]["max_s"] / idle_whoami, 1
                    ),
                    "server_peak_rss_mb": round(rss.peak / MiB, 1),
                }
                print(f"{name}: {json.dumps(attacks[name])}")
            peak = high_water_mark(pid)

        worst_whoami = max(a["bystander"]["whoami"]["max_s"] for a in attacks.values())
        worst_rss = max(a["server_peak_rss_mb"] for a in attacks.values())
        results = {
            "benchmark": "hub_resources",
            "date": time.strftime("%Y-%m-%d"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "anchor_idle_bystander": idle_figures,
            "idle_rss_mb": round(idle_rss / MiB, 1),
            "attacks": attacks,
            "worst": {
                "whoami_max_s": worst_whoami,
                "server_peak_rss_mb_sampled": worst_rss,
                "server_vm_hwm_mb": round(peak / MiB, 1),
            },
            "goals": {"whoami_max_s": 1.0, "server_peak_rss_mb": 300},
            "goals_met": {
                "whoami": worst_whoami < 1.0,
                "rss": max(worst_rss, peak / MiB) < 300,
            },
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results["worst"], indent=2), json.dumps(results["goals_met"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
