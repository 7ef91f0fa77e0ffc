"""Space-build mode's plain parts: reading and checking a build context, and planning files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from huggingface_hub.utils.sha import git_hash

from tests.unit.test_deployer_domain import observed_as, spec
from zenml_hf_registry.deployer.space import plan_space
from zenml_hf_registry.deployer.space_build import (
    REPO_FORBIDDEN_FOLDERS,
    BuildContextError,
    SpaceBuildContext,
    read_build_context,
)

pytestmark = pytest.mark.unit


def context_of(root: Path, files: dict[str, bytes], **generated: str) -> SpaceBuildContext:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    return SpaceBuildContext(
        dockerfile="FROM base\n",
        files={path: str(root / path) for path in files},
        generated=dict(generated),
        root=str(root),
    )


def test_the_folders_left_out_are_the_ones_huggingface_hub_refuses() -> None:
    from huggingface_hub.utils._paths import FORBIDDEN_FOLDERS

    assert frozenset(FORBIDDEN_FOLDERS) == REPO_FORBIDDEN_FOLDERS


def test_a_context_reads_into_repo_files_without_reserved_names_or_git(tmp_path: Path) -> None:
    context = context_of(
        tmp_path,
        {
            "app/main.py": b"print('hi')\n",
            "README.md": b"# theirs\n",
            ".git/HEAD": b"ref: refs/heads/main\n",
            "sub/.cache/x": b"cached",
            "données.txt": "é".encode(),
        },
        **{".zenml_requirements": "zenml-hf-registry==1\n"},
    )
    files = read_build_context(context, limit_mb=1, secrets=["tok"], reserved=["README.md"])
    assert files == {
        "app/main.py": b"print('hi')\n",
        "données.txt": "é".encode(),
        ".zenml_requirements": b"zenml-hf-registry==1\n",
    }


def test_an_oversized_context_names_its_heaviest_parts_and_the_way_out(tmp_path: Path) -> None:
    context = context_of(
        tmp_path,
        {
            ".venv/lib/big.so": b"\0" * 700_000,
            ".venv/lib/other.so": b"\0" * 300_000,
            "data.csv": b"1" * 200_000,
            "main.py": b"x = 1\n",
        },
    )
    with pytest.raises(BuildContextError) as refused:
        read_build_context(context, limit_mb=1, secrets=[])
    message = str(refused.value)
    assert "is 1.1 MB, over the 1 MB" in message
    assert "Largest parts: .venv/ 976.6 kB, data.csv 195.3 kB, main.py 6 B" in message
    assert f".dockerignore in {tmp_path}" in message


def test_a_file_holding_the_token_is_refused_without_repeating_it(tmp_path: Path) -> None:
    token = "hf_sentinel_token_for_context_scan"
    context = context_of(tmp_path, {"main.py": b"x = 1\n", "conf/.env": f"T={token}".encode()})
    with pytest.raises(BuildContextError) as refused:
        read_build_context(context, limit_mb=1, secrets=[token, ""])
    assert "'conf/.env' holds the deployer's Hugging Face token" in str(refused.value)
    assert token not in str(refused.value)


def test_files_the_deployer_wrote_and_no_longer_wants_are_deleted_others_stay() -> None:
    before = spec(files={**spec().files, "a.py": b"a", "b.py": b"b"})
    after = spec(files={**spec().files, "a.py": b"a2"})
    observed = observed_as(before)
    observed.file_oids["by-hand.txt"] = "1" * 40
    plan = plan_space(
        after,
        observed,
        managed_secrets={},
        managed_variables=frozenset(),
        salt="s",
        managed_files=frozenset(before.files),
    )
    assert list(plan.commit_files) == ["a.py"]
    assert plan.delete_files == ["b.py"]
    assert "commit a.py, b.py" in plan.summary()


def test_lfs_files_compare_by_their_content_sha256_not_the_pointers_oid() -> None:
    weights = b"\x00\x01" * 1000
    desired = spec(files={**spec().files, "model.bin": weights})
    observed = observed_as(desired)
    observed.file_oids["model.bin"] = git_hash(b"version https://git-lfs.github.com/spec/v1\n")
    observed.lfs_sha256["model.bin"] = hashlib.sha256(weights).hexdigest()
    assert observed.holds("model.bin", weights)
    assert not observed.holds("model.bin", weights + b"\x02")
    plan = plan_space(
        desired, observed, managed_secrets={}, managed_variables=frozenset(), salt="s"
    )
    assert "model.bin" not in plan.commit_files


@pytest.mark.parametrize("name", ["hf_spaces.yaml", "local_hub.yaml", "space_build.yaml"])
def test_the_example_deploy_configs_hold_valid_deployer_settings(name: str) -> None:
    import yaml

    from zenml_hf_registry.flavors import HuggingFaceDeployerSettings

    path = Path(__file__).resolve().parents[2] / "examples" / "hello_pipeline" / name
    deployer = yaml.safe_load(path.read_text())["settings"]["deployer"]
    settings = HuggingFaceDeployerSettings(**deployer)
    assert settings.build_in_space is (name == "space_build.yaml")
