"""``merge-file``: the git merge driver for the schema folder's files, and registering it.

Git runs ``directus-gitops merge-file %O %A %B %P`` for each file of the schema folder both
branches changed (``.gitattributes`` sends them here): the result goes into OURS (%A) and the
exit code tells git whether it is clean (0) or conflicted (1). What the semantic merge does not
take apart is merged by git's own ``merge-file``, so nothing is ever lost.
"""

from __future__ import annotations

from pathlib import Path

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode, GitError
from directus_gitops.engine import merge
from directus_gitops.files import gitrepo
from directus_gitops.model.config import Config

REGISTER_COMMAND = "directus-gitops init --merge-driver"


def run(console: Console, *, base: Path, ours: Path, theirs: Path, path: str) -> int:
    merged = merge.merge(base.read_bytes(), ours.read_bytes(), theirs.read_bytes(), path)
    if merged is None:
        # Not a file the semantic merge takes apart: git's line merge, markers and all.
        if gitrepo.merge_file(ours, base, theirs, ("ours", "base", "theirs")):
            return ExitCode.OK
        console.problem(f"{path}: conflict (merged as text: not a file directus-gitops takes apart)")
        return ExitCode.ERROR  # git reads any exit but 0 as a conflict
    ours.write_bytes(merged.data)
    for conflict in merged.conflicts:
        console.problem(f"{path}: conflict at {conflict}")
    for problem in merged.problems:
        console.problem(f"{path}: conflict: the merged file has a problem neither side had: {problem}")
    return ExitCode.OK if merged.clean else ExitCode.ERROR


def register(config: Config, console: Console) -> int:
    """Register the driver in this clone (git never copies a repository's configuration)."""
    try:
        repo = gitrepo.Repo(config.schema_dir if config.schema_dir.is_dir() else config.root)
    except GitError:
        raise GitError(
            f"{config.root} is not inside a git repository", hint=f"run `git init`, then `{REGISTER_COMMAND}`"
        ) from None
    done = merge.register(repo, repo.relpath(config.schema_dir))
    for what in done:
        console.info(what)
    if not done:
        console.info("the merge driver is already registered in this clone")
    return ExitCode.OK


def warn_unregistered(config: Config, console: Console) -> None:
    """Warn when .gitattributes sends files to the driver that this clone does not know: git
    would then merge them as text without saying so."""
    try:
        repo = gitrepo.Repo(config.root)
    except GitError:
        return
    if merge.attributes_name_driver(repo.root) and not merge.registered(repo):
        console.warn(
            f"{merge.ATTRIBUTES} names the {merge.DRIVER} merge driver, but this clone's git configuration "
            f"does not register it (git merges those files as text); run `{REGISTER_COMMAND}`"
        )
