"""Train an iris classifier, push it to a Hub model repo, publish that commit to a registry.

The ZenML pipeline `train_and_publish` runs on the active stack (or `--stack`): one step
trains scikit-learn's logistic regression on `load_iris` (the data set ships with
scikit-learn: nothing is downloaded) and uploads `model.joblib` and `config.json` to the Hub;
the companion step `publish_model_snapshot` publishes exactly that commit to the registry and
records the package (commit, checksums) as an artifact. Run as a script, it then writes a
deploy config for `pipeline.iris_classifier` that pins that package:

    python -m examples.serving_pipeline.train --hub-endpoint https://huggingface.co \\
        --repo-id acme/iris-classifier --registry acme/models \\
        --config-out serve.yaml            # then: zenml pipeline deploy ... --config serve.yaml

ZenML secrets used: `hf_token` (key `token`, writes the model repo) and `registry_token` (key
`token`, writes the registry). The deployed app reads the registry with its own read token,
from the secret the deploy config's `space_secrets` names.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import joblib
import yaml
from huggingface_hub import HfApi
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from zenml import pipeline, step
from zenml.client import Client
from zenml.constants import ENV_ZENML_ACTIVE_STACK_ID

from zenml_hf_registry.registry import PackageRecord
from zenml_hf_registry.registry.steps import publish_model_snapshot

HERE = Path(__file__).resolve().parent
MODEL_FILE = "model.joblib"


@step
def train_and_push(
    repo_id: str,
    hub_endpoint: str,
    c: float = 1.0,
    hub_secret: str = "hf_token",  # noqa: S107 - a secret name
) -> Annotated[str, "model_commit"]:
    """Fit the classifier and push it to `repo_id` on the Hub; returns the commit."""
    features, labels = load_iris(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        features, labels, test_size=0.3, random_state=0, stratify=labels
    )
    model = LogisticRegression(C=c, max_iter=1000).fit(train_x, train_y)
    accuracy = float(model.score(test_x, test_y))
    token = str(Client().get_secret(hub_secret).secret_values["token"])
    api = HfApi(endpoint=hub_endpoint, token=token)
    api.create_repo(repo_id, private=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="iris-model-") as folder:
        joblib.dump(model, Path(folder) / MODEL_FILE)
        (Path(folder) / "config.json").write_text(
            json.dumps(
                {
                    "estimator": "LogisticRegression",
                    "C": c,
                    "dataset": "sklearn.datasets.load_iris",
                    "test_accuracy": round(accuracy, 4),
                    "scikit_learn": version("scikit-learn"),
                },
                indent=2,
            )
            + "\n"
        )
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=f"Logistic regression, C={c}, test accuracy {accuracy:.3f}",
        )
    return str(commit.oid)


@pipeline
def train_and_publish(
    repo_id: str,
    hub_endpoint: str,
    registry: str,
    registry_endpoint: str | None = None,
    c: float = 1.0,
) -> None:
    """Train and push the model, then publish exactly that commit to the registry."""
    commit = train_and_push(repo_id=repo_id, hub_endpoint=hub_endpoint, c=c)
    publish_model_snapshot(
        repo_id=repo_id,
        registry=registry,
        revision=commit,
        registry_endpoint=registry_endpoint,
        registry_secret="registry_token",
        source_endpoint=hub_endpoint,
        source_secret="hf_token",
    )


def deploy_config(
    record: PackageRecord, template: Path, *, registry_endpoint: str | None = None
) -> str:
    """The deploy config `template` plus the pin of `record`: the package the app will serve."""
    config: dict[str, Any] = yaml.safe_load(template.read_text()) or {}
    pin: dict[str, Any] = {
        "repo_id": record.repo_id,
        "registry": record.registry,
        "revision": record.registry_revision,
        "sha256": record.sha256,
    }
    if registry_endpoint:
        pin["registry_endpoint"] = registry_endpoint
    config["on_init_kwargs"] = pin
    return yaml.safe_dump(config, sort_keys=False)


def run(
    *,
    repo_id: str,
    hub_endpoint: str,
    registry: str,
    registry_endpoint: str | None,
    c: float,
    stack: str | None = None,
) -> PackageRecord:
    """Run `train_and_publish` (on `stack`, default the active one); the package's record.

    A stack whose deployer builds images (as the Hugging Face deployer's does, for any run of
    a pipeline on that stack) needs a container engine; train on one without it to run here.
    """
    if stack:
        os.environ[ENV_ZENML_ACTIVE_STACK_ID] = str(Client().get_stack(stack).id)
    pipeline_run = train_and_publish.with_options(enable_cache=False)(
        repo_id=repo_id,
        hub_endpoint=hub_endpoint,
        registry=registry,
        registry_endpoint=registry_endpoint,
        c=c,
    )
    if pipeline_run is None:
        raise SystemExit("the training pipeline did not run")
    step_run = Client().get_pipeline_run(pipeline_run.id).steps["publish_model_snapshot"]
    record = step_run.output.load()
    if not isinstance(record, PackageRecord):
        raise SystemExit(f"the publish step returned {type(record).__name__}, not a record")
    return record


def main() -> None:
    """Train, publish, print the package and write the deploy config that pins it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo-id", default="acme/iris-classifier")
    parser.add_argument("--hub-endpoint", required=True, help="the Hub holding the model repo")
    parser.add_argument("--registry", required=True, help="ORG/REGISTRY")
    parser.add_argument("--registry-endpoint", help="default: Buildkite's endpoint")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularization strength")
    parser.add_argument("--stack", help="the stack to train on (default: the active one)")
    parser.add_argument("--template", type=Path, default=HERE / "local_hub.yaml")
    parser.add_argument("--config-out", type=Path, required=True)
    parser.add_argument("--record-out", type=Path, help="also write the record as JSON")
    args = parser.parse_args()
    record = run(
        repo_id=args.repo_id,
        hub_endpoint=args.hub_endpoint,
        registry=args.registry,
        registry_endpoint=args.registry_endpoint,
        c=args.c,
        stack=args.stack,
    )
    args.config_out.write_text(
        deploy_config(record, args.template, registry_endpoint=args.registry_endpoint)
    )
    if args.record_out:
        args.record_out.write_text(record.model_dump_json(indent=2))
    print(f"package {record.name}")
    print(f"registry commit {record.registry_revision}")
    print(f"md5 {record.md5}")
    print(f"sha1 {record.sha1}")
    print(f"sha256 {record.sha256}")
    print(f"sha512 {record.sha512}")
    print(f"deploy config {args.config_out}")


if __name__ == "__main__":
    main()
