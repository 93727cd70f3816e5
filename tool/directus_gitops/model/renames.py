"""Renames that keep the data: the record in the manifest, the files rewritten, the changes folded.

Directus has no rename: its schema apply turns one into a drop and an add, which loses the
column. ``directus-gitops rename`` rewrites the schema folder and records the rename in the
manifest (``renames: [{collection, from, to}]``), so that every later comparison against a side
still holding the old name shows ``→ rename articles.title → articles.headline`` instead of a
drop and an add, and ``push`` copies the values before the old field goes (engine/rename.py).

The rewrite covers the field itself, the relations naming it (field, many_field, one_field,
junction_field, sort_field, one_collection_field, column, constraint_name), the references to it
inside the model (display templates, sort and archive fields, duplication fields, conditions and
validation filters, groups), and in the configuration: permissions' field lists, rules,
validation and presets, presets' layout queries, options and filters, reference data, flows'
item operations and conditions on an event's item, and panels' field options, filters and
templates. What may name the field in free text is left as it is and reported.

``status`` folds a rename the other way round (:func:`fold_pending`): its drift compares the
target with a commit, not a commit with the target. Where a record was committed comes from
git (:func:`record_commits`, engine/records.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from directus_gitops.base.errors import ConfigError
from directus_gitops.files import snapshot as snap
from directus_gitops.files import yamlio
from directus_gitops.files.gitrepo import NOT_COMMITTED, Blamed
from directus_gitops.model import changes as model
from directus_gitops.model import collection_renames

MANIFEST_KEY = "renames"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Filter keys that hold more filters on the same collection.
_NESTING = frozenset({"_and", "_or", "_some", "_none"})

Related = Callable[[str, str], str | None]  # (collection, field) → the collection its values point at


@dataclass(frozen=True)
class Rename:
    """One field renamed in one collection (``old`` → ``new``); or, with ``whole``, the
    collection itself (``collection`` = ``old`` → ``new``: model/collection_renames.py)."""

    collection: str
    old: str
    new: str
    whole: bool = False

    @classmethod
    def of_collection(cls, old: str, new: str) -> Rename:
        return cls(old, old, new, whole=True)

    @property
    def label(self) -> str:
        if self.whole:
            return f"{self.old} → {self.new}"
        return f"{self.collection}.{self.old} → {self.collection}.{self.new}"

    def entry(self) -> dict[str, str]:
        if self.whole:
            return {"collection": self.old, "to": self.new}
        return {"collection": self.collection, "from": self.old, "to": self.new}


def recorded(manifest: Mapping[str, Any] | None) -> tuple[Rename, ...]:
    """The renames a (well-formed) manifest records, oldest first (fields' and collections')."""
    return tuple(
        Rename(str(item["collection"]), str(item["from"]), str(item["to"]))
        if "from" in item
        else Rename.of_collection(str(item["collection"]), str(item["to"]))
        for item in (manifest or {}).get(MANIFEST_KEY) or []
    )


def entries(renames: Iterable[Rename]) -> list[dict[str, str]]:
    return [rename.entry() for rename in renames]


def effective(renames: Sequence[Rename]) -> list[Rename]:
    """Each recorded name to the name the last rename of a chain gives it (a → b, b → c: a → c
    and b → c), so a target that missed several renames is taken the whole way at once."""
    result: list[Rename] = []
    renames = [rename for rename in renames if not rename.whole]  # collections: collection_renames.effective
    for index, first in enumerate(renames):
        name = first.new
        for later in renames[index + 1 :]:
            if later.collection == first.collection and later.old == name:
                name = later.new
        if name != first.old and all((r.collection, r.old) != (first.collection, first.old) for r in result):
            result.append(Rename(first.collection, first.old, name))
    return result


def parse_argument(text: str, where: str) -> tuple[str, str | None]:
    """``COLLECTION.FIELD`` as (collection, field), or ``COLLECTION`` as (collection, None)."""
    collection, dot, field = text.partition(".")
    for part in (collection, field) if dot else (collection,):
        if not _NAME.match(part):
            raise ConfigError(
                f"{where} '{text}' is not COLLECTION.FIELD (letters, digits, '_' and '-'; one '.')",
                hint="for example: directus-gitops rename articles.title articles.headline",
            )
    return collection, field if dot else None


# --------------------------------------------------------------------------- the data model


def relations_of(snapshot: Mapping[str, Any]) -> Related:
    """Where a field's values point (m2o: the related collection; o2m alias: the many side)."""
    found: dict[tuple[str, str], str] = {}
    for relation in snapshot.get("relations") or []:
        if relation.get("related_collection"):
            found[(str(relation["collection"]), str(relation["field"]))] = str(relation["related_collection"])
        one_field = (relation.get("meta") or {}).get("one_field")
        if one_field and relation.get("related_collection"):
            found[(str(relation["related_collection"]), str(one_field))] = str(relation["collection"])
    return lambda collection, field: found.get((collection, field))


def rename_path(path: str, collection: str | None, rename: Rename, related: Related) -> str:
    """A dotted field path read from ``collection`` (``author.name``), with the renamed field's
    segment renamed wherever the path passes through its collection."""
    parts = path.split(".")
    for index, part in enumerate(parts):
        if collection is None:
            break
        bare = part.lstrip("-")  # a sort: -title
        if collection == rename.collection and bare == rename.old:
            parts[index] = part[: len(part) - len(bare)] + rename.new
        collection = related(collection, bare)
    return ".".join(parts)


def rename_template(template: Any, collection: str | None, rename: Rename, related: Related) -> Any:
    """A display template (``{{title}} by {{author.name}}``) read from ``collection``."""
    if not isinstance(template, str) or collection is None:
        return template
    return _TEMPLATE.sub(
        lambda m: m.group(0).replace(m.group(1), rename_path(m.group(1), collection, rename, related)), template
    )


def rename_filter(value: Any, collection: str | None, rename: Rename, related: Related) -> Any:
    """A Directus filter (or permission rule, validation) on ``collection``: field keys renamed,
    through relations too (``{author: {name: {_eq: …}}}``); values are never touched."""
    if isinstance(value, list):
        return [rename_filter(item, collection, rename, related) for item in value]
    if not isinstance(value, dict) or collection is None:
        return value
    result: dict[str, Any] = {}
    for key, inner in value.items():
        if key in _NESTING:
            result[key] = rename_filter(inner, collection, rename, related)
        elif key.startswith("_"):
            result[key] = inner
        else:
            name = rename.new if (collection == rename.collection and key == rename.old) else key
            result[name] = rename_filter(inner, related(collection, key), rename, related)
    return result


def _rename_list(names: Any, collection: str | None, rename: Rename, related: Related) -> Any:
    """A list of field paths (kept sorted when it was)."""
    if not isinstance(names, list):
        return names
    renamed = [rename_path(n, collection, rename, related) if isinstance(n, str) else n for n in names]
    was_sorted = all(isinstance(n, str) for n in names) and names == sorted(names)
    return sorted(renamed) if was_sorted else renamed


def _rename_keys(mapping: Any, collection: str, rename: Rename) -> Any:
    if not isinstance(mapping, dict) or collection != rename.collection or rename.old not in mapping:
        return mapping
    return {rename.new if key == rename.old else key: value for key, value in mapping.items()}


def field_entry(entry: Mapping[str, Any], new: str) -> dict[str, Any]:
    """A field's snapshot entry under another name (what names it: field, meta.field, schema.name)."""
    result = copy.deepcopy(dict(entry))
    result["field"] = new
    if isinstance(result.get("meta"), dict):
        result["meta"]["field"] = new
    if isinstance(result.get("schema"), dict):
        result["schema"]["name"] = new
    return result


def relation_entry(entry: Mapping[str, Any], rename: Rename) -> dict[str, Any]:
    """A relation with the renamed field's name wherever it names it."""
    result = copy.deepcopy(dict(entry))
    meta, schema = result.get("meta"), result.get("schema")
    own = result.get("collection") == rename.collection
    if own and result.get("field") == rename.old:
        result["field"] = rename.new
        if isinstance(meta, dict) and meta.get("many_field") == rename.old:
            meta["many_field"] = rename.new
        if isinstance(schema, dict):
            if schema.get("column") == rename.old:
                schema["column"] = rename.new
            if schema.get("constraint_name") == f"{rename.collection}_{rename.old}_foreign":
                schema["constraint_name"] = f"{rename.collection}_{rename.new}_foreign"
    if isinstance(meta, dict):
        if own:
            for key in ("junction_field", "sort_field", "one_collection_field"):
                if meta.get(key) == rename.old:
                    meta[key] = rename.new
        if meta.get("one_collection") == rename.collection and meta.get("one_field") == rename.old:
            meta["one_field"] = rename.new
    return result


def _field_references(entry: dict[str, Any], rename: Rename, related: Related) -> None:
    """A field's own references to the renamed one: its group, conditions and validation (on its
    collection), and the templates it shows of the items it points at."""
    collection = str(entry.get("collection"))
    meta = entry.get("meta")
    if not isinstance(meta, dict):
        return
    if collection == rename.collection and meta.get("group") == rename.old:
        meta["group"] = rename.new
    if meta.get("validation"):
        meta["validation"] = rename_filter(meta["validation"], collection, rename, related)
    conditions = meta.get("conditions")
    if isinstance(conditions, list):
        for condition in conditions:
            if isinstance(condition, dict) and condition.get("rule"):
                condition["rule"] = rename_filter(condition["rule"], collection, rename, related)
    subject = related(collection, str(entry.get("field")))
    for key in ("options", "display_options"):
        options = meta.get(key)
        if isinstance(options, dict) and "template" in options:
            options["template"] = rename_template(options["template"], subject, rename, related)


def _collection_references(entry: dict[str, Any], rename: Rename, related: Related) -> None:
    meta = entry.get("meta")
    collection = str(entry.get("collection"))
    if not isinstance(meta, dict):
        return
    if collection == rename.collection:
        for key in ("sort_field", "archive_field"):
            if meta.get(key) == rename.old:
                meta[key] = rename.new
    if meta.get("display_template"):
        meta["display_template"] = rename_template(meta["display_template"], collection, rename, related)
    if isinstance(meta.get("item_duplication_fields"), list):
        meta["item_duplication_fields"] = _rename_list(meta["item_duplication_fields"], collection, rename, related)


def check_renamable(snapshot: Mapping[str, Any], rename: Rename) -> dict[str, Any]:
    """The field's entry, when ``rename`` can be done on ``snapshot``; else a clear refusal."""
    fields: dict[tuple[str, str], dict[str, Any]] = {
        (str(f.get("collection")), str(f.get("field"))): f for f in snapshot.get("fields") or []
    }
    collections = {str(c.get("collection")) for c in snapshot.get("collections") or []}
    where = f"{rename.collection}.{rename.old}"
    if rename.collection.startswith("directus_"):
        raise ConfigError(f"'{rename.collection}' is a system collection: Directus does not let its fields be renamed")
    if rename.collection not in collections:
        raise ConfigError(f"no collection '{rename.collection}' in the schema folder")
    entry = fields.get((rename.collection, rename.old))
    if entry is None:
        raise ConfigError(f"no field '{where}' in the schema folder")
    if rename.old == rename.new:
        raise ConfigError(f"'{where}' already has that name")
    taken = {name.lower() for c, name in fields if c == rename.collection}
    if rename.new.lower() in taken:
        raise ConfigError(f"'{rename.collection}' already has a field '{rename.new}'")
    schema = entry.get("schema") or {}
    if schema.get("is_primary_key"):
        raise ConfigError(
            f"'{where}' is the primary key: renaming it is not supported (every relation to the "
            "collection holds its values)"
        )
    special = set((entry.get("meta") or {}).get("special") or [])
    if special & {"hash", "conceal"}:
        raise ConfigError(
            f"'{where}' is hashed or concealed: the items API never returns its values, so they cannot be copied"
        )
    return entry


def rename_snapshot(snapshot: Mapping[str, Any], rename: Rename) -> snap.Snapshot:
    """``snapshot`` with the field renamed and every reference to it in the model."""
    related = relations_of(snapshot)
    result: snap.Snapshot = copy.deepcopy(dict(snapshot))
    for entry in result.get("collections") or []:
        _collection_references(entry, rename, related)
    fields = []
    for entry in result.get("fields") or []:
        if entry.get("collection") == rename.collection and entry.get("field") == rename.old:
            entry = field_entry(entry, rename.new)
        _field_references(entry, rename, related)
        fields.append(entry)
    result["fields"] = fields
    result["relations"] = [relation_entry(entry, rename) for entry in result.get("relations") or []]
    return result


# --------------------------------------------------------------------------- the configuration


def _permission(item: dict[str, Any], rename: Rename, related: Related) -> None:
    collection = item.get("collection")
    if not isinstance(collection, str):
        return
    if isinstance(item.get("fields"), list):
        item["fields"] = _rename_list(item["fields"], collection, rename, related)
    for key in ("permissions", "validation"):
        if item.get(key):
            item[key] = rename_filter(item[key], collection, rename, related)
    if isinstance(item.get("presets"), dict):
        item["presets"] = _rename_keys(item["presets"], collection, rename)


def _preset(item: dict[str, Any], rename: Rename, related: Related) -> None:
    collection = item.get("collection")
    if not isinstance(collection, str):
        return
    if item.get("filter"):
        item["filter"] = rename_filter(item["filter"], collection, rename, related)
    for key in ("layout_query", "layout_options"):
        layouts = item.get(key)
        if not isinstance(layouts, dict):
            continue
        for layout, query in layouts.items():
            if not isinstance(query, dict):
                continue
            query = _rename_keys(query, collection, rename)  # tabular widths: {title: 240}
            for part in ("fields", "sort"):
                if isinstance(query.get(part), list):
                    query[part] = [
                        rename_path(n, collection, rename, related) if isinstance(n, str) else n for n in query[part]
                    ]
                elif isinstance(query.get(part), str):
                    query[part] = rename_path(query[part], collection, rename, related)
            if isinstance(query.get("widths"), dict):
                query["widths"] = _rename_keys(query["widths"], collection, rename)
            for part in ("groupField", "titleField", "textField", "imageSource", "startDateField", "endDateField"):
                if isinstance(query.get(part), str):
                    query[part] = rename_path(query[part], collection, rename, related)
            layouts[layout] = query


def _table(table: dict[str, Any], rename: Rename, related: Related) -> None:
    """A reference-data table: its header, filter and rows."""
    if table.get("filter"):
        table["filter"] = rename_filter(table["filter"], table.get("collection"), rename, related)
    if table.get("collection") != rename.collection:
        return

    def renamed(name: Any) -> Any:
        return rename.new if name == rename.old else name

    table["key"] = [renamed(name) for name in table.get("key") or []]
    table["fields"] = sorted(renamed(name) for name in table.get("fields") or [])
    if isinstance(table.get("references"), dict):
        table["references"] = dict(sorted(_rename_keys(table["references"], rename.collection, rename).items()))
    table["rows"] = [_rename_keys(row, rename.collection, rename) for row in table.get("rows") or []]


# Operations that work on the items of the collection their options name.
_ITEM_OPERATIONS = frozenset({"item-create", "item-read", "item-update", "item-delete"})
# Panel options holding one field of the panel's collection, by panel type (Directus's own
# panels; the variable panels' ``field`` is the variable's name, not a field).
_PANEL_FIELDS: dict[str, tuple[str, ...]] = {
    "list": ("sortField",),
    "metric": ("field", "sortField"),
    "meter": ("field",),
    "time-series": ("dateField", "valueField"),
    "bar-chart": ("xAxis", "yAxis"),
    "line-chart": ("xAxis", "yAxis", "grouping"),
    "pie-chart": ("column",),
    "metric-list": ("groupByField", "aggregateField"),
}


def _mentions(value: Any, name: str, at: str = "") -> list[str]:
    """Where in ``value`` a key or a text names ``name`` as a word (``options.body``)."""
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            here = f"{at}.{key}" if at else str(key)
            found.extend([here] if word.search(str(key)) else _mentions(inner, name, here))
        return found
    if isinstance(value, list):
        return [where for index, item in enumerate(value) for where in _mentions(item, name, f"{at}[{index}]")]
    return [at] if isinstance(value, str) and word.search(value) else []


def _query(query: dict[str, Any], collection: str, rename: Rename, related: Related) -> dict[str, Any]:
    """An items query (``filter``, ``fields``, ``sort``) on ``collection``."""
    result = dict(query)
    if result.get("filter"):
        result["filter"] = rename_filter(result["filter"], collection, rename, related)
    for part in ("fields", "sort"):
        if isinstance(result.get(part), list):
            result[part] = [
                rename_path(n, collection, rename, related) if isinstance(n, str) else n for n in result[part]
            ]
        elif isinstance(result.get(part), str):
            result[part] = ",".join(rename_path(n, collection, rename, related) for n in result[part].split(","))
    return result


def _triggered_by(flow: Mapping[str, Any]) -> set[str]:
    """The collections whose item events start ``flow`` (an event trigger's ``collections``)."""
    options = flow.get("options")
    if flow.get("trigger") != "event" or not isinstance(options, dict):
        return set()
    named = options.get("collections")
    return {str(c) for c in named if isinstance(c, str)} if isinstance(named, list) else set()


def _trigger_payload(value: Any, rename: Rename, related: Related) -> Any:
    """A condition's filter on the flow's data, with the fields under ``$trigger.payload`` (the
    item the event carries) renamed."""
    if isinstance(value, list):
        return [_trigger_payload(item, rename, related) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, inner in value.items():
        if key in _NESTING:
            inner = _trigger_payload(inner, rename, related)
        elif key == "$trigger" and isinstance(inner, dict) and isinstance(inner.get("payload"), dict):
            payload = rename_filter(inner["payload"], rename.collection, rename, related)
            inner = {**inner, "payload": payload}
        result[key] = inner
    return result


def _flow(flow: dict[str, Any], rename: Rename, related: Related) -> list[str]:
    """The operations' options that name the field of a collection they are tied to, renamed:
    item operations' payloads and queries, and conditions on the item an event on the
    collection alone carries. Returns where the field may still be named (free text, scripts,
    data passed between operations), in a flow tied to the collection."""
    triggers = _triggered_by(flow)
    tied = rename.collection in triggers
    unsure: list[str] = []
    for operation in flow.get("operations") or []:
        options = operation.get("options")
        if not isinstance(options, dict):
            continue
        kind = operation.get("type")
        collection = options.get("collection")
        if kind in _ITEM_OPERATIONS and isinstance(collection, str):
            tied = tied or collection == rename.collection
            if isinstance(options.get("payload"), dict | list):
                options["payload"] = rename_filter(options["payload"], collection, rename, related)
            if isinstance(options.get("query"), dict):
                options["query"] = _query(options["query"], collection, rename, related)
        elif kind == "condition" and triggers == {rename.collection}:
            options["filter"] = _trigger_payload(options.get("filter"), rename, related)
        unsure.extend(f"operation {operation.get('key')}: options.{at}" for at in _mentions(options, rename.old))
    return unsure if tied else []


def _panel(panel: dict[str, Any], rename: Rename, related: Related) -> list[str]:
    """A panel's options naming fields of the collection it shows: its field options, filter,
    display template and field list. Returns where the field may still be named, in a panel on
    the collection."""
    options = panel.get("options")
    collection = options.get("collection") if isinstance(options, dict) else None
    if not isinstance(options, dict) or not isinstance(collection, str):
        return []
    if panel.get("type") == "bar-chart" and isinstance(options.get("xAxis"), str):
        shown = related(collection, options["xAxis"])  # the display field is one of the x axis's items
        if isinstance(options.get("xAxisDisplayField"), str):
            options["xAxisDisplayField"] = rename_path(options["xAxisDisplayField"], shown, rename, related)
    for key in _PANEL_FIELDS.get(str(panel.get("type")), ()):
        if isinstance(options.get(key), str):
            options[key] = rename_path(options[key], collection, rename, related)
    if options.get("filter"):
        options["filter"] = rename_filter(options["filter"], collection, rename, related)
    if "displayTemplate" in options:
        options["displayTemplate"] = rename_template(options["displayTemplate"], collection, rename, related)
    if isinstance(options.get("fields"), list):
        options["fields"] = _rename_list(options["fields"], collection, rename, related)
    if collection != rename.collection:
        return []
    return [f"options.{at}" for at in _mentions(options, rename.old)]


Unsure = Callable[[str, Any, str], None]  # (group, item id, where in it): a mention left as it is


def rename_config(
    state: Mapping[str, Any], rename: Rename, related: Related, unsure: Unsure | None = None
) -> dict[str, Any]:
    """A configuration state (model/kinds/model.py) with the field renamed where it is named.
    ``unsure`` hears of each flow or panel option that may name the field where it cannot be
    told for certain (free text, scripts, templates of the data a flow carries): left as it is."""
    result = copy.deepcopy(dict(state))
    told = unsure or (lambda _group, _id, _where: None)
    for flow in result.get("flows") or []:
        for where in _flow(flow, rename, related):
            told("flows", flow.get("id"), where)
    for dashboard in result.get("dashboards") or []:
        for panel in dashboard.get("panels") or []:
            for where in _panel(panel, rename, related):
                told("dashboards", dashboard.get("id"), f"panel {panel.get('name') or panel.get('id')}: {where}")
    holders = [*(result.get("policies") or []), *(result.get("roles") or [])]
    if isinstance(result.get("public"), dict):
        holders.append(result["public"])
    for holder in holders:
        for permission in holder.get("permissions") or []:
            _permission(permission, rename, related)
    for preset in result.get("presets") or []:
        _preset(preset, rename, related)
    for table in (result.get("data") or {}).values():
        _table(table, rename, related)
    return result


# --------------------------------------------------------------------------- changes


def renamed_field(entry: Mapping[str, Any] | None, rename: Rename) -> dict[str, Any]:
    """A field's old entry as the rename writes it (its name, and its own conditions and
    validation), so that only what was changed besides shows beside the rename."""
    lone: snap.Snapshot = {"collections": [], "fields": [dict(entry or {})], "relations": []}
    return dict(rename_snapshot(lone, rename)["fields"][0])


def _without(entry: Mapping[str, Any] | None, kind: model.Kind) -> dict[str, Any]:
    return model.sanitize(kind, entry or {})


def fold(
    found: model.ChangeSet, renames: Sequence[Rename], desired: Mapping[str, Any] | None = None
) -> model.ChangeSet:
    """``found`` with each drop and add a recorded rename explains shown as one rename (its
    property changes beside it), which loses nothing; unexplained drops and adds of the same
    shape get a hint. ``desired``: the snapshot being applied, when whole: a drop whose new
    name it holds and the other side already has is a rename that stopped part-way. Collection
    renames are folded first, so that the field renames meet the collections' new names."""
    found = collection_renames.fold(found, [(r.old, r.new) for r in renames if r.whole], desired)
    creates = {(c.kind, c.collection, c.field): c for c in found if c.action == "create"}
    deletes = {(c.kind, c.collection, c.field): c for c in found if c.action == "delete"}
    wanted = {(str(f.get("collection")), str(f.get("field"))) for f in (desired or {}).get("fields") or []}
    used: set[int] = set()
    added: list[model.Change] = []
    warnings: list[str] = []
    for rename in effective(renames):
        gone = deletes.get(("field", rename.collection, rename.old))
        if gone is None or id(gone) in used:
            continue
        made = creates.get(("field", rename.collection, rename.new))
        if made is None and (rename.collection, rename.new) not in wanted:
            continue
        used.add(id(gone))
        props: tuple[model.PropertyChange, ...] = ()
        if made is not None:
            used.add(id(made))
            props = tuple(
                model.property_changes(
                    _without(renamed_field(gone.entry, rename), "field"), _without(made.entry, "field")
                )
            )
        else:
            warnings.append(
                f"{rename.label}: the target holds both fields (a rename stopped part-way); a push copies the "
                f"values again, checks them and drops {rename.collection}.{rename.old}"
            )
        added.append(
            model.Change(
                "field",
                "rename",
                rename.collection,
                rename.new,
                properties=props,
                entry=gone.entry,
                renamed_from=rename.old,
            )
        )
        old_relation = deletes.get(("relation", rename.collection, rename.old))
        new_relation = creates.get(("relation", rename.collection, rename.new))
        if old_relation is not None and new_relation is not None:
            used.update((id(old_relation), id(new_relation)))
            props = tuple(
                model.property_changes(
                    _without(relation_entry(old_relation.entry or {}, rename), "relation"),
                    _without(new_relation.entry, "relation"),
                )
            )
            added.append(
                model.Change(
                    "relation",
                    "rename",
                    rename.collection,
                    rename.new,
                    related_collection=new_relation.related_collection,
                    properties=props,
                    entry=new_relation.entry,
                    renamed_from=rename.old,
                )
            )
    kept = [c for c in found if id(c) not in used]
    warnings.extend(hints(kept))
    return model.ChangeSet(tuple(kept + added), (*found.warnings, *warnings))


def fold_pending(found: model.ChangeSet, renames: Sequence[Rename]) -> model.ChangeSet:
    """``found``, a target compared with a commit (what the target holds that the commit does
    not: ``status``'s drift), with the drop of a recorded rename's new name and the add of its
    old one shown as that rename, as the commit records it (``→ rename articles.title →
    articles.headline``, its property changes from the target's field to the commit's): a
    rename not done on the target, which loses nothing."""
    folded = fold(found, reversed_renames(renames))
    kept = [c for c in folded if c.action != "rename"]
    pending = [_undone(change) for change in folded if change.action == "rename"]
    return model.ChangeSet(tuple(kept + pending), found.warnings)


def _undone(change: model.Change) -> model.Change:
    """A rename found from the target to the commit, as the commit records it."""
    properties = tuple(model.PropertyChange(p.path, p.new, p.old) for p in change.properties)
    if change.kind == "collection":
        assert change.renamed_from is not None
        return replace(change, collection=change.renamed_from, renamed_from=change.collection, properties=properties)
    return replace(change, field=change.renamed_from, renamed_from=change.field, properties=properties)


def _shape(entry: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    entry = entry or {}
    schema = entry.get("schema")
    if entry.get("type") == "alias" or not isinstance(schema, dict) or schema.get("is_primary_key"):
        return None
    return (
        entry.get("type"),
        *(schema.get(key) for key in ("data_type", "max_length", "numeric_precision", "numeric_scale")),
    )


def hints(found: Iterable[model.Change]) -> list[str]:
    """For a field dropped and one added to the same collection with the same type and column
    shape, without a recorded rename: say it looks like one, and how to keep the values."""
    listed = list(found)
    added = [c for c in listed if c.kind == "field" and c.action == "create" and _shape(c.entry) is not None]
    taken: set[int] = set()
    said = []
    for gone in listed:
        if gone.kind != "field" or gone.action != "delete" or _shape(gone.entry) is None:
            continue
        for made in added:
            if (
                id(made) not in taken
                and made.collection == gone.collection
                and _shape(made.entry) == _shape(gone.entry)
            ):
                taken.add(id(made))
                said.append(
                    f"{gone.collection}.{gone.field} → {made.collection}.{made.field} looks like a rename, which "
                    f"this drop and add would not keep the values of: directus-gitops rename "
                    f"{gone.collection}.{gone.field} {made.collection}.{made.field}"
                )
                break
    return said


def renamed_fields(found: Iterable[model.Change]) -> list[Rename]:
    """The field renames a change set holds (what ``push`` performs before the apply)."""
    return [
        Rename(c.collection, c.renamed_from, str(c.field))
        for c in found
        if c.kind == "field" and c.action == "rename" and c.renamed_from and (c.entry or {}).get("schema") is not None
    ]


def copied_from(found: model.ChangeSet, old: Mapping[tuple[str, str], Mapping[str, Any]]) -> model.ChangeSet:
    """``found`` once renames made new fields (``old``: each one's old column, by collection and
    new name) and copied the values into them: setting such a field's column back to what the
    old one was (required, its length) loses nothing, every value having come from it. Some
    databases give a new column their own default length, and it is nullable for the copy."""
    result = []
    for change in found:
        schema = old.get((change.collection, str(change.field))) if change.kind == "field" else None
        if schema is not None and change.data_loss:
            rest = tuple(
                prop
                for prop in change.properties
                if not (prop.path.startswith("schema.") and schema.get(prop.path[len("schema.") :]) == prop.new)
            )
            change = replace(change, data_loss=model.classify(replace(change, properties=rest)))
        result.append(change)
    return model.ChangeSet(tuple(result), found.warnings)


# --------------------------------------------------------------------------- where recorded


def record_commits(lines: Sequence[Blamed]) -> dict[tuple[str, str], str]:
    """The commit that recorded each rename (by collection and old name), from the manifest's
    lines from ``renames:`` on with the commit that last changed each (``Repo.blame``): a
    record's newest line is where it was added whole (NOT_COMMITTED: not committed yet)."""
    groups: list[list[Blamed]] = []
    for line in lines[1:]:  # after "renames:"
        if not line.text.startswith(("-", " ")):
            break  # the next key of the manifest
        if line.text.startswith("-") or not groups:
            groups.append([])
        groups[-1].append(line)
    found: dict[tuple[str, str], str] = {}
    for group in groups:
        try:
            (item,) = yamlio.load("\n".join(line.text for line in group)) or [None]
        except (ValueError, TypeError):  # a record hand-edited out of shape: nothing to say of it
            continue
        if not isinstance(item, dict) or "collection" not in item or ("from" not in item and "to" not in item):
            continue
        newest = max(group, key=lambda line: (line.commit == NOT_COMMITTED, line.time))
        found[_record_key(item["collection"], item.get("from"))] = newest.commit
    return found


def _record_key(collection: Any, field: Any) -> tuple[str, str]:
    """A record's key: (collection, old field) of a field's, ("", old name) of a collection's."""
    return (str(collection), str(field)) if field is not None else ("", str(collection))


def attribute(found: model.ChangeSet, commits: Mapping[tuple[str, str], str]) -> model.ChangeSet:
    """``found`` with each rename saying the commit that recorded it (``commits``, from
    :func:`record_commits`), where known."""
    if not commits or not any(c.action == "rename" for c in found):
        return found
    return model.ChangeSet(
        tuple(
            replace(
                change,
                recorded_in=commits.get(
                    _record_key(change.renamed_from, None)
                    if change.kind == "collection"
                    else _record_key(change.collection, change.renamed_from)
                ),
            )
            if change.action == "rename" and change.renamed_from is not None
            else change
            for change in found
        ),
        found.warnings,
    )


def reversed_renames(renames: Sequence[Rename]) -> list[Rename]:
    """The renames undone (newest first): for comparing in the other direction."""
    return [replace(r, collection=r.new if r.whole else r.collection, old=r.new, new=r.old) for r in reversed(renames)]
