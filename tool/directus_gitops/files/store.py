"""The committed file format: canonical YAML trees, read and written.

Split layout (default)::

    schema/manifest.yaml              format version, source version/vendor, file index
    schema/collections/<name>.yaml    one collection with its fields and relations

Single layout: ``schema/manifest.yaml`` plus ``schema/snapshot.yaml`` in Directus's own
snapshot shape (which ``directus schema apply`` accepts as it is).

Trees are written whole and atomically: the new tree is built beside the old one, then
swapped in, so an interrupted write leaves the old snapshot or the new one, never a mix.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from directus_gitops.base import errors
from directus_gitops.base.errors import DocumentError, FileSystemError, RefusedError, SnapshotError
from directus_gitops.files import snapshot as snap
from directus_gitops.files import yamlio
from directus_gitops.files.snapshot import ShapeProblem

FORMAT_NAME = "directus-gitops"
FORMAT_VERSION = 1
MANIFEST = "manifest.yaml"
COLLECTIONS_DIR = "collections"
SINGLE_FILE = "snapshot.yaml"
DIRECTUS_FILES = ("snapshot.yaml", "snapshot.yml", "snapshot.json")

# The largest file any command reads (a collection file, a manifest, a whole snapshot).
# The largest real models measured (300 collections, 6,354 fields) are a 5.4 MB snapshot;
# checking a file costs about twenty times its size in memory (bench/bench_check.py
# measures it), so the limit leaves room for models four times as large and keeps a
# hostile file from exhausting memory.
MAX_FILE_BYTES = 20 * 1024 * 1024

Layout = Literal["split", "single"]
LAYOUTS: tuple[Layout, ...] = ("split", "single")

HEADER = (
    "# Written by directus-gitops from a Directus schema snapshot. Change the data model in\n"
    "# Directus and pull; `directus-gitops check --fix` restores the canonical form.\n"
)

_MANIFEST_KEYS = {
    "format",
    "format_version",
    "layout",
    "snapshot",
    "file",
    "collections",
    "system_fields",
    "config",  # the configuration kinds' files (directus_gitops.kinds)
    "renames",  # fields renamed in the repository, oldest first (model/renames.py)
}
_RENAME_KEYS = ("collection", "from", "to")
_FILE_KEYS = {"collection", "fields", "relations"}
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}
_MAX_STEM = 80


# --------------------------------------------------------------------------- file names


def file_stem(collection: str) -> str:
    """A file name for a collection that is safe on every filesystem.

    Plain lower-case names are used as they are. Any other name (upper case, other
    characters, reserved or very long) is reduced to safe characters and gets a hash of the
    exact name after a ``~`` (a character plain names never contain), so two names that
    differ only in case never share a file and nothing can escape the folder.
    """
    safe = re.sub(r"[^a-z0-9_-]", "-", collection.lower())
    if safe == collection and safe not in _WINDOWS_RESERVED and len(safe) <= _MAX_STEM:
        return safe
    digest = hashlib.sha256(collection.encode("utf-8")).hexdigest()[:10]
    return f"{safe[:_MAX_STEM]}~{digest}"


def collection_file(collection: str) -> str:
    return f"{COLLECTIONS_DIR}/{file_stem(collection)}.yaml"


# --------------------------------------------------------------------------- rendering


def _dump(data: Any, header: bool = True) -> bytes:
    return ((HEADER if header else "") + yamlio.dump(data)).encode("utf-8")


def _without_collection(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "collection"}


class Memo(Protocol):
    """Collection files rendered before, for :func:`render` to reuse instead of writing them
    out again: ``recall`` gives the bytes once rendered from content with ``key`` at ``path``
    (None when unknown or no longer at hand), ``note`` hears every key ``render`` computes."""

    def recall(self, path: str, key: str) -> bytes | None: ...

    def note(self, path: str, key: str) -> None: ...


def content_key(content: Any) -> str:
    """Equal for two JSON-shaped contents exactly when they are equal with the same key order
    and types (1, 1.0 and true differ), which is all the YAML written from them depends on."""
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(encoded.encode("utf-8"), usedforsecurity=False).hexdigest()


def render(
    snapshot: Mapping[str, Any],
    layout: Layout = "split",
    config: Mapping[str, Any] | None = None,
    memo: Memo | None = None,
    renames: list[Any] | None = None,
) -> dict[str, bytes]:
    """The files (relative POSIX path → bytes) that hold ``snapshot`` in ``layout``; ``config``
    is the manifest's entry listing the configuration kinds' files (written by the caller),
    ``renames`` the manifest's record of renamed fields (kept as it is, in its order).
    With ``memo``, a collection file whose content was rendered before is taken from it."""
    header = {key: snapshot[key] for key in ("version", "directus", "vendor") if key in snapshot}  # (as canonical)
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "layout": layout,
        "snapshot": header,
    }
    if config:
        manifest["config"] = dict(config)
    if layout == "single":
        manifest["file"] = SINGLE_FILE
        if renames:
            manifest["renames"] = [dict(item) for item in renames]
        return {MANIFEST: _dump(manifest), SINGLE_FILE: _dump(snap.canonical(snapshot), header=False)}

    files: dict[str, bytes] = {}
    index: dict[str, str] = {}
    for name, content in _collection_contents(snapshot):
        path = collection_file(name)
        if path in files:  # only a hash collision could do this; never write over a file
            raise SnapshotError(f"collections {name!r} and another map to the same file {path}")
        if memo is None:
            files[path] = _dump(content)
        else:
            key = content_key(content)
            memo.note(path, key)
            files[path] = memo.recall(path, key) or _dump(content)
        index[name] = path
    manifest["collections"] = index
    if "systemFields" in snapshot:
        manifest["system_fields"] = snap.canonical({"systemFields": snapshot["systemFields"]})["systemFields"]
    if renames:
        manifest["renames"] = [dict(item) for item in renames]
    files[MANIFEST] = _dump(manifest)
    return files


def _collection_contents(snapshot: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """What :func:`_contents` gives for the canonical form of ``snapshot``, made one collection
    at a time: a canonical copy of a whole large model would be as large as its mappings again."""
    lists = ("collections", "fields", "relations")
    groups: dict[str, dict[str, list[Any]]] = {name: {} for name in sorted(snap.collection_names(snapshot))}
    for key in lists:
        for entry in snapshot[key]:
            groups[entry["collection"]].setdefault(key, []).append(entry)
    for name in list(groups):
        group = groups.pop(name)
        yield name, _contents(snap.canonical({key: group.get(key, []) for key in lists}))[name]


def _contents(canon: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each collection file's content (by collection name, sorted) for a canonical snapshot."""
    by_collection: dict[str, dict[str, Any]] = {}
    for name in sorted(snap.collection_names(canon)):
        by_collection[name] = {"collection": name}
    for entry in canon["collections"]:
        by_collection[entry["collection"]].update(_without_collection(entry))
    for key in ("fields", "relations"):
        for entry in canon[key]:
            by_collection[entry["collection"]].setdefault(key, []).append(_without_collection(entry))
    for content in by_collection.values():
        content.setdefault("fields", [])
        content.setdefault("relations", [])
    return by_collection


def canonical_collection(content: Mapping[str, Any]) -> dict[str, Any]:
    """A well-formed collection file's content as :func:`render` writes it (for ``HEADER`` and
    ``yamlio.dump``): what a merge of two edits of the file writes."""
    snapshot: snap.Snapshot = {"collections": [], "fields": [], "relations": []}
    for key, _, entry in collection_entries(content):
        snapshot[key].append(entry)
    return _contents(snap.canonical(snapshot))[content["collection"]]


# The manifest's keys in the order render writes them; a configuration entry's likewise
# (model/kinds/files.py writes it: the access model, then sorted lists).
_MANIFEST_ORDER = (
    "format",
    "format_version",
    "layout",
    "snapshot",
    "config",
    "file",
    "collections",
    "system_fields",
    "renames",
)
_CONFIG_ORDER = ("model", "groups", "files", "ignored")


def canonical_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A well-formed manifest in the order :func:`render` (and the configuration kinds' writer)
    write it: collections by name, system fields by collection and field, listed files sorted."""
    result: dict[str, Any] = {}
    for key in [*_MANIFEST_ORDER, *sorted(set(manifest) - set(_MANIFEST_ORDER))]:
        if key not in manifest:
            continue
        value = manifest[key]
        if key == "snapshot" and isinstance(value, dict):
            named = [name for name in ("version", "directus", "vendor") if name in value]
            value = {name: value[name] for name in [*named, *sorted(set(value) - set(named))]}
        elif key == "config" and isinstance(value, dict):
            value = {
                name: value[name]
                for name in [*_CONFIG_ORDER, *sorted(set(value) - set(_CONFIG_ORDER))]
                if name in value
            }
            for name in ("groups", "files"):
                if isinstance(value.get(name), list):
                    value[name] = sorted(value[name], key=str)
            if isinstance(value.get("ignored"), dict):
                value["ignored"] = {
                    group: sorted(names, key=str) if isinstance(names, list) else names
                    for group, names in sorted(value["ignored"].items())
                }
        elif key == "collections" and isinstance(value, dict):
            value = dict(sorted(value.items()))
        elif key == "system_fields" and isinstance(value, list):
            value = snap.canonical({"systemFields": value})["systemFields"]
        result[key] = value
    return result


def dump(document: Any, header: bool = True) -> bytes:
    """A document of the split layout (a manifest, a collection file) as its file's bytes."""
    return _dump(document, header)


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Loaded:
    """A snapshot read from files, and what it was read from."""

    snapshot: snap.Snapshot
    layout: Layout | Literal["directus"]
    format_version: int | None
    # What Directus accepts but looks broken in how the files are written, which the snapshot no
    # longer shows (a key given twice in Directus's JSON export), as ``path:line: message``.
    warnings: tuple[str, ...] = ()


Reader = Callable[[str], bytes | None]
FileId = Callable[[str], str | None]


@dataclass(frozen=True)
class Tree:
    """A schema folder read file by file, with an id per file that is equal exactly when the
    bytes are (git's blob id), so a file that is the same on both sides of a diff is not read."""

    read: Reader
    source: str
    file_id: FileId
    names: Callable[[], list[str]]  # every file below the folder (links included), sorted
    # The folder's content as one id (every file's path, mode and blob id) and the git
    # directory where what reading it gave is remembered (``treecache``): committed folders
    # only, which cannot change.
    key: str | None = None
    cache: Path | None = None
    # Fetch these files' bytes at once, and no others (when a reader knows which files it
    # will read: the others are the same as ones already read); None where reading costs
    # nothing more one file at a time.
    prefetch: Callable[[list[str]], None] | None = None
    # The files whose bytes hold any of these strings, without parsing any (committed folders:
    # ``git grep``; folders on disk: each file's bytes); None where none can be told apart.
    search: Callable[[list[str]], set[str]] | None = None


def blob_id(data: bytes) -> str:
    """Git's id for a blob holding ``data``: files on disk compare with committed ones by id."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def check_size(size: int, name: str) -> None:
    """Refuse a file over :data:`MAX_FILE_BYTES` before reading or parsing it."""
    if size > MAX_FILE_BYTES:
        raise DocumentError(
            name,
            None,
            f"{size / 1024 / 1024:.0f} MB, over the {MAX_FILE_BYTES // 1024 // 1024} MB limit for a snapshot file",
        )


class DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's keys, refusing one given twice (``object_pairs_hook``)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:  # JSON allows it; the last one would silently win
            raise DuplicateKey(key)
        result[key] = value
    return result


def unique_keys_shared(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """:func:`unique_keys`, with every text value interned: a large model repeats a few values
    tens of thousands of times (a field's ``interface``, its collection's name), which the
    decoder makes anew each time (a third of a parsed model's memory)."""
    intern, text = sys.intern, str
    result = {key: intern(value) if type(value) is text else value for key, value in pairs}
    if len(result) != len(pairs):
        unique_keys(pairs)  # raises for the first key given twice
    return result


# The deepest document read, from a file or a server. Directus's own go about a dozen levels
# down (a field's options, a permission's filter), while the code that reads them recurses a
# frame or two per level within Python's limit of 1,000.
MAX_NESTING = 100


def nested_deeper(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` nests lists and mappings more than ``limit`` deep (read level by
    level: a value deep enough to matter must not cost the stack it is refused to spare)."""
    level = [value] if type(value) in (dict, list) else []
    for _ in range(limit):
        level = [
            item
            for container in level
            for item in (container.values() if type(container) is dict else container)
            if type(item) is dict or type(item) is list
        ]
        if not level:
            return False
    return bool(level)


def parse_document(data: bytes, name: str, *, as_json: bool | None = None) -> Any:
    """Parse one file (JSON or YAML by its name, or as ``as_json`` says); errors name the file
    and line. A key given twice is refused, in JSON as in YAML."""
    return _parse(data, name, as_json=as_json, last_wins=False)[0]


def parse_export(data: bytes, name: str) -> tuple[Any, list[Repeated]]:
    """Parse a file of Directus's own export as Directus reads it: JSON as ``JSON.parse`` does,
    which takes the last value of a key given twice (each such key is listed), YAML as
    :func:`parse_document` does (js-yaml refuses a key given twice too)."""
    return _parse(data, name, as_json=None, last_wins=True)


def _parse(data: bytes, name: str, *, as_json: bool | None, last_wins: bool) -> tuple[Any, list[Repeated]]:
    check_size(len(data), name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(name, None, f"not UTF-8 text ({exc.reason})") from None
    too_deep = DocumentError(name, None, f"nested more than {MAX_NESTING} levels deep")
    twice = False
    try:
        if name.endswith(".json") if as_json is None else as_json:
            try:
                try:
                    document = json.loads(text, object_pairs_hook=unique_keys)
                except DuplicateKey:  # (the hook stops there, before any syntax error further on)
                    document, twice = json.loads(text), True  # JSON.parse's reading: the last value
            except json.JSONDecodeError as exc:
                raise DocumentError(name, exc.lineno, f"invalid JSON: {exc.msg}") from None
        else:
            try:
                document = yamlio.load(text)
            except yamlio.YamlError as exc:
                raise DocumentError(name, exc.problem.line, exc.problem.message) from None
    except RecursionError:
        raise too_deep from None
    if nested_deeper(document):
        raise too_deep
    repeated = repeated_keys(text) if twice else []
    if repeated and not last_wins:
        first = repeated[0]
        raise DocumentError(name, first.line, f"duplicate key {first.key!r} (first at line {first.lines[0]})")
    return document, repeated


@dataclass(frozen=True)
class Repeated:
    """A key given more than once in one JSON object: where each time, and with what value."""

    key: str
    lines: tuple[int, ...]  # 1-based, in the order given
    values: tuple[Any, ...]  # each as ``JSON.parse`` reads it

    @property
    def line(self) -> int:
        """Where the value that counts is given: the last time."""
        return self.lines[-1]

    @property
    def also(self) -> str:
        """Where else it is given, in words: "also at line 447"."""
        earlier = self.lines[:-1]
        return f"also at line{'s' if len(earlier) > 1 else ''} {', '.join(str(line) for line in earlier)}"


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def repeated_keys(text: str) -> list[Repeated]:
    """Every key given more than once in an object of ``text`` (JSON that parses, no deeper
    than :data:`MAX_NESTING`), in the order they close.

    A value that holds no such key is decoded whole by the standard decoder, and only a value
    that does is walked member by member: a few levels down to each such object, at the
    decoder's speed elsewhere."""
    found: list[Repeated] = []
    decode = json.JSONDecoder(object_pairs_hook=unique_keys).raw_decode
    breaks: list[int] | None = None  # where each line ends, found once the first is asked for

    def line(at: int) -> int:
        nonlocal breaks
        if breaks is None:
            breaks = [match.start() for match in re.finditer("\n", text)]
        return bisect.bisect_left(breaks, at) + 1

    def space(at: int) -> int:
        return _JSON_SPACE.match(text, at).end()  # type: ignore[union-attr]  # (it matches the empty text)

    def value(at: int) -> tuple[Any, int]:
        try:
            return decode(text, at)
        except DuplicateKey:
            pass
        if text[at] == "[":
            items: list[Any] = []
            at = space(at + 1)
            while text[at] != "]":
                item, at = value(at)
                items.append(item)
                at = space(at)
                at = space(at + 1) if text[at] == "," else at
            return items, at + 1
        members: dict[str, list[tuple[int, Any]]] = {}
        at = space(at + 1)
        while text[at] != "}":
            start = at
            key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
            at = space(space(at) + 1)  # past the colon
            item, at = value(at)
            members.setdefault(key, []).append((line(start), item))
            at = space(at)
            at = space(at + 1) if text[at] == "," else at
        for key, given in members.items():
            if len(given) > 1:
                found.append(Repeated(key, tuple(number for number, _ in given), tuple(item for _, item in given)))
        # As JSON.parse (and ``dict``) takes it: the first place, the last value.
        return {key: given[-1][1] for key, given in members.items()}, at + 1

    value(space(0))
    return found


# A relative path already in its normal form, of names that do not start with a dot (so no
# ``.`` or ``..``): what the writer lists, thousands of times in a large manifest.
_NORMAL_PATH = re.compile(r"(?:[\w~-][\w.~-]*/)*[\w~-][\w.~-]*", re.ASCII)


def normal(relpath: str) -> str:
    """``relpath`` as a POSIX path names it (``str(PurePosixPath(relpath))``, quicker)."""
    return relpath if _NORMAL_PATH.fullmatch(relpath) else str(PurePosixPath(relpath))


def _path_problem(path: Any, at: snap.Location) -> list[ShapeProblem]:
    if not isinstance(path, str) or not path:
        return [ShapeProblem(at, "file paths must be non-empty strings")]
    if _NORMAL_PATH.fullmatch(path):
        return []
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        return [ShapeProblem(at, f"path {path!r} leaves the schema folder")]
    return []


def manifest_problems(manifest: Any) -> list[ShapeProblem]:
    """Every way ``manifest`` is not one this version can read."""
    if not isinstance(manifest, dict):
        return [ShapeProblem((), "the manifest must be a mapping")]
    if manifest.get("format") != FORMAT_NAME:
        return [ShapeProblem(("format",), f"not a directus-gitops manifest (format: {manifest.get('format')!r})")]
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return [ShapeProblem(("format_version",), "format_version must be a positive integer")]
    if version > FORMAT_VERSION:
        # A newer format can mean anything below: say only this.
        return [
            ShapeProblem(
                ("format_version",),
                f"format_version {version} is newer than this directus-gitops understands "
                f"({FORMAT_VERSION}); upgrade directus-gitops to read it",
            )
        ]
    found = []
    unknown = sorted(set(manifest) - _MANIFEST_KEYS)
    if unknown:
        found.append(ShapeProblem((unknown[0],), f"unknown manifest key(s): {', '.join(unknown)}"))
    layout = manifest.get("layout")
    if layout not in LAYOUTS:
        found.append(ShapeProblem(("layout",), f"layout must be one of {', '.join(LAYOUTS)}"))
    if not isinstance(manifest.get("snapshot"), dict):
        found.append(ShapeProblem(("snapshot",), "'snapshot' must be a mapping"))
    config = manifest.get("config")
    if config is not None:
        files = config.get("files") if isinstance(config, dict) else None
        if not isinstance(files, list):
            found.append(ShapeProblem(("config",), "'config' must hold 'model' and a list of 'files'"))
        else:
            for position, relpath in enumerate(files):
                found.extend(_path_problem(relpath, ("config", "files", position)))
    found.extend(rename_problems(manifest.get("renames")))
    if layout == "single":
        found.extend(_path_problem(manifest.get("file", SINGLE_FILE), ("file",)))
        return found
    if "system_fields" in manifest and not isinstance(manifest["system_fields"], list):
        found.append(ShapeProblem(("system_fields",), "'system_fields' must be a list"))
    index = manifest.get("collections") or {}
    if not isinstance(index, dict):
        found.append(ShapeProblem(("collections",), "'collections' must map names to files"))
    else:
        for name, relpath in index.items():
            found.extend(_path_problem(relpath, ("collections", name)))
    return found


def rename_problems(renames: Any) -> list[ShapeProblem]:
    if renames is None:
        return []
    if not isinstance(renames, list):
        return [ShapeProblem(("renames",), "'renames' must be a list of {collection, from, to}")]
    for index, item in enumerate(renames):
        # A field's rename names its collection and both names; a collection's has no ``from``.
        if (
            not isinstance(item, dict)
            or set(item) not in (set(_RENAME_KEYS), {"collection", "to"})
            or not all(isinstance(value, str) and value for value in item.values())
        ):
            return [
                ShapeProblem(
                    ("renames", index),
                    "each rename must hold exactly collection, from and to (a field's) or collection and to "
                    "(a collection's), as names",
                )
            ]
    return []


def collection_file_problems(content: Any) -> list[ShapeProblem]:
    """Every way ``content`` is not a collection file of the split layout."""
    if not isinstance(content, dict):
        return [ShapeProblem((), "must be a mapping")]
    found = []
    name = content.get("collection")
    if not isinstance(name, str) or not name:
        found.append(ShapeProblem(("collection",), "'collection' must be a non-empty string"))
    for key in ("fields", "relations"):
        items = content.get(key, [])
        if not isinstance(items, list):
            found.append(ShapeProblem((key,), f"'{key}' must be a list"))
            continue
        for index, item in enumerate(items):
            where = f"{key}[{index}]"
            if not isinstance(item, dict):
                found.append(ShapeProblem((key, index), f"{where} must be a mapping"))
            elif not isinstance(item.get("field"), str) or not item["field"]:
                found.append(ShapeProblem((key, index, "field"), f"{where}: 'field' must be a non-empty string"))
            elif "collection" in item:
                # Every entry belongs to the file's collection; one naming another would
                # silently move to it.
                found.append(ShapeProblem((key, index, "collection"), f"{where}: 'collection' belongs only at the top"))
    return found


def collection_entries(content: Mapping[str, Any]) -> Iterator[tuple[str, snap.Location, snap.Entry]]:
    """The snapshot entries a well-formed collection file holds: (list key, where, entry)."""
    name = content["collection"]
    entry = {key: value for key, value in content.items() if key not in _FILE_KEYS}
    if entry:
        yield "collections", (), {"collection": name, **entry}
    for key in ("fields", "relations"):
        for index, item in enumerate(content.get(key, [])):
            yield key, (key, index), {"collection": name, **item}


def _raise_first(found: list[ShapeProblem], where: str) -> None:
    if found:
        raise SnapshotError(f"{where}: {found[0].message}")


def config_files(manifest: Mapping[str, Any]) -> list[str]:
    """The configuration kinds' files a (well-formed) manifest lists."""
    config = manifest.get("config") or {}
    return [normal(path) for path in config.get("files") or []]


def read_manifest(read: Reader, source: str) -> dict[str, Any] | None:
    """The manifest of a schema folder, checked; None when the folder has none."""
    return _read_manifest(read, source)


def _read_manifest(read: Reader, source: str) -> dict[str, Any] | None:
    data = read(MANIFEST)
    if data is None:
        return None
    where = f"{source}/{MANIFEST}"
    manifest = parse_document(data, where)
    _raise_first(manifest_problems(manifest), where)
    return manifest  # type: ignore[no-any-return]


def _read_document(read: Reader, source: str, name: str, layout: Layout | Literal["directus"]) -> Loaded | None:
    data = read(name)
    if data is None:
        return None
    document = snap.unwrap(parse_document(data, f"{source}/{name}"))
    return Loaded(snap.validate(document, f"{source}/{name}"), layout, None)


def parse_tree(read: Reader, source: str) -> Loaded:
    """Read a schema folder through ``read`` (relative path → bytes, or None when absent)."""
    return _parse_tree(read, source, _read_manifest(read, source), skip=frozenset())


def _parse_tree(read: Reader, source: str, manifest: dict[str, Any] | None, skip: AbstractSet[str]) -> Loaded:
    if manifest is None:
        for name in DIRECTUS_FILES:
            loaded = _read_document(read, source, name, "directus")
            if loaded is not None:
                return loaded
        raise SnapshotError(f"{source}: no {MANIFEST} (nor a Directus snapshot.yaml/.json) found")

    version = int(manifest["format_version"])
    if manifest["layout"] == "single":
        name = str(PurePosixPath(manifest.get("file", SINGLE_FILE)))
        loaded = _read_document(read, source, name, "single")
        _expect(loaded is not None, f"{source}/{name}: listed in the manifest but missing")
        assert loaded is not None
        return Loaded(loaded.snapshot, "single", version)

    result: snap.Snapshot = dict(manifest["snapshot"])
    for key in ("collections", "fields", "relations"):
        result[key] = []
    if "system_fields" in manifest:
        result["systemFields"] = manifest["system_fields"]
    for relpath in (manifest.get("collections") or {}).values():
        path = str(PurePosixPath(relpath))
        if path in skip:
            continue
        data = read(path)
        where = f"{source}/{path}"
        _expect(data is not None, f"{where}: listed in the manifest but missing")
        assert data is not None
        content = parse_document(data, where)
        _raise_first(collection_file_problems(content), where)
        for key, _, entry in collection_entries(content):
            result[key].append(entry)
    return Loaded(snap.validate(result, source), "split", version)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise SnapshotError(message)


def load_differing(old: Tree, new: Tree) -> tuple[Loaded, Loaded]:
    """Both trees for comparing them, without the collection files they share.

    A split-layout file listed under the same collection and path with the same content on
    both sides is left out of both: it holds every entry of its collection, and every entry
    a comparison matches is keyed by its collection, so it cannot hold a difference. The
    result compares exactly as the whole trees do, as long as no collection is defined by
    two files (``check`` reports that); the manifests are always read in full.
    """
    old_manifest, new_manifest = _read_manifest(old.read, old.source), _read_manifest(new.read, new.source)
    old_index, new_index = _split_index(old_manifest), _split_index(new_manifest)
    same: set[str] = set()
    if old_index is not None and new_index is not None:
        for name, relpath in old_index.items():
            if new_index.get(name) != relpath:
                continue
            path = str(PurePosixPath(relpath))
            old_id = old.file_id(path)
            if old_id is not None and old_id == new.file_id(path):
                same.add(path)
    return (
        _parse_tree(old.read, old.source, old_manifest, skip=same),
        _parse_tree(new.read, new.source, new_manifest, skip=same),
    )


def _split_index(manifest: Mapping[str, Any] | None) -> dict[str, str] | None:
    if manifest is None or manifest["layout"] != "split":
        return None
    return manifest.get("collections") or {}


# --------------------------------------------------------------------------- filesystem

# A write is staged in this folder inside the schema folder (one filesystem, so every move is
# a rename), with a journal that commits it; no reader lists it, and the next write (or
# ``recover``) finishes a committed one or discards one that was not.
STAGING = ".directus-gitops-write"
_JOURNAL = "journal.json"
# Every file the tool writes starts with this line, except the single layout's snapshot file
# (Directus's own shape), which the manifest lists.
WRITTEN_BY = b"# Written by directus-gitops"
# The layout's own folders: removed only when the tool's own removals leave them empty.
_OWN_FOLDERS = (COLLECTIONS_DIR, "config")


def _linked(root: Path, relpath: str) -> bool:
    """Whether ``relpath`` or a folder on the way to it below ``root`` is a link. (The root
    itself may be a link: that is the user's choice of folder.)"""
    inside = PurePosixPath(relpath)
    return any((root / part).is_symlink() for part in (inside, *inside.parents[:-1]))


def dir_reader(root: Path) -> Reader:
    """Read regular files below ``root``; never follows a link out of it."""

    def read(relpath: str) -> bytes | None:
        path = root / relpath
        # Every component below the root, not just the file: a linked folder could lead anywhere.
        if _linked(root, relpath) or not path.is_file():
            return None
        check_size(path.stat().st_size, str(path))
        return path.read_bytes()

    return read


PENDING = "a write was interrupted part-way; run `directus-gitops check --fix` (or pull again) to finish it"


def pending(root: Path) -> bool:
    """Whether an interrupted write left ``root`` half-done (:func:`recover` finishes it)."""
    return (root / STAGING / _JOURNAL).is_file()


def refuse_pending(root: Path) -> None:
    if pending(root):
        raise SnapshotError(f"{root}: {PENDING}")


def folder_tree(root: Path) -> Tree:
    refuse_pending(root)
    read = dir_reader(root)

    def file_id(relpath: str) -> str | None:
        data = read(relpath)
        return None if data is None else blob_id(data)

    def search(needles: list[str]) -> set[str]:
        """The files whose bytes hold any of ``needles``: each file read, none parsed."""
        wanted = [needle.encode() for needle in needles]
        return {
            relpath
            for relpath in list_files(root)
            if (data := read(relpath)) is not None and any(needle in data for needle in wanted)
        }

    return Tree(read, str(root), file_id, lambda: list_files(root), search=search)


def memory_tree(files: Mapping[str, bytes], source: str) -> Tree:
    """Files about to be written, seen as a tree (to compare with what is on disk or committed)."""

    def file_id(relpath: str) -> str | None:
        data = files.get(relpath)
        return None if data is None else blob_id(data)

    return Tree(files.get, source, file_id, lambda: sorted(files))


def load_path(path: Path) -> Loaded:
    """Read a schema folder (ours or holding Directus's snapshot) or a single snapshot file."""
    if path.is_dir():
        refuse_pending(path)
        return parse_tree(dir_reader(path), str(path))
    if not path.exists():
        raise SnapshotError(f"{path}: no such file or folder")
    document = snap.unwrap(parse_document(path.read_bytes(), str(path)))
    if isinstance(document, dict) and document.get("format") == FORMAT_NAME:
        refuse_pending(path.parent)
        return parse_tree(dir_reader(path.parent), str(path.parent))
    return Loaded(snap.validate(document, str(path)), "directus", None)


def list_files(root: Path) -> list[str]:
    """Every file and link below ``root`` (not the staging folder of a write), sorted."""
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        relpath = path.relative_to(root)
        if relpath.parts[0] != STAGING and (path.is_file() or path.is_symlink()):
            found.append(relpath.as_posix())
    return sorted(found)


def listed_in(manifest: bytes) -> set[str]:
    """The files a manifest lists (itself included); empty when it is not one this tool reads."""
    try:
        document = parse_document(manifest, MANIFEST)
    except DocumentError:
        return set()
    if manifest_problems(document):
        return set()
    listed = {MANIFEST, *config_files(document)}
    if document["layout"] == "single":
        listed.add(str(PurePosixPath(document.get("file", SINGLE_FILE))))
    else:
        listed.update(str(PurePosixPath(path)) for path in (document.get("collections") or {}).values())
    return listed


def _is_ours(manifest: bytes | None) -> bool:
    """Whether a manifest that lost its first line still says it is this tool's."""
    try:
        document = parse_document(manifest or b"", MANIFEST)
    except DocumentError:
        return False
    return isinstance(document, dict) and document.get("format") == FORMAT_NAME


def _first_bytes(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(len(WRITTEN_BY))


def owned(root: Path) -> dict[str, bytes]:
    """The files below ``root`` that directus-gitops wrote, with their bytes: those whose first
    line says so and those the manifest lists. Links, and files behind a link, never are; a
    file someone else put in the folder is left out (and only its first line is read)."""
    if not root.is_dir():
        return {}
    found: dict[str, bytes] = {}
    others: list[str] = []
    read = dir_reader(root)
    for relpath in list_files(root):
        if _linked(root, relpath) or not (root / relpath).is_file():
            continue
        if _first_bytes(root / relpath) == WRITTEN_BY:
            data = read(relpath)
            if data is not None:
                found[relpath] = data
        else:
            others.append(relpath)
    if MANIFEST in others and _is_ours(read(MANIFEST)):
        others.remove(MANIFEST)
        found[MANIFEST] = read(MANIFEST) or b""
    if others and MANIFEST in found:
        listed = listed_in(found[MANIFEST])
        for relpath in others:
            if relpath in listed:
                data = read(relpath)
                if data is not None:
                    found[relpath] = data
    return found


def same_content(root: Path, files: Mapping[str, bytes]) -> bool:
    """Whether the files the tool wrote in ``root`` are exactly ``files``, byte for byte."""
    return owned(root) == dict(files)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tree(target: Path, files: Mapping[str, bytes]) -> bool:
    """Make the files the tool wrote in ``target`` exactly ``files``; False when they already were.

    Only files the tool wrote are ever replaced or removed (:func:`owned`): a file someone else
    put in the way is refused, nothing is written through a link, and no folder is removed but
    the layout's own ones left empty by the tool's removals. The new files are staged inside
    the folder and committed by a journal, so an interruption leaves the previous files or,
    once the journal is written, the next run (:func:`recover`) completes the new ones. A
    folder that cannot be written (permissions, a read-only mount, a full disk) is a
    :class:`FileSystemError` naming the path, with nothing changed.
    """
    try:
        recover(target)
        current = owned(target)
        write = {relpath: data for relpath, data in files.items() if current.get(relpath) != data}
        remove = sorted(set(current) - set(files))
        if not write and not remove:
            return False
        _check_paths(target, write, current)
        _ensure_writable(target, [*write, *remove])
    except OSError as exc:
        raise _unchanged(exc, target) from None
    staging = target / STAGING
    made = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
        _stage(staging, write, remove)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if made:
            shutil.rmtree(target, ignore_errors=True)  # only what this write made: nothing else is in it
        raise _unchanged(exc, target) from None
    try:
        _finish(target, staging)
    except OSError as exc:
        try:
            _roll_back(target, staging)
        except OSError:
            reason = errors.FILESYSTEM_REASONS.get(exc.errno or 0, str(exc))
            raise FileSystemError(
                f"cannot write {target}: {reason}; the write stopped part-way: once the cause is fixed, "
                "`directus-gitops check --fix` (or the next pull) finishes it"
            ) from None
        raise _unchanged(exc, target) from None
    return True


def _check_paths(target: Path, write: Mapping[str, bytes], current: Mapping[str, bytes]) -> None:
    """Refuse, before anything is written, to write through a link or over someone else's file."""
    for relpath in write:
        inside = PurePosixPath(relpath)
        for part in reversed(inside.parents[:-1]):
            folder = target / part
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                raise RefusedError(
                    f"refusing to write {target / relpath}: {folder} is a link or a file, not a folder; "
                    "nothing was changed"
                )
        path = target / relpath
        if relpath not in current and (path.exists() or path.is_symlink()):
            raise RefusedError(
                f"refusing to replace {path}: directus-gitops did not write it; nothing was changed",
                hint="move it out of the schema folder",
            )


def _ensure_writable(target: Path, relpaths: list[str]) -> None:
    """Refuse up front a write that could be staged but not moved in: every folder it touches."""
    existing = target
    while not existing.exists():
        existing = existing.parent
    folders = {existing} | {(target / relpath).parent for relpath in relpaths if (target / relpath).parent.is_dir()}
    for folder in sorted(folders):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))


def _stage(staging: Path, write: Mapping[str, bytes], remove: list[str]) -> None:
    """The new files and the journal that commits them, durable before anything moves."""
    shutil.rmtree(staging, ignore_errors=True)
    new = staging / "new"
    for folder in sorted({PurePosixPath(relpath).parent for relpath in write}):
        (new / folder).mkdir(parents=True, exist_ok=True)
    for relpath, data in write.items():
        (new / relpath).write_bytes(data)
    # The manifest moves last: until it does, it lists the files of the previous snapshot.
    order = sorted(write, key=lambda relpath: (relpath == MANIFEST, relpath))
    # One sync for every file (a few ms) instead of one each: they must be durable first.
    os.sync()
    partial = staging / f".{_JOURNAL}"
    partial.write_text(json.dumps({"write": order, "remove": remove}), encoding="utf-8")
    partial.replace(staging / _JOURNAL)
    _fsync_dir(staging)


def _journal(staging: Path) -> tuple[list[str], list[str]]:
    document = json.loads((staging / _JOURNAL).read_text(encoding="utf-8"))
    return [str(p) for p in document["write"]], [str(p) for p in document["remove"]]


def _finish(target: Path, staging: Path) -> None:
    """Move a committed write in: each replaced or removed file is kept under ``old`` until
    the end (for :func:`_roll_back`). Safe to run again after an interruption."""
    write, remove = _journal(staging)
    new, old = staging / "new", staging / "old"
    moves = [relpath for relpath in write if relpath != MANIFEST]
    for relpath in moves:
        _move_in(target, new, old, relpath)
    for relpath in remove:
        path = target / relpath
        if (path.is_file() or path.is_symlink()) and not _linked(target, relpath):
            (old / relpath).parent.mkdir(parents=True, exist_ok=True)
            path.replace(old / relpath)
    if MANIFEST in write:
        _move_in(target, new, old, MANIFEST)
    _prune(target, remove)
    os.sync()
    shutil.rmtree(staging)


def _move_in(target: Path, new: Path, old: Path, relpath: str) -> None:
    staged, path = new / relpath, target / relpath
    if not staged.exists():
        return  # moved in before an interruption
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and not (old / relpath).exists():
        (old / relpath).parent.mkdir(parents=True, exist_ok=True)
        (old / relpath).hardlink_to(path)
    staged.replace(path)


def _roll_back(target: Path, staging: Path) -> None:
    """Undo :func:`_finish` part-way (a rename the filesystem refused): every file as before."""
    write, remove = _journal(staging)
    new, old = staging / "new", staging / "old"
    for relpath in [*write, *remove]:
        kept, path = old / relpath, target / relpath
        if kept.exists():
            kept.replace(path)
        elif relpath in write and not (new / relpath).exists() and path.is_file():
            path.unlink()  # a file this write added
    _prune(target, write)
    shutil.rmtree(staging)


def _prune(target: Path, relpaths: list[str]) -> None:
    """Remove the layout's own folders that ``relpaths`` left empty (never the schema folder)."""
    folders = {PurePosixPath(relpath).parent for relpath in relpaths}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        while folder.parts and folder.parts[0] in _OWN_FOLDERS:
            path = target / folder
            if path.is_symlink() or not path.is_dir() or any(path.iterdir()):
                break
            path.rmdir()
            folder = folder.parent


def recover(target: Path) -> None:
    """Finish a write that an interruption left committed, or discard one that was not."""
    staging = target / STAGING
    if staging.is_dir() and not staging.is_symlink():
        if (staging / _JOURNAL).is_file():
            _finish(target, staging)
        else:
            shutil.rmtree(staging)
    # Left beside the folder by versions that swapped whole trees.
    for suffix in ("new", "old"):
        leftover = target.parent / f".{target.name}.gitops-{suffix}"
        if suffix == "old" and leftover.is_dir() and not target.exists():
            leftover.rename(target)  # interrupted between their two renames: the previous tree
        elif leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)


def _unchanged(exc: OSError, target: Path) -> Exception:
    return errors.filesystem_error(exc, target, verb="write", unchanged=True) or exc
