"""What is synced: ignore rules, and what a push keeps on the target (ignored parts, merge mode).

Rules are applied here, client-side, on every supported Directus release (12.2+ can filter
collections on its own endpoints, older releases cannot, and none can ignore single fields).

* ``apply(snapshot, rules)`` removes the ignored parts from a snapshot: ``pull`` writes the
  rest, ``diff`` and ``status`` compare the rest.
* ``keep_on_target(desired, target, rules, mode)`` adds the target's own ignored parts (and,
  in merge mode, everything that exists only on the target) to the snapshot a push sends,
  so Directus's diff sees them unchanged: they are neither created, changed nor dropped,
  and the hash guard still covers the whole target.

A relation between a kept and an ignored collection is ignored with the ignored collection,
and so are the fields that hold it on the kept side (the foreign-key field of a many-to-one,
the alias field of a one-to-many): a kept field pointing at a table that is not synced could
never be created on a target that lacks that table. ``notes`` name every such field.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from directus_gitops.base.errors import ConfigError

Mode = Literal["mirror", "merge"]
MODES: tuple[Mode, ...] = ("mirror", "merge")

# Whole kinds that can be ignored. The schema has two that can be left alone on their own;
# collections and fields are ignored by name.
KINDS = ("relations", "system_fields")
# Configuration items ignored by ``kind:name`` globs (kinds/ignore.py applies them).
CONFIG_KINDS = ("role", "policy", "flow", "dashboard", "folder", "preset", "translation", "setting", "user")
_RULE_KEYS = {"collections", "fields", "kinds", "config"}

Key = tuple[str, str]


@dataclass(frozen=True)
class Rules:
    """Ignore rules: collection globs, ``collection.field`` globs, whole kinds."""

    collections: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    config: tuple[str, ...] = ()  # "flow:Debug *", "role:Contractor"

    def __bool__(self) -> bool:
        return bool(self.collections or self.fields or self.kinds or self.config)

    @property
    def schema(self) -> bool:
        """Whether any rule ignores part of the data model (not only configuration items)."""
        return bool(self.collections or self.fields or self.kinds)

    def config_patterns(self, kind: str) -> tuple[str, ...]:
        """The name globs that ignore items of the configuration kind ``kind``."""
        return tuple(rule.split(":", 1)[1] for rule in self.config if rule.split(":", 1)[0] == kind)

    def __add__(self, other: Rules) -> Rules:
        def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(a + b))

        return Rules(
            union(self.collections, other.collections),
            union(self.fields, other.fields),
            union(self.kinds, other.kinds),
            union(self.config, other.config),
        )

    def ignores_collection(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.collections)

    def ignores_field(self, collection: str, name: str) -> bool:
        return self.ignores_collection(collection) or any(
            fnmatch.fnmatchcase(f"{collection}.{name}", pattern) for pattern in self.fields
        )

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "collections": list(self.collections),
            "fields": list(self.fields),
            "kinds": list(self.kinds),
            "config": list(self.config),
        }


def parse_rules(data: Any, where: str) -> Rules:
    """The ``ignore:`` mapping of the configuration file (or of one environment)."""
    if data is None:
        return Rules()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: 'ignore' must be a mapping with collections, fields, kinds or config")
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key 'ignore.{unknown[0]}' (known: {', '.join(sorted(_RULE_KEYS))})")

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ConfigError(f"{where}: 'ignore.{key}' must be a list of non-empty strings")
        return tuple(value)

    fields = strings("fields")
    for pattern in fields:
        if "." not in pattern:
            raise ConfigError(f"{where}: ignore.fields entry {pattern!r} must be collection.field (globs allowed)")
    kinds = strings("kinds")
    for kind in kinds:
        if kind not in KINDS:
            raise ConfigError(f"{where}: ignore.kinds entry {kind!r} is not one of {', '.join(KINDS)}")
    config = strings("config")
    for rule in config:
        kind, _, pattern = rule.partition(":")
        if kind not in CONFIG_KINDS or not pattern:
            raise ConfigError(
                f"{where}: ignore.config entry {rule!r} must be kind:name (globs allowed), "
                f"kind one of {', '.join(CONFIG_KINDS)}"
            )
    return Rules(strings("collections"), fields, kinds, config)


def parse_mode(value: Any, where: str) -> Mode:
    if value not in MODES:
        raise ConfigError(f"{where}: mode must be one of {', '.join(MODES)}, not {value!r}")
    return value  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- what is ignored


@dataclass(frozen=True)
class Ignored:
    """The parts of one snapshot that rules ignore, and why fields were taken along."""

    collections: frozenset[str] = frozenset()
    fields: frozenset[Key] = frozenset()
    relations: frozenset[Key] = frozenset()
    system_fields: bool = False
    notes: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.collections or self.fields or self.relations or self.system_fields)


def _key(entry: Mapping[str, Any]) -> Key:
    return (str(entry.get("collection", "")), str(entry.get("field", "")))


def ignored(snapshot: Mapping[str, Any], rules: Rules) -> Ignored:
    """What ``rules`` ignore in ``snapshot``, relations across the boundary included."""
    if not rules:
        return Ignored()
    collections = {
        c["collection"] for c in snapshot.get("collections", []) if rules.ignores_collection(c["collection"])
    }
    # Fields can outlive their collection entry in a broken snapshot: decide by name too.
    fields = {_key(f) for f in snapshot.get("fields", []) if rules.ignores_field(*_key(f))}
    relations: set[Key] = set()
    notes: list[str] = []
    for relation in snapshot.get("relations", []):
        key = _key(relation)
        many, one = key[0], relation.get("related_collection")
        one_field = (relation.get("meta") or {}).get("one_field")
        ignored_many = rules.ignores_collection(many)
        ignored_one = isinstance(one, str) and rules.ignores_collection(one)
        if not (ignored_many or ignored_one or key in fields or "relations" in rules.kinds):
            continue
        relations.add(key)
        if "relations" in rules.kinds and not (ignored_many or ignored_one):
            continue  # the kind alone: the fields stay synced
        if ignored_one and not ignored_many and key not in fields:
            fields.add(key)
            notes.append(f"{many}.{key[1]}: relates to the ignored collection {one}")
        if ignored_many and isinstance(one, str) and one_field and not ignored_one:
            alias = (one, str(one_field))
            if alias not in fields:
                fields.add(alias)
                notes.append(f"{one}.{one_field}: lists items of the ignored collection {many}")
    return Ignored(
        frozenset(collections),
        frozenset(fields),
        frozenset(relations),
        "system_fields" in rules.kinds,
        tuple(notes),
    )


def without(snapshot: Mapping[str, Any], parts: Ignored) -> dict[str, Any]:
    result = dict(snapshot)
    result["collections"] = [c for c in snapshot.get("collections", []) if c["collection"] not in parts.collections]
    result["fields"] = [f for f in snapshot.get("fields", []) if _key(f) not in parts.fields]
    result["relations"] = [r for r in snapshot.get("relations", []) if _key(r) not in parts.relations]
    if parts.system_fields:
        result.pop("systemFields", None)
    return result


def apply(snapshot: Mapping[str, Any], rules: Rules) -> tuple[dict[str, Any], Ignored]:
    """``snapshot`` without what ``rules`` ignore, and what that was."""
    parts = ignored(snapshot, rules)
    if not parts:
        return dict(snapshot), parts
    return without(snapshot, parts), parts


# --------------------------------------------------------------------------- what a push keeps


@dataclass(frozen=True)
class Kept:
    """Something on the target a push leaves as it is, and why."""

    kind: Literal["collection", "field", "relation"]
    name: str
    reason: str

    def line(self) -> str:
        return f"{self.kind} {self.name}: {self.reason}"


MERGE_REASON = "exists only on the target (merge mode never drops)"


def keep_on_target(
    desired: Mapping[str, Any],
    target: Mapping[str, Any],
    rules: Rules,
    mode: Mode,
    source_ignored: Ignored | None = None,
) -> tuple[dict[str, Any], tuple[Kept, ...]]:
    """``desired`` plus the target's ignored parts and, in merge mode, what only the target has.

    ``desired`` has had ``rules`` applied already (``source_ignored`` is what that left out:
    the target's entries of the same names are kept too). Returns the snapshot to send and
    what merge mode kept (ignored parts are not listed: they are not synced, so not part of
    any plan). The result's lists are its own; the entries ``desired`` holds are shared with
    it, not copied (nothing changes an entry in place), and the target's are copied.
    """
    result = {key: list(value) if isinstance(value, list) else value for key, value in desired.items()}
    result.setdefault("collections", [])
    result.setdefault("fields", [])
    result.setdefault("relations", [])
    parts = ignored(target, rules)
    if source_ignored:
        parts = Ignored(
            parts.collections | source_ignored.collections,
            parts.fields | source_ignored.fields,
            parts.relations | source_ignored.relations,
            parts.system_fields or source_ignored.system_fields,
        )
    if parts:
        # The target's version of an ignored part replaces whatever the desired side holds.
        result["collections"] = [c for c in result["collections"] if c["collection"] not in parts.collections]
        result["collections"] += [
            copy.deepcopy(c) for c in target.get("collections", []) if c["collection"] in parts.collections
        ]
        for key, chosen in (("fields", parts.fields), ("relations", parts.relations)):
            result[key] = [e for e in result[key] if _key(e) not in chosen]
            result[key] += [copy.deepcopy(e) for e in target.get(key, []) if _key(e) in chosen]
        if parts.system_fields and "systemFields" in target:
            result["systemFields"] = copy.deepcopy(target["systemFields"])
    kept: list[Kept] = []
    if mode == "merge":
        kept = _merge(result, target)
    return result, tuple(kept)


def _merge(result: dict[str, Any], target: Mapping[str, Any]) -> list[Kept]:
    kept: list[Kept] = []
    names = {c["collection"] for c in result["collections"]}
    new_collections = [c for c in target.get("collections", []) if c["collection"] not in names]
    for entry in new_collections:
        fields = sum(1 for f in target.get("fields", []) if f.get("collection") == entry["collection"])
        reason = MERGE_REASON if not fields else f"{MERGE_REASON}, with its {fields} field(s)"
        kept.append(Kept("collection", entry["collection"], reason))
    result["collections"] += copy.deepcopy(new_collections)
    only_there = {c["collection"] for c in new_collections}
    for key, kind in (("fields", "field"), ("relations", "relation")):
        present = {_key(e) for e in result[key]}
        extra = [e for e in target.get(key, []) if _key(e) not in present]
        for entry in extra:
            if entry.get("collection") not in only_there:
                name = ".".join(_key(entry))
                kept.append(Kept(kind, name, MERGE_REASON))  # type: ignore[arg-type]
        result[key] += copy.deepcopy(extra)
    return kept


def summary(parts: Iterable[Ignored]) -> str:
    """``2 collections, 1 field`` left out by rules (for a message; never names them)."""
    collections = fields = relations = 0
    for part in parts:
        collections += len(part.collections)
        fields += len({f for f in part.fields if f[0] not in part.collections})
        relations += len({r for r in part.relations if r[0] not in part.collections})
    counts = [(collections, "collection"), (fields, "field"), (relations, "relation")]
    return ", ".join(f"{n} {noun}{'' if n == 1 else 's'}" for n, noun in counts if n) or "nothing"
