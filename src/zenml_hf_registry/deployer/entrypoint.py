"""What the Space runs: ZenML's deployment app, listening on the Space's app port."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from zenml.deployers.server.entrypoint_configuration import DeploymentEntrypointConfiguration
from zenml.integrations.registry import integration_registry

__all__ = ["APP_PORT_ENV", "ENTRYPOINT_SOURCE", "SpaceEntrypointConfiguration"]

APP_PORT_ENV = "ZENML_HF_APP_PORT"
ENTRYPOINT_SOURCE = "zenml_hf_registry.deployer.entrypoint.SpaceEntrypointConfiguration"


class SpaceEntrypointConfiguration(DeploymentEntrypointConfiguration):
    """ZenML's deployment entrypoint, bound to the port the Space routes to.

    The Space's Dockerfile sets `ZENML_HF_APP_PORT` to the README's `app_port`. A runtime
    that assigns ports itself (the local Hub runs many Spaces on one machine) says so in
    `PORT`, which then wins.
    """

    def run(self) -> None:
        """Start the deployment app on 0.0.0.0 and the Space's port."""
        from zenml.deployers.server.app import BaseDeploymentAppRunner

        integration_registry.activate_integrations()
        workdir = str(Path.cwd())
        self.prepare_code_environment()
        if not self.should_download_code and workdir != str(Path.cwd()):
            # ZenML moves to /app, where its images keep the code. When the code is not
            # downloaded, it is where the Space started (WORKDIR), so go back there.
            os.chdir(workdir)
            if workdir not in sys.path:
                sys.path.insert(0, workdir)
        runner = BaseDeploymentAppRunner.load_app_runner(self.deployment)
        port = os.environ.get("PORT") or os.environ.get(APP_PORT_ENV)
        if port:
            runner.settings.uvicorn_port = int(port)
        runner.settings.uvicorn_host = "0.0.0.0"  # noqa: S104 - the Space's container network
        runner.run()
