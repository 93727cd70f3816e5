"""What the last ``pull`` wrote, remembered so that pulling an unchanged server does no work.

A record holds a key and the git blob id of every file the pull left in the schema folder.
The key hashes the server's answer byte for byte with everything else that decides the files
(the layout, the ignore rules, the allowed secrets, this version of the code that renders
them). When the next answer gives the same key and every file on disk still has the recorded
id (so a file edited by hand, added or removed is noticed), the folder is exactly what
rendering the answer would write, and decoding and rendering are skipped. When the answer
differs, a collection whose content has the key recorded for its file, and whose file still
holds the bytes written then, keeps those bytes instead of being written out as YAML again
(:class:`Memo`). Anything else, an unreadable record included, means rendering: the record
only ever saves work, it never decides what is written.

Records live in the repository's git directory (never in the working tree): one per schema
folder, under ``<git dir>/directus-gitops/``. Outside a git repository nothing is remembered.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from directus_gitops import __version__
from directus_gitops.base.errors import DocumentError
from directus_gitops.files import store

RECORD_VERSION = 1

# The modules whose code decides the bytes a pull writes, or whether it writes them (the
# secrets it refuses): a change to any of them (a new release, or a development checkout)
# makes every record stale.
_RENDERING_MODULES = (
    "files/store.py",
    "files/yamlio/__init__.py",
    "files/yamlio/writer.py",
    "files/snapshot.py",
    "model/selection.py",
    "files/pullcache.py",
    "model/kinds/secrets.py",
    "server/client.py",  # (what it puts back into a snapshot: untracked fields and collections)
    "engine/translate.py",  # (as_stored: the defaults as the columns store them)
    "commands/pull.py",
)


@dataclass(frozen=True)
class Record:
    key: str
    files: dict[str, str]  # relative path → git blob id, every file of the folder
    source: str  # "Directus 12.4.1, sqlite": for the message saying nothing changed
    notes: list[str] = field(default_factory=list)  # what the ignore rules left out, as told then
    fingerprint: str = ""  # of the code and settings that rendered the files
    contents: dict[str, str] = field(default_factory=dict)  # collection file → store.content_key
    warnings: list[str] = field(default_factory=list)  # told then as warnings (a stale `secrets: allow:` entry)


class Memo:
    """:class:`store.Memo` over a record and the folder as read: a collection file is reused
    when its content has the key it was rendered from then, by the same code and settings, and
    the bytes read from disk are still those written then."""

    def __init__(self, record: Record | None, fingerprint: str, disk: Mapping[str, bytes] | None) -> None:
        usable = record is not None and disk is not None and record.fingerprint == fingerprint
        self._record = record if usable else None
        self._disk = disk or {}
        self.contents: dict[str, str] = {}
        # Files given back as written by the last pull: their content is what it checked then.
        self.recalled: set[str] = set()

    def note(self, path: str, key: str) -> None:
        self.contents[path] = key

    def recall(self, path: str, key: str) -> bytes | None:
        record = self._record
        if record is None or record.contents.get(path) != key:
            return None
        data = self._disk.get(path)
        if data is None or store.blob_id(data) != record.files.get(path):
            return None
        self.recalled.add(path)
        return data


def git_dir(start: Path) -> Path | None:
    """The git directory of the repository holding ``start`` (a worktree's own, when it is one)."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            try:
                line = dot_git.read_text(encoding="utf-8").strip()
            except OSError:
                return None
            if not line.startswith("gitdir:"):
                return None
            found = Path(line.partition(":")[2].strip())
            found = found if found.is_absolute() else folder / found
            return found if found.is_dir() else None
    return None


def record_path(schema_dir: Path) -> Path | None:
    where = schema_dir.resolve()
    found = git_dir(where.parent)
    if found is None:
        return None
    name = hashlib.sha256(str(where).encode("utf-8")).hexdigest()[:16]
    return found / "directus-gitops" / f"pull-{name}.json"


def fingerprint(layout: str, rules: object) -> str:
    """Everything besides the server's answer that decides the files, as one hash."""
    import yaml  # its resolver decides which strings are quoted

    parts = [RECORD_VERSION, __version__, yaml.__version__, sys.version_info[:2], layout, repr(rules)]
    digest = hashlib.sha256(json.dumps(parts).encode("utf-8"))
    here = Path(__file__).parents[1]  # the package
    for name in _RENDERING_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def key(answer: bytes, fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode("ascii") + b"\0" + answer).hexdigest()


def load(schema_dir: Path) -> Record | None:
    path = record_path(schema_dir)
    if path is None:
        return None
    try:
        data = json.loads(path.read_bytes())
        record = Record(**data["record"]) if data.get("version") == RECORD_VERSION else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if record is None or not all(isinstance(part, dict) for part in (record.files, record.contents)):
        return None
    if not isinstance(record.notes, list) or not isinstance(record.warnings, list):
        return None
    return record


def save(schema_dir: Path, record: Record) -> None:
    """Remember ``record``; a record that cannot be written is simply not there next time."""
    path = record_path(schema_dir)
    if path is None:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"version": RECORD_VERSION, "record": asdict(record)}), encoding="utf-8")
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)


def forget(schema_dir: Path) -> None:
    path = record_path(schema_dir)
    if path is not None:
        path.unlink(missing_ok=True)


def on_disk(schema_dir: Path) -> dict[str, bytes] | None:
    """Every file the tool wrote in the folder (None: no folder, or one that cannot be read)."""
    if not schema_dir.is_dir():
        return None
    try:
        return store.owned(schema_dir)
    except (OSError, DocumentError):
        return None


def ids(files: Mapping[str, bytes]) -> dict[str, str]:
    return {relpath: store.blob_id(data) for relpath, data in files.items()}


def matches(record: Record | None, answer_key: str, disk: Mapping[str, bytes] | None) -> bool:
    """Whether the folder holds exactly what the record says the answer with ``answer_key`` gives."""
    if record is None or disk is None or record.key != answer_key or sorted(disk) != sorted(record.files):
        return False
    return all(store.blob_id(data) == record.files[path] for path, data in disk.items())
