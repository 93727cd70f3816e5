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

from directus_gitops.base.errors import PartialApplyError, ServerError
from directus_gitops.model.kinds import model, secrets
from directus_gitops.model.kinds.change import ConfigChange, ConfigChangeSet
from directus_gitops.model.kinds.kind import Ref, Step
from directus_gitops.model.kinds.model import Item, State
from directus_gitops.model.kinds.registry import KINDS
from directus_gitops.server.client import DirectusClient


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


# A permission's rules: Directus 12 decides from these whether it has custom rules.
_RULES = ("fields", "permissions", "validation", "presets")


@dataclass(frozen=True)
class Endpoint:
    """How one kind is written: its REST endpoint, the properties sent, what it belongs to."""

    kind: str
    path: str
    fields: tuple[str, ...]
    parent: str | None = None  # the property naming the flow/dashboard it belongs to
    server_id: bool = False  # matched by a natural key: changed/deleted by the target's own id
    nested: bool = False  # may point at another item of its kind (parents created first)


_FOLDER = Endpoint("folder", "folders", model.FOLDER_FIELDS, nested=True)
_POLICY = Endpoint("policy", "policies", model.POLICY_FIELDS)
_FLOW = Endpoint("flow", "flows", model.FLOW_FIELDS)
_OPERATION = Endpoint("operation", "operations", model.OPERATION_FIELDS, parent="flow")
_DASHBOARD = Endpoint("dashboard", "dashboards", model.DASHBOARD_FIELDS)
_PANEL = Endpoint("panel", "panels", model.PANEL_FIELDS, parent="dashboard")
_PRESET = Endpoint("preset", "presets", model.PRESET_FIELDS, server_id=True)
_TRANSLATION = Endpoint("translation", "translations", model.TRANSLATION_FIELDS, server_id=True)
_USER = Endpoint("user", "users", model.USER_FIELDS, server_id=True)  # never a password


def _ident(change: ConfigChange, endpoint: Endpoint) -> Any:
    if endpoint.server_id:
        assert change.current is not None
        return change.current["_id"]
    return change.key[0]


def steps(changes: ConfigChangeSet, desired: State, current: State) -> list[Step]:
    """Every REST call that turns ``current`` into ``desired``, in the order to send them."""
    by: dict[tuple[str, str], list[ConfigChange]] = {}
    for change in changes:
        by.setdefault((change.kind, change.action), []).append(change)

    def of(kind: str, action: str) -> list[ConfigChange]:
        return by.get((kind, action), [])

    roles_model = desired.get("model") == model.ROLES
    holder = "role" if roles_model else "policy"
    role = Endpoint(
        "role", "roles", model.ROLE_FIELDS_ROLES if roles_model else model.ROLE_FIELDS_POLICIES, nested=True
    )
    permission = Endpoint("permission", "permissions", model.PERMISSION_FIELDS, server_id=True)
    out: list[Step] = []

    def write(endpoint: Endpoint) -> None:
        creates = of(endpoint.kind, "create")
        if endpoint.nested:
            depth = _depth(desired.get(endpoint.path, []))
            creates = sorted(creates, key=lambda c: depth(dict(c.entry or {})))
        for change in creates:
            assert change.entry is not None
            body = {"id": change.entry["id"]} if "id" in change.entry else {}
            body.update({k: change.entry[k] for k in endpoint.fields if k in change.entry})
            if endpoint.parent:
                body[endpoint.parent] = change.parent
            if endpoint is permission:
                body[holder] = change.key[0]
            if endpoint is _PRESET:
                body["user"] = None
            out.append(Step(f"+ {change.label}", "POST", f"/{endpoint.path}", body))
        for change in of(endpoint.kind, "update"):
            body = _changed(change, endpoint.fields)
            if body and endpoint is permission:
                # Unlicensed Directus 12 judges the body, not the permission it makes: a body
                # without `fields` counts as custom rules (403). Send every rule, as for a create.
                body = {key: change.entry.get(key) for key in _RULES if change.entry and key in change.entry} | body
            if body:
                out.append(Step(f"~ {change.label}", "PATCH", _path(endpoint.path, _ident(change, endpoint)), body))

    def remove(endpoint: Endpoint) -> None:
        removals = of(endpoint.kind, "delete")
        if endpoint.nested:
            depth = _depth(current.get(endpoint.path, []))
            removals = sorted(removals, key=lambda c: -depth(dict(c.entry or {})))
        for change in removals:
            out.append(Step(f"- {change.label}", "DELETE", _path(endpoint.path, _ident(change, endpoint))))

    for endpoint in (_FOLDER, _POLICY, role):
        write(endpoint)
    for change in of("access", "create"):
        out.append(Step(f"+ {change.label}", "POST", "/access", {"role": change.key[0], "policy": change.key[1]}))
    for endpoint in (_USER, permission, _FLOW, _OPERATION):
        write(endpoint)
    out.extend(_links(desired, current, {c.key[0] for c in of("operation", "delete")}))
    # 9.x keeps translation strings in one setting: one call sets them all, none goes to /translations.
    legacy = bool(current.get("_translations_in_settings"))
    translations = () if legacy else (_TRANSLATION,)
    for endpoint in (_DASHBOARD, _PANEL, _PRESET, *translations):
        write(endpoint)
    if legacy and any(c.kind == "translation" for c in changes):
        strings = model.translations_to_settings(desired.get("translations", []))
        out.append(
            Step(
                f"~ translations: {len(desired.get('translations', []))} string(s) in the settings",
                "PATCH",
                "/settings",
                {model.LEGACY_TRANSLATIONS: strings},
            )
        )
    for change in of("settings", "update"):
        assert change.entry is not None
        body = {key: change.entry.get(key) for key in sorted({p.path.split(".", 1)[0] for p in change.properties})}
        out.append(Step(f"~ {change.label}", "PATCH", "/settings", body))

    # Removals: what belongs to something before the thing itself.
    for endpoint in (_PRESET, *translations, _PANEL, _DASHBOARD, _OPERATION, _FLOW, permission):
        remove(endpoint)
    access_ids: Mapping[tuple[Any, Any], str] = current.get("_access", {})
    for change in of("access", "delete"):
        ident = access_ids.get((change.key[0], change.key[1]))
        if ident is not None:
            out.append(Step(f"- {change.label}", "DELETE", _path("access", ident)))
    for endpoint in (role, _POLICY, _FOLDER):
        remove(endpoint)
    # The kinds behind kind.py's interface, after every configuration kind (rows may be
    # referenced by nothing here, and reference nothing but rows and the schema).
    for kind in KINDS:
        if kind.group in desired or kind.group in current:
            out.extend(kind.steps(list(changes), desired.get(kind.group), current.get(kind.group)))
    return out


def known(current: State) -> dict[Ref, Any]:
    """The target's values of the references the steps may hold."""
    found: dict[Ref, Any] = {}
    for kind in KINDS:
        if kind.group in current:
            found.update(kind.known(current[kind.group]))
    return found


def _resolved(value: Any, refs: Mapping[Ref, Any], step: Step) -> Any:
    if isinstance(value, Ref):
        if value not in refs:
            raise ServerError(
                f"'{step.what}' refers to {value.collection} {value.key}, which neither the files nor the target hold"
            )
        return refs[value]
    if isinstance(value, list):
        return [_resolved(item, refs, step) for item in value]
    if isinstance(value, dict):
        return {key: _resolved(item, refs, step) for key, item in value.items()}
    return value


def _created(step: Step, answer: Any, refs: dict[Ref, Any]) -> None:
    """Remember the ids the target gave the rows ``step`` created."""
    if step.creates is None:
        return
    collection, primary, keys = step.creates
    items = answer if isinstance(answer, list) else [answer]
    for key, item in zip(keys, items, strict=False):
        if isinstance(item, dict) and item.get(primary) is not None:
            refs[Ref(collection, key)] = item[primary]


def _unlink(op: Item) -> Step:
    return Step(
        f"~ operation {op['key']}: clear links",
        "PATCH",
        _path("operations", op["id"]),
        {"resolve": None, "reject": None},
    )


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
                clear.append(_unlink(op))
            if any(want.values()):
                link.append(Step(f"~ operation {op['key']}: links", "PATCH", _path("operations", op["id"]), want))
        for op in before.get("operations") or []:
            if op["id"] in removed and (op.get("resolve") or op.get("reject")):
                clear.append(_unlink(op))
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


def run(
    client: DirectusClient,
    plan: list[Step],
    backup: str | None,
    *,
    before: list[str] | None = None,
    refs: Mapping[Ref, Any] | None = None,
) -> list[str]:
    """Send ``plan``; on a failure, say what reached the target and what did not.

    ``before``: what this push already applied (the schema), which has reached the target too.
    ``refs``: the target's values of the references the steps hold (:func:`known`); the ids
    of rows the steps create are added as they are created."""
    done: list[str] = list(before or [])
    values = dict(refs or {})
    for index, step in enumerate(plan):
        try:
            body = secrets.substitute(_resolved(step.body, values, step)) if step.body is not None else None
            _created(step, client.write(step.method, step.path, body), values)
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
    return done[len(before or []) :]
