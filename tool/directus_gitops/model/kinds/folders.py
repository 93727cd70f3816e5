"""Folders (of the file library): one file, ``config/folders.yaml``; a folder may name a parent.

Folders keep their id on every instance (Directus accepts it on create). A folder's parent
names a folder of the files, or one ignore rules leave out (``config.ignored.folders``).
Parents are created before their children and removed after them. The push lock is a folder
while a push runs: the reader never shows it (server/config_read.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from directus_gitops.model.kinds.change import ConfigChange, item_changes, item_id, item_name
from directus_gitops.model.kinds.items import by_name, pick
from directus_gitops.model.kinds.kind import Context, Fetch, Finding, ListedKind, Step, every
from directus_gitops.model.kinds.props import ID, NAME, TEXT, Checks, body, by_id
from directus_gitops.model.kinds.rest import Endpoint

FOLDER_FIELDS = ("name", "parent")
FOLDER = {"id": ID, "name": NAME, "parent": TEXT}
_ENDPOINT = Endpoint("folder", "folders", FOLDER_FIELDS, nested=True)


class Folders(ListedKind):
    group = "folders"
    nouns = ("folder",)
    files = ("folders",)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> list[dict[str, Any]]:
        return [{"id": f["id"], **pick(f, FOLDER_FIELDS)} for f in every(fetch, "/folders")]

    def canonical(self, section: Any) -> Any:
        return by_name(section)

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        placed = [p for relpath, doc in documents.items() for p in check.listed(relpath, "folders", body(doc), FOLDER)]
        if complete:
            check.unique(placed, by_id, "folder id {}", ("id",))
            check.parents(placed, "folder", check.ignored["folders"])
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        return list(item_changes("folder", old or [], new, item_id, item_name))

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        return [
            *_ENDPOINT.writes(changes, desired or []),
            *_ENDPOINT.removals(changes, current or [], "-folders"),
        ]


FOLDERS = Folders()
