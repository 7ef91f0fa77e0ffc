"""The local Hub's JSON answers, one typed model per resource, in the Hub's exact shape.

Routes build these and return `.body()`; nothing else hand-assembles a resource's JSON. Field
names are the Hub's camelCase, set once through aliases. A test feeds every answer to
huggingface_hub's own parsers (`SpaceRuntime`, `SpaceSecret`, `SpaceVariable`, ...) and
compares the keys with answers the Hub recorded.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = [
    "SpaceDomain",
    "SpaceHardwareState",
    "SpaceReplicas",
    "SpaceRuntimeBody",
    "SpaceSecretBody",
    "SpaceVariableBody",
    "WireModel",
]


class WireModel(BaseModel):
    """A resource as the Hub sends it: camelCase keys; `None` fields left out unless listed in
    `keep_none` (the Hub sends `"storage": null`, but no `errorMessage` when there is none)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)
    keep_none: ClassVar[frozenset[str]] = frozenset()

    def body(self) -> dict[str, Any]:
        """The JSON object to answer with."""
        return self._dump(self)

    @classmethod
    def _dump(cls, model: BaseModel) -> dict[str, Any]:
        keep: frozenset[str] = getattr(model, "keep_none", frozenset())
        out: dict[str, Any] = {}
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            key = info.alias or name
            if value is None and name not in keep:
                continue
            if isinstance(value, BaseModel):
                value = cls._dump(value)
            elif isinstance(value, list):
                value = [cls._dump(v) if isinstance(v, BaseModel) else v for v in value]
            out[key] = value
        return out


class SpaceHardwareState(WireModel):
    """`runtime.hardware`: what runs now (None while nothing runs) and what was asked for."""

    keep_none: ClassVar[frozenset[str]] = frozenset({"current", "requested"})
    current: str | None = None
    requested: str | None = None


class SpaceReplicas(WireModel):
    """`runtime.replicas`: `current` only once a replica runs."""

    requested: int = 1
    current: int | None = None


class SpaceDomain(WireModel):
    """One of `runtime.domains`: the Space's host name and whether it is routed."""

    domain: str
    stage: str = "READY"


class SpaceRuntimeBody(WireModel):
    """`GET /api/spaces/{id}/runtime` (also the answer of hardware, sleeptime, pause, restart).

    Static Spaces leave out what they do not have (sleep time, dev mode, domains).
    """

    keep_none: ClassVar[frozenset[str]] = frozenset({"storage"})
    stage: str
    hardware: SpaceHardwareState
    storage: str | None = None
    gc_timeout: int | None = None
    replicas: SpaceReplicas
    dev_mode: bool | None = None
    domains: list[SpaceDomain] | None = None
    error_message: str | None = None


class SpaceSecretBody(WireModel):
    """One entry of `GET /api/spaces/{id}/secrets` (an object keyed by name); never a value."""

    description: str | None = None
    updated_at: str


class SpaceVariableBody(WireModel):
    """One entry of the variables object that `GET|POST|DELETE .../variables` answer."""

    value: str
    description: str | None = None
    updated_at: str
