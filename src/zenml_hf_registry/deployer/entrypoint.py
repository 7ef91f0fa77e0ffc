"""What the Space runs: ZenML's deployment app, listening on the Space's app port."""

from __future__ import annotations

import os

from zenml.deployers.server.entrypoint_configuration import DeploymentEntrypointConfiguration
from zenml.integrations.registry import integration_registry

__all__ = ["APP_PORT_ENV", "SpaceEntrypointConfiguration"]

APP_PORT_ENV = "ZENML_HF_APP_PORT"


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
        self.prepare_code_environment()
        runner = BaseDeploymentAppRunner.load_app_runner(self.deployment)
        port = os.environ.get("PORT") or os.environ.get(APP_PORT_ENV)
        if port:
            runner.settings.uvicorn_port = int(port)
        runner.settings.uvicorn_host = "0.0.0.0"  # noqa: S104 - the Space's container network
        runner.run()
