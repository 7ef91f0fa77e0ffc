"""Run `make demo` with a HOME of its own and fail if anything in it changed.

The demo must leave the user's HOME, their ZenML configuration and their caches byte-for-byte
as they were: it keeps its state under `.demo/` in the checkout. The HOME used here holds a
ZenML global configuration, a Hugging Face cache with a token, pip and XDG caches, as a
developer's would; every file and folder in it is hashed before and after the demo.

    python scripts/demo_leaves_home.py     (CI runs it after the tests)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def populate(home: Path) -> None:
    """A developer's HOME in small: ZenML and Hugging Face set up, some caches."""
    files = {
        ".config/zenml/config.yaml": "user_id: 00000000-0000-0000-0000-000000000001\n"
        "analytics_opt_in: false\nactive_stack_id: null\n",
        ".config/zenml/local_stores/default_zen_store/.keep": "",
        ".cache/huggingface/token": "hf_user_own_token_do_not_touch\n",
        ".cache/huggingface/hub/models--user--model/refs/main": "0" * 40 + "\n",
        ".cache/pip/selfcheck/state.json": "{}\n",
        ".bashrc": "export PATH=$HOME/bin:$PATH\n",
    }
    for relative, text in files.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def snapshot(home: Path) -> dict[str, str]:
    """Every entry below `home`: files by content and mode, folders and links by kind."""
    seen: dict[str, str] = {}
    for path in sorted(home.rglob("*")):
        relative = str(path.relative_to(home))
        if path.is_symlink():
            seen[relative] = f"link -> {path.readlink()}"
        elif path.is_dir():
            seen[relative] = f"dir {path.stat().st_mode:o}"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            seen[relative] = f"file {path.stat().st_mode:o} {digest}"
    return seen


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="demo-home-") as tmp:
        home = Path(tmp)
        populate(home)
        before = snapshot(home)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ZENML_", "HF_", "HUGGINGFACE_", "XDG_"))
        }
        env["HOME"] = str(home)
        result = subprocess.run(["make", "demo"], cwd=ROOT, env=env, check=False)
        if result.returncode != 0:
            print(f"make demo failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
        after = snapshot(home)
    changed = sorted(
        key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
    )
    if changed:
        print("make demo changed the user's HOME:", file=sys.stderr)
        for key in changed:
            print(
                f"  {key}: {before.get(key, 'absent')} -> {after.get(key, 'absent')}",
                file=sys.stderr,
            )
        return 1
    print(f"make demo left HOME unchanged ({len(before)} entries checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
