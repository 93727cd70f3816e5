"""Ignore rules for the configuration kinds: items named by ``kind:name`` globs.

``ignore: {config: ["flow:Debug *", "role:Contractor"]}`` in directus-gitops.yaml (top
level or per environment) leaves those items out everywhere: ``pull`` does not write them,
and ``plan``/``push`` leave them out of both the files and the target, so they are neither
created, changed nor removed there. Roles, policies, flows, dashboards and folders are
matched by name, presets by bookmark, translations and settings by key, users by email. What belongs
to an ignored item goes with it: a flow's operations, a dashboard's panels, a role's
permissions and presets, a policy's permissions and its links to roles. The administrator
role and policy and the public policy are never ignored (the lock-out guard needs them).
"""

from __future__ import annotations

import copy
import fnmatch
from typing import Any

from directus_gitops.model.kinds.model import Item, State
from directus_gitops.model.kinds.registry import KINDS
from directus_gitops.model.selection import Rules

# kind → (the state's group, the property that names an item)
_NAMED = {
    "role": ("roles", "name"),
    "policy": ("policies", "name"),
    "flow": ("flows", "name"),
    "dashboard": ("dashboards", "name"),
    "folder": ("folders", "name"),
    "preset": ("presets", "bookmark"),
    "translation": ("translations", "key"),
    "user": ("users", "email"),
}


def _matches(value: Any, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(str(value or ""), pattern) for pattern in patterns)


def apply(state: State, rules: Rules) -> tuple[State, list[str]]:
    """``state`` without what ``rules`` ignore, and a label for each item left out."""
    left_out: list[str] = []
    others = [other for other in KINDS if other.group in state]
    if others and rules:
        state = dict(state)
        for other in others:
            state[other.group], dropped = other.ignore(state[other.group], rules.ignores_collection)
            left_out.extend(dropped)
    if not rules.config:
        return state, left_out
    result = copy.deepcopy(state)
    gone: dict[str, set[Any]] = {}
    for kind, (group, prop) in _NAMED.items():
        patterns = rules.config_patterns(kind)
        if not patterns or group not in result:
            continue
        kept: list[Item] = []
        for item in result[group]:
            if _matches(item.get(prop), patterns) and not item.get("builtin"):
                left_out.append(f'{kind} "{item.get(prop) or ""}"')
                gone.setdefault(kind, set()).add(item.get("id"))
            else:
                kept.append(item)
        result[group] = kept
    roles, policies = gone.get("role", set()), gone.get("policy", set())
    for role in result.get("roles", []):
        if "policies" in role and policies:
            role["policies"] = [p for p in role["policies"] if p not in policies]
    if roles and "presets" in result:
        result["presets"] = [p for p in result["presets"] if p.get("role") not in roles]
    if "_access" in result and (roles or policies):
        result["_access"] = {
            pair: ident for pair, ident in result["_access"].items() if pair[0] not in roles and pair[1] not in policies
        }
    settings = rules.config_patterns("setting")
    if settings and isinstance(result.get("settings"), dict):
        for key in sorted(result["settings"]):
            if _matches(key, settings):
                del result["settings"][key]
                left_out.append(f'setting "{key}"')
    return result, left_out
