"""A Directus project's state is one value: its data model and the configuration kinds it
syncs. What two states differ by is one change set across kinds; this module says it in one
line wherever a command does (pull's commit message, status, log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from directus_gitops.model.changes import ChangeSet
    from directus_gitops.model.kinds.change import ConfigChangeSet


def summary(schema: ChangeSet, config: ConfigChangeSet | None) -> str:
    """``+1 field; configuration: +1 permission``, or the one that changed, or ``no changes``."""
    if not config:
        return schema.summary()
    return f"{schema.summary()}; configuration: {config.summary()}" if schema else f"configuration: {config.summary()}"
