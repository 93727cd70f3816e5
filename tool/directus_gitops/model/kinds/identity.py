"""Identity across instances.

Items keep the UUID they have on the source: Directus accepts an ``id`` on create for
roles, policies, flows, operations, dashboards, panels and folders, so an item pushed twice
is found again by its id and a rename stays a rename. What every instance bootstraps for
itself has a different id everywhere and is matched by meaning instead:

- the **administrator policy** (11+): the policy with admin access that Directus created
  at bootstrap (its description is ``$t:admin_description``), else the only or first
  admin policy named "Administrator";
- the **administrator role**: the role Directus created at bootstrap linked to it (9.x/10.x:
  the bootstrap role with admin access);
- the **public policy** (11+): the policy linked through access to no role and no user;
- the **settings** singleton (it has no id in the files at all).

Permissions, access links, presets and translation strings have no id in the files: they
are matched by their natural key (policy or role + collection + action; role + policy;
role + collection + bookmark; language + key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directus_gitops.model.kinds.items import ADMINISTRATOR, POLICIES, PUBLIC, Item, State

BOOTSTRAP_DESCRIPTION = "$t:admin_description"


def _rank(item: Mapping[str, Any]) -> tuple[bool, bool, str]:
    return (item.get("description") != BOOTSTRAP_DESCRIPTION, item.get("name") != "Administrator", str(item["id"]))


def mark(state: State) -> None:
    """Mark the bootstrapped items of a state read from a server (``builtin: …``)."""
    roles: list[Item] = state.get("roles", [])
    if state.get("model") == POLICIES:
        policies: list[Item] = state.get("policies", [])
        admins = sorted((p for p in policies if p.get("admin_access")), key=_rank)
        for policy in policies:
            if policy.get("public"):
                policy["builtin"] = PUBLIC
        if admins:
            admins[0]["builtin"] = ADMINISTRATOR
            linked = sorted((r for r in roles if admins[0]["id"] in (r.get("policies") or [])), key=_rank)
            if linked:
                linked[0]["builtin"] = ADMINISTRATOR
    else:
        admins = sorted((r for r in roles if r.get("admin_access")), key=_rank)
        if admins:
            admins[0]["builtin"] = ADMINISTRATOR


# In the files, the bootstrapped items carry these ids instead of the instance's own, so that
# the files of two instances agree.
SYMBOLIC = {
    ("roles", ADMINISTRATOR): "admin-role",
    ("policies", ADMINISTRATOR): "admin-policy",
    ("policies", PUBLIC): "public-policy",
}


def symbolic(state: State) -> State:
    """``state`` with the bootstrapped items' ids replaced by their symbolic ids."""
    mapping = {
        item["id"]: SYMBOLIC[(group, item["builtin"])]
        for group in ("roles", "policies")
        for item in state.get(group, [])
        if (group, item.get("builtin")) in SYMBOLIC
    }
    renamed = rename(state, mapping)
    if "_access" in state:
        renamed["_access"] = {
            (mapping.get(role, role), mapping.get(policy, policy)): ident
            for (role, policy), ident in state["_access"].items()
        }
    return renamed


def id_map(desired: State, current: State) -> dict[str, str]:
    """Desired id → current id for the bootstrapped items whose ids differ."""
    mapping: dict[str, str] = {}
    for group in ("roles", "policies"):
        wanted = {item.get("builtin"): item["id"] for item in desired.get(group, []) if item.get("builtin")}
        have = {item.get("builtin"): item["id"] for item in current.get(group, []) if item.get("builtin")}
        for meaning, desired_id in wanted.items():
            current_id = have.get(meaning)
            if current_id is not None and current_id != desired_id:
                mapping[desired_id] = current_id
    return mapping


def rename(state: State, mapping: Mapping[str, str]) -> State:
    """``state`` with role and policy ids replaced through ``mapping``, references included."""
    if not mapping:
        return state

    def swap(value: Any) -> Any:
        return mapping.get(value, value) if isinstance(value, str) else value

    result = dict(state)
    result["roles"] = [
        {
            **role,
            "id": swap(role["id"]),
            **({"parent": swap(role["parent"])} if "parent" in role else {}),
            **({"policies": [swap(p) for p in role["policies"]]} if "policies" in role else {}),
        }
        for role in state.get("roles", [])
    ]
    if "policies" in state:
        result["policies"] = [{**policy, "id": swap(policy["id"])} for policy in state["policies"]]
    if "presets" in state:
        result["presets"] = [{**preset, "role": swap(preset.get("role"))} for preset in state["presets"]]
    if "users" in state:
        result["users"] = [
            {
                **user,
                "role": swap(user.get("role")),
                **({"policies": [swap(p) for p in user["policies"]]} if "policies" in user else {}),
                **({"_access": {swap(p): ident for p, ident in user["_access"].items()}} if "_access" in user else {}),
            }
            for user in state["users"]
        ]
    settings = state.get("settings")
    if isinstance(settings, dict) and "public_registration_role" in settings:
        result["settings"] = {**settings, "public_registration_role": swap(settings["public_registration_role"])}
    if "roles" not in state:
        result.pop("roles")
    return result
