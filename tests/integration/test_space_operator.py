"""The deployer's Space plan applied with the real client to the local Hub: builds and restarts."""

from __future__ import annotations

import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from huggingface_hub import HfApi

from tests.conftest import HubTokens, hub_faults, hub_stats, space_counters
from zenml_hf_registry.deployer.space import (
    SpaceOperator,
    SpacePlan,
    SpaceSpec,
    plan_space,
    secret_digest,
)
from zenml_hf_registry.errors import HubAccessError, HubUnavailableError
from zenml_hf_registry.hub import HubSettings, LocalHub
from zenml_hf_registry.hub_client import make_api

pytestmark = pytest.mark.integration

APP = b"""\
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        env = os.environ.get
        body = (env("ZENML_STORE_URL", "") + "|" + env("LOG_LEVEL", "")).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


@pytest.fixture
def space_hub(hub_settings: HubSettings) -> Iterator[LocalHub]:
    with LocalHub(hub_settings.model_copy(update={"space_startup_timeout": 20.0})) as hub:
        yield hub


@pytest.fixture
def operator(space_hub: LocalHub, hub_tokens: HubTokens) -> SpaceOperator:
    return SpaceOperator(make_api(space_hub.url, hub_tokens.writer.token))


def spec(**changes: Any) -> SpaceSpec:
    values: dict[str, Any] = {
        "space_id": "acme/zenml-hello-12345678",
        "private": False,
        "hardware": None,
        "sleep_time": None,
        "files": {
            "README.md": b"---\nsdk: docker\napp_port: 7860\n---\n",
            "Dockerfile": f'FROM img@sha256:1\nCMD ["{sys.executable}", "app.py"]\n'.encode(),
            "app.py": APP,
        },
        "secrets": {"ZENML_STORE_URL": "http://zen", "ZENML_STORE_API_TOKEN": "token-1"},
        "variables": {"LOG_LEVEL": "info"},
    }
    values.update(changes)
    return SpaceSpec(**values)


def deploy(
    operator: SpaceOperator, desired: SpaceSpec, managed: dict[str, str], salt: str
) -> SpacePlan:
    plan = plan_space(
        desired,
        operator.observe(desired.space_id),
        managed_secrets=managed,
        managed_variables=frozenset({"LOG_LEVEL"}),
        salt=salt,
    )
    operator.apply(desired, plan, commit_message="deploy")
    return plan


def test_deploys_cost_one_build_then_nothing_then_exactly_what_changed(
    operator: SpaceOperator, space_hub: LocalHub, hub_tokens: HubTokens
) -> None:
    salt = hub_tokens.writer.token
    first = spec()
    digests = {k: secret_digest(k, v, salt) for k, v in first.secrets.items()}
    space_id = first.space_id

    plan = deploy(operator, first, {}, salt)
    assert plan.create
    assert operator.wait_for_stage(space_id, {"RUNNING", "RUNTIME_ERROR"}, 30) == "RUNNING"
    after_first = space_counters(space_hub, space_id)
    assert (after_first["builds"], after_first["restarts"]) == (1, 0)
    _, host = operator.runtime(space_id)
    with urllib.request.urlopen(host or "", timeout=10) as response:
        assert response.read() == b"http://zen|info"  # secrets and variables reached the app
    commits = len(operator.api.list_repo_commits(space_id, repo_type="space"))

    # Unchanged redeploy, even with ZenML's fresh API token: no call that changes anything.
    same = spec(secrets={**first.secrets, "ZENML_STORE_API_TOKEN": "token-2"})
    space_hub.control.reset_stats()
    plan = deploy(operator, same, digests, salt)
    assert plan.is_empty, plan.summary()
    # Observing costs three reads: the info (runtime and blob ids in it), variables, secrets.
    requests = {
        route: n
        for route, n in hub_stats(space_hub)["requests"].items()
        if "/_emulator/" not in route
    }
    assert sum(requests.values()) == 3, requests
    assert all(route.startswith("GET ") for route in requests), requests
    assert space_counters(space_hub, space_id) == after_first
    assert len(operator.api.list_repo_commits(space_id, repo_type="space")) == commits

    # Changed hardware: exactly one restart, no build.
    plan = deploy(operator, spec(hardware="t4-small"), digests, salt)
    assert plan.hardware == "t4-small"
    changed = space_counters(space_hub, space_id)
    assert (changed["builds"], changed["restarts"]) == (1, 1)

    # New image: exactly one build (one commit), no restart.
    new_image = spec(
        hardware="t4-small",
        files={**first.files, "Dockerfile": first.files["Dockerfile"].replace(b"1\n", b"2\n", 1)},
    )
    deploy(operator, new_image, digests, salt)
    assert operator.wait_for_stage(space_id, {"RUNNING"}, 30) == "RUNNING"
    final = space_counters(space_hub, space_id)
    assert (final["builds"], final["restarts"]) == (2, 1)
    assert len(operator.api.list_repo_commits(space_id, repo_type="space")) == commits + 1

    assert operator.delete(space_id) is True
    assert operator.delete(space_id) is False  # already gone counts as done
    assert operator.observe(space_id) is None


def test_observe_reads_everything_the_plan_needs(operator: SpaceOperator) -> None:
    desired = spec(private=True, hardware="cpu-upgrade", sleep_time=3600)
    deploy(operator, desired, {}, "salt")
    observed = operator.observe(desired.space_id)
    assert observed is not None
    assert observed.private is True
    assert observed.hardware == "cpu-upgrade"
    assert observed.sleep_time == 3600
    assert observed.variables == {"LOG_LEVEL": "info"}
    assert observed.secret_keys == {"ZENML_STORE_URL", "ZENML_STORE_API_TOKEN"}
    assert set(observed.file_oids) == {".gitattributes", "README.md", "Dockerfile", "app.py"}


def test_a_bad_token_is_an_access_error_not_a_missing_space(space_hub: LocalHub) -> None:
    operator = SpaceOperator(make_api(space_hub.url, "not-a-valid-token"))
    with pytest.raises(HubAccessError, match="refused the token") as error:
        operator.observe("acme/anything")
    assert "not-a-valid-token" not in str(error.value)


def test_nothing_is_created_when_the_token_cannot_write(
    space_hub: LocalHub, hub_tokens: HubTokens
) -> None:
    reader = SpaceOperator(make_api(space_hub.url, hub_tokens.reader.token))
    with pytest.raises(HubAccessError):
        deploy(reader, spec(), {}, "salt")
    assert HfApi(endpoint=space_hub.url, token=hub_tokens.writer.token).list_spaces() is not None
    writer = SpaceOperator(make_api(space_hub.url, hub_tokens.writer.token))
    assert writer.observe(spec().space_id) is None


def test_a_deploy_cut_off_by_a_hub_restart_completes_on_the_restarted_hub(
    hub_settings: HubSettings, hub_tokens: HubTokens
) -> None:
    settings = hub_settings.model_copy(update={"space_startup_timeout": 20.0})
    desired = spec()
    with LocalHub(settings) as first:
        port = first.port
        operator = SpaceOperator(make_api(first.url, hub_tokens.writer.token))
        # The Hub goes away between the Space's creation and its commit.
        hub_faults(first, "POST", method="POST", path="/commit/", action="drop", times=10)
        with pytest.raises(HubUnavailableError):
            deploy(operator, desired, {}, "salt")
    with LocalHub(settings, port=port) as again:
        operator = SpaceOperator(make_api(again.url, hub_tokens.writer.token))
        observed = operator.observe(desired.space_id)
        assert observed is not None  # the Space, its secrets and variables survived
        assert observed.secret_keys == set(desired.secrets)
        plan = deploy(operator, desired, {}, "salt")
        assert not plan.create
        assert set(plan.commit_files) == set(desired.files)
        assert operator.wait_for_stage(desired.space_id, {"RUNNING", "RUNTIME_ERROR"}, 30) == (
            "RUNNING"
        )
        assert space_counters(again, desired.space_id)["builds"] == 1


def test_reads_ride_out_a_short_outage_and_say_so_when_it_lasts(
    operator: SpaceOperator, space_hub: LocalHub
) -> None:
    desired = spec()
    deploy(operator, desired, {}, "salt")

    def outage(times: int) -> None:
        # A glob matches the whole path (`[/]` makes this one a glob): the info route only.
        path = f"[/]api/spaces/{desired.space_id}"
        hub_faults(space_hub, "POST", method="GET", path=path, status=503, times=times)

    outage(2)
    observed = operator.observe(desired.space_id)
    assert observed is not None
    assert observed.space_id == desired.space_id
    outage(20)
    with pytest.raises(HubUnavailableError, match=r"answered 503.*after 4 attempts"):
        operator.runtime(desired.space_id)


CHATTY_APP = b"""\
import http.server, os, sys
for i in range(5):
    print(f"\\x1b[32mline {i}\\x1b[0m", flush=True)
address = ("127.0.0.1", int(os.environ["PORT"]))
http.server.HTTPServer(address, http.server.BaseHTTPRequestHandler).serve_forever()
"""


def test_logs_are_plain_text_cut_to_tail_and_read_without_waiting_on_a_running_app(
    operator: SpaceOperator,
) -> None:
    desired = spec(files={**spec().files, "app.py": CHATTY_APP})
    deploy(operator, desired, {}, "salt")
    assert operator.wait_for_stage(desired.space_id, {"RUNNING"}, timeout=30) == "RUNNING"

    started = time.monotonic()
    run = list(operator.logs(desired.space_id, build=False, follow=False))
    # The running app keeps its stream open: fetch_space_logs waits 5 s of silence here.
    assert time.monotonic() - started < 3
    assert [line for line in run if line.startswith("line")] == [f"line {i}" for i in range(5)]
    assert not [line for line in run if "\x1b" in line]

    assert list(operator.logs(desired.space_id, build=False, follow=False, tail=2)) == run[-2:]
    assert list(operator.logs(desired.space_id, build=False, follow=False, tail=0)) == []
    assert list(operator.logs(desired.space_id, build=False, follow=False, tail=99)) == run
