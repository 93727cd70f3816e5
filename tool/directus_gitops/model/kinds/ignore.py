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

from directus_gitops.model.kinds.kind import Context
from directus_gitops.model.kinds.model import State
from directus_gitops.model.kinds.registry import KINDS
from directus_gitops.model.selection import Rules


def apply(state: State, rules: Rules) -> tuple[State, list[str]]:
    """``state`` without what ``rules`` ignore, and a label for each item left out (each kind
    leaves out its own items, kind.py; what belongs to an item of another kind goes with it)."""
    if not rules:
        return state, []
    left_out: list[str] = []
    # The kinds change the items they keep (a role's policies): a copy, when config rules apply.
    result = copy.deepcopy(state) if rules.config else dict(state)
    context = Context(model=state.get("model", "policies"), new=state)
    for kind in KINDS:
        section = kind.section(result)
        if section is not None:
            section, dropped = kind.ignore(section, rules, context)
            kind.place(result, section)
            left_out.extend(dropped)
    return result, left_out
