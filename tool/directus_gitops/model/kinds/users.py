"""Users (opt-in: never in ``init``'s groups): one file, ``config/users.yaml``, keyed by email.

Never their password, tokens, TFA secret, auth data, avatar or activity: only the synced
fields are asked for, so those never leave the server. A user's role names a role of the
files (checked when the roles are synced). Users are created and changed, never removed:
one that exists only on the target stays.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from directus_gitops.model.kinds.change import ConfigChange, item_changes
from directus_gitops.model.kinds.items import ignored, pick
from directus_gitops.model.kinds.kind import Context, Fetch, Finding, ListedKind, Step, every
from directus_gitops.model.kinds.props import TEXT, Checks, Prop, body
from directus_gitops.model.kinds.rest import Endpoint
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
_ENDPOINT = Endpoint("user", "users", USER_FIELDS, server_id=True)  # never a password


def user_key(item: Mapping[str, Any]) -> str:
    return str(item.get("email") or "").lower()


class Users(ListedKind):
    group = "users"
    nouns = ("user",)
    files = ("users",)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> list[dict[str, Any]]:
        # Only the synced fields are asked for: passwords, tokens and TFA secrets never leave the server.
        wanted = ",".join(("id", *USER_FIELDS))
        return [
            {**pick(u, USER_FIELDS), "_id": u["id"]}
            for u in every(fetch, "/users", {"fields": wanted})
            if u.get("email")
        ]

    def canonical(self, section: Any) -> Any:
        return sorted(section, key=user_key)

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        placed = [p for relpath, doc in documents.items() for p in check.listed(relpath, "users", body(doc), USER)]
        if complete:
            check.unique(placed, user_key, "user {}", ("email",))
            for item in placed:
                check.role(item, "role", "user: role {} is not defined")
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        # Users are created and changed, never removed: one that exists only on the target stays.
        return [
            change
            for change in item_changes("user", old or [], new, user_key, lambda u: str(u.get("email")))
            if change.action != "delete"
        ]

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        return _ENDPOINT.writes(changes, [])

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        kept, left_out, _ = ignored("user", section, "email", rules)
        return kept, left_out


USERS = Users()
