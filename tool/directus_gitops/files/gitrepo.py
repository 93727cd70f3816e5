"""The one git module: reading committed schema trees, committing pulls, walking history.

Reading a committed tree (what ``diff`` and ``plan`` do) runs the git command directly: a
``rev-parse`` and an ``ls-tree`` per revision (two revisions at once with :meth:`Repo.prepare`)
and, when files are read, one ``cat-file --batch-check`` and one ``cat-file --batch``. GitPython, which
costs more to import than a whole offline diff should take, is imported only by the commands
that commit, walk history or ask for branches.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directus_gitops.base.errors import GitError
from directus_gitops.files import store

_SYMLINK = 0o120000


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    short: str
    date: str  # ISO 8601, committer date
    subject: str
    parent: str | None


NOT_COMMITTED = "0" * 40  # what git blame says of a line only the working tree has


@dataclass(frozen=True)
class Blamed:
    """One line of a file and the commit that last changed it (with that commit's time)."""

    commit: str
    time: int
    text: str


@dataclass(frozen=True)
class Revision:
    """A commit as the tree readers name it."""

    hexsha: str


_ENV = {**os.environ, "GIT_LITERAL_PATHSPECS": "1", "LC_ALL": "C"}


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _run(root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True, check=False, env=_ENV)
    except OSError as exc:  # no git binary, or no such folder
        raise GitError(f"git is not available: {exc}") from None


def merge_file(ours: Path, base: Path, theirs: Path, labels: tuple[str, str, str]) -> bool:
    """Git's own line merge of three files into ``ours`` (markers where lines conflict), for
    files the semantic merge does not take apart; whether it was clean."""
    args = ["merge-file", "-L", labels[0], "-L", labels[1], "-L", labels[2], "--", str(ours), str(base), str(theirs)]
    found = _run(ours.parent, *args)
    # The number of conflicts (up to 127), or a negative number (255 here) when git failed.
    if found.returncode > 127:
        raise GitError(f"git merge-file failed: {found.stderr.decode('utf-8', 'replace').strip()}")
    return found.returncode == 0


class Repo:
    def __init__(self, path: Path) -> None:
        try:
            found = _run(path, "rev-parse", "--is-bare-repository", "--show-toplevel", "--absolute-git-dir")
        except GitError:
            if path.is_dir():
                raise
            raise GitError(f"{path} is not inside a git repository") from None
        lines = found.stdout.decode("utf-8", "surrogateescape").splitlines()
        if lines[:1] == ["true"]:
            raise GitError(f"{path} is a bare repository")
        if found.returncode != 0 or len(lines) < 3:
            raise GitError(f"{path} is not inside a git repository")
        self.root = Path(lines[1]).resolve()
        self.git_dir = Path(lines[2])
        self._repo: Any = None
        self._git: Any = None
        self._revisions: dict[str, Revision] = {}  # asked once per process: an argument is looked up twice
        self._listings: dict[tuple[str, str], tuple[int, bytes, bytes]] = {}  # from prepare()

    @property
    def repo(self) -> Any:
        """GitPython's repository, opened on first use."""
        if self._repo is None:
            import git

            self._git = git
            self._repo = git.Repo(self.root)
        return self._repo

    def relpath(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            raise GitError(f"{path} is outside the git repository at {self.root}") from None

    def resolve(self, rev: str) -> Any:
        try:
            return self.repo.commit(rev)
        except (self._git.BadName, ValueError, self._git.GitCommandError):
            raise self._unknown(rev) from None

    def _unknown(self, rev: str) -> GitError:
        if not self.has_commits():  # a new repository: nothing was committed yet
            return GitError(
                "the repository has no commits yet",
                hint="pull from your development server and commit it: directus-gitops pull --commit",
            )
        return GitError(f"unknown git revision '{rev}'")

    def revision(self, rev: str) -> Revision:
        """The commit ``rev`` names, without GitPython (what ``resolve`` accepts, as cheaply)."""
        known = self._revisions.get(rev)
        if known is not None:
            return known
        found = _run(self.root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
        sha = found.stdout.decode("ascii", "replace").strip()
        if found.returncode != 0 or not sha or rev.startswith("-"):
            raise self._unknown(rev)
        self._revisions[rev] = Revision(sha)
        return self._revisions[rev]

    def changed_paths(self, old: str, new: str, folder: str) -> set[str]:
        """The files under ``folder`` that differ between two commits."""
        out = self.repo.git.diff("--name-only", "--no-renames", old, new, "--", folder)
        return {line for line in out.splitlines() if line}

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
        """False on an unborn branch (a new repository)."""
        return _run(self.root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").returncode == 0

    def tree_reader(self, rev: str, folder: str) -> tuple[Revision, Any]:
        """The commit for ``rev`` and a reader of files below ``folder`` at that commit."""
        commit, tree = self.schema_tree(rev, folder)
        if tree is None:
            raise GitError(
                f"revision '{rev}' ({commit.hexsha[:10]}) has no {folder}/",
                hint="pull from your development server and commit it: directus-gitops pull --commit",
            )
        return commit, tree.read

    def prepare(self, revs: list[str], folder: str) -> None:
        """Resolve ``revs`` in one ``rev-parse`` and list ``folder`` at each at once, for the
        :meth:`schema_tree` calls that follow (a diff of two commits waits for one git
        process at a time otherwise). Anything that goes wrong is left to those calls."""
        wanted = [rev for rev in dict.fromkeys(revs) if rev not in self._revisions]
        if wanted and all(rev and not rev.startswith("-") and "\n" not in rev for rev in wanted):
            found = _run(self.root, "rev-parse", *(f"{rev}^{{commit}}" for rev in wanted))  # no "-" first: no option
            shas = found.stdout.decode("ascii", "replace").split()
            if found.returncode == 0 and len(shas) == len(wanted) and all(_is_sha(sha) for sha in shas):
                self._revisions.update((rev, Revision(sha)) for rev, sha in zip(wanted, shas, strict=True))
        started = {
            sha: self._start_listing(sha, folder)
            for sha in dict.fromkeys(self._revisions[rev].hexsha for rev in revs if rev in self._revisions)
            if (sha, folder) not in self._listings
        }
        for sha, process in started.items():
            out, err = process.communicate()
            self._listings[(sha, folder)] = process.returncode, out, err

    def _start_listing(self, sha: str, folder: str) -> subprocess.Popen[bytes]:
        inside = folder not in ("", ".")
        args = ["ls-tree", "-r", "-z", "--full-tree", sha, *(["--", folder] if inside else [])]
        try:
            return subprocess.Popen(
                ["git", *args], cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_ENV
            )
        except OSError as exc:
            raise GitError(f"git is not available: {exc}") from None

    def _listing(self, sha: str, folder: str) -> tuple[int, bytes, bytes]:
        known = self._listings.pop((sha, folder), None)
        if known is not None:
            return known
        process = self._start_listing(sha, folder)
        out, err = process.communicate()
        return process.returncode, out, err

    def schema_tree(self, rev: str, folder: str) -> tuple[Revision, store.Tree | None]:
        """The commit for ``rev`` and ``folder`` at that commit (None when it has none).

        Files are listed once, with their blob ids, so comparing two commits compares ids
        first; the first file read asks every blob's size and then fetches every blob of the
        folder (each under the size limit) in one ``cat-file``.
        """
        commit = self.revision(rev)
        inside = folder not in ("", ".")
        code, listed, errors = self._listing(commit.hexsha, folder)
        if code != 0:
            message = errors.decode("utf-8", "replace").strip()
            raise GitError(f"revision '{rev}': cannot list {folder or 'the tree'} ({message})")
        prefix = folder.rstrip("/") + "/" if inside else ""
        ids: dict[str, str] = {}
        names: list[str] = []
        content = hashlib.sha256()  # every file's path, mode and blob id: the folder's key
        for record in listed.split(b"\0"):
            if not record:
                continue
            info, _, raw = record.partition(b"\t")
            mode, kind, sha = info.decode("ascii").split()
            path = raw.decode("utf-8", "surrogateescape")
            if inside and path == folder.rstrip("/"):
                raise GitError(f"revision '{rev}': {folder} is not a folder")
            if kind != "blob" or not path.startswith(prefix):
                continue
            relpath = path[len(prefix) :]
            names.append(relpath)
            content.update(b"%s\0%s\0%s\0" % (relpath.encode("utf-8", "surrogateescape"), mode.encode(), sha.encode()))
            if int(mode, 8) != _SYMLINK:  # never follow a link (but list it, so the validation can say why)
                ids[relpath] = sha
        if not names:
            return commit, None
        names.sort()
        sizes: dict[str, int] = {}
        fetched: dict[str, bytes] = {}
        # Collection files are read once per tree (the bulk of a large model): their bytes are
        # let go when handed out, so they are not held beside the model parsed from them; one
        # asked again is fetched again, alone.
        released: set[str] = set()
        declared = False  # whether the reader said which files it reads (``prefetch``)

        def batch(option: str, wanted: list[str]) -> list[tuple[str, int, bytes]]:
            """``cat-file`` for ``wanted``: each blob's id, size and (with --batch) bytes."""
            out = _run(self.root, "cat-file", option, stdin="".join(f"{sha}\n" for sha in wanted).encode())
            if out.returncode != 0:
                raise GitError(f"revision '{rev}': cannot read {folder}: {out.stderr.decode('utf-8', 'replace')}")
            data, at, found = out.stdout, 0, []
            for sha in wanted:
                end = data.index(b"\n", at)
                header = data[at:end].split()
                if len(header) != 3 or header[0].decode() != sha:
                    raise GitError(f"revision '{rev}': git could not read blob {sha}")
                size = int(header[2])
                if option == "--batch":
                    found.append((sha, size, data[end + 1 : end + 1 + size]))
                    at = end + 2 + size
                else:
                    found.append((sha, size, b""))
                    at = end + 1
            return found

        def fetch(wanted: list[str]) -> None:
            """Sizes, then the bytes of each blob under the size limit, for ``wanted``."""
            unsized = sorted(set(wanted) - set(sizes))
            if unsized:
                sizes.update((blob, size) for blob, size, _ in batch("--batch-check", unsized))
            small = {blob for blob in wanted if sizes[blob] <= store.MAX_FILE_BYTES and blob not in fetched}
            if small:
                fetched.update((blob, data) for blob, _, data in batch("--batch", sorted(small)))

        def read(relpath: str) -> bytes | None:
            sha = ids.get(relpath)
            if sha is None:
                return None
            if sha not in sizes or (sha not in fetched and sizes[sha] <= store.MAX_FILE_BYTES):
                # The manifest alone when it is read first (a remembered folder needs no
                # more), or once the reader said what it reads; otherwise every blob of the
                # folder not fetched yet, at once.
                alone = (relpath == store.MANIFEST and not sizes) or declared or sha in released
                fetch(
                    [sha] if alone else [blob for blob in ids.values() if blob not in fetched and blob not in released]
                )
            store.check_size(sizes[sha], f"{rev}:{prefix}{relpath}")
            if relpath.startswith(store.COLLECTIONS_DIR + "/"):
                released.add(sha)
                return fetched.pop(sha)
            return fetched[sha]

        def prefetch(relpaths: list[str]) -> None:
            nonlocal declared
            declared = True
            fetch([ids[relpath] for relpath in relpaths if relpath in ids])

        def search(needles: list[str]) -> set[str]:
            """The files whose bytes hold any of ``needles`` (git reads the blobs; none is parsed)."""
            patterns = [arg for needle in needles for arg in ("-e", needle)]
            where = ["--", folder] if inside else []
            found = _run(
                self.root, "grep", "-l", "-z", "-F", "--no-color", "--no-textconv", *patterns, commit.hexsha, *where
            )
            if found.returncode not in (0, 1):  # 1: no file holds any
                raise GitError(f"revision '{rev}': cannot search {folder}: {found.stderr.decode('utf-8', 'replace')}")
            named = f"{commit.hexsha}:{prefix}"
            paths = (item.decode("utf-8", "surrogateescape") for item in found.stdout.split(b"\0"))
            return {path[len(named) :] for path in paths if path.startswith(named)}

        key = content.hexdigest()
        tree = store.Tree(
            read,
            f"{rev}:{folder}",
            ids.get,
            lambda: names,
            key=key,
            cache=self.git_dir,
            prefetch=prefetch,
            search=search,
        )
        return commit, tree

    def blame(self, path: str, rev: str | None, start: str) -> list[Blamed] | None:
        """Each line of ``path`` (relative to the repository) from the first one matching the
        regular expression ``start`` to the end, with the commit that last changed it, at
        ``rev`` (None: the file in the working tree, where a line not committed yet has
        :data:`NOT_COMMITTED`). One ``git blame``; None when no line matches or git cannot say
        (a path it does not know)."""
        found = _run(self.root, "blame", "--porcelain", "-L", f"/{start}/,", *([rev] if rev else []), "--", path)
        if found.returncode != 0:
            return None
        lines: list[Blamed] = []
        times: dict[str, int] = {}
        sha = ""
        for raw in found.stdout.decode("utf-8", "surrogateescape").splitlines():
            if raw.startswith("\t"):
                lines.append(Blamed(sha, times.get(sha, 0), raw[1:]))
            elif raw.startswith("committer-time "):
                times[sha] = int(raw.split()[1])
            elif _is_sha(raw.split(" ", 1)[0]):
                sha = raw.split(" ", 1)[0]
        return lines

    def config(self, key: str) -> str | None:
        """A value of this repository's git configuration (any level); None when unset."""
        found = _run(self.root, "config", "--get", key)
        return found.stdout.decode("utf-8", "replace").strip() if found.returncode == 0 else None

    def set_local_config(self, key: str, value: str) -> None:
        """Set ``key`` in this clone's own configuration (.git/config, which git never shares)."""
        found = _run(self.root, "config", "--local", key, value)
        if found.returncode != 0:
            raise GitError(f"git config {key} failed: {found.stderr.decode('utf-8', 'replace').strip()}")

    def dirty_paths(self, folder: str) -> list[str]:
        """Uncommitted changes (staged, unstaged, untracked) below ``folder``."""
        found = _run(self.root, "status", "--porcelain=v1", "--untracked-files=all", "--", folder)
        if found.returncode != 0:
            raise GitError(f"git status failed: {found.stderr.decode('utf-8', 'replace').strip()}")
        out = found.stdout.decode("utf-8", "surrogateescape")
        return [line[3:] for line in out.splitlines() if line.strip()]

    def commit_folder(self, folder: str, message: str) -> str | None:
        """Commit everything below ``folder`` (and only that); None when nothing changed."""
        self._revisions.clear()  # HEAD moves
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
            yield _info(commit)

    def commit_info(self, rev: str) -> CommitInfo:
        """One commit, as :meth:`history` lists them."""
        return _info(self.resolve(rev))

    def branch_tips(self) -> list[tuple[str, str]]:
        """(branch, commit) for every local branch and remote-tracking branch, local first."""
        tips = [(head.name, head.commit.hexsha) for head in self.repo.heads]
        for remote in self.repo.remotes:
            tips.extend((ref.name, ref.commit.hexsha) for ref in remote.refs if not ref.name.endswith("/HEAD"))
        return tips


def _info(commit: Any) -> CommitInfo:
    return CommitInfo(
        sha=commit.hexsha,
        short=commit.hexsha[:10],
        date=commit.committed_datetime.isoformat(),
        subject=commit.summary if isinstance(commit.summary, str) else commit.summary.decode(),
        parent=commit.parents[0].hexsha if commit.parents else None,
    )
