"""A process-runtime Space sees what a Hub container would, and nothing of the server's.

Each check is the attack a Space's code would try: read the server's environment, the local
Hub's data dir (every Space's secrets, private blobs), the user's HOME, another Space's files;
run as the server's user. The app reports what it could do; the test asserts the refusals.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.conftest import HubTokens
from tests.integration.sandboxed_spaces import (
    DOCKERFILE,
    README,
    SERVE_REPORT,
    require_bubblewrap,
)
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration

PROBE = (
    """\
import http.server, json, os, sys
from pathlib import Path

def readable(path):
    try:
        if Path(path).is_file():
            return Path(path).read_bytes()[:16].hex()
        return sorted(os.listdir(path))[:5]
    except OSError:
        return None

report = {
    "uid": os.getuid(),
    "home": os.environ.get("HOME"),
    "env": sorted(os.environ),
    "secret": os.environ.get("API_KEY"),
    "data_dir": readable(os.environ["TARGET_DATA_DIR"]),
    "database": readable(os.environ["TARGET_DATA_DIR"] + "/hub.sqlite3"),
    "user_home_file": readable(os.environ["TARGET_USER_FILE"]),
    "other_space": readable(os.environ["TARGET_OTHER_SPACE"]),
    "own_files": readable("app.py") is not None,
    "cwd": os.getcwd(),
    "home_writable": Path(os.environ["HOME"], "probe").write_text("x") == 1,
}
"""
    + SERVE_REPORT
)


@pytest.fixture
def sandboxed_hub(hub_settings: HubSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHub]:
    require_bubblewrap()
    # Something only the server's environment holds.
    monkeypatch.setenv("ZHR_SERVER_ONLY_SENTINEL", "server-environment-sentinel")
    settings = hub_settings.model_copy(
        update={"space_sandbox": "bubblewrap", "space_startup_timeout": 30.0}
    )
    with LocalHub(settings) as hub:
        yield hub


def _deploy(api: HfApi, repo_id: str, variables: dict[str, str]) -> None:
    _push(
        api,
        repo_id,
        PROBE,
        space_secrets=[{"key": "API_KEY", "value": f"secret-of-{repo_id}"}],
        space_variables=[{"key": k, "value": v} for k, v in variables.items()],
    )


def _report(api: HfApi, repo_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (runtime := api.get_space_runtime(repo_id)).stage != "RUNNING":
        assert runtime.stage not in ("BUILD_ERROR", "RUNTIME_ERROR"), runtime.raw
        assert time.monotonic() < deadline, runtime.raw
        time.sleep(0.2)
    host = api.space_info(repo_id).host
    with urllib.request.urlopen(f"{host}/", timeout=10) as reply:
        report: dict[str, Any] = json.load(reply)
    return report


def test_a_space_sees_only_what_a_hub_container_would(
    sandboxed_hub: LocalHub, hub_tokens: HubTokens
) -> None:
    api = HfApi(endpoint=sandboxed_hub.url, token=hub_tokens.writer.token)
    user_file = Path(os.environ["HOME"]) / "private-notes.txt"
    user_file.write_text("the user's own file")
    data_dir = sandboxed_hub.settings.data_dir
    _deploy(api, "acme/other", {"TARGET_DATA_DIR": "/", "TARGET_USER_FILE": "/",
                                "TARGET_OTHER_SPACE": "/"})  # fmt: skip
    _report(api, "acme/other")
    other_files = next((data_dir / "spaces").glob("*/checkout"))
    _deploy(
        api,
        "acme/probe",
        {
            "TARGET_DATA_DIR": str(data_dir),
            "TARGET_USER_FILE": str(user_file),
            "TARGET_OTHER_SPACE": str(other_files),
        },
    )
    report = _report(api, "acme/probe")

    assert report["uid"] == 1000  # like a Hub container
    assert report["home"] == "/home/user"
    assert report["home_writable"] is True
    assert report["own_files"] is True
    assert report["cwd"] == "/home/user/app"  # the WORKDIR of Hugging Face's Docker examples
    assert report["secret"] == "secret-of-acme/probe"  # its own secret, as an env var
    assert "ZHR_SERVER_ONLY_SENTINEL" not in report["env"]
    assert "HF_HOME" not in report["env"]  # set for the test process, never passed on
    # The local Hub's data dir: every Space's secrets (SQLite), private blobs, ticket key.
    assert report["database"] is None
    assert report["data_dir"] is None
    assert report["user_home_file"] is None
    assert report["other_space"] is None


def test_without_a_sandbox_a_space_still_gets_a_clean_environment(
    hub_settings: HubSettings, hub_tokens: HubTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHR_SERVER_ONLY_SENTINEL", "server-environment-sentinel")
    settings = hub_settings.model_copy(
        update={"space_sandbox": "none", "space_startup_timeout": 30.0}
    )
    with LocalHub(settings) as hub:
        api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
        _deploy(api, "acme/plain", {"TARGET_DATA_DIR": "/nowhere", "TARGET_USER_FILE": "/nowhere",
                                    "TARGET_OTHER_SPACE": "/nowhere"})  # fmt: skip
        report = _report(api, "acme/plain")
    assert "ZHR_SERVER_ONLY_SENTINEL" not in report["env"]
    assert report["home"] != os.environ["HOME"]  # never the user's (here: the test's) HOME
    assert report["home"].startswith(str(settings.data_dir))
    assert report["secret"] == "secret-of-acme/plain"
    assert set(report["env"]) >= {"PORT", "SPACE_ID", "PATH", "HOME", "API_KEY"}
    assert sys.executable  # the app ran with the Hub's interpreter


ECHO = """\
import http.server, json, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"space": os.environ["SPACE_ID"],
                           "authorization": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()
http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
"""
IDLE = "import time\nwhile True:\n    time.sleep(1)\n"


def _push(api: HfApi, repo_id: str, app: str, readme: bytes = README, **create: Any) -> None:
    api.create_repo(repo_id, repo_type="space", space_sdk="docker", **create)
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=readme),
            CommitOperationAdd(path_in_repo="Dockerfile", path_or_fileobj=DOCKERFILE),
            CommitOperationAdd(path_in_repo="app.py", path_or_fileobj=app.encode()),
        ],
        commit_message="app",
        repo_type="space",
    )


def _get(url: str, token: str | None = None, data: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait(api: HfApi, repo_id: str, *stages: str) -> str:
    deadline = time.monotonic() + 60
    while (stage := str(api.get_space_runtime(repo_id).stage)) not in stages:
        assert time.monotonic() < deadline, stage
        time.sleep(0.2)
    return stage


def test_the_private_gate_keeps_visitor_tokens_and_other_spaces_out(
    hub: LocalHub, hub_tokens: HubTokens
) -> None:
    alice = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
    carol = HfApi(endpoint=hub.url, token=hub_tokens.outsider.token)
    _push(alice, "acme/private-app", ECHO, private=True)
    _wait(alice, "acme/private-app", "RUNNING")
    host = alice.space_info("acme/private-app").host
    assert host is not None

    # The member's Hub token opens the gate, and stops there: the app never sees it.
    status, seen = _get(f"{host}/", hub_tokens.writer.token)
    assert status == 200
    assert seen["authorization"] is None
    status, _ = _get(f"{host}/", hub_tokens.outsider.token)
    assert status == 404

    # Another user's public Space cannot serve the private app through its own gateway by
    # pointing its app_port at the private app's port.
    private_port = hub.control.space("acme/private-app")["appPort"]
    hijack = f"---\nsdk: docker\napp_port: {private_port}\nstartup_duration_timeout: 3s\n---\n"
    _push(carol, "carol/hijack", IDLE, readme=hijack.encode())
    assert _wait(carol, "carol/hijack", "RUNNING", "RUNTIME_ERROR") == "RUNTIME_ERROR"
    carol_host = carol.space_info("carol/hijack").host
    status, body = _get(f"{carol_host}/")
    assert status == 503
    assert "acme/private-app" not in json.dumps(body)

    # Paused, a private Space is still not found by outsiders (not "not running").
    alice.pause_space("acme/private-app")
    assert _get(f"{host}/")[0] == 404
    assert _get(f"{host}/", hub_tokens.writer.token)[0] == 503


def test_the_gateway_refuses_oversized_and_unframed_bodies_before_reading_them(
    hub: LocalHub, hub_tokens: HubTokens
) -> None:
    import http.client

    api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
    _push(api, "acme/echo", ECHO)
    _wait(api, "acme/echo", "RUNNING")
    host = api.space_info("acme/echo").host
    assert host is not None
    status, echoed = _get(f"{host}/", data=b"x" * 200_000)  # streamed through
    assert status == 200
    assert echoed["space"] == "acme/echo"
    address = host.removeprefix("http://")
    for headers in ({"Content-Length": str(2 * 1024**3)}, {"Transfer-Encoding": "chunked"}):
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.putrequest("POST", "/")
        for key, value in headers.items():
            connection.putheader(key, value)
        connection.endheaders()  # no body is ever sent
        assert connection.getresponse().status in (411, 413)
        connection.close()
