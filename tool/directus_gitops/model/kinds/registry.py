"""The kinds behind the interface of kind.py, in apply order: what the engine loops over."""

from __future__ import annotations

from directus_gitops.model.kinds.data import ROWS
from directus_gitops.model.kinds.kind import Kind

KINDS: tuple[Kind, ...] = (ROWS,)
BY_GROUP = {kind.group: kind for kind in KINDS}
# The files' ``kind:`` of each (a kind's documents say which kind holds them).
BY_DOCUMENT = {"rows": ROWS}
