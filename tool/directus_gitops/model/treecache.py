"""Committed schema folders already read and checked, remembered by their content.

Reading a large committed schema folder (several MB of YAML, parsed and checked as ``check``
does) is most of what an offline ``diff`` and a ``plan`` cost on this side, and the same
commits are read again and again: HEAD, the main branch, a pull request's base. A git tree
never changes, so what reading it gave can be remembered. A record is made for a folder that
passed every check, keyed by its content (every file's path, mode and blob id, see
``gitrepo``), by this exact code (a digest of the package's sources): it holds the
snapshot's header and every entry, each in marshal form.

A record's index (everything but the entries' bytes) is verified against its own digest
before anything in it is used, and every entry against its own digest as it is decoded; a
missing, damaged or foreign record (another version of the code) means reading the folder
again, so a record only ever saves work, it never decides what a snapshot holds. Records live in
the repository's git directory, ``<git dir>/directus-gitops/trees/``, the :data:`KEEP`
most recently used ones; nothing is remembered for a working tree or outside a repository.

Comparing two remembered folders needs only the entries whose values differ
(:func:`differing`): an entry with the same bytes on both sides changes nothing, so neither
side's copy is decoded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import marshal
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from directus_gitops import __version__
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store

if TYPE_CHECKING:  # checking a folder is needed only when it is not remembered
    from directus_gitops.model import validate

RECORD_VERSION = 2
KEEP = 8  # records kept (a large model's is a few MB)
_MAGIC = b"directus-gitops tree record\n"
_DIGEST = 32
# The snapshot's lists of entries; everything else is its header.
_LISTS = ("collections", "fields", "relations", "systemFields")

_code_digest: bytes | None = None


def _code() -> bytes:
    """A digest of this package's sources (any change to how a folder is read or checked makes
    every record stale) and of what else decides a reading."""
    global _code_digest
    if _code_digest is None:
        from importlib.machinery import PathFinder  # (importlib.util costs ten times more to import)

        digest = hashlib.sha256(json.dumps([RECORD_VERSION, __version__, sys.version]).encode())
        # PyYAML's resolver decides what the writer (and so the reader) takes as plain text:
        # its version line is in the file the import would run (read, not imported).
        spec = PathFinder.find_spec("yaml")
        if spec is not None and spec.origin:
            digest.update(Path(spec.origin).read_bytes())
        package = Path(__file__).parents[1]
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        _code_digest = digest.digest()
    return _code_digest


@dataclass(frozen=True)
class Record:
    """A checked snapshot: its header, and its entries in order, each in marshal form (one
    after the other in ``entries``, ending at ``ends``) with a digest of those bytes.

    Marshal's version 2 has no back-references, so the same value built the same way always
    has the same bytes: equal bytes are equal values (the other way round does not always
    hold, which only costs a comparison that finds nothing)."""

    order: list[str]  # the snapshot's keys, in order
    header: dict[str, Any]  # every key but the lists
    lists: bytes  # for each entry, the index in _LISTS of the list it belongs to
    ends: list[int]
    digests: bytes  # _ENTRY_DIGEST bytes per entry: of its marshal form
    fields: dict[str, int]  # fields per collection
    config: bool  # whether the folder's manifest has a config entry (the configuration kinds)
    # Not in the index: each entry is checked as it is decoded. A record just made holds each
    # entry's bytes on their own (written out one after the other: never joined in memory).
    entries: list[bytes] | Stored

    def snapshot(self) -> snap.Snapshot:
        return self._build(range(len(self.ends)))

    def entry_digests(self) -> list[bytes]:
        """Each entry's digest, in order."""
        digests, size = self.digests, _ENTRY_DIGEST
        return [digests[at : at + size] for at in range(0, len(digests), size)]

    def _build(self, indexes: Iterable[int]) -> snap.Snapshot:
        """The snapshot with the entries at ``indexes`` (in order); :class:`Damaged` when one
        of them is not what was written."""
        built: dict[str, Any] = {key: ([] if key in _LISTS else self.header[key]) for key in self.order}
        entries, ends, lists, digests, size = self.entries, self.ends, self.lists, self.digests, _ENTRY_DIGEST
        blake2b, loads = hashlib.blake2b, marshal.loads
        wanted = list(indexes)
        spans = [(ends[index - 1] if index else 0, ends[index]) for index in wanted]
        read: Iterable[bytes | memoryview]
        if isinstance(entries, Stored) and len(wanted) < len(ends):  # a few: each read on its own
            read = entries.pieces(spans)
        elif isinstance(entries, Stored):  # all of them: read in windows, not one buffer the size of the file
            read = entries.windows(spans)
        else:  # already in memory
            read = [entries[index] for index in wanted]
        interned = snap.interned  # marshal makes every key and text anew for each entry: shared, a third the size
        for index, data in zip(wanted, read, strict=True):
            if blake2b(data, digest_size=size).digest() != digests[index * size : index * size + size]:
                raise Damaged
            built[_LISTS[lists[index]]].append(interned(loads(data)))
        return built


class Damaged(Exception):
    """A record whose entries are not what was written (it is forgotten when found)."""


@dataclass(frozen=True)
class Stored:
    """A remembered record's entries, left in its file and read as they are needed: a diff
    of two remembered commits reads only the entries that differ, not megabytes of them."""

    path: Path
    offset: int
    size: int

    def __len__(self) -> int:
        return self.size

    def pieces(self, spans: list[tuple[int, int]]) -> list[bytes]:
        """The bytes from each ``(start, end)``, read from the file as it is now."""
        try:
            with self.path.open("rb") as stored:
                fd = stored.fileno()
                return [os.pread(fd, end - start, self.offset + start) for start, end in spans]
        except OSError:
            raise Damaged from None  # (replaced or removed since: read afresh)

    def windows(self, spans: list[tuple[int, int]], size: int = 1 << 22) -> Iterator[memoryview]:
        """The bytes from each ``(start, end)`` of spans in file order, read about ``size`` bytes at
        a time (a remembered model is tens of MB; its entries need not all be in memory at once)."""
        try:
            with self.path.open("rb") as stored:
                fd, at = stored.fileno(), 0
                while at < len(spans):
                    first, last = spans[at][0], spans[at][1]
                    stop = at + 1
                    while stop < len(spans) and spans[stop][0] == last and spans[stop][1] - first <= size:
                        last = spans[stop][1]
                        stop += 1
                    window = memoryview(os.pread(fd, last - first, self.offset + first))  # (short: digests differ)
                    for start, end in spans[at:stop]:
                        yield window[start - first : end - first]
                    at = stop
        except OSError:
            raise Damaged from None

    def whole(self) -> bytes:
        return self.pieces([(0, self.size)])[0]


_MARSHAL_VERSION = 2
_ENTRY_DIGEST = 16


# An entry's marshal form and its digest, by the entry's id (the entry is held too, so the id
# stays its own): the two sides of a comparison share the objects of the entries they both hold
# (``validate.Shared``), and each is then encoded once for both records.
Encoded = dict[int, tuple[Any, bytes, bytes]]


def record_of(snapshot: snap.Snapshot, *, config: bool, encoded: Encoded | None = None) -> Record:
    lists = bytearray()
    pieces: list[bytes] = []  # never joined: a buffer of them all (and its copy) would be as large again
    ends: list[int] = []
    digests = bytearray()
    size = 0
    dumps, blake2b = marshal.dumps, hashlib.blake2b
    for number, key in enumerate(_LISTS):
        for entry in snapshot.get(key) or ():
            lists.append(number)
            found = encoded.get(id(entry)) if encoded is not None else None
            if found is None:
                data = dumps(entry, _MARSHAL_VERSION)
                found = (entry, data, blake2b(data, digest_size=_ENTRY_DIGEST).digest())
                if encoded is not None:  # kept only for the other side of a comparison
                    encoded[id(entry)] = found
            pieces.append(found[1])
            digests += found[2]
            size += len(found[1])
            ends.append(size)
    header = {key: value for key, value in snapshot.items() if key not in _LISTS}
    fields = snap.field_counts(snapshot)
    return Record(list(snapshot), header, bytes(lists), ends, bytes(digests), fields, config, pieces)


def differing(old: Record, new: Record) -> tuple[snap.Snapshot, snap.Snapshot]:
    """The two snapshots without every entry whose encoded value is the same on both sides:
    what a comparison of the whole snapshots would find different, entry by entry, is all
    there (a 128-bit digest of the encoded value stands for it)."""
    ours, theirs = old.entry_digests(), new.entry_digests()
    before = old._build(_only_in(ours, theirs))
    after = new._build(_only_in(theirs, ours))
    return before, after


def _only_in(digests: list[bytes], others: list[bytes]) -> list[int]:
    """The positions, in order, of the digests that ``others`` does not hold (set operations
    and a dictionary, not a loop over every entry: most are on both sides)."""
    where, other = dict(zip(digests, range(len(digests)), strict=True)), set(others)
    if len(where) != len(digests):  # the same entry twice: never in a checked folder
        return [index for index, digest in enumerate(digests) if digest not in other]
    return sorted(where[digest] for digest in where.keys() - other)


# --------------------------------------------------------------------------- storage


def _path(tree: store.Tree) -> Path | None:
    if tree.key is None or tree.cache is None:
        return None
    return tree.cache / "directus-gitops" / "trees" / f"{tree.key}.record"


# Records read or made by this process, by file (a diff asks twice: for the snapshots, for
# the configuration), the few most recent.
_RECENT: dict[str, Record] = {}


def _recent(key: str, record: Record) -> Record:
    _RECENT.pop(key, None)
    _RECENT[key] = record
    while len(_RECENT) > 4:
        del _RECENT[next(iter(_RECENT))]
    return record


def load(tree: store.Tree) -> Record | None:
    path = _path(tree)
    if path is None:
        return None
    known = _RECENT.get(str(path))
    if known is not None:
        return known
    head = len(_MAGIC)
    start = head + 2 * _DIGEST + 8
    try:
        with path.open("rb") as stored:
            data = stored.read(start)
            size = int.from_bytes(data[head + 2 * _DIGEST : start], "big")
            index = stored.read(size)
            total = os.fstat(stored.fileno()).st_size
    except OSError:
        return None
    code, digest = data[head : head + _DIGEST], data[head + _DIGEST : head + 2 * _DIGEST]
    if not data.startswith(_MAGIC) or code != _code() or hashlib.sha256(index).digest() != digest:
        return None
    try:
        parts: tuple[Any, ...] = (*marshal.loads(index), Stored(path, start + size, total - start - size))
        record = Record(*parts)
        if len(record.entries) != (record.ends[-1] if record.ends else 0):
            return None
        os.utime(path)  # recently used: kept
    except (ValueError, TypeError, EOFError, OSError, IndexError):
        return None
    return _recent(str(path), record)


def forget(tree: store.Tree) -> None:
    """Remove ``tree``'s record (found damaged)."""
    path = _path(tree)
    if path is not None:
        _RECENT.pop(str(path), None)
        path.unlink(missing_ok=True)


def save(tree: store.Tree, record: Record) -> Record:
    """Remember ``record`` for ``tree``; one that cannot be written is simply not there next time.
    The record as written, its entries left in the file (tens of MB for a large model, which
    nothing in this process may read again), or ``record`` itself when it was not written."""
    path = _path(tree)
    if path is None:
        return record
    fields = [field.name for field in dataclasses.fields(record)]
    assert fields[-1] == "entries"
    index = marshal.dumps(tuple(getattr(record, name) for name in fields[:-1]))
    # One partial file per thread too: environments planned at once may each remember the folder.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out:
            head = _MAGIC + _code() + hashlib.sha256(index).digest() + len(index).to_bytes(8, "big") + index
            out.write(head)
            if isinstance(record.entries, Stored):
                out.write(record.entries.whole())
            else:
                out.writelines(record.entries)
        partial.replace(path)
        _prune(path.parent)
    except OSError:
        partial.unlink(missing_ok=True)
        return record
    return dataclasses.replace(record, entries=Stored(path, len(head), record.ends[-1] if record.ends else 0))


def _prune(folder: Path) -> None:
    records = sorted(folder.glob("*.record"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in records[KEEP:]:
        stale.unlink(missing_ok=True)


# --------------------------------------------------------------------------- reading


def read(
    tree: store.Tree, shared: validate.Shared | None = None, *, remember: bool = True, trust: bool = True
) -> tuple[snap.Snapshot, Record | None]:
    """The snapshot ``tree`` holds, checked as ``check`` does (remembered, or read and then
    remembered unless ``remember`` is false), and its record when there is one. Without
    ``trust`` the files are read even when a record exists (``push``: what changes a server
    never rests on a file in the git directory)."""
    record = load(tree) if trust else None
    if record is not None:
        try:
            return record.snapshot(), record
        except Damaged:
            forget(tree)
    if shared is not None and tree.key is not None and tree.key in shared.trees:
        return shared.trees[tree.key], None  # read and checked a moment ago, not remembered
    from directus_gitops.model import validate

    snapshot = validate.load_tree(tree, shared).snapshot
    if shared is not None and tree.key is not None:
        shared.keep_tree(tree.key, snapshot)
    path = _path(tree)
    if path is None or not remember:
        return snapshot, None
    manifest = store.read_manifest(tree.read, tree.source) or {}
    try:
        record = record_of(
            snapshot, config=manifest.get("config") is not None, encoded=shared.encoded if shared else None
        )
    except ValueError:  # a value marshal cannot hold: not remembered
        return snapshot, None
    record = _recent(str(path), save(tree, record))
    return snapshot, record
