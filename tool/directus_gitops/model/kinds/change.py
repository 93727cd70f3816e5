"""One change to one item of a kind, and a set of them: what every kind's comparison yields.

Removals need a consent of their own class (DESIGN.md, consent classes): removing a role,
policy, access link, permission, flow, operation, dashboard, panel or preset needs
``--allow-config-removal``; removing a row of reference data loses its values and needs
``--allow-data-loss``. Neither implies the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from directus_gitops.base.formats import counted
from directus_gitops.model.changes import Action, PropertyChange, property_changes
from directus_gitops.model.kinds import secrets
from directus_gitops.model.kinds.items import ADMINISTRATOR, PUBLIC, Item

Consent = Literal["config-removal", "data-loss"]

KIND_ORDER = (
    "folder",
    "policy",
    "role",
    "access",
    "permission",
    "flow",
    "operation",
    "dashboard",
    "panel",
    "preset",
    "settings",
    "translation",
    "user",
    "row",  # reference data: after every configuration kind (flows may name rows, not the reverse)
)
# Removing one of these needs --allow-config-removal (not --allow-data-loss: another risk).
_NOUNS = {"access": "access link"}
_PLURALS = {"policy": "policies", "settings": "settings", "access": "access links"}
# Removing one of these loses the values it holds: --allow-data-loss.
LOSES_DATA = frozenset({"row"})
DESTRUCTIVE = frozenset({"role", "policy", "access", "permission", "flow", "operation", "dashboard", "panel", "preset"})
_NESTED = frozenset({"permissions", "operations", "panels", "policies", "public"})


@dataclass(frozen=True)
class ConfigChange:
    kind: str
    action: Action
    name: str  # as shown: 'Editor', 'Editor: articles.delete', '"Notify on publish": notify'
    key: tuple[Any, ...]  # identity: (id,) or a natural key
    parent: str | None = None  # the policy, role, flow or dashboard id
    properties: tuple[PropertyChange, ...] = ()
    entry: Mapping[str, Any] | None = None  # desired (create/update) or current (delete)
    current: Mapping[str, Any] | None = None  # the target's item (update/delete)

    @property
    def sign(self) -> str:
        return {"create": "+", "update": "~", "delete": "-"}[self.action]

    @property
    def consent(self) -> Consent | None:
        """The consent this change needs (None: none)."""
        if self.action != "delete":
            return None
        if self.kind in DESTRUCTIVE:
            return "config-removal"
        return "data-loss" if self.kind in LOSES_DATA else None

    @property
    def destructive(self) -> tuple[str, ...]:
        """Why it needs ``--allow-config-removal`` (empty: it does not)."""
        return (f"removes the {self.kind}",) if self.consent == "config-removal" else ()

    @property
    def data_loss(self) -> tuple[str, ...]:
        """Why it needs ``--allow-data-loss`` (empty: it does not)."""
        return (f"removes the {self.kind} and its values",) if self.consent == "data-loss" else ()

    @property
    def label(self) -> str:
        # A row is named by its collection and key: ``categories ai``.
        return self.name if self.kind in LOSES_DATA else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class ConfigChangeSet:
    changes: tuple[ConfigChange, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __iter__(self) -> Iterator[ConfigChange]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def destructive(self) -> list[ConfigChange]:
        """The changes that need ``--allow-config-removal``."""
        return [c for c in self.changes if c.destructive]

    @property
    def data_loss(self) -> list[ConfigChange]:
        """The changes that need ``--allow-data-loss``."""
        return [c for c in self.changes if c.data_loss]

    def summary(self) -> str:
        parts = []
        for action, sign in (("create", "+"), ("update", "~"), ("delete", "-")):
            for kind in KIND_ORDER:
                count = sum(1 for c in self.changes if c.action == action and c.kind == kind)
                if count:
                    noun = counted(count, _NOUNS.get(kind, kind), _PLURALS.get(kind)).split(" ", 1)[1]
                    parts.append(f"{sign}{count} {noun}")
        return ", ".join(parts) if parts else "no changes"


def _quoted(name: Any) -> str:
    text = str(name)
    return f'"{text}"' if " " in text or not text else text


def _props(
    old: Mapping[str, Any], new: Mapping[str, Any], nested: frozenset[str] = _NESTED
) -> tuple[PropertyChange, ...]:
    def strip(item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in nested and not k.startswith("_")}

    changed = property_changes(strip(old), strip(new))
    if not changed:
        return ()
    # Shown with secrets redacted, so no change can show one (files never hold a secret, and
    # a target's secret that is not the placeholder's value reads as redacted). A value that
    # changes between two redacted ones (an allowed value that looks like a secret) is still
    # a change, shown as such, so that push sends it.
    shown = {change.path: change for change in property_changes(secrets.redact(strip(old)), secrets.redact(strip(new)))}
    hidden = (secrets.REDACTED, secrets.REDACTED)
    return tuple(shown.get(change.path) or PropertyChange(change.path, *hidden) for change in changed)


# --------------------------------------------------------------------------- items by identity


def by(items: list[Item], key: Callable[[Item], Any]) -> dict[Any, Item]:
    return {key(item): item for item in items}


def item_changes(
    kind: str,
    old: list[Item],
    new: list[Item],
    key: Callable[[Item], Any],
    name: Callable[[Item], str],
    parent: str | None = None,
) -> Iterator[ConfigChange]:
    """One change per item that ``key`` finds added, changed or gone between the lists."""
    before, after = by(old, key), by(new, key)
    for ident, item in after.items():
        if ident not in before:
            yield ConfigChange(kind, "create", name(item), (ident,), parent, entry=item)
        else:
            props = _props(before[ident], item)
            if props:
                yield ConfigChange(kind, "update", name(item), (ident,), parent, props, item, before[ident])
    for ident, item in before.items():
        if ident not in after:
            yield ConfigChange(kind, "delete", name(item), (ident,), parent, entry=item, current=item)


def item_id(item: Item) -> Any:
    return item.get("id")


# What every instance bootstraps for itself, named as Directus's app shows it (its files hold
# translation keys such as ``$t:public_label``).
_BUILTIN_NAMES = {PUBLIC: "Public", ADMINISTRATOR: "Administrator"}


def item_name(item: Item) -> str:
    """An item as a change names it: by name, quoted when it has spaces."""
    builtin = item.get("builtin")
    if builtin in _BUILTIN_NAMES:
        return _BUILTIN_NAMES[builtin]
    name = item.get("name") or item.get("id")
    if isinstance(name, str) and name.startswith("$t:"):  # another translation key: readable words
        name = name[3:].removesuffix("_label").replace("_", " ").capitalize()
    return _quoted(name)
