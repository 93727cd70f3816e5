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

from directus_gitops import changes, render, store
from directus_gitops import snapshot as snap
from directus_gitops.client import Diff, DirectusClient
from directus_gitops.config import Config, Target
from directus_gitops.console import Console
from directus_gitops.errors import ConfigError, ExitCode, GitOpsError

PLAN_FORMAT = "directus-gitops-plan"
PLAN_FORMAT_VERSION = 1


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
        }


# --------------------------------------------------------------------------- reading the source


def read_source(config: Config, console: Console, *, ref: str | None, path: Path | None) -> Source:
    """The committed snapshot at ``ref`` (default HEAD), or the snapshot at ``path``."""
    if path is not None:
        if ref is not None:
            raise ConfigError("give either --ref or --from, not both")
        return Source(store.load_path(path).snapshot, label=str(path))
    from directus_gitops.gitrepo import Repo

    repo = Repo(config.schema_dir.parent if config.schema_dir.parent.exists() else config.root)
    folder = repo.relpath(config.schema_dir)
    rev = ref or "HEAD"
    if not repo.has_commits():
        raise GitOpsError(f"the repository has no commits yet: commit {folder}/ first")
    commit, read = repo.tree_reader(rev, folder)
    loaded = store.parse_tree(read, f"{rev}:{folder}")
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


def compatibility(source: snap.Snapshot, target: snap.Snapshot) -> list[str]:
    """Why Directus would refuse to diff ``source`` against ``target`` without force."""
    problems = []
    if source.get("directus") != target.get("directus"):
        problems.append(
            f"the snapshot was taken on Directus {source.get('directus')}, the target reports {target.get('directus')}"
        )
    if not source.get("vendor"):
        problems.append("the snapshot does not record its database vendor")
    elif target.get("vendor") and source.get("vendor") != target.get("vendor"):
        problems.append(f"the snapshot comes from {source.get('vendor')}, the target uses {target.get('vendor')}")
    return problems


def for_target(source: snap.Snapshot, target: snap.Snapshot) -> snap.Snapshot:
    """The snapshot as this target's Directus accepts it."""
    sent = dict(source)
    if "systemFields" in sent and "systemFields" not in target:
        del sent["systemFields"]  # Directus before 11.13 rejects the key outright
    return sent


def diff_for_apply(diff: dict[str, Any], target: snap.Snapshot) -> dict[str, Any]:
    """Directus 11.17+ requires ``systemFields`` in an apply; older versions reject it."""
    result = dict(diff)
    if "systemFields" in target:
        result.setdefault("systemFields", [])
    else:
        result.pop("systemFields", None)
    return result


def make_plan(client: DirectusClient, source: Source, console: Console, *, force: bool) -> Plan:
    target = client.target
    info = client.server_info()
    target_snapshot = client.snapshot()
    problems = compatibility(source.snapshot, target_snapshot)
    if problems and not force:
        raise GitOpsError(
            f"'{target.name}' would refuse this snapshot: {'; '.join(problems)}",
            hint="pull from a server of the same Directus version and database, or pass --force to let "
            "Directus compare anyway (then read the plan closely: version-specific properties show up as changes)",
        )
    for problem in problems:
        console.warn(f"{problem} (--force)")
    diff = client.diff(for_target(source.snapshot, target_snapshot), force=force)
    plan = Plan(
        source, target, target_snapshot, _version_of(info) or target_snapshot.get("directus"), diff, forced=force
    )
    if diff is not None:
        plan.changes = changes.from_server(diff.diff)
    return plan


def title(plan: Plan) -> str:
    where = f"'{plan.target.name}' ({plan.target.url}, Directus {plan.target_version}, {plan.target_vendor})"
    return f"Plan for {where} from {plan.source.label}:"


def show(plan: Plan, console: Console, fmt: render.Format) -> None:
    if fmt == "text" and not plan.changes:
        console.result(f"'{plan.target.name}' already matches {plan.source.label}. No changes.")
        return
    console.result(render.render(plan.changes, fmt, title=title(plan), context=plan.context(), color=console.color))


# --------------------------------------------------------------------------- saved plans


def save(plan: Plan, path: Path) -> None:
    assert plan.diff is not None
    document = {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **plan.context(),
        "force": plan.forced,
        "diff": plan.diff.diff,
        # The desired snapshot travels with the plan, so push can verify after applying
        # without needing the same checkout.
        "snapshot": plan.source.snapshot,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_saved(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such plan file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise ConfigError(f"{path}: not a directus-gitops plan file")
    if document.get("format_version") != PLAN_FORMAT_VERSION:
        raise ConfigError(f"{path}: plan format_version {document.get('format_version')} is not supported")
    if not isinstance(document.get("hash"), str) or not isinstance(document.get("diff"), dict):
        raise ConfigError(f"{path}: the plan has no hash and diff")
    snap.validate(document.get("snapshot"), f"{path}: snapshot")
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
) -> int:
    source = read_source(config, console, ref=ref, path=path)
    with DirectusClient(target) as client:
        plan = make_plan(client, source, console, force=force)
    show(plan, console, fmt)
    if out is not None:
        if plan.diff is None:
            console.info(f"Nothing to save: '{target.name}' already matches.")
        else:
            save(plan, out)
            console.info(f"Saved the plan to {out}; apply it with: directus-gitops push --plan {out}")
    if exit_code and plan.changes:
        return ExitCode.CHANGES
    return ExitCode.OK
