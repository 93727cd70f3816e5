"""The configuration kinds in the pull → diff → plan → push loop: what the commands call."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from directus_gitops.base.errors import ConfigError, InvalidSnapshotError, RefusedError, ResidueError, SnapshotError
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from directus_gitops.model import collection_renames
from directus_gitops.model.kinds import access_models, compare, files, identity, ignore, model, secrets
from directus_gitops.model.kinds import data as rows_kind
from directus_gitops.model.kinds import settings as settings_kind
from directus_gitops.model.kinds import validate as checks
from directus_gitops.model.kinds.change import ConfigChangeSet
from directus_gitops.model.kinds.data import ROWS as rows
from directus_gitops.model.kinds.model import State
from directus_gitops.model.kinds.registry import KINDS
from directus_gitops.model.selection import Mode, Rules
from directus_gitops.server import config_apply as apply
from directus_gitops.server import config_read as server
from directus_gitops.server.client import DirectusClient


@dataclass(frozen=True)
class Pulled:
    files: dict[str, bytes]
    entry: dict[str, Any]  # the manifest's ``config``
    counts: str
    withheld: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()  # left out by ignore rules
    found: tuple[secrets.Found, ...] = ()  # secrets the files would hold: ``pull`` refuses or allows them


def groups(sync: Collection[str], data: Mapping[str, Any] | None = None) -> list[str]:
    """The configuration groups to read: those ``sync`` lists, and ``data`` when
    directus-gitops.yaml opts collections in."""
    return [group for group in sync if group != "schema"] + ([rows.group] if data else [])


def specs_for(data: Mapping[str, Any] | None, schema: snap.Snapshot, where: str) -> dict[str, Any]:
    """What to read of each kind of kind.py on a server whose schema is ``schema``."""
    return {rows.group: rows_kind.headers(data, schema, where)} if data else {}


def specs_of(desired: State) -> dict[str, Any]:
    """What to read of a target to compare it with ``desired`` (read from files)."""
    sections = {kind: kind.section(desired) for kind in KINDS}
    return {kind.group: kind.spec_of(section) for kind, section in sections.items() if section is not None}


def pull(
    client: DirectusClient,
    sync: Collection[str],
    release: Any,
    rules: Rules | None = None,
    schema: snap.Snapshot | None = None,
    data: Mapping[str, Any] | None = None,
) -> Pulled | None:
    """The files for the configuration kinds ``sync`` enables (and the reference data ``data``
    opts in), without what ``rules`` ignore, and the secrets they hold (the caller refuses them
    together with the schema's: :func:`secrets.check`); refuses files ``check`` would refuse.
    ``schema``: the server's snapshot (before ignore rules), whose collections permissions and
    presets must name."""
    wanted = groups(sync, data)
    if not wanted:
        return None
    rules = rules or Rules()
    specs = specs_for(data, schema or {}, f"'{client.target.name}'")
    everything = server.read(client, wanted, release, symbolic=True, specs=specs)
    state, left_out = ignore.apply(everything, rules)
    found = tuple(secrets.find(files.documents(state)))
    # What the files name that ignore rules keep out of them exists on the server (so on each
    # target, where ignored items stay): the manifest lists it instead of calling it undefined.
    kept = None
    on_server = {"collections": set[str](), "roles": _ids(everything, "roles"), "folders": _ids(everything, "folders")}
    written = {"collections": set[str](), "roles": _ids(state, "roles"), "folders": _ids(state, "folders")}
    if schema is not None:
        on_server["collections"] = {str(entry.get("collection")) for entry in schema.get("collections") or []}
        kept = {name for name in on_server["collections"] if not rules.ignores_collection(name)}
        written["collections"] = kept
    named = checks.named(state)
    outside = {key: named[key] & (on_server[key] - written[key]) for key in checks.IGNORED}
    rendered, entry = files.render(state, outside)
    _refuse_invalid(client, rendered, entry, kept, _field_types(schema) if schema is not None else None)
    withheld: tuple[str, ...] = ()
    if "settings" in wanted:
        raw = client.read("/settings")
        withheld = tuple(server.withheld_settings(raw if isinstance(raw, dict) else {}))
    return Pulled(rendered, entry, counts(state), withheld, tuple(left_out), found)


def _ids(state: State, group: str) -> set[str]:
    return {str(item.get("id")) for item in state.get(group, [])}


def _field_types(schema: snap.Snapshot) -> dict[str, dict[str, str]]:
    types: dict[str, dict[str, str]] = {}
    for entry in schema.get("fields") or []:
        types.setdefault(str(entry.get("collection")), {})[str(entry.get("field"))] = str(entry.get("type"))
    return types


def _refuse_invalid(
    client: DirectusClient,
    rendered: Mapping[str, bytes],
    entry: Mapping[str, Any],
    collections: set[str] | None,
    fields: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Refuse to write configuration files that the validation every reader runs would refuse."""
    try:
        files.parse(store.memory_tree(rendered, "").read, "", entry, collections, fields)
    except InvalidSnapshotError as exc:
        target = client.target
        listed = "\n  ".join(exc.problems[: InvalidSnapshotError.SHOWN])
        more = len(exc.problems) - InvalidSnapshotError.SHOWN
        raise SnapshotError(
            f"refusing to write the configuration of '{target.name}' ({target.url}): check would refuse it; "
            f"nothing was written\n  {listed}" + (f"\n  ... and {more} more" if more > 0 else ""),
            hint="fix these on the server (or leave the items out with `ignore: config:` rules), then pull again",
        ) from None


def counts(state: State) -> str:
    sections = [(kind, kind.section(state)) for kind in KINDS]
    return ", ".join(filter(None, (kind.count(section) for kind, section in sections if section is not None)))


def load(read: store.Reader, source: str) -> State | None:
    """The configuration a schema folder holds (None when its manifest lists none)."""
    manifest = store.read_manifest(read, source)
    if manifest is None:
        return None
    return files.parse(read, source, manifest.get("config"))


def diff(old: State | None, new: State | None, rules: Rules | None = None) -> ConfigChangeSet | None:
    """Offline: what changes between two committed configurations (None: neither has one),
    without what ``rules`` ignore."""
    if old is None and new is None:
        return None
    empty: State = {"model": (new or old or {}).get("model", model.POLICIES)}
    before, _ = ignore.apply(old or empty, rules or Rules())
    after, _ = ignore.apply(new or empty, rules or Rules())
    try:  # (a commit of the other access model, before an upgrade: as a push would convert it)
        sides = ("older commit's files", "newer commit's")
        before, converted = access_models.convert(before, after.get("model", model.POLICIES), sides=sides)
    except RefusedError:
        converted = None  # compare warns that access is not compared
    found = compare.compare(before, after)
    return ConfigChangeSet(found.changes, (converted, *found.warnings)) if converted else found


@dataclass
class Plan:
    desired: State  # in the target's ids
    current: State
    changes: ConfigChangeSet
    mapping: dict[str, str] = field(default_factory=dict)
    source: State = field(default_factory=dict)  # as the files hold it (for a saved plan)
    rules: Rules = field(default_factory=Rules)  # what is left out of both sides
    mode: Mode = "mirror"  # merge: items only the target has are kept


def plan(
    client: DirectusClient,
    desired: State,
    release: Any,
    environ: Mapping[str, str] | None = None,
    rules: Rules | None = None,
    mode: Mode = "mirror",
    renamed: Sequence[tuple[str, str]] = (),
    files_release: Any = None,
) -> Plan:
    """What turns the target's configuration into ``desired``; what ``rules`` ignore is left
    out of both sides, so it is neither created, changed nor removed on the target; in merge
    ``mode`` nothing only the target has is removed. ``renamed``: the collections a push
    renames on the target before this plan applies (``(old, new)``): what names them moves
    with them, and is compared under the new name. ``files_release``: the Directus the files
    were pulled from (the snapshot's), against the target's ``release``."""
    current = live(client, files.groups_of(desired), release, rules, specs_of(desired))
    desired, converted = access_models.convert(desired, server.model_for(release), current)
    desired, newer = settings_kind.kept_from_newer(desired, current, files_release, release)
    notes = [converted] if converted else []
    if newer:
        notes.append(
            f"{len(newer)} setting(s) the files of Directus {files_release} do not hold are left as the target "
            f"holds them (rule release-only-properties): {', '.join(newer)}"
        )
    for old, new in renamed:
        current = collection_renames.rename_config(current, old, new)
    planned = plan_against(desired, current, rules, environ, mode=mode)
    if notes:
        planned.changes = ConfigChangeSet(planned.changes.changes, (*notes, *planned.changes.warnings))
    if rows.group in planned.desired and planned.changes:
        lacking = rows_kind.missing_references(client.read, planned.desired[rows.group])
        if lacking:
            planned.changes = ConfigChangeSet(planned.changes.changes, (*planned.changes.warnings, *lacking))
    return planned


def live(
    client: DirectusClient,
    groups: Collection[str],
    release: Any,
    rules: Rules | None = None,
    specs: Mapping[str, Any] | None = None,
) -> State:
    """The target's configuration of ``groups``, without what ``rules`` ignore; ``specs``:
    what to read of the kinds of kind.py (:func:`specs_of`, :func:`specs_for`)."""
    return ignore.apply(server.read(client, groups, release, specs=specs), rules or Rules())[0]


def plan_against(
    desired: State,
    current: State,
    rules: Rules | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    mode: Mode = "mirror",
) -> Plan:
    """What turns ``current`` (a target's configuration, read by :func:`live`) into ``desired``."""
    source = desired
    desired, _ = ignore.apply(desired, rules or Rules())
    desired, unknown = settings_kind.without_unknown(desired, current)
    mapping = identity.id_map(desired, current)
    wanted = identity.rename(desired, mapping)
    shown = secrets.unsubstitute(current, wanted, environ)
    found = kept_in_merge(compare.compare(shown, wanted), mode)
    if unknown:
        note = (
            f"{len(unknown)} setting(s) the target's release does not have are not sent (rule "
            f"release-only-properties): {', '.join(unknown)}"
        )
        found = ConfigChangeSet(found.changes, (*found.warnings, note))
    return Plan(wanted, current, found, mapping, source, rules or Rules(), mode)


def kept_in_merge(changes: ConfigChangeSet, mode: Mode) -> ConfigChangeSet:
    """``changes`` without removals in merge mode: what only the target has stays, and a
    warning names it (as the schema's plan lists what merge mode kept)."""
    kept = [change for change in changes if change.action == "delete"] if mode == "merge" else []
    if not kept:
        return changes
    names = ", ".join(change.label for change in kept[:5]) + (" …" if len(kept) > 5 else "")
    note = f"merge mode keeps {len(kept)} item(s) only the target has: {names}"
    return ConfigChangeSet(tuple(c for c in changes if c.action != "delete"), (*changes.warnings, note))


def drift(
    committed: State, current: State, rules: Rules | None = None, releases: tuple[Any, Any] = (None, None)
) -> ConfigChangeSet:
    """What was changed on a target (its configuration ``current``, read by :func:`live`)
    relative to ``committed``: the plan's changes seen the other way round. Only the groups
    ``committed`` holds are compared; access of the other model as the target would hold it
    (model/kinds/access_models.py), and settings as a push of files of the first of
    ``releases`` (the files', the target's) leaves them (settings.kept_from_newer)."""
    try:
        committed, _ = access_models.convert(committed, current.get("model", model.POLICIES), current)
    except RefusedError as exc:  # (what the target's model cannot hold is no drift: a push refuses it)
        return ConfigChangeSet((), (exc.message,))
    committed, _ = settings_kind.kept_from_newer(committed, current, *releases)
    groups = files.groups_of(committed)
    kept: State = {"model": current["model"]} if "model" in current else {}
    for kind in KINDS:
        section = kind.section(current)
        if kind.group in groups and section is not None:
            kind.place(kept, section)
    planned = plan_against(committed, kept, rules)
    # A placeholder whose variable this job lacks cannot be told apart from its value: as committed.
    return compare.compare(planned.desired, secrets.unsubstitute(kept, planned.desired, unset_equal=True))


def fingerprint(state: State) -> str:
    """A digest of a target's configuration: a saved plan applies only while it is unchanged."""
    text = json.dumps(files.documents(state), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def saved(config_plan: Plan) -> dict[str, Any]:
    """The configuration part of a saved plan: the files as pushed (no secret: files hold
    none) and the fingerprint of the target's configuration the plan was made against."""
    rendered, entry = files.render(config_plan.source)
    return {
        "entry": entry,
        "files": {path: data.decode("utf-8") for path, data in sorted(rendered.items())},
        "target": fingerprint(config_plan.current),
        "changes": config_plan.changes.summary(),
    }


def saved_state(document: Any, where: str) -> State:
    """The configuration a saved plan carries, after the same validation as the files it was
    made from (but for the schema's collections: the plan was made from a checked folder)."""
    if not isinstance(document, dict) or not isinstance(document.get("files"), dict):
        raise SnapshotError(f"{where}: 'config' must hold 'entry' and 'files'")
    texts = document["files"]
    if not all(isinstance(path, str) and isinstance(text, str) for path, text in texts.items()):
        raise SnapshotError(f"{where}: config files must be text")
    tree = store.memory_tree({path: text.encode("utf-8") for path, text in texts.items()}, where)
    desired = files.parse(tree.read, where, document.get("entry"))
    if desired is None:
        raise SnapshotError(f"{where}: 'config' has no manifest entry")
    return desired


def from_saved(
    client: DirectusClient,
    document: Any,
    release: Any,
    where: str,
    target_name: str,
    rules: Rules | None = None,
    mode: Mode = "mirror",
    files_release: Any = None,
) -> Plan:
    """The configuration plan of a saved plan, made again against the target; refused when the
    target's configuration changed since (as the schema's hash guard refuses a changed schema)."""
    again = plan(client, saved_state(document, where), release, rules=rules, mode=mode, files_release=files_release)
    if fingerprint(again.current) != document.get("target"):
        raise RefusedError(
            f"the configuration of '{target_name}' changed after {where} was made; nothing was applied",
            hint="run plan again to plan against the target as it is now",
        )
    return again


def lockout(client: DirectusClient, config_plan: Plan) -> str | None:
    """Why the push would lock out the pushing user or leave no administrator (None: it won't)."""
    desired = config_plan.desired
    if not any(c.kind in ("role", "policy", "access", "user") for c in config_plan.changes):
        return None
    me = client.read("/users/me", {"fields": "id,role,email"})
    me = me if isinstance(me, dict) else {}
    mine_in_files = next(
        (u for u in desired.get("users", []) if model.user_key(u) == str(me.get("email") or "").lower()), None
    )
    if mine_in_files is not None and mine_in_files.get("role") != me.get("role"):
        if "roles" not in desired:  # without the roles, admin access cannot be checked
            return "it would change the role of the user whose token runs it"
        me = {**me, "role": mine_in_files.get("role")}  # the push changes the pushing user's own role
    if "roles" not in desired:
        return None
    roles = {role["id"]: role for role in desired.get("roles", [])}
    if desired.get("model") == model.ROLES:
        mine = roles.get(me.get("role"))
        if not any(role.get("admin_access") for role in roles.values()):
            return "it would leave the instance without an administrator role"
        if mine is None or not mine.get("admin_access"):
            return "it would remove admin access from the user whose token runs it"
        return None
    admin = {p["id"] for p in desired.get("policies", []) if p.get("admin_access")}
    own: list[Any] = []
    if mine_in_files is not None and "policies" in mine_in_files:  # the push sets the user's own policies
        own = list(mine_in_files["policies"])
    elif me.get("id"):
        links = client.read("/access", {"limit": "-1", "filter[user][_eq]": str(me["id"])})
        own = [link.get("policy") for link in links or [] if isinstance(link, dict)]
    held, role, seen = set(own), me.get("role"), set()
    while role in roles and role not in seen:
        seen.add(role)
        held.update(roles[role].get("policies") or [])
        role = roles[role].get("parent")
    if not any(set(role.get("policies") or []) & admin for role in roles.values()) and not set(own) & admin:
        return "it would leave the instance without an administrator"
    if not held & admin:
        return "it would remove admin access from the user whose token runs it"
    return None


def backup(config_plan: Plan, folder: Path, target_name: str) -> Path:
    """The target's configuration before the push, secrets redacted, beside the schema backups."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{target_name}-config-{stamp}.json"
    documents = secrets.redact(files.documents(config_plan.current))
    path.write_text(json.dumps(documents, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def push(
    client: DirectusClient,
    config_plan: Plan,
    release: Any,
    backup_path: Path | None,
    *,
    before: list[str] | None = None,
) -> list[str]:
    """Apply the plan, then read the target back: it must equal what was pushed.
    ``before``: what this push already applied (the schema's changes)."""
    unset = secrets.missing(config_plan.desired)  # push checked it before its first write: the last guard
    if unset:
        raise secrets.missing_error(unset, applied=bool(before))
    done = apply.run(
        client,
        apply.steps(config_plan.changes, config_plan.desired, config_plan.current),
        str(backup_path) if backup_path else None,
        before=before,
        refs=apply.known(config_plan.current),
    )
    again = live(
        client, files.groups_of(config_plan.desired), release, config_plan.rules, specs_of(config_plan.desired)
    )
    left = kept_in_merge(
        compare.compare(secrets.unsubstitute(again, config_plan.desired), config_plan.desired), config_plan.mode
    )
    if left:
        raise ResidueError(
            f"configuration applied, but the target reads back differently in {len(left)} place(s) "
            f"({left.summary()}):\n" + compare.text(left, title="Read back differently:"),
        )
    return done


def unset_variables(config_plan: Plan) -> list[str]:
    """The environment variables the plan's placeholders need that are not set."""
    return secrets.missing(config_plan.desired) if config_plan.changes else []


def unset_error(config_plan: Plan) -> ConfigError | None:
    """Why the push cannot send the plan (a placeholder's variable is not set), or None."""
    unset = unset_variables(config_plan)
    return secrets.missing_error(unset) if unset else None


def refuse_removals(changes: ConfigChangeSet) -> None:
    gone = changes.destructive
    if gone:
        names = ", ".join(c.label for c in gone[:5]) + (" …" if len(gone) > 5 else "")
        raise RefusedError(
            f"refusing to push: {len(gone)} change(s) remove configuration ({names}); nothing was applied",
            hint="review the plan, then re-run with --allow-config-removal (--allow-data-loss does not cover it)",
        )


def environ() -> Mapping[str, str]:
    return os.environ
