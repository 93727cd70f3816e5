"""``plan``: what ``push`` would change on a target, computed by the target itself.

The desired state is the schema folder as **committed** at a git revision (never the
working tree, which CI may have touched). The target's ``/schema/diff`` turns it into a
diff plus the hash of the target's current schema; that hash is what makes the later apply
safe, so a plan saved with ``--out`` can only be applied to the unchanged target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from directus_gitops import changes, mermaid, render, selection, store, translate, validate
from directus_gitops import snapshot as snap
from directus_gitops.client import Diff, DirectusClient
from directus_gitops.config import Config, Target
from directus_gitops.console import Console
from directus_gitops.errors import ConfigError, DocumentError, ExitCode, GitError, GitOpsError
from directus_gitops.fanout import Record
from directus_gitops.kinds import compare as kinds_compare
from directus_gitops.kinds import sync

PLAN_FORMAT = "directus-gitops-plan"
PLAN_FORMAT_VERSION = render.JSON_FORMAT_VERSION  # one type everywhere: the string "1"
# Plan files written before the version became a string say 1; they read the same.
_READABLE_VERSIONS = (PLAN_FORMAT_VERSION, 1)


@dataclass(frozen=True)
class Source:
    """The desired snapshot and where it came from."""

    snapshot: snap.Snapshot
    label: str  # "HEAD (1a2b3c4d5e)" or a path
    ref: str | None = None
    commit: str | None = None


@dataclass
class Plan:
    source: Source
    target: Target
    target_snapshot: snap.Snapshot
    target_version: str | None
    diff: Diff | None
    changes: changes.ChangeSet = field(default_factory=changes.ChangeSet)
    forced: bool = False  # made with --force: verifying it needs the same
    translation: translate.Translation | None = None  # what was sent instead of the source as is
    system_index_changes: bool = False  # made with --allow-system-index-changes
    forced_for: tuple[str, ...] = ()  # what Directus's own check would have refused without --force
    mode: selection.Mode = "mirror"
    kept: tuple[selection.Kept, ...] = ()  # what merge mode leaves on the target
    sent: snap.Snapshot | None = None  # the snapshot the diff was asked for (for the diagram)

    @property
    def target_vendor(self) -> str | None:
        vendor = self.target_snapshot.get("vendor")
        return str(vendor) if vendor else None

    def context(self) -> dict[str, Any]:
        return {
            "source": {
                "label": self.source.label,
                "ref": self.source.ref,
                "commit": self.source.commit,
                "directus": self.source.snapshot.get("directus"),
                "vendor": self.source.snapshot.get("vendor"),
            },
            "target": {
                "env": self.target.name,
                "url": self.target.url,
                "directus": self.target_version,
                "vendor": self.target_vendor,
            },
            "hash": self.diff.hash if self.diff else None,
            "translation": self.translation.as_list() if self.translation else [],
            "relied_on_force": list(self.forced_for),
            "mode": self.mode,
            "kept": [{"kind": k.kind, "name": k.name, "reason": k.reason} for k in self.kept],
        }

    @property
    def kept_lines(self) -> list[str]:
        return [k.line() for k in self.kept]

    @property
    def translated(self) -> list[str]:
        lines = self.translation.lines() if self.translation else []
        return lines + [f"relied on --force: {reason}" for reason in self.forced_for]


# --------------------------------------------------------------------------- reading the source


def read_source(config: Config, console: Console, *, ref: str | None, path: Path | None) -> Source:
    """The committed snapshot at ``ref`` (default HEAD), or the snapshot at ``path``."""
    if path is not None:
        if ref is not None:
            raise ConfigError("give either --ref or --from, not both")
        return Source(validate.load_path(path).snapshot, label=str(path))
    from directus_gitops.gitrepo import Repo

    repo = Repo(config.schema_dir.parent if config.schema_dir.parent.exists() else config.root)
    folder = repo.relpath(config.schema_dir)
    rev = ref or "HEAD"
    if not repo.has_commits():
        raise GitOpsError(f"the repository has no commits yet: commit {folder}/ first")
    commit, tree = repo.schema_tree(rev, folder)
    if tree is None:
        raise GitError(f"revision '{rev}' ({commit.hexsha[:10]}) has no {folder}/")
    loaded = validate.load_tree(tree)
    dirty = repo.dirty_paths(folder)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        console.warn(f"uncommitted changes under {folder}/ are not pushed: {shown}")
    return Source(loaded.snapshot, label=f"{rev} ({commit.hexsha[:10]})", ref=rev, commit=commit.hexsha)


# --------------------------------------------------------------------------- talking to the target


def _version_of(info: dict[str, Any]) -> str | None:
    directus = info.get("directus")
    if isinstance(directus, dict) and directus.get("version"):
        return str(directus["version"])
    return str(info["version"]) if info.get("version") else None


def translation_for(
    client: DirectusClient,
    source: snap.Snapshot,
    target_snapshot: snap.Snapshot,
    target_release: str | None,
    *,
    system_index_changes: bool,
) -> translate.Translation:
    """``source`` translated for the target ``client`` talks to, as it is now."""
    known: dict[tuple[str, str], bool] = {}

    def has_field(collection: str, name: str) -> bool:
        if (collection, name) not in known:
            known[(collection, name)] = client.has_field(collection, name)
        return known[(collection, name)]

    return translate.translate(
        source,
        target_snapshot,
        target_release=target_release,
        system_index_changes=system_index_changes,
        target_has_field=has_field,
    )


@dataclass(frozen=True)
class Desired:
    """What is sent to a target: the source without ignored parts, translated, plus what the
    target keeps (its ignored parts; in merge mode, what only it has)."""

    snapshot: snap.Snapshot
    translation: translate.Translation
    kept: tuple[selection.Kept, ...]


def desired(
    client: DirectusClient,
    source: snap.Snapshot,
    current: snap.Snapshot,
    target_release: str | None,
    *,
    mode: selection.Mode,
    system_index_changes: bool,
) -> Desired:
    rules = client.target.ignore
    filtered, left_out = selection.apply(source, rules)
    translation = translation_for(client, filtered, current, target_release, system_index_changes=system_index_changes)
    sent, kept = selection.keep_on_target(translation.snapshot, current, rules, mode, left_out)
    return Desired(sent, translation, kept)


def make_plan(
    client: DirectusClient,
    source: Source,
    console: Console,
    *,
    force: bool,
    system_index_changes: bool = False,
    mode: selection.Mode | None = None,
) -> Plan:
    target = client.target
    mode = mode or target.mode
    with console.progress(f"Reading the schema of '{target.name}'"):
        info = client.server_info()
        target_snapshot = client.snapshot()
    target_release = _version_of(info) or target_snapshot.get("directus")
    problems = translate.compatibility(source.snapshot, target_snapshot)
    if problems and not force:
        raise GitOpsError(
            f"'{target.name}' would refuse this snapshot: {'; '.join(problems)}",
            hint="pull from a server of the same Directus version and database, or pass --force to let "
            "Directus compare anyway (then read the plan closely: version-specific properties show up as changes)",
        )
    for problem in problems:
        console.warn(f"{problem} (--force)")
    for warning in translate.origin_warnings(source.snapshot):
        console.warn(warning)
    with console.progress(f"Translating {source.label} for '{target.name}'"):
        wanted = desired(
            client,
            source.snapshot,
            target_snapshot,
            target_release,
            mode=mode,
            system_index_changes=system_index_changes,
        )
    translation = wanted.translation
    with console.progress(f"Waiting for '{target.name}' to compute the diff"):
        diff = client.diff(wanted.snapshot, force=force)
    plan = Plan(
        source,
        target,
        target_snapshot,
        target_release,
        diff,
        forced=force,
        translation=translation,
        system_index_changes=system_index_changes,
        forced_for=tuple(problems),
        mode=mode,
        kept=wanted.kept,
        sent=wanted.snapshot,
    )
    if diff is not None:
        plan.changes = changes.from_server(diff.diff)
    return plan


def title(plan: Plan) -> str:
    where = f"'{plan.target.name}' ({plan.target.url}, Directus {plan.target_version}, {plan.target_vendor})"
    return f"Plan for {where} from {plan.source.label}:"


def show(plan: Plan, console: Console, fmt: render.Format) -> None:
    diagram = None
    if fmt in ("markdown", "mermaid"):
        diagram = mermaid.diagram(plan.changes, plan.target_snapshot, plan.sent or plan.source.snapshot)
    if fmt == "text" and not plan.changes:
        lines = [f"'{plan.target.name}' already matches {plan.source.label}. No changes."]
        if plan.translated:
            lines.extend(["", *render.translation_text(plan.translated)])
        if plan.kept:
            lines.extend(["", *render.kept_text(plan.kept_lines)])
        console.result("\n".join(lines))
        return
    console.result(
        render.render(
            plan.changes,
            fmt,
            title=title(plan),
            context=plan.context(),
            color=console.color,
            translated=plan.translated,
            kept=plan.kept_lines,
            diagram=diagram,
        )
    )


# --------------------------------------------------------------------------- saved plans


def save(plan: Plan, path: Path, config_plan: sync.Plan | None = None) -> None:
    """The plan as a file for ``push --plan``: the schema's diff (absent when only the
    configuration changes) and the configuration kinds' files with the target's fingerprint."""
    assert plan.diff is not None or (config_plan is not None and config_plan.changes)
    document: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **plan.context(),
        "force": plan.forced,
        "system_index_changes": plan.system_index_changes,
        "diff": plan.diff.diff if plan.diff is not None else None,
        # The desired snapshot travels with the plan, so push can verify after applying
        # without needing the same checkout.
        "snapshot": plan.source.snapshot,
    }
    if config_plan is not None and config_plan.changes:
        document["config"] = sync.saved(config_plan)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_saved(path: Path) -> dict[str, Any]:
    try:
        store.check_size(path.stat().st_size, str(path))
        document = json.loads(path.read_text(encoding="utf-8"))
    except DocumentError as exc:
        raise ConfigError(exc.message) from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such plan file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise ConfigError(f"{path}: not a directus-gitops plan file")
    version = document.get("format_version")
    if isinstance(version, bool) or version not in _READABLE_VERSIONS:
        raise ConfigError(f"{path}: plan format_version {document.get('format_version')} is not supported")
    config_only = document.get("config") is not None and document.get("diff") is None
    if not config_only and (not isinstance(document.get("hash"), str) or not isinstance(document.get("diff"), dict)):
        raise ConfigError(f"{path}: the plan has no hash and diff")
    validate.load_document(document.get("snapshot"), f"{path}: snapshot")
    return document


# --------------------------------------------------------------------------- the command


def run(
    config: Config,
    target: Target,
    console: Console,
    *,
    ref: str | None,
    path: Path | None,
    fmt: render.Format,
    force: bool,
    out: Path | None,
    exit_code: bool,
    system_index_changes: bool = False,
    mode: selection.Mode | None = None,
    record: Record | None = None,
) -> int:
    record = record or Record()
    source = read_source(config, console, ref=ref, path=path)
    with DirectusClient(target) as client:
        plan = make_plan(client, source, console, force=force, system_index_changes=system_index_changes, mode=mode)
        config_plan = plan_config(config, client, plan, ref=ref, path=path)
    record.changes = plan.changes.summary()
    record.result = "planned" if plan.changes or (config_plan and config_plan.changes) else "already matches"
    show(plan, console, fmt)
    if config_plan is not None:
        _show_config(config_plan.changes, console, fmt)
    if out is not None:
        if plan.diff is None and not (config_plan and config_plan.changes):
            console.info(f"Nothing to save: '{target.name}' already matches.")
        else:
            save(plan, out, config_plan)
            console.info(f"Saved the plan to {out}; apply it with: directus-gitops push --plan {out}")
    if exit_code and (plan.changes or (config_plan and config_plan.changes)):
        return ExitCode.CHANGES
    return ExitCode.OK


def plan_config(
    config: Config, client: DirectusClient, plan: Plan, *, ref: str | None, path: Path | None
) -> sync.Plan | None:
    """The configuration kinds' plan, when the source folder holds any."""
    desired = sync.source(config.schema_dir, config.root, ref=ref, path=path)
    if desired is None:
        return None
    return sync.plan(client, desired, plan.target_version, rules=client.target.ignore)


def _show_config(changes: kinds_compare.ConfigChangeSet, console: Console, fmt: render.Format) -> None:
    """The configuration kinds' plan: after the schema's (JSON: on stderr, stdout stays one document)."""
    if fmt == "json":
        console.info(json.dumps({"config": kinds_compare.as_dict(changes)}, indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        console.result(kinds_compare.markdown(changes))
    elif fmt == "text":
        console.result(kinds_compare.text(changes))
    else:  # a diagram of the schema alone: the configuration's plan goes beside it
        console.info(kinds_compare.text(changes))
