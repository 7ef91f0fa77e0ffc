"""The end-to-end demo on the embedded local Hub: no account, no internet.

Run it with `make demo`. Each step prints what it did. State lives under `.demo/` and is
removed at the end unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

# The local Hub speaks LFS, not Xet; huggingface_hub reads this once, at import.
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from huggingface_hub import HfApi, snapshot_download

import zenml_hf_registry
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenSpec

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo"


def step(message: str) -> None:
    """Print one step of the demo."""
    print(f"==> {message}", flush=True)


def detail(message: str) -> None:
    """Print a detail of the current step."""
    print(f"    {message}", flush=True)


def make_model_folder(folder: Path) -> None:
    """A small model snapshot: config, tokenizer text and a 12 MB weights file (LFS)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "demo", "hidden_size": 8}\n')
    (folder / "tokenizer").mkdir(exist_ok=True)
    (folder / "tokenizer" / "vocab.txt").write_text("hello\nworld\n")
    (folder / "model.safetensors").write_bytes(os.urandom(12 * 1024 * 1024))


def main() -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep .demo/ afterwards")
    args = parser.parse_args()

    shutil.rmtree(STATE, ignore_errors=True)
    started = time.monotonic()
    step(f"zenml-hf-registry {zenml_hf_registry.__version__} is installed and importable")

    token = TokenSpec(token="demo-write-token", user="demo", orgs=("acme",))
    settings = HubSettings(data_dir=STATE / "hub", tokens=(token,))
    with LocalHub(settings) as hub:
        step(f"Local Hub up at {hub.url} (data in {settings.data_dir.relative_to(ROOT)})")
        api = HfApi(endpoint=hub.url, token=token.token)
        detail(f"whoami: {api.whoami()['name']} (orgs: {', '.join(token.orgs)})")

        repo_id = "acme/demo-model"
        url = api.create_repo(repo_id, private=True)
        step(f"Created private model repo {url.repo_id} at {url}")

        source = STATE / "model"
        make_model_folder(source)
        commit = api.upload_folder(repo_id=repo_id, folder_path=source, commit_message="Add model")
        step(f"Uploaded {source.relative_to(ROOT)} as commit {commit.oid[:12]}")
        for entry in api.list_repo_tree(repo_id, recursive=True):
            kind = "LFS " if getattr(entry, "lfs", None) else ""
            size = getattr(entry, "size", 0) or 0
            detail(f"{entry.path:<28} {kind:>4}{size:>10} bytes")

        again = api.upload_folder(repo_id=repo_id, folder_path=source)
        detail(f"re-upload of the unchanged folder made no new commit: {again.oid == commit.oid}")

        target = snapshot_download(
            repo_id,
            revision=commit.oid,
            endpoint=hub.url,
            token=token.token,
            cache_dir=STATE / "cache",
        )
        identical = all(
            (Path(target) / f.relative_to(source)).read_bytes() == f.read_bytes()
            for f in source.rglob("*")
            if f.is_file()
        )
        step(f"Downloaded commit {commit.oid[:12]} into a fresh cache: byte-identical={identical}")
        if not identical:
            return 1

        api.delete_repo(repo_id)
        step(f"Deleted {repo_id}")

    if not args.keep:
        shutil.rmtree(STATE, ignore_errors=True)
    step(f"Done in {time.monotonic() - started:.1f}s; the local Hub is stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
