"""Three-way merge of one file of the schema folder by identity and property (git's merge driver).

Git merges text line by line, so two branches that each add a field to one collection conflict
when the fields sort to the same place, though nothing they change overlaps. Here each file is
read as the document it is and merged item by item: fields and relations by name, permissions
by (collection, action), operations, panels and folders by id, presets, translations and users
by their natural keys (:data:`RULES`, the one table of identities). Per item, property by
property (down into nested mappings, except filters, which are taken whole):

- what only one side changed (added, removed, set) is taken from it;
- the same property set differently on both sides, or an item removed on one side and changed
  on the other, is a conflict: the file gets git-style markers around exactly that property or
  item, and the merge reports it.

The result is written canonically, byte for byte as ``pull`` writes the same content, and
checked as ``check`` checks that file on its own (a merged flow holding two operations with one
key is a conflict). What needs other files (a relation to a collection the other branch
removed) is left to ``check`` of the whole folder after the merge. A file that is not one this
tool writes, or that a side holds in a shape it does not accept, is not merged here: the
caller falls back to git's own line merge, so nothing is ever lost.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directus_gitops.base.errors import DocumentError
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store, yamlio
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import validate
from directus_gitops.model.kinds import data as rows_kind
from directus_gitops.model.kinds import files as kind_files
from directus_gitops.model.kinds import model
from directus_gitops.model.kinds import validate as kind_checks

# The driver's name in .gitattributes and the git configuration, and the command git runs
# (%O: the common ancestor's file, %A: ours, which receives the result, %B: theirs, %P: its path).
DRIVER = "directus-gitops"
DRIVER_NAME = "directus-gitops: merges schema and configuration files by identity and property"
DRIVER_ARGS = "merge-file %O %A %B %P"

Key = Callable[[Mapping[str, Any]], Any]
Pattern = tuple[str, ...]  # mapping keys from the document's root; "*" is any key or list item
Step = str | tuple[str, Any]  # a mapping key, or ("item", identity) in a list merged by identity


# --------------------------------------------------------------------------- the rules


def _by(*names: str) -> Key:
    if len(names) == 1:
        return lambda item: str(item.get(names[0]))
    return lambda item: tuple(str(item.get(name)) for name in names)


@dataclass(frozen=True)
class Rules:
    """How one kind of file merges.

    ``keyed``: the lists merged item by item, by the identity the function gives; ``sets``: the
    lists of names merged as sets (with whether an empty one is written null, as the kinds'
    normalisation does); every other list is one value. ``atomic``: mappings taken whole (a
    filter's keys mean something together). ``canonical``: the document in the order ``pull``
    writes it; ``header``: the comment the file starts with; ``problems``: what ``check`` finds
    wrong in the file on its own (relative path, document)."""

    keyed: Mapping[Pattern, Key]
    canonical: Callable[[Any], Any]
    header: str
    problems: Callable[[str, Any], list[str]]
    sets: Mapping[Pattern, bool] = field(default_factory=dict)
    atomic: frozenset[Pattern] = frozenset()


# Filters (a permission's rule, a field's validation, a preset's or an option's filter) are one
# value wherever they are: two edits merged key by key could allow what neither side meant.
_FILTERS = frozenset({"filter", "validation"})


def _config_problems(relpath: str, document: Any) -> list[str]:
    body = document if isinstance(document, dict) else {}
    roles = body.get("kind") == "public" or (body.get("kind") == "role" and "permissions" in body)
    entry = {"model": model.ROLES if roles else model.POLICIES, "files": [relpath]}
    # A role names policies and a parent role in other files: those references wait for `check`.
    complete = body.get("kind") != "role"
    return [finding.message for finding in kind_checks.findings(entry, {relpath: document}, None, complete=complete)]


def _snapshot_problems(relpath: str, document: Any) -> list[str]:
    return validate.document_problems(document)[1]


_PERMISSIONS: dict[Pattern, Key] = {("permissions",): model.permission_key}
_PERMISSION_SETS: dict[Pattern, bool] = {("permissions", "*", "fields"): True}
_PERMISSION_RULES = frozenset({("permissions", "*", "permissions"), ("permissions", "*", "presets")})


def _config(
    keyed: Mapping[Pattern, Key], sets: Mapping[Pattern, bool] | None = None, atomic: frozenset[Pattern] = frozenset()
) -> Rules:
    return Rules(keyed, kind_files.canonical_document, kind_files.HEADER, _config_problems, sets or {}, atomic)


_ENTRY = _by("collection", "field")  # snap.entry_key, as strings

# By kind: the configuration files' ``kind:``; "manifest", "collection" and "snapshot" (the
# single layout's file) for the schema's files. A new kind of file adds one entry.
RULES: dict[str, Rules] = {
    "manifest": Rules(
        # Renames recorded on both branches are both kept (one field renamed twice conflicts).
        {("system_fields",): _ENTRY, ("renames",): _by("collection", "from")},
        store.canonical_manifest,
        store.HEADER,
        validate.file_problems,
        {("config", "groups"): False, ("config", "files"): False, ("config", "ignored", "*"): False},
    ),
    "collection": Rules(
        {("fields",): _by("field"), ("relations",): _by("field")},
        store.canonical_collection,
        store.HEADER,
        validate.file_problems,
    ),
    "snapshot": Rules(
        {(key,): _by("collection") if key == "collections" else _ENTRY for key in snap.LIST_KEYS},
        snap.canonical,
        "",
        _snapshot_problems,
    ),
    "role": _config(_PERMISSIONS, {("policies",): False, ("ip_access",): True, **_PERMISSION_SETS}, _PERMISSION_RULES),
    "policy": _config(_PERMISSIONS, {("ip_access",): True, **_PERMISSION_SETS}, _PERMISSION_RULES),
    "public": _config(_PERMISSIONS, _PERMISSION_SETS, _PERMISSION_RULES),
    "flow": _config({("operations",): _by("id")}),
    "dashboard": _config({("panels",): _by("id")}),
    "presets": _config({("items",): model.preset_key}),
    "translations": _config({("items",): model.translation_key}),
    "folders": _config({("items",): _by("id")}),
    "users": _config({("items",): model.user_key}, {("items", "*", "tags"): True}),
    "settings": _config({}),
    # Reference data: rows by the key the document names (made per merge, :func:`_rows_rules`).
    "rows": _config({}),
}


def _rows_rules(documents: list[Any]) -> Rules:
    """Rows merge by the identity their file's ``key`` gives; both sides must agree on it."""
    keys = {json.dumps(d.get("key"), sort_keys=True) for d in documents if d is not MISSING}
    if len(keys) != 1:
        raise Unmergeable("the sides key the rows differently")
    table = {"key": rows_kind.key_fields(next(d for d in documents if d is not MISSING))}

    def identity(row: Mapping[str, Any]) -> Any:
        return rows_kind.row_ident(table, row)

    def canonical(document: Any) -> Any:
        return next(iter(rows_kind.ROWS.documents(rows_kind.ROWS.build({"": document})).values()))

    def problems(relpath: str, document: Any) -> list[str]:
        return [f.message for f in rows_kind.ROWS.findings({relpath: document}, None, complete=False)]

    return Rules({("rows",): identity}, canonical, kind_files.HEADER, problems, {("fields",): False})


def kind_of(document: Any) -> str | None:
    """Which of :data:`RULES` a parsed file is (None: not a file this tool writes)."""
    if not isinstance(document, dict):
        return None
    kind = document.get("kind")
    if isinstance(kind, str):
        return kind if kind in RULES and kind not in ("manifest", "collection", "snapshot") else None
    if document.get("format") == store.FORMAT_NAME:
        return "manifest"
    if isinstance(document.get("collection"), str):
        return "collection"
    if isinstance(document.get("collections"), list) and isinstance(document.get("fields"), list):
        return "snapshot"
    return None


# --------------------------------------------------------------------------- merging


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


MISSING: Any = _Missing()


class Unmergeable(Exception):
    """A document this merge cannot take apart (an item without its identity, one twice)."""


@dataclass(frozen=True)
class Conflict:
    """One property or item both sides changed differently (MISSING: removed on that side)."""

    at: tuple[Step, ...]
    ours: Any
    theirs: Any

    @property
    def where(self) -> str:
        shown = ""
        for step in self.at:
            if isinstance(step, tuple):
                ident = step[1]
                shown += f"[{', '.join(ident) if isinstance(ident, tuple) else ident}]"
            else:
                shown += f".{step}" if shown else step
        return shown or "(the whole file)"

    def __str__(self) -> str:
        if self.ours is MISSING or self.theirs is MISSING:
            removed = "ours" if self.ours is MISSING else "theirs"
            return f"{self.where}: removed on {removed}, changed on the other side"
        return f"{self.where}: changed differently on both sides"


def _same(a: Any, b: Any) -> bool:
    """Equal as the files say it: types count (1, 1.0 and true differ), key order does not."""
    if a is MISSING or b is MISSING:
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    return bool(a == b)


def _pattern(at: tuple[Step, ...]) -> Pattern:
    return tuple("*" if isinstance(step, tuple) else step for step in at)


def _matches(pattern: Pattern, patterns: Mapping[Pattern, Any] | frozenset[Pattern]) -> Pattern | None:
    for candidate in patterns:
        if len(candidate) == len(pattern) and all(c in ("*", p) for c, p in zip(candidate, pattern, strict=True)):
            return candidate
    return None


def _ordered_keys(*orders: list[Any]) -> list[Any]:
    """Every key of the given orders once: the first order's, each later one's new keys after
    the key they follow there (both sides write a kind's properties in one order)."""
    result: list[Any] = []
    for order in orders:
        previous = None
        for key in order:
            if key not in result:
                result.insert(result.index(previous) + 1 if previous is not None else len(result), key)
            previous = key
    return result


class _Merger:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.conflicts: list[Conflict] = []

    def value(self, at: tuple[Step, ...], base: Any, ours: Any, theirs: Any) -> Any:
        if _same(ours, theirs):
            return ours
        if _same(ours, base):
            return theirs
        if _same(theirs, base):
            return ours
        pattern = _pattern(at)
        sides = [side for side in (base, ours, theirs) if side is not MISSING]
        if ours is not MISSING and theirs is not MISSING:
            if all(type(side) is dict for side in sides) and not self.atomic(pattern):
                return self.mapping(at, {} if base is MISSING else base, ours, theirs)
            if all(type(side) is list for side in sides):
                keyed = _matches(pattern, self.rules.keyed)
                if keyed is not None:
                    return self.items(at, self.rules.keyed[keyed], [] if base is MISSING else base, ours, theirs)
                listed = _matches(pattern, self.rules.sets)
                if listed is not None and all(isinstance(item, str) for side in sides for item in side):
                    return self.names(self.rules.sets[listed], [] if base is MISSING else base, ours, theirs)
        self.conflicts.append(Conflict(at, ours, theirs))
        return ours if ours is not MISSING else theirs

    def atomic(self, pattern: Pattern) -> bool:
        return (bool(pattern) and pattern[-1] in _FILTERS) or _matches(pattern, self.rules.atomic) is not None

    def mapping(self, at: tuple[Step, ...], base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Any:
        result: dict[str, Any] = {}
        for key in _ordered_keys(list(ours), list(theirs), list(base)):
            merged = self.value((*at, key), base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING))
            if merged is not MISSING:
                result[key] = merged
        return result

    def items(self, at: tuple[Step, ...], key: Key, base: list[Any], ours: list[Any], theirs: list[Any]) -> Any:
        sides = [_index(side, key, at) for side in (base, ours, theirs)]
        result = []
        for ident in _ordered_keys(list(sides[1]), list(sides[2]), list(sides[0])):
            base_item, our_item, their_item = (side.get(ident, MISSING) for side in sides)
            merged = self.value((*at, ("item", ident)), base_item, our_item, their_item)
            if merged is not MISSING:
                result.append(merged)
        return result  # in its canonical order once the whole document is

    def names(self, none_when_empty: bool, base: list[str], ours: list[str], theirs: list[str]) -> Any:
        kept = (set(base) & set(ours) & set(theirs)) | (set(ours) - set(base)) | (set(theirs) - set(base))
        return sorted(kept, key=str) or (None if none_when_empty else [])


def _index(items: list[Any], key: Key, at: tuple[Step, ...]) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            raise Unmergeable(f"{'.'.join(map(str, _pattern(at)))}: an item that is not a mapping")
        ident = key(item)
        if ident in found:
            raise Unmergeable(f"{'.'.join(map(str, _pattern(at)))}: {ident} is there twice")
        found[ident] = item
    return found


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Merged:
    """A merged file: its bytes (with conflict markers where ``conflicts`` are), and what the
    check of the merged file found that neither side had (also a conflict for git)."""

    data: bytes
    conflicts: list[Conflict]
    problems: list[str]

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.problems


def _parse(data: bytes, relpath: str) -> Any:
    if not data.strip():
        return MISSING  # no common ancestor (added on both sides): git gives an empty file
    return store.parse_document(data, relpath)


def _json_shaped(document: Any) -> bool:
    if document is MISSING:
        return True
    try:
        json.dumps(document)
    except (TypeError, ValueError):
        return False
    return True


def merge(
    base: bytes, ours: bytes, theirs: bytes, relpath: str, labels: tuple[str, str] = ("ours", "theirs")
) -> Merged | None:
    """The three-way merge of one file's ``base``, ``ours`` and ``theirs``; None when it is not a
    file this merge takes apart (another file, one that does not parse or that a side holds with
    problems ``check`` reports): the caller then merges it as text."""
    if relpath.endswith(".json"):
        return None  # Directus's own export, not written by this tool
    try:
        documents = [_parse(data, relpath) for data in (base, ours, theirs)]
    except DocumentError:
        return None
    kinds = {kind_of(document) for document in documents if document is not MISSING}
    if len(kinds) != 1 or None in kinds or documents[1] is MISSING or documents[2] is MISSING:
        return None
    if not all(_json_shaped(document) for document in documents):
        return None  # a date or another value YAML reads that the canonical files never hold
    kind = next(iter(kinds))
    assert kind is not None
    try:
        rules = _rows_rules(documents) if kind == "rows" else RULES[kind]
    except Unmergeable:
        return None
    if any(rules.problems(relpath, document) for document in documents if document is not MISSING):
        return None
    merger = _Merger(rules)
    try:
        merged = merger.value((), *documents)
    except Unmergeable:
        return None
    # (Neither side had a problem: any the merge has, it made.)
    problems = rules.problems(relpath, merged)
    # A document with problems may not survive its canonical order (a flow's operations are
    # ordered by key: two with one key would become one), so it is written as merged.
    document = merged if problems else rules.canonical(merged)
    text = _with_markers(document, rules, merger.conflicts, labels)
    return Merged((rules.header + text).encode("utf-8"), merger.conflicts, problems)


def _with_markers(document: Any, rules: Rules, conflicts: list[Conflict], labels: tuple[str, str]) -> str:
    """``document`` written, each conflict's property or item between git's markers: ours,
    then theirs (empty where that side removed it)."""
    if not conflicts:
        return yamlio.dump(document)
    token = secrets.token_hex(6)  # a placeholder no file holds
    placeholders: dict[str, Conflict] = {}
    for number, conflict in enumerate(conflicts):
        placeholder = f"__directus_gitops_conflict_{number}_{token}__"
        _place(document, conflict.at, placeholder, rules)
        placeholders[placeholder] = conflict
    lines = []
    pattern = re.compile(r"^( *)(- )?(.*?)(__directus_gitops_conflict_\d+_" + token + "__)$")
    for line in yamlio.dump(document).split("\n"):
        found = pattern.match(line)
        if found is None:
            lines.append(line)
            continue
        indent, dash, head, placeholder = found.groups()
        conflict = placeholders[placeholder]
        lines.append(f"<<<<<<< {labels[0]}")
        lines.extend(_side(conflict, conflict.ours, indent, dash, head))
        lines.append("=======")
        lines.extend(_side(conflict, conflict.theirs, indent, dash, head))
        lines.append(f">>>>>>> {labels[1]}")
    return "\n".join(lines)


def _side(conflict: Conflict, value: Any, indent: str, dash: str | None, head: str) -> list[str]:
    if value is MISSING:
        return []
    last = conflict.at[-1] if conflict.at else None
    if isinstance(last, str):  # a property: ``key: value``, where the item's dash may stand first
        written = yamlio.dump({last: value}).rstrip("\n").split("\n")
        first, rest = f"{indent}{dash or ''}", f"{indent}{'  ' if dash else ''}"
    else:  # an item of a list: written with its own dash
        written = yamlio.dump([value]).rstrip("\n").split("\n")
        first = rest = indent
    return [(first if index == 0 else rest) + line if line else line for index, line in enumerate(written)]


def _place(document: Any, at: tuple[Step, ...], placeholder: str, rules: Rules) -> None:
    """Put ``placeholder`` where ``at`` leads in the canonical ``document``."""
    container = document
    for depth, step in enumerate(at):
        last = depth == len(at) - 1
        if isinstance(step, tuple):
            key = rules.keyed[_matches(_pattern(at[:depth]), rules.keyed) or ()]
            index = next(i for i, item in enumerate(container) if isinstance(item, dict) and key(item) == step[1])
            if last:
                container[index] = placeholder
            container = container[index]
        else:
            if last:
                container[step] = placeholder
            container = container[step]


# --------------------------------------------------------------------------- registering the driver

ATTRIBUTES = ".gitattributes"
_CONFIG_KEY = f"merge.{DRIVER}.driver"


def attribute_line(schema: str) -> str:
    """The .gitattributes line that has git merge the schema folder's files with the driver."""
    return f"{schema.rstrip('/')}/** merge={DRIVER}"


def attributes_name_driver(root: Path) -> bool:
    """Whether the repository's .gitattributes sends some files to the driver."""
    path = root / ATTRIBUTES
    if not path.is_file():
        return False
    return any(
        f"merge={DRIVER}" in line.split("#")[0].split() for line in path.read_text("utf-8", "replace").splitlines()
    )


def registered(repo: Repo) -> bool:
    """Whether git here knows the driver (a fresh clone does not: git never copies configuration)."""
    return repo.config(_CONFIG_KEY) is not None


def register(repo: Repo, schema: str, program: str = "directus-gitops") -> list[str]:
    """Have git merge ``schema``'s files (a folder relative to the repository) with the driver:
    the .gitattributes line (committed, so every clone has it) and the driver in this clone's
    configuration. What it changed, said in a few words each."""
    done: list[str] = []
    path = repo.root / ATTRIBUTES
    line = attribute_line(schema)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    if line not in lines:
        note = "# directus-gitops merges its own files by identity and property (docs/merging.md)"
        path.write_text("\n".join([*lines, note, line]) + "\n", encoding="utf-8")
        done.append(f"added `{line}` to {ATTRIBUTES}")
    command = f"{program} {DRIVER_ARGS}"
    if repo.config(_CONFIG_KEY) != command:
        repo.set_local_config(f"merge.{DRIVER}.name", DRIVER_NAME)
        repo.set_local_config(_CONFIG_KEY, command)
        done.append(f"registered the merge driver in this clone's git configuration ({_CONFIG_KEY} = {command})")
    return done
