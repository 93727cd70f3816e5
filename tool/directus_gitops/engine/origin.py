"""Where a plan's changes come from: the change under review, or drift on the target.

A hot-fix made by hand on a target shows in a plan like any change of the pull request. The
target is located in the history of the reference as ``status`` locates it (engine/status.py):
the newest commit it matches exactly, else the closest one. What differs between that commit
and the reference is the change under review; what the target changed since it matched the
commit, and the change does not touch, is drift, which the push puts back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from directus_gitops.engine import status
from directus_gitops.engine.status import Origin
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import changes

if TYPE_CHECKING:
    from directus_gitops.engine.plan import Plan
    from directus_gitops.model.config import Config

SEARCHED = 10  # commits of the schema folder looked at: a target is rarely further behind


def _schema_key(change: changes.Change) -> tuple[Any, ...]:
    return (change.kind, change.collection, change.field)


def _config_key(change: Any) -> tuple[Any, ...]:
    return (change.kind, change.key)


def explain(config: Config, plan: Plan, warn: Callable[[str], None], *, limit: int = SEARCHED) -> Origin | None:
    """Where ``plan``'s changes come from (None: the plan holds none, its source is no git
    revision, or no commit of the reference can say)."""
    config_plan = plan.config
    config_changes = config_plan.changes if config_plan is not None else None
    if plan.source.ref is None or not (plan.changes or config_changes):
        return None
    repo = Repo(config.root)
    folder = repo.relpath(config.schema_dir)
    infos = list(repo.history(folder, plan.source.ref, limit))
    history = status.history(repo, folder, infos, warn)
    mariadb = plan.translation.target_mariadb if plan.translation is not None else None
    live = status.Live(plan.target_snapshot, config_plan.current if config_plan is not None else None, mariadb)
    rules, mode = plan.target.ignore, plan.mode
    found = status.locate(plan.target.name, plan.target.url, live, history, rules=rules, mode=mode)
    ref = plan.source.ref
    if found.commit is None or found.state == "error":
        return None
    if found.state in ("current", "behind"):
        return Origin(found.commit, True, found.behind, ref)
    other = status.on_other_branch(repo, live, {info.sha for info in infos}, history.load, rules=rules, mode=mode)
    if other is not None:
        return Origin(other[1].info, True, 0, ref, branch=other[0])
    if found.behind == 0 or not plan.target_snapshot.get("collections"):
        # The closest commit is the reference itself, or the target holds no model: nothing
        # tells changes made on it from a first push, so nothing is said.
        return None
    base = next(commit for commit in history if commit.info.sha == found.commit.sha)
    assert base.snapshot is not None
    # Drift: what the target changed since the closest commit, where the change under review
    # (the closest commit → the reference) does not touch it too.
    reviewed = {_schema_key(c) for c in changes.compare(base.snapshot, plan.source.snapshot)}
    drifted = {_schema_key(c) for c in found.drift} - reviewed
    drift = tuple(_line(c) for c in plan.changes if _schema_key(c) in drifted)
    config_drift: tuple[str, ...] = ()
    if config_changes and found.config_drift and base.config is not None and plan.source.config is not None:
        from directus_gitops.model.kinds import compare as kinds_compare

        under_review = {_config_key(c) for c in kinds_compare.compare(base.config, plan.source.config)}
        moved = {_config_key(c) for c in found.config_drift} - under_review
        config_drift = _config_lines(c for c in config_changes if _config_key(c) in moved)
    return Origin(found.commit, False, found.behind, ref, drift=drift, config_drift=config_drift)


def _line(change: changes.Change) -> str:
    return f"{change.sign} {change.kind} {change.name}"


def _config_lines(found: Iterable[Any]) -> tuple[str, ...]:
    return tuple(f"{change.sign} {change.label}" for change in found)
