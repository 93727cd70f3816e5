"""The one exception hierarchy, and the one table of exit codes.

Every error a user can cause or meet derives from :class:`GitOpsError`; the CLI's error
boundary turns it into one line on stderr and its ``exit_code``. Messages never contain a
token: they name the environment variable that holds it instead.
"""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # success, or no changes
    ERROR = 1  # user or server error
    CHANGES = 2  # changes found (only with --exit-code)
    REFUSED = 3  # refused for safety: data loss, dirty tree, stale plan, no TTY and no --yes
    RESIDUE = 4  # push applied, but the target reads back differently from the snapshot
    PARTIAL = 5  # push failed part-way: part of the change reached the target
    INTERRUPTED = 130


class GitOpsError(Exception):
    """An error with a message fit for the user, and the exit code it maps to."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(GitOpsError):
    """The configuration file, the environment or a command-line value is wrong."""


class SnapshotError(GitOpsError):
    """A snapshot (ours or Directus's) cannot be read or has the wrong shape."""


class DocumentError(SnapshotError):
    """A file that is not valid text, YAML or JSON; ``check`` lists these by file and line."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class InvalidSnapshotError(SnapshotError):
    """A snapshot that ``check`` rejects: no command compares it or sends it anywhere."""

    SHOWN = 10  # problems listed in the message; ``check`` lists them all

    def __init__(self, source: str, problems: list[str]) -> None:
        # The first problem leads (file:line: message); the others follow, indented.
        shown = problems[: self.SHOWN] or [f"{source}: not a valid snapshot"]
        more = len(problems) - len(shown)
        super().__init__(
            "\n  ".join(shown + ([f"... and {more} more"] if more > 0 else [])),
            hint="`directus-gitops check` lists every problem; nothing was compared or sent",
        )
        self.source = source
        self.problems = problems


class FileSystemError(GitOpsError):
    """A file or folder cannot be read or written (permissions, a full disk, a read-only mount)."""


# OS errors a user causes and can fix: reported as one line naming the path, never as a bug.
FILESYSTEM_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def filesystem_error(
    exc: OSError, fallback: object, *, verb: str = "use", unchanged: bool = False
) -> FileSystemError | None:
    """The user error for ``exc`` when it is one of :data:`FILESYSTEM_REASONS`, else None."""
    reason = FILESYSTEM_REASONS.get(exc.errno or 0)
    if reason is None:
        return None
    where = exc.filename or fallback
    return FileSystemError(f"cannot {verb} {where}: {reason}" + ("; nothing was changed" if unchanged else ""))


class GitError(GitOpsError):
    """A git repository, revision or path is missing or unusable."""


class ResidueError(GitOpsError):
    """The apply went through, but the target still differs from what was pushed."""

    exit_code = ExitCode.RESIDUE


class PartialApplyError(GitOpsError):
    """The apply failed after part of the change had reached the target."""

    exit_code = ExitCode.PARTIAL


class ServerError(GitOpsError):
    """Directus could not be reached or answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        code: str | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.transient = transient  # the connection broke; the same read may well succeed again
        # What of the failing call reached the target before it failed (a call sent in several
        # requests, e.g. "52 of 150 rows"); None when nothing of it did.
        self.reached: str | None = None


class StaleHashError(ServerError):
    """The target's schema changed after the diff was computed; nothing was applied."""

    exit_code = ExitCode.REFUSED


class PayloadTooLargeError(ServerError):
    """A JSON body over the target's MAX_PAYLOAD_SIZE, refused whole before the endpoint ran."""


class RefusedError(GitOpsError):
    """The tool refuses to go on for safety; nothing was changed."""

    exit_code = ExitCode.REFUSED
