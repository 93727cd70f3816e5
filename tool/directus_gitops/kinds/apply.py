"""Applying configuration changes to a target, in dependency order, one REST call each.

Order: folders, policies, roles (parents first), access links, permissions, flows, their
operations (created without links), then the operations' ``resolve``/``reject`` links and
each flow's first operation once every operation exists, dashboards, panels, presets,
translations, settings; removals last, in reverse (children before what they belong to).
These are many calls, not one transaction: every step is known before the first is sent,
so a failure says exactly which steps reached the target and which did not; the next push
plans only what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from directus_gitops.client import DirectusClient
from directus_gitops.errors import PartialApplyError, ServerError
from directus_gitops.kinds import model, secrets
from directus_gitops.kinds.compare import ConfigChange, ConfigChangeSet
from directus_gitops.kinds.model import Item, State


@dataclass(frozen=True)
class Step:
    what: str  # "+ role Editor"
    method: str
    path: str
    body: Any = None


def _path(endpoint: str, ident: Any) -> str:
    return f"/{endpoint}/{quote(str(ident), safe='')}"


def _changed(change: ConfigChange, allowed: tuple[str, ...], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The top-level properties an update changes, with their new values."""
    assert change.entry is not None
    keys = {p.path.split(".", 1)[0] for p in change.properties}
    return {key: change.entry.get(key) for key in sorted(keys) if key in allowed and key not in skip}


def _depth(items: list[Item]) -> Callable[[Item], int]:
    parents = {item["id"]: item.get("parent") for item in items}

    def depth(item: Item) -> int:
        count, seen, parent = 0, set(), item.get("parent")
        while parent in parents and parent not in seen:
            seen.add(parent)
            count += 1
            parent = parents[parent]
        return count

    return depth


def steps(changes: ConfigChangeSet, desired: State, current: State) -> list[Step]:
    """Every REST call that turns ``current`` into ``desired``, in the order to send them."""
    by: dict[tuple[str, str], list[ConfigChange]] = {}
    for change in changes:
        by.setdefault((change.kind, change.action), []).append(change)

    def of(kind: str, action: str) -> list[ConfigChange]:
        return by.get((kind, action), [])

    roles_model = desired.get("model") == model.ROLES
    role_fields = model.ROLE_FIELDS_ROLES if roles_model else model.ROLE_FIELDS_POLICIES
    out: list[Step] = []

    def create(change: ConfigChange, endpoint: str, fields: tuple[str, ...], **extra: Any) -> None:
        assert change.entry is not None
        body = {"id": change.entry["id"]} if "id" in change.entry else {}
        body.update({k: change.entry[k] for k in fields if k in change.entry})
        body.update(extra)
        out.append(Step(f"+ {change.label}", "POST", f"/{endpoint}", body))

    def update(
        change: ConfigChange, endpoint: str, ident: Any, fields: tuple[str, ...], skip: tuple[str, ...] = ()
    ) -> None:
        body = _changed(change, fields, skip)
        if body:
            out.append(Step(f"~ {change.label}", "PATCH", _path(endpoint, ident), body))

    folders = desired.get("folders", [])
    for change in sorted(of("folder", "create"), key=lambda c: _depth(folders)(dict(c.entry or {}))):
        create(change, "folders", model.FOLDER_FIELDS)
    for change in of("folder", "update"):
        update(change, "folders", change.key[0], model.FOLDER_FIELDS)
    for change in of("policy", "create"):
        create(change, "policies", model.POLICY_FIELDS)
    for change in of("policy", "update"):
        update(change, "policies", change.key[0], model.POLICY_FIELDS)
    roles = desired.get("roles", [])
    for change in sorted(of("role", "create"), key=lambda c: _depth(roles)(dict(c.entry or {}))):
        create(change, "roles", role_fields)
    for change in of("role", "update"):
        update(change, "roles", change.key[0], role_fields)
    for change in of("access", "create"):
        role, policy = change.key
        out.append(Step(f"+ {change.label}", "POST", "/access", {"role": role, "policy": policy, "user": None}))
    holder = "role" if roles_model else "policy"
    for change in of("permission", "create"):
        create(change, "permissions", model.PERMISSION_FIELDS, **{holder: change.key[0]})
    for change in of("permission", "update"):
        assert change.current is not None
        update(change, "permissions", change.current["_id"], model.PERMISSION_FIELDS)

    for change in of("flow", "create"):
        create(change, "flows", model.FLOW_FIELDS)
    for change in of("flow", "update"):
        update(change, "flows", change.key[0], model.FLOW_FIELDS)
    for change in of("operation", "create"):
        create(change, "operations", model.OPERATION_FIELDS, flow=change.parent)
    for change in of("operation", "update"):
        update(change, "operations", change.key[0], model.OPERATION_FIELDS)
    out.extend(_links(desired, current, {c.key[0] for c in of("operation", "delete")}))

    for change in of("dashboard", "create"):
        create(change, "dashboards", model.DASHBOARD_FIELDS)
    for change in of("dashboard", "update"):
        update(change, "dashboards", change.key[0], model.DASHBOARD_FIELDS)
    for change in of("panel", "create"):
        create(change, "panels", model.PANEL_FIELDS, dashboard=change.parent)
    for change in of("panel", "update"):
        update(change, "panels", change.key[0], model.PANEL_FIELDS)
    for change in of("preset", "create"):
        create(change, "presets", model.PRESET_FIELDS, user=None)
    for change in of("preset", "update"):
        assert change.current is not None
        update(change, "presets", change.current["_id"], model.PRESET_FIELDS)
    for change in of("translation", "create"):
        create(change, "translations", model.TRANSLATION_FIELDS)
    for change in of("translation", "update"):
        assert change.current is not None
        update(change, "translations", change.current["_id"], model.TRANSLATION_FIELDS)
    for change in of("settings", "update"):
        assert change.entry is not None
        body = {key: change.entry.get(key) for key in sorted({p.path.split(".", 1)[0] for p in change.properties})}
        out.append(Step(f"~ {change.label}", "PATCH", "/settings", body))

    # Removals: what belongs to something before the thing itself.
    for change in of("preset", "delete"):
        assert change.current is not None
        out.append(Step(f"- {change.label}", "DELETE", _path("presets", change.current["_id"])))
    for change in of("translation", "delete"):
        assert change.current is not None
        out.append(Step(f"- {change.label}", "DELETE", _path("translations", change.current["_id"])))
    for kind, endpoint in (
        ("panel", "panels"),
        ("dashboard", "dashboards"),
        ("operation", "operations"),
        ("flow", "flows"),
    ):
        for change in of(kind, "delete"):
            out.append(Step(f"- {change.label}", "DELETE", _path(endpoint, change.key[0])))
    for change in of("permission", "delete"):
        assert change.current is not None
        out.append(Step(f"- {change.label}", "DELETE", _path("permissions", change.current["_id"])))
    access_ids: Mapping[tuple[Any, Any], str] = current.get("_access", {})
    for change in of("access", "delete"):
        ident = access_ids.get((change.key[0], change.key[1]))
        if ident is not None:
            out.append(Step(f"- {change.label}", "DELETE", _path("access", ident)))
    current_roles = current.get("roles", [])
    for change in sorted(of("role", "delete"), key=lambda c: -_depth(current_roles)(dict(c.entry or {}))):
        out.append(Step(f"- {change.label}", "DELETE", _path("roles", change.key[0])))
    for change in of("policy", "delete"):
        out.append(Step(f"- {change.label}", "DELETE", _path("policies", change.key[0])))
    current_folders = current.get("folders", [])
    for change in sorted(of("folder", "delete"), key=lambda c: -_depth(current_folders)(dict(c.entry or {}))):
        out.append(Step(f"- {change.label}", "DELETE", _path("folders", change.key[0])))
    return out


def _links(desired: State, current: State, removed: set[Any]) -> list[Step]:
    """The operations' resolve/reject links and each flow's first operation, set after every
    operation exists. Links that change are cleared first: Directus keeps them unique."""
    clear: list[Step] = []
    link: list[Step] = []
    now = {flow["id"]: flow for flow in current.get("flows", [])}
    for flow in desired.get("flows", []):
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
                clear.append(
                    Step(
                        f"~ operation {op['key']}: clear links",
                        "PATCH",
                        _path("operations", op["id"]),
                        {"resolve": None, "reject": None},
                    )
                )
            if any(want.values()):
                link.append(Step(f"~ operation {op['key']}: links", "PATCH", _path("operations", op["id"]), want))
        for op in before.get("operations") or []:
            if op["id"] in removed and (op.get("resolve") or op.get("reject")):
                clear.append(
                    Step(
                        f"~ operation {op['key']}: clear links",
                        "PATCH",
                        _path("operations", op["id"]),
                        {"resolve": None, "reject": None},
                    )
                )
        first = ids.get(flow.get("operation"))
        if first != before_ids.get(before.get("operation")) and (first or before):
            link.append(
                Step(
                    f"~ flow {flow.get('name')}: first operation",
                    "PATCH",
                    _path("flows", flow["id"]),
                    {"operation": first},
                )
            )
    return clear + link


def run(client: DirectusClient, plan: list[Step], backup: str | None) -> list[str]:
    """Send ``plan``; on a failure, say what reached the target and what did not."""
    done: list[str] = []
    for index, step in enumerate(plan):
        try:
            client.write(step.method, step.path, secrets.substitute(step.body) if step.body is not None else None)
        except ServerError as exc:
            if not done:
                raise ServerError(
                    f"the configuration push failed at its first call '{step.what}', so nothing reached the "
                    f"target: {exc.message}",
                    hint=exc.hint,
                    status=exc.status,
                    code=exc.code,
                ) from None
            left = [s.what for s in plan[index:]]
            reached = "\n".join(f"    {what}" for what in done) or "    (nothing)"
            missing = "\n".join(f"    {what}" for what in left)
            where = f"\n  backup of the configuration from before the push: {backup}" if backup else ""
            raise PartialApplyError(
                f"the configuration push stopped at '{step.what}': {exc.message}\n"
                f"  reached the target:\n{reached}\n  did not:\n{missing}{where}",
                hint="fix the cause and push again: the next plan holds only what is left",
            ) from None
        done.append(step.what)
    return done
