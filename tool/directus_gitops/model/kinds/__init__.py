"""Configuration kinds: what Directus holds beside the data model, as code.

Roles, policies (with their permissions), access links, flows (with their operations),
dashboards (with their panels), presets that belong to no user, settings, translation
strings and folders. Each kind is described once in :mod:`.model` (its REST endpoint, the
properties that are synced, its natural key and its place in the dependency order); the
other modules work from those descriptions:

- :mod:`.server` reads a live Directus (the 9.x/10.x role model or the 11+ policy model)
  and applies changes to one in dependency order;
- :mod:`.files` writes the canonical files under ``<schema>/config/`` and reads them back;
- :mod:`.validate` is the one validation of those files (shapes, types, the values Directus
  knows, references within and across kinds and into the schema), run by ``check``, by every
  reader and by ``pull`` before it writes;
- :mod:`.compare` turns two states into changes (``+``/``~``/``-``), in the same style as
  the schema's change model;
- :mod:`.secrets` finds credentials before anything is written, and substitutes
  ``${env:NAME}`` placeholders on push;
- :mod:`.identity` matches what every instance bootstraps for itself by meaning.

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
