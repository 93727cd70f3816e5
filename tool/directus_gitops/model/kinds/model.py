"""The canonical form of a whole configuration state, kind by kind.

A *state* (items.py) is the configuration of one instance or of the files: the access model
and each synced kind's section. :func:`canonical` puts every kind's section in its canonical
order (each kind says which, kind.py), so a state read from a server and one read from files
compare equal when they mean the same.

The kinds' own names (their synced properties, natural keys and orders) live in each kind's
module; the ones other layers use are re-exported here.
"""

from __future__ import annotations

from directus_gitops.model.kinds.access import (
    PERMISSION_FIELDS,
    POLICY_FIELDS,
    ROLE_FIELDS_POLICIES,
    ROLE_FIELDS_ROLES,
    permission,
    permission_key,
    sort_permissions,
)
from directus_gitops.model.kinds.dashboards import DASHBOARD_FIELDS, PANEL_FIELDS, panel_order
from directus_gitops.model.kinds.flows import FLOW_FIELDS, OPERATION_FIELDS, operations_in_order
from directus_gitops.model.kinds.folders import FOLDER_FIELDS
from directus_gitops.model.kinds.items import ADMINISTRATOR, POLICIES, PUBLIC, ROLES, Item, State, by_name, pick, value
from directus_gitops.model.kinds.presets import PRESET_FIELDS, preset_key
from directus_gitops.model.kinds.registry import KINDS
from directus_gitops.model.kinds.settings import SETTINGS_INSTANCE
from directus_gitops.model.kinds.translations import (
    LEGACY_TRANSLATIONS,
    TRANSLATION_FIELDS,
    translation_key,
    translations_from_settings,
    translations_to_settings,
)
from directus_gitops.model.kinds.users import USER_FIELDS, user_key

__all__ = [
    "ADMINISTRATOR",
    "DASHBOARD_FIELDS",
    "FLOW_FIELDS",
    "FOLDER_FIELDS",
    "LEGACY_TRANSLATIONS",
    "OPERATION_FIELDS",
    "PANEL_FIELDS",
    "PERMISSION_FIELDS",
    "POLICIES",
    "POLICY_FIELDS",
    "PRESET_FIELDS",
    "PUBLIC",
    "ROLES",
    "ROLE_FIELDS_POLICIES",
    "ROLE_FIELDS_ROLES",
    "SETTINGS_INSTANCE",
    "TRANSLATION_FIELDS",
    "USER_FIELDS",
    "Item",
    "State",
    "by_name",
    "canonical",
    "operations_in_order",
    "panel_order",
    "permission",
    "permission_key",
    "pick",
    "preset_key",
    "sort_permissions",
    "translation_key",
    "translations_from_settings",
    "translations_to_settings",
    "user_key",
    "value",
]


def canonical(state: State) -> State:
    """``state`` with every list in its canonical order."""
    result: State = {"model": state.get("model", POLICIES)}
    result.update((key, item) for key, item in state.items() if key.startswith("_"))
    for kind in KINDS:
        section = kind.section(state)
        if section is not None:
            kind.place(result, kind.canonical(section))
    return result
