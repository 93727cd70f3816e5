"""A push's backup of the target's schema: one canonical file Directus itself can apply.

It is made before the confirmation, while the target computes the diff, and kept under its
own name only once the push goes on (:meth:`Staged.keep`); until then it waits in a hidden
folder of the backups folder, removed with it whenever the push stops (:meth:`Staged.discard`).

Written as the target is read (:func:`streamed`): each entry of ``GET /schema/snapshot``
goes to a spool as its canonical YAML as soon as it is read, with only its name and place
kept, and the file is put together from the spool in canonical order. A large model's
schema is never held parsed whole (some 80 MB for 3,000 collections), nor its text.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from array import array
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from directus_gitops.files import snapshot as snap
from directus_gitops.files import yamlio
from directus_gitops.model.config import Target
from directus_gitops.server.client import DirectusClient


class Cancelled(Exception):
    """The push stopped while its backup was being read."""


def text(current: snap.Snapshot) -> list[str]:
    """The target's schema as one canonical file (header aside), in pieces of an entry each:
    ``yamlio.dump(snap.canonical(current))``, without a canonical copy of a whole large
    model, nor every line of it at once (several times its text)."""
    lists = {key: sorted(current[key], key=snap.entry_key) for key in snap.LIST_KEYS if key in current}
    return list(yamlio.dump_pieces(_layout(current, lists), snap.canonical_entry))


def _layout(current: Mapping[str, Any], lists: dict[str, list[Any]]) -> dict[str, Any]:
    """The file's members in canonical order, each list's items already in theirs."""
    ordered = snap.canonical({key: [] if key in lists else value for key, value in current.items()})
    ordered.update(lists)  # (their places are already in canonical order)
    return ordered


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _header(target: Target, stamp: str) -> bytes:
    return f"# Schema of '{target.name}' ({target.url}) before a push, {stamp}.\n".encode()


class Staged:
    """A backup made, waiting for the push to go on: kept (:meth:`keep`) or discarded."""

    def __init__(self, target: Target, folder: Path) -> None:
        self.target = target
        self.folder = folder
        made = [parent for parent in (folder, *folder.parents) if not parent.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self._made = made  # the folders made for it, deepest first: removed with it, if left empty
        self._work: Path | None = Path(tempfile.mkdtemp(prefix=".push-backup-", dir=folder))
        self.path = self._work / "backup.yaml"

    def write(self, pieces: Any) -> None:
        """The file: a header (its time set by :meth:`keep`), then ``pieces``."""
        with self.path.open("wb") as out:
            out.write(_header(self.target, _stamp()))
            for piece in pieces:
                out.write(piece.encode("utf-8"))

    def keep(self) -> Path:
        """Give the backup its name in the backups folder, stamped now; where it is."""
        assert self._work is not None, "kept or discarded already"
        stamp = _stamp()
        path = self.folder / f"{self.target.name}-{stamp}.yaml"
        counter = 1
        while path.exists():
            counter += 1
            path = self.folder / f"{self.target.name}-{stamp}-{counter}.yaml"
        header = _header(self.target, stamp)
        with self.path.open("r+b") as out:  # the header written first has the same length
            out.write(header)
        self.path.replace(path)
        self._made = []
        self.discard()
        return path

    def discard(self) -> None:
        """Remove what is left of it (nothing once kept), and the folders made for it if empty."""
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None
        for folder in self._made:
            with contextlib.suppress(OSError):  # not empty: something else is in it now
                folder.rmdir()
        self._made = []


def of_snapshot(target: Target, current: snap.Snapshot, folder: Path) -> Staged:
    """The backup of ``current``, the target read in full."""
    staged = Staged(target, folder)
    try:
        staged.write(text(current))
    except BaseException:
        staged.discard()
        raise
    return staged


def streamed(client: DirectusClient, folder: Path, cancelled: threading.Event | None = None) -> Staged:
    """The backup of ``client``'s target, written as it is read (see the module's docstring).
    ``cancelled``, once set, stops the reading (:class:`Cancelled`)."""
    staged = Staged(client.target, folder)
    try:
        with (staged.path.parent / "spool").open("w+b") as spool:
            pieces = _Spool(spool, cancelled)
            client.snapshot_streamed(pieces)
            staged.write(yamlio.dump_pieces(pieces.layout(), written=pieces.read))
    except BaseException:
        staged.discard()
        raise
    return staged


class _Spool:
    """Each entry's canonical piece in a file as it is read, with its name and place only."""

    def __init__(self, file: IO[bytes], cancelled: threading.Event | None) -> None:
        self._file = file
        self._size = 0  # (tell() would flush the file's buffer at every entry)
        self._cancelled = cancelled
        self._members: dict[str, Any] = {}
        # Of each list, each entry's sort key, and where its piece is in the spool (start, length).
        self._lists: dict[str, tuple[list[tuple[str, str]], array[int]]] = {}

    def start(self) -> None:
        self._file.seek(0)
        self._file.truncate()
        self._size = 0
        self._members.clear()
        self._lists.clear()

    def member(self, key: str, value: Any) -> None:
        self._members[key] = value
        if isinstance(value, list):
            self._lists[key] = ([], array("q"))

    def entry(self, key: str, entry: dict[str, Any]) -> None:
        if self._cancelled is not None and self._cancelled.is_set():
            raise Cancelled
        piece = yamlio.dump_item(snap.canonical_entry(entry)).encode("utf-8")
        names, places = self._lists[key]
        names.append(snap.entry_key(entry))
        places.extend((self._size, len(piece)))
        self._file.write(piece)
        self._size += len(piece)

    def layout(self) -> dict[str, Any]:
        """The file's members; each list's items, the places of their pieces in canonical order
        (a stable sort by name, as :func:`text` sorts them)."""
        lists = {}
        for key in snap.LIST_KEYS:
            if key in self._lists:
                names, places = self._lists[key]
                lists[key] = [
                    (places[2 * i], places[2 * i + 1]) for i in sorted(range(len(names)), key=names.__getitem__)
                ]
        return _layout(self._members, lists)

    def read(self, place: tuple[int, int]) -> str:
        start, length = place
        self._file.seek(start)
        return self._file.read(length).decode("utf-8")
