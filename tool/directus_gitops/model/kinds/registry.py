"""The kinds, in apply order: what the engine loops over (kind.py says what each answers).

The engine calls the kinds in this order everywhere, so a kind may use what the kinds before
it defined (the validation's ``Context.defined``: the roles that presets, users and settings
name). An apply runs in :data:`STAGES`: each step names its stage (``Step.stage``; by default
its kind's group), and within a stage the steps keep their kind's order.
"""

from __future__ import annotations

from directus_gitops.model.kinds.access import ACCESS
from directus_gitops.model.kinds.dashboards import DASHBOARDS
from directus_gitops.model.kinds.data import ROWS
from directus_gitops.model.kinds.flows import FLOWS
from directus_gitops.model.kinds.folders import FOLDERS
from directus_gitops.model.kinds.kind import Kind
from directus_gitops.model.kinds.presets import PRESETS
from directus_gitops.model.kinds.settings import SETTINGS
from directus_gitops.model.kinds.translations import TRANSLATIONS
from directus_gitops.model.kinds.users import USERS

KINDS: tuple[Kind, ...] = (FOLDERS, ACCESS, USERS, FLOWS, DASHBOARDS, PRESETS, TRANSLATIONS, SETTINGS, ROWS)
BY_GROUP = {kind.group: kind for kind in KINDS}
# The files' ``kind:`` of each (a kind's documents say which kind holds them).
BY_DOCUMENT = {name: kind for kind in KINDS for name in kind.files}

# The order of an apply. What is named is written before what names it (folders, then
# policies, roles and their links, then users, who name roles, then permissions, …); removals
# come after every write, what belongs to something before the thing itself ("-" + group:
# a kind's removals). Reference data comes last: rows may be named by nothing here, and name
# nothing but rows and the schema.
STAGES = (
    "folders",
    "access",  # policies, roles (parents first), access links
    "users",
    "permissions",
    "flows",  # flows, operations, then their links
    "dashboards",
    "presets",
    "translations",
    "settings",
    "-presets",
    "-translations",
    "-dashboards",
    "-flows",
    "-users",  # users' access links, before the policies they name
    "-access",  # permissions, access links, roles (children first), policies
    "-folders",
    "data",
)
