"""Where each rename was recorded: the commit that added its record to the manifest, said
beside the rename by ``diff``, ``plan`` and ``push``.

The commit does not exist yet when ``rename`` writes the record, so the record cannot hold
it: git knows it. One ``git blame`` of the manifest's ``renames:`` lines, at the revision
being read or in the working tree (where a record not committed yet says so), and only when
there is a rename to show.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from directus_gitops.base.errors import GitError
from directus_gitops.files import store
from directus_gitops.files.gitrepo import NOT_COMMITTED, Repo
from directus_gitops.model import changes, renames

if TYPE_CHECKING:
    from directus_gitops.engine.plan import Source
    from directus_gitops.model.config import Config


def attributed(found: changes.ChangeSet, folder: Path, rev: str | None, repo: Repo | None = None) -> changes.ChangeSet:
    """``found`` with each rename saying the commit that recorded it in ``folder``'s manifest
    at ``rev`` (None: the working tree's). Unchanged where git cannot say (a folder outside a
    repository, a manifest git does not hold at ``rev``)."""
    shown = [c for c in found if c.action == "rename" and c.renamed_from is not None]
    if not shown:
        return found
    try:
        repo = repo or Repo(_existing(folder))
        path = repo.relpath(folder / store.MANIFEST)
    except GitError:
        return found
    blamed = repo.blame(path, rev, f"^{renames.MANIFEST_KEY}:")
    if blamed is not None:
        return renames.attribute(found, renames.record_commits(blamed))
    if rev is not None:
        return found
    # A working tree's manifest git does not know yet (a new repository, a folder not added).
    return renames.attribute(found, {(c.collection, str(c.renamed_from)): NOT_COMMITTED for c in shown})


def of_source(found: changes.ChangeSet, config: Config, source: Source) -> changes.ChangeSet:
    """``found`` (a plan of ``source``) with each rename saying where it was recorded."""
    if source.commit is not None:
        return attributed(found, config.schema_dir, source.commit)
    if source.path is not None and Path(source.path).is_dir():
        return attributed(found, Path(source.path), None)
    return found


def _existing(folder: Path) -> Path:
    """``folder``, or the nearest folder above it that exists (where git is asked from)."""
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return candidate
    return folder
