"""What makes two pipeline snapshots serve the same app: a digest of what determines behaviour.

`zenml pipeline deploy --update` compiles a new snapshot each time, even when nothing changed.
The Space's app loads its snapshot when it starts, so a new snapshot needs a restart only when
it would behave differently: other steps, code, configuration, parameters or image. Ids,
timestamps, the client's environment and the compile-time `date`/`time` substitutions do not
change what the app does, and are left out; so are the deployer's own settings, which the
deployer turns into Space state it compares by itself (hardware, volumes, variables, secrets,
the Dockerfile's port) or which only steer the deployer (image checks, what a delete removes).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zenml.models import PipelineSnapshotResponse

__all__ = ["snapshot_fingerprint"]

# Filled in by ZenML at every compile (`{date}`/`{time}` in run names): not a change of the app.
_COMPILE_SUBSTITUTIONS = ("date", "time")


def _without_compile_substitutions(config: dict[str, Any]) -> dict[str, Any]:
    substitutions = config.get("substitutions")
    if isinstance(substitutions, dict):
        config["substitutions"] = {
            k: v for k, v in substitutions.items() if k not in _COMPILE_SUBSTITUTIONS
        }
    settings = config.get("settings")
    if isinstance(settings, dict):
        # `deployer`, `deployer.<flavor>` or `deployer:<component name>`
        config["settings"] = {
            k: v for k, v in settings.items() if re.split(r"[.:]", k, maxsplit=1)[0] != "deployer"
        }
    return config


def snapshot_fingerprint(snapshot: PipelineSnapshotResponse, image: str) -> str:
    """A digest equal for snapshots that serve the same app from `image`.

    Covers the pipeline and step configurations (settings, parameters, hooks, environment),
    the pipeline spec (its steps, sources and input schema), the code (source, version hash,
    uploaded code archive, code repository commit), the build (image checksum) and the stack.
    """
    steps = {
        name: {
            "spec": step.spec.model_dump(mode="json"),
            "config": _without_compile_substitutions(step.config.model_dump(mode="json")),
            "step_config_overrides": _without_compile_substitutions(
                step.step_config_overrides.model_dump(mode="json")
            ),
        }
        for name, step in sorted(snapshot.step_configurations.items())
    }
    code_reference = snapshot.code_reference
    build = snapshot.build
    parts = {
        "pipeline_configuration": _without_compile_substitutions(
            snapshot.pipeline_configuration.model_dump(mode="json")
        ),
        "steps": steps,
        "pipeline_spec": (
            snapshot.pipeline_spec.model_dump(mode="json") if snapshot.pipeline_spec else None
        ),
        "run_name_template": snapshot.run_name_template,
        "source_code": snapshot.source_code,
        "pipeline_version_hash": snapshot.pipeline_version_hash,
        "code_path": snapshot.code_path,
        "code_reference": (
            {
                "repository": str(code_reference.code_repository.id),
                "commit": code_reference.commit,
                "subdirectory": code_reference.subdirectory,
            }
            if code_reference
            else None
        ),
        "build_checksum": build.checksum if build else None,
        "image": image,
        "stack": str(snapshot.stack.id) if snapshot.stack else None,
    }
    encoded = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()
