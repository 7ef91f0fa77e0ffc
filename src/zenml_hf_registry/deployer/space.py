"""A Space as the deployer wants it, as the Hub has it, and the fewest calls between the two.

No ZenML here: `SpaceSpec` is the desired state, `ObservedSpace` what the Hub reports,
`plan_space` the difference and `SpaceOperator` applies it with the real client. The costs
users feel on the Hub drive the plan: every commit rebuilds the Space and every secret,
variable, hardware or storage change restarts it, so a first deploy is one `create_repo` (with
hardware, sleep time, secrets and variables) plus one commit, and an unchanged redeploy makes
no call that changes anything.
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
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, SpaceRuntime
from huggingface_hub.errors import RepositoryNotFoundError
from huggingface_hub.hf_api import RepoSibling
from huggingface_hub.utils.sha import git_hash

from zenml_hf_registry.deployer.logs import strip_ansi
from zenml_hf_registry.errors import HubAccessError
from zenml_hf_registry.hub_client import (
    hub_errors,
    read_with_retries,
    write_with_retries,
)
from zenml_hf_registry.hub_endpoints import delete_space_storage, request_space_storage

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


@dataclass(frozen=True)
class SpaceSpec:
    """The Space the deployer wants."""

    space_id: str
    private: bool
    hardware: str | None
    storage: str | None
    sleep_time: int | None
    files: dict[str, bytes]
    secrets: dict[str, str]
    variables: dict[str, str]
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
    storage: str | None
    sleep_time: int | None
    file_oids: dict[str, str]  # path -> git blob oid
    variables: dict[str, str]
    secret_keys: frozenset[str]
    stage: str
    host: str | None
    # LFS files: path -> sha256 of the content (their blob id is the pointer's, not the file's)
    lfs_sha256: dict[str, str] = field(default_factory=dict)

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
    storage: str | None = None
    remove_storage: bool = False
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
            + bool(self.storage)
            + bool(self.remove_storage)
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
            or self.storage
            or self.remove_storage
            or self.restart
        )

    @property
    def is_empty(self) -> bool:
        """Nothing to do."""
        return not (
            self.restarts_or_rebuilds or self.sleep_time is not None or self.private is not None
        )

    def summary(self) -> str:
        """One line for the logs; names keys, never values."""
        if self.create:
            return "create the Space and commit " + ", ".join(sorted(self.commit_files))
        parts = []
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
        if self.storage:
            parts.append(f"storage -> {self.storage}")
        if self.remove_storage:
            parts.append("remove storage")
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
) -> SpacePlan:
    """The changes that take `observed` to `spec`.

    `managed_secrets` (key -> digest), `managed_variables` and `managed_files` are what this
    deployer set before; only those are ever deleted, so secrets and files a user added by
    hand stay.
    """
    if observed is None:
        return SpacePlan(create=True, commit_files=dict(spec.files), storage=spec.storage)
    plan = SpacePlan()
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
    if spec.storage != observed.storage:
        if spec.storage is None:
            plan.remove_storage = True
        else:
            plan.storage = spec.storage
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
            storage=runtime.storage,
            sleep_time=runtime.sleep_time,
            file_oids=file_oids,
            variables=variables,
            secret_keys=frozenset(secrets),
            stage=str(runtime.stage),
            host=info.host,
            lfs_sha256=lfs_sha256,
        )

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
        if plan.storage:
            tier = plan.storage
            write(lambda: request_space_storage(self.api, space_id, tier))
        if plan.remove_storage:
            write(lambda: delete_space_storage(self.api, space_id))
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
