"""Presets that belong to no user (bookmarks and layouts for everyone or for a role): one file,
``config/presets.yaml``, items keyed by role, collection and bookmark.

A preset names a collection of the schema (or one of Directus's own) and, for a role's, a
role of the files (checked when the roles are synced); an ignored role takes its presets
with it. A change names the role by name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from directus_gitops.model.kinds import access
from directus_gitops.model.kinds.change import ConfigChange, _quoted, item_changes
from directus_gitops.model.kinds.items import ignored, pick
from directus_gitops.model.kinds.kind import Context, Fetch, Finding, ListedKind, Step, every
from directus_gitops.model.kinds.props import TEXT, Checks, Prop, body
from directus_gitops.model.kinds.rest import Endpoint
from directus_gitops.model.selection import Rules

PRESET_FIELDS = (
    "bookmark",
    "role",
    "collection",
    "search",
    "layout",
    "layout_query",
    "layout_options",
    "refresh_interval",
    "filter",
    "icon",
    "color",
)
PRESET = {
    "bookmark": TEXT,
    "role": TEXT,
    "collection": TEXT,
    "search": TEXT,
    "layout": TEXT,
    "layout_query": Prop("object?"),
    "layout_options": Prop("object?"),
    "refresh_interval": Prop("int?"),
    "filter": Prop("object?"),
    "icon": TEXT,
    "color": TEXT,
}
_ENDPOINT = Endpoint("preset", "presets", PRESET_FIELDS, server_id=True, fixed={"user": None})


def preset_key(item: Mapping[str, Any]) -> tuple[str, str, str]:
    return str(item.get("role") or ""), str(item.get("collection")), str(item.get("bookmark") or "")


class Presets(ListedKind):
    group = "presets"
    nouns = ("preset",)
    files = ("presets",)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> list[dict[str, Any]]:
        return [{**pick(p, PRESET_FIELDS), "_id": p["id"]} for p in every(fetch, "/presets") if p.get("user") is None]

    def canonical(self, section: Any) -> Any:
        return sorted(section, key=preset_key)

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        placed = [p for relpath, doc in documents.items() for p in check.listed(relpath, "presets", body(doc), PRESET)]
        if complete:
            check.unique(placed, preset_key, "a preset for (role, collection, bookmark) {}", ())
            for item in placed:
                if isinstance(item.item.get("collection"), str):
                    check.collection(item, "preset")
            for item in placed:
                check.role(item, "role", "preset: role {} is not defined")
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        context = context or Context()
        names = access.names(context.old, context.new)
        return list(
            item_changes(
                "preset",
                old or [],
                new,
                preset_key,
                lambda p: (
                    f"{p.get('collection')}"
                    + (f" {_quoted(p['bookmark'])}" if p.get("bookmark") else " (layout)")
                    + (f" for role {names.get(p['role'], p['role'])}" if p.get("role") else " (global)")
                ),
            )
        )

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        return [*_ENDPOINT.writes(changes, []), *_ENDPOINT.removals(changes, [], "-presets")]

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        kept, left_out, _ = ignored("preset", section, "bookmark", rules)
        # A preset of an ignored role goes with it.
        roles = access.ignored_roles((context or Context()).new, rules)
        if roles:
            kept = [p for p in kept if p.get("role") not in roles]
        return kept, left_out


PRESETS = Presets()
