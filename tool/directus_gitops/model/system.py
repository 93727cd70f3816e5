"""Directus's own collections, by release: which ``directus_*`` names are Directus's and which a
user's.

Directus keeps its own tables under the ``directus_`` prefix, but not every such name is one of
them: a table ``directus_languages`` is a user's in every release, and ``directus_versions`` is
a user's to 9.26.0 (a newer release's migrations make it). The list is generated from each
release's own system data (``scripts/system_data.py`` writes ``data/directus_system.json``).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from directus_gitops.files import snapshot as snap

PREFIX = "directus_"


@functools.cache
def data() -> dict[str, Any]:
    """``data/directus_system.json``: collections, fields and relations Directus defines."""
    text = resources.files("directus_gitops").joinpath("data/directus_system.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _measured(release: tuple[int, int, int]) -> str:
    """The measured release that stands for ``release``: the newest not newer than it (the
    oldest measured one for an older release)."""
    measured: list[str] = sorted(data()["releases"], key=lambda r: snap.release(r) or (0, 0, 0))
    older = [r for r in measured if (snap.release(r) or (0, 0, 0)) <= release]
    return older[-1] if older else measured[0]


def owns(collection: Any, release: str | None = None) -> bool:
    """Whether ``collection`` is one of Directus's own collections in ``release`` (a version
    such as "12.4.1"), or in any release the tool knows when it is None or unreadable."""
    if not isinstance(collection, str) or not collection.startswith(PREFIX):
        return False
    releases: list[str] | None = data()["collection_releases"].get(collection)
    if releases is None:
        return False
    wanted = snap.release(release)
    return wanted is None or _measured(wanted) in releases


def defines(collection: str, field_name: str, *, relation: bool = False) -> bool:
    """Whether Directus itself defines this field (or relation) on one of its collections,
    in any release the tool knows."""
    if not collection.startswith(PREFIX):
        return False
    return field_name in data()["relations" if relation else "fields"].get(collection, ())
