"""Access: roles, policies, the links between them, and the permissions they hold.

Two models, one per Directus generation (the state's ``model``): 11+ keeps permissions on
policies, linked to roles (and to the public, through a link to no role) by
``directus_access``; 9.x/10.x keep them on roles, ``role: null`` being the public role
(``config/public.yaml``). Files: ``config/roles/<name>.yaml`` (9.x/10.x: with its
permissions), ``config/policies/<name>.yaml`` with its permissions by collection then action.

This kind's section is part of a state: ``{"model", "roles", "policies", "public",
"_access"}`` (the access links' server ids). Roles and policies keep their ids; the
bootstrapped ones are matched by meaning (identity.py). Permissions and access links are
matched by their natural keys (holder + collection + action; role + policy). Other kinds
name roles (presets, users, a setting): :func:`names` shows them by name in their changes,
:func:`ignored_roles` takes their items with an ignored role, and the validation tells them
which roles are defined (``Context.defined``).

Push: policies, roles (parents first), access links; then (after users, who name roles)
permissions; removals after every other kind's but folders': permissions, links, roles
(children first), policies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from directus_gitops.base.formats import counted
from directus_gitops.model.changes import PropertyChange
from directus_gitops.model.kinds import identity
from directus_gitops.model.kinds.change import _NESTED, ConfigChange, _props, item_changes, item_id, item_name
from directus_gitops.model.kinds.items import (
    ADMINISTRATOR,
    FOLDER,
    POLICIES,
    PUBLIC,
    ROLES,
    Item,
    State,
    by_name,
    ignored,
    per_item,
    pick,
    written,
)
from directus_gitops.model.kinds.kind import ConfigKind, Context, Fetch, Finding, Location, Step, every
from directus_gitops.model.kinds.props import FLAG, ID, NAME, TEXT, Checks, Placed, Prop, body, by_id, label
from directus_gitops.model.kinds.rest import Endpoint, path
from directus_gitops.model.selection import Rules

ROLE_FIELDS_POLICIES = ("name", "icon", "description", "parent")
ROLE_FIELDS_ROLES = ("name", "icon", "description", "ip_access", "enforce_tfa", "admin_access", "app_access")
POLICY_FIELDS = ("name", "icon", "description", "ip_access", "enforce_tfa", "admin_access", "app_access")
PERMISSION_FIELDS = ("collection", "action", "permissions", "validation", "presets", "fields")
# @directus/constants PERMISSION_ACTIONS.
ACTIONS = ("create", "read", "update", "delete", "share")

ROLE_11 = {
    "id": ID,
    "builtin": Prop("text", choices=(ADMINISTRATOR,)),
    "name": NAME,
    "icon": Prop("text"),
    "description": TEXT,
    "parent": TEXT,
    "policies": Prop("strings"),
}
_ACCESS = {
    "ip_access": Prop("strings?"),
    "enforce_tfa": FLAG,
    "admin_access": FLAG,
    "app_access": FLAG,
    "permissions": Prop("items"),
}
ROLE_10 = {
    "id": ID,
    "builtin": Prop("text", choices=(ADMINISTRATOR,)),
    "name": NAME,
    "icon": Prop("text"),
    "description": TEXT,
    **_ACCESS,
}
POLICY = {
    "id": ID,
    "builtin": Prop("text", choices=(ADMINISTRATOR, PUBLIC)),
    "public": FLAG,
    "name": NAME,
    "icon": Prop("text"),
    "description": TEXT,
    **_ACCESS,
}
PUBLIC_ROLE = {"permissions": Prop("items")}
PERMISSION = {
    "collection": Prop("id", required=True),
    "action": Prop("text", required=True, choices=ACTIONS),
    "permissions": Prop("object?"),
    "validation": Prop("object?"),
    "presets": Prop("object?"),
    "fields": Prop("strings?"),
}

_KEYS = ("roles", "policies", "public", "_access")  # the state's keys this kind holds
_POLICY = Endpoint("policy", "policies", POLICY_FIELDS)
# A permission's rules: Directus 12 decides from these whether it has custom rules.
_RULES = ("fields", "permissions", "validation", "presets")


def permission(raw: Mapping[str, Any]) -> Item:
    return pick(raw, PERMISSION_FIELDS)


def permission_key(item: Mapping[str, Any]) -> tuple[str, str]:  # (collection, action)
    return str(item.get("collection")), str(item.get("action"))


def sort_permissions(items: Iterable[Item]) -> list[Item]:
    return sorted(items, key=permission_key)


def names(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, str]:
    """The roles' and policies' names by id, as changes show them (of both states)."""
    return {
        item["id"]: item_name(item)
        for group in ("roles", "policies")
        for item in old.get(group, []) + new.get(group, [])
    }


def ignored_roles(state: Mapping[str, Any], rules: Rules) -> set[Any]:
    """The ids of the roles of ``state`` that ``rules`` leave out."""
    return ignored("role", state["roles"], "name", rules)[2] if "roles" in state else set()


class Access(ConfigKind):
    group = "access"
    nouns = ("policy", "role", "access", "permission")
    files = ("role", "policy", "public")

    def section(self, state: Mapping[str, Any]) -> Any:
        if not any(key in state for key in ("roles", "policies", "public")):
            return None
        return {"model": state.get("model", POLICIES), **{key: state[key] for key in _KEYS if key in state}}

    def place(self, state: dict[str, Any], section: Any) -> None:
        state.update((key, item) for key, item in section.items() if key != "model")

    # ----------------------------------------------------------------- reading a server

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> State:
        section: State = {"model": (context or Context()).model}
        if section["model"] == POLICIES:
            _read_policies(fetch, section)
        else:
            _read_roles(fetch, section)
        identity.mark(section)
        return section

    # ----------------------------------------------------------------- canonical form

    def canonical(self, section: Any) -> Any:
        result: State = {"model": section.get("model", POLICIES)}
        if "_access" in section:
            result["_access"] = section["_access"]
        for group in ("roles", "policies"):
            if group in section:
                result[group] = by_name(section[group])
        for policy in result.get("policies", []):
            policy["permissions"] = sort_permissions(policy.get("permissions") or [])
        if result["model"] == ROLES:
            for role in result.get("roles", []):
                role["permissions"] = sort_permissions(role.get("permissions") or [])
            if "public" in section:
                result["public"] = {"permissions": sort_permissions(section["public"].get("permissions") or [])}
        for role in result.get("roles", []):
            if "policies" in role:
                role["policies"] = sorted(role["policies"])
        return result

    def documents(self, section: Any) -> dict[str, Any]:
        result = {
            **per_item("roles", "role", section.get("roles", [])),
            **per_item("policies", "policy", section.get("policies", [])),
        }
        if section.get("model") == ROLES and "public" in section:
            result[f"{FOLDER}/public.yaml"] = {"kind": "public", **written(section["public"])}
        return result

    def build(self, documents: Mapping[str, Any], context: Context | None = None) -> Any:
        entry = (context or Context()).entry
        kind_model = entry.get("model", POLICIES)
        section: State = {"model": kind_model}
        for document in documents.values():
            content = body(document)
            if document["kind"] == "public":
                section["public"] = {"permissions": content.get("permissions") or []}
            else:
                section.setdefault("roles" if document["kind"] == "role" else "policies", []).append(content)
        if "roles" in section or "policies" in section or "access" in (entry.get("groups") or []):
            section.setdefault("roles", [])
            if kind_model == POLICIES:
                section.setdefault("policies", [])
        return section

    # ----------------------------------------------------------------- validation

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        roles: list[Placed] = []
        policies: list[Placed] = []
        public: list[Placed] = []
        holders: list[tuple[str, list[Placed]]] = []  # (its label, its permissions)
        for relpath, document in documents.items():
            content = body(document)
            kind = document["kind"]
            if kind == "public":
                if check.kind_model != ROLES:
                    check.add(relpath, ("kind",), "the public role's file belongs to the 9.x/10.x access model only")
                    continue
                if check.props(relpath, (), content, PUBLIC_ROLE, "public"):
                    placed = Placed(relpath, (), content)
                    public.append(placed)
                    holders.append(("public", _permissions_checked(check, placed, "public")))
                continue
            if kind == "policy" and check.kind_model == ROLES:
                message = "policies belong to the 11+ access model; this folder's config model is 'roles'"
                check.add(relpath, ("kind",), message)
                continue
            table = POLICY if kind == "policy" else ROLE_10 if check.kind_model == ROLES else ROLE_11
            what = f"{kind} {label(content)}"
            if not check.props(relpath, (), content, table, what):
                continue  # without an id nothing else can refer to it
            placed = Placed(relpath, (), content)
            (roles if kind == "role" else policies).append(placed)
            if "permissions" in table:
                holders.append((what, _permissions_checked(check, placed, what)))
        if complete:
            check.unique(roles, by_id, "role id {}", ("id",))
            check.unique(policies, by_id, "policy id {}", ("id",))
            for group, noun in ((roles, "role"), (policies, "policy")):
                admins = [p for p in group if p.item.get("builtin") == ADMINISTRATOR]
                check.unique(admins, _builtin, f"the {{}} {noun}", ("builtin",))
            for placed in public[1:]:
                message = f"the public role's permissions: defined again (also in {public[0].relpath})"
                check.add(placed.relpath, placed.at, message)
            for what, permissions in holders:
                check.unique(permissions, permission_key, f"{what}: the permission (collection, action) {{}}", ())
                for placed in permissions:
                    check.collection(placed, f"{what}: permission {_permission_label(placed.item)}")
            _references(check, roles, policies)
        return check.found

    # ----------------------------------------------------------------- comparing

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        if "roles" not in new:
            return []
        context = context or Context()
        old = old or {}
        shown = names(context.old, context.new)
        changes: list[ConfigChange] = []
        if "policies" in new:
            changes.extend(item_changes("policy", old.get("policies", []), new["policies"], item_id, item_name))
        policy_names = {item["id"]: item_name(item) for item in old.get("policies", []) + new.get("policies", [])}
        changes.extend(
            _named_policies(change, policy_names)
            for change in item_changes("role", old.get("roles", []), new["roles"], item_id, item_name)
        )
        changes.extend(_access(old, new, shown))
        changes.extend(_permissions(old, new, shown))
        return changes

    # ----------------------------------------------------------------- applying

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        desired, current = desired or {}, current or {}
        roles_model = desired.get("model") == ROLES
        role = Endpoint("role", "roles", ROLE_FIELDS_ROLES if roles_model else ROLE_FIELDS_POLICIES, nested=True)
        holder = "role" if roles_model else "policy"
        permission = Endpoint(
            "permission", "permissions", PERMISSION_FIELDS, server_id=True, holder=holder, whole=_RULES
        )
        out = [
            *_POLICY.writes(changes, desired.get("policies", [])),
            *role.writes(changes, desired.get("roles", [])),
        ]
        ours = [c for c in changes if c.kind == "access" and c.parent is None]  # (users' links: users.py)
        for change in ours:
            if change.action == "create":
                out.append(
                    Step(f"+ {change.label}", "POST", "/access", {"role": change.key[0], "policy": change.key[1]})
                )
        # (users, which name roles, come between: registry.STAGES)
        out.extend(permission.writes(changes, [], "permissions"))
        out.extend(permission.removals(changes, [], "-access"))
        access_ids: Mapping[tuple[Any, Any], str] = current.get("_access", {})
        for change in ours:
            if change.action == "delete":
                ident = access_ids.get((change.key[0], change.key[1]))
                if ident is not None:
                    out.append(Step(f"- {change.label}", "DELETE", path("access", ident), stage="-access"))
        out.extend(role.removals(changes, current.get("roles", []), "-access"))
        out.extend(_POLICY.removals(changes, current.get("policies", []), "-access"))
        return out

    # ----------------------------------------------------------------- the rest

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        result = dict(section)
        left_out: list[str] = []
        gone: dict[str, set[Any]] = {"roles": set(), "policies": set()}
        for kind, group in (("role", "roles"), ("policy", "policies")):
            if group in result:
                result[group], dropped, gone[group] = ignored(kind, result[group], "name", rules)
                left_out.extend(dropped)
        roles, policies = gone["roles"], gone["policies"]
        for role in result.get("roles", []):
            if "policies" in role and policies:
                role["policies"] = [p for p in role["policies"] if p not in policies]
        if "_access" in result and (roles or policies):
            result["_access"] = {
                pair: ident
                for pair, ident in result["_access"].items()
                if pair[0] not in roles and pair[1] not in policies
            }
        return result, left_out

    def count(self, section: Any) -> str:
        parts = [
            counted(len(section[group]), noun, group)
            for group, noun in (("roles", "role"), ("policies", "policy"))
            if group in section
        ]
        return ", ".join(parts)


ACCESS = Access()


# --------------------------------------------------------------------------- reading, in detail


def _real_permissions(fetch: Fetch) -> list[dict[str, Any]]:
    # Admins also get the app's minimal permissions, marked `system` and without an id.
    return [p for p in every(fetch, "/permissions") if p.get("id") is not None and not p.get("system")]


def _read_policies(fetch: Fetch, state: State) -> None:
    access = every(fetch, "/access")
    links = [a for a in access if a.get("user") is None]
    permissions = _real_permissions(fetch)
    state["roles"] = []
    for raw in every(fetch, "/roles"):
        role: Item = {"id": raw["id"], **pick(raw, ROLE_FIELDS_POLICIES)}
        role["policies"] = [a["policy"] for a in links if a.get("role") == raw["id"]]
        state["roles"].append(role)
    state["policies"] = []
    for raw in every(fetch, "/policies"):
        policy: Item = {"id": raw["id"], **pick(raw, POLICY_FIELDS)}
        if any(a.get("role") is None and a.get("policy") == raw["id"] for a in links):
            policy["public"] = True
        policy["permissions"] = [{**permission(p), "_id": p["id"]} for p in permissions if p.get("policy") == raw["id"]]
        state["policies"].append(policy)
    state["_access"] = {(a.get("role"), a["policy"]): a["id"] for a in links}


def _read_roles(fetch: Fetch, state: State) -> None:
    permissions = _real_permissions(fetch)
    state["roles"] = []
    for raw in every(fetch, "/roles"):
        role: Item = {"id": raw["id"], **pick(raw, ROLE_FIELDS_ROLES)}
        role["permissions"] = [{**permission(p), "_id": p["id"]} for p in permissions if p.get("role") == raw["id"]]
        state["roles"].append(role)
    state["public"] = {"permissions": [{**permission(p), "_id": p["id"]} for p in permissions if p.get("role") is None]}


# --------------------------------------------------------------------------- validation, in detail


def _permissions_checked(check: Checks, holder: Placed, what: str) -> list[Placed]:
    found: list[Placed] = []
    items = holder.item.get("permissions")
    if isinstance(items, list):
        for index, item in enumerate(items):
            at: Location = (*holder.at, "permissions", index)
            if check.props(holder.relpath, at, item, PERMISSION, f"{what}: permission {_permission_label(item)}"):
                found.append(Placed(holder.relpath, at, item))
    return found


def _references(check: Checks, roles: list[Placed], policies: list[Placed]) -> None:
    """A role's policies and parent; then what the other kinds may name (Context.defined)."""
    synced = "access" in check.groups or bool(roles or policies)
    defined = {p.item["id"] for p in roles} | check.ignored["roles"]
    known = {p.item["id"] for p in policies}
    for holder in roles:
        listed = holder.item.get("policies")
        if isinstance(listed, list):
            seen: set[str] = set()
            for index, policy in enumerate(listed):
                if not isinstance(policy, str):
                    continue  # (reported with the role's own checks)
                where: Location = (*holder.at, "policies", index)
                what = f"role {label(holder.item)}"
                if policy not in known:
                    check.add(holder.relpath, where, f"{what}: policy {policy!r} is not defined")
                elif policy in seen:
                    check.add(holder.relpath, where, f"{what}: lists policy {policy!r} twice")
                seen.add(policy)
    check.parents(roles, "role", check.ignored["roles"])
    if synced:  # else the roles are not in the files: references to them cannot be checked
        check.context.defined["role"] = defined
        if check.kind_model == POLICIES:  # (what users' own policies may name)
            check.context.defined["policy"] = known


def _builtin(item: Mapping[str, Any]) -> Any:
    return item.get("builtin")


def _permission_label(item: Any) -> str:
    if not isinstance(item, dict):
        return "(not a mapping)"
    return f"{item.get('collection')}.{item.get('action')}"


# --------------------------------------------------------------------------- comparing, in detail


def _named_policies(change: ConfigChange, names: Mapping[str, str]) -> ConfigChange:
    """A role's change with its policies shown by name (the ids stay the identity: the
    applier works from ``entry``, not from the values shown)."""

    def shown(value: Any) -> Any:
        if isinstance(value, list):
            return [names.get(item, item) if isinstance(item, str) else item for item in value]
        return names.get(value, value) if isinstance(value, str) else value

    props = tuple(
        PropertyChange(p.path, shown(p.old), shown(p.new)) if p.path.split(".", 1)[0] == "policies" else p
        for p in change.properties
    )
    return dataclasses.replace(change, properties=props)


def _links(state: Mapping[str, Any]) -> dict[tuple[Any, Any], Item]:
    links: dict[tuple[Any, Any], Item] = {}
    for role in state.get("roles", []):
        for policy in role.get("policies") or []:
            links[(role["id"], policy)] = {"role": role["id"], "policy": policy}
    for policy in state.get("policies", []):
        if policy.get("public"):
            links[(None, policy["id"])] = {"role": None, "policy": policy["id"]}
    return links


def _access(old: Mapping[str, Any], new: Mapping[str, Any], names: Mapping[str, str]) -> Iterator[ConfigChange]:
    if new.get("model") != POLICIES:
        return
    before, after = _links(old), _links(new)

    def name(key: tuple[Any, Any]) -> str:
        role = names.get(key[0], str(key[0])) if key[0] else "(public)"
        return f"{role} → policy {names.get(key[1], str(key[1]))}"

    for key, item in after.items():
        if key not in before:
            yield ConfigChange("access", "create", name(key), key, entry=item)
    for key, item in before.items():
        if key not in after:
            yield ConfigChange("access", "delete", name(key), key, entry=item, current=item)


def _holders(state: Mapping[str, Any]) -> list[tuple[str | None, str, list[Item]]]:
    """(holder id, holder name, permissions): policies on 11+, roles and public before."""
    if state.get("model") == POLICIES:
        return [(p["id"], "policy", p.get("permissions") or []) for p in state.get("policies", [])]
    holders: list[tuple[str | None, str, list[Item]]] = [
        (r["id"], "role", r.get("permissions") or []) for r in state.get("roles", [])
    ]
    holders.append((None, "public", (state.get("public") or {}).get("permissions") or []))
    return holders


def _permissions(old: Mapping[str, Any], new: Mapping[str, Any], names: Mapping[str, str]) -> Iterator[ConfigChange]:
    def index(state: Mapping[str, Any]) -> dict[tuple[Any, ...], Item]:
        return {(holder, *permission_key(item)): item for holder, _, items in _holders(state) for item in items}

    before, after = index(old), index(new)
    noun = "policy" if new.get("model") == POLICIES else "role"

    def name(key: tuple[Any, ...]) -> str:
        holder = f"{noun} {names.get(key[0], key[0])}" if key[0] else "public"
        return f"{holder}: {key[1]}.{key[2]}"

    for key, item in after.items():
        if key not in before:
            yield ConfigChange("permission", "create", name(key), key, key[0], entry=item)
        else:
            # A permission's `permissions` is its filter, a property of its own, not items in it.
            props = _props(before[key], item, _NESTED - {"permissions"})
            if props:
                yield ConfigChange("permission", "update", name(key), key, key[0], props, item, before[key])
    for key, item in before.items():
        if key not in after:
            yield ConfigChange("permission", "delete", name(key), key, key[0], entry=item, current=item)
