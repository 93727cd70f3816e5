#!/usr/bin/env python3
"""Regenerate ``tool/directus_gitops/data/directus_extensions.json``: the app extensions each
Directus release has built in (interfaces, displays, layouts, panels, operations).

``push`` refuses a model whose fields, presets, panels or operations name one the target has
neither built in nor installed (engine/predict.py). Which ids are built in is read here from
the releases installed in the cache, from their own app bundle: every built-in is registered
there by a ``define…({id: …})`` call, one defining function per kind, told apart by an id each
kind is known to have. The API writes one interface no bundle defines, ``numeric``, on the
``id`` it adds to a collection created without a key: it is read from the API and counted in::

    python scripts/builtin_extensions.py 9.26.0 10.13.4 11.3.5 11.17.4 12.4.1
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from directus_server import install

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tool" / "directus_gitops" / "data" / "directus_extensions.json"

# One id per kind that every release defines: the defining function that registers it is the kind's.
KNOWN = {
    "interfaces": "select-dropdown",
    "displays": "raw",
    "layouts": "tabular",
    "panels": "metric",
    "operations": "item-create",
}
_DEFINED = re.compile(r"(?:[=,(:]|return )([\w$]+)\(\{id:[`\"']([a-z0-9_-]+)[`\"'],")
# The interface the API itself gives the key it adds to a collection created without one
# (services/collections.js: ``injectedPrimaryKeyField``), which no app bundle defines.
_WRITTEN = re.compile(r"interface:\s*[\"']([a-z0-9_-]+)[\"']")


def builtins(root: Path) -> dict[str, list[str]]:
    """Each kind's built-in ids in the app bundle of the installation at ``root``."""
    by_function: dict[tuple[Path, str], set[str]] = collections.defaultdict(set)
    for path in sorted((root / "node_modules" / "@directus" / "app" / "dist" / "assets").glob("*.js")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _DEFINED.finditer(text):
            by_function[(path, match.group(1))].add(match.group(2))
    found: dict[str, list[str]] = {}
    for kind, known in KNOWN.items():
        ids = set().union(*(ids for ids in by_function.values() if known in ids))
        if not ids:
            raise SystemExit(f"{root}: no {kind} found (the bundle's layout changed?)")
        found[kind] = sorted(ids)
    service = root / "node_modules" / "@directus" / "api" / "dist" / "services" / "collections.js"
    written = set(_WRITTEN.findall(service.read_text(encoding="utf-8", errors="replace")))
    if not written:
        raise SystemExit(f"{service}: the interface of the key Directus adds was not found")
    found["interfaces"] = sorted(set(found["interfaces"]) | written)
    return found


def main(versions: list[str]) -> None:
    releases = {version: builtins(install(version).root) for version in versions}
    document = {
        "about": "Built-in app extension ids per Directus release, read from each release's app bundle "
        "(and the interface its API gives a key it adds) by scripts/builtin_extensions.py",
        "releases": releases,
    }
    OUTPUT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}: " + ", ".join(f"{v} ({sum(map(len, r.values()))} ids)" for v, r in releases.items()))


if __name__ == "__main__":
    main(sys.argv[1:] or ["9.26.0", "10.13.4", "11.3.5", "11.17.4", "12.4.1"])
