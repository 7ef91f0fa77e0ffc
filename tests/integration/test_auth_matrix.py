"""Who may do what on the local Hub: one table for repos, Spaces, the Space gate and registries.

Every cell is a real call of the real client (or of the Space's URL, or of the registry's REST
listing) and its outcome, classified the way a user meets it:

- `ok`: it worked;
- `hidden`: `RepositoryNotFoundError` (or 404): the caller may not even know the repo exists;
- `forbidden`: 403: the caller sees the repo but may not change it;
- `unauthorized`: 401 without "repo not found": the credentials themselves were refused.

Public repos show themselves to everyone; private ones only to their namespace's members; a
registry only accepts its own tokens, never a Hub user's. Refused writes leave nothing behind.
"""

from __future__ import annotations

import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.conftest import HubTokens
from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import RegistrySpec

pytestmark = pytest.mark.integration

WRONG = "not-a-token-of-this-hub"
REGISTRY_WRITER = TokenSpec(token="matrix-registry-write", user="acme", role=TokenRole.WRITE)
REGISTRY_READER = TokenSpec(token="matrix-registry-read", user="acme", role=TokenRole.READ)
APP = (
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(b'app')\n"
    "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n"
)


@dataclass
class World:
    hub: LocalHub
    tokens: dict[str, str | None]
    space_url: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tokens = HubTokens(
        writer=TokenSpec(token="m-alice-write", user="alice", role=TokenRole.WRITE, orgs=("acme",)),
        reader=TokenSpec(token="m-bob-read", user="bob", role=TokenRole.READ, orgs=("acme",)),
        outsider=TokenSpec(token="m-carol-write", user="carol", role=TokenRole.WRITE),
    )
    settings = HubSettings(
        data_dir=tmp_path_factory.mktemp("auth-matrix"),
        tokens=(tokens.writer, tokens.reader, tokens.outsider),
        registries=(
            RegistrySpec(
                org="acme", name="private", private=True, tokens=(REGISTRY_WRITER, REGISTRY_READER)
            ),
            RegistrySpec(org="acme", name="open", private=False, tokens=(REGISTRY_WRITER,)),
        ),
        space_startup_timeout=20.0,
    )
    with LocalHub(settings) as hub:
        api = HfApi(endpoint=hub.url, token=tokens.writer.token)
        for repo_type in ("model", "dataset", "space"):
            for private in (True, False):
                repo_id = f"acme/{'private' if private else 'public'}-{repo_type}"
                api.create_repo(
                    repo_id,
                    repo_type=repo_type,
                    private=private,
                    space_sdk="docker" if repo_type == "space" else None,
                )
                api.upload_file(
                    path_or_fileobj=b"data", path_in_repo="file.txt", repo_id=repo_id,
                    repo_type=repo_type,
                )  # fmt: skip
        api.create_commit(
            "acme/private-space",
            [
                CommitOperationAdd(
                    path_in_repo="README.md",
                    path_or_fileobj=b"---\nsdk: docker\napp_port: 7860\n---\n",
                ),
                CommitOperationAdd(
                    path_in_repo="Dockerfile",
                    path_or_fileobj=f'FROM python\nCMD ["{sys.executable}", "app.py"]\n'.encode(),
                ),
                CommitOperationAdd(path_in_repo="app.py", path_or_fileobj=APP.encode()),
            ],
            commit_message="app",
            repo_type="space",
        )
        wait_until_running(api, "acme/private-space")
        registry_api = HfApi(
            endpoint=f"{hub.url}/acme/private/huggingface", token=REGISTRY_WRITER.token
        )
        registry_api.create_repo("acme/packaged")
        registry_api.upload_file(
            path_or_fileobj=b"weights", path_in_repo="model.bin", repo_id="acme/packaged"
        )
        yield World(
            hub=hub,
            tokens={
                "anonymous": None,
                "wrong": WRONG,
                "outsider": tokens.outsider.token,
                "reader": tokens.reader.token,
                "writer": tokens.writer.token,
                "registry-reader": REGISTRY_READER.token,
                "registry-writer": REGISTRY_WRITER.token,
            },
            space_url=str(api.space_info("acme/private-space").host),
        )


def wait_until_running(api: HfApi, space_id: str) -> None:
    deadline = time.monotonic() + 30
    while (runtime := api.get_space_runtime(space_id)).stage != "RUNNING":
        assert time.monotonic() < deadline, runtime.raw
        time.sleep(0.2)


def outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except RepositoryNotFoundError:
        return "hidden"
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        return {401: "unauthorized", 403: "forbidden", 404: "hidden"}.get(status, f"HTTP {status}")
    except urllib.error.HTTPError as exc:
        return {401: "unauthorized", 403: "forbidden", 404: "hidden"}.get(exc.code, str(exc.code))
    return "ok"


def http_get(url: str, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        r.read()


def repo_operations(repo_id: str, repo_type: str, actor: str) -> dict[str, Callable[[HfApi], Any]]:
    return {
        "info": lambda api: api.repo_info(repo_id, repo_type=repo_type),
        "download": lambda api: api.hf_hub_download(
            repo_id, "file.txt", repo_type=repo_type, cache_dir=tempfile.mkdtemp()
        ),
        "commit": lambda api: api.upload_file(
            path_or_fileobj=b"x",
            path_in_repo=f"by-{actor}.txt",
            repo_id=repo_id,
            repo_type=repo_type,
        ),
        "settings": lambda api: api.update_repo_settings(
            repo_id, private=repo_id.startswith("acme/private"), repo_type=repo_type
        ),
    }


# Who gets what, per (visibility, operation); "wrong" and "anonymous" writes are the Hub's 401.
READ_RULES = {
    "private": {
        "anonymous": "hidden", "wrong": "unauthorized", "outsider": "hidden",
        "reader": "ok", "writer": "ok",
    },
    "public": {
        "anonymous": "ok", "wrong": "unauthorized", "outsider": "ok",
        "reader": "ok", "writer": "ok",
    },
}  # fmt: skip
WRITE_RULES = {
    "private": {
        "anonymous": "hidden", "wrong": "unauthorized", "outsider": "hidden",
        "reader": "forbidden", "writer": "ok",
    },
    "public": {
        "anonymous": "unauthorized", "wrong": "unauthorized", "outsider": "forbidden",
        "reader": "forbidden", "writer": "ok",
    },
}  # fmt: skip
ACTORS = ("anonymous", "wrong", "outsider", "reader", "writer")


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
@pytest.mark.parametrize("visibility", ["private", "public"])
def test_repos(world: World, repo_type: str, visibility: str) -> None:
    repo_id = f"acme/{visibility}-{repo_type}"
    table = {
        (actor, operation): outcome(
            lambda call=call, actor=actor: call(
                HfApi(endpoint=world.hub.url, token=world.tokens[actor] or False)
            )
        )
        for actor in ACTORS
        for operation, call in repo_operations(repo_id, repo_type, actor).items()
    }
    expected = {
        (actor, operation): (READ_RULES if operation in ("info", "download") else WRITE_RULES)[
            visibility
        ][actor]
        for actor in ACTORS
        for operation in repo_operations(repo_id, repo_type, actor)
    }
    assert table == expected
    files = HfApi(endpoint=world.hub.url, token=world.tokens["writer"]).list_repo_files(
        repo_id, repo_type=repo_type
    )
    # Only the writer's commit landed.
    assert [f for f in files if f.startswith("by-")] == ["by-writer.txt"]


def test_space_runtime_settings_and_gate(world: World) -> None:
    space = "acme/private-space"
    operations: dict[str, Callable[[HfApi], Any]] = {
        "runtime": lambda api: api.get_space_runtime(space),
        "build logs": lambda api: list(api.fetch_space_logs(space, build=True)),
        "variables": lambda api: api.get_space_variables(space),
        "add secret": lambda api: api.add_space_secret(space, "MATRIX", "value"),
        "restart": lambda api: api.restart_space(space),
    }
    table = {
        (actor, operation): outcome(
            lambda call=call, actor=actor: call(
                HfApi(endpoint=world.hub.url, token=world.tokens[actor] or False)
            )
        )
        for actor in ACTORS
        for operation, call in operations.items()
        if not (operation == "restart" and actor == "writer")  # keep the app up for the gate
    }
    reads = {"runtime", "build logs"}
    expected = {
        (actor, operation): (READ_RULES if operation in reads else WRITE_RULES)["private"][actor]
        for actor, operation in table
    }
    # Settings are the owner's business: reading variables needs write access too.
    expected[("reader", "variables")] = "forbidden"
    assert table == expected

    # The app's URL: the Hub's gate lets through whoever may read the Space, nobody else.
    wait_until_running(HfApi(endpoint=world.hub.url, token=world.tokens["writer"]), space)
    gate = {
        actor: outcome(lambda a=actor: http_get(world.space_url, world.tokens[a]))
        for actor in ACTORS
    }
    assert gate == {
        "anonymous": "hidden",
        "wrong": "hidden",
        "outsider": "hidden",
        "reader": "ok",
        "writer": "ok",
    }


@pytest.mark.parametrize("registry", ["private", "open"])
def test_registries_take_only_their_own_tokens(world: World, registry: str) -> None:
    endpoint = f"{world.hub.url}/acme/{registry}/huggingface"
    listing = f"{world.hub.url}/v2/packages/organizations/acme/registries/{registry}/packages"
    actors = ("anonymous", "wrong", "writer", "registry-reader", "registry-writer")
    operations: dict[str, Callable[[str | None], Any]] = {
        "list packages": lambda token: http_get(listing, token),
        "create": lambda token: HfApi(endpoint=endpoint, token=token or False).create_repo(
            f"acme/new-{registry}", exist_ok=True
        ),
    }
    table = {
        (actor, operation): outcome(lambda call=call, actor=actor: call(world.tokens[actor]))
        for actor in actors
        for operation, call in operations.items()
    }
    if registry == "private":
        expected = {
            ("anonymous", "list packages"): "unauthorized",
            ("wrong", "list packages"): "unauthorized",
            ("writer", "list packages"): "unauthorized",  # a Hub user's token is not the registry's
            ("registry-reader", "list packages"): "ok",
            ("registry-writer", "list packages"): "ok",
            ("anonymous", "create"): "unauthorized",
            ("wrong", "create"): "unauthorized",
            ("writer", "create"): "unauthorized",
            ("registry-reader", "create"): "forbidden",
            ("registry-writer", "create"): "ok",
        }
    else:
        expected = {
            ("anonymous", "list packages"): "ok",
            ("wrong", "list packages"): "unauthorized",
            ("writer", "list packages"): "unauthorized",
            ("registry-reader", "list packages"): "unauthorized",  # not a token of this registry
            ("registry-writer", "list packages"): "ok",
            ("anonymous", "create"): "unauthorized",
            ("wrong", "create"): "unauthorized",
            ("writer", "create"): "unauthorized",
            ("registry-reader", "create"): "unauthorized",
            ("registry-writer", "create"): "ok",
        }
    assert table == expected
