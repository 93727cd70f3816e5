"""The output formats commands offer: names only, so the command line can list them without
loading the formatters (render.py) that a command may never need."""

from __future__ import annotations

from typing import Literal

Format = Literal["text", "markdown", "json", "mermaid"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "json")
# diff and plan can also print the Mermaid diagram of the change alone.
DIAGRAM_FORMATS: tuple[Format, ...] = (*FORMATS, "mermaid")
# Every JSON document the tool writes (plans, reports, saved plans) says this, as a string.
JSON_FORMAT_VERSION = "1"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 field``, ``2 fields``, ``2 policies``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
