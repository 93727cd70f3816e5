"""The one validation of the configuration kinds' files, shared by ``check`` and every reader.

Every problem is listed as a :class:`Finding` (the file, the place in its document, a
message); the caller turns the place into a line. ``check`` and the schema readers
(``validate.load_tree``, so ``diff``, ``log``, ``plan`` and ``push``) run it with the
collections of the same folder's schema; :func:`files.parse` runs it on every read, and
``pull`` runs it on the files it is about to write.

What is checked, kind by kind, is declared in the tables below: each synced property's type
(what Directus keeps NOT NULL is required or never null), the values Directus knows (a
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

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from directus_gitops.files import store, yamlio
from directus_gitops.model.kinds import model
from directus_gitops.model.kinds.kind import Finding, Location
from directus_gitops.model.kinds.registry import BY_DOCUMENT, BY_GROUP

# --------------------------------------------------------------------------- what Directus accepts

# @directus/constants PERMISSION_ACTIONS.
ACTIONS = ("create", "read", "update", "delete", "share")
# The flow triggers and accountability values the app and the flow manager know.
FLOW_STATUSES = ("active", "inactive")
FLOW_TRIGGERS = ("event", "webhook", "operation", "schedule", "manual")
FLOW_ACCOUNTABILITY = ("all", "activity")
# The kinds a file may hold, and the groups a manifest may list.
PER_ITEM = {"role": "roles", "policy": "policies", "flow": "flows", "dashboard": "dashboards"}
LISTS = ("presets", "translations", "folders", "users")
GROUPS = ("access", "flows", "dashboards", "presets", "settings", "translations", "folders", "users", "data")
ENTRY_KEYS = ("model", "groups", "files", "ignored")
# What the files may name that ignore rules leave out of them (config.ignored).
IGNORED = ("collections", "roles", "folders")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What a property's value must be, and how a message says it.
_EXPECT: dict[str, tuple[Callable[[Any], bool], str]] = {
    "id": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "text": (lambda v: isinstance(v, str), "a string"),
    "text?": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (_is_int, "an integer"),
    "int?": (lambda v: v is None or _is_int(v), "an integer or null"),
    "object?": (lambda v: v is None or isinstance(v, dict), "a mapping or null"),
    "strings": (lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v), "a list of strings"),
    "strings?": (
        lambda v: v is None or (isinstance(v, list) and all(isinstance(i, str) for i in v)),
        "a list of strings or null",
    ),
    "items": (lambda v: isinstance(v, list), "a list"),  # nested items, each checked on its own
}


@dataclass(frozen=True)
class Prop:
    expect: str  # a key of _EXPECT
    required: bool = False
    choices: tuple[str, ...] = ()  # the only strings Directus knows here


_ID = Prop("id", required=True)
_NAME = Prop("text", required=True)  # NOT NULL in Directus
_TEXT = Prop("text?")
_FLAG = Prop("bool")  # NOT NULL booleans with a default

ROLE_11 = {
    "id": _ID,
    "builtin": Prop("text", choices=(model.ADMINISTRATOR,)),
    "name": _NAME,
    "icon": Prop("text"),
    "description": _TEXT,
    "parent": _TEXT,
    "policies": Prop("strings"),
}
_ACCESS = {
    "ip_access": Prop("strings?"),
    "enforce_tfa": _FLAG,
    "admin_access": _FLAG,
    "app_access": _FLAG,
    "permissions": Prop("items"),
}
ROLE_10 = {
    "id": _ID,
    "builtin": Prop("text", choices=(model.ADMINISTRATOR,)),
    "name": _NAME,
    "icon": Prop("text"),
    "description": _TEXT,
    **_ACCESS,
}
POLICY = {
    "id": _ID,
    "builtin": Prop("text", choices=(model.ADMINISTRATOR, model.PUBLIC)),
    "public": _FLAG,
    "name": _NAME,
    "icon": Prop("text"),
    "description": _TEXT,
    **_ACCESS,
}
PUBLIC = {"permissions": Prop("items")}
PERMISSION = {
    "collection": Prop("id", required=True),
    "action": Prop("text", required=True, choices=ACTIONS),
    "permissions": Prop("object?"),
    "validation": Prop("object?"),
    "presets": Prop("object?"),
    "fields": Prop("strings?"),
}
FLOW = {
    "id": _ID,
    "name": _NAME,
    "icon": _TEXT,
    "color": _TEXT,
    "description": _TEXT,
    "status": Prop("text", choices=FLOW_STATUSES),
    "trigger": Prop("text?", choices=FLOW_TRIGGERS),
    "accountability": Prop("text?", choices=FLOW_ACCOUNTABILITY),
    "options": Prop("object?"),
    "operation": _TEXT,
    "operations": Prop("items"),
}
OPERATION = {
    "id": _ID,
    "key": Prop("id", required=True),
    "name": _TEXT,
    "type": Prop("id", required=True),
    "position_x": Prop("int", required=True),
    "position_y": Prop("int", required=True),
    "options": Prop("object?"),
    "resolve": _TEXT,
    "reject": _TEXT,
}
DASHBOARD = {
    "id": _ID,
    "name": _NAME,
    "icon": Prop("text"),
    "note": _TEXT,
    "color": _TEXT,
    "panels": Prop("items"),
}
PANEL = {
    "id": _ID,
    "name": _TEXT,
    "icon": _TEXT,
    "color": _TEXT,
    "show_header": _FLAG,
    "note": _TEXT,
    "type": Prop("id", required=True),
    "position_x": Prop("int", required=True),
    "position_y": Prop("int", required=True),
    "width": Prop("int", required=True),
    "height": Prop("int", required=True),
    "options": Prop("object?"),
}
PRESET = {
    "bookmark": _TEXT,
    "role": _TEXT,
    "collection": _TEXT,
    "search": _TEXT,
    "layout": _TEXT,
    "layout_query": Prop("object?"),
    "layout_options": Prop("object?"),
    "refresh_interval": Prop("int?"),
    "filter": Prop("object?"),
    "icon": _TEXT,
    "color": _TEXT,
}
TRANSLATION = {"language": _NAME, "key": _NAME, "value": _NAME}
FOLDER = {"id": _ID, "name": _NAME, "parent": _TEXT}
USER = {
    "email": Prop("id", required=True),
    "first_name": _TEXT,
    "last_name": _TEXT,
    "role": _TEXT,
    "status": Prop("text"),
    "title": _TEXT,
    "description": _TEXT,
    "location": _TEXT,
    "language": _TEXT,
    "tags": Prop("strings?"),
    "provider": Prop("text"),
    "external_identifier": _TEXT,
}
_LIST_ITEMS = {"presets": PRESET, "translations": TRANSLATION, "folders": FOLDER, "users": USER}
_LIST_NOUNS = {"presets": "preset", "translations": "translation", "folders": "folder", "users": "user"}


def is_system_collection(name: str) -> bool:
    """Directus's own collections are in no snapshot: any ``directus_*`` name counts as one
    (a newer Directus may have more than this release knows of)."""
    return name.startswith("directus_")


def _not_json(value: Any, at: Location) -> tuple[Location, str] | None:
    """Where ``value`` holds something JSON cannot (Directus keeps these as JSON), and what."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (at, f"{value!r}, which JSON has no number for")
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, (*at, index))
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return (at, f"the key {key!r}, which is not a string (quote it)")
            found = _not_json(item, (*at, key))
            if found:
                return found
        return None
    return (at, f"a {type(value).__name__} value, which JSON has no type for (quote it)")


def _dotted(at: Location) -> str:
    return ".".join(str(part) for part in at)


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


@dataclass(frozen=True)
class _Placed:
    """An item whose identity (id, key) passed its own checks, and where it is written: the
    checks across items look at these only, guarding every other property they read."""

    relpath: str
    at: Location
    item: Mapping[str, Any]


class _Checker:
    def __init__(self, entry: Mapping[str, Any], collections: Collection[str] | None) -> None:
        self.kind_model = entry.get("model", model.POLICIES)
        self.groups = entry.get("groups") or []
        self.collections = collections  # None: the schema is not known (not checked against it)
        ignored = entry.get("ignored") or {}
        self.ignored = {key: frozenset(ignored.get(key) or ()) for key in IGNORED}  # (checked well-formed)
        self.found: list[Finding] = []
        self.items: dict[str, list[_Placed]] = defaultdict(list)  # by group
        # (holder's place, its label, its permissions)
        self.holders: list[tuple[_Placed, str, list[_Placed]]] = []
        self.operations: dict[int, list[_Placed]] = {}  # by id() of the flow's item
        self.panels: list[_Placed] = []
        self.settings: list[_Placed] = []
        self.public: list[_Placed] = []
        self.theirs: dict[str, dict[str, Any]] = defaultdict(dict)  # kinds of kind.py: group → path → document

    def add(self, relpath: str, at: Location, message: str) -> None:
        self.found.append(Finding(relpath, at, message))

    def props(self, relpath: str, at: Location, item: Any, table: Mapping[str, Prop], what: str) -> bool:
        """Check one item against its table; whether what names it is right, so that the
        checks across items can look at it (and references to it are not reported too)."""
        if not isinstance(item, dict):
            self.add(relpath, at, f"{what} must be a mapping")
            return False
        for key in item:
            if key not in table:
                self.add(relpath, (*at, str(key)), f"{what}: unknown property {str(key)!r} (it is not synced)")
        named = True
        for key, prop in table.items():
            if key not in item:
                if prop.required:
                    self.add(relpath, at, f"{what}: '{key}' is missing")
                    named = named and prop.expect != "id"
                continue
            value = item[key]
            test, words = _EXPECT[prop.expect]
            if prop.choices:
                words = "one of " + ", ".join(prop.choices) + (" or null" if prop.expect.endswith("?") else "")
            if not test(value) or (prop.choices and value is not None and value not in prop.choices):
                self.add(relpath, (*at, key), f"{what}: '{key}' must be {words}, not {_shown(value)}")
                named = named and prop.expect != "id"
            elif prop.expect == "object?":
                bad = _not_json(value, (*at, key))
                if bad is not None:
                    self.add(relpath, bad[0], f"{what}: '{_dotted(bad[0][len(at) :])}' holds {bad[1]}")
        return named

    # ------------------------------------------------------------------ one file

    def document(self, relpath: str, document: Any) -> None:
        if not isinstance(document, dict):
            self.add(relpath, (), "must be a mapping with a 'kind'")
            return
        kind = document.get("kind")
        if not isinstance(kind, str):
            self.add(relpath, ("kind",) if "kind" in document else (), "must be a mapping with a 'kind'")
            return
        body = {key: value for key, value in document.items() if key != "kind"}
        if kind in PER_ITEM:
            self.per_item(relpath, kind, body)
        elif kind == "public":
            if self.kind_model != model.ROLES:
                self.add(relpath, ("kind",), "the public role's file belongs to the 9.x/10.x access model only")
                return
            if self.props(relpath, (), body, PUBLIC, "public"):
                placed = _Placed(relpath, (), body)
                self.public.append(placed)
                self.permissions(placed, "public", body)
        elif kind in LISTS:
            self.listed(relpath, kind, body)
        elif kind == "settings":
            self.settings_file(relpath, body)
        elif kind in BY_DOCUMENT:
            self.theirs[BY_DOCUMENT[kind].group][relpath] = document
        else:
            self.add(relpath, ("kind",), f"unknown kind {kind!r}")

    def per_item(self, relpath: str, kind: str, body: dict[str, Any]) -> None:
        group = PER_ITEM[kind]
        if kind == "policy" and self.kind_model == model.ROLES:
            message = "policies belong to the 11+ access model; this folder's config model is 'roles'"
            self.add(relpath, ("kind",), message)
            return
        table = {
            "role": ROLE_10 if self.kind_model == model.ROLES else ROLE_11,
            "policy": POLICY,
            "flow": FLOW,
            "dashboard": DASHBOARD,
        }[kind]
        what = f"{kind} {_label(body)}"
        if not self.props(relpath, (), body, table, what):
            return  # without an id nothing else can refer to it
        placed = _Placed(relpath, (), body)
        self.items[group].append(placed)
        if kind in ("role", "policy") and "permissions" in table:
            self.permissions(placed, what, body)
        elif kind == "flow" and isinstance(body.get("operations", []), list):
            # (a flow whose operations are no list has no references to check)
            self.children(placed, "operations", OPERATION, "operation", self.operations.setdefault(id(body), []))
        elif kind == "dashboard":
            self.children(placed, "panels", PANEL, "panel", self.panels)

    def permissions(self, holder: _Placed, what: str, body: Mapping[str, Any]) -> None:
        found: list[_Placed] = []
        items = body.get("permissions")
        if isinstance(items, list):
            for index, item in enumerate(items):
                at = (*holder.at, "permissions", index)
                label = f"{what}: permission {_permission_label(item)}"
                if self.props(holder.relpath, at, item, PERMISSION, label):
                    found.append(_Placed(holder.relpath, at, item))
        self.holders.append((holder, what, found))

    def children(self, owner: _Placed, key: str, table: Mapping[str, Prop], noun: str, into: list[_Placed]) -> None:
        items = owner.item.get(key)
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            at = (*owner.at, key, index)
            name = (item.get("key") or item.get("name")) if isinstance(item, dict) else None
            label = f"{noun} {_quoted(name)}" if isinstance(name, str) else f"{noun} {index + 1}"
            if self.props(owner.relpath, at, item, table, label):
                into.append(_Placed(owner.relpath, at, item))

    def listed(self, relpath: str, kind: str, body: dict[str, Any]) -> None:
        for key in body:
            if key != "items":
                self.add(relpath, (str(key),), f"unknown key {str(key)!r} (a {kind} file holds 'items')")
        items = body.get("items", [])
        if not isinstance(items, list):
            self.add(relpath, ("items",), "'items' must be a list of mappings")
            return
        noun = _LIST_NOUNS[kind]
        for index, item in enumerate(items):
            at = ("items", index)
            if self.props(relpath, at, item, _LIST_ITEMS[kind], f"{noun} {index + 1}"):
                self.items[kind].append(_Placed(relpath, at, item))

    def settings_file(self, relpath: str, body: dict[str, Any]) -> None:
        for key in body:
            if key != "settings":
                self.add(relpath, (str(key),), f"unknown key {str(key)!r} (the settings file holds 'settings')")
        settings = body.get("settings", {})
        if not isinstance(settings, dict):
            self.add(relpath, ("settings",), f"'settings' must be a mapping, not {_shown(settings)}")
            return
        bad = _not_json(settings, ("settings",))
        if bad is not None:
            self.add(relpath, bad[0], f"'{_dotted(bad[0])}' holds {bad[1]}")
            return
        self.settings.append(_Placed(relpath, ("settings",), settings))

    # ------------------------------------------------------------------ across files

    def across(self) -> None:
        operations = [op for ops in self.operations.values() for op in ops]
        for group, noun in (
            (self.items["roles"], "role"),
            (self.items["policies"], "policy"),
            (self.items["flows"], "flow"),
            (self.items["dashboards"], "dashboard"),
            (operations, "operation"),
            (self.panels, "panel"),
            (self.items["folders"], "folder"),
        ):
            self.unique(group, _by_id, f"{noun} id {{}}", ("id",))
        self.unique(self.items["presets"], model.preset_key, "a preset for (role, collection, bookmark) {}", ())
        self.unique(self.items["translations"], model.translation_key, "the translation (language, key) {}", ("key",))
        self.unique(self.items["users"], model.user_key, "user {}", ("email",))
        for group, noun in ((self.items["roles"], "role"), (self.items["policies"], "policy")):
            admins = [p for p in group if p.item.get("builtin") == model.ADMINISTRATOR]
            self.unique(admins, _builtin, f"the {{}} {noun}", ("builtin",))
        for extra, noun in ((self.settings, "settings"), (self.public, "the public role's permissions")):
            for placed in extra[1:]:
                self.add(placed.relpath, placed.at, f"{noun}: defined again (also in {extra[0].relpath})")
        for _, what, permissions in self.holders:
            self.unique(permissions, model.permission_key, f"{what}: the permission (collection, action) {{}}", ())
            for placed in permissions:
                self.collection(placed, f"{what}: permission {_permission_label(placed.item)}")
        for placed in self.items["presets"]:
            if isinstance(placed.item.get("collection"), str):
                self.collection(placed, "preset")
        self.flows()
        self.access()
        self.parents(self.items["folders"], "folder", self.ignored["folders"])

    def unique(
        self, placed: Iterable[_Placed], key: Callable[[Mapping[str, Any]], Any], name: str, at: Location
    ) -> None:
        """Each item whose identity ``key`` gives is one an item before it has (``name``:
        how a message says the identity, ``{}`` where it goes)."""
        first: dict[Any, _Placed] = {}
        for item in placed:
            ident = key(item.item)
            if ident in first:
                where = "" if first[ident].relpath == item.relpath else f" (also in {first[ident].relpath})"
                shown = ident if isinstance(ident, tuple) else repr(ident)
                self.add(item.relpath, (*item.at, *at), f"{name.format(shown)} is defined again{where}")
            else:
                first[ident] = item

    def collection(self, placed: _Placed, what: str) -> None:
        name = placed.item["collection"]
        if self.collections is None or name in self.collections or name in self.ignored["collections"]:
            return
        if not is_system_collection(name):
            self.add(placed.relpath, (*placed.at, "collection"), f"{what}: the schema defines no collection '{name}'")

    def flows(self) -> None:
        for flow in self.items["flows"]:
            if id(flow.item) not in self.operations:
                continue
            operations = self.operations[id(flow.item)]
            keys = {op.item["key"] for op in operations}
            self.unique(operations, _by_key, "operation key {}", ("key",))
            first = flow.item.get("operation")
            if isinstance(first, str) and first not in keys:
                message = f"flow {_label(flow.item)}: 'operation' names {first!r}, {_NOT_OP}"
                self.add(flow.relpath, (*flow.at, "operation"), message)
            targets: dict[tuple[str, str], _Placed] = {}
            for op in operations:
                for link in ("resolve", "reject"):
                    target = op.item.get(link)
                    if not isinstance(target, str):
                        continue
                    what = f"operation {_quoted(op.item['key'])}"
                    if target not in keys:
                        self.add(op.relpath, (*op.at, link), f"{what}: '{link}' names {target!r}, {_NOT_OP}")
                    elif (link, target) in targets:
                        other = targets[(link, target)].item["key"]
                        message = (
                            f"{what}: '{link}' names {target!r}, which is already the {link} of operation "
                            f"{_quoted(other)} (Directus keeps {link} links unique)"
                        )
                        self.add(op.relpath, (*op.at, link), message)
                    else:
                        targets[(link, target)] = op
            self.cycles(operations)

    def cycles(self, operations: list[_Placed]) -> None:
        by_key = {op.item["key"]: op for op in operations}
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for start in by_key:
            if start in state:
                continue
            path: list[tuple[str, list[tuple[str, str]]]] = [(start, _links(by_key[start].item, by_key))]
            state[start] = 1
            while path:
                key, pending = path[-1]
                if not pending:
                    state[key] = 2
                    path.pop()
                    continue
                link, target = pending.pop(0)
                if state.get(target) == 1:
                    keys = [k for k, _ in path]
                    circle = [*keys[keys.index(target) :], target]
                    op = by_key[key]
                    shown = " → ".join(_quoted(k) for k in circle)
                    self.add(op.relpath, (*op.at, link), f"operations {shown} form a cycle along resolve/reject links")
                elif target not in state:
                    state[target] = 1
                    path.append((target, _links(by_key[target].item, by_key)))

    def access(self) -> None:
        synced = "access" in self.groups or bool(self.items["roles"] or self.items["policies"])
        roles = {p.item["id"] for p in self.items["roles"]} | self.ignored["roles"]
        policies = {p.item["id"] for p in self.items["policies"]}
        for holder in self.items["roles"]:
            listed = holder.item.get("policies")
            if isinstance(listed, list):
                seen: set[str] = set()
                for index, policy in enumerate(listed):
                    if not isinstance(policy, str):
                        continue  # (reported with the role's own checks)
                    where: Location = (*holder.at, "policies", index)
                    what = f"role {_label(holder.item)}"
                    if policy not in policies:
                        self.add(holder.relpath, where, f"{what}: policy {policy!r} is not defined")
                    elif policy in seen:
                        self.add(holder.relpath, where, f"{what}: lists policy {policy!r} twice")
                    seen.add(policy)
        self.parents(self.items["roles"], "role", self.ignored["roles"])
        if not synced:
            return  # the roles are not in the files: references to them cannot be checked
        for group, noun in (("presets", "preset"), ("users", "user")):
            for placed in self.items[group]:
                named = placed.item.get("role")
                if isinstance(named, str) and named not in roles:
                    self.add(placed.relpath, (*placed.at, "role"), f"{noun}: role {named!r} is not defined")
        for placed in self.settings:
            named = placed.item.get("public_registration_role")
            if isinstance(named, str) and named not in roles:
                where = (*placed.at, "public_registration_role")
                self.add(placed.relpath, where, f"settings: public_registration_role {named!r} is not a defined role")

    def parents(self, placed: list[_Placed], noun: str, ignored: frozenset[str]) -> None:
        by_id = {p.item["id"]: p for p in placed}
        for item in placed:
            parent = item.item.get("parent")
            if not isinstance(parent, str) or parent in ignored:
                continue
            if parent not in by_id:
                message = f"{noun} {_label(item.item)}: parent {parent!r} is not defined"
                self.add(item.relpath, (*item.at, "parent"), message)
                continue
            chain: list[str] = [item.item["id"]]
            current: Any = parent
            while isinstance(current, str) and current in by_id and current not in chain:
                chain.append(current)
                current = by_id[current].item.get("parent")
            if current == item.item["id"] and current == min(chain):  # once per circle
                shown = " → ".join(_quoted(by_id[i].item.get("name") or i) for i in [*chain, current])
                self.add(item.relpath, (*item.at, "parent"), f"{noun} parents run in a circle: {shown}")


_NOT_OP = "which is not the key of an operation of this flow"


def _by_id(item: Mapping[str, Any]) -> Any:
    return item.get("id")


def _by_key(item: Mapping[str, Any]) -> Any:
    return item.get("key")


def _builtin(item: Mapping[str, Any]) -> Any:
    return item.get("builtin")


def _links(item: Mapping[str, Any], by_key: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (link, item[link]) for link in ("resolve", "reject") if isinstance(item.get(link), str) and item[link] in by_key
    ]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _quoted(name: Any) -> str:
    return f"'{name}'"


def _label(item: Mapping[str, Any]) -> str:
    name = item.get("name") if isinstance(item.get("name"), str) else item.get("id")
    return f'"{name}"' if isinstance(name, str) else "(unnamed)"


def _permission_label(item: Any) -> str:
    if not isinstance(item, dict):
        return "(not a mapping)"
    return f"{item.get('collection')}.{item.get('action')}"


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
    of kind.py check their files against (None: not checked)."""
    checker = _Checker(entry, collections)
    for relpath, document in documents.items():
        checker.document(relpath, document)
    if complete:
        checker.across()
    for group, theirs in checker.theirs.items():
        checker.found.extend(BY_GROUP[group].findings(theirs, fields, complete))
    return checker.found


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
