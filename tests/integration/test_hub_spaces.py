"""Docker Spaces on the local Hub's process runtime, through the real huggingface_hub client."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, SpaceRuntime
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.conftest import HubTokens, hub_faults, space_counters
from zenml_hf_registry.hub import HubSettings, LocalHub

pytestmark = pytest.mark.integration

APP = """\
import http.server, json, os, sys
port = int(os.environ.get("PORT", "7860")) if "--fixed" not in sys.argv else 7861
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({k: os.environ.get(k) for k in ("GREETING", "MODE", "SPACE_ID")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("request", self.path, flush=True)
print("app listening on", port, flush=True)
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

README = "---\ntitle: Test\nsdk: docker\napp_port: 7860\nstartup_duration_timeout: 20s\n---\n"


def dockerfile(*args: str) -> bytes:
    return (
        "FROM python:3.11-slim\nENV MODE=from-dockerfile\n"
        f"CMD {json.dumps([sys.executable, 'app.py', *args])}\n"
    ).encode()


@pytest.fixture
def space_hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    with LocalHub(hub_settings.model_copy(update={"space_startup_timeout": 20.0})) as hub:
        yield hub


@pytest.fixture
def api(space_hub: LocalHub, hub_tokens: HubTokens) -> HfApi:
    return HfApi(endpoint=space_hub.url, token=hub_tokens.writer.token)


def push_space(api: HfApi, repo_id: str, files: dict[str, bytes]) -> None:
    from huggingface_hub import CommitOperationAdd

    api.create_commit(
        repo_id,
        [CommitOperationAdd(path_in_repo=p, path_or_fileobj=c) for p, c in files.items()],
        commit_message="app",
        repo_type="space",
    )


def wait_for(api: HfApi, repo_id: str, *stages: str, timeout: float = 30) -> SpaceRuntime:
    deadline = time.monotonic() + timeout
    runtime = api.get_space_runtime(repo_id)
    while runtime.stage not in stages and time.monotonic() < deadline:
        time.sleep(0.1)
        runtime = api.get_space_runtime(repo_id)
    assert runtime.stage in stages, runtime.raw
    return runtime


def get_json(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def greeting(url: str) -> str | None:
    """The app's GREETING, or None while it restarts (503, or a connection cut by the restart)."""
    try:
        status, body = get_json(url)
    except (urllib.error.URLError, ConnectionError):
        return None
    return body.get("GREETING") if status == 200 else None


def test_space_lifecycle(api: HfApi, space_hub: LocalHub) -> None:
    api.create_repo(
        "acme/app",
        repo_type="space",
        space_sdk="docker",
        space_hardware="cpu-upgrade",
        space_secrets=[{"key": "GREETING", "value": "hello"}],
        space_variables=[{"key": "MODE", "value": "from-variable"}],
    )
    assert api.get_space_runtime("acme/app").stage == "NO_APP_FILE"

    push_space(
        api,
        "acme/app",
        {"README.md": README.encode(), "Dockerfile": dockerfile(), "app.py": APP.encode()},
    )
    runtime = wait_for(api, "acme/app", "RUNNING")
    assert runtime.hardware == "cpu-upgrade"
    info = api.space_info("acme/app")
    assert info.host
    assert info.host.startswith("http://127.0.0.1:")
    assert runtime.raw["domains"][0]["domain"] == info.host.removeprefix("http://")
    status, seen = get_json(info.host)
    assert status == 200
    # Secrets and variables reach the app; variables override the Dockerfile's ENV.
    assert seen == {"GREETING": "hello", "MODE": "from-variable", "SPACE_ID": "acme/app"}
    build_log = "".join(api.fetch_space_logs("acme/app", build=True))
    assert "build succeeded" in build_log
    assert "app listening on" in "".join(api.fetch_space_logs("acme/app"))
    first = space_counters(space_hub, "acme/app")
    assert (first["builds"], first["restarts"]) == (1, 0)
    # How long the build and the start took, for benchmarks.
    assert 0 <= first["lastBuildSeconds"] < 60
    assert 0 < first["lastStartSeconds"] < 60

    # A secret change restarts the app once, with the new value.
    api.add_space_secret("acme/app", "GREETING", "bonjour")
    assert space_counters(space_hub, "acme/app")["restarts"] == 1
    deadline = time.monotonic() + 20
    while greeting(info.host) != "bonjour" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert greeting(info.host) == "bonjour"
    assert space_counters(space_hub, "acme/app")["builds"] == 1  # restarted, not rebuilt

    api.pause_space("acme/app")
    wait_for(api, "acme/app", "PAUSED")
    assert get_json(info.host)[0] == 503
    api.restart_space("acme/app")
    wait_for(api, "acme/app", "RUNNING")
    assert get_json(info.host)[0] == 200

    api.delete_repo("acme/app", repo_type="space")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(info.host, timeout=5)
    with pytest.raises(RepositoryNotFoundError):
        api.get_space_runtime("acme/app")


def test_two_spaces_with_the_same_app_port_run_side_by_side(api: HfApi) -> None:
    for name in ("acme/one", "acme/two"):
        api.create_repo(name, repo_type="space", space_sdk="docker")
        push_space(
            api,
            name,
            {"README.md": README.encode(), "Dockerfile": dockerfile(), "app.py": APP.encode()},
        )
    for name in ("acme/one", "acme/two"):
        wait_for(api, name, "RUNNING")
        assert get_json(api.space_info(name).host or "")[1]["SPACE_ID"] == name


@pytest.mark.parametrize(
    ("files", "stage", "message"),
    [
        ({"README.md": README.encode()}, "NO_APP_FILE", None),
        (
            {"README.md": b"---\nsdk: docker\napp_port: 99999\n---\n", "Dockerfile": b"FROM x\n"},
            "CONFIG_ERROR",
            "app_port",
        ),
        ({"Dockerfile": b'CMD ["true"]\n'}, "CONFIG_ERROR", "no FROM"),
        ({"Dockerfile": b"FROM python:3.11\n"}, "BUILD_ERROR", "no CMD or ENTRYPOINT"),
        (
            {"Dockerfile": b'FROM python:3.11\nCMD ["no-such-binary-here"]\n'},
            "RUNTIME_ERROR",
            "not found",
        ),
    ],
)
def test_broken_spaces_end_in_the_right_stage(
    api: HfApi, files: dict[str, bytes], stage: str, message: str | None
) -> None:
    api.create_repo("acme/broken", repo_type="space", space_sdk="docker")
    push_space(api, "acme/broken", files)
    runtime = wait_for(api, "acme/broken", stage)
    if message:
        assert message in runtime.raw["errorMessage"]


def test_app_that_exits_is_a_runtime_error_with_its_last_words(api: HfApi) -> None:
    api.create_repo("acme/crash", repo_type="space", space_sdk="docker")
    crash = b"import sys\nprint('cannot load the model', flush=True)\nsys.exit(3)\n"
    push_space(api, "acme/crash", {"Dockerfile": dockerfile(), "app.py": crash})
    runtime = wait_for(api, "acme/crash", "RUNTIME_ERROR")
    assert "exited with code 3" in runtime.raw["errorMessage"]
    assert "cannot load the model" in runtime.raw["errorMessage"]


def test_app_on_the_wrong_port_times_out(api: HfApi) -> None:
    api.create_repo("acme/deaf", repo_type="space", space_sdk="docker")
    readme = README.replace("20s", "2s").encode()
    push_space(
        api,
        "acme/deaf",
        {"README.md": readme, "Dockerfile": dockerfile("--fixed"), "app.py": APP.encode()},
    )
    runtime = wait_for(api, "acme/deaf", "RUNTIME_ERROR", timeout=20)
    assert "did not listen on port 7860" in runtime.raw["errorMessage"]


def test_private_space_gate_needs_a_token_that_may_read_it(
    space_hub: LocalHub, hub_tokens: HubTokens
) -> None:
    alice = HfApi(endpoint=space_hub.url, token=hub_tokens.writer.token)
    alice.create_repo("acme/private-app", repo_type="space", space_sdk="docker", private=True)
    push_space(alice, "acme/private-app", {"Dockerfile": dockerfile(), "app.py": APP.encode()})
    wait_for(alice, "acme/private-app", "RUNNING")
    host = alice.space_info("acme/private-app").host or ""

    assert get_json(host)[0] == 404
    assert get_json(host, hub_tokens.outsider.token)[0] == 404
    assert get_json(host, "not-a-known-token")[0] == 404
    assert get_json(host, hub_tokens.reader.token)[0] == 200


def test_settings_changes_count_one_restart_each(api: HfApi, space_hub: LocalHub) -> None:
    api.create_repo("acme/settings", repo_type="space", space_sdk="docker")
    push_space(api, "acme/settings", {"Dockerfile": dockerfile(), "app.py": APP.encode()})
    wait_for(api, "acme/settings", "RUNNING")

    runtime = api.request_space_hardware("acme/settings", "t4-small")
    assert runtime.requested_hardware == "t4-small"
    api.request_space_hardware("acme/settings", "t4-small")  # unchanged: no restart
    api.set_space_sleep_time("acme/settings", 3600)  # sleep time never restarts
    api.add_space_variable("acme/settings", "MODE", "fast")
    assert api.get_space_variables("acme/settings")["MODE"].value == "fast"
    api.delete_space_variable("acme/settings", "MODE")
    assert "MODE" not in api.get_space_variables("acme/settings")
    api.delete_space_secret("acme/settings", "NEVER_SET")  # nothing to remove: no restart

    assert space_counters(space_hub, "acme/settings")["restarts"] == 3
    runtime = wait_for(api, "acme/settings", "RUNNING")
    assert runtime.sleep_time == 3600
    assert runtime.hardware == "t4-small"

    with pytest.raises(HfHubHTTPError) as refused:
        api.request_space_hardware("acme/settings", "quantum-xl")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 400
    assert "cpu-basic" in str(refused.value)  # lists the valid names
    assert space_counters(space_hub, "acme/settings")["restarts"] == 3


def test_secret_values_never_leave_the_server(api: HfApi, space_hub: LocalHub) -> None:
    api.create_repo(
        "acme/secretive",
        repo_type="space",
        space_sdk="docker",
        space_secrets=[{"key": "API_KEY", "value": "sentinel-value-123"}],
    )
    api.add_space_secret("acme/secretive", "DESCRIBED", "other-sentinel", description="why")
    # The client's own parser reads the Hub's shape: an object keyed by secret name.
    secrets = api.get_space_secrets("acme/secretive")
    assert sorted(secrets) == ["API_KEY", "DESCRIBED"]
    assert secrets["DESCRIBED"].description == "why"
    assert secrets["API_KEY"].description is None
    assert secrets["API_KEY"].updated_at is not None
    status, listed = get_json(
        f"{space_hub.url}/api/spaces/acme/secretive/secrets",
        api.token,  # type: ignore[arg-type]
    )
    assert status == 200
    assert "sentinel" not in json.dumps(listed)
    assert "sentinel-value-123" not in json.dumps(
        api.space_info("acme/secretive").__dict__, default=str
    )


def test_build_logs_follow_until_the_build_ends(
    hub_settings: HubSettings, hub_tokens: HubTokens
) -> None:
    settings = hub_settings.model_copy(update={"space_build_delay": 1.0})
    with LocalHub(settings) as hub:
        api = HfApi(endpoint=hub.url, token=hub_tokens.writer.token)
        api.create_repo("acme/slow", repo_type="space", space_sdk="docker")
        push_space(api, "acme/slow", {"Dockerfile": dockerfile(), "app.py": APP.encode()})
        assert api.get_space_runtime("acme/slow").stage == "BUILDING"
        lines = list(api.fetch_space_logs("acme/slow", build=True, follow=True))
        assert lines[-1] == "build succeeded\n"


def test_fault_injection_and_forced_stages(api: HfApi, space_hub: LocalHub) -> None:
    api.create_repo("acme/faulty", repo_type="space", space_sdk="docker")
    hub_faults(space_hub, "POST", method="GET", path=r"/api/spaces/acme/faulty/runtime", status=503)

    with pytest.raises(HfHubHTTPError) as injected:
        api.get_space_runtime("acme/faulty")
    assert injected.value.response.status_code == 503
    assert api.get_space_runtime("acme/faulty").stage == "NO_APP_FILE"  # spent after one use

    space_hub.control.force_stage("acme/faulty", "PAUSED")
    assert api.get_space_runtime("acme/faulty").stage == "PAUSED"


def test_spaces_come_back_after_a_server_restart(
    hub_settings: HubSettings, hub_tokens: HubTokens, tmp_path: Path
) -> None:
    settings = hub_settings.model_copy(update={"space_startup_timeout": 20.0})
    with LocalHub(settings) as first:
        api = HfApi(endpoint=first.url, token=hub_tokens.writer.token)
        api.create_repo(
            "acme/durable-app",
            repo_type="space",
            space_sdk="docker",
            space_secrets=[{"key": "GREETING", "value": "still here"}],
        )
        push_space(api, "acme/durable-app", {"Dockerfile": dockerfile(), "app.py": APP.encode()})
        wait_for(api, "acme/durable-app", "RUNNING")
        host = api.space_info("acme/durable-app").host
    with LocalHub(settings) as second:
        api = HfApi(endpoint=second.url, token=hub_tokens.writer.token)
        wait_for(api, "acme/durable-app", "RUNNING")
        assert api.space_info("acme/durable-app").host == host  # the URL is stable
        assert get_json(host or "")[1]["GREETING"] == "still here"


def test_spaces_of_every_sdk_are_created_and_existence_comes_before_the_sdk(api: HfApi) -> None:
    for sdk in ("gradio", "streamlit", "static", "docker"):
        url = api.create_repo(f"acme/{sdk}-space", repo_type="space", space_sdk=sdk)
        assert url.repo_id == f"acme/{sdk}-space"
        assert api.space_info(f"acme/{sdk}-space").sdk == sdk
    # The Hub answers 409 for an existing repo before judging the rest of the body, so
    # `exist_ok=True` returns the existing Space whatever SDK is asked for.
    again = api.create_repo(
        "acme/gradio-space", repo_type="space", space_sdk="docker", exist_ok=True
    )
    assert again.repo_id == "acme/gradio-space"
    # The client checks the SDK itself; the Hub refuses one it does not know, too.
    request = urllib.request.Request(
        f"{api.endpoint}/api/repos/create",
        data=json.dumps({"name": "acme/new-one", "type": "space", "sdk": "nope"}).encode(),
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert "gradio, streamlit, docker, static" in refused.value.read().decode()
    assert not api.repo_exists("acme/new-one", repo_type="space")


def test_a_static_space_serves_its_files(api: HfApi) -> None:
    api.create_repo("acme/site", repo_type="space", space_sdk="static")
    assert api.get_space_runtime("acme/site").stage == "NO_APP_FILE"
    push_space(api, "acme/site", {"index.html": b"<h1>hello from a static Space</h1>"})
    runtime = wait_for(api, "acme/site", "RUNNING")
    # The recorded Hub answer for a static Space: no hardware of its own, one replica.
    assert runtime.raw["hardware"] == {"current": None, "requested": None}
    assert runtime.raw["replicas"] == {"requested": 1, "current": 1}
    host = api.space_info("acme/site").host
    assert host is not None
    with urllib.request.urlopen(f"{host}/", timeout=10) as reply:
        assert reply.read() == b"<h1>hello from a static Space</h1>"


def test_an_sdk_the_local_hub_cannot_run_ends_in_a_build_error_that_says_why(
    api: HfApi,
) -> None:
    import importlib.util

    if importlib.util.find_spec("gradio") is not None:  # pragma: no cover - not in our env
        pytest.skip("gradio is installed here: the Space would run")
    api.create_repo("acme/demo", repo_type="space", space_sdk="gradio")
    push_space(api, "acme/demo", {"app.py": b"import gradio\n"})
    runtime = wait_for(api, "acme/demo", "BUILD_ERROR")
    assert "gradio is not installed" in (runtime.raw.get("errorMessage") or "")
    assert "sdk: docker" in runtime.raw["errorMessage"]


def test_pause_and_restart_answer_the_stages_the_hub_answers(api: HfApi) -> None:
    api.create_repo("acme/pausing", repo_type="space", space_sdk="docker")
    push_space(
        api,
        "acme/pausing",
        {"README.md": README.encode(), "Dockerfile": dockerfile(), "app.py": APP.encode()},
    )
    running = wait_for(api, "acme/pausing", "RUNNING")
    assert running.raw["replicas"] == {"requested": 1, "current": 1}
    assert running.raw["domains"][0]["stage"] == "READY"
    paused = api.pause_space("acme/pausing")
    assert paused.stage == "PAUSED"
    assert paused.raw["replicas"] == {"requested": 1}  # no replica runs
    assert paused.raw["domains"][0]["stage"] == "READY"  # the domain stays routed
    # Restarting a paused Space rebuilds it: the Hub answers BUILDING.
    assert api.restart_space("acme/pausing").stage == "BUILDING"
    wait_for(api, "acme/pausing", "RUNNING")
