"""The one validation of snapshots, shared by ``check`` and every command that reads one.

Every problem is listed, not just the first, each as ``path:line: message``. The shape
rules are the loader's own (store and snapshot), applied to every file instead of stopping
at the first; the entry rules are what Directus's own validation of a snapshot accepts
(known keys, property types, field types, format version); the reference rules are what
Directus needs to apply it. ``check`` prints them all; ``diff``, ``plan`` and ``push`` read
through :func:`load_tree` and :func:`load_path`, which refuse a snapshot with any problem
that is not about canonical form, before anything is compared or sent. What Directus accepts
but looks broken (checked on real servers) is a warning, said and never refused (``check
--strict`` fails on it); the client reads a
server's snapshot through :func:`document_problems` alike, before anything is written.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from directus_gitops.base.console import display
from directus_gitops.base.errors import DocumentError, InvalidSnapshotError
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store, yamlio
from directus_gitops.files.yamlio import canonical as canonread
from directus_gitops.model import system

# Files that could hold part of a snapshot; other files beside it are not the tool's.
_DOCUMENTS = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Problem:
    path: str  # as shown to the user
    line: int | None
    message: str
    # Only about how the files are written (canonical form, stray files): every reader can
    # still tell exactly which snapshot they hold, so only ``check`` reports it.
    cosmetic: bool = False
    # Directus accepts it, but it looks broken: said by every reader, refused by none
    # (``check --strict`` refuses it).
    warning: bool = False

    @property
    def severity(self) -> str:
        return "warning" if self.warning else "error"

    @property
    def place(self) -> str:
        """``path:line``, or the path alone."""
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        message = f"warning: {self.message}" if self.warning else self.message
        return f"{self.place}: {message}"


@dataclass(frozen=True)
class _Finding:
    relpath: str
    at: snap.Location | None  # where in the document, turned into a line at the end
    message: str
    # Whether a rewrite would lose or invent something (then --fix leaves the files alone).
    blocking: bool = True
    line: int | None = None
    cosmetic: bool = False
    warning: bool = False
    # Where the same file defines the entry first: its line replaces "(also in FILE)" in the message.
    also_at: snap.Location | None = None


@dataclass(frozen=True)
class _Placed:
    """A snapshot entry and where it was written."""

    key: str  # "collections", "fields", "relations" or "systemFields"
    entry: Any  # a mapping unless the file is malformed
    relpath: str
    at: snap.Location

    @property
    def name(self) -> str:
        collection, name = snap.entry_key(self.entry)
        return f"{collection}.{name}" if name else collection


@dataclass
class Report:
    """What checking one folder or file found, and the canonical files when they can be written."""

    root: Path
    problems: list[Problem]
    canonical: dict[str, bytes] | None  # None when a rewrite would lose or invent something
    snapshot: snap.Snapshot | None = None  # what the files hold, when they could be read
    layout: store.Layout | Literal["directus"] = "directus"
    format_version: int | None = None
    # The warnings (among ``problems``) about how the file is written, which the snapshot read
    # from it no longer shows (:func:`snapshot_warnings` cannot say them again): a key given
    # twice in Directus's JSON export, read as the last.
    written: tuple[Problem, ...] = ()

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the snapshot unfit to read, compare or send."""
        return [problem for problem in self.problems if not problem.cosmetic and not problem.warning]

    @property
    def warnings(self) -> list[Problem]:
        """What Directus accepts but looks broken: said, not refused."""
        return [problem for problem in self.problems if problem.warning]


@dataclass
class Shared:
    """What the two sides of a comparison share while they are read, so that what both hold
    is read, parsed and checked once: parsed files by id (git's blob id), the entries of the
    canonical format by their text (:func:`canonread.load_split`), snapshot entries built from
    them, and the entries already found without a problem. Everything in it is shared by both
    snapshots: nothing may change it in place."""

    parsed: dict[str, Any] = field(default_factory=dict)
    pieces: dict[str, Any] = field(default_factory=dict)
    entries: dict[tuple[str, str, int], tuple[Any, snap.Entry]] = field(default_factory=dict)
    clean: dict[int, snap.Entry] = field(default_factory=dict)  # by id; holding them keeps ids unique
    # The entries of each collection file whose own checks (its shape, its inner name) found
    # nothing, by the parsed file (its id; the file is held too), its path and the name the
    # manifest lists it under. (Each entry is still checked, once per distinct content.)
    files: dict[tuple[int, str, str], tuple[Any, list[_Placed]]] = field(default_factory=dict)
    # Entries' marshal form for the records of both sides, by id (``treecache.record_of``).
    encoded: dict[int, tuple[Any, bytes, bytes]] = field(default_factory=dict)
    # The last few committed folders read whole, by content key. A walk through history
    # (``log``) reads a commit as the new side of one comparison and, after that one's old
    # side and the next one's, as the new side of the next: none is read twice.
    trees: dict[str, snap.Snapshot] = field(default_factory=dict)

    def keep_tree(self, key: str, snapshot: snap.Snapshot) -> None:
        self.trees.pop(key, None)
        self.trees[key] = snapshot
        while len(self.trees) > 3:
            del self.trees[next(iter(self.trees))]


class Walk:
    """What a walk through many commits (``log``, ``status``) shares between them: one
    :class:`Shared` for the whole walk, started afresh once it holds more entries than about
    three 6,000-field snapshots that have nothing in common (some 7 kB per entry)."""

    LIMIT = 20_000  # entries (their text and what it reads as)

    def __init__(self) -> None:
        self._shared = Shared()

    def shared(self) -> Shared:
        """The :class:`Shared` for the next commit's reading."""
        if len(self._shared.pieces) > self.LIMIT:
            self._shared = Shared()
        return self._shared


class _Unstreamable(Exception):
    """A folder whose collection files cannot be compared with their canonical form one at a
    time (a file holding another collection than the one it is listed for, or at another path
    than its own): ``check`` reads it whole."""


@dataclass
class _Index:
    """What ``check``'s checks across files need of the collection files it has let go (a
    whole folder is checked one file at a time): names, not entries, but for the few entries
    that name other collections (relations, groups)."""

    typed: bool = False  # whether the configuration kinds' checks need the fields' types
    first: dict[tuple[str, tuple[str, str]], str] = field(default_factory=dict)  # each entry's first file
    tangled: set[str] = field(default_factory=set)  # files holding an entry that is defined twice
    collections: set[str] = field(default_factory=set)  # the defined ones
    fields: set[tuple[str, str]] = field(default_factory=set)
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    first_field: dict[str, _Placed] = field(default_factory=dict)  # of each collection: where its lack is said
    grouped: list[_Placed] = field(default_factory=list)  # collections' entries naming a group
    relations: list[_Placed] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # every collection an entry names (the manifest lists them)
    canonical: dict[str, _Finding] = field(default_factory=dict)  # a let-go file's, when not canonical
    decoded: set[str] = field(default_factory=set)  # let-go files read as text (their lines can be found)

    def add(self, items: list[_Placed], relpath: str, findings: list[_Finding]) -> None:
        """Index one file's entries, and say which are defined again."""
        identities = [_identity(item) for item in items]
        again = [key for key in identities if key in self.first]
        before = len(findings)
        findings.extend(_duplicate_findings(items, identities, self.first))
        if len(findings) > before:
            self.tangled.update([relpath, *(self.first[key] for key in again)])
        for item, (key, (name, field_name)) in zip(items, identities, strict=True):
            self.names.add(name)
            if key == "collections":
                self.collections.add(name)
                if _meta(item.entry).get("group") is not None:
                    self.grouped.append(item)
            elif key == "fields":
                self.fields.add((name, field_name))
                if name not in self.first_field:
                    self.first_field[name] = _Placed(key, {"collection": name, "field": field_name}, relpath, item.at)
                if self.typed:
                    self.types.setdefault(name, {})[field_name] = str(item.entry.get("type"))
            elif key == "relations":
                self.relations.append(item)

    def by_key(self) -> dict[str, list[_Placed]]:
        """The entries :func:`_references` looks at."""
        return {"fields": list(self.first_field.values()), "collections": self.grouped, "relations": self.relations}

    def manifest(
        self, header: Mapping[str, Any], placed: list[_Placed], manifest: Mapping[str, Any]
    ) -> dict[str, bytes]:
        """The canonical manifest for what the let-go files hold (each of them was compared
        with its own canonical form as it was read)."""
        system_fields = [item.entry for item in _named(placed) if item.key == "systemFields"]
        return _canonical_manifest(header, self.names, system_fields, manifest)


def _canonical_manifest(
    header: Mapping[str, Any],
    names: AbstractSet[str],
    system_fields: list[snap.Entry] | None,
    manifest: Mapping[str, Any],
) -> dict[str, bytes]:
    """The canonical manifest of a split folder holding collections ``names`` (the manifest
    says no more of them) and, when ``manifest`` lists them, ``system_fields``."""
    snapshot: snap.Snapshot = {
        **header,
        "collections": [{"collection": name} for name in sorted(names)],
        "fields": [],
        "relations": [],
    }
    if "system_fields" in manifest:
        snapshot["systemFields"] = system_fields or []
    rendered = store.render(snapshot, "split", manifest.get("config"), renames=manifest.get("renames"))
    return {store.MANIFEST: rendered[store.MANIFEST]}


@dataclass
class _Checker:
    read: store.Reader
    files: set[str]
    shown: Callable[[str], str]  # a file's path as the user should see it
    findings: list[_Finding] = field(default_factory=list)
    placed: list[_Placed] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    tangled: set[str] = field(default_factory=set)  # files holding an entry that is defined twice
    snapshot: snap.Snapshot | None = None
    layout: store.Layout | Literal["directus"] = "directus"
    format_version: int | None = None
    # Parsed files by id (git's blob id), shared between the two sides of a comparison so a
    # file that is the same on both is read and parsed once.
    file_id: store.FileId | None = None
    parsed: dict[str, Any] | None = None
    from_cache: set[str] = field(default_factory=set)
    shared: Shared | None = None
    # Whether to build the canonical files (only ``check`` compares with them). Without them,
    # files' bytes and texts are not kept beside the model (``unkept``: read, not kept).
    render: bool = True
    unkept: set[str] = field(default_factory=set)
    # Collection files left unread: the same on both sides of a comparison (:func:`load_changed`),
    # and what they define, read only when a reference asks (None: every file is read).
    skip: AbstractSet[str] = frozenset()
    elsewhere: _Elsewhere | None = None
    # ``check`` of a whole split folder: each collection file is checked, compared with its
    # canonical form and let go before the next is read; what the checks across files need of
    # it is kept in this index (None: every entry is held until the end).
    streamed: _Index | None = None
    # A lone file of Directus's own export, read as Directus reads it (``store.parse_export``),
    # and the keys it gives twice (JSON.parse takes the last: a warning, not an error).
    export: str | None = None
    repeated: list[store.Repeated] = field(default_factory=list)

    def find(
        self, relpath: str, at: snap.Location | None, message: str, *, blocking: bool = True, cosmetic: bool = False
    ) -> None:
        self.findings.append(_Finding(relpath, at, message, blocking, cosmetic=cosmetic))

    # ------------------------------------------------------------------ reading

    def document(self, relpath: str) -> tuple[bool, Any]:
        """The parsed file, or (False, None) after recording why it cannot be read."""
        known = self.file_id(relpath) if self.file_id is not None and self.parsed is not None else None
        if known is not None and self.parsed is not None and known in self.parsed:
            self.from_cache.add(relpath)
            return True, self.parsed[known]
        try:
            data = self.read(relpath)
        except DocumentError as exc:  # too large to read
            self.findings.append(_Finding(relpath, None, exc.problem, line=exc.line))
            return False, None
        if data is None:  # listed, but a link (never followed) or not a regular file
            self.find(relpath, None, "is a symbolic link, which is never followed")
            return False, None
        if self.render:
            self.data[relpath] = data
        try:
            document = self.parse(data, relpath)
        except DocumentError as exc:
            self.findings.append(_Finding(relpath, None, exc.problem, line=exc.line))
            return False, None
        if self.render:
            self.texts[relpath] = data.decode("utf-8")
        else:  # no canonical form to compare with: the text is read again only for a finding's line
            self.unkept.add(relpath)
        if known is not None and self.parsed is not None:
            self.parsed[known] = document
        return True, document

    def parse(self, data: bytes, relpath: str) -> Any:
        if self.shared is not None and relpath.endswith((".yaml", ".yml")) and len(data) <= store.MAX_FILE_BYTES:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                ours, document = canonread.load_split(text, self.shared.pieces)
                if ours:
                    return document
        if relpath == self.export:
            document, repeated = store.parse_export(data, relpath)
            self.repeated.extend(repeated)
            return document
        return store.parse_document(data, relpath)  # anything else, and every error message

    def text(self, relpath: str) -> str:
        if relpath not in self.texts:  # parsed on the other side of a comparison
            self.texts[relpath] = (self.read(relpath) or b"").decode("utf-8")
        return self.texts[relpath]

    def shape(self, relpath: str, problems: Iterable[snap.ShapeProblem], prefix: snap.Location = ()) -> bool:
        found = False
        for problem in problems:
            self.find(relpath, (*prefix, *problem.at), problem.message)
            found = True
        return not found

    def snapshot_document(self, relpath: str, document: Any) -> snap.Snapshot | None:
        """A file in Directus's own snapshot shape (single layout, or Directus's export)."""
        prefix: snap.Location = ("data",) if snap.unwrap(document) is not document else ()
        body = snap.unwrap(document)
        problems = snap.problems(body)
        self.shape(relpath, problems, prefix)
        if not isinstance(body, dict):
            return None
        if self.version(relpath, body, (*prefix, "version")):
            problems = [*problems, snap.ShapeProblem(("version",), "")]
        bad = {problem.at[:2] for problem in problems}
        for key in snap.LIST_KEYS:
            items = body.get(key)
            if isinstance(items, list):
                for index, entry in enumerate(items):
                    if (key, index) not in bad:
                        self.place([_Placed(key, entry, relpath, (*prefix, key, index))])
        return None if problems else body

    def version(self, relpath: str, header: Mapping[str, Any], at: snap.Location) -> bool:
        """Record a snapshot ``version`` Directus refuses; whether there was one."""
        version = header.get("version")
        if "version" not in header or (type(version) is int and version in SNAPSHOT_VERSIONS):
            return False
        shown = ", ".join(str(v) for v in SNAPSHOT_VERSIONS)
        self.find(relpath, at, f"snapshot version {version!r} is not one Directus accepts ({shown})")
        return True

    # ------------------------------------------------------------------ layouts

    def folder(self, default_layout: store.Layout) -> dict[str, bytes] | None:
        """Check the folder; the canonical files for it, or None when they can't be known."""
        streamed, self.streamed = self.streamed, None  # only a split folder's files are let go
        if store.MANIFEST not in self.files:
            return self.directus_folder(default_layout)
        ok, manifest = self.document(store.MANIFEST)
        if not ok or not self.shape(store.MANIFEST, store.manifest_problems(manifest)):
            for relpath in sorted(self.files - {store.MANIFEST}):
                self.document(relpath)
            return None
        self.layout = manifest["layout"]
        self.format_version = manifest["format_version"]
        if streamed is not None and manifest["layout"] == "split":
            self.streamed = streamed
            streamed.typed = bool(manifest.get("config"))
        expected = self.single(manifest) if manifest["layout"] == "single" else self.split(manifest)
        if manifest.get("config"):
            self.config_files(manifest["config"])
            if expected is not None:
                # The configuration kinds' files are kept as they are (pull writes them canonical).
                for path in store.config_files(manifest):
                    data = self.read(path) if path in self.files else None
                    if data is not None:
                        expected[path] = data
        return expected

    def directus_folder(self, layout: store.Layout) -> dict[str, bytes] | None:
        name = next((name for name in store.DIRECTUS_FILES if name in self.files), None)
        if name is None:
            if self.files:
                self.find("", None, f"no {store.MANIFEST}: not a directus-gitops schema folder")
            else:  # a folder made for it, before the first pull
                self.find("", None, f"empty: no {store.MANIFEST} yet (directus-gitops pull writes it)")
            return None
        self.unlisted({name})
        ok, document = self.document(name)
        snapshot = self.snapshot_document(name, document) if ok else None
        self.find(
            name,
            None,
            "Directus's own snapshot, not the directus-gitops layout (`check --fix` converts it)",
            blocking=False,
            cosmetic=True,
        )
        self.snapshot = snapshot
        if snapshot is None:
            return None
        return store.render(snapshot, layout) if self.render else {}

    def single(self, manifest: Mapping[str, Any]) -> dict[str, bytes] | None:
        name = str(PurePosixPath(manifest.get("file", store.SINGLE_FILE)))
        self.unlisted({store.MANIFEST, name, *store.config_files(manifest)})
        if name not in self.files:
            self.find(store.MANIFEST, ("file",), f"names {name}, which is missing")
            return None
        ok, document = self.document(name)
        snapshot = self.snapshot_document(name, document) if ok else None
        self.snapshot = snapshot
        if snapshot is None:
            return None
        return (
            store.render(snapshot, "single", manifest.get("config"), renames=manifest.get("renames"))
            if self.render
            else {}
        )

    def split(self, manifest: Mapping[str, Any]) -> dict[str, bytes] | None:
        header = manifest["snapshot"]
        self.shape(
            store.MANIFEST,
            snap.problems({**header, "collections": [], "fields": [], "relations": []}),
            ("snapshot",),
        )
        self.version(store.MANIFEST, header, ("snapshot", "version"))
        system = enumerate(manifest.get("system_fields") or [])
        self.place(_Placed("systemFields", entry, store.MANIFEST, ("system_fields", index)) for index, entry in system)
        listed: dict[str, str] = {}
        for name, relpath in (manifest.get("collections") or {}).items():
            path = store.normal(relpath)
            at = ("collections", name)
            if path in listed:
                self.find(store.MANIFEST, at, f"lists {path} again (already for '{listed[path]}')")
                continue
            listed[path] = name
            if path not in self.files:
                self.find(store.MANIFEST, at, f"lists {path}, which is missing")
                continue
            if path not in self.skip:
                start, found = len(self.placed), len(self.findings)
                self.collection_file(path, str(name))
                if self.streamed is not None:
                    self.let_go(path, str(name), start, found)
        self.unlisted({store.MANIFEST, *listed, *store.config_files(manifest)})
        if self.streamed is not None:
            return self.streamed.manifest(header, self.placed, manifest)

        snapshot: snap.Snapshot = {**header, "collections": [], "fields": [], "relations": []}
        if "system_fields" in manifest:
            snapshot["systemFields"] = []
        for placed in _named(self.placed):
            snapshot[placed.key].append(placed.entry)
        self.snapshot = snapshot
        return (
            store.render(snapshot, "split", manifest.get("config"), renames=manifest.get("renames"))
            if self.render
            else {}
        )

    def config_files(self, entry: Mapping[str, Any]) -> None:
        """The configuration kinds' files, checked by their own validation (the one every
        reader of them runs) against the collections this folder's schema defines."""
        from directus_gitops.model.kinds import validate as config_checks

        found = config_checks.entry_findings(entry)
        documents: dict[str, Any] = {}
        if not found:
            listed = store.config_files({"config": entry})
            for index, relpath in enumerate(listed):
                if relpath not in self.files:
                    self.find(store.MANIFEST, ("config", "files", index), f"lists {relpath}, which is missing")
                    continue
                ok, document = self.document(relpath)
                if ok:
                    documents[relpath] = document
            collections: Collection[str] = {
                item.entry["collection"] for item in _named(self.placed) if item.key == "collections"
            }
            # Field types for the reference data's checks: only when every collection was read.
            types: dict[str, dict[str, str]] | None = None
            if self.elsewhere is not None:
                collections = _Either(collections, self.elsewhere.defines)
            elif self.streamed is not None:
                collections = self.streamed.collections
                types = {name: self.streamed.types.get(name, {}) for name in collections}
            else:
                types = {name: {} for name in collections}
                for item in _named(self.placed):
                    if item.key == "fields" and item.entry.get("collection") in types:
                        types[item.entry["collection"]][str(item.entry.get("field"))] = str(item.entry.get("type"))
            complete = len(documents) == len(listed)
            found.extend(config_checks.findings(entry, documents, collections, complete=complete, fields=types))
        for finding in found:
            self.find(finding.relpath, finding.at, finding.message)

    def collection_file(self, relpath: str, listed_as: str) -> None:
        ok, content = self.document(relpath)
        if not ok:
            return
        done = self.shared.files if self.shared is not None else None
        if done is not None:  # the same file at the same place, its own checks passed before
            known = done.get((id(content), relpath, listed_as))
            if known is not None:
                self.placed.extend(known[1])
                return
        if not self.shape(relpath, store.collection_file_problems(content)):
            return
        if content["collection"] != listed_as:
            # Readers would see a collection dropped and another created: refused by them,
            # and `check --fix` (which lists the file under the name it holds) can mend it.
            self.find(
                relpath,
                ("collection",),
                f"holds collection '{content['collection']}', but {store.MANIFEST} lists it for '{listed_as}'",
                blocking=False,
            )
        placed = [_Placed(key, entry, relpath, at) for key, at, entry in self.entries(content)]
        self.place(placed)
        if done is not None and content["collection"] == listed_as:
            done[(id(content), relpath, listed_as)] = (content, placed)  # the file too: its id stays its own

    def let_go(self, relpath: str, listed_as: str, start: int, found: int) -> None:
        """Check the entries ``relpath`` placed from ``start`` on as :meth:`check_entries` and
        :meth:`canonical` would (its reading's findings from ``found`` on), keep what the checks
        across files need (:class:`_Index`), and let the file's text and entries go."""
        assert self.streamed is not None
        items = self.placed[start:]
        del self.placed[start:]
        if any(item.entry["collection"] != listed_as for item in items):
            raise _Unstreamable  # its canonical file is another collection's: only the whole folder says
        self.findings.extend(_entry_findings(items))
        self.findings.extend(_table_findings(_named(items)))
        self.streamed.add(items, relpath, self.findings)
        data = self.data.pop(relpath, None)
        if self.texts.pop(relpath, None) is not None:
            self.streamed.decoded.add(relpath)  # its findings' lines are found at the end, from the file again
        blocking = any(finding.blocking and finding.relpath == relpath for finding in self.findings[found:])
        if data is None or blocking:
            return  # no canonical form to compare with (see canonical)
        one: snap.Snapshot = {"collections": [], "fields": [], "relations": []}
        for item in items:
            one[item.key].append(item.entry)
        expected = store.render(one)
        del expected[store.MANIFEST]
        if set(expected) - {relpath}:
            raise _Unstreamable  # the canonical layout has its collection at another path
        want = expected.get(relpath)
        if want is None:
            finding = _Finding(relpath, None, "not a file of the canonical layout", blocking=False, cosmetic=True)
            self.streamed.canonical[relpath] = finding
        elif want != data:
            line = _first_difference(data, want)
            finding = _Finding(relpath, None, "not in canonical form", blocking=False, line=line, cosmetic=True)
            self.streamed.canonical[relpath] = finding

    def entries(self, content: Mapping[str, Any]) -> Iterator[tuple[str, snap.Location, snap.Entry]]:
        """The file's snapshot entries; a field or relation read from the same text as one
        already built for the same collection is that same entry (see :class:`Shared`)."""
        if self.shared is None:
            yield from store.collection_entries(content)
            return
        built, name = self.shared.entries, content["collection"]
        for key, at, entry in store.collection_entries(content):
            if key == "collections":
                yield key, at, entry
                continue
            item = content[key][at[1]]
            known = built.get((key, name, id(item)))
            if known is None:
                built[(key, name, id(item))] = known = (item, entry)  # the item too: its id stays unique
            yield key, at, known[1]

    def place(self, placed: Iterable[_Placed]) -> None:
        """Take the entries into the snapshot, each number written as text as the number
        (before anything renders or compares them)."""
        for item in placed:
            self.placed.append(item)
            self.findings.extend(_numbers_from_text(item))

    def unlisted(self, listed: set[str]) -> None:
        for relpath in sorted(self.files - listed):
            parts = PurePosixPath(relpath).parts
            ours = parts[0] in ("collections", "config", "data")
            if not ours and (len(parts) > 1 or not relpath.endswith(_DOCUMENTS)):
                continue  # someone's own file beside the snapshot (a README): the tool leaves it alone
            message = f"not part of the snapshot ({store.MANIFEST} does not list it)"
            self.find(relpath, None, message, cosmetic=True)

    # ------------------------------------------------------------------ canonical form

    def canonical(self, expected: Mapping[str, bytes]) -> None:
        """Every file that was read and is not as ``store.render`` would write it."""
        blocked = any(finding.blocking for finding in self.findings)
        bad = {finding.relpath for finding in self.findings if finding.blocking} | self.tangled
        for relpath, data in sorted(self.data.items()):
            if relpath in bad or (relpath == store.MANIFEST and blocked):
                continue  # a rewrite would not be from what this file says
            want = expected.get(relpath)
            if want is None:
                self.find(relpath, None, "not a file of the canonical layout", blocking=False, cosmetic=True)
            elif want != data:
                line = _first_difference(data, want)
                finding = _Finding(relpath, None, "not in canonical form", blocking=False, line=line, cosmetic=True)
                self.findings.append(finding)
        if self.streamed is not None:  # the collection files, compared one at a time (let_go)
            self.findings.extend(
                finding for relpath, finding in sorted(self.streamed.canonical.items()) if relpath not in bad
            )
        if not blocked:
            for relpath in sorted(set(expected) - self.files):
                message = "missing: the canonical layout has this file"
                self.find(relpath, None, message, blocking=False, cosmetic=True)

    # ------------------------------------------------------------------ results

    def problems(self) -> list[Problem]:
        by_file: dict[str, list[int]] = defaultdict(list)
        decoded = (self.streamed.decoded if self.streamed is not None else set()) | self.unkept
        for index, finding in enumerate(self.findings):
            if finding.at is not None and (
                finding.relpath in self.texts or finding.relpath in self.from_cache or finding.relpath in decoded
            ):
                by_file[finding.relpath].append(index)
        lines: dict[int, int | None] = {}
        also_lines: dict[int, int | None] = {}
        for relpath, indexes in by_file.items():
            also = [i for i in indexes if self.findings[i].also_at is not None]
            wanted = [self.findings[i].at or () for i in indexes] + [self.findings[i].also_at or () for i in also]
            located = yamlio.locate(self.text(relpath), wanted)
            lines.update(zip(indexes, located[: len(indexes)], strict=True))
            also_lines.update(zip(also, located[len(indexes) :], strict=True))
            if relpath in decoded:
                del self.texts[relpath]  # read again for its lines only

        def message(index: int, finding: _Finding) -> str:
            line = also_lines.get(index)
            if line is None:
                return finding.message
            return finding.message.replace(f"(also in {finding.relpath})", f"(also at line {line})", 1)

        result = {
            Problem(
                self.shown(finding.relpath),
                lines.get(index, finding.line),
                message(index, finding),
                finding.cosmetic,
                finding.warning,
            )
            for index, finding in enumerate(self.findings)
        }
        return sorted(result, key=lambda p: (p.path, p.line or 0, p.message))

    def check_entries(self) -> None:
        if self.shared is None:
            self.findings.extend(_entry_findings(self.placed))
        else:  # an entry both sides share is checked once
            clean = self.shared.clean
            for placed in self.placed:
                if id(placed.entry) in clean:
                    continue
                found = list(_entry_findings([placed]))
                if found:
                    self.findings.extend(found)
                elif isinstance(placed.entry, dict):
                    clean[id(placed.entry)] = placed.entry
        named = _named(self.placed)
        identities = [_identity(p) for p in named]
        self.findings.extend(_duplicate_findings(named, identities))
        # A file holding an entry defined twice (the first place too) has no canonical form.
        counts = Counter(identities)
        self.tangled = set()
        if len(counts) < len(identities):
            self.tangled = {p.relpath for p, key in zip(named, identities, strict=True) if counts[key] > 1}
        if self.streamed is not None:  # (what is placed: the manifest's system fields)
            self.tangled |= self.streamed.tangled
            index = self.streamed
            self.findings.extend(_references(index.by_key(), index.collections, index.fields))
            return
        self.findings.extend(_reference_findings(named, self.elsewhere))
        self.findings.extend(_table_findings(named))


# --------------------------------------------------------------------------- entry rules
#
# What Directus's own snapshot validation accepts (api/src/utils/validate-snapshot.ts and the
# types of the system tables): anything else is answered 400 by the server, or worse, read
# back differently, so every reader refuses it before comparing or sending.

SNAPSHOT_VERSIONS = (1, 2)

ENTRY_KEYS: dict[str, frozenset[str]] = {
    "collections": frozenset({"collection", "meta", "schema"}),
    "fields": frozenset({"collection", "field", "type", "meta", "schema"}),
    "relations": frozenset({"collection", "field", "related_collection", "meta", "schema"}),
}

# @directus/constants TYPES and the API's ALIAS_TYPES.
FIELD_TYPES = frozenset(
    {
        "alias",
        "bigInteger",
        "boolean",
        "date",
        "dateTime",
        "decimal",
        "float",
        "integer",
        "json",
        "string",
        "text",
        "time",
        "timestamp",
        "binary",
        "uuid",
        "unknown",
        "csv",
        "hash",
        "geometry",
        "geometry.Point",
        "geometry.LineString",
        "geometry.Polygon",
        "geometry.MultiPoint",
        "geometry.MultiLineString",
        "geometry.MultiPolygon",
        "o2m",
        "m2m",
        "m2a",
        "o2a",
        "files",
        "translations",
    }
)

_BOOL = (bool,)
_BOOL_OR_NULL = (bool, type(None))
_INT_OR_NULL = (int, type(None))
_TEXT_OR_NULL = (str, type(None))
_MAP_OR_NULL = (dict, type(None))
_LIST_OR_NULL = (list, type(None))

# (list, section, property) -> the types its value may have. Only properties whose type is
# the same in every Directus release 9-12; the others are left to the server.
PROPERTY_TYPES: dict[tuple[str, str, str], tuple[type, ...]] = {
    ("fields", "schema", "is_nullable"): _BOOL,
    ("fields", "schema", "is_unique"): _BOOL_OR_NULL,
    ("fields", "schema", "is_primary_key"): _BOOL_OR_NULL,
    ("fields", "schema", "is_indexed"): _BOOL_OR_NULL,
    ("fields", "schema", "is_generated"): _BOOL_OR_NULL,
    ("fields", "schema", "has_auto_increment"): _BOOL_OR_NULL,
    ("fields", "schema", "max_length"): (int, str, type(None)),
    ("fields", "schema", "numeric_precision"): _INT_OR_NULL,
    ("fields", "schema", "numeric_scale"): _INT_OR_NULL,
    ("fields", "schema", "name"): _TEXT_OR_NULL,
    ("fields", "schema", "table"): _TEXT_OR_NULL,
    ("fields", "schema", "data_type"): _TEXT_OR_NULL,
    ("fields", "schema", "foreign_key_table"): _TEXT_OR_NULL,
    ("fields", "schema", "foreign_key_column"): _TEXT_OR_NULL,
    ("fields", "meta", "hidden"): _BOOL_OR_NULL,
    ("fields", "meta", "readonly"): _BOOL_OR_NULL,
    ("fields", "meta", "required"): _BOOL_OR_NULL,
    ("fields", "meta", "searchable"): _BOOL_OR_NULL,
    ("fields", "meta", "sort"): _INT_OR_NULL,
    ("fields", "meta", "interface"): _TEXT_OR_NULL,
    ("fields", "meta", "display"): _TEXT_OR_NULL,
    ("fields", "meta", "width"): _TEXT_OR_NULL,
    ("fields", "meta", "group"): _TEXT_OR_NULL,
    ("fields", "meta", "options"): _MAP_OR_NULL,
    ("fields", "meta", "display_options"): _MAP_OR_NULL,
    ("fields", "meta", "validation"): _MAP_OR_NULL,
    ("fields", "meta", "conditions"): _LIST_OR_NULL,
    ("fields", "meta", "translations"): _LIST_OR_NULL,
    ("collections", "meta", "hidden"): _BOOL_OR_NULL,
    ("collections", "meta", "singleton"): _BOOL_OR_NULL,
    ("collections", "meta", "versioning"): _BOOL_OR_NULL,
    ("collections", "meta", "archive_app_filter"): _BOOL_OR_NULL,
    ("collections", "meta", "sort"): _INT_OR_NULL,
    ("collections", "meta", "icon"): _TEXT_OR_NULL,
    ("collections", "meta", "group"): _TEXT_OR_NULL,
    ("collections", "meta", "sort_field"): _TEXT_OR_NULL,
    ("collections", "meta", "archive_field"): _TEXT_OR_NULL,
    ("collections", "meta", "translations"): _LIST_OR_NULL,
    ("collections", "schema", "name"): _TEXT_OR_NULL,
    ("relations", "meta", "one_field"): _TEXT_OR_NULL,
    ("relations", "meta", "junction_field"): _TEXT_OR_NULL,
    ("relations", "meta", "sort_field"): _TEXT_OR_NULL,
    ("relations", "meta", "one_collection_field"): _TEXT_OR_NULL,
    ("relations", "meta", "one_allowed_collections"): _LIST_OR_NULL,
    ("relations", "schema", "on_delete"): _TEXT_OR_NULL,
    ("relations", "schema", "on_update"): _TEXT_OR_NULL,
    ("relations", "schema", "constraint_name"): _TEXT_OR_NULL,
}


# The same, by list and section: one lookup per property instead of building a key.
_SECTION_TYPES: dict[tuple[str, str], dict[str, tuple[type, ...]]] = defaultdict(dict)
for (_list, _section, _property), _types in PROPERTY_TYPES.items():
    _SECTION_TYPES[(_list, _section)][_property] = _types
_SECTION_TYPES = dict(_SECTION_TYPES)


# The (list, section, property names, their values' types) already found right: a snapshot
# repeats a few of them (a dozen in a 6,000-field model) across thousands of entries.
_RIGHT_SHAPES: set[tuple[str, str, tuple[str, ...], tuple[type, ...]]] = set()
_SHAPES_LIMIT = 50_000


def _has_type(value: Any, expected: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # bool is an int in Python, never in a snapshot
        return bool in expected
    return isinstance(value, expected)


def _type_names(expected: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", str: "a string", dict: "a mapping", list: "a list"}
    words = [names[kind] for kind in expected if kind in names]
    if type(None) in expected:
        words.append("null")
    return " or ".join(words)


# Properties Directus stores as numbers. Its snapshot validation takes some of them as text
# (schema.max_length: "120"), and the server then reads back the number: a file that writes
# one as text holds the same snapshot as one that writes the number, so every reader takes the
# number (a diff shows no `120 → "120"`), and only `check` says how it is written (`--fix`
# writes the number).
NUMBER_PROPERTIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("fields", "schema"): ("max_length", "numeric_precision", "numeric_scale"),
    ("fields", "meta"): ("sort",),
    ("collections", "meta"): ("sort",),
}
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,15}")  # what a JSON number (a double) holds exactly
# Flags Directus stores as booleans, which snapshots from MySQL may write as 1 and 0 (Directus's
# own validation takes any value there and reads back true or false): every reader takes the
# boolean, and `check` says how it is written, as for the numbers above.
FLAG_PROPERTIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("fields", "meta"): ("hidden", "readonly", "required", "searchable"),
    ("collections", "meta"): ("hidden", "singleton", "versioning", "archive_app_filter"),
}


def _numbers_from_text(item: _Placed) -> list[_Finding]:
    """Set each number the entry writes as text to the number; what ``check`` says about each."""
    entry = item.entry
    found: list[_Finding] = []
    if not isinstance(entry, dict):
        return found
    for section in ("meta", "schema"):
        properties = entry.get(section)
        if not isinstance(properties, dict):
            continue
        names = NUMBER_PROPERTIES.get((item.key, section), ())
        texts = {name: properties[name] for name in names if type(properties.get(name)) is str}
        written = {name: f"the text {text!r}" for name, text in texts.items() if _INTEGER_TEXT.fullmatch(text)}
        values: dict[str, Any] = {name: int(texts[name]) for name in written}
        for name in FLAG_PROPERTIES.get((item.key, section), ()):
            if type(properties.get(name)) is int and properties[name] in (0, 1):
                written[name], values[name] = f"written as {properties[name]}", properties[name] == 1
        if not values:
            continue
        entry[section] = {**properties, **values}  # a new mapping: a parsed file's may be shared
        for name, value in values.items():
            what = "the number" if type(value) is int else "the boolean"
            message = (
                f"{item.name}: {section}.{name} is {written[name]}, Directus stores {what} "
                f"{json.dumps(value)} (`check --fix` writes it)"
            )
            found.append(_Finding(item.relpath, (*item.at, section, name), message, blocking=False, cosmetic=True))
    return found


def _named(placed: Iterable[_Placed]) -> list[_Placed]:
    """The entries that name their collection: the others are reported and set aside."""
    return [item for item in placed if isinstance(item.entry, dict) and isinstance(item.entry.get("collection"), str)]


def _entry_findings(placed: Iterable[_Placed]) -> Iterator[_Finding]:
    """What each entry must hold for Directus, beyond the names the loader needs."""
    for item in placed:
        entry, relpath, at = item.entry, item.relpath, item.at
        if not isinstance(entry, dict):
            yield _Finding(relpath, at, f"every item of '{item.key}' must be a mapping")
            continue
        if item.key == "systemFields":
            for key in ("collection", "field"):
                if not isinstance(entry.get(key), str) or not entry[key]:
                    yield _Finding(relpath, (*at, key), f"system field: '{key}' must be a non-empty string")
        allowed = ENTRY_KEYS.get(item.key)
        if allowed is not None:
            for key in sorted(set(entry) - allowed, key=str):
                yield _Finding(relpath, (*at, key), f"{item.name}: unknown property '{key}' (Directus refuses it)")
        if item.key == "fields" and (not isinstance(entry.get("type"), str) or not entry["type"]):
            yield _Finding(relpath, (*at, "type"), f"field {item.name}: 'type' must be a non-empty string")
        elif item.key == "fields" and entry["type"] not in FIELD_TYPES:
            message = f"field {item.name}: type '{entry['type']}' is not a Directus field type"
            yield _Finding(relpath, (*at, "type"), message)
        for section in ("meta", "schema"):
            properties = entry.get(section)
            typed = _SECTION_TYPES.get((item.key, section))
            if isinstance(properties, dict) and typed:
                # Whether a property is of its type depends on its name and its value's type
                # only: a section whose names and types were all found right before is right.
                shape = (item.key, section, tuple(properties), tuple(map(type, properties.values())))
                if shape in _RIGHT_SHAPES:
                    continue
                right = True
                for key, value in properties.items():
                    expected = typed.get(key)
                    # (the exact type in the list is the common case, and always right)
                    if expected is not None and type(value) not in expected and not _has_type(value, expected):
                        message = f"{item.name}: {section}.{key} must be {_type_names(expected)}, not {value!r}"
                        yield _Finding(relpath, (*at, section, key), message)
                        right = False
                if right and len(_RIGHT_SHAPES) < _SHAPES_LIMIT:
                    _RIGHT_SHAPES.add(shape)
        if item.key == "relations" and "related_collection" not in entry:
            yield _Finding(relpath, at, f"relation {item.name}: 'related_collection' is missing")
        elif item.key == "relations" and not isinstance(entry["related_collection"], str | None):
            message = f"relation {item.name}: 'related_collection' must be a name or null"
            yield _Finding(relpath, (*at, "related_collection"), message)
        for key in ("meta", "schema"):
            if key in entry and not isinstance(entry[key], dict | None):
                yield _Finding(relpath, (*at, key), f"{item.name}: '{key}' must be a mapping or null")


_NOUNS = {"collections": "collection", "fields": "field", "relations": "relation", "systemFields": "system field"}


def _identity(item: _Placed) -> tuple[str, tuple[str, str]]:
    return item.key, snap.entry_key(item.entry)


def _duplicate_findings(
    placed: list[_Placed],
    identities: list[tuple[str, tuple[str, str]]],
    first: dict[tuple[str, tuple[str, str]], str] | None = None,
) -> Iterator[_Finding]:
    """Each entry defined again after its first place (``identities``: each one's, in order);
    ``first`` holds each identity's first file, and those of entries placed before."""
    first = {} if first is None else first
    first_at: dict[tuple[str, tuple[str, str]], snap.Location] = {}  # of those placed here
    for item, key in zip(placed, identities, strict=True):
        if key in first:
            message = f"{_NOUNS[item.key]} {item.name} is defined again (also in {first[key]}): keep one"
            if item.key == "relations":
                # Measured on 10.13.4 and 12.4.1: the apply succeeds, and the snapshot lists the
                # relation three times from then on, so no push could ever converge.
                message += " (Directus would store both and read the relation back three times)"
            also = first_at.get(key) if first[key] == item.relpath else None
            yield _Finding(item.relpath, item.at, message, also_at=also)
        else:
            first[key] = item.relpath
            first_at[key] = item.at


def _is_system(collection: Any) -> bool:
    """Whether ``collection`` is one of Directus's own in some release (those are not in a
    snapshot): any other name, ``directus_languages`` too, must be defined to be named."""
    return system.owns(collection)


def _reference_findings(placed: Iterable[_Placed], elsewhere: _Elsewhere | None = None) -> Iterator[_Finding]:
    """Names that point nowhere. Directus's own collections are not in a snapshot, so they
    count as existing. With ``elsewhere``, what the files left unread define counts too."""
    by_key: dict[str, list[_Placed]] = defaultdict(list)
    for item in placed:
        by_key[item.key].append(item)
    collections = {item.entry["collection"] for item in by_key["collections"]}
    fields = {snap.entry_key(item.entry) for item in by_key["fields"]}
    return _references(by_key, collections, fields, elsewhere)


def _meta(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """An entry's ``meta``, when it is a mapping (any other is a problem of its own, as is a
    name that is not a string: the names below are looked up only when they can be)."""
    meta = entry.get("meta")
    return meta if isinstance(meta, dict) else {}


def _references(
    by_key: Mapping[str, list[_Placed]],
    collections: Collection[Any],
    fields: Collection[Any],
    elsewhere: _Elsewhere | None = None,
) -> Iterator[_Finding]:
    """:func:`_reference_findings`, given the defined collections and fields, and of the entries
    by list: the fields that name a collection for the first time, the collections with a
    group, the relations (the others cannot point nowhere)."""
    kept: tuple[Collection[Any], Collection[Any]] = (collections, fields)
    listed = fields  # the fields the entries read define (a streamed check has only their first ones placed)
    if elsewhere is not None:
        # An entry the same on both sides, naming what a file left unread holds: it names the
        # same on both sides, and what it says is not the change's doing (that file is not read).
        kept = (_Either(collections, elsewhere.unread_name), _Either(fields, elsewhere.unread_field))
        collections, fields = _Either(collections, elsewhere.defines), _Either(fields, elsewhere.has_field)

    def view(item: _Placed) -> tuple[Collection[Any], Collection[Any]]:
        return kept if elsewhere is not None and elsewhere.kept(item) else (collections, fields)

    def exists(collection: Any, known: Collection[Any] = collections) -> bool:
        return collection in known or _is_system(collection)

    def broken(item: _Placed, at: snap.Location, message: str, *, warning: bool = False) -> _Finding:
        return _Finding(item.relpath, (*item.at, *at), f"{item.name}: {message}", blocking=False, warning=warning)

    undefined: set[str] = set()
    undefined_fields: dict[Any, list[str]] = {}
    for item in by_key.get("fields", []):
        collection = item.entry["collection"]
        if not exists(collection) and collection not in undefined:
            undefined.add(collection)  # once per collection, not once per field, naming them all
            if not undefined_fields:  # grouped once, when the first undefined collection is met
                for owner, name in listed:
                    undefined_fields.setdefault(owner, []).append(str(name))
            names = sorted(undefined_fields.get(collection) or [str(item.entry.get("field"))])
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            message = f"collection '{collection}' is not defined: add it, or remove its fields ({shown})"
            yield broken(item, (), message)
    for item in by_key.get("collections", []):
        group = _meta(item.entry).get("group")
        if group is not None and isinstance(group, Hashable) and group not in view(item)[0]:
            message = f"group '{group}' is not a defined collection: add it, or set meta.group to null"
            yield broken(item, ("meta", "group"), message)
    for item in by_key.get("relations", []):
        known, known_fields = view(item)
        collection, name = snap.entry_key(item.entry)
        related = item.entry.get("related_collection")
        meta = _meta(item.entry)
        if not exists(collection, known):
            message = f"collection '{collection}' is not defined: add it, or remove the relation"
            yield broken(item, ("collection",), message)
        elif not _is_system(collection) and (collection, name) not in known_fields:
            # Directus 12.4.1 refuses it: Field "x" doesn't exist in collection "y".
            message = f"field '{collection}.{name}' is not defined: add the field, or remove the relation"
            yield broken(item, ("field",), message)
        if isinstance(related, str) and not exists(related, known):
            message = f"related collection '{related}' is not defined: add it, or remove the relation"
            yield broken(item, ("related_collection",), message)
        # The other half of an m2m or o2m: Directus 11.17.4 and 12.4.1 apply a relation whose
        # meta names a field the snapshot lacks (the app shows the relation half-broken).
        junction = meta.get("junction_field")
        if (
            junction
            and isinstance(junction, Hashable)
            and not _is_system(collection)
            and (collection, junction) not in known_fields
        ):
            message = (
                f"junction field '{collection}.{junction}' is not defined: add it, or set meta.junction_field to null"
            )
            yield broken(item, ("meta", "junction_field"), message, warning=True)
        one_field = meta.get("one_field")
        if (
            one_field
            and isinstance(one_field, Hashable)
            and isinstance(related, str)
            and not _is_system(related)
            and (related, one_field) not in known_fields
        ):
            message = (
                f"one_field '{related}.{one_field}' is not defined: add the alias field, or set meta.one_field to null"
            )
            yield broken(item, ("meta", "one_field"), message, warning=True)
        allowed_list = meta.get("one_allowed_collections")
        for index, allowed in enumerate(allowed_list if isinstance(allowed_list, list) else []):
            if isinstance(allowed, Hashable) and not exists(allowed, known):
                message = (
                    f"collection '{allowed}' is not defined: add it, or remove it from meta.one_allowed_collections"
                )
                yield broken(item, ("meta", "one_allowed_collections", index), message)


# Directus's alias types: a field of one has no column. (A type Directus does not know is a
# problem of its own, not said again here.)
_ALIAS_TYPES = frozenset({"alias", "o2m", "m2m", "m2a", "o2a", "files", "translations"})
_COLUMN_TYPES = FIELD_TYPES - _ALIAS_TYPES


def _has_key(entry: Mapping[str, Any]) -> bool:
    """Whether a field is its table's primary key as Directus asks when it creates the table."""
    schema = entry.get("schema")
    return isinstance(schema, dict) and any(schema.get(key) is True for key in ("is_primary_key", "has_auto_increment"))


def _table_part(item: _Placed) -> _Placed:
    """Of a collection or field entry, only what :func:`_table_findings` reads."""
    entry = item.entry
    if item.key == "collections":
        part = {"collection": entry["collection"], "schema": None if entry.get("schema") is None else {}}
    else:
        schema = {"is_primary_key": True} if _has_key(entry) else {}
        part = {"collection": entry["collection"], "field": entry.get("field"), "type": entry.get("type")}
        part["schema"] = schema
    return _Placed(item.key, part, item.relpath, item.at)


def _table_findings(placed: Iterable[_Placed]) -> Iterator[_Finding]:
    """What Directus refuses when it creates a collection with its fields (entries of one
    collection, or of many): column fields in a folder, which has no table (``schema: null``;
    12.4.1 applies them, 204, and they are gone from its snapshot, so every diff proposes them
    again; a relation on one: 400 `Collection "x" doesn't exist`, 10.13.4 too), and a table without a primary key
    that has a column ``id``: Directus then adds its own primary key ``id`` (CollectionsService)
    and the table would have two (11.17.4 on SQLite: 500 duplicate column name)."""
    collections: dict[str, _Placed] = {}
    columns: dict[str, list[_Placed]] = defaultdict(list)
    keyed: set[str] = set()
    for item in placed:
        entry = item.entry
        if item.key == "collections":
            collections.setdefault(entry["collection"], item)
        elif item.key == "fields" and isinstance(entry.get("type"), str) and entry["type"] in _COLUMN_TYPES:
            columns[entry["collection"]].append(item)
            if _has_key(entry):
                keyed.add(entry["collection"])
    for name, item in collections.items():
        fields = columns.get(name)
        if not fields:
            continue
        if item.entry.get("schema") is None:
            names = sorted(str(field.entry.get("field")) for field in fields)
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            message = (
                f"{name}: collection '{name}' is a folder (schema: null), which has no table for its column fields "
                f"({shown}): Directus drops them, and refuses relations on them; give it a table "
                f"(schema: {{name: {name}}}), or remove the fields"
            )
            yield _Finding(item.relpath, (*item.at, "schema"), message, blocking=False)
        elif name not in keyed:
            for field in fields:
                if field.entry.get("field") == "id":
                    message = (
                        f"{name}.id: collection '{name}' has no primary key field, so Directus adds one named 'id' "
                        "when it creates the table, beside this one: make this field the primary key "
                        "(schema.is_primary_key: true), or rename it"
                    )
                    yield _Finding(field.relpath, field.at, message, blocking=False)


def _first_difference(actual: bytes, wanted: bytes) -> int:
    for number, (have, want) in enumerate(zip(actual.splitlines(), wanted.splitlines(), strict=False), 1):
        if have != want:
            return number
    return min(len(actual.splitlines()), len(wanted.splitlines())) + 1


def _check(
    read: store.Reader, files: set[str], shown: Callable[[str], str], layout: store.Layout, *, canonical: bool
) -> tuple[_Checker, dict[str, bytes] | None]:
    checker = _Checker(read, files, shown)
    expected = checker.folder(layout)
    checker.check_entries()
    if canonical and expected is not None and store.MANIFEST in checker.files:
        checker.canonical(expected)
    return checker, expected


def _report(root: Path, checker: _Checker, expected: dict[str, bytes] | None) -> Report:
    # (Checked one file at a time, the folder's canonical files were never all at hand.)
    blocked = expected is None or checker.streamed is not None or any(f.blocking for f in checker.findings)
    return Report(
        root,
        checker.problems(),
        None if blocked else expected,
        checker.snapshot,
        checker.layout,
        checker.format_version,
    )


def check_folder(root: Path, default_layout: store.Layout, *, whole: bool = False) -> Report:
    """What is wrong with a schema folder. A split folder is checked one collection file at a
    time, each let go before the next is read (``check`` of a large model holds names, not
    entries), unless ``whole``: then the report has the folder's snapshot and its canonical
    files too (``check --fix`` writes them)."""
    if store.pending(root):
        return Report(root, [Problem(display(root), None, store.PENDING)], None)
    if not whole:
        try:
            return _check_folder(root, default_layout, streamed=True)
        except _Unstreamable:
            pass
    return _check_folder(root, default_layout, streamed=False)


def _check_folder(root: Path, default_layout: store.Layout, *, streamed: bool) -> Report:
    checker = _Checker(store.dir_reader(root), set(store.list_files(root)), lambda relpath: display(root / relpath))
    checker.streamed = _Index() if streamed else None
    expected = checker.folder(default_layout)
    checker.check_entries()
    if expected is not None and store.MANIFEST in checker.files:
        checker.canonical(expected)
    return _report(root, checker, expected)


def check_file(path: Path) -> Report:
    """A lone snapshot file (Directus's own export): everything but canonical form. It is read
    as Directus reads it: a key a JSON file gives twice is a warning (``directus schema apply``
    and ``POST /schema/diff`` read JSON with JSON.parse, which takes the last value)."""
    checker = _Checker(store.dir_reader(path.parent), {path.name}, lambda relpath: display(path.parent / relpath))
    checker.export = path.name
    ok, document = checker.document(path.name)
    if ok:
        checker.snapshot = checker.snapshot_document(path.name, document)
    checker.check_entries()
    written = tuple(
        Problem(checker.shown(path.name), repeated.line, _given_twice(repeated), warning=True)
        for repeated in checker.repeated
    )
    problems = sorted([*checker.problems(), *written], key=lambda p: (p.path, p.line or 0, p.message))
    return Report(path, problems, None, checker.snapshot, written=written)


def _given_twice(repeated: store.Repeated) -> str:
    """A key given twice, as said to the user. Only a literal value is shown (true, null, a
    number), never a text: a field's options may hold one that should not be printed."""
    times = "twice" if len(repeated.lines) == 2 else f"{len(repeated.lines)} times"
    texts = [json.dumps(value) for value in repeated.values]  # (1 and true differ, as they do to Directus)
    last = repeated.values[-1]
    shown = texts[-1] if last is None or type(last) in (bool, int, float) else None
    said = f"key {repeated.key!r} given {times} ({repeated.also})"
    reads = "Directus reads this file with JSON.parse, which takes the last"
    if len(set(texts)) == 1:
        each = "both times" if len(texts) == 2 else "each time"
        return f"{said}, {shown or 'the same value'} {each}: {reads}"
    return f"{said}, with different values: {reads}" + (f" ({shown})" if shown else "")


def check_path(path: Path, default_layout: store.Layout, *, whole: bool = False) -> Report:
    if path.is_file() and path.name == store.MANIFEST:
        path = path.parent
    if path.is_dir():
        return check_folder(path, default_layout, whole=whole)
    if path.is_file():
        return check_file(path)
    return Report(path, [Problem(display(path), None, "no such file or folder")], None)


# --------------------------------------------------------------------------- readers


def _refuse(errors: list[Problem], source: str) -> InvalidSnapshotError:
    return InvalidSnapshotError(source, [str(problem) for problem in errors])


def _loaded(report: Report, source: str) -> store.Loaded:
    if report.errors:
        raise _refuse(report.errors, source)
    if report.snapshot is None:  # pragma: no cover - a snapshot that could not be read has errors
        raise _refuse([Problem(source, None, "no snapshot could be read")], source)
    written = tuple(f"{problem.place}: {problem.message}" for problem in report.written)
    return store.Loaded(report.snapshot, report.layout, report.format_version, written)


def load_tree(tree: store.Tree, shared: Shared | None = None) -> store.Loaded:
    """The snapshot a schema folder (on disk, committed, or about to be written) holds, after
    the same validation ``check`` does; :class:`InvalidSnapshotError` lists what is wrong.

    ``shared`` can be shared by the two trees of a comparison: what both hold (files,
    entries) is then read, parsed and checked once, and an entry the same on both sides is
    the same object in both snapshots.
    """
    names = tree.names()
    checker = _Checker(tree.read, set(names), lambda relpath: f"{tree.source}/{relpath}", render=False)
    if shared is not None:
        checker.file_id, checker.parsed, checker.shared = tree.file_id, shared.parsed, shared
        if tree.prefetch is not None:  # the files not read already, at once (and the manifest,
            # which more than this reads: a few hundred bytes, not one more ``git`` each time)
            tree.prefetch([name for name in names if name == store.MANIFEST or tree.file_id(name) not in shared.parsed])
    expected = checker.folder("split")
    checker.check_entries()
    return _loaded(_report(Path(tree.source), checker, expected), tree.source)


def load_path(path: Path) -> store.Loaded:
    """A schema folder or a snapshot file (ours or Directus's own), validated as ``load_tree``."""
    if not path.exists():
        raise _refuse([Problem(display(path), None, "no such file or folder")], str(path))
    if path.is_file() and path.name != store.MANIFEST and not _is_manifest(path):
        return _loaded(check_file(path), display(path))
    folder = path if path.is_dir() else path.parent
    return load_tree(store.folder_tree(folder))


def _is_manifest(path: Path) -> bool:
    try:
        store.check_size(path.stat().st_size, str(path))
        document = store.parse_export(path.read_bytes(), str(path))[0]
    except DocumentError:
        return False
    return isinstance(document, dict) and document.get("format") == store.FORMAT_NAME


def document_problems(document: Any) -> tuple[snap.Snapshot | None, list[str]]:
    """What ``check`` finds wrong with a snapshot already parsed (a saved plan's, a server's
    answer), in the order found; the snapshot when nothing is."""
    checker = _Checker(lambda relpath: None, set(), lambda relpath: relpath)
    snapshot = checker.snapshot_document("", document)
    checker.check_entries()
    problems = [finding.message for finding in checker.findings if not finding.cosmetic and not finding.warning]
    if snapshot is None and not problems:  # pragma: no cover - a snapshot that could not be read has problems
        problems = ["not a snapshot"]
    return (None if problems else snapshot), problems


class EntryByEntry:
    """:func:`document_problems` for a snapshot given a member at a time, its lists an entry
    at a time (a push's backup, written as the target is read): the same problems in the same
    order, holding of the entries only what ``check`` keeps of a split folder's let-go files
    (names, and the entries that name other collections: :class:`_Index`)."""

    def __init__(self) -> None:
        self._header: dict[str, Any] = {}  # the members given whole; a list read by entries is []
        self._shape: dict[str, list[str]] = defaultdict(list)
        self._entries: dict[str, list[_Finding]] = defaultdict(list)
        self._duplicates: dict[str, list[_Finding]] = defaultdict(list)
        self._waiting: dict[str, list[_Placed]] = defaultdict(list)  # entries not checked yet
        self._index = _Index()
        self._tables: list[_Placed] = []  # what _table_findings needs of the collections and fields

    @property
    def fields(self) -> AbstractSet[tuple[str, str]]:
        """The names of the fields given that count (have the names every entry needs)."""
        self._check("fields")
        return self._index.fields

    def member(self, key: str, value: Any) -> None:
        """A member given whole (a list too: its entries are taken as given)."""
        self._header[key] = value
        if isinstance(value, list) and key in snap.LIST_KEYS:
            self._header[key] = []
            for index, entry in enumerate(value):
                self.entry(key, index, entry)

    def entry(self, key: str, index: int, entry: Any) -> bool:
        """The list ``key``'s entry at ``index`` (its numbers written as text set to the numbers,
        as ``check`` reads them); whether it has the names every entry needs, and so counts."""
        self._header.setdefault(key, [])
        if key not in snap.LIST_KEYS:
            return False  # (an unknown member: said as one)
        shape = snap.entry_problems(key, index, entry)
        if shape:
            self._shape[key].extend(problem.message for problem in shape)
            return False
        item = _Placed(key, entry, "", (key, index))
        _numbers_from_text(item)  # (what it says is cosmetic: not a problem)
        waiting = self._waiting[key]
        waiting.append(item)
        if len(waiting) >= 500:  # checked a few hundred at a time: a call for each costs a third more
            self._check(key)
        return True

    def _check(self, key: str) -> None:
        waiting = self._waiting[key]
        self._entries[key].extend(_entry_findings(waiting))
        self._index.add(waiting, "", self._duplicates[key])
        self._tables.extend(_table_part(item) for item in _named(waiting) if item.key in ("collections", "fields"))
        waiting.clear()

    def problems(self) -> list[str]:
        """What ``check`` finds wrong with all that was given, as :func:`document_problems` says."""
        for key in snap.LIST_KEYS:
            self._check(key)
        header = self._header
        shape = [problem.message for problem in snap.key_problems(header)]
        for key in snap.LIST_KEYS:
            if key in header and not isinstance(header[key], list):
                shape.extend(problem.message for problem in snap.problems({key: header[key]}) if problem.at == (key,))
            else:
                shape.extend(self._shape[key])
        checker = _Checker(lambda relpath: None, set(), lambda relpath: relpath)
        checker.version("", header, ("version",))
        index = self._index
        findings = [
            *checker.findings,
            *(finding for key in snap.LIST_KEYS for finding in self._entries[key]),
            *(finding for key in snap.LIST_KEYS for finding in self._duplicates[key]),
            *_references(index.by_key(), index.collections, index.fields),
            *_table_findings(self._tables),
        ]
        return shape + [finding.message for finding in findings if not finding.cosmetic and not finding.warning]


def snapshot_warnings(snapshot: snap.Snapshot) -> list[str]:
    """What a valid snapshot holds that Directus accepts but looks broken (``check``'s warnings),
    from the snapshot itself: a remembered one (``treecache``) is not checked again."""
    placed = [
        _Placed(key, entry, "", (key, index))
        for key in ("collections", "fields", "relations")
        for index, entry in enumerate(snapshot.get(key) or [])
    ]
    return [finding.message for finding in _reference_findings(_named(placed)) if finding.warning]


def load_document(document: Any, source: str) -> snap.Snapshot:
    """A snapshot already parsed (such as the one a saved plan carries), validated alike."""
    snapshot, problems = document_problems(document)
    if snapshot is None:
        raise _refuse([Problem(source, None, message) for message in problems], source)
    return snapshot


def file_problems(relpath: str, document: Any) -> list[str]:
    """What ``check`` finds wrong within one file of the split layout on its own (a manifest or a
    collection file): its shape and its entries' rules, not what needs the other files (a
    relation's target, a listed file being there). A merge of one file checks what it wrote."""
    if isinstance(document, dict) and document.get("format") == store.FORMAT_NAME:
        found = [problem.message for problem in store.manifest_problems(document)]
        from directus_gitops.model.kinds import validate as config_checks

        if not found and document.get("config") is not None:
            found = [finding.message for finding in config_checks.entry_findings(document["config"])]
        placed = [
            _Placed("systemFields", entry, relpath, ("system_fields", index))
            for index, entry in enumerate(document.get("system_fields") or [] if not found else [])
        ]
    else:
        found = [problem.message for problem in store.collection_file_problems(document)]
        placed = (
            [] if found else [_Placed(key, entry, relpath, at) for key, at, entry in store.collection_entries(document)]
        )
    named = _named(placed)
    findings = [
        *_entry_findings(placed),
        *_duplicate_findings(named, [_identity(item) for item in named]),
        *_table_findings(named),
    ]
    return found + [finding.message for finding in findings if not finding.warning and not finding.cosmetic]


# --------------------------------------------------------------------------- reading what changed
#
# Two committed folders are compared by the collection files that differ (git's blob ids say
# which): a file listed under the same name and path with the same bytes on both sides holds
# the same entries on both, so it cannot hold a difference, and it is not read. What such a
# file is, it is on both sides: whatever is wrong with it, the change did not make it so. The
# change can still break what an unchanged file says about another collection (a relation to
# a collection the change removes, a group, an allowed collection, a one_field), so the
# unchanged files that name something one side defines and the other does not are read too,
# and every reference from a changed file to an unchanged one reads that one file.

# The fewest collection files a comparison must be able to leave unread (and they must be at
# least as many as those it reads) for it to read only the files that differ: below that,
# reading everything costs a few tens of milliseconds and leaves a record (``treecache``) that
# the next command reuses.
CHANGED_ONLY_FROM = 100
# Names that appear in a file as they are whatever the file's form (no quoting, escape or line
# folding can change them): anything else sends the comparison back to reading every file.
_PLAIN_NAME = re.compile(r"[^\s'\"\\]+")


class _Either:
    """A name in ``here``, or one ``there`` says exists (asked only when ``here`` has none)."""

    def __init__(self, here: Collection[Any], there: Callable[[Any], bool]) -> None:
        self.here, self.there = here, there

    def __contains__(self, item: object) -> bool:
        return item in self.here or self.there(item)

    def __iter__(self) -> Iterator[Any]:  # (a Collection; nothing iterates it)
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class _Elsewhere:
    """What the collection files a reading left unread define, each file read and parsed only
    when a reference asks about its collection."""

    def __init__(self, checker: _Checker, index: Mapping[str, Any], unread: AbstractSet[str]) -> None:
        self.checker, self.index, self.unread = checker, index, unread
        self.known: dict[str, tuple[bool, frozenset[str]]] = {}
        # The other side's entries of the files that differ, by identity (set once both are read).
        self.other: dict[tuple[str, tuple[str, str]], Any] = {}

    def _read(self, name: str) -> tuple[bool, frozenset[str]]:
        """Whether ``name``'s unread file defines the collection, and the fields it holds."""
        known = self.known.get(name)
        if known is None:
            known = (False, frozenset())
            relpath = self.index.get(name)
            path = store.normal(relpath) if isinstance(relpath, str) and relpath else None
            if path is not None and path in self.unread:
                ok, content = self.checker.document(path)
                if ok and not store.collection_file_problems(content) and content["collection"] == name:
                    entries = list(store.collection_entries(content))
                    defined = any(key == "collections" for key, _, _ in entries)
                    known = (defined, frozenset(entry["field"] for key, _, entry in entries if key == "fields"))
            self.known[name] = known
        return known

    def kept(self, item: _Placed) -> bool:
        """Whether ``item`` is on the other side too, the same."""
        return bool(self.other.get(_identity(item), _Elsewhere) == item.entry)

    def unread_name(self, name: object) -> bool:
        """Whether ``name``'s file is left unread (what it defines is the same on both sides)."""
        relpath = self.index.get(name) if isinstance(name, str) else None
        return isinstance(relpath, str) and bool(relpath) and store.normal(relpath) in self.unread

    def unread_field(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and self.unread_name(key[0])

    def defines(self, name: object) -> bool:
        return isinstance(name, str) and self._read(name)[0]

    def has_field(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2 or not isinstance(key[0], str):
            return False
        return key[1] in self._read(key[0])[1]


@dataclass(frozen=True)
class Changed:
    """Two committed folders as far as they differ (:func:`load_changed`)."""

    before: snap.Snapshot  # the header, the system fields and the entries of the files that differ
    after: snap.Snapshot
    warnings: tuple[str, ...]  # the new side's warnings about what the change touches
    config: Literal["none", "same", "differs"]  # the configuration kinds' files on both sides
    unread: frozenset[str] = frozenset()  # the collection files the same on both sides, left unread
    # The new side's findings (none blocking: warnings, cosmetic ones) as ``check`` says them.
    problems: Callable[[], list[Problem]] = list


def _shown_in(source: str) -> Callable[[str], str]:
    return lambda relpath: f"{source}/{relpath}"


def _definitions(placed: Iterable[_Placed]) -> tuple[set[str], set[tuple[str, str]]]:
    named = _named(placed)
    return {p.entry["collection"] for p in named if p.key == "collections"}, {
        snap.entry_key(p.entry) for p in named if p.key == "fields"
    }


def load_changed(
    old: store.Tree, new: store.Tree, shared: Shared | None = None, shown: Callable[[str], str] | None = None
) -> Changed | None:
    """The two schema folders (committed, or on disk) for comparing them, each read only as far as it differs from
    the other and checked as ``check`` does for everything the change touches; None when that
    does not apply (a layout other than split, different origins, too few files the same) or
    when something is wrong: reading them whole (:func:`load_tree`) then says exactly what.
    ``shown`` names the new side's files (default: as its tree's source names them)."""
    checkers: list[_Checker] = []
    manifests: list[dict[str, Any]] = []
    for tree in (old, new):
        if tree.search is None:
            return None
        named = shown if shown is not None and tree is new else _shown_in(tree.source)
        checker = _Checker(tree.read, set(tree.names()), named, render=False)
        if shared is not None:
            checker.file_id, checker.parsed, checker.shared = tree.file_id, shared.parsed, shared
        if store.MANIFEST not in checker.files:
            return None
        ok, manifest = checker.document(store.MANIFEST)
        if not ok or store.manifest_problems(manifest) or manifest["layout"] != "split":
            return None
        checkers.append(checker)
        manifests.append(manifest)
    if any(manifests[0]["snapshot"].get(key) != manifests[1]["snapshot"].get(key) for key in ("directus", "vendor")):
        return None  # compared by the translation rules, which look at whole snapshots
    indexes: list[dict[str, Any]] = [manifest.get("collections") or {} for manifest in manifests]
    same: set[str] = set()
    for name, relpath in indexes[0].items():
        if isinstance(relpath, str) and relpath and indexes[1].get(name) == relpath:
            path = store.normal(relpath)
            blob = old.file_id(path)
            if blob is not None and blob == new.file_id(path):
                same.add(path)
    listed = {store.normal(relpath) for index in indexes for relpath in index.values() if isinstance(relpath, str)}
    if len(same) < CHANGED_ONLY_FROM or len(same) < len(listed) - len(same):
        return None
    entries = [manifest.get("config") for manifest in manifests]
    if entries[0] is None and entries[1] is None:
        config: Literal["none", "same", "differs"] = "none"
    elif entries[0] == entries[1] and all(
        old.file_id(path) is not None and old.file_id(path) == new.file_id(path)
        for path in store.config_files(manifests[0])
    ):
        config = "same"
    else:
        config = "differs"

    for tree, checker, manifest, index in zip((old, new), checkers, manifests, indexes, strict=True):
        wanted = [store.normal(r) for r in index.values() if isinstance(r, str) and r]
        wanted = [path for path in wanted if path not in same]
        if config == "differs":
            wanted += store.config_files(manifest)
        if tree.prefetch is not None:
            tree.prefetch([path for path in wanted if path in checker.files])
        checker.layout, checker.format_version = "split", manifest["format_version"]
        checker.skip = frozenset(same)
        checker.elsewhere = _Elsewhere(checker, index, checker.skip)
        checker.split(manifest)  # (the snapshot: the entries of the files that differ)

    defined = [_definitions(checker.placed) for checker in checkers]
    for number, checker in enumerate(checkers):
        assert checker.elsewhere is not None
        checker.elsewhere.other = {_identity(p): p.entry for p in _named(checkers[1 - number].placed)}
    for number, (tree, checker, manifest, index) in enumerate(
        zip((old, new), checkers, manifests, indexes, strict=True)
    ):
        # What the old side defines and the new one does not: an unchanged file naming it is
        # broken by the change (a field only in a warning). (An unchanged file that names on
        # the old side what only the new one defines was broken before: not the change's doing.)
        lost = defined[0][0] - defined[1][0] if number == 1 else set()
        lost_fields = defined[0][1] - defined[1][1] if number == 1 else set()
        if lost or lost_fields:
            found = _mentioning(tree, lost, lost_fields, same)
            if found is None:
                return None
            by_path = {store.normal(r): name for name, r in index.items() if isinstance(r, str) and r}
            for path in sorted(found):
                checker.collection_file(path, str(by_path[path]))  # (checked, not in the snapshot)
        if manifest.get("config") and (config == "differs" or lost):
            checker.config_files(manifest["config"])
        checker.check_entries()
        if any(not finding.cosmetic and not finding.warning for finding in checker.findings):
            return None
    assert checkers[0].snapshot is not None and checkers[1].snapshot is not None
    return Changed(
        checkers[0].snapshot,
        checkers[1].snapshot,
        tuple(finding.message for finding in checkers[1].findings if finding.warning),
        config,
        frozenset(same),
        checkers[1].problems,
    )


def check_since(old: store.Tree, root: Path) -> Report | None:
    """``check --since REV``: the schema folder ``root`` checked as far as it differs from
    ``old`` (the folder committed at REV). The files that differ are read and checked with what
    they refer to, as a diff reads them (:func:`load_changed`: a change that breaks a reference
    in a file it leaves alone is still found), and compared with their canonical form, the
    manifest too. None where that does not apply or where anything is wrong but form: the
    whole check (:func:`check_folder`) then says exactly what. A file the same as at REV is
    not checked again: the whole check, in CI, checks everything."""
    if store.pending(root):
        return None
    new = store.folder_tree(root)
    found = load_changed(old, new, shown=lambda relpath: display(root / relpath))
    if found is None:
        return None
    manifest = store.parse_document(new.read(store.MANIFEST) or b"", store.MANIFEST)  # (checked just now)
    index = {name: store.normal(relpath) for name, relpath in manifest["collections"].items()}
    entries: dict[str, snap.Snapshot] = defaultdict(lambda: {"collections": [], "fields": [], "relations": []})
    for key in ("collections", "fields", "relations"):
        for entry in found.after.get(key, []):
            entries[entry["collection"]][key].append(entry)
    header = {key: value for key, value in found.after.items() if key not in snap.LIST_KEYS}
    system_fields = found.after.get("systemFields") if "system_fields" in manifest else None
    expected = _canonical_manifest(header, set(index), system_fields, manifest)
    for name, relpath in index.items():
        if relpath in found.unread:
            continue
        rendered = store.render(entries[name])
        del rendered[store.MANIFEST]
        if set(rendered) != {relpath}:
            return None  # the canonical layout has it elsewhere: the whole check says where
        expected.update(rendered)
    problems = found.problems()
    for relpath, want in sorted(expected.items()):
        data = new.read(relpath)
        if data is not None and data != want:
            line = _first_difference(data, want)
            problems.append(Problem(display(root / relpath), line, "not in canonical form", cosmetic=True))
    return Report(root, problems, None, None, "split", manifest.get("format_version"))


def relations_to(tree: store.Tree, collections: AbstractSet[str], unread: AbstractSet[str]) -> list[snap.Entry] | None:
    """The relations that ``unread`` files of ``tree`` (the same on both sides of a comparison,
    see :func:`load_changed`) hold to one of ``collections``, for a diagram of the change,
    which draws what relates to the collections it touches; None when a name could be written
    otherwise (then only reading the folders whole tells). A file that is not a well-formed
    collection file holds none here: it is what it is on both sides, as the comparison left it."""
    found = _mentioning(tree, collections, set(), unread)
    if found is None:
        return None
    relations = []
    for path in sorted(found):
        try:
            content = store.parse_document(tree.read(path) or b"", path)
        except DocumentError:
            continue
        if store.collection_file_problems(content):
            continue
        relations += [
            entry
            for key, _, entry in store.collection_entries(content)
            if key == "relations" and entry.get("related_collection") in collections
        ]
    return relations


def _mentioning(
    tree: store.Tree, collections: AbstractSet[str], fields: AbstractSet[tuple[str, str]], unread: AbstractSet[str]
) -> set[str] | None:
    """The unread files that may name one of ``collections``, or a collection of ``fields``
    together with the field: those holding the name as it is, or an escape (a backslash);
    None when a name could be written otherwise."""
    names = collections | {collection for collection, _ in fields}
    if not all(_PLAIN_NAME.fullmatch(name) and name.isprintable() for name in names | {f for _, f in fields}):
        return None
    assert tree.search is not None
    found = sorted(tree.search(sorted(names | {"\\"})) & unread)
    if tree.prefetch is not None:
        tree.prefetch(found)

    def word(name: str) -> re.Pattern[bytes]:  # the name, not part of a longer one
        return re.compile(rb"(?<![\w.~-])" + re.escape(name.encode()) + rb"(?![\w.~-])")

    named = [word(name) for name in sorted(collections)]
    wanted = [(word(c), word(f)) for c, f in sorted(fields) if c not in collections]
    result = set()
    for path in found:
        data = tree.read(path) or b""
        if (
            b"\\" in data
            or any(pattern.search(data) for pattern in named)
            or any(c.search(data) and f.search(data) for c, f in wanted)
        ):
            result.add(path)
    return result
