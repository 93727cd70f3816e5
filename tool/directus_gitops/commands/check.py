"""``check``: validate schema folders without a server, and restore canonical form (``--fix``).

Every problem is listed, not just the first, each as ``path:line: message``. The shape
rules are the loader's own (store and snapshot), applied to every file instead of stopping
at the first; the reference rules are what Directus needs to apply a snapshot.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from directus_gitops import snapshot as snap
from directus_gitops import store, yamlio
from directus_gitops.config import Config
from directus_gitops.console import Console, display
from directus_gitops.errors import DocumentError, ExitCode, SnapshotError


@dataclass(frozen=True)
class Problem:
    path: str  # as shown to the user
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass(frozen=True)
class _Finding:
    relpath: str
    at: snap.Location | None  # where in the document, turned into a line at the end
    message: str
    # Whether a rewrite would lose or invent something (then --fix leaves the files alone).
    blocking: bool = True
    line: int | None = None


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


@dataclass
class _Checker:
    root: Path
    files: set[str]
    findings: list[_Finding] = field(default_factory=list)
    placed: list[_Placed] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    tangled: set[str] = field(default_factory=set)  # files holding an entry that is defined twice

    def find(self, relpath: str, at: snap.Location | None, message: str, *, blocking: bool = True) -> None:
        self.findings.append(_Finding(relpath, at, message, blocking))

    # ------------------------------------------------------------------ reading

    def document(self, relpath: str) -> tuple[bool, Any]:
        """The parsed file, or (False, None) after recording why it cannot be read."""
        path = self.root / relpath
        if path.is_symlink():
            self.find(relpath, None, "is a symbolic link, which is never followed")
            return False, None
        data = path.read_bytes()
        self.data[relpath] = data
        try:
            document = store.parse_document(data, relpath)
        except DocumentError as exc:
            self.findings.append(_Finding(relpath, None, exc.problem, line=exc.line))
            return False, None
        self.texts[relpath] = data.decode("utf-8")
        return True, document

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
        bad = {problem.at[:2] for problem in problems}
        for key in snap.LIST_KEYS:
            items = body.get(key)
            if isinstance(items, list):
                for index, entry in enumerate(items):
                    if (key, index) not in bad:
                        self.placed.append(_Placed(key, entry, relpath, (*prefix, key, index)))
        return None if problems else body

    # ------------------------------------------------------------------ layouts

    def folder(self, default_layout: store.Layout) -> dict[str, bytes] | None:
        """Check the folder; the canonical files for it, or None when they can't be known."""
        if store.MANIFEST not in self.files:
            return self.directus_folder(default_layout)
        ok, manifest = self.document(store.MANIFEST)
        if not ok or not self.shape(store.MANIFEST, store.manifest_problems(manifest)):
            for relpath in sorted(self.files - {store.MANIFEST}):
                self.document(relpath)
            return None
        expected = self.single(manifest) if manifest["layout"] == "single" else self.split(manifest)
        if manifest.get("config"):
            self.config_files(manifest["config"])
        if expected is not None and manifest.get("config"):
            # The configuration kinds' files are kept as they are (pull writes them canonical).
            expected |= {
                path: (self.root / path).read_bytes() for path in store.config_files(manifest) if path in self.files
            }
        return expected

    def directus_folder(self, layout: store.Layout) -> dict[str, bytes] | None:
        name = next((name for name in store.DIRECTUS_FILES if name in self.files), None)
        if name is None:
            self.find(".", None, f"no {store.MANIFEST}: not a directus-gitops schema folder")
            return None
        self.unlisted({name})
        ok, document = self.document(name)
        snapshot = self.snapshot_document(name, document) if ok else None
        self.find(
            name,
            None,
            "Directus's own snapshot, not the directus-gitops layout (`check --fix` converts it)",
            blocking=False,
        )
        return store.render(snapshot, layout) if snapshot is not None else None

    def single(self, manifest: Mapping[str, Any]) -> dict[str, bytes] | None:
        name = str(PurePosixPath(manifest.get("file", store.SINGLE_FILE)))
        self.unlisted({store.MANIFEST, name, *store.config_files(manifest)})
        if name not in self.files:
            self.find(store.MANIFEST, ("file",), f"names {name}, which is missing")
            return None
        ok, document = self.document(name)
        snapshot = self.snapshot_document(name, document) if ok else None
        return store.render(snapshot, "single", manifest.get("config")) if snapshot is not None else None

    def split(self, manifest: Mapping[str, Any]) -> dict[str, bytes] | None:
        header = manifest["snapshot"]
        self.shape(
            store.MANIFEST,
            snap.problems({**header, "collections": [], "fields": [], "relations": []}),
            ("snapshot",),
        )
        for index, entry in enumerate(manifest.get("system_fields") or []):
            self.placed.append(_Placed("systemFields", entry, store.MANIFEST, ("system_fields", index)))
        listed: dict[str, str] = {}
        for name, relpath in (manifest.get("collections") or {}).items():
            path = str(PurePosixPath(relpath))
            at = ("collections", name)
            if path in listed:
                self.find(store.MANIFEST, at, f"lists {path} again (already for '{listed[path]}')")
                continue
            listed[path] = name
            if path not in self.files:
                self.find(store.MANIFEST, at, f"lists {path}, which is missing")
                continue
            self.collection_file(path, str(name))
        self.unlisted({store.MANIFEST, *listed, *store.config_files(manifest)})

        snapshot: snap.Snapshot = {**header, "collections": [], "fields": [], "relations": []}
        if "system_fields" in manifest:
            snapshot["systemFields"] = []
        for placed in _named(self.placed):
            snapshot[placed.key].append(placed.entry)
        return store.render(snapshot, "split", manifest.get("config"))

    def config_files(self, entry: Mapping[str, Any]) -> None:
        """The configuration kinds' files, each read as push would read it."""
        from directus_gitops.kinds import files as config_files

        for relpath in store.config_files({"config": entry}):
            if relpath not in self.files:
                self.find(store.MANIFEST, ("config",), f"lists {relpath}, which is missing")
                continue
            try:
                config_files.parse(store.dir_reader(self.root), "", {**entry, "files": [relpath]})
            except SnapshotError as exc:
                self.find(relpath, None, exc.message.split(": ", 1)[-1])

    def collection_file(self, relpath: str, listed_as: str) -> None:
        ok, content = self.document(relpath)
        if not ok or not self.shape(relpath, store.collection_file_problems(content)):
            return
        if content["collection"] != listed_as:
            self.find(
                relpath,
                ("collection",),
                f"holds collection '{content['collection']}', but {store.MANIFEST} lists it for '{listed_as}'",
                blocking=False,
            )
        for key, at, entry in store.collection_entries(content):
            self.placed.append(_Placed(key, entry, relpath, at))

    def unlisted(self, listed: set[str]) -> None:
        for relpath in sorted(self.files - listed):
            self.find(relpath, None, f"not part of the snapshot ({store.MANIFEST} does not list it)")

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
                self.find(relpath, None, "not a file of the canonical layout", blocking=False)
            elif want != data:
                line = _first_difference(data, want)
                self.findings.append(_Finding(relpath, None, "not in canonical form", blocking=False, line=line))
        if not blocked:
            for relpath in sorted(set(expected) - self.files):
                self.find(relpath, None, "missing: the canonical layout has this file", blocking=False)

    # ------------------------------------------------------------------ results

    def problems(self) -> list[Problem]:
        by_file: dict[str, list[int]] = defaultdict(list)
        for index, finding in enumerate(self.findings):
            if finding.at is not None and finding.relpath in self.texts:
                by_file[finding.relpath].append(index)
        lines: dict[int, int | None] = {}
        for relpath, indexes in by_file.items():
            located = yamlio.locate(self.texts[relpath], [self.findings[i].at or () for i in indexes])
            lines.update(zip(indexes, located, strict=True))
        result = {
            Problem(display(self.root / finding.relpath), lines.get(index, finding.line), finding.message)
            for index, finding in enumerate(self.findings)
        }
        return sorted(result, key=lambda p: (p.path, p.line or 0, p.message))

    def check_entries(self) -> None:
        self.findings.extend(_entry_findings(self.placed))
        named = _named(self.placed)
        self.findings.extend(_duplicate_findings(named))
        # A file holding an entry defined twice (the first place too) has no canonical form.
        counts = Counter(_identity(p) for p in named)
        self.tangled = {p.relpath for p in named if counts[_identity(p)] > 1}
        self.findings.extend(_reference_findings(named))


# --------------------------------------------------------------------------- entry rules


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
        if item.key == "fields" and (not isinstance(entry.get("type"), str) or not entry["type"]):
            yield _Finding(relpath, (*at, "type"), f"field {item.name}: 'type' must be a non-empty string")
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


def _duplicate_findings(placed: Iterable[_Placed]) -> Iterator[_Finding]:
    first: dict[tuple[str, tuple[str, str]], _Placed] = {}
    for item in placed:
        key = _identity(item)
        if key in first:
            message = f"{_NOUNS[item.key]} {item.name} is defined again (also in {first[key].relpath})"
            yield _Finding(item.relpath, item.at, message)
        else:
            first[key] = item


def _is_system(collection: Any) -> bool:
    return isinstance(collection, str) and collection.startswith("directus_")


def _reference_findings(placed: Iterable[_Placed]) -> Iterator[_Finding]:
    """Names that point nowhere. Directus's own collections are not in a snapshot, so any
    ``directus_*`` name counts as existing."""
    by_key: dict[str, list[_Placed]] = defaultdict(list)
    for item in placed:
        by_key[item.key].append(item)
    collections = {item.entry["collection"] for item in by_key["collections"]}
    fields = {snap.entry_key(item.entry) for item in by_key["fields"]}

    def exists(collection: Any) -> bool:
        return collection in collections or _is_system(collection)

    def broken(item: _Placed, at: snap.Location, message: str) -> _Finding:
        return _Finding(item.relpath, (*item.at, *at), f"{item.name}: {message}", blocking=False)

    undefined: set[str] = set()
    for item in by_key["fields"]:
        collection = item.entry["collection"]
        if not exists(collection) and collection not in undefined:
            undefined.add(collection)  # once per collection, not once per field
            yield broken(item, (), f"collection '{collection}' is not defined")
    for item in by_key["collections"]:
        group = (item.entry.get("meta") or {}).get("group")
        if group is not None and group not in collections:
            yield broken(item, ("meta", "group"), f"group '{group}' is not a defined collection")
    for item in by_key["relations"]:
        collection, name = snap.entry_key(item.entry)
        related = item.entry.get("related_collection")
        meta = item.entry.get("meta") or {}
        if not exists(collection):
            yield broken(item, ("collection",), f"collection '{collection}' is not defined")
        elif not _is_system(collection) and (collection, name) not in fields:
            yield broken(item, ("field",), f"field '{collection}.{name}' is not defined")
        if isinstance(related, str) and not exists(related):
            yield broken(item, ("related_collection",), f"related collection '{related}' is not defined")
        junction = meta.get("junction_field")
        if junction and not _is_system(collection) and (collection, junction) not in fields:
            yield broken(item, ("meta", "junction_field"), f"junction field '{collection}.{junction}' is not defined")
        one_field = meta.get("one_field")
        if one_field and isinstance(related, str) and not _is_system(related) and (related, one_field) not in fields:
            yield broken(item, ("meta", "one_field"), f"one_field '{related}.{one_field}' is not defined")
        for index, allowed in enumerate(meta.get("one_allowed_collections") or []):
            if not exists(allowed):
                yield broken(item, ("meta", "one_allowed_collections", index), f"collection '{allowed}' is not defined")


def _first_difference(actual: bytes, wanted: bytes) -> int:
    for number, (have, want) in enumerate(zip(actual.splitlines(), wanted.splitlines(), strict=False), 1):
        if have != want:
            return number
    return min(len(actual.splitlines()), len(wanted.splitlines())) + 1


def check_folder(root: Path, default_layout: store.Layout) -> Report:
    checker = _Checker(root, set(store.list_files(root)))
    expected = checker.folder(default_layout)
    checker.check_entries()
    if expected is not None and store.MANIFEST in checker.files:
        checker.canonical(expected)
    blocked = expected is None or any(finding.blocking for finding in checker.findings)
    return Report(root, checker.problems(), None if blocked else expected)


def check_file(path: Path) -> Report:
    """A lone snapshot file (Directus's own export): everything but canonical form."""
    checker = _Checker(path.parent, {path.name})
    ok, document = checker.document(path.name)
    if ok:
        checker.snapshot_document(path.name, document)
    checker.check_entries()
    return Report(path, checker.problems(), None)


def check_path(path: Path, default_layout: store.Layout) -> Report:
    if path.is_file() and path.name == store.MANIFEST:
        path = path.parent
    if path.is_dir():
        return check_folder(path, default_layout)
    if path.is_file():
        return check_file(path)
    return Report(path, [Problem(display(path), None, "no such file or folder")], None)


def run(config: Config, console: Console, *, paths: list[Path], fix: bool) -> int:
    reports = []
    for path in paths or [config.schema_dir]:
        report = check_path(path, config.layout)
        if fix and report.problems and report.canonical is not None:
            if store.write_tree(report.root, report.canonical):
                console.info(f"{display(report.root)}: rewritten in canonical form.")
            report = check_path(report.root, config.layout)
        elif fix and report.problems and report.root.is_dir():
            console.info(f"{display(report.root)}: not rewritten; fix the problems listed first.")
        reports.append(report)

    for report in reports:
        for problem in report.problems:
            console.result(str(problem))
    for report in reports:
        state = f"{len(report.problems)} problem(s)" if report.problems else "no problems"
        console.info(f"{display(report.root)}: {state}.")
    return ExitCode.ERROR if any(report.problems for report in reports) else ExitCode.OK
