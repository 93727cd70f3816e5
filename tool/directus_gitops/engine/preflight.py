"""Checks made before an apply, so that a push Directus would stop half-way is refused whole.

Directus 12 without a licence key allows 25 active collections; an apply that crosses the
limit stops with 403 LIMIT_EXCEEDED after part of it is done (and on MySQL/MariaDB nothing
rolls back). The server says its limit and current usage at ``GET /license``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from directus_gitops.model.changes import Change, ChangeSet


def _counts(entry: Mapping[str, Any] | None) -> bool:
    """Whether a collection counts against the limit: a table Directus manages, not inactive."""
    if not entry or entry.get("schema") is None or entry.get("meta") is None:
        return False
    return bool((entry.get("meta") or {}).get("status", "active") != "inactive")


def _status_change(change: Change) -> int:
    for prop in change.properties:
        if prop.path == "meta.status":
            return int(prop.new == "active") - int(prop.old == "active")
    return 0


def collection_limit(licence: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """The hard limit on active collections and the current usage, when the server has one."""
    if not licence:
        return None
    entitlement = (licence.get("entitlements") or {}).get("collections") or {}
    usage = (licence.get("usage") or {}).get("collections")
    parts = [entitlement.get(key) for key in ("limit", "overage", "addon")]
    if not isinstance(parts[0], int) or not isinstance(usage, int) or -1 in parts:
        return None
    return sum(part for part in parts if isinstance(part, int)), usage


def adds_active(changes: ChangeSet) -> bool:
    """Whether ``changes`` create or activate a collection that counts against the limit: only
    then can an apply cross it (a target already over its limit still takes any other change)."""
    for change in changes:
        if change.kind != "collection":
            continue
        if change.action == "create" and _counts(change.entry):
            return True
        if change.action == "update" and _status_change(change) > 0:
            return True
    return False


def licence_problem(
    read_licence: Callable[[], Mapping[str, Any] | None], changes: ChangeSet, target: str
) -> str | None:
    """Why applying ``changes`` would cross the target's collection limit, or None. The
    licence is read (``read_licence``) only for changes that could cross it."""
    if not adds_active(changes):
        return None
    limit = collection_limit(read_licence())
    if limit is None:
        return None
    hard, usage = limit
    after = usage
    for change in changes:
        if change.kind != "collection":
            continue
        if change.action == "create":
            after += _counts(change.entry)
        elif change.action == "delete":
            after -= _counts(change.entry)
        else:
            after += _status_change(change)
    if after <= hard:
        return None
    return (
        f"the push would leave {after} active collections on '{target}' (now {usage}), over its licence "
        f"limit of {hard}: Directus would stop the apply part-way"
    )


LICENCE_HINT = (
    "add a licence key to the target, or mark collections the project does not use as inactive "
    "(meta.status: inactive) in the schema"
)
