"""A folder that cannot be written (permissions, a read-only mount, a full disk) is a user
error: one line naming the path, exit 1, nothing changed, no crash log."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from directus_gitops.base.errors import FileSystemError
from directus_gitops.files import store
from tests import samples
from tests.conftest import Project

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _edited() -> dict[str, bytes]:
    snapshot = samples.base()
    snapshot["fields"][1]["meta"]["note"] = "changed"
    return store.render(snapshot)


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A schema folder holding the sample model."""
    folder = tmp_path / "schema"
    store.write_tree(folder, store.render(samples.base()))
    return folder


def test_a_full_disk_while_writing_changes_nothing(
    target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _tree_bytes(target)
    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:  # type: ignore[override]
        if store.STAGING in str(self):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(FileSystemError, match=r"cannot write .*: no space left on the device; nothing was changed"):
        store.write_tree(target, _edited())
    assert _tree_bytes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema"]
    assert not (target / store.STAGING).exists(), "the half-staged files are removed"


def test_a_folder_that_cannot_be_swapped_is_refused_before_anything_is_built(
    target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _tree_bytes(target)
    real_access = os.access
    # As root, permissions never refuse: make the folder read-only as a user would see it.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != target and real_access(path, mode))
    with pytest.raises(FileSystemError, match=rf"cannot write {target}: permission denied; nothing was changed"):
        store.write_tree(target, _edited())
    assert _tree_bytes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema"]


def test_a_rename_refused_by_the_filesystem_puts_the_old_files_back(
    target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _tree_bytes(target)
    real_replace = Path.replace
    moved = 0

    def refuse_second(self: Path, to: Path) -> Path:  # type: ignore[override]
        nonlocal moved
        if store.STAGING in str(self):
            moved += 1
            if moved == 2:  # one file already moved in: it is put back
                raise OSError(errno.EROFS, "Read-only file system", str(to))
        return real_replace(self, to)

    edited = _edited()
    edited["collections/zzz-new.yaml"] = store.WRITTEN_BY + b"\ncollection: zzz\n"
    monkeypatch.setattr(Path, "replace", refuse_second)
    with pytest.raises(FileSystemError, match="read-only file system; nothing was changed"):
        store.write_tree(target, edited)
    assert _tree_bytes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema"]


@pytest.mark.skipif(ROOT, reason="permissions do not apply to root")
def test_a_read_only_schema_folder_for_real(target: Path) -> None:
    before = _tree_bytes(target)
    target.chmod(0o555)
    try:
        with pytest.raises(FileSystemError, match="permission denied"):
            store.write_tree(target, _edited())
    finally:
        target.chmod(0o755)
    assert _tree_bytes(target) == before


def test_the_cli_reports_a_filesystem_error_in_one_line_without_a_crash_log(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store.write_tree(project.schema, store.render(samples.base()))
    manifest = project.schema / "manifest.yaml"
    manifest.write_text(manifest.read_text() + "\n")  # not canonical: check --fix rewrites
    before = _tree_bytes(project.schema)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "crash"))
    (tmp_path / "crash").mkdir()
    result = project.run("check", "--fix")
    assert result.code == 1, result.output
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "permission denied; nothing was changed" in errors[0], result.err
    assert "unexpected" not in result.err and "bug" not in result.err
    assert _tree_bytes(project.schema) == before


def test_an_unreadable_file_is_one_line_too(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_tree(project.schema, store.render(samples.base()))
    real = Path.read_bytes

    def unreadable(self: Path) -> bytes:
        if self.name == "articles.yaml":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    result = project.run("diff", "schema", "schema")
    assert result.code == 1, result.output
    assert result.err.strip().endswith("articles.yaml: permission denied"), result.err
    assert "unexpected" not in result.err
