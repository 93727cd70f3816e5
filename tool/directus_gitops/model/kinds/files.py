"""The canonical files of the configuration kinds, under ``<schema>/config/``::

    config/roles/<name>.yaml          a role (9.x/10.x: with its permissions)
    config/policies/<name>.yaml       a policy with its permissions, by collection then action
    config/public.yaml                9.x/10.x: the public role's permissions
    config/flows/<name>.yaml          a flow with its operations, from the trigger along links
    config/dashboards/<name>.yaml     a dashboard with its panels
    config/presets.yaml, settings.yaml, translations.yaml, folders.yaml
    config/users.yaml                 opt-in: users without passwords, tokens or TFA secrets

Every file says which kind it holds (``kind:``); the manifest's ``config`` entry names the
access model and lists the files. File names come from item names, made safe like
collection names; two items with the same name get their id in the file name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import PurePosixPath
from typing import Any

from directus_gitops.base.errors import DocumentError, InvalidSnapshotError
from directus_gitops.files import store, yamlio
from directus_gitops.model.kinds import model
from directus_gitops.model.kinds import validate as checks
from directus_gitops.model.kinds.items import FOLDER
from directus_gitops.model.kinds.kind import Context, Finding
from directus_gitops.model.kinds.model import State
from directus_gitops.model.kinds.registry import BY_DOCUMENT, KINDS

__all__ = ["FOLDER", "HEADER", "build", "canonical_document", "documents", "groups_of", "parse", "render"]

HEADER = (
    "# Written by directus-gitops from a Directus instance's configuration. Change it in\n"
    "# Directus and pull; ids are kept on push (docs/config-kinds.md).\n"
)


def documents(state: State) -> dict[str, Any]:
    """Relative path (under the schema folder) → the document to write there."""
    state = model.canonical(state)
    result: dict[str, Any] = {}
    for kind in KINDS:
        section = kind.section(state)
        if section is not None:
            result.update(kind.documents(section))
    return result


def canonical_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """One configuration file's document (which passed the validation) in the order
    :func:`documents` writes it: its lists in their canonical order (what a merge of two edits
    of the file writes, after ``HEADER``)."""
    kind = BY_DOCUMENT[document["kind"]]
    # A role holding permissions, and the public role, exist in the 9.x/10.x model only.
    roles = document["kind"] == "public" or (document["kind"] == "role" and "permissions" in document)
    entry = {"model": model.ROLES if roles else model.POLICIES}
    section = kind.build({"": document}, Context(model=entry["model"], entry=entry))
    return next(iter(kind.documents(kind.canonical(section)).values()))


def render(
    state: State, ignored: Mapping[str, Collection[str]] | None = None
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files for ``state`` and the manifest's ``config`` entry listing them. ``ignored``:
    what the files name that ignore rules keep out of them, by ``checks.IGNORED`` key (it
    counts as defined, kinds/validate.py)."""
    docs = documents(state)
    files = {path: (HEADER + yamlio.dump(doc)).encode("utf-8") for path, doc in docs.items()}
    # The groups are listed so that a group left empty (the last flow removed) still counts.
    entry: dict[str, Any] = {
        "model": state.get("model", model.POLICIES),
        "groups": sorted(groups_of(state)),
        "files": sorted(files),
    }
    listed = {key: sorted(names) for key, names in (ignored or {}).items() if names}
    if listed:
        entry["ignored"] = dict(sorted(listed.items()))
    return files, entry


def groups_of(state: State) -> set[str]:
    """The sync groups a state holds."""
    return {kind.group for kind in KINDS if kind.section(state) is not None}


def parse(
    read: store.Reader,
    source: str,
    entry: Any,
    collections: Collection[str] | None = None,
    fields: Mapping[str, Mapping[str, str]] | None = None,
) -> State | None:
    """The state the manifest's ``config`` entry lists (None when it has none), after the one
    validation of the configuration kinds (kinds/validate.py); :class:`InvalidSnapshotError`
    lists every problem as ``path:line: message``. ``collections``: those the schema of the
    same folder defines, which permissions and presets must name (None: not checked here;
    ``validate.load_tree`` checks them with the schema)."""
    if entry is None:
        return None

    def shown(relpath: str) -> str:
        return f"{source}/{relpath}" if source else relpath

    found = checks.entry_findings(entry)
    problems: list[str] = []
    documents: dict[str, Any] = {}
    texts: dict[str, str] = {}
    if not found:
        for index, relpath in enumerate(entry["files"]):
            path = str(PurePosixPath(relpath))
            try:
                data = read(path)
                if data is None:
                    found.append(Finding(store.MANIFEST, ("config", "files", index), f"lists {path}, which is missing"))
                    continue
                documents[path] = store.parse_document(data, shown(path))
            except DocumentError as exc:
                problems.append(exc.message)
                continue
            texts[path] = data.decode("utf-8")
        complete = len(documents) == len(entry["files"])
        found.extend(checks.findings(entry, documents, collections, complete=complete, fields=fields))
    if found or problems:

        def text(relpath: str) -> str | None:
            if relpath in texts:
                return texts[relpath]
            try:
                data = read(relpath)  # the manifest, for the line of its config entry
            except DocumentError:
                return None
            return data.decode("utf-8", errors="replace") if data is not None else None

        raise InvalidSnapshotError(source, problems + checks.located(found, text, shown))
    return build(entry, documents)


def build(entry: Mapping[str, Any], documents: Mapping[str, Any]) -> State:
    """The state of configuration files that passed the validation."""
    state: State = {"model": entry.get("model", model.POLICIES)}
    context = Context(model=state["model"], entry=entry)
    theirs: dict[str, dict[str, Any]] = {}
    for relpath, document in documents.items():
        theirs.setdefault(BY_DOCUMENT[document["kind"]].group, {})[relpath] = document
    listed = entry.get("groups") or []
    for kind in KINDS:
        if kind.group in theirs or kind.group in listed:
            section = kind.build(theirs.get(kind.group, {}), context)
            if section is not None:
                kind.place(state, section)
    return model.canonical(state)
