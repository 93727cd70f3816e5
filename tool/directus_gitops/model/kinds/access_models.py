"""Roles and permissions carried from one Directus access model to the other (rule
``access-model``).

Directus 9.x/10.x keep permissions and access (admin, app, IP, 2FA) on roles, with the public
role's permissions on ``role: null``; 11+ keep them on policies, which roles and the public link
to (access.py). Directus's own upgrade to 11 (its migration ``20240806A-permissions-policies``)
turns each role into a policy of the same id, name, icon, description and access holding the
role's permissions, links the role to it, and puts the public role's permissions on a public
policy; its downgrade gives each role the access its policies (and its parents') grant, and
their permissions. :func:`convert` does the same to the files' state, so files pulled from one
generation plan and push into the other, and a target Directus upgraded itself plans empty:

- **to 11+**: as the upgrade. The administrator policy and the public policy, which every 11+
  instance bootstraps, keep the target's own name, icon and description where the files'
  role says Directus's bootstrap text (the upgrade writes ``$t:admin_policy_description``, a
  new 11+ instance ``$t:admin_description``).
- **to 9.x/10.x**: each role gets the access of the policies it and its parents link to (any
  of them granting admin, app or 2FA; their IP lists joined) and their permissions, the
  public role the permissions of the policies linked to the public. A policy linked to
  nothing has no place there and is named in the note. Two of a role's policies giving the
  same collection and action different rules cannot be one permission there: refused, as is
  anything else the 9.x/10.x model cannot hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directus_gitops.base.errors import RefusedError
from directus_gitops.model.kinds import identity
from directus_gitops.model.kinds.access import permission_key
from directus_gitops.model.kinds.items import ADMINISTRATOR, POLICIES, PUBLIC, ROLES, Item, State

RULE = "access-model"
# What Directus's upgrade gives the public policy (11+ bootstraps the same).
_PUBLIC_POLICY = {"name": "$t:public_label", "icon": "public", "description": "$t:public_description"}
# The ids the files give the bootstrapped policies (identity.py maps them to the target's).
_SYMBOLIC_ADMIN = identity.SYMBOLIC[("policies", ADMINISTRATOR)]
_SYMBOLIC_PUBLIC = identity.SYMBOLIC[("policies", PUBLIC)]
_ACCESS = ("ip_access", "enforce_tfa", "admin_access", "app_access")


def convert(
    desired: State, target_model: str, current: State | None = None, sides: tuple[str, str] = ("files", "target")
) -> tuple[State, str | None]:
    """``desired`` in ``target_model``, and the note a plan shows of it (None: nothing to do).
    ``current``: the target's configuration, whose bootstrapped policies keep their texts.
    ``sides``: what the note calls the two (a diff: the older commit and the newer).
    Raises :class:`RefusedError` for what the target's model cannot hold."""
    files_model = desired.get("model", POLICIES)
    if files_model == target_model:
        return desired, None
    ours, theirs = sides
    if "roles" not in desired:
        if target_model == POLICIES:
            return desired, None
        converted, words = _users_to_roles(desired)
        note = f"rule {RULE}: the {ours} hold the 11+ access model and the {theirs} the 9.x/10.x one: {words}"
        return converted, (note if words else None)
    if target_model == POLICIES:
        return _to_policies(desired, current or {}), (
            f"rule {RULE}: the {ours} hold the 9.x/10.x access model and the {theirs} the 11+ one: each role's "
            "permissions and access are taken as on a policy of the same id and name linked to it, the public "
            "role's as on the public policy, as Directus's own upgrade to 11 does"
        )
    converted, unlinked = _to_roles(desired)
    converted, words = _users_to_roles(converted)
    note = (
        f"rule {RULE}: the {ours} hold the 11+ access model and the {theirs} the 9.x/10.x one: each role is taken "
        "with the access and permissions of the policies it and its parents link to, the public role with those "
        "linked to the public, as Directus's own downgrade from 11 does"
    )
    if unlinked:
        note += f"; {len(unlinked)} policy(ies) linked to no role have no place there and are left out: "
        note += ", ".join(sorted(unlinked))
    if words:
        note += f"; {words}"
    return converted, note


def _users_to_roles(desired: State) -> tuple[State, str | None]:
    """Users without the policies of their own (11+), which the 9.x/10.x model has no place for,
    and the note's words for them (None: no user held one)."""
    users = desired.get("users")
    if users is None or not any("policies" in u for u in users):
        return desired, None
    holding = sorted(str(u.get("email")) for u in users if u.get("policies"))
    kept = [{key: value for key, value in user.items() if key not in ("policies", "_access")} for user in users]
    words = f"the policies {len(holding)} user(s) hold of their own have no place there and are left out: "
    return {**desired, "users": kept}, (words + ", ".join(holding) if holding else None)


def _to_policies(desired: State, current: State) -> State:
    bootstrapped = {p.get("builtin"): p for p in current.get("policies", []) if p.get("builtin")}
    roles: list[Item] = []
    policies: list[Item] = []
    for role in desired["roles"]:
        admin = role.get("builtin") == ADMINISTRATOR
        policy: Item = {
            "id": _SYMBOLIC_ADMIN if admin else role["id"],
            **({"builtin": ADMINISTRATOR} if admin else {}),
            **{key: role[key] for key in ("name", "icon", "description") if key in role},
            **{key: role[key] for key in _ACCESS if key in role},
            "permissions": list(role.get("permissions") or []),
        }
        if admin and role.get("description") == identity.BOOTSTRAP_DESCRIPTION:
            own = bootstrapped.get(ADMINISTRATOR, {})
            policy["description"] = own.get("description", "$t:admin_policy_description")
        policies.append(policy)
        kept = {key: value for key, value in role.items() if key not in (*_ACCESS, "permissions")}
        roles.append({**kept, "parent": None, "policies": [policy["id"]]})
    own = bootstrapped.get(PUBLIC, {})
    policies.append(
        {
            "id": _SYMBOLIC_PUBLIC,
            "builtin": PUBLIC,
            "public": True,
            **{key: own.get(key, text) for key, text in _PUBLIC_POLICY.items()},
            "ip_access": None,
            "enforce_tfa": False,
            "admin_access": False,
            "app_access": False,
            "permissions": list((desired.get("public") or {}).get("permissions") or []),
        }
    )
    result = {key: value for key, value in desired.items() if key != "public"}
    return {**result, "model": POLICIES, "roles": roles, "policies": policies}


def _to_roles(desired: State) -> tuple[State, list[str]]:
    policies = {p["id"]: p for p in desired.get("policies", [])}
    roles = {r["id"]: r for r in desired["roles"]}
    linked: set[Any] = set()
    converted: list[Item] = []
    for role in desired["roles"]:
        chain = _chain(role, roles)
        held = [policies[p] for r in chain for p in r.get("policies") or [] if p in policies]
        linked.update(p["id"] for p in held)
        item: Item = {key: role[key] for key in ("id", "builtin", "name", "icon", "description") if key in role}
        ips = sorted({ip for p in held for ip in p.get("ip_access") or []})
        item["ip_access"] = ips or None
        for flag in ("enforce_tfa", "admin_access", "app_access"):
            item[flag] = any(bool(p.get(flag)) for p in held)
        item["permissions"] = [] if item["admin_access"] else _merged(f"role {role.get('name')!r}", held)
        converted.append(item)
    public = [p for p in policies.values() if p.get("public")]
    linked.update(p["id"] for p in public)
    for policy in public:
        if policy.get("admin_access") or policy.get("app_access"):
            raise RefusedError(
                f"refusing to push: the public policy {policy.get('name')!r} grants admin or app access, which the "
                "9.x/10.x access model cannot give the public; nothing was applied",
                hint="take the access off the policy in the files, or push to an 11+ target",
            )
    result = {key: value for key, value in desired.items() if key not in ("policies", "_access")}
    result.update(model=ROLES, roles=converted, public={"permissions": _merged("the public", public)})
    unlinked = [str(p.get("name")) for p in policies.values() if p["id"] not in linked]
    return result, unlinked


def _chain(role: Mapping[str, Any], roles: Mapping[Any, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``role`` and its parents, nearest first (a cycle ends the chain)."""
    chain: list[Mapping[str, Any]] = []
    seen: set[Any] = set()
    step: Mapping[str, Any] | None = role
    while step is not None and step.get("id") not in seen:
        chain.append(step)
        seen.add(step.get("id"))
        parent = step.get("parent")
        step = roles.get(parent) if parent is not None else None
    return chain


def _merged(holder: str, policies: list[Mapping[str, Any]]) -> list[Item]:
    """The permissions of ``policies`` as one holder's: the same (collection, action) must
    say the same in each, as a 9.x/10.x role holds one permission for each."""
    found: dict[tuple[str, str], tuple[Item, str]] = {}
    for policy in policies:
        for item in policy.get("permissions") or []:
            key = permission_key(item)
            rules = {k: v for k, v in item.items() if not k.startswith("_")}
            if key in found and found[key][0] != rules:
                raise RefusedError(
                    f"refusing to push: {holder} gets {key[0]}.{key[1]} from the policies {found[key][1]!r} and "
                    f"{policy.get('name')!r} with different rules, which the 9.x/10.x access model holds as one "
                    "permission; nothing was applied",
                    hint="give the permission one policy in the files, or push to an 11+ target",
                )
            found.setdefault(key, (rules, str(policy.get("name"))))
    return [rules for rules, _ in found.values()]
