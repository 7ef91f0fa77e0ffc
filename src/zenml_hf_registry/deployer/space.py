"""A Space as the deployer wants it, as the Hub has it, and the fewest calls between the two.

No ZenML here: `SpaceSpec` is the desired state, `ObservedSpace` what the Hub reports,
`plan_space` the difference and `SpaceOperator` applies it with the real client. The costs
users feel on the Hub drive the plan: every commit rebuilds the Space and every secret,
variable, hardware or volume change restarts it, so a first deploy is one `create_repo` (with
hardware, sleep time, secrets, variables and volumes) plus one commit, and an unchanged
redeploy makes no call that changes anything.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import httpx2
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    SpaceRuntime,
    Volume,
)
from huggingface_hub.errors import (
    BucketNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoSibling
from huggingface_hub.utils.sha import git_hash

from zenml_hf_registry.deployer.logs import strip_ansi
from zenml_hf_registry.errors import ConfigurationError, HubAccessError
from zenml_hf_registry.hub_client import (
    hub_errors,
    read_with_retries,
    write_with_retries,
)

T = TypeVar("T")

__all__ = [
    "ROTATING_SECRETS",
    "ObservedSpace",
    "SpaceOperator",
    "SpacePlan",
    "SpaceSpec",
    "check_write_access",
    "plan_space",
    "secret_digest",
    "volume_key",
]

# Secrets whose value changes on every deploy without meaning anything new: ZenML issues a
# fresh workload API token per provision. Setting it each time would restart the Space on
# every redeploy, so it is only replaced when the key is missing or the Space restarts or
# rebuilds anyway.
ROTATING_SECRETS = frozenset({"ZENML_STORE_API_TOKEN"})


def secret_digest(key: str, value: str, salt: str) -> str:
    """A digest to tell whether a secret changed, without storing its value.

    Keyed with `salt` (the Hub token), so a digest kept in deployment metadata cannot be
    brute-forced back to a short secret by someone who can read that metadata.
    """
    mac = hmac.new(salt.encode(), f"{key}\0{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def volume_key(volume: Volume) -> tuple[str, str, str, str | None, bool, str]:
    """What makes two volumes the same mount: the Hub reports repos read-only whether asked
    or not, and a bucket's unset `read_only` means read-write."""
    read_only = True if volume.type != "bucket" else bool(volume.read_only)
    return (
        volume.mount_path,
        volume.type,
        volume.source,
        volume.revision,
        read_only,
        (volume.path or "").strip("/"),
    )


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


@dataclass(frozen=True)
class SpaceSpec:
    """The Space the deployer wants."""

    space_id: str
    private: bool
    hardware: str | None
    sleep_time: int | None
    files: dict[str, bytes]
    secrets: dict[str, str]
    variables: dict[str, str]
    # Repo volumes come pinned to a commit (`SpaceOperator.pin_volumes`).
    volumes: tuple[Volume, ...] = ()
    # The Storage Bucket `space_storage` mounts (one of `volumes`), created if missing.
    storage_bucket: str | None = None
    # What a secret's digest is taken of, when not its whole value: a bundle of values some of
    # which rotate without meaning anything new (ZenML's per-provision API token) is compared
    # by its stable part only.
    digest_inputs: dict[str, str] = field(default_factory=dict)

    def secret_digest(self, key: str, salt: str) -> str:
        """The digest that tells whether secret `key` changed (see `digest_inputs`)."""
        return secret_digest(key, self.digest_inputs.get(key, self.secrets[key]), salt)


@dataclass(frozen=True)
class ObservedSpace:
    """What the Hub reports about an existing Space."""

    space_id: str
    private: bool
    hardware: str | None  # requested hardware
    sleep_time: int | None
    file_oids: dict[str, str]  # path -> git blob oid
    variables: dict[str, str]
    secret_keys: frozenset[str]
    stage: str
    host: str | None
    # LFS files: path -> sha256 of the content (their blob id is the pointer's, not the file's)
    lfs_sha256: dict[str, str] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()  # `SpaceRuntime.volumes`

    def holds(self, path: str, content: bytes) -> bool:
        """Whether the Space has `content` at `path` already."""
        return _holds(self.file_oids, self.lfs_sha256, path, content)


def _file_state(siblings: list[RepoSibling] | None) -> tuple[dict[str, str], dict[str, str]]:
    """A repo's files as `space_info(files_metadata=True)` lists them: blob ids, and the
    content sha256 of LFS files."""
    siblings = siblings or []
    return (
        {s.rfilename: s.blob_id for s in siblings if s.blob_id},
        {s.rfilename: s.lfs.sha256 for s in siblings if s.lfs is not None},
    )


def _holds(file_oids: dict[str, str], lfs_sha256: dict[str, str], path: str, data: bytes) -> bool:
    if path in lfs_sha256:
        return lfs_sha256[path] == hashlib.sha256(data).hexdigest()
    return file_oids.get(path) == git_hash(data)


@dataclass
class SpacePlan:
    """What has to change; empty means nothing at all."""

    create: bool = False
    commit_files: dict[str, bytes] = field(default_factory=dict)
    delete_files: list[str] = field(default_factory=list)
    set_secrets: dict[str, str] = field(default_factory=dict)
    delete_secrets: list[str] = field(default_factory=list)
    set_variables: dict[str, str] = field(default_factory=dict)
    delete_variables: list[str] = field(default_factory=list)
    hardware: str | None = None
    create_bucket: str | None = None  # before the volumes that mount it (no restart)
    set_volumes: list[Volume] | None = None  # the whole list, as set_space_volumes takes it
    remove_volumes: bool = False
    sleep_time: int | None = None
    private: bool | None = None
    restart: bool = False  # paused or stopped: bring it back
    # Pause the running Space before the changes: on the Hub each setting change restarts a
    # running Space, while changes made to a paused one wait for its next start. With two or
    # more restarting changes, pause + changes + one start costs less than a restart each.
    pause: bool = False

    @property
    def restarting_changes(self) -> int:
        """How many calls of this plan restart a running Space, one each."""
        return (
            len(self.set_secrets)
            + len(self.delete_secrets)
            + len(self.set_variables)
            + len(self.delete_variables)
            + bool(self.hardware)
            + (self.set_volumes is not None)
            + self.remove_volumes
        )

    @property
    def restarts_or_rebuilds(self) -> bool:
        """Whether applying this plan restarts or rebuilds the Space."""
        return bool(
            self.create
            or self.commit_files
            or self.delete_files
            or self.set_secrets
            or self.delete_secrets
            or self.set_variables
            or self.delete_variables
            or self.hardware
            or self.set_volumes is not None
            or self.remove_volumes
            or self.restart
        )

    @property
    def is_empty(self) -> bool:
        """Nothing to do."""
        return not (
            self.restarts_or_rebuilds
            or self.sleep_time is not None
            or self.private is not None
            or self.create_bucket
        )

    def summary(self) -> str:
        """One line for the logs; names keys, never values."""
        if self.create:
            bucket = f"create the bucket {self.create_bucket}; " if self.create_bucket else ""
            return f"{bucket}create the Space and commit " + ", ".join(sorted(self.commit_files))
        parts = []
        if self.create_bucket:
            parts.append(f"create the bucket {self.create_bucket}")
        if self.commit_files or self.delete_files:
            parts.append("commit " + ", ".join(sorted([*self.commit_files, *self.delete_files])))
        for label, keys in (
            ("set secrets", self.set_secrets),
            ("delete secrets", self.delete_secrets),
            ("set variables", self.set_variables),
            ("delete variables", self.delete_variables),
        ):
            if keys:
                parts.append(f"{label} {', '.join(sorted(keys))}")
        if self.hardware:
            parts.append(f"hardware -> {self.hardware}")
        if self.set_volumes is not None:
            mounts = ", ".join(
                f"{v.mount_path} ({v.type} {v.source}{'@' + v.revision if v.revision else ''})"
                for v in self.set_volumes
            )
            parts.append(f"volumes -> {mounts}")
        if self.remove_volumes:
            parts.append("remove volumes")
        if self.sleep_time is not None:
            parts.append(f"sleep time -> {self.sleep_time}s")
        if self.private is not None:
            parts.append("make private" if self.private else "make public")
        if self.pause:
            parts.insert(0, "pause")
            parts.append("start")
        elif self.restart:
            parts.append("restart")
        return "; ".join(parts) or "nothing to change"


# Stages a redeploy brings back: stopped, or crashed at run time (perhaps for a reason that is
# gone, like an unreachable ZenML server). A build error needs a changed commit instead.
_RESUMABLE = {"PAUSED", "STOPPED", "RUNTIME_ERROR"}
# Stages in which setting changes are stored and wait for the next start (no app to restart).
_IDLE = {"PAUSED", "STOPPED", "NO_APP_FILE", "CONFIG_ERROR"}


def check_write_access(identity: dict[str, Any], namespace: str, *, endpoint: str) -> None:
    """Refuse, before anything is created, a token that cannot create Spaces in `namespace`.

    `identity` is the Hub's whoami answer. Fine-grained tokens carry per-repo scopes whoami
    does not spell out plainly; for them the Hub's own answer to the first write decides.
    """
    user = str(identity.get("name", ""))
    role = ((identity.get("auth") or {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise HubAccessError(
            f"The Hugging Face token of {user} is read-only; deploying creates and changes "
            f"Spaces, so it needs a token with write access ({endpoint}/settings/tokens).",
            endpoint=endpoint,
        )
    if namespace.lower() == user.lower():
        return
    orgs = {str(o.get("name", "")).lower(): o.get("roleInOrg") for o in identity.get("orgs") or []}
    if namespace.lower() not in orgs:
        choices = ", ".join(
            sorted({user, *(str(o.get("name")) for o in identity.get("orgs") or [])})
        )
        raise HubAccessError(
            f"{user} is not a member of {namespace!r} on {endpoint}, so the token cannot create "
            f"Spaces there; set the deployer's organization to one of: {choices}.",
            endpoint=endpoint,
        )
    if orgs[namespace.lower()] == "read":
        raise HubAccessError(
            f"{user} may only read in the organization {namespace!r}; creating Spaces there "
            "needs the write or admin role.",
            endpoint=endpoint,
        )


def plan_space(
    spec: SpaceSpec,
    observed: ObservedSpace | None,
    *,
    managed_secrets: dict[str, str],
    managed_variables: frozenset[str],
    salt: str,
    managed_files: frozenset[str] = frozenset(),
    managed_volumes: frozenset[str] = frozenset(),
    bucket_exists: bool = True,
) -> SpacePlan:
    """The changes that take `observed` to `spec`.

    `managed_secrets` (key -> digest), `managed_variables`, `managed_files` and
    `managed_volumes` (mount paths) are what this deployer set before; only those are ever
    deleted, so secrets, files and volumes a user added by hand stay. `bucket_exists` says
    whether `spec.storage_bucket` is there already.
    """
    create_bucket = spec.storage_bucket if spec.storage_bucket and not bucket_exists else None
    if observed is None:
        return SpacePlan(create=True, commit_files=dict(spec.files), create_bucket=create_bucket)
    plan = SpacePlan(create_bucket=create_bucket)
    for path, content in spec.files.items():
        if not observed.holds(path, content):
            plan.commit_files[path] = content
    plan.delete_files = sorted(
        p for p in managed_files if p not in spec.files and p in observed.file_oids
    )
    for key, value in spec.secrets.items():
        if key in ROTATING_SECRETS and key in observed.secret_keys:
            continue  # decided below, once we know whether the Space restarts anyway
        if key not in observed.secret_keys or managed_secrets.get(key) != spec.secret_digest(
            key, salt
        ):
            plan.set_secrets[key] = value
    plan.delete_secrets = sorted(
        k for k in managed_secrets if k not in spec.secrets and k in observed.secret_keys
    )
    for key, value in spec.variables.items():
        if observed.variables.get(key) != value:
            plan.set_variables[key] = value
    plan.delete_variables = sorted(
        k for k in managed_variables if k not in spec.variables and k in observed.variables
    )
    wanted_hardware = spec.hardware or "cpu-basic"
    if (observed.hardware or "cpu-basic") != wanted_hardware:
        plan.hardware = wanted_hardware
    # Volumes a user mounted by hand stay, unless one of ours now takes their place.
    kept = [
        v
        for v in observed.volumes
        if v.mount_path not in managed_volumes
        and not any(_overlaps(v.mount_path, w.mount_path) for w in spec.volumes)
    ]
    wanted_volumes = [*spec.volumes, *kept]
    if sorted(map(volume_key, wanted_volumes)) != sorted(map(volume_key, observed.volumes)):
        if wanted_volumes:
            plan.set_volumes = wanted_volumes
        else:
            plan.remove_volumes = True
    if spec.sleep_time is not None and spec.sleep_time != observed.sleep_time:
        plan.sleep_time = spec.sleep_time
    if spec.private != observed.private:
        plan.private = spec.private
    plan.restart = observed.stage in _RESUMABLE
    if plan.restarts_or_rebuilds:
        # The Space restarts anyway: refresh rotating secrets with the same start.
        for key in ROTATING_SECRETS & spec.secrets.keys():
            if managed_secrets.get(key) != secret_digest(key, spec.secrets[key], salt):
                plan.set_secrets[key] = spec.secrets[key]
    changes = plan.restarting_changes
    if observed.stage not in _IDLE and changes and changes + bool(plan.commit_files) >= 2:
        # One start instead of one restart per change (and none before a rebuild).
        plan.pause = True
        plan.restart = not (plan.commit_files or plan.delete_files)
    elif observed.stage == "RUNTIME_ERROR" and changes:
        plan.restart = False  # the change restarts it
    return plan


# Reading logs: a silent follow stream is retried after this long (fetch_space_logs's value);
# a read that does not follow ends after _DRAIN_SECONDS without a line.
_DRAIN_SECONDS = 1.0
_FOLLOW_TIMEOUT = httpx2.Timeout(120.0)
_DRAIN_TIMEOUT = httpx2.Timeout(10.0, read=_DRAIN_SECONDS)


class SpaceOperator:
    """Reads and changes Spaces on one Hub with one token."""

    def __init__(self, api: HfApi) -> None:
        self.api = api
        self.endpoint = api.endpoint

    def observe(self, space_id: str, *, read_variables: bool = True) -> ObservedSpace | None:
        """The Space as the Hub has it, or None when it does not exist.

        Two or three requests: the Space's info (with its runtime and its files' blob ids),
        its secret keys, and its variables unless `read_variables` is False (nothing to manage).
        """
        try:
            info = self._read(space_id, lambda: self.api.space_info(space_id, files_metadata=True))
        except RepositoryNotFoundError:
            return None
        runtime = info.runtime or self._read(space_id, lambda: self.api.get_space_runtime(space_id))
        file_oids, lfs_sha256 = _file_state(info.siblings)
        variables: dict[str, str] = {}
        if read_variables:
            found = self._read(space_id, lambda: self.api.get_space_variables(space_id))
            variables = {key: variable.value for key, variable in found.items()}
        secrets = self._read(space_id, lambda: self.api.get_space_secrets(space_id))
        return ObservedSpace(
            space_id=space_id,
            private=bool(info.private),
            hardware=runtime.requested_hardware,
            sleep_time=runtime.sleep_time,
            file_oids=file_oids,
            variables=variables,
            secret_keys=frozenset(secrets),
            stage=str(runtime.stage),
            host=info.host,
            lfs_sha256=lfs_sha256,
            volumes=tuple(runtime.volumes or ()),
        )

    def bucket_exists(self, bucket_id: str) -> bool:
        """Whether the Storage Bucket exists (and the token may see it)."""
        try:
            self._read(bucket_id, lambda: self.api.bucket_info(bucket_id))
        except BucketNotFoundError:
            return False
        return True

    def pin_volumes(self, volumes: list[Volume]) -> tuple[list[Volume], list[str]]:
        """`volumes` with each repo volume pinned to the commit its revision points to now
        (the default branch when there is none), and a line per volume that was pinned.

        One read per repo volume. A repo or revision that does not exist, or that the token
        cannot read, is a `ConfigurationError` naming the volume, raised before any change.
        """
        pinned: list[Volume] = []
        notes: list[str] = []
        for volume in volumes:
            if volume.type == "bucket":
                pinned.append(volume)
                continue
            what = f"space_volumes: the {volume.type} {volume.source} at {volume.mount_path}"
            try:
                info = self._read(
                    volume.source,
                    partial(
                        self.api.repo_info,
                        volume.source,
                        revision=volume.revision,
                        repo_type=volume.type,
                    ),
                )
            except RevisionNotFoundError as exc:
                raise ConfigurationError(
                    f"{what} has no revision {volume.revision!r} on {self.endpoint}; use a "
                    "branch, tag or commit it has"
                ) from exc
            except RepositoryNotFoundError as exc:
                raise ConfigurationError(
                    f"{what} does not exist on {self.endpoint}, or the deployer's token "
                    "cannot read it"
                ) from exc
            if not info.sha:
                raise ConfigurationError(f"{what}: the Hub gave no commit for it")
            if volume.revision != info.sha:
                notes.append(
                    f"{volume.type} {volume.source} at {volume.mount_path}: "
                    f"{volume.revision or 'the default branch'} is commit {info.sha}; "
                    "mounted at that commit"
                )
            pinned.append(
                Volume(
                    type=volume.type,
                    source=volume.source,
                    mount_path=volume.mount_path,
                    revision=info.sha,
                    read_only=True,
                    path=volume.path,
                )
            )
        return pinned, notes

    def apply(self, spec: SpaceSpec, plan: SpacePlan, commit_message: str) -> None:
        """Carry out the plan: settings first, then at most one commit (the rebuild).

        Short outages are ridden out without doing anything twice: a 429 is always retried
        (the Hub did not act on it); after a 5xx or a network error, settings are simply set
        again (setting them twice is harmless), while the Space's creation and the commit are
        retried only if the Hub shows they did not happen.
        """
        space_id = spec.space_id
        what = f"deploying Space {space_id}"

        def write(
            call: Callable[[], object],
            idempotent: bool = True,
            landed: Callable[[], bool] | None = None,
        ) -> None:
            write_with_retries(
                call, endpoint=self.endpoint, what=what, idempotent=idempotent, landed=landed
            )

        if plan.create_bucket:
            # Before the Space: the Hub checks that a volume's bucket exists. Private: what an
            # app writes is nobody else's business, whatever the Space's visibility.
            bucket = plan.create_bucket
            write(lambda: self.api.create_bucket(bucket, private=True, exist_ok=True))
        if plan.create:
            write(
                lambda: self.api.create_repo(
                    space_id,
                    repo_type="space",
                    space_sdk="docker",
                    private=spec.private,
                    space_hardware=spec.hardware,  # type: ignore[arg-type]
                    space_sleep_time=spec.sleep_time,
                    space_secrets=[{"key": k, "value": v} for k, v in spec.secrets.items()],
                    space_variables=[{"key": k, "value": v} for k, v in spec.variables.items()],
                    space_volumes=list(spec.volumes) or None,
                ),
                idempotent=False,
                landed=lambda: self.api.repo_exists(space_id, repo_type="space"),
            )
        if plan.pause:
            write(lambda: self.api.pause_space(space_id))
        if plan.private is not None:
            private = plan.private
            write(
                lambda: self.api.update_repo_settings(space_id, private=private, repo_type="space")
            )
        for key, value in plan.set_secrets.items():
            write(partial(self.api.add_space_secret, space_id, key, value))
        for key in plan.delete_secrets:
            write(partial(self.api.delete_space_secret, space_id, key))
        for key, value in plan.set_variables.items():
            write(partial(self.api.add_space_variable, space_id, key, value))
        for key in plan.delete_variables:
            write(partial(self.api.delete_space_variable, space_id, key))
        if plan.hardware:
            hardware = plan.hardware
            write(lambda: self.api.request_space_hardware(space_id, hardware))  # type: ignore[arg-type]
        if plan.sleep_time is not None and not plan.create:
            sleep_time = plan.sleep_time
            write(lambda: self.api.set_space_sleep_time(space_id, sleep_time))
        if plan.set_volumes is not None:
            volumes = plan.set_volumes
            write(lambda: self.api.set_space_volumes(space_id, volumes))
        if plan.remove_volumes:
            write(lambda: self.api.delete_space_volumes(space_id))
        operations: list[CommitOperationAdd | CommitOperationDelete] = [
            CommitOperationAdd(path_in_repo=p, path_or_fileobj=c)
            for p, c in sorted(plan.commit_files.items())
        ]
        operations += [CommitOperationDelete(path_in_repo=p) for p in plan.delete_files]
        if operations:
            write(
                lambda: self.api.create_commit(
                    space_id, operations, commit_message=commit_message, repo_type="space"
                ),
                idempotent=False,
                landed=lambda: self._has_files(space_id, plan.commit_files, plan.delete_files),
            )
            if plan.pause and self._stage(space_id) in _IDLE:
                # The Hub may keep a paused Space paused through a commit: start it (once).
                write(lambda: self.api.restart_space(space_id))
        elif plan.restart:
            write(lambda: self.api.restart_space(space_id))

    def _has_files(self, space_id: str, files: dict[str, bytes], deleted: list[str]) -> bool:
        """Whether the Space's files are `files` already and `deleted` are gone."""
        info = self.api.space_info(space_id, files_metadata=True)
        file_oids, lfs_sha256 = _file_state(info.siblings)
        return all(_holds(file_oids, lfs_sha256, p, c) for p, c in files.items()) and not any(
            p in file_oids for p in deleted
        )

    def _stage(self, space_id: str) -> str:
        return str(self.runtime(space_id)[0].stage)

    def _read(self, space_id: str, call: Callable[[], T]) -> T:
        return read_with_retries(call, endpoint=self.endpoint, what=f"reading Space {space_id}")

    def runtime(self, space_id: str) -> tuple[SpaceRuntime, str | None]:
        """The Space's runtime and its app URL (`SpaceInfo.host`)."""
        info = self._read(space_id, lambda: self.api.space_info(space_id))
        # The Hub embeds the runtime in the Space's info: one request per poll.
        runtime = info.runtime or self._read(space_id, lambda: self.api.get_space_runtime(space_id))
        return runtime, info.host

    def delete(self, space_id: str) -> bool:
        """Delete the Space; False when it was already gone."""
        try:
            with hub_errors(self.endpoint, f"deleting Space {space_id}"):
                self.api.delete_repo(space_id, repo_type="space")
        except RepositoryNotFoundError:
            return False
        return True

    def delete_bucket(self, bucket_id: str) -> bool:
        """Delete a Storage Bucket and its files; False when it was already gone."""
        try:
            with hub_errors(self.endpoint, f"deleting the Storage Bucket {bucket_id}"):
                self.api.delete_bucket(bucket_id)
        except BucketNotFoundError:
            return False
        return True

    def logs(
        self, space_id: str, *, build: bool, follow: bool, tail: int | None = None
    ) -> Iterator[str]:
        """Build or run log lines, plain text without trailing newlines.

        This is `HfApi.fetch_space_logs` with two changes. `tail` is sent as the Hub's log
        endpoints take it (`?tail=N`, as `fetch_job_logs` sends it; `fetch_space_logs` cannot),
        so a follow starts from the last `tail` lines instead of the whole backlog. And a
        read that does not follow stops after `_DRAIN_SECONDS` of silence instead of 5 s: the
        Hub replays its backlog in one burst and keeps a running app's stream open, so the
        whole wait is spent after the last line.
        """
        kind = "build" if build else "run"
        timeout = _FOLLOW_TIMEOUT if follow else _DRAIN_TIMEOUT
        with hub_errors(self.endpoint, f"reading logs of Space {space_id}"):
            for event in self.api._stream_sse_events(
                url=f"{self.api.endpoint}/api/spaces/{space_id}/logs/{kind}",
                log_label=f"spaces /logs/{kind} for repo_id={space_id!r}",
                timeout=timeout,  # type: ignore[arg-type]  # httpx2 takes a Timeout too
                follow=follow,
                params=None if tail is None else {"tail": tail},
            ):
                yield strip_ansi(str(event["data"])).rstrip("\n")

    def wait_for_stage(self, space_id: str, stages: set[str], timeout: float) -> str:
        """Poll until the Space reaches one of `stages` (tests and the demo)."""
        deadline = time.monotonic() + timeout
        stage = ""
        while time.monotonic() < deadline:
            stage = str(self.runtime(space_id)[0].stage)
            if stage in stages:
                return stage
            time.sleep(0.5)
        return stage
