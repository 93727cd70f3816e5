"""Output policy: results go to stdout, messages to stderr; colour only on a terminal."""

from __future__ import annotations

import os
import re
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TextIO

from directus_gitops.base.progress import Progress

# Control characters (all but tab and newline; C1 included) in what is printed: a server's
# text could otherwise clear the terminal, ring it, or rewrite a line. Shown as escapes.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_COLOUR = re.compile(r"(\x1b\[[0-9;]*m)")  # the results' own colours (SGR): nothing else


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str, *, colour: bool = False) -> str:
    """``text`` with every control character but tab and newline shown as an escape (with
    ``colour``, colour codes are kept)."""
    if not colour:
        return _CONTROL.sub(_escape, text)
    return "".join(part if index % 2 else _CONTROL.sub(_escape, part) for index, part in enumerate(_COLOUR.split(text)))


def one_line(text: str) -> str:
    """A server's text (a message, a name) fit to print in one line: newlines too are escapes,
    so that it cannot start a line of its own (a forged ``error:`` in a CI log)."""
    return _CONTROL.sub(_escape, text.replace("\r", "\\r").replace("\n", "\\n"))


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
        text = printable(text, colour=self.color)
        self.stdout.write(text if text.endswith("\n") else text + "\n")
        self.stdout.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            print(printable(message), file=self.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {printable(message)}", file=self.stderr, flush=True)

    def problem(self, text: str) -> None:
        """A finding (``path:line: message``): on stderr like every problem, even when quiet."""
        print(printable(text), file=self.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"error: {printable(message)}", file=self.stderr, flush=True)

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
