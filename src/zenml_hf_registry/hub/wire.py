"""The local Hub's JSON answers, one typed model per resource, in the Hub's exact shape.

Routes build these and return `.body()`; nothing else hand-assembles a resource's JSON. Field
names are the Hub's camelCase, set once through aliases. A test feeds every answer to
huggingface_hub's own parsers (`SpaceRuntime`, `SpaceSecret`, `SpaceVariable`, ...) and
compares the keys with answers the Hub recorded.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "BucketInfoBody",
    "BucketUrlBody",
    "CommitAnswer",
    "CommitAuthor",
    "CommitEntry",
    "FormattedCommit",
    "GitRef",
    "GitRefsBody",
    "LastCommit",
    "LfsSibling",
    "LfsTreeInfo",
    "RepoInfoBody",
    "RepoSibling",
    "SpaceDomain",
    "SpaceHardwareState",
    "SpaceReplicas",
    "SpaceRuntimeBody",
    "SpaceSecretBody",
    "SpaceVariableBody",
    "SpaceVolumeBody",
    "TreeFile",
    "TreeFolder",
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


class SpaceVolumeBody(WireModel):
    """One of `runtime.volumes` (huggingface_hub's `Volume`), as `set_space_volumes` sent it;
    repos always with `readOnly: true`."""

    type: str
    source: str
    mount_path: str
    revision: str | None = None
    read_only: bool | None = None
    path: str | None = None


class SpaceRuntimeBody(WireModel):
    """`GET /api/spaces/{id}/runtime` (also the answer of hardware, sleeptime, pause, restart).

    Static Spaces leave out what they do not have (sleep time, dev mode, domains).
    """

    keep_none: ClassVar[frozenset[str]] = frozenset({"storage"})
    stage: str
    hardware: SpaceHardwareState
    # Always null in the Hub's recorded answers since persistent storage tiers were retired;
    # storage is a bucket volume now (`volumes`).
    storage: None = None
    gc_timeout: int | None = None
    replicas: SpaceReplicas
    dev_mode: bool | None = None
    domains: list[SpaceDomain] | None = None
    volumes: list[SpaceVolumeBody] | None = None
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


class LfsSibling(WireModel):
    """`siblings[].lfs` of repo info."""

    sha256: str
    size: int
    pointer_size: int


class RepoSibling(WireModel):
    """One of repo info's `siblings`."""

    rfilename: str
    size: int | None = None
    blob_id: str | None = None
    lfs: LfsSibling | None = None


class LfsTreeInfo(WireModel):
    """`lfs` of a tree or paths-info file entry."""

    oid: str
    size: int
    pointer_size: int


class LastCommit(WireModel):
    """`lastCommit` of an expanded tree or paths-info entry."""

    id: str
    title: str
    date: str


class TreeFile(WireModel):
    """A file of `GET .../tree` and `POST .../paths-info` (huggingface_hub's `RepoFile`)."""

    type: str = "file"
    oid: str
    size: int
    path: str
    lfs: LfsTreeInfo | None = None
    xet_hash: str | None = None
    last_commit: LastCommit | None = None


class TreeFolder(WireModel):
    """A folder of `GET .../tree` and `POST .../paths-info` (huggingface_hub's `RepoFolder`)."""

    type: str = "directory"
    oid: str
    size: int = 0
    path: str
    last_commit: LastCommit | None = None


class CommitAuthor(WireModel):
    """One of a commit's `authors`."""

    user: str


class FormattedCommit(WireModel):
    """`formatted` of a commit (`expand[]=formatted`): HTML renderings."""

    title: str
    message: str


class CommitEntry(WireModel):
    """One commit of `GET .../commits/{rev}` (huggingface_hub's `GitCommitInfo`)."""

    id: str
    title: str
    message: str
    date: str
    authors: list[CommitAuthor]
    formatted: FormattedCommit | None = None


class GitRef(WireModel):
    """A branch, tag or pull request of `GET .../refs` (huggingface_hub's `GitRefInfo`)."""

    name: str
    ref: str
    target_commit: str


class GitRefsBody(WireModel):
    """`GET .../refs`: `pullRequests` only when asked for, as the Hub answers."""

    branches: list[GitRef]
    converts: list[GitRef]
    tags: list[GitRef]
    pull_requests: list[GitRef] | None = None


class CommitAnswer(WireModel):
    """The answer of `POST .../commit/{rev}` (huggingface_hub's `CommitInfo`)."""

    success: bool = True
    commit_oid: str
    commit_url: str
    hook_output: str = ""
    pull_request_url: str | None = None


class RepoInfoBody(WireModel):
    """`GET /api/{type}s/{id}[/revision/{rev}]` (huggingface_hub's `ModelInfo`, `DatasetInfo`,
    `SpaceInfo`); Space-only and model-only fields are left out for other types."""

    keep_none: ClassVar[frozenset[str]] = frozenset()
    object_id: str = Field(alias="_id")
    id: str
    author: str
    sha: str
    last_modified: str
    created_at: str
    private: bool
    gated: str | bool
    disabled: bool = False
    downloads: int = 0
    downloads_all_time: int = 0
    likes: int = 0
    trending_score: int = 0
    tags: list[str] = []
    siblings: list[RepoSibling]
    used_storage: int
    model_id: str | None = None
    sdk: str | None = None
    subdomain: str | None = None
    host: str | None = None
    runtime: SpaceRuntimeBody | None = None
    xet_enabled: bool | None = None


class BucketUrlBody(WireModel):
    """The answer of `POST /api/buckets/{namespace}/{name}` (huggingface_hub's `BucketUrl`)."""

    url: str
    name: str
    id: str


class BucketInfoBody(WireModel):
    """`GET /api/buckets/{id}` and each item of `GET /api/buckets/{namespace}`
    (huggingface_hub's `BucketInfo`)."""

    id: str
    private: bool
    created_at: str
    size: int
    total_files: int
