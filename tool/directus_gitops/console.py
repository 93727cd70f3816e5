"""Output policy: results go to stdout, messages to stderr; colour only on a terminal."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TextIO

from directus_gitops.progress import Progress


class Console:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.quiet = quiet

    @staticmethod
    def _tty(stream: TextIO) -> bool:
        return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get(
            "NO_COLOR"
        )  # set and empty: colour stays (no-color.org)

    @property
    def color(self) -> bool:
        """Whether results on stdout may carry colour."""
        return self._tty(self.stdout)

    def result(self, text: str) -> None:
        self.stdout.write(text if text.endswith("\n") else text + "\n")
        self.stdout.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.stderr, flush=True)

    def problem(self, text: str) -> None:
        """A finding (``path:line: message``): on stderr like every problem, even when quiet."""
        print(text, file=self.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"error: {message}", file=self.stderr, flush=True)

    def progress(self, what: str) -> AbstractContextManager[None]:
        """Show on stderr that ``what`` is going on while the block runs (live on a terminal,
        a line every few seconds in a log); nothing with ``quiet``."""
        if self.quiet:
            return nullcontext()
        live = bool(getattr(self.stderr, "isatty", lambda: False)())
        return Progress(self.stderr, live=live).step(what)

    def confirm(self, question: str) -> bool:
        """Ask on stderr; only the word 'yes' agrees (as Terraform does)."""
        self.stderr.write(f"{question} Only 'yes' will be accepted: ")
        self.stderr.flush()
        try:
            answer = sys.stdin.readline()
        except (OSError, EOFError):
            return False
        return answer.strip().lower() == "yes"

    @property
    def interactive(self) -> bool:
        """Whether a person can answer a prompt."""
        return sys.stdin.isatty()


def display(path: Path) -> str:
    """A path as users should see it: relative to the current directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(path)
