"""The Space's command: unpack the deployment's settings from one Space secret, start ZenML's app.

What changes from one deploy to the next (the deployment id, the snapshot it serves, ZenML's
environment and API token, the user's secrets) lives in one Space secret, `ZENML_HF_DEPLOYMENT`,
not in the Dockerfile: on the Hub every commit rebuilds a Space, while a secret change only
restarts it, and one secret changes with one restart however many values it carries.

It imports nothing from ZenML: ZenML reads its environment when it is first imported, so the
values are put in place first and ZenML's entrypoint runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["DEPLOYMENT_SECRET", "main"]

DEPLOYMENT_SECRET = "ZENML_HF_DEPLOYMENT"  # noqa: S105 - the name of a secret, not one


def main() -> None:
    """Exec ZenML's deployment entrypoint with the environment and arguments of the secret."""
    raw = os.environ.get(DEPLOYMENT_SECRET)
    if not raw:
        sys.exit(
            f"The Space secret {DEPLOYMENT_SECRET} is missing: redeploy with "
            "`zenml deployment provision <name>`."
        )
    try:
        bundle = json.loads(raw)
        environment = {str(k): str(v) for k, v in bundle["environment"].items()}
        arguments = [str(a) for a in bundle["arguments"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        sys.exit(f"The Space secret {DEPLOYMENT_SECRET} is not what the deployer writes.")
    env = {k: v for k, v in os.environ.items() if k != DEPLOYMENT_SECRET}
    env.update(environment)
    command = [sys.executable, "-m", "zenml.entrypoints.entrypoint", *arguments]
    sys.stdout.flush()
    os.execve(sys.executable, command, env)  # noqa: S606 - replaces this process, no shell


if __name__ == "__main__":
    main()
