"""The canonical files of the configuration kinds, under ``<schema>/config/``::

    config/roles/<name>.yaml          a role (9.x/10.x: with its permissions)
    config/policies/<name>.yaml       a policy with its permissions, by collection then action
    config/public.yaml                9.x/10.x: the public role's permissions
    config/flows/<name>.yaml          a flow with its operations, from the trigger along links
    config/dashboards/<name>.yaml     a dashboard with its panels
    config/presets.yaml, settings.yaml, translations.yaml, folders.yaml
    config/users.yaml                 opt-in: users without passwords, tokens or TFA secrets

Every file says which kind it holds (``kind:``); the manifest's ``config`` entry names the
access model and lists the files. File names come from item names, made safe like
collection names; two items with the same name get their id in the file name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from directus_gitops import store, yamlio
from directus_gitops.errors import SnapshotError
from directus_gitops.kinds import model
from directus_gitops.kinds.model import Item, State

FOLDER = "config"
HEADER = (
    "# Written by directus-gitops from a Directus instance's configuration. Change it in\n"
    "# Directus and pull; ids are kept on push (docs/config-kinds.md).\n"
)
_SINGLE = {"presets": "presets", "translations": "translations", "folders": "folders", "users": "users"}
_PER_ITEM = {"roles": "role", "policies": "policy", "flows": "flow", "dashboards": "dashboard"}
_KIND_GROUP = {kind: group for group, kind in _PER_ITEM.items()}


def _public(item: Mapping[str, Any]) -> Item:
    """An item as written: without the server-side ids kept under ``_`` keys."""
    result: Item = {}
    for key, value in item.items():
        if key.startswith("_"):
            continue
        if isinstance(value, list):
            value = [_public(v) if isinstance(v, dict) else v for v in value]
        result[key] = value
    return result


def documents(state: State) -> dict[str, Any]:
    """Relative path (under the schema folder) → the document to write there."""
    state = model.canonical(state)
    result: dict[str, Any] = {}
    for group, kind in _PER_ITEM.items():
        used: set[str] = set()
        for item in state.get(group, []):
            name = str(item.get("builtin") or item.get("name") or item["id"])
            stem = store.file_stem(re.sub(r"\s+", "-", name.strip().lower()))
            if stem.lower() in used:
                stem = f"{stem}~{str(item['id'])[:8]}"
            used.add(stem.lower())
            result[f"{FOLDER}/{group}/{stem}.yaml"] = {"kind": kind, **_public(item)}
    if state.get("model") == model.ROLES and "public" in state:
        result[f"{FOLDER}/public.yaml"] = {"kind": "public", **_public(state["public"])}
    for group in _SINGLE:
        if group in state:
            result[f"{FOLDER}/{group}.yaml"] = {"kind": group, "items": [_public(i) for i in state[group]]}
    if "settings" in state:
        result[f"{FOLDER}/settings.yaml"] = {"kind": "settings", "settings": state["settings"]}
    return result


def render(state: State) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files for ``state`` and the manifest's ``config`` entry listing them."""
    docs = documents(state)
    files = {path: (HEADER + yamlio.dump(doc)).encode("utf-8") for path, doc in docs.items()}
    # The groups are listed so that a group left empty (the last flow removed) still counts.
    return files, {
        "model": state.get("model", model.POLICIES),
        "groups": sorted(groups_of(state)),
        "files": sorted(files),
    }


def groups_of(state: State) -> set[str]:
    """The sync groups a state holds."""
    found = set()
    if "roles" in state or "policies" in state:
        found.add("access")
    found.update(
        group
        for group in ("flows", "dashboards", "presets", "settings", "translations", "folders", "users")
        if group in state
    )
    return found


def parse(read: store.Reader, source: str, entry: Any) -> State | None:
    """The state the manifest's ``config`` entry lists (None when it has none)."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("files"), list):
        raise SnapshotError(f"{source}/{store.MANIFEST}: 'config' must hold 'model' and a list of 'files'")
    kind_model = entry.get("model", model.POLICIES)
    if kind_model not in (model.POLICIES, model.ROLES):
        raise SnapshotError(f"{source}/{store.MANIFEST}: config model must be 'policies' or 'roles'")
    state: State = {"model": kind_model}
    for relpath in entry["files"]:
        path = str(PurePosixPath(str(relpath)))
        if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
            raise SnapshotError(f"{source}/{store.MANIFEST}: path {path!r} leaves the schema folder")
        data = read(path)
        where = f"{source}/{path}"
        if data is None:
            raise SnapshotError(f"{where}: listed in the manifest but missing")
        document = store.parse_document(data, where)
        if not isinstance(document, dict) or not isinstance(document.get("kind"), str):
            raise SnapshotError(f"{where}: must be a mapping with a 'kind'")
        _place(state, document, where)
    listed = entry.get("groups") or []
    for group in ("flows", "dashboards", "presets", "translations", "folders", "users"):
        if group in listed:
            state.setdefault(group, [])
    if "roles" in state or "policies" in state or "access" in listed:
        state.setdefault("roles", [])
        if kind_model == model.POLICIES:
            state.setdefault("policies", [])
    return model.canonical(state)


def _place(state: State, document: dict[str, Any], where: str) -> None:
    kind = document["kind"]
    body = {key: value for key, value in document.items() if key != "kind"}
    if kind in _KIND_GROUP:
        if not isinstance(body.get("id"), str):
            raise SnapshotError(f"{where}: a {kind} needs its 'id'")
        state.setdefault(_KIND_GROUP[kind], []).append(body)
    elif kind == "public":
        state["public"] = {"permissions": body.get("permissions") or []}
    elif kind in _SINGLE:
        items = body.get("items") or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SnapshotError(f"{where}: 'items' must be a list of mappings")
        state.setdefault(kind, []).extend(items)
    elif kind == "settings":
        settings = body.get("settings") or {}
        if not isinstance(settings, dict):
            raise SnapshotError(f"{where}: 'settings' must be a mapping")
        state["settings"] = settings
    else:
        raise SnapshotError(f"{where}: unknown kind {kind!r}")
