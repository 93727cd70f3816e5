"""Configuration kinds: what Directus holds beside the data model, as code.

Each kind is one module behind the interface of :mod:`.kind` (read, canonical form, identity,
validation, compare, apply order, secrets), registered in :mod:`.registry` in apply order:
:mod:`.folders`, :mod:`.access` (roles, policies, access links, permissions, the 9.x/10.x
public role), :mod:`.users`, :mod:`.flows` (with operations), :mod:`.dashboards` (with
panels), :mod:`.presets`, :mod:`.translations` (9.x: strings in a setting),
:mod:`.settings` and reference data, :mod:`.data`. What they share: :mod:`.items` (the state
and its items), :mod:`.change` (the change model, consent classes, the comparison of items
by identity), :mod:`.props` (the validation's property tables and checks), :mod:`.rest`
(REST endpoints), :mod:`.secrets` (credentials found before anything is written,
``${env:NAME}`` substituted on push) and :mod:`.identity` (what every instance bootstraps
for itself, matched by meaning).

The engine reaches every kind through loops over ``registry.KINDS``: :mod:`.model` (the
canonical state), :mod:`.files` (the files under ``<schema>/config/`` and back),
:mod:`.validate` (the one validation, run by ``check``, every reader and ``pull``),
:mod:`.compare` (changes, rendered), :mod:`.ignore` (ignore rules), and, above this layer,
``server/config_read.py``, ``server/config_apply.py`` and ``engine/configuration.py``.

The core never imports click; the commands only call into this package.
"""

from __future__ import annotations

# What ``sync:`` in directus-gitops.yaml may list. Without the key: schema only.
GROUPS: tuple[str, ...] = (
    "schema",
    "access",
    "flows",
    "dashboards",
    "presets",
    "settings",
    "translations",
    "folders",
    "users",  # opt-in only: never in COMMON
)
# What ``init`` enables.
COMMON: tuple[str, ...] = ("schema", "access", "flows", "dashboards", "presets", "settings", "translations", "folders")
