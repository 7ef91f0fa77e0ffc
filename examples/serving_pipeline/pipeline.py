"""A deployable iris classifier that serves exactly one published model snapshot.

When the deployment starts, its init hook pulls the package pinned in the deploy config
(`on_init_kwargs`: registry commit and package sha256, written by `train.py`) from the
registry with `pull_snapshot_at_start`, verifies it, and loads the model once. Every
`/invoke` then answers from that model and names the package it came from:

    zenml deployment invoke iris --sepal_length=6.3 --sepal_width=3.3 \\
        --petal_length=6.0 --petal_width=2.5

A pin that is missing or wrong, or a package that fails verification, stops the app at start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.metadata import version
from typing import Annotated, Any

import joblib
from zenml import get_step_context, pipeline, step
from zenml.config import DockerSettings

from zenml_hf_registry.errors import RefusedToServeError
from zenml_hf_registry.registry import DEFAULT_TOKEN_ENV, ServedSnapshot, pull_snapshot_at_start

MODEL_FILE = "model.joblib"
SPECIES = ("setosa", "versicolor", "virginica")


@dataclass(frozen=True)
class LoadedClassifier:
    """What the init hook hands every step: the verified snapshot and the model loaded from it."""

    snapshot: ServedSnapshot
    model: Any


def load_classifier(
    repo_id: str | None = None,
    registry: str | None = None,
    revision: str | None = None,
    sha256: str | None = None,
    registry_endpoint: str | None = None,
    token_env: str = DEFAULT_TOKEN_ENV,
) -> LoadedClassifier:
    """The init hook: pull and verify the pinned package, then load its model (once).

    The arguments have defaults only because ZenML checks a hook's arguments when the pipeline
    is defined, before a deploy config supplies them; a deployment without them refuses to
    start. The model file is unpickled only after its checksum matched the published record.
    """
    if not (repo_id and registry and revision):
        raise RefusedToServeError(
            "Refusing to serve: the deployment pins no model package. Deploy with a config "
            "holding on_init_kwargs {repo_id, registry, revision, sha256} (train.py writes it "
            "from the publish step's record).",
            repo_id=repo_id or "",
            revision=revision or "",
        )
    started = time.perf_counter()
    snapshot = pull_snapshot_at_start(
        repo_id,
        registry,
        revision,
        sha256=sha256,
        registry_endpoint=registry_endpoint,
        token_env=token_env,
    )
    model = joblib.load(snapshot.file(MODEL_FILE))
    print(  # the Space's run log shows which package this app serves
        f"Loaded {snapshot.record.name} (registry commit {snapshot.record.registry_revision}, "
        f"sha256 {snapshot.record.sha256}), pulled, verified and loaded in "
        f"{time.perf_counter() - started:.2f} s",
        flush=True,
    )
    return LoadedClassifier(snapshot=snapshot, model=model)


@step
def predict(
    sepal_length: float, sepal_width: float, petal_length: float, petal_width: float
) -> Annotated[dict[str, Any], "prediction"]:
    """Classify one flower with the model the init hook loaded."""
    state = get_step_context().pipeline_state
    if not isinstance(state, LoadedClassifier):
        raise RuntimeError("No model was loaded at start: run this pipeline as a deployment.")
    features = [[sepal_length, sepal_width, petal_length, petal_width]]
    probabilities = state.model.predict_proba(features)[0]
    best = int(probabilities.argmax())
    record = state.snapshot.record
    return {
        "species": SPECIES[int(state.model.classes_[best])],
        "probability": round(float(probabilities[best]), 4),
        "package": record.name,
        "registry_revision": record.registry_revision,
        "package_sha256": record.sha256,
    }


@pipeline(
    on_init=load_classifier,
    # The Space's image needs scikit-learn (the version that wrote the model); the local Hub's
    # process runtime uses its own Python, where the `examples` extra installed it.
    settings={"docker": DockerSettings(requirements=[f"scikit-learn=={version('scikit-learn')}"])},
)
def iris_classifier(
    sepal_length: float = 5.1,
    sepal_width: float = 3.5,
    petal_length: float = 1.4,
    petal_width: float = 0.2,
) -> dict[str, Any]:
    """Deploy with `zenml pipeline deploy examples.serving_pipeline.pipeline.iris_classifier`."""
    return predict(sepal_length, sepal_width, petal_length, petal_width)
