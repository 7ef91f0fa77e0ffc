"""Start a local Hub with the identities huggingface_hub's own tests use, in its own process.

The tests patch sockets, environment variables and huggingface_hub's constants, so the Hub they
talk to runs in a separate process: `python -m conformance.serve DATA_DIR CONSTANTS_FILE` prints
the endpoint and the control plane's admin token on its first two lines of output, then serves
until stdin closes or it is killed.
"""

from __future__ import annotations

import runpy
import sys
import threading
from pathlib import Path

from huggingface_hub import HfApi

from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import OrgSpec

_SEED_TOKEN = "conformance-seed-token"


def upstream_settings(data_dir: Path, constants_file: Path) -> HubSettings:
    """Hub settings with the users, orgs and tokens named in upstream `testing_constants.py`."""
    constants = runpy.run_path(str(constants_file))
    tokens = (
        TokenSpec(
            token=constants["TOKEN"],
            user=constants["USER"],
            fullname=constants["FULL_NAME"],
            role=TokenRole.WRITE,
            # `valid_org_hub` is the org the staging user belongs to (whoami tests read it).
            orgs=("valid_org_hub",),
        ),
        TokenSpec(token=constants["OTHER_TOKEN"], user=constants["OTHER_USER"]),
        # The user and token the Space API tests were recorded with on huggingface.co.
        TokenSpec(token="hf_fake_token", user="user"),
        # Owner of the static Space those tests read (`victor/static-space`).
        TokenSpec(token=_SEED_TOKEN, user="victor"),
        TokenSpec(
            token=constants["ENTERPRISE_TOKEN"],
            user=constants["ENTERPRISE_USER"],
            orgs=(constants["ENTERPRISE_ORG"],),
        ),
    )
    return HubSettings(
        data_dir=data_dir,
        tokens=tokens,
        organizations=(
            OrgSpec(name="valid_org_hub", fullname="Dummy Hub Org"),
            # Enterprise orgs make new repos private by default on the Hub.
            OrgSpec(name=constants["ENTERPRISE_ORG"], private_by_default=True),
        ),
        space_startup_timeout=30,
        # Builds take minutes on the Hub, and the Space tests observe BUILDING right after a
        # commit: pace builds as a Hub's are, not instantly.
        space_build_delay=5.0,
    )


def seed(endpoint: str) -> None:
    """Repos the upstream tests read without creating them, as they exist on their Hubs."""
    api = HfApi(endpoint=endpoint, token=_SEED_TOKEN)
    api.create_repo("victor/static-space", repo_type="space", space_sdk="static")
    api.upload_file(
        path_or_fileobj=b"<h1>static</h1>",
        path_in_repo="index.html",
        repo_id="victor/static-space",
        repo_type="space",
    )


def main() -> None:
    """Serve until stdin closes (the parent test process ends) or the process is killed."""
    data_dir, constants_file = Path(sys.argv[1]), Path(sys.argv[2])
    with LocalHub(upstream_settings(data_dir, constants_file)) as hub:
        seed(hub.url)
        print(hub.url, flush=True)
        print(hub.admin_token, flush=True)
        done = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
        done.wait()


if __name__ == "__main__":
    main()
