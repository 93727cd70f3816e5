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
from collections.abc import Collection, Mapping
from pathlib import PurePosixPath
from typing import Any

from directus_gitops.base.errors import DocumentError, InvalidSnapshotError
from directus_gitops.files import store, yamlio
from directus_gitops.model.kinds import model
from directus_gitops.model.kinds import validate as checks
from directus_gitops.model.kinds.kind import Finding
from directus_gitops.model.kinds.model import Item, State
from directus_gitops.model.kinds.registry import BY_DOCUMENT, KINDS

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
    for other in KINDS:
        if other.group in state:
            result.update(other.documents(state[other.group]))
    return result


def canonical_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """One configuration file's document (which passed the validation) in the order
    :func:`documents` writes it: its lists in their canonical order (what a merge of two edits
    of the file writes, after ``HEADER``)."""
    kind = document["kind"]
    body = {key: value for key, value in document.items() if key != "kind"}
    # A role holding permissions, and the public role, exist in the 9.x/10.x model only.
    roles = kind == "public" or (kind == "role" and "permissions" in body)
    state = model.canonical(_placed({"model": model.ROLES if roles else model.POLICIES}, document))
    if kind in _KIND_GROUP:
        return {"kind": kind, **_public(state[_KIND_GROUP[kind]][0])}
    if kind == "public":
        return {"kind": kind, **_public(state["public"])}
    if kind in _SINGLE:
        return {"kind": kind, "items": [_public(item) for item in state[kind]]}
    return {"kind": kind, "settings": state["settings"]}


def _placed(state: State, document: Mapping[str, Any]) -> State:
    _place(state, document)
    return state


def render(
    state: State, ignored: Mapping[str, Collection[str]] | None = None
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files for ``state`` and the manifest's ``config`` entry listing them. ``ignored``:
    what the files name that ignore rules keep out of them, by ``checks.IGNORED`` key (it
    counts as defined, kinds/validate.py)."""
    docs = documents(state)
    files = {path: (HEADER + yamlio.dump(doc)).encode("utf-8") for path, doc in docs.items()}
    # The groups are listed so that a group left empty (the last flow removed) still counts.
    entry: dict[str, Any] = {
        "model": state.get("model", model.POLICIES),
        "groups": sorted(groups_of(state)),
        "files": sorted(files),
    }
    listed = {key: sorted(names) for key, names in (ignored or {}).items() if names}
    if listed:
        entry["ignored"] = dict(sorted(listed.items()))
    return files, entry


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
    found.update(kind.group for kind in KINDS if kind.group in state)
    return found


def parse(
    read: store.Reader,
    source: str,
    entry: Any,
    collections: Collection[str] | None = None,
    fields: Mapping[str, Mapping[str, str]] | None = None,
) -> State | None:
    """The state the manifest's ``config`` entry lists (None when it has none), after the one
    validation of the configuration kinds (kinds/validate.py); :class:`InvalidSnapshotError`
    lists every problem as ``path:line: message``. ``collections``: those the schema of the
    same folder defines, which permissions and presets must name (None: not checked here;
    ``validate.load_tree`` checks them with the schema)."""
    if entry is None:
        return None

    def shown(relpath: str) -> str:
        return f"{source}/{relpath}" if source else relpath

    found = checks.entry_findings(entry)
    problems: list[str] = []
    documents: dict[str, Any] = {}
    texts: dict[str, str] = {}
    if not found:
        for index, relpath in enumerate(entry["files"]):
            path = str(PurePosixPath(relpath))
            try:
                data = read(path)
                if data is None:
                    found.append(Finding(store.MANIFEST, ("config", "files", index), f"lists {path}, which is missing"))
                    continue
                documents[path] = store.parse_document(data, shown(path))
            except DocumentError as exc:
                problems.append(exc.message)
                continue
            texts[path] = data.decode("utf-8")
        complete = len(documents) == len(entry["files"])
        found.extend(checks.findings(entry, documents, collections, complete=complete, fields=fields))
    if found or problems:

        def text(relpath: str) -> str | None:
            if relpath in texts:
                return texts[relpath]
            try:
                data = read(relpath)  # the manifest, for the line of its config entry
            except DocumentError:
                return None
            return data.decode("utf-8", errors="replace") if data is not None else None

        raise InvalidSnapshotError(source, problems + checks.located(found, text, shown))
    return build(entry, documents)


def build(entry: Mapping[str, Any], documents: Mapping[str, Any]) -> State:
    """The state of configuration files that passed the validation."""
    kind_model = entry.get("model", model.POLICIES)
    state: State = {"model": kind_model}
    theirs: dict[str, dict[str, Any]] = {}
    for relpath, document in documents.items():
        if document["kind"] in BY_DOCUMENT:
            theirs.setdefault(BY_DOCUMENT[document["kind"]].group, {})[relpath] = document
        else:
            _place(state, document)
    listed = entry.get("groups") or []
    for other in KINDS:
        if other.group in theirs or other.group in listed:
            state[other.group] = other.build(theirs.get(other.group, {}))
    for group in ("flows", "dashboards", "presets", "translations", "folders", "users"):
        if group in listed:
            state.setdefault(group, [])
    if "roles" in state or "policies" in state or "access" in listed:
        state.setdefault("roles", [])
        if kind_model == model.POLICIES:
            state.setdefault("policies", [])
    return model.canonical(state)


def _place(state: State, document: Mapping[str, Any]) -> None:
    kind = document["kind"]
    body = {key: value for key, value in document.items() if key != "kind"}
    if kind in _KIND_GROUP:
        state.setdefault(_KIND_GROUP[kind], []).append(body)
    elif kind == "public":
        state["public"] = {"permissions": body.get("permissions") or []}
    elif kind in _SINGLE:
        state.setdefault(kind, []).extend(body.get("items") or [])
    else:  # settings (the validation knows no other kind)
        state["settings"] = body.get("settings") or {}
