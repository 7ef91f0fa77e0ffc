"""Plain classes of the local Hub: path rules, tokens, blob store, git object ids."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from zenml_hf_registry.hub.errors import InvalidPath, UnprocessableEntity
from zenml_hf_registry.hub.repos import validate_path
from zenml_hf_registry.hub.settings import TokenRole, TokenSpec, load_or_create_dev_token
from zenml_hf_registry.hub.storage import BlobStore, git_blob_oid, lfs_pointer

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "path",
    [
        "a.txt",
        "dir/sub/file.bin",
        "données/é.json",
        "x" * 1000,
        ".gitattributes",
        "a..b/c",
        "folder/..\\..\\file",  # a backslash is a plain character in a git path
    ],
)
def test_valid_paths_pass_unchanged(path: str) -> None:
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "empty"),
        ("../a", "'..'"),
        ("a/./b", "'.'"),
        ("a//b", "empty"),
        ("/abs", "absolute"),
        ("a\x00b", "NUL"),
        ("a\nb", "control"),
        ("x" * 1001, "1001 characters"),
        (".git/HEAD", ".git"),
    ],
)
def test_hostile_paths_are_refused_with_a_reason(path: str, message: str) -> None:
    with pytest.raises(InvalidPath, match=message):
        validate_path(path)


def test_a_leading_windows_parent_segment_is_unprocessable() -> None:
    # The Hub answers 422 to `..\\name`: on Windows it would land outside the repo.
    with pytest.raises(UnprocessableEntity, match=r"starts with '\.\.'"):
        validate_path("..\\ddd")


def test_token_spec_parses_the_cli_form() -> None:
    spec = TokenSpec.parse("secret-token:bob:read:acme,labs")
    assert (spec.user, spec.role, spec.orgs) == ("bob", TokenRole.READ, ("acme", "labs"))
    assert spec.may_see("labs")
    assert not spec.can_write("acme")
    assert TokenSpec.parse("another-token").role is TokenRole.WRITE
    assert "secret-token" not in repr(spec)


def test_dev_token_is_created_once_and_kept(tmp_path: Path) -> None:
    first = load_or_create_dev_token(tmp_path)
    assert load_or_create_dev_token(tmp_path).token == first.token
    assert (tmp_path / "dev-token").stat().st_mode & 0o077 == 0


def test_git_blob_oid_matches_git(tmp_path: Path) -> None:
    data = b"hello\x00world\n"
    (tmp_path / "f").write_bytes(data)
    expected = subprocess.run(
        ["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_blob_oid(data) == expected


def test_lfs_pointer_is_the_git_lfs_format() -> None:
    pointer = lfs_pointer("ab" * 32, 42).decode()
    assert pointer == (
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 42\n"
    )


def test_blob_store_is_content_addressed_and_verifies_joins(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with store.lease() as lease:
        info = store.put_bytes(b"payload", lease=lease)
    assert info.sha256 == hashlib.sha256(b"payload").hexdigest()
    assert store.path(info.sha256).read_bytes() == b"payload"

    parts = []
    for i, chunk in enumerate((b"abc", b"def")):
        part = tmp_path / f"p{i}"
        part.write_bytes(chunk)
        parts.append(part)
    with store.lease() as lease:
        joined = store.concat(parts, hashlib.sha256(b"abcdef").hexdigest(), 6, lease=lease)
        assert store.path(joined.sha256).read_bytes() == b"abcdef"
        with pytest.raises(UnprocessableEntity, match="expected sha256"):
            store.concat(parts, "0" * 64, 6, lease=lease)
    assert list(store.tmp.iterdir()) == []  # nothing half-written left behind
    with pytest.raises(UnprocessableEntity):
        store.path("../../etc/passwd")


def test_garbage_collection_spares_leased_blobs(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with store.lease() as lease:
        leased = store.put_bytes(b"not referenced yet", lease=lease)
        assert store.remove_unreferenced(set()) == 0  # a commit is still on its way
        assert store.exists(leased.sha256)
    assert store.remove_unreferenced(set()) == 1  # released and still unreferenced: collected
    assert not store.exists(leased.sha256)
