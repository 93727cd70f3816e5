"""``rename``: rename a field or a collection in the schema folder so that every push keeps its values
(engine.rename)."""

from __future__ import annotations

from directus_gitops.base.console import Console, display
from directus_gitops.base.errors import ExitCode
from directus_gitops.engine import rename as renaming
from directus_gitops.model.config import Config


def run(config: Config, console: Console, *, old: str, new: str) -> int:
    done = renaming.rename_field(config, old, new)
    folder = display(config.schema_dir)
    console.info(f"Renamed {done.rename.label} in {folder}/ ({len(done.changed)} file(s) rewritten):")
    for path in done.changed:
        console.info(f"  {folder}/{path}")
    for warning in done.warnings:
        console.warn(warning)
    if done.rename.whole:
        console.info(
            "Review and commit the folder: diff and plan show the rename, and push creates the new collection, "
            "copies every row, checks them, moves the relations pointing at it and only then drops the old one."
        )
    else:
        console.info(
            "Review and commit the folder: diff and plan show the rename, and push creates the new field, "
            "copies every value, checks them and only then drops the old one."
        )
    return ExitCode.OK
