"""Dashboards (Insights) with their panels: one file each, ``config/dashboards/<name>.yaml``.

Dashboards and panels keep their ids on every instance. Panels are in the order they are
laid out (top to bottom, left to right). A removed dashboard takes its panels with it (they
are not listed twice); panels are removed before their dashboard.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from directus_gitops.model.kinds.change import ConfigChange, by, item_changes, item_id, item_name
from directus_gitops.model.kinds.items import Item, by_name, pick
from directus_gitops.model.kinds.kind import Context, Fetch, Finding, PerItemKind, Step, every
from directus_gitops.model.kinds.props import FLAG, ID, NAME, TEXT, Checks, Placed, Prop, body, by_id, label
from directus_gitops.model.kinds.rest import Endpoint

DASHBOARD_FIELDS = ("name", "icon", "note", "color")
PANEL_FIELDS = (
    "name",
    "icon",
    "color",
    "show_header",
    "note",
    "type",
    "position_x",
    "position_y",
    "width",
    "height",
    "options",
)
DASHBOARD = {
    "id": ID,
    "name": NAME,
    "icon": Prop("text"),
    "note": TEXT,
    "color": TEXT,
    "panels": Prop("items"),
}
PANEL = {
    "id": ID,
    "name": TEXT,
    "icon": TEXT,
    "color": TEXT,
    "show_header": FLAG,
    "note": TEXT,
    "type": Prop("id", required=True),
    "position_x": Prop("int", required=True),
    "position_y": Prop("int", required=True),
    "width": Prop("int", required=True),
    "height": Prop("int", required=True),
    "options": Prop("object?"),
}
_DASHBOARD = Endpoint("dashboard", "dashboards", DASHBOARD_FIELDS)
_PANEL = Endpoint("panel", "panels", PANEL_FIELDS, parent="dashboard")


def panel_order(panel: Mapping[str, Any]) -> tuple[Any, ...]:
    return (panel.get("position_y") or 0, panel.get("position_x") or 0, str(panel.get("name")), str(panel.get("id")))


def children(kind: str, child: str, key: str, old: list[Item], new: list[Item]) -> Iterator[ConfigChange]:
    """Changes of items that hold children (a flow's operations, a dashboard's panels): the
    children of a removed item are removed with it."""
    yield from item_changes(kind, old, new, item_id, item_name)
    before = by(old, item_id)
    for item in new:
        current = before.get(item["id"], {})
        owner = item_name(item)

        def name(sub: Item, owner: str = owner) -> str:
            return f"{owner}: {sub.get('key') or sub.get('name') or sub.get('id')}"

        yield from item_changes(child, current.get(key) or [], item.get(key) or [], item_id, name, item["id"])
    after = {item["id"] for item in new}
    for item in old:
        if item["id"] not in after:
            for sub in item.get(key) or []:
                yield ConfigChange(
                    child,
                    "delete",
                    f"{item_name(item)}: {sub.get('id')}",
                    (sub["id"],),
                    item["id"],
                    entry=sub,
                    current=sub,
                )


class Dashboards(PerItemKind):
    group = "dashboards"
    nouns = ("dashboard", "panel")
    files = ("dashboard",)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> list[Item]:
        panels = every(fetch, "/panels")
        return [
            {
                "id": raw["id"],
                **pick(raw, DASHBOARD_FIELDS),
                "panels": [{"id": p["id"], **pick(p, PANEL_FIELDS)} for p in panels if p.get("dashboard") == raw["id"]],
            }
            for raw in every(fetch, "/dashboards")
        ]

    def canonical(self, section: Any) -> Any:
        result = by_name(section)
        for dashboard in result:
            dashboard["panels"] = sorted(dashboard.get("panels") or [], key=panel_order)
        return result

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        dashboards: list[Placed] = []
        panels: list[Placed] = []
        for relpath, document in documents.items():
            content = body(document)
            if not check.props(relpath, (), content, DASHBOARD, f"dashboard {label(content)}"):
                continue  # without an id nothing else can refer to it
            placed = Placed(relpath, (), content)
            dashboards.append(placed)
            check.children(placed, "panels", PANEL, "panel", panels)
        if complete:
            check.unique(dashboards, by_id, "dashboard id {}", ("id",))
            check.unique(panels, by_id, "panel id {}", ("id",))
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        return list(children("dashboard", "panel", "panels", old or [], new))

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        return [
            *_DASHBOARD.writes(changes, []),
            *_PANEL.writes(changes, []),
            *_PANEL.removals(changes, [], "-dashboards"),
            *_DASHBOARD.removals(changes, [], "-dashboards"),
        ]


DASHBOARDS = Dashboards()
