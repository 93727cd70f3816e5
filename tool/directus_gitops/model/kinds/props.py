"""What the kinds' validations share: a property's expected type, and the checks within and
across items (kinds/validate.py runs them; each kind declares its tables in its own module).

A table maps each synced property to a :class:`Prop`: its type (what Directus keeps NOT NULL
is required or never null), the values Directus knows, whether it is required; a property
not in the table is not synced and is reported (it would never reach the server, so a push
would read back differently). :class:`Checks` collects the findings of one kind's files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from directus_gitops.model.kinds.kind import Context, Finding, Location

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


ID = Prop("id", required=True)
NAME = Prop("text", required=True)  # NOT NULL in Directus
TEXT = Prop("text?")
FLAG = Prop("bool")  # NOT NULL booleans with a default


def is_system_collection(name: str) -> bool:
    """Directus's own collections are in no snapshot: any ``directus_*`` name counts as one
    (a newer Directus may have more than this release knows of)."""
    return name.startswith("directus_")


def not_json(value: Any, at: Location) -> tuple[Location, str] | None:
    """Where ``value`` holds something JSON cannot (Directus keeps these as JSON), and what."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (at, f"{value!r}, which JSON has no number for")
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = not_json(item, (*at, index))
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return (at, f"the key {key!r}, which is not a string (quote it)")
            found = not_json(item, (*at, key))
            if found:
                return found
        return None
    return (at, f"a {type(value).__name__} value, which JSON has no type for (quote it)")


def dotted(at: Location) -> str:
    return ".".join(str(part) for part in at)


@dataclass(frozen=True)
class Placed:
    """An item whose identity (id, key) passed its own checks, and where it is written: the
    checks across items look at these only, guarding every other property they read."""

    relpath: str
    at: Location
    item: Mapping[str, Any]


class Checks:
    """The findings of one kind's files, and the checks that find them."""

    def __init__(self, context: Context | None) -> None:
        context = context or Context()
        self.context = context
        self.kind_model = context.entry.get("model", "policies")
        self.groups = context.entry.get("groups") or []
        self.collections = context.collections  # None: the schema is not known (not checked against it)
        ignored = context.entry.get("ignored") or {}
        self.ignored = {key: frozenset(ignored.get(key) or ()) for key in IGNORED}  # (checked well-formed)
        self.found: list[Finding] = []

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
                self.add(relpath, (*at, key), f"{what}: '{key}' must be {words}, not {shown(value)}")
                named = named and prop.expect != "id"
            elif prop.expect == "object?":
                bad = not_json(value, (*at, key))
                if bad is not None:
                    self.add(relpath, bad[0], f"{what}: '{dotted(bad[0][len(at) :])}' holds {bad[1]}")
        return named

    def children(self, owner: Placed, key: str, table: Mapping[str, Prop], noun: str, into: list[Placed]) -> None:
        items = owner.item.get(key)
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            at = (*owner.at, key, index)
            name = (item.get("key") or item.get("name")) if isinstance(item, dict) else None
            label = f"{noun} {quoted(name)}" if isinstance(name, str) else f"{noun} {index + 1}"
            if self.props(owner.relpath, at, item, table, label):
                into.append(Placed(owner.relpath, at, item))

    def listed(self, relpath: str, kind: str, body: Mapping[str, Any], table: Mapping[str, Prop]) -> list[Placed]:
        """The items of a file holding ``items`` (presets, translations, folders, users)."""
        for key in body:
            if key != "items":
                self.add(relpath, (str(key),), f"unknown key {str(key)!r} (a {kind} file holds 'items')")
        items = body.get("items", [])
        if not isinstance(items, list):
            self.add(relpath, ("items",), "'items' must be a list of mappings")
            return []
        noun = kind.removesuffix("s")
        placed: list[Placed] = []
        for index, item in enumerate(items):
            at = ("items", index)
            if self.props(relpath, at, item, table, f"{noun} {index + 1}"):
                placed.append(Placed(relpath, at, item))
        return placed

    def unique(
        self, placed: Iterable[Placed], key: Callable[[Mapping[str, Any]], Any], name: str, at: Location
    ) -> None:
        """Each item whose identity ``key`` gives is one an item before it has (``name``:
        how a message says the identity, ``{}`` where it goes)."""
        first: dict[Any, Placed] = {}
        for item in placed:
            ident = key(item.item)
            if ident in first:
                where = "" if first[ident].relpath == item.relpath else f" (also in {first[ident].relpath})"
                text = ident if isinstance(ident, tuple) else repr(ident)
                self.add(item.relpath, (*item.at, *at), f"{name.format(text)} is defined again{where}")
            else:
                first[ident] = item

    def collection(self, placed: Placed, what: str) -> None:
        name = placed.item["collection"]
        if self.collections is None or name in self.collections or name in self.ignored["collections"]:
            return
        if not is_system_collection(name):
            self.add(placed.relpath, (*placed.at, "collection"), f"{what}: the schema defines no collection '{name}'")

    def role(self, placed: Placed, prop: str, message: str) -> None:
        """A reference to a role (``message`` says it, ``{}`` where the id goes), checked when
        the roles are in the files (the access kind, before this one, says which are defined)."""
        roles = self.context.defined.get("role")
        named = placed.item.get(prop)
        if roles is not None and isinstance(named, str) and named not in roles:
            self.add(placed.relpath, (*placed.at, prop), message.format(repr(named)))

    def parents(self, placed: list[Placed], noun: str, ignored: frozenset[str]) -> None:
        by_id = {p.item["id"]: p for p in placed}
        for item in placed:
            parent = item.item.get("parent")
            if not isinstance(parent, str) or parent in ignored:
                continue
            if parent not in by_id:
                message = f"{noun} {label(item.item)}: parent {parent!r} is not defined"
                self.add(item.relpath, (*item.at, "parent"), message)
                continue
            chain: list[str] = [item.item["id"]]
            current: Any = parent
            while isinstance(current, str) and current in by_id and current not in chain:
                chain.append(current)
                current = by_id[current].item.get("parent")
            if current == item.item["id"] and current == min(chain):  # once per circle
                text = " → ".join(quoted(by_id[i].item.get("name") or i) for i in [*chain, current])
                self.add(item.relpath, (*item.at, "parent"), f"{noun} parents run in a circle: {text}")


def body(document: Mapping[str, Any]) -> dict[str, Any]:
    """A file's document without its ``kind``."""
    return {key: value for key, value in document.items() if key != "kind"}


def by_id(item: Mapping[str, Any]) -> Any:
    return item.get("id")


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def quoted(name: Any) -> str:
    return f"'{name}'"


def label(item: Mapping[str, Any]) -> str:
    name = item.get("name") if isinstance(item.get("name"), str) else item.get("id")
    return f'"{name}"' if isinstance(name, str) else "(unnamed)"
