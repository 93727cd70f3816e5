"""Users (opt-in: never in ``init``'s groups): one file, ``config/users.yaml``, keyed by email.

Never their password, tokens, TFA secret, auth data, avatar or activity: only the synced
fields are asked for, so those never leave the server. A user's role names a role of the
files (checked when the roles are synced). Users are created and changed, never removed:
one that exists only on the target stays.

On 11+ a user may hold policies of its own, besides its role's: ``policies`` lists them (by
the policies' ids, as a role does), read from the access links to the user. They are
access links like a role's: each added is a ``+ access`` change (``POST /access`` with the
user's id on the target, known once a new user is created), each taken away a ``- access``
one, which needs ``--allow-config-removal``. A user without ``policies`` in the files (files
of 9.x/10.x, or written before the tool read them) leaves the target's links as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from directus_gitops.model.changes import Action
from directus_gitops.model.kinds.access import names as access_names
from directus_gitops.model.kinds.change import ConfigChange, item_changes
from directus_gitops.model.kinds.items import POLICIES, Item, ignored, pick
from directus_gitops.model.kinds.kind import Context, Fetch, Finding, ListedKind, Ref, Step, every
from directus_gitops.model.kinds.props import TEXT, Checks, Prop, body
from directus_gitops.model.kinds.rest import Endpoint, path
from directus_gitops.model.selection import Rules

USER_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "role",
    "status",
    "title",
    "description",
    "location",
    "language",
    "tags",
    "provider",
    "external_identifier",
)
USER = {
    "email": Prop("id", required=True),
    "first_name": TEXT,
    "last_name": TEXT,
    "role": TEXT,
    "status": Prop("text"),
    "title": TEXT,
    "description": TEXT,
    "location": TEXT,
    "language": TEXT,
    "tags": Prop("strings?"),
    "provider": Prop("text"),
    "external_identifier": TEXT,
}
USER_11 = {**USER, "policies": Prop("strings")}  # (11+: the user's own policies, not its role's)
_ENDPOINT = Endpoint("user", "users", USER_FIELDS, server_id=True)  # never a password
# A user's id on the target, for the access links of a user the same push creates.
_USERS = "directus_users"


def user_key(item: Mapping[str, Any]) -> str:
    return str(item.get("email") or "").lower()


class Users(ListedKind):
    group = "users"
    nouns = ("user",)
    files = ("users",)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> list[dict[str, Any]]:
        # Only the synced fields are asked for: passwords, tokens and TFA secrets never leave the server.
        wanted = ",".join(("id", *USER_FIELDS))
        users = [
            {**pick(u, USER_FIELDS), "_id": u["id"]}
            for u in every(fetch, "/users", {"fields": wanted})
            if u.get("email")
        ]
        if (context or Context()).model == POLICIES:
            links: dict[Any, dict[str, Any]] = {}  # user id → {policy: the link's id}
            for link in every(fetch, "/access"):
                if link.get("user") is not None:
                    links.setdefault(link["user"], {})[link["policy"]] = link["id"]
            for user in users:
                own = links.get(user["_id"], {})
                user["policies"] = sorted(own)
                user["_access"] = own
        return users

    def canonical(self, section: Any) -> Any:
        return [
            {**user, "policies": sorted(user["policies"])} if isinstance(user.get("policies"), list) else user
            for user in sorted(section, key=user_key)
        ]

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        table = USER_11 if check.kind_model == POLICIES else USER
        placed = [p for relpath, doc in documents.items() for p in check.listed(relpath, "users", body(doc), table)]
        if complete:
            check.unique(placed, user_key, "user {}", ("email",))
            defined = check.context.defined.get("policy")
            for item in placed:
                check.role(item, "role", "user: role {} is not defined")
                for index, policy in enumerate(item.item.get("policies") or []):
                    if defined is not None and isinstance(policy, str) and policy not in defined:
                        where = (*item.at, "policies", index)
                        check.add(
                            item.relpath, where, f"user {item.item.get('email')}: policy {policy!r} is not defined"
                        )
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        # Users are created and changed, never removed: one that exists only on the target stays.
        old = old or []
        changes = [
            change
            for change in item_changes("user", old, new, user_key, lambda u: str(u.get("email")))
            if change.action != "delete"
        ]
        context = context or Context()
        return changes + list(_links(old, new, access_names(context.old, context.new)))

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        out = []
        for step in _ENDPOINT.writes(changes, []):
            # A new user's id, for its access links (the target gives it).
            created = step.method == "POST"
            out.append(dataclasses.replace(step, creates=(_USERS, "id", (user_key(step.body),))) if created else step)
        for change in changes:
            if change.kind == "access" and change.parent == USER_LINK:
                email, policy = change.key
                if change.action == "create":
                    body = {"user": Ref(_USERS, email), "policy": policy}
                    out.append(Step(f"+ {change.label}", "POST", "/access", body))
                elif change.current is not None and "_id" in change.current:
                    # Before the policies' removals, which take their links with them.
                    ident = change.current["_id"]
                    out.append(Step(f"- {change.label}", "DELETE", path("access", ident), stage="-users"))
        return out

    def known(self, current: Any) -> dict[Ref, Any]:
        return {Ref(_USERS, user_key(user)): user["_id"] for user in current or [] if "_id" in user}

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        kept, left_out, _ = ignored("user", section, "email", rules)
        policies = (context or Context()).new.get("policies")
        gone = ignored("policy", policies, "name", rules)[2] if policies else set()
        if gone:  # a link to a policy the rules leave out is left out with it
            kept = [_without_policies(user, gone) for user in kept]
        return kept, left_out


USER_LINK = "user"  # an access link's ``parent``: the link is a user's (a role's has none)


def _without_policies(user: Item, gone: set[Any]) -> Item:
    if "policies" not in user:
        return user
    result = {**user, "policies": [p for p in user["policies"] if p not in gone]}
    if "_access" in user:
        result["_access"] = {p: ident for p, ident in user["_access"].items() if p not in gone}
    return result


def _links(old: list[Item], new: list[Item], names: Mapping[str, str]) -> Iterator[ConfigChange]:
    """The access links of the users whose policies the files list (11+): added and taken away."""
    before = {user_key(u): u for u in old}
    for user in new:
        if "policies" not in user:
            continue  # (not managed: the target's links stay)
        email = user_key(user)
        held = before.get(email, {})
        rows: Mapping[str, Any] = held.get("_access") or {}
        have, want = set(held.get("policies") or []), set(user["policies"])
        pairs: tuple[tuple[Action, set[Any]], ...] = (("create", want - have), ("delete", have - want))
        for action, policies in pairs:
            for policy in sorted(policies):
                name = f"{user.get('email')} → policy {names.get(policy, policy)}"
                entry = {"user": email, "policy": policy, **({"_id": rows[policy]} if policy in rows else {})}
                current = entry if action == "delete" else None
                yield ConfigChange("access", action, name, (email, policy), USER_LINK, entry=entry, current=current)


USERS = Users()
