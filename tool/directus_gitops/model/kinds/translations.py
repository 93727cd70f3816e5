"""Translation strings: one file, ``config/translations.yaml``, items keyed by language and key.

Directus 9.x (and 10.x before ``directus_translations``) keeps them in a setting,
``translation_strings``, as ``[{key, translations: {language: value}}]``; they are read and
written there as the same items, so the files of every release agree. That is why this
kind's section is part of a state: ``{"translations": [...]}`` plus, on such a release,
``"_translations_in_settings": True`` (then one call sets all strings in the setting).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from directus_gitops.base.formats import counted
from directus_gitops.model.kinds.change import ConfigChange, item_changes
from directus_gitops.model.kinds.items import Item, State, ignored, items_of, listed, pick
from directus_gitops.model.kinds.kind import ConfigKind, Context, Fetch, Finding, Step, every
from directus_gitops.model.kinds.props import NAME, Checks, body
from directus_gitops.model.kinds.rest import Endpoint
from directus_gitops.model.selection import Rules

TRANSLATION_FIELDS = ("language", "key", "value")
TRANSLATION = {"language": NAME, "key": NAME, "value": NAME}
# Directus 9.x (and 10.x before directus_translations) keeps translation strings in this
# setting, as [{key, translations: {language: value}}]; they are synced as ``translations``.
LEGACY_TRANSLATIONS = "translation_strings"
_LEGACY = "_translations_in_settings"  # the target keeps them in the setting
_ENDPOINT = Endpoint("translation", "translations", TRANSLATION_FIELDS, server_id=True)


def translation_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return str(item.get("language")), str(item.get("key"))


def translations_from_settings(raw: Any) -> list[Item]:
    """The setting's strings as translation items (language, key, value)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    items: list[Item] = []
    for entry in raw if isinstance(raw, list) else []:
        texts = entry.get("translations") if isinstance(entry, dict) else None
        if isinstance(texts, dict) and entry.get("key"):
            items.extend({"language": lang, "key": entry["key"], "value": text} for lang, text in texts.items())
    return items


def translations_to_settings(items: Iterable[Item]) -> list[Item]:
    """Translation items as the setting holds them: one entry per key."""
    by_key: dict[str, dict[str, Any]] = {}
    for item in items:
        by_key.setdefault(str(item.get("key")), {})[str(item.get("language"))] = item.get("value")
    return [{"key": key, "translations": dict(sorted(texts.items()))} for key, texts in sorted(by_key.items())]


def _legacy(fetch: Fetch, raw_settings: dict[str, Any]) -> bool:
    """Whether this Directus keeps translation strings in a setting (9.x, early 10.x). A fresh
    instance whose settings were never saved answers without the key: ask for the field."""
    if LEGACY_TRANSLATIONS in raw_settings:
        return True
    fields = fetch("/fields/directus_settings", None)
    return any(isinstance(f, dict) and f.get("field") == LEGACY_TRANSLATIONS for f in fields or [])


class Translations(ConfigKind):
    group = "translations"
    nouns = ("translation",)
    files = ("translations",)

    def section(self, state: Mapping[str, Any]) -> Any:
        if self.group not in state:
            return None
        return {key: state[key] for key in (self.group, _LEGACY) if key in state}

    def place(self, state: dict[str, Any], section: Any) -> None:
        state.update(section)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> State:
        raw = fetch("/settings", None)
        raw_settings = raw if isinstance(raw, dict) else {}
        if _legacy(fetch, raw_settings):  # 9.x: no /translations, a setting instead
            return {self.group: translations_from_settings(raw_settings.get(LEGACY_TRANSLATIONS)), _LEGACY: True}
        return {self.group: [{**pick(t, TRANSLATION_FIELDS), "_id": t["id"]} for t in every(fetch, "/translations")]}

    def canonical(self, section: Any) -> Any:
        return {**section, self.group: sorted(section[self.group], key=translation_key)}

    def documents(self, section: Any) -> dict[str, Any]:
        return listed("translations", section[self.group])

    def build(self, documents: Mapping[str, Any], context: Context | None = None) -> Any:
        return {self.group: items_of(documents)}

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        placed = [
            p
            for relpath, doc in documents.items()
            for p in check.listed(relpath, "translations", body(doc), TRANSLATION)
        ]
        if complete:
            check.unique(placed, translation_key, "the translation (language, key) {}", ("key",))
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        return list(
            item_changes(
                "translation",
                (old or {}).get(self.group, []),
                new[self.group],
                translation_key,
                lambda t: f"{t.get('language')} {t.get('key')}",
            )
        )

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        if not (current or {}).get(_LEGACY):
            return [*_ENDPOINT.writes(changes, []), *_ENDPOINT.removals(changes, [], "-translations")]
        # 9.x keeps translation strings in one setting: one call sets them all, none goes to /translations.
        if not any(c.kind == "translation" for c in changes):
            return []
        wanted = (desired or {}).get(self.group, [])
        return [
            Step(
                f"~ translations: {len(wanted)} string(s) in the settings",
                "PATCH",
                "/settings",
                {LEGACY_TRANSLATIONS: translations_to_settings(wanted)},
                stage="translations",
            )
        ]

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        kept, left_out, _ = ignored("translation", section[self.group], "key", rules)
        return {**section, self.group: kept}, left_out

    def count(self, section: Any) -> str:
        return counted(len(section[self.group]), "translation", self.group)


TRANSLATIONS = Translations()
