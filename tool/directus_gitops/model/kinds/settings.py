"""Project settings: one file, ``config/settings.yaml``, the singleton's synced settings.

Settings that belong to one instance, or point at files (which are not synced), are never
written; nor are those that hold a credential (``secrets.withheld_setting``: ``pull`` says
which it left out), nor 9.x's translation strings (synced as ``translations``). A setting
left empty is Directus's default: null on one side and absent on the other is no change.
``public_registration_role`` names a role of the files (checked when the roles are synced).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from directus_gitops.files.snapshot import release
from directus_gitops.model.changes import ABSENT
from directus_gitops.model.kinds import secrets
from directus_gitops.model.kinds.change import ConfigChange, _props
from directus_gitops.model.kinds.items import FOLDER, Item, matches, value
from directus_gitops.model.kinds.kind import ConfigKind, Context, Fetch, Finding, Step
from directus_gitops.model.kinds.props import Checks, Placed, body, dotted, not_json, shown
from directus_gitops.model.kinds.translations import LEGACY_TRANSLATIONS
from directus_gitops.model.selection import Rules

# Settings that belong to one instance, or point at files (which are not synced): never
# written. Settings that hold a credential are left out too (secrets.withheld_setting).
SETTINGS_INSTANCE = frozenset(
    {
        "id",
        "project_id",
        "project_logo",
        "public_foreground",
        "public_background",
        "public_favicon",
        "project_owner",
        "project_usage",
        "project_status",
        "org_name",
        "product_updates",
        "accepted_terms",
        "onboarding",
        "license_key",
        "ai_openai_compatible_headers",
    }
)


def settings(raw: dict[str, Any]) -> Item:
    """The settings that are synced: not the instance's own, not credentials."""
    return {
        key: value(key, item)
        for key, item in raw.items()
        if key not in SETTINGS_INSTANCE
        and key != LEGACY_TRANSLATIONS  # synced as translations, on the versions that keep them here
        and not secrets.withheld_setting(key)
    }


def withheld_settings(raw: dict[str, Any]) -> list[str]:
    """Settings holding a value that are never written because they are credentials."""
    return sorted(key for key, item in raw.items() if secrets.withheld_setting(key) and item not in (None, ""))


class Settings(ConfigKind):
    group = "settings"
    nouns = ("settings",)
    files = ("settings",)

    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> Item:
        raw = fetch("/settings", None)
        raw = dict(raw) if isinstance(raw, dict) else {}
        if raw and raw.get("id") is None:
            # Settings never saved (no row: ``id`` null): Directus answers only those with a
            # default (9.26.0: four). The release's other settings are its directus_settings
            # columns, which the stored row will hold as null: read as such, so what the
            # release lacks (``without_unknown``) is told from what it has not stored yet.
            columns = fetch("/fields/directus_settings", None)
            for column in columns if isinstance(columns, list) else []:
                name = column.get("field") if isinstance(column, dict) else None
                if isinstance(name, str) and column.get("schema") is not None and name not in raw:
                    raw[name] = None
        return settings(raw)

    def canonical(self, section: Any) -> Any:
        return dict(sorted((section or {}).items()))

    def documents(self, section: Any) -> dict[str, Any]:
        return {f"{FOLDER}/settings.yaml": {"kind": "settings", "settings": section}}

    def build(self, documents: Mapping[str, Any], context: Context | None = None) -> Any:
        if not documents:
            return None  # (a group listed without its file holds nothing)
        section: Item = {}
        for document in documents.values():
            section = document.get("settings") or {}
        return section

    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        check = Checks(context)
        placed: list[Placed] = []
        for relpath, document in documents.items():
            content = body(document)
            for key in content:
                if key != "settings":
                    check.add(relpath, (str(key),), f"unknown key {str(key)!r} (the settings file holds 'settings')")
            found = content.get("settings", {})
            if not isinstance(found, dict):
                check.add(relpath, ("settings",), f"'settings' must be a mapping, not {shown(found)}")
                continue
            bad = not_json(found, ("settings",))
            if bad is not None:
                check.add(relpath, bad[0], f"'{dotted(bad[0])}' holds {bad[1]}")
                continue
            placed.append(Placed(relpath, ("settings",), found))
        if complete:
            for item in placed[1:]:
                check.add(item.relpath, item.at, f"settings: defined again (also in {placed[0].relpath})")
            for item in placed:
                check.role(
                    item, "public_registration_role", "settings: public_registration_role {} is not a defined role"
                )
        return check.found

    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        # A setting left empty is Directus's default: one null on one side and absent on the
        # other is no change (a first diff listed some fifty "+ null").
        props = tuple(
            prop
            for prop in _props(dict(old or {}), dict(new or {}))
            if not (prop.old in (None, ABSENT) and prop.new in (None, ABSENT))
        )
        if not props:
            return []
        return [ConfigChange("settings", "update", "project settings", ("settings",), None, props, new, old)]

    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        out = []
        for change in changes:
            if change.kind == "settings" and change.action == "update":
                assert change.entry is not None
                keys = sorted({p.path.split(".", 1)[0] for p in change.properties})
                out.append(
                    Step(f"~ {change.label}", "PATCH", "/settings", {key: change.entry.get(key) for key in keys})
                )
        return out

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        patterns = rules.config_patterns("setting")
        if not patterns or not isinstance(section, dict):
            return section, []
        kept = dict(section)
        left_out = []
        for key in sorted(kept):
            if matches(key, patterns):
                del kept[key]
                left_out.append(f'setting "{key}"')
        return kept, left_out

    def count(self, section: Any) -> str:
        return "settings"


SETTINGS = Settings()


def kept_from_newer(
    desired: Mapping[str, Any], current: Mapping[str, Any], files_release: Any, target_release: Any
) -> tuple[dict[str, Any], list[str]]:
    """``desired`` with the settings the target holds a value of and the files lack, when the
    files come from an older release than the target, and their names. That release may not
    have them (11.17 added ``mcp_enabled``, which cannot be null; 11.x the ``ai_*`` model
    lists), so they are left as the target holds them instead of emptied (rule
    release-only-properties). A setting the files' own release emptied is no different in the
    files, so it is kept too."""
    older, newer = release(files_release), release(target_release)
    ours, theirs = SETTINGS.section(desired), SETTINGS.section(current)
    result = dict(desired)
    if older is None or newer is None or older >= newer or not isinstance(ours, dict) or not isinstance(theirs, dict):
        return result, []
    kept = sorted(key for key, item in theirs.items() if key not in ours and item not in (None, "", [], {}))
    if kept:
        SETTINGS.place(result, {**ours, **{key: theirs[key] for key in kept}})
    return result, kept


def without_unknown(desired: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``desired`` without the settings the target's own settings lack, and the names of those
    that hold a value. A target's settings list every setting its release has, so one missing
    there is a newer release's (``visual_editor_urls``: in 11.6.1, not in 11.4.1): an older
    Directus accepts it in a PATCH and drops it, so sent it changes nothing and compared it
    never goes away (a target that never saved its settings is read with its release's other
    columns as null: ``Settings.read``)."""
    ours, theirs = SETTINGS.section(desired), SETTINGS.section(current)
    if not isinstance(ours, dict) or not isinstance(theirs, dict) or not theirs:
        return dict(desired), []
    unknown = [key for key in sorted(ours) if key not in theirs]
    result = dict(desired)
    if unknown:
        SETTINGS.place(result, {key: item for key, item in ours.items() if key in theirs})
    return result, [key for key in unknown if ours[key] not in (None, "", [], {})]
