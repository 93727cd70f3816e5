"""Reading the configuration kinds from a live Directus.

Each kind reads its own section (model/kinds/, ``Kind.read``) through one ``fetch``: the HTTP
client's reader, answering each GET once per read (settings and translation strings both
look at the settings), and never showing the push lock (a folder while a push runs, lock.py).
Directus 11+ keeps permissions on policies, 9.x/10.x on roles: the release says which access
model the kinds read. Items the server makes up (app-minimal permissions marked ``system``,
creation dates, users) are left out. Server-side ids the files never hold (permission,
access, preset and translation ids) are kept under keys starting with ``_`` so that the
applier can change or delete the item; files and comparisons ignore them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from directus_gitops.files import snapshot as snap
from directus_gitops.model.kinds import identity, model
from directus_gitops.model.kinds.kind import Context, Fetch
from directus_gitops.model.kinds.model import State
from directus_gitops.model.kinds.registry import KINDS
from directus_gitops.model.kinds.settings import settings, withheld_settings
from directus_gitops.server import lock
from directus_gitops.server.client import DirectusClient

__all__ = ["model_for", "read", "settings", "withheld_settings"]


def model_for(release: Any) -> str:
    """Which access model a Directus release has (unknown: the current one)."""
    version = snap.release(release)
    return model.ROLES if version is not None and version < (11, 0, 0) else model.POLICIES


def _fetch(client: DirectusClient) -> Fetch:
    """``client.read``, asking each question once, without the push lock's folder."""
    answers: dict[str, Any] = {}

    def fetch(path: str, params: Mapping[str, str] | None) -> Any:
        asked = json.dumps([path, params], sort_keys=True)
        if asked not in answers:
            answer = client.read(path, params) if params is not None else client.read(path)
            if path == "/folders" and isinstance(answer, list):
                answer = [f for f in answer if not (isinstance(f, dict) and f.get("id") == lock.LOCK_ID)]
            answers[asked] = answer
        return answers[asked]

    return fetch


def read(
    client: DirectusClient,
    groups: Collection[str],
    release: Any,
    *,
    symbolic: bool = False,
    specs: Mapping[str, Any] | None = None,
) -> State:
    """The configuration of the groups in ``groups`` (``access``, ``flows``, …) on ``client``;
    ``symbolic``: with the bootstrapped items' symbolic ids, as the files hold them. ``specs``:
    what each kind reads, by group (``data``: which collections and fields)."""
    state: State = {"model": model_for(release)}
    context = Context(model=state["model"])
    fetch = _fetch(client)
    for kind in KINDS:
        if kind.group in groups:
            kind.place(state, kind.read(fetch, (specs or {}).get(kind.group), context))
    return model.canonical(identity.symbolic(state) if symbolic else state)
