"""Reading the configuration kinds from a live Directus.

Directus 11+ keeps permissions on policies linked to roles through ``directus_access``;
9.x/10.x keep them on roles (no policies; ``role: null`` is the public role). Both are read
into one state (model.py). Items the server makes up (app-minimal permissions marked
``system``, creation dates, users) are left out. Server-side ids the files never hold
(permission, access, preset and translation ids) are kept under keys starting with ``_``
so that the applier can change or delete the item; files and comparisons ignore them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from directus_gitops.files import snapshot as snap
from directus_gitops.model.kinds import identity, model, secrets
from directus_gitops.model.kinds.model import Item, State
from directus_gitops.model.kinds.registry import KINDS
from directus_gitops.server import lock
from directus_gitops.server.client import DirectusClient

_ALL = {"limit": "-1"}


def model_for(release: Any) -> str:
    """Which access model a Directus release has (unknown: the current one)."""
    version = snap.release(release)
    return model.ROLES if version is not None and version < (11, 0, 0) else model.POLICIES


def _items(client: DirectusClient, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    data = client.read(path, {**_ALL, **(params or {})})
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _real_permissions(client: DirectusClient) -> list[dict[str, Any]]:
    # Admins also get the app's minimal permissions, marked `system` and without an id.
    return [p for p in _items(client, "/permissions") if p.get("id") is not None and not p.get("system")]


def read(
    client: DirectusClient,
    groups: Collection[str],
    release: Any,
    *,
    symbolic: bool = False,
    specs: Mapping[str, Any] | None = None,
) -> State:
    """The configuration of the groups in ``groups`` (``access``, ``flows``, …) on ``client``;
    ``symbolic``: with the bootstrapped items' symbolic ids, as the files hold them. ``specs``:
    what the kinds of kind.py read, by group (``data``: which collections and fields)."""
    kind = model_for(release)
    state: State = {"model": kind}
    if "access" in groups:
        if kind == model.POLICIES:
            _read_policies(client, state)
        else:
            _read_roles(client, state)
        identity.mark(state)
    if "flows" in groups:
        state["flows"] = _read_flows(client)
    if "dashboards" in groups:
        state["dashboards"] = _read_dashboards(client)
    if "presets" in groups:
        state["presets"] = [
            {**model.pick(p, model.PRESET_FIELDS), "_id": p["id"]}
            for p in _items(client, "/presets")
            if p.get("user") is None
        ]
    raw_settings: dict[str, Any] = {}
    if "settings" in groups or "translations" in groups:
        raw = client.read("/settings")
        raw_settings = raw if isinstance(raw, dict) else {}
    if "settings" in groups:
        state["settings"] = settings(raw_settings)
    if "translations" in groups:
        if _legacy_translations(client, raw_settings):  # 9.x: no /translations, a setting instead
            state["translations"] = model.translations_from_settings(raw_settings.get(model.LEGACY_TRANSLATIONS))
            state["_translations_in_settings"] = True
        else:
            state["translations"] = [
                {**model.pick(t, model.TRANSLATION_FIELDS), "_id": t["id"]} for t in _items(client, "/translations")
            ]
    if "users" in groups:
        # Only the synced fields are asked for: passwords, tokens and TFA secrets never leave the server.
        wanted = ",".join(("id", *model.USER_FIELDS))
        state["users"] = [
            {**model.pick(u, model.USER_FIELDS), "_id": u["id"]}
            for u in _items(client, "/users", {"fields": wanted})
            if u.get("email")
        ]
    if "folders" in groups:
        # The push lock is a folder while a push runs (lock.py): never configuration.
        state["folders"] = [
            {"id": f["id"], **model.pick(f, model.FOLDER_FIELDS)}
            for f in _items(client, "/folders")
            if f.get("id") != lock.LOCK_ID
        ]
    for other in KINDS:
        if other.group in groups:
            state[other.group] = other.read(client.read, (specs or {}).get(other.group))
    return model.canonical(identity.symbolic(state) if symbolic else state)


def _legacy_translations(client: DirectusClient, raw_settings: dict[str, Any]) -> bool:
    """Whether this Directus keeps translation strings in a setting (9.x, early 10.x). A fresh
    instance whose settings were never saved answers without the key: ask for the field."""
    if model.LEGACY_TRANSLATIONS in raw_settings:
        return True
    fields = client.read("/fields/directus_settings")
    return any(isinstance(f, dict) and f.get("field") == model.LEGACY_TRANSLATIONS for f in fields or [])


def settings(raw: dict[str, Any]) -> Item:
    """The settings that are synced: not the instance's own, not credentials."""
    return {
        key: model.value(key, value)
        for key, value in raw.items()
        if key not in model.SETTINGS_INSTANCE
        and key != model.LEGACY_TRANSLATIONS  # synced as translations, on the versions that keep them here
        and not secrets.withheld_setting(key)
    }


def withheld_settings(raw: dict[str, Any]) -> list[str]:
    """Settings holding a value that are never written because they are credentials."""
    return sorted(key for key, value in raw.items() if secrets.withheld_setting(key) and value not in (None, ""))


def _read_policies(client: DirectusClient, state: State) -> None:
    access = _items(client, "/access")
    links = [a for a in access if a.get("user") is None]
    permissions = _real_permissions(client)
    state["roles"] = []
    for raw in _items(client, "/roles"):
        role: Item = {"id": raw["id"], **model.pick(raw, model.ROLE_FIELDS_POLICIES)}
        role["policies"] = [a["policy"] for a in links if a.get("role") == raw["id"]]
        state["roles"].append(role)
    state["policies"] = []
    for raw in _items(client, "/policies"):
        policy: Item = {"id": raw["id"], **model.pick(raw, model.POLICY_FIELDS)}
        if any(a.get("role") is None and a.get("policy") == raw["id"] for a in links):
            policy["public"] = True
        policy["permissions"] = [
            {**model.permission(p), "_id": p["id"]} for p in permissions if p.get("policy") == raw["id"]
        ]
        state["policies"].append(policy)
    state["_access"] = {(a.get("role"), a["policy"]): a["id"] for a in links}


def _read_roles(client: DirectusClient, state: State) -> None:
    permissions = _real_permissions(client)
    state["roles"] = []
    for raw in _items(client, "/roles"):
        role: Item = {"id": raw["id"], **model.pick(raw, model.ROLE_FIELDS_ROLES)}
        role["permissions"] = [
            {**model.permission(p), "_id": p["id"]} for p in permissions if p.get("role") == raw["id"]
        ]
        state["roles"].append(role)
    state["public"] = {
        "permissions": [{**model.permission(p), "_id": p["id"]} for p in permissions if p.get("role") is None]
    }


def _read_flows(client: DirectusClient) -> list[Item]:
    operations = _items(client, "/operations")
    flows = []
    for raw in _items(client, "/flows"):
        ops = [op for op in operations if op.get("flow") == raw["id"]]
        key_of = {op["id"]: op.get("key") for op in ops}
        flow: Item = {"id": raw["id"], **model.pick(raw, model.FLOW_FIELDS)}
        flow["operation"] = key_of.get(raw.get("operation"))
        flow["operations"] = [
            {
                "id": op["id"],
                **model.pick(op, model.OPERATION_FIELDS),
                "resolve": key_of.get(op.get("resolve")),
                "reject": key_of.get(op.get("reject")),
            }
            for op in ops
        ]
        flows.append(flow)
    return flows


def _read_dashboards(client: DirectusClient) -> list[Item]:
    panels = _items(client, "/panels")
    return [
        {
            "id": raw["id"],
            **model.pick(raw, model.DASHBOARD_FIELDS),
            "panels": [
                {"id": p["id"], **model.pick(p, model.PANEL_FIELDS)} for p in panels if p.get("dashboard") == raw["id"]
            ],
        }
        for raw in _items(client, "/dashboards")
    ]
