"""Flows with their operations: one file each, ``config/flows/<name>.yaml``.

Flows and operations keep their ids on every instance. A flow names its first operation, and
an operation its ``resolve``/``reject`` successors, by the operations' keys (unique in their
flow); operations are written from the trigger along resolve then reject links, those that
no link reaches last. The validation checks each link names an operation of the same flow,
that Directus's uniqueness of links holds, and that no chain of links runs in a circle.

Push: flows, then their operations without links, then the links and each flow's first
operation once every operation exists (links that change are cleared first: Directus keeps
them unique); operations are removed before their flows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from directus_gitops.model.kinds.change import ConfigChange
from directus_gitops.model.kinds.dashboards import children
from directus_gitops.model.kinds.items import Item, by_name, pick
from directus_gitops.model.kinds.kind import Context, Fetch, Finding, PerItemKind, Step, every
from directus_gitops.model.kinds.props import ID, NAME, TEXT, Checks, Placed, Prop, body, by_id, label, quoted
from directus_gitops.model.kinds.rest import Endpoint, path

FLOW_FIELDS = ("name", "icon", "color", "description", "status", "trigger", "accountability", "options")
OPERATION_FIELDS = ("key", "name", "type", "position_x", "position_y", "options")
# The flow triggers and accountability values the app and the flow manager know.
FLOW_STATUSES = ("active", "inactive")
FLOW_TRIGGERS = ("event", "webhook", "operation", "schedule", "manual")
FLOW_ACCOUNTABILITY = ("all", "activity")
FLOW = {
    "id": ID,
    "name": NAME,
    "icon": TEXT,
    "color": TEXT,
    "description": TEXT,
    "status": Prop("text", choices=FLOW_STATUSES),
    "trigger": Prop("text?", choices=FLOW_TRIGGERS),
    "accountability": Prop("text?", choices=FLOW_ACCOUNTABILITY),
    "options": Prop("object?"),
    "operation": TEXT,
    "operations": Prop("items"),
}
OPERATION = {
    "id": ID,
    "key": Prop("id", required=True),
    "name": TEXT,
    "type": Prop("id", required=True),
    "position_x": Prop("int", required=True),
    "position_y": Prop("int", required=True),
    "options": Prop("object?"),
    "resolve": TEXT,
    "reject": TEXT,
}
_FLOW = Endpoint("flow", "flows", FLOW_FIELDS)
_OPERATION = Endpoint("operation", "operations", OPERATION_FIELDS, parent="flow")
_NOT_OP = "which is not the key of an operation of this flow"


def operations_in_order(start: str | None, operations: Iterable[Item]) -> list[Item]:
    """From the trigger along resolve then reject links; what no link reaches comes last."""
    by_key = {op["key"]: op for op in operations}
    ordered: list[Item] = []
    seen: set[str] = set()
    stack: list[Any] = [start] if start else []
    while stack:
        key = stack.pop()
        if key is None or key in seen or key not in by_key:
            continue
        seen.add(key)
        op = by_key[key]
        ordered.append(op)
        stack.extend([op.get("reject"), op.get("resolve")])  # resolve is visited first
    ordered.extend(op for key, op in sorted(by_key.items()) if key not in seen)
    return ordered


class Flows(PerItemKind):
    group = "flows"
    nouns = ("flow", "operation")
    files = ("flow",)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> list[Item]:
        operations = every(fetch, "/operations")
        flows = []
        for raw in every(fetch, "/flows"):
            ops = [op for op in operations if op.get("flow") == raw["id"]]
            key_of = {op["id"]: op.get("key") for op in ops}
            flow: Item = {"id": raw["id"], **pick(raw, FLOW_FIELDS)}
            flow["operation"] = key_of.get(raw.get("operation"))
            flow["operations"] = [
                {
                    "id": op["id"],
                    **pick(op, OPERATION_FIELDS),
                    "resolve": key_of.get(op.get("resolve")),
                    "reject": key_of.get(op.get("reject")),
                }
                for op in ops
            ]
            flows.append(flow)
        return flows

    def canonical(self, section: Any) -> Any:
        result = by_name(section)
        for flow in result:
            flow["operations"] = operations_in_order(flow.get("operation"), flow.get("operations") or [])
        return result

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        flows: list[Placed] = []
        operations: dict[int, list[Placed]] = {}  # by id() of the flow's item
        for relpath, document in documents.items():
            content = body(document)
            if not check.props(relpath, (), content, FLOW, f"flow {label(content)}"):
                continue  # without an id nothing else can refer to it
            placed = Placed(relpath, (), content)
            flows.append(placed)
            if isinstance(content.get("operations", []), list):
                # (a flow whose operations are no list has no references to check)
                check.children(placed, "operations", OPERATION, "operation", operations.setdefault(id(content), []))
        if complete:
            check.unique(flows, by_id, "flow id {}", ("id",))
            check.unique([op for ops in operations.values() for op in ops], by_id, "operation id {}", ("id",))
            _links_checked(check, flows, operations)
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        return list(children("flow", "operation", "operations", old or [], new))

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        removed = {c.key[0] for c in changes if c.kind == "operation" and c.action == "delete"}
        return [
            *_FLOW.writes(changes, []),
            *_OPERATION.writes(changes, []),
            *_links(desired or [], current or [], removed),
            *_OPERATION.removals(changes, [], "-flows"),
            *_FLOW.removals(changes, [], "-flows"),
        ]


FLOWS = Flows()


def _links_checked(check: Checks, flows: list[Placed], operations: Mapping[int, list[Placed]]) -> None:
    for flow in flows:
        if id(flow.item) not in operations:
            continue
        ops = operations[id(flow.item)]
        keys = {op.item["key"] for op in ops}
        check.unique(ops, _by_key, "operation key {}", ("key",))
        first = flow.item.get("operation")
        if isinstance(first, str) and first not in keys:
            message = f"flow {label(flow.item)}: 'operation' names {first!r}, {_NOT_OP}"
            check.add(flow.relpath, (*flow.at, "operation"), message)
        targets: dict[tuple[str, str], Placed] = {}
        for op in ops:
            for link in ("resolve", "reject"):
                target = op.item.get(link)
                if not isinstance(target, str):
                    continue
                what = f"operation {quoted(op.item['key'])}"
                if target not in keys:
                    check.add(op.relpath, (*op.at, link), f"{what}: '{link}' names {target!r}, {_NOT_OP}")
                elif (link, target) in targets:
                    other = targets[(link, target)].item["key"]
                    message = (
                        f"{what}: '{link}' names {target!r}, which is already the {link} of operation "
                        f"{quoted(other)} (Directus keeps {link} links unique)"
                    )
                    check.add(op.relpath, (*op.at, link), message)
                else:
                    targets[(link, target)] = op
        _cycles(check, ops)


def _cycles(check: Checks, operations: list[Placed]) -> None:
    by_key = {op.item["key"]: op for op in operations}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in by_key:
        if start in state:
            continue
        path_: list[tuple[str, list[tuple[str, str]]]] = [(start, _next(by_key[start].item, by_key))]
        state[start] = 1
        while path_:
            key, pending = path_[-1]
            if not pending:
                state[key] = 2
                path_.pop()
                continue
            link, target = pending.pop(0)
            if state.get(target) == 1:
                keys = [k for k, _ in path_]
                circle = [*keys[keys.index(target) :], target]
                op = by_key[key]
                shown = " → ".join(quoted(k) for k in circle)
                check.add(op.relpath, (*op.at, link), f"operations {shown} form a cycle along resolve/reject links")
            elif target not in state:
                state[target] = 1
                path_.append((target, _next(by_key[target].item, by_key)))


def _by_key(item: Mapping[str, Any]) -> Any:
    return item.get("key")


def _next(item: Mapping[str, Any], by_key: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (link, item[link]) for link in ("resolve", "reject") if isinstance(item.get(link), str) and item[link] in by_key
    ]


def _unlink(op: Item) -> Step:
    return Step(
        f"~ operation {op['key']}: clear links",
        "PATCH",
        path("operations", op["id"]),
        {"resolve": None, "reject": None},
    )


def _links(desired: list[Item], current: list[Item], removed: set[Any]) -> list[Step]:
    """The operations' resolve/reject links and each flow's first operation, set after every
    operation exists. Links that change are cleared first: Directus keeps them unique."""
    clear: list[Step] = []
    link: list[Step] = []
    now = {flow["id"]: flow for flow in current}
    for flow in desired:
        ids = {op["key"]: op["id"] for op in flow.get("operations") or []}
        before = now.get(flow["id"], {})
        before_ids = {op["key"]: op["id"] for op in before.get("operations") or []}
        old_ops = {op["id"]: op for op in before.get("operations") or []}
        for op in flow.get("operations") or []:
            old = old_ops.get(op["id"], {})
            want = {"resolve": ids.get(op.get("resolve")), "reject": ids.get(op.get("reject"))}
            have = {"resolve": before_ids.get(old.get("resolve")), "reject": before_ids.get(old.get("reject"))}
            if want == have:
                continue
            if any(have.values()):
                clear.append(_unlink(op))
            if any(want.values()):
                link.append(Step(f"~ operation {op['key']}: links", "PATCH", path("operations", op["id"]), want))
        for op in before.get("operations") or []:
            if op["id"] in removed and (op.get("resolve") or op.get("reject")):
                clear.append(_unlink(op))
        first = ids.get(flow.get("operation"))
        if first != before_ids.get(before.get("operation")) and (first or before):
            link.append(
                Step(
                    f"~ flow {flow.get('name')}: first operation",
                    "PATCH",
                    path("flows", flow["id"]),
                    {"operation": first},
                )
            )
    return clear + link
