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

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from directus_gitops import snapshot as snap
from directus_gitops import yamlio
from directus_gitops.errors import SnapshotError

FORMAT_NAME = "directus-gitops"
FORMAT_VERSION = 1
MANIFEST = "manifest.yaml"
COLLECTIONS_DIR = "collections"
SINGLE_FILE = "snapshot.yaml"
DIRECTUS_FILES = ("snapshot.yaml", "snapshot.yml", "snapshot.json")

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


def render(snapshot: Mapping[str, Any], layout: Layout = "split") -> dict[str, bytes]:
    """The files (relative POSIX path → bytes) that hold ``snapshot`` in ``layout``."""
    canon = snap.canonical(snapshot)
    header = {key: canon[key] for key in ("version", "directus", "vendor") if key in canon}
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "layout": layout,
        "snapshot": header,
    }
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
        files[path] = _dump(content)
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


def parse_document(data: bytes, name: str) -> Any:
    """Parse one file (JSON or YAML by its name); errors name the file and line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{name}: not UTF-8 text ({exc.reason})") from None
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SnapshotError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    try:
        return yamlio.load(text)
    except yamlio.YamlError as exc:
        line = f":{exc.problem.line}" if exc.problem.line else ""
        raise SnapshotError(f"{name}{line}: {exc.problem.message}") from None


def _safe_relpath(path: Any, where: str) -> str:
    if not isinstance(path, str) or not path:
        raise SnapshotError(f"{where}: file paths must be non-empty strings")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise SnapshotError(f"{where}: path {path!r} leaves the schema folder")
    return str(pure)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise SnapshotError(message)


def _check_format(manifest: Any, name: str) -> int:
    _expect(isinstance(manifest, dict), f"{name}: the manifest must be a mapping")
    _expect(
        manifest.get("format") == FORMAT_NAME,
        f"{name}: not a directus-gitops manifest (format: {manifest.get('format')!r})",
    )
    version = manifest.get("format_version")
    _expect(
        isinstance(version, int) and version >= 1,
        f"{name}: format_version must be a positive integer",
    )
    if version > FORMAT_VERSION:
        raise SnapshotError(
            f"{name}: format_version {version} is newer than this directus-gitops understands "
            f"({FORMAT_VERSION}); upgrade directus-gitops to read it"
        )
    unknown = sorted(set(manifest) - _MANIFEST_KEYS)
    _expect(not unknown, f"{name}: unknown manifest key(s): {', '.join(unknown)}")
    return int(version)


def parse_tree(read: Reader, source: str) -> Loaded:
    """Read a schema folder through ``read`` (relative path → bytes, or None when absent)."""
    manifest_bytes = read(MANIFEST)
    if manifest_bytes is None:
        for name in DIRECTUS_FILES:
            data = read(name)
            if data is not None:
                document = snap.unwrap(parse_document(data, f"{source}/{name}"))
                return Loaded(snap.validate(document, f"{source}/{name}"), "directus", None)
        raise SnapshotError(f"{source}: no {MANIFEST} (nor a Directus snapshot.yaml/.json) found")

    where = f"{source}/{MANIFEST}"
    manifest = parse_document(manifest_bytes, where)
    version = _check_format(manifest, where)
    layout = manifest.get("layout")
    _expect(layout in LAYOUTS, f"{where}: layout must be one of {', '.join(LAYOUTS)}")
    header = manifest.get("snapshot")
    _expect(isinstance(header, dict), f"{where}: 'snapshot' must be a mapping")

    if layout == "single":
        name = _safe_relpath(manifest.get("file", SINGLE_FILE), where)
        data = read(name)
        _expect(data is not None, f"{source}/{name}: listed in the manifest but missing")
        assert data is not None
        document = snap.unwrap(parse_document(data, f"{source}/{name}"))
        return Loaded(snap.validate(document, f"{source}/{name}"), "single", version)

    result: snap.Snapshot = dict(header)
    for key in ("collections", "fields", "relations"):
        result[key] = []
    if "system_fields" in manifest:
        _expect(isinstance(manifest["system_fields"], list), f"{where}: 'system_fields' must be a list")
        result["systemFields"] = manifest["system_fields"]
    index = manifest.get("collections") or {}
    _expect(isinstance(index, dict), f"{where}: 'collections' must map names to files")
    for relpath in index.values():
        path = _safe_relpath(relpath, where)
        data = read(path)
        _expect(data is not None, f"{source}/{path}: listed in the manifest but missing")
        assert data is not None
        _add_collection_file(result, parse_document(data, f"{source}/{path}"), f"{source}/{path}")
    return Loaded(snap.validate(result, source), "split", version)


def _add_collection_file(result: snap.Snapshot, content: Any, where: str) -> None:
    _expect(isinstance(content, dict), f"{where}: must be a mapping")
    name = content.get("collection")
    _expect(isinstance(name, str) and bool(name), f"{where}: 'collection' must be a non-empty string")
    entry = {key: value for key, value in content.items() if key not in _FILE_KEYS}
    if entry:
        result["collections"].append({"collection": name, **entry})
    for key in ("fields", "relations"):
        items = content.get(key, [])
        _expect(isinstance(items, list), f"{where}: '{key}' must be a list")
        for item in items:
            _expect(isinstance(item, dict), f"{where}: every item of '{key}' must be a mapping")
            result[key].append({"collection": name, **item})


# --------------------------------------------------------------------------- filesystem


def dir_reader(root: Path) -> Reader:
    """Read regular files below ``root``; never follows a link out of it."""

    def read(relpath: str) -> bytes | None:
        path = root / relpath
        if path.is_symlink() or not path.is_file():
            return None
        return path.read_bytes()

    return read


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
    """Make ``target`` hold exactly ``files``; return False when it already did."""
    recover(target)
    if target.is_dir() and _same_content(target, files):
        return False
    new, old = _staging_paths(target)
    new.mkdir(parents=True)
    for relpath, data in sorted(files.items()):
        path = new / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    for directory in {new / PurePosixPath(p).parent for p in files} | {new}:
        _fsync_dir(directory)
    if target.exists():
        target.rename(old)
        new.rename(target)
        _fsync_dir(target.parent)
        shutil.rmtree(old)
    else:
        new.rename(target)
        _fsync_dir(target.parent)
    return True


def _same_content(root: Path, files: Mapping[str, bytes]) -> bool:
    if list_files(root) != sorted(files):
        return False
    read = dir_reader(root)
    return all(read(relpath) == data for relpath, data in files.items())
