"""How the configuration kinds' changes become REST calls: one endpoint per noun, created with
the ids the files hold (or, matched by a natural key, changed and deleted by the target's own
id), parents before children of the same kind, removals children first."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from directus_gitops.model.kinds.change import ConfigChange
from directus_gitops.model.kinds.items import Item
from directus_gitops.model.kinds.kind import Step


def path(endpoint: str, ident: Any) -> str:
    return f"/{endpoint}/{quote(str(ident), safe='')}"


def changed(change: ConfigChange, allowed: tuple[str, ...], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The top-level properties an update changes, with their new values."""
    assert change.entry is not None
    keys = {p.path.split(".", 1)[0] for p in change.properties}
    return {key: change.entry.get(key) for key in sorted(keys) if key in allowed and key not in skip}


def _depth(items: list[Item]) -> Callable[[Item], int]:
    parents = {item["id"]: item.get("parent") for item in items}

    def depth(item: Item) -> int:
        count, seen, parent = 0, set(), item.get("parent")
        while parent in parents and parent not in seen:
            seen.add(parent)
            count += 1
            parent = parents[parent]
        return count

    return depth


@dataclass(frozen=True)
class Endpoint:
    """How one noun is written: its REST endpoint, the properties sent, what it belongs to."""

    kind: str
    path: str
    fields: tuple[str, ...]
    parent: str | None = None  # the property naming the flow/dashboard it belongs to
    server_id: bool = False  # matched by a natural key: changed/deleted by the target's own id
    nested: bool = False  # may point at another item of its kind (parents created first)
    holder: str | None = None  # the property naming what holds it (a permission's role or policy)
    fixed: Mapping[str, Any] = field(default_factory=dict)  # sent with every create
    # Sent with every update that changes something (with their values), before the changes.
    whole: tuple[str, ...] = ()

    def ident(self, change: ConfigChange) -> Any:
        if self.server_id:
            assert change.current is not None
            return change.current["_id"]
        return change.key[0]

    def writes(self, changes: Collection[ConfigChange], items: list[Item], stage: str = "") -> list[Step]:
        """Its creates (parents first, ``items``: the desired ones), then its updates."""
        out: list[Step] = []
        creates = [c for c in changes if c.kind == self.kind and c.action == "create"]
        if self.nested:
            depth = _depth(items)
            creates = sorted(creates, key=lambda c: depth(dict(c.entry or {})))
        for change in creates:
            assert change.entry is not None
            body = {"id": change.entry["id"]} if "id" in change.entry else {}
            body.update({k: change.entry[k] for k in self.fields if k in change.entry})
            if self.parent:
                body[self.parent] = change.parent
            if self.holder:
                body[self.holder] = change.key[0]
            body.update(self.fixed)
            out.append(Step(f"+ {change.label}", "POST", f"/{self.path}", body, stage=stage))
        for change in (c for c in changes if c.kind == self.kind and c.action == "update"):
            body = changed(change, self.fields)
            if body and self.whole:
                body = {key: change.entry.get(key) for key in self.whole if change.entry and key in change.entry} | body
            if body:
                out.append(Step(f"~ {change.label}", "PATCH", path(self.path, self.ident(change)), body, stage=stage))
        return out

    def removals(self, changes: Collection[ConfigChange], items: list[Item], stage: str) -> list[Step]:
        """Its deletes, children before their parents (``items``: the target's)."""
        removals = [c for c in changes if c.kind == self.kind and c.action == "delete"]
        if self.nested:
            depth = _depth(items)
            removals = sorted(removals, key=lambda c: -depth(dict(c.entry or {})))
        return [
            Step(f"- {change.label}", "DELETE", path(self.path, self.ident(change)), stage=stage) for change in removals
        ]
