"""The one git module: reading committed schema trees, committing pulls, walking history.

GitPython is imported on first use so commands that never touch git start fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directus_gitops import store
from directus_gitops.errors import GitError

_SYMLINK = 0o120000


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    short: str
    date: str  # ISO 8601, committer date
    subject: str
    parent: str | None


class Repo:
    def __init__(self, path: Path) -> None:
        try:
            import git
        except ImportError as exc:  # pragma: no cover - git binary missing
            raise GitError(f"git is not available: {exc}") from None
        self._git = git
        try:
            self.repo: Any = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(f"{path} is not inside a git repository") from None
        if self.repo.bare:
            raise GitError(f"{path} is a bare repository")
        self.root = Path(str(self.repo.working_tree_dir)).resolve()

    def relpath(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            raise GitError(f"{path} is outside the git repository at {self.root}") from None

    def resolve(self, rev: str) -> Any:
        try:
            return self.repo.commit(rev)
        except (self._git.BadName, ValueError, self._git.GitCommandError):
            raise GitError(f"unknown git revision '{rev}'") from None

    def merge_base(self, left: str, right: str) -> str:
        """The commit ``right`` branched from ``left`` at (their best common ancestor)."""
        a, b = self.resolve(left or "HEAD"), self.resolve(right or "HEAD")
        try:
            found: str = self.repo.git.merge_base(a.hexsha, b.hexsha).strip()
        except self._git.GitCommandError:
            found = ""
        if not found:
            raise GitError(
                f"'{left}' and '{right}' have no common ancestor here",
                hint="a shallow clone may lack it: fetch the whole history (e.g. fetch-depth: 0)",
            )
        return found

    def default_branch(self) -> str | None:
        """The branch deployments come from: the remote's default (origin/HEAD) when known,
        else the branch checked out here (even one with no commits yet)."""
        for ref, prefix in (("refs/remotes/origin/HEAD", "origin/"), ("HEAD", "")):
            try:
                name: str = self.repo.git.symbolic_ref("--quiet", "--short", ref).strip()
            except self._git.GitCommandError:
                continue
            if name.startswith(prefix) and name[len(prefix) :]:
                return name[len(prefix) :]
        return None

    def has_commits(self) -> bool:
        try:
            self.repo.head.commit  # noqa: B018 - raises on an unborn branch
        except ValueError:
            return False
        return True

    def tree_reader(self, rev: str, folder: str) -> tuple[Any, Any]:
        """The commit for ``rev`` and a reader of files below ``folder`` at that commit."""
        commit, tree = self.schema_tree(rev, folder)
        if tree is None:
            raise GitError(f"revision '{rev}' ({commit.hexsha[:10]}) has no {folder}/")
        return commit, tree.read

    def schema_tree(self, rev: str, folder: str) -> tuple[Any, store.Tree | None]:
        """The commit for ``rev`` and ``folder`` at that commit (None when it has none).

        Files are listed once, with their blob ids, so comparing two commits reads only the
        files that differ.
        """
        commit = self.resolve(rev)
        try:
            tree = commit.tree / folder if folder not in ("", ".") else commit.tree
        except KeyError:
            return commit, None
        if tree.type != "tree":
            raise GitError(f"revision '{rev}': {folder} is not a folder")
        skip = len(tree.path) + 1 if tree.path else 0
        every = [item for item in tree.traverse() if item.type == "blob"]
        # never follow a link (but list it, so the validation can say why it is not read)
        blobs = {item.path[skip:]: item for item in every if item.mode != _SYMLINK}
        names = sorted(item.path[skip:] for item in every)

        def read(relpath: str) -> bytes | None:
            blob = blobs.get(relpath)
            if blob is None:
                return None
            store.check_size(int(blob.size), f"{rev}:{blob.path}")
            data: bytes = blob.data_stream.read()
            return data

        def file_id(relpath: str) -> str | None:
            blob = blobs.get(relpath)
            return None if blob is None else str(blob.hexsha)

        return commit, store.Tree(read, f"{rev}:{folder}", file_id, lambda: names)

    def dirty_paths(self, folder: str) -> list[str]:
        """Uncommitted changes (staged, unstaged, untracked) below ``folder``."""
        out: str = self.repo.git.status("--porcelain=v1", "--untracked-files=all", "--", folder)
        return [line[3:] for line in out.splitlines() if line.strip()]

    def commit_folder(self, folder: str, message: str) -> str | None:
        """Commit everything below ``folder`` (and only that); None when nothing changed."""
        self.repo.git.add("--all", "--", folder)
        staged: str = self.repo.git.diff("--cached", "--name-only", "--", folder)
        if not staged.strip():
            return None
        try:
            self.repo.git.commit("--quiet", "-m", message, "--", folder)
        except self._git.GitCommandError as exc:
            raise GitError(f"git commit failed: {str(exc.stderr).strip() or exc}") from None
        sha: str = self.repo.head.commit.hexsha
        return sha

    def history(self, folder: str, rev: str = "HEAD", limit: int | None = None) -> Iterator[CommitInfo]:
        """Commits that touched ``folder``, newest first."""
        if not self.has_commits():
            return
        left, dots, right = rev.partition("...")
        if dots:  # the commits on right since it branched from left
            rev = f"{self.merge_base(left, right)}..{self.resolve(right or 'HEAD').hexsha}"
        else:
            self.resolve(rev)
        kwargs: dict[str, Any] = {"paths": folder}
        if limit is not None:
            kwargs["max_count"] = limit
        for commit in self.repo.iter_commits(rev, **kwargs):
            yield CommitInfo(
                sha=commit.hexsha,
                short=commit.hexsha[:10],
                date=commit.committed_datetime.isoformat(),
                subject=commit.summary if isinstance(commit.summary, str) else commit.summary.decode(),
                parent=commit.parents[0].hexsha if commit.parents else None,
            )
