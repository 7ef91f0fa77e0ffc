"""The registry CLI as a user drives it: formats, source commits, token files, progress bars.

Each test runs the installed `zenml-hf-registry` in a subprocess against two local Hubs (a
source and a registry), as `tests/integration/test_publish.py` does.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
import yaml
from huggingface_hub import HfApi

from tests.integration.test_publish import REGISTRY_READ, REGISTRY_WRITE, Setup, setup

__all__ = ["setup"]  # the fixture, shared with test_publish

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).with_name("zenml-hf-registry"))


def _env(setup: Setup, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "HF_TOKEN": setup.source_target.token or "",
        "ZENML_HF_REGISTRY_TOKEN": REGISTRY_WRITE.token,
        "COLUMNS": "80",  # what a pipe or a CI log gets: nothing may be cut to it
        **extra,
    }
    return {k: v for k, v in env.items() if v != ""}


def _common(setup: Setup) -> list[str]:
    return ["--registry", "acme/models", "--registry-endpoint", setup.registry.hub_endpoint]


def _run(
    setup: Setup, *args: str, stdin: str | None = None, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        env=_env(setup, **extra_env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _publish(setup: Setup, revision: str, cache: Path) -> dict[str, object]:
    result = _run(
        setup,
        *("publish", "acme/tiny-model", "--revision", revision, *_common(setup)),
        *("--source-endpoint", setup.source.url, "--cache-dir", str(cache), "-o", "json"),
    )
    assert result.returncode == 0, result.stderr
    record: dict[str, object] = json.loads(result.stdout)
    return record


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_listing_shows_source_commits_and_pull_takes_one(setup: Setup, tmp_path: Path) -> None:
    first = _publish(setup, setup.sha, tmp_path / "c")
    source = HfApi(endpoint=setup.source.url, token=setup.source_target.token)
    second_sha = source.upload_file(
        path_or_fileobj=b'{"hidden": 16}\n', path_in_repo="config.json", repo_id="acme/tiny-model"
    ).oid
    second = _publish(setup, second_sha, tmp_path / "c")
    assert first["registry_revision"] != second["registry_revision"]

    listed = _run(setup, "packages", "list", *_common(setup), "-o", "json")
    assert listed.returncode == 0, listed.stderr
    versions = {item["source_commit"]: item["version"] for item in json.loads(listed.stdout)}
    assert versions == {
        setup.sha: first["registry_revision"],
        second_sha: second["registry_revision"],
    }

    # The table at 80 columns keeps every commit whole, one package per line.
    table = _run(setup, "packages", "list", *_common(setup))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SOURCE", "COMMIT", "VERSION", "CREATED", "ID"]
    assert lines[1].split()[:3] == ["acme/tiny-model", second_sha, second["registry_revision"]]
    assert lines[2].split()[:3] == ["acme/tiny-model", setup.sha, first["registry_revision"]]

    # `pull --revision` takes the source commit, whole or as a 7-digit prefix.
    for revision in (setup.sha, setup.sha[:7]):
        out = tmp_path / f"out-{len(revision)}"
        pulled = _run(
            setup,
            *("pull", "acme/tiny-model", *_common(setup), "--revision", revision),
            *("--local-dir", str(out), "-o", "json"),
        )
        assert pulled.returncode == 0, pulled.stderr
        record = json.loads(pulled.stdout)["record"]
        assert record["revision"] == setup.sha
        assert record["registry_revision"] == first["registry_revision"]
        assert (out / "config.json").read_text() == '{"hidden": 8}\n'

    # The registry's own revision still works, and an unknown commit is "not found" (4).
    by_registry = _run(
        setup,
        *("packages", "describe", "acme/tiny-model", *_common(setup)),
        *("--revision", str(second["registry_revision"]), "-o", "json"),
    )
    assert by_registry.returncode == 0, by_registry.stderr
    assert json.loads(by_registry.stdout)["revision"] == second_sha
    unknown = _run(
        setup, "pull", "acme/tiny-model", *_common(setup), "--revision", "0123456789abcdef"
    )
    assert unknown.returncode == 4, unknown.stderr
    assert "neither a registry revision nor the source commit" in _one_error_line(unknown)


def test_describe_prints_full_checksums_in_every_format(setup: Setup, tmp_path: Path) -> None:
    published = _publish(setup, setup.sha, tmp_path / "c")
    describe = ["packages", "describe", "acme/tiny-model", *_common(setup)]

    as_yaml = _run(setup, *describe, "-o", "yaml")
    assert as_yaml.returncode == 0, as_yaml.stderr
    record = yaml.safe_load(as_yaml.stdout)
    as_json = json.loads(_run(setup, *describe, "--json").stdout)
    assert record == as_json
    assert record["revision"] == setup.sha
    for field, digits in (("md5", 32), ("sha1", 40), ("sha256", 64), ("sha512", 128)):
        assert len(record[field]) == digits
        assert record[field] == published[field]

    table = _run(setup, *describe)
    assert table.returncode == 0, table.stderr
    fields = {}
    for line in table.stdout.splitlines():
        label, _, value = line.partition("  ")
        fields[label.strip()] = value.strip()
    assert fields["sha512"] == published["sha512"]  # 128 digits on one line at 80 columns
    assert fields["source commit"] == setup.sha
    lfs = next(f for f in record["files"] if f["path"] == "model.safetensors")
    assert any(
        line.split() == ["model.safetensors", str(lfs["size"]), lfs["sha256"]]
        for line in table.stdout.splitlines()
    )

    missing = _run(setup, "packages", "describe", "acme/other-model", *_common(setup))
    assert missing.returncode == 4
    assert "has no package acme/other-model" in _one_error_line(missing)


def test_tokens_come_from_files_or_stdin_and_never_from_two_places(
    setup: Setup, tmp_path: Path
) -> None:
    _publish(setup, setup.sha, tmp_path / "c")
    token_file = tmp_path / "registry-token"
    token_file.write_text(REGISTRY_READ.token + "\n")
    listing = ["packages", "list", *_common(setup), "-o", "json"]

    # No token in the environment or on the command line: the file's is used.
    from_file = _run(
        setup, *listing, "--registry-token-file", str(token_file), ZENML_HF_REGISTRY_TOKEN=""
    )
    assert from_file.returncode == 0, from_file.stderr
    assert len(json.loads(from_file.stdout)) == 1
    from_stdin = _run(
        setup,
        *listing,
        "--registry-token-file",
        "-",
        stdin=REGISTRY_READ.token + "\n",
        ZENML_HF_REGISTRY_TOKEN="",
    )
    assert from_stdin.returncode == 0, from_stdin.stderr

    # The file beats the environment: a wrong token there is not used.
    over_env = _run(
        setup, *listing, "--registry-token-file", str(token_file), ZENML_HF_REGISTRY_TOKEN="bad"
    )
    assert over_env.returncode == 0, over_env.stderr

    # Without any token, the private registry refuses (3).
    anonymous = _run(setup, *listing, ZENML_HF_REGISTRY_TOKEN="")
    assert anonymous.returncode == 3, anonymous.stderr

    # Both on the command line, or a file that is not one token: refused (2), nothing echoed.
    both = _run(
        setup,
        *listing,
        "--registry-token",
        REGISTRY_READ.token,
        "--registry-token-file",
        str(token_file),
    )
    assert both.returncode == 2
    assert "not both" in both.stderr
    two = tmp_path / "two-tokens"
    two.write_text(f"{REGISTRY_READ.token}\n{REGISTRY_WRITE.token}\n")
    bad = _run(setup, *listing, "--registry-token-file", str(two))
    assert bad.returncode == 2
    assert "the token alone, on one line" in bad.stderr
    for result in (both, bad):
        assert REGISTRY_READ.token not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_hub_serve_reads_its_tokens_from_a_file(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# the test's users\ntok-dave-write-0001:dave:write:acme\n\n")
    serve = ["hub", "serve", "--port", "0", "--data-dir", str(tmp_path / "h")]
    server = subprocess.Popen(
        [CLI, *serve, "--token-file", str(tokens)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = ""
        for line in server.stdout:
            if line.strip().startswith("HF_ENDPOINT="):
                url = line.strip().split("=", 1)[1]
                break
        assert url, "the Hub did not start"
        assert "tok-dave-write-0001" not in " ".join(server.args)
        who = HfApi(endpoint=url, token="tok-dave-write-0001").whoami()
        assert who["name"] == "dave"
        assert [org["name"] for org in who["orgs"]] == ["acme"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run_on_a_terminal(setup: Setup, *args: str, **extra_env: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (as in an interactive shell)."""
    env = _env(setup, **extra_env)
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    env.update({k: v for k, v in extra_env.items() if v})
    primary, secondary = pty.openpty()
    # A terminal of 24 rows and 100 columns (a fresh pty has 0 columns: no room for a bar).
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [CLI, *args], env=env, stdout=subprocess.DEVNULL, stderr=secondary, text=True
    )
    os.close(secondary)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    code = process.wait(timeout=120)
    reader.join(timeout=30)
    os.close(primary)
    return code, b"".join(chunks).decode(errors="replace")


def test_byte_progress_bars_on_a_terminal_only(setup: Setup, tmp_path: Path) -> None:
    publish = [
        *("publish", "acme/tiny-model", "--revision", setup.sha, *_common(setup)),
        *("--source-endpoint", setup.source.url),
    ]
    code, terminal = _run_on_a_terminal(setup, *publish, "--cache-dir", str(tmp_path / "c1"))
    assert code == 0, terminal
    assert "Uploading bytes" in terminal
    assert "Downloading bytes" in terminal
    assert "3.15M/3.15M" in terminal  # the bar counted every byte sent: model + small files

    pull = ["pull", "acme/tiny-model", *_common(setup)]
    code, terminal = _run_on_a_terminal(setup, *pull, "--local-dir", str(tmp_path / "o1"))
    assert code == 0, terminal
    assert "Downloading bytes" in terminal

    # HF_HUB_DISABLE_PROGRESS_BARS=1 turns them off on a terminal too.
    code, quiet = _run_on_a_terminal(
        setup, *pull, "--local-dir", str(tmp_path / "o2"), HF_HUB_DISABLE_PROGRESS_BARS="1"
    )
    assert code == 0, quiet
    assert "bytes" not in quiet.replace("uploaded", "")
    assert "verified 4 files" in quiet  # .gitattributes too

    # A pipe (a log, CI) gets the one-line messages, no bar.
    piped = subprocess.run(
        [CLI, *publish, "--cache-dir", str(tmp_path / "c2")],
        env={k: v for k, v in _env(setup).items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr
    assert "\r" not in piped.stderr
    assert "Uploading bytes" not in piped.stderr
    assert "publishing acme/tiny-model" in piped.stderr
