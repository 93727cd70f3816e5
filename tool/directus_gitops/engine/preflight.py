"""Checks made before an apply, so that a push Directus would stop half-way is refused whole.

Directus 12 without a licence key allows 25 active collections; an apply that crosses the
limit stops with 403 LIMIT_EXCEEDED after part of it is done (and on MySQL/MariaDB nothing
rolls back). The server says its limit and current usage at ``GET /license``.

It also refuses permissions with custom rules (a field list, a filter, a validation or presets)
unless the licence has the ``custom_permission_rules_enabled`` entitlement: 403
RESOURCE_RESTRICTED, after the schema was applied. ``GET /license`` says whether it does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from directus_gitops.engine import translate
from directus_gitops.model.changes import Change, ChangeSet
from directus_gitops.model.kinds.change import ConfigChangeSet
from directus_gitops.server.client import RESTRICTED_PERMISSIONS_HINT

# Permissions named in the refusal; the rest are counted.
SHOWN_PERMISSIONS = 3


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


def custom_rules_allowed(licence: Mapping[str, Any] | None) -> bool:
    """Whether the licence lets permissions carry custom rules: yes unless it says no (older
    servers and licences that do not name the entitlement put no such restriction)."""
    entitlement = ((licence or {}).get("entitlements") or {}).get("custom_permission_rules_enabled")
    if not isinstance(entitlement, Mapping):
        return True
    override = entitlement.get("override")
    return bool(override if override is not None else entitlement.get("default", True))


def has_custom_rule(permission: Mapping[str, Any]) -> bool:
    """Whether Directus 12 counts ``permission`` (as sent) as one with custom rules: a field list
    other than all fields, or a non-empty filter, validation or presets; the app permissions
    Directus itself recommends excepted."""
    custom = "*" not in (permission.get("fields") or ()) or any(
        permission.get(key) for key in ("permissions", "validation", "presets")
    )
    return custom and not _recommended(permission)


def _recommended(permission: Mapping[str, Any]) -> bool:
    # Directus checks validation and presets for truth as JavaScript does: an empty object is true.
    if permission.get("validation") is not None or permission.get("presets") is not None:
        return False
    for rule in translate.recommended_permissions():
        if (rule.get("collection"), rule.get("action")) == (permission.get("collection"), permission.get("action")):
            return bool(
                rule.get("fields") == permission.get("fields")
                and rule.get("permissions") == permission.get("permissions")
            )
    return False


def restricted_permissions(changes: ConfigChangeSet | None) -> list[str]:
    """The permissions ``changes`` would create or change that carry custom rules."""
    return [
        change.name
        for change in changes or ()
        if change.kind == "permission" and change.action != "delete" and has_custom_rule(change.entry or {})
    ]


def permission_problem(
    read_licence: Callable[[], Mapping[str, Any] | None], changes: ConfigChangeSet | None, target: str
) -> str | None:
    """Why the target's licence would refuse permissions ``changes`` write, or None. The
    licence is read only when some permission has custom rules."""
    restricted = restricted_permissions(changes)
    if not restricted or custom_rules_allowed(read_licence()):
        return None
    more = len(restricted) - SHOWN_PERMISSIONS
    names = ", ".join(restricted[:SHOWN_PERMISSIONS]) + (f" and {more} more" if more > 0 else "")
    return (
        f"{len(restricted)} permission(s) with custom rules ({names}) are a restricted resource on '{target}': "
        "its licence lacks custom_permission_rules_enabled, so Directus would refuse them after the schema is applied"
    )


PERMISSION_HINT = RESTRICTED_PERMISSIONS_HINT
