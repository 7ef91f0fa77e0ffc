"""Repo card metadata validation, as `POST /api/validate-yaml` does it before a README is committed.

The Hub reads the YAML front matter of a README and checks the fields it knows: a card without
metadata is accepted with a warning, unreadable YAML or a known field of the wrong shape is an
error (400), which huggingface_hub turns into `ValueError("Invalid metadata in README.md ...")`.
Unknown fields are free-form, as on the Hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from zenml_hf_registry.hub.spaces.models import SPACE_SDKS

__all__ = ["CardValidation", "validate_card"]

_EMPTY_WARNING = (
    "Empty or missing yaml metadata in repo card "
    "(https://huggingface.co/docs/hub/model-cards#model-card-metadata)"
)
# Fields every repo type shares that hold a name or a list of names.
_STRING_OR_LIST = (
    "language",
    "tags",
    "datasets",
    "metrics",
    "base_model",
    "license_name",
    "license_link",
    "task_categories",
    "task_ids",
    "size_categories",
    "source_datasets",
    "annotations_creators",
    "language_creators",
    "multilinguality",
    "models",
)
_STRINGS = ("license", "pipeline_tag", "library_name", "pretty_name", "thumbnail")
_SPACE_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")


@dataclass
class CardValidation:
    """Errors (refuse the card) and warnings (accept it, tell the user) of one card."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _front_matter(content: str) -> str | None:
    lines = content.lstrip("\ufeff \t\r\n").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:index])
    return None


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_model_index(value: Any, errors: list[str]) -> None:
    if not isinstance(value, list):
        errors.append('"model-index" must be an array')
        return
    for position, entry in enumerate(value):
        if not isinstance(entry, dict):
            errors.append(f'"model-index[{position}]" must be an object')
            continue
        if not isinstance(entry.get("name"), str):
            errors.append(f'"model-index[{position}].name" is required and must be a string')
        if not isinstance(entry.get("results"), list):
            errors.append(f'"model-index[{position}].results" is required and must be an array')


def _check_space(metadata: dict[str, Any], errors: list[str]) -> None:
    sdk = metadata.get("sdk")
    if sdk is not None and sdk not in SPACE_SDKS:
        errors.append(f'"sdk" must be one of [{", ".join(SPACE_SDKS)}]')
    for key in ("colorFrom", "colorTo"):
        if key in metadata and metadata[key] not in _SPACE_COLORS:
            errors.append(f'"{key}" must be one of [{", ".join(_SPACE_COLORS)}]')
    if "app_port" in metadata and (
        not isinstance(metadata["app_port"], int) or isinstance(metadata["app_port"], bool)
    ):
        errors.append('"app_port" must be a number')
    if "pinned" in metadata and not isinstance(metadata["pinned"], bool):
        errors.append('"pinned" must be a boolean')


def validate_card(content: str, repo_type: str) -> CardValidation:
    """Check the README's front matter the way the Hub does for `repo_type`."""
    result = CardValidation()
    text = _front_matter(content)
    if text is None or not text.strip():
        result.warnings.append(_EMPTY_WARNING)
        return result
    try:
        metadata = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        result.errors.append(f"Invalid YAML in the metadata: {exc}")
        return result
    if metadata is None:
        result.warnings.append(_EMPTY_WARNING)
        return result
    if not isinstance(metadata, dict):
        result.errors.append("The metadata must be a YAML mapping of fields")
        return result
    for key in _STRING_OR_LIST:
        value = metadata.get(key)
        if value is not None and not isinstance(value, str) and not _is_string_list(value):
            result.errors.append(f'"{key}" must be a string or an array of strings')
    for key in _STRINGS:
        value = metadata.get(key)
        if value is not None and not isinstance(value, str):
            result.errors.append(f'"{key}" must be a string')
    if "model-index" in metadata:
        _check_model_index(metadata["model-index"], result.errors)
    if repo_type == "space":
        _check_space(metadata, result.errors)
    return result
