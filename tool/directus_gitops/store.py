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

import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from directus_gitops import errors, yamlio
from directus_gitops import snapshot as snap
from directus_gitops.errors import DocumentError, SnapshotError
from directus_gitops.snapshot import ShapeProblem

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
}
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
) -> dict[str, bytes]:
    """The files (relative POSIX path → bytes) that hold ``snapshot`` in ``layout``; ``config``
    is the manifest's entry listing the configuration kinds' files (written by the caller).
    With ``memo``, a collection file whose content was rendered before is taken from it."""
    canon = snap.canonical(snapshot)
    header = {key: canon[key] for key in ("version", "directus", "vendor") if key in canon}
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
        return {MANIFEST: _dump(manifest), SINGLE_FILE: _dump(canon, header=False)}

    by_collection: dict[str, dict[str, Any]] = {}
    for name in sorted(snap.collection_names(canon)):
        by_collection[name] = {"collection": name}
    for entry in canon["collections"]:
        by_collection[entry["collection"]].update(_without_collection(entry))
    for key in ("fields", "relations"):
        for entry in canon[key]:
            by_collection[entry["collection"]].setdefault(key, []).append(_without_collection(entry))

    files: dict[str, bytes] = {}
    index: dict[str, str] = {}
    for name, content in by_collection.items():
        path = collection_file(name)
        if path in files:  # only a hash collision could do this; never write over a file
            raise SnapshotError(f"collections {name!r} and another map to the same file {path}")
        content.setdefault("fields", [])
        content.setdefault("relations", [])
        if memo is None:
            files[path] = _dump(content)
        else:
            key = content_key(content)
            memo.note(path, key)
            files[path] = memo.recall(path, key) or _dump(content)
        index[name] = path
    manifest["collections"] = index
    if "systemFields" in canon:
        manifest["system_fields"] = canon["systemFields"]
    files[MANIFEST] = _dump(manifest)
    return files


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Loaded:
    """A snapshot read from files, and what it was read from."""

    snapshot: snap.Snapshot
    layout: Layout | Literal["directus"]
    format_version: int | None


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


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:  # JSON allows it; the last one would silently win
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _json_key_line(text: str, key: str) -> int | None:
    """The line of the second ``"key":`` in ``text``: where a duplicate most likely is."""
    found = [m.start() for m in re.finditer(re.escape(json.dumps(key)) + r"\s*:", text)]
    return text.count("\n", 0, found[1]) + 1 if len(found) > 1 else None


def parse_document(data: bytes, name: str) -> Any:
    """Parse one file (JSON or YAML by its name); errors name the file and line."""
    check_size(len(data), name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(name, None, f"not UTF-8 text ({exc.reason})") from None
    if name.endswith(".json"):
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise DocumentError(name, exc.lineno, f"invalid JSON: {exc.msg}") from None
        except _DuplicateKey as exc:
            raise DocumentError(name, _json_key_line(text, exc.key), f"duplicate key {exc.key!r}") from None
    try:
        return yamlio.load(text)
    except yamlio.YamlError as exc:
        raise DocumentError(name, exc.problem.line, exc.problem.message) from None


def _path_problem(path: Any, at: snap.Location) -> list[ShapeProblem]:
    if not isinstance(path, str) or not path:
        return [ShapeProblem(at, "file paths must be non-empty strings")]
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
    return [str(PurePosixPath(path)) for path in config.get("files") or []]


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


def dir_reader(root: Path) -> Reader:
    """Read regular files below ``root``; never follows a link out of it."""

    def read(relpath: str) -> bytes | None:
        path = root / relpath
        # Every component below the root, not just the file: a linked folder could lead
        # anywhere. (The root itself may be a link: that is the user's choice of folder.)
        inside = PurePosixPath(relpath)
        for part in (inside, *inside.parents[:-1]):
            if (root / part).is_symlink():
                return None
        if not path.is_file():
            return None
        check_size(path.stat().st_size, str(path))
        return path.read_bytes()

    return read


def folder_tree(root: Path) -> Tree:
    read = dir_reader(root)

    def file_id(relpath: str) -> str | None:
        data = read(relpath)
        return None if data is None else blob_id(data)

    return Tree(read, str(root), file_id, lambda: list_files(root))


def memory_tree(files: Mapping[str, bytes], source: str) -> Tree:
    """Files about to be written, seen as a tree (to compare with what is on disk or committed)."""

    def file_id(relpath: str) -> str | None:
        data = files.get(relpath)
        return None if data is None else blob_id(data)

    return Tree(files.get, source, file_id, lambda: sorted(files))


def load_path(path: Path) -> Loaded:
    """Read a schema folder (ours or holding Directus's snapshot) or a single snapshot file."""
    if path.is_dir():
        return parse_tree(dir_reader(path), str(path))
    if not path.exists():
        raise SnapshotError(f"{path}: no such file or folder")
    document = snap.unwrap(parse_document(path.read_bytes(), str(path)))
    if isinstance(document, dict) and document.get("format") == FORMAT_NAME:
        return parse_tree(dir_reader(path.parent), str(path.parent))
    return Loaded(snap.validate(document, str(path)), "directus", None)


def list_files(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _staging_paths(target: Path) -> tuple[Path, Path]:
    return (
        target.parent / f".{target.name}.gitops-new",
        target.parent / f".{target.name}.gitops-old",
    )


def recover(target: Path) -> None:
    """Finish or undo what an interrupted write left behind."""
    new, old = _staging_paths(target)
    if old.exists() and not target.exists():
        old.rename(target)  # interrupted between the two renames: keep the previous tree
    if old.exists():
        shutil.rmtree(old)
    if new.exists():
        shutil.rmtree(new)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tree(target: Path, files: Mapping[str, bytes]) -> bool:
    """Make ``target`` hold exactly ``files``; return False when it already did.

    A folder that cannot be written (permissions, a read-only mount, a full disk) is a
    :class:`FileSystemError` naming the path, with nothing changed: the new tree is built
    beside the old one and only swapped in once complete.
    """
    try:
        recover(target)
        if same_content(target, files):
            return False
        _ensure_writable(target)
    except OSError as exc:
        raise _unchanged(exc, target) from None
    new, old = _staging_paths(target)
    try:
        _build(new, target, files)
    except OSError as exc:
        shutil.rmtree(new, ignore_errors=True)
        raise _unchanged(exc, target) from None
    try:
        if target.exists():
            target.rename(old)
            try:
                new.rename(target)
            except OSError:
                old.rename(target)  # put the previous tree back
                raise
            _fsync_dir(target.parent)
        else:
            new.rename(target)
            _fsync_dir(target.parent)
    except OSError as exc:
        shutil.rmtree(new, ignore_errors=True)
        raise _unchanged(exc, target) from None
    # The new tree is in place; the old one is only clean-up (the next run finishes it).
    shutil.rmtree(old, ignore_errors=True)
    return True


def _ensure_writable(target: Path) -> None:
    """Refuse up front a tree that could be built but not swapped in or cleaned up."""
    parent = target.parent if target.parent.exists() else None
    folders = [parent] if parent is not None else []
    if target.is_dir():
        folders += [target, *(p for p in target.rglob("*") if p.is_dir() and not p.is_symlink())]
    for folder in folders:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))


def _build(new: Path, target: Path, files: Mapping[str, bytes]) -> None:
    new.mkdir(parents=True)
    for folder in sorted({PurePosixPath(p).parent for p in files}):
        (new / folder).mkdir(parents=True, exist_ok=True)
    previous = dir_reader(target) if target.is_dir() else None
    for relpath, data in files.items():
        if previous is not None and previous(relpath) == data:
            # Same bytes: link the existing file instead of creating one (far cheaper, and
            # safe because files are never changed in place, only replaced with the tree).
            os.link(target / relpath, new / relpath)
        else:
            (new / relpath).write_bytes(data)
    # One sync for the whole tree (a few ms) instead of one per file: the new files must be
    # durable before the rename makes them the schema folder.
    os.sync()


def _unchanged(exc: OSError, target: Path) -> Exception:
    return errors.filesystem_error(exc, target, verb="write", unchanged=True) or exc


def same_content(root: Path, files: Mapping[str, bytes]) -> bool:
    """Whether the folder ``root`` holds exactly ``files``, byte for byte."""
    if not root.is_dir() or list_files(root) != sorted(files):
        return False
    read = dir_reader(root)
    return all(read(relpath) == data for relpath, data in files.items())
