"""Start a local Hub with the identities huggingface_hub's own tests use, in its own process.

The tests patch sockets, environment variables and huggingface_hub's constants, so the Hub they
talk to runs in a separate process: `python -m conformance.serve DATA_DIR CONSTANTS_FILE` prints
the endpoint on its first line of output, then serves until stdin closes or it is killed.
"""

from __future__ import annotations

import runpy
import sys
import threading
from pathlib import Path

from zenml_hf_registry.hub import HubSettings, LocalHub, TokenRole, TokenSpec
from zenml_hf_registry.hub.settings import OrgSpec


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
    )


def main() -> None:
    """Serve until stdin closes (the parent test process ends) or the process is killed."""
    data_dir, constants_file = Path(sys.argv[1]), Path(sys.argv[2])
    with LocalHub(upstream_settings(data_dir, constants_file)) as hub:
        print(hub.url, flush=True)
        done = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
        done.wait()


if __name__ == "__main__":
    main()
