"""The one validation of the configuration kinds' files, shared by ``check`` and every reader.

Every problem is listed as a :class:`Finding` (the file, the place in its document, a
message); the caller turns the place into a line. ``check`` and the schema readers
(``validate.load_tree``, so ``diff``, ``log``, ``plan`` and ``push``) run it with the
collections of the same folder's schema; :func:`files.parse` runs it on every read, and
``pull`` runs it on the files it is about to write.

What is checked, kind by kind, is declared in each kind's module (props.py holds what they
share); this module checks the manifest's entry, that each file names a kind, hands each
kind its files (in ``registry.KINDS`` order, so that a kind may name what one before it
defines: ``Context.defined``), and turns findings into lines. Each kind checks each synced
property's type (what Directus keeps NOT NULL is required or never null), the values Directus knows (a
flow's status, trigger and accountability; a permission's action), and no property the
files do not sync (it would never reach the server, so a push would read back differently).
Then what the items say about each other: every reference names an item of the files
(an operation's ``resolve``/``reject`` and a flow's first ``operation`` name operations of
the same flow by key; a role's ``parent`` and ``policies``, a preset's or user's ``role``
name roles and policies by id; a folder's ``parent`` a folder), nothing is there twice
(two permissions for one collection and action on one policy, two operations with one key,
two items with one id), and no chain of links or parents runs in a circle. A permission or
preset names a collection the schema of the same folder defines or one of Directus's own
(``directus_*``).

What ignore rules leave out of the files lives on each target, and may still be named: a
collection (by a permission), a role (a role's parent, a user's role), a folder (a folder's
parent). ``pull`` lists the ones the files name in the manifest's ``config.ignored``, and they
count as defined.

What Directus accepts and the files may legitimately hold is accepted: permission
``fields: null`` and ``permissions: {}``, operations that no link reaches, a flow trigger's
collections in its options (Directus does not check them either).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from directus_gitops.files import store, yamlio
from directus_gitops.model.kinds import model
from directus_gitops.model.kinds.access import PERMISSION, POLICY, ROLE_10, ROLE_11
from directus_gitops.model.kinds.dashboards import DASHBOARD, PANEL
from directus_gitops.model.kinds.flows import FLOW, OPERATION
from directus_gitops.model.kinds.folders import FOLDER
from directus_gitops.model.kinds.kind import Context, Finding, Location
from directus_gitops.model.kinds.presets import PRESET
from directus_gitops.model.kinds.props import IGNORED, is_system_collection
from directus_gitops.model.kinds.registry import BY_DOCUMENT, KINDS
from directus_gitops.model.kinds.translations import TRANSLATION
from directus_gitops.model.kinds.users import USER

# The kinds' tables, for those who list what each syncs.
__all__ = [
    "DASHBOARD",
    "FLOW",
    "FOLDER",
    "IGNORED",
    "OPERATION",
    "PANEL",
    "PERMISSION",
    "POLICY",
    "PRESET",
    "ROLE_10",
    "ROLE_11",
    "TRANSLATION",
    "USER",
    "entry_findings",
    "findings",
    "is_system_collection",
    "located",
    "named",
]

# The groups a manifest may list.
GROUPS = ("access", "flows", "dashboards", "presets", "settings", "translations", "folders", "users", "data")
ENTRY_KEYS = ("model", "groups", "files", "ignored")


# --------------------------------------------------------------------------- the manifest's entry


def entry_findings(entry: Any) -> list[Finding]:
    """What is wrong with the manifest's ``config`` entry (places under ``config``)."""
    where = store.MANIFEST
    if not isinstance(entry, dict):
        return [Finding(where, ("config",), "'config' must be a mapping with 'model' and a list of 'files'")]
    found: list[Finding] = []
    for key in sorted(set(entry) - set(ENTRY_KEYS), key=str):
        found.append(Finding(where, ("config", key), f"config: unknown key '{key}' (known: {', '.join(ENTRY_KEYS)})"))
    if entry.get("model", model.POLICIES) not in (model.POLICIES, model.ROLES):
        found.append(Finding(where, ("config", "model"), "config: model must be 'policies' or 'roles'"))
    groups = entry.get("groups", [])
    if not isinstance(groups, list):
        found.append(Finding(where, ("config", "groups"), "config: 'groups' must be a list"))
    else:
        for index, group in enumerate(groups):
            if group not in GROUPS:
                message = f"config: {group!r} is not a group of configuration ({', '.join(GROUPS)})"
                found.append(Finding(where, ("config", "groups", index), message))
    files = entry.get("files")
    if not isinstance(files, list):
        found.append(Finding(where, ("config", "files"), "config: 'files' must be a list of paths"))
    else:
        seen: set[str] = set()
        for index, path in enumerate(files):
            at = ("config", "files", index)
            if not isinstance(path, str) or not path:
                found.append(Finding(where, at, "config: file paths must be non-empty strings"))
                continue
            pure = PurePosixPath(path)
            if pure.is_absolute() or ".." in pure.parts or "\\" in path:
                found.append(Finding(where, at, f"config: path {path!r} leaves the schema folder"))
            elif str(pure) in seen:
                found.append(Finding(where, at, f"config: lists {pure} twice"))
            seen.add(str(pure))
    ignored = entry.get("ignored", {})
    if not isinstance(ignored, dict):
        found.append(Finding(where, ("config", "ignored"), f"config: 'ignored' must map {', '.join(IGNORED)} to names"))
    else:
        for key, names in ignored.items():
            place: Location = ("config", "ignored", str(key))
            if key not in IGNORED:
                found.append(Finding(where, place, f"config: ignored {str(key)!r} is not one of {', '.join(IGNORED)}"))
            elif not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
                found.append(Finding(where, place, f"config: 'ignored.{key}' must be a list of non-empty strings"))
    return found


# --------------------------------------------------------------------------- the files


def findings(
    entry: Mapping[str, Any],
    documents: Mapping[str, Any],
    collections: Collection[str] | None,
    *,
    complete: bool = True,
    fields: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Finding]:
    """Every problem in the configuration files ``documents`` (path → parsed document) that the
    well-formed manifest entry ``entry`` lists. ``collections``: those the same folder's schema
    defines (None: not checked). Without ``complete`` (a listed file could not be read), what
    the files say about each other is not checked: a reference into the unread file would be
    reported as broken. ``fields``: collection → field → type in that schema, which the kinds
    check their files against (None: not checked)."""
    found: list[Finding] = []
    theirs: dict[str, dict[str, Any]] = defaultdict(dict)  # group → path → document
    for relpath, document in documents.items():
        if not isinstance(document, dict):
            found.append(Finding(relpath, (), "must be a mapping with a 'kind'"))
            continue
        kind = document.get("kind")
        if not isinstance(kind, str):
            found.append(Finding(relpath, ("kind",) if "kind" in document else (), "must be a mapping with a 'kind'"))
        elif kind in BY_DOCUMENT:
            theirs[BY_DOCUMENT[kind].group][relpath] = document
        else:
            found.append(Finding(relpath, ("kind",), f"unknown kind {kind!r}"))
    context = Context(model=entry.get("model", model.POLICIES), entry=entry, collections=collections)
    listed = entry.get("groups") or []
    for kind in KINDS:
        if kind.group in theirs or kind.group in listed:
            found.extend(kind.findings(theirs.get(kind.group, {}), fields, complete, context))
    return found


def named(state: model.State) -> dict[str, set[str]]:
    """What the items of ``state`` name that ignore rules may leave out of the files: the
    collections of permissions and presets, the roles of role parents, users and the setting
    ``public_registration_role``, the folders of folder parents (keys as in ``IGNORED``)."""
    collections: set[str] = set()
    for holder in [*state.get("roles", []), *state.get("policies", []), state.get("public") or {}]:
        collections.update(str(p.get("collection")) for p in holder.get("permissions") or [])
    collections.update(str(p["collection"]) for p in state.get("presets", []) if p.get("collection"))
    roles = {str(r["parent"]) for r in state.get("roles", []) if r.get("parent")}
    roles.update(str(u["role"]) for u in state.get("users", []) if u.get("role"))
    registration = (state.get("settings") or {}).get("public_registration_role")
    if registration:
        roles.add(str(registration))
    folders = {str(f["parent"]) for f in state.get("folders", []) if f.get("parent")}
    return {"collections": collections, "roles": roles, "folders": folders}


def located(found: Iterable[Finding], text: Callable[[str], str | None], shown: Callable[[str], str]) -> list[str]:
    """Each finding as ``path:line: message``, the line found in the file's YAML text."""
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in found:
        by_file[finding.relpath].append(finding)
    result: list[tuple[str, int, str]] = []
    for relpath, items in by_file.items():
        content = text(relpath)
        lines = yamlio.locate(content, [f.at for f in items]) if content is not None else [None] * len(items)
        result.extend((shown(relpath), line or 0, f.message) for f, line in zip(items, lines, strict=True))
    return [f"{path}:{line}: {message}" if line else f"{path}: {message}" for path, line, message in sorted(result)]
