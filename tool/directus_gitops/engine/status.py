"""Where each environment stands: which commit of the schema folder it matches, or how far it
has drifted.

A live snapshot is compared offline with the schema folder as committed at each commit that
touched it, newest first, as ``push`` would send it there (ignore rules applied, translated
for the target's release and database, merge mode keeping what only the target has). The
first commit that leaves nothing to change is the one the environment runs. When none does,
the environment has drifted; the drift is shown against the closest commit (the one with the
fewest differences) as what was changed on the target.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from directus_gitops.base.errors import GitOpsError
from directus_gitops.engine import translate
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from directus_gitops.files.gitrepo import CommitInfo, Repo
from directus_gitops.model import changes, project, renames, selection

if TYPE_CHECKING:
    from directus_gitops.model.kinds.change import ConfigChangeSet
    from directus_gitops.model.kinds.model import State as ConfigState

# "branch": it runs the newest commit of another branch (named), not one of the reference's.
State = Literal["current", "behind", "branch", "drifted", "error"]


@dataclass(frozen=True)
class Commit:
    """One commit of the schema's history and the snapshot committed there (None: no schema),
    with the configuration committed beside it (None: none)."""

    info: CommitInfo
    snapshot: snap.Snapshot | None
    config: ConfigState | None = None
    renames: tuple[renames.Rename, ...] = ()  # the renames its manifest records


@dataclass(frozen=True)
class Live:
    """What an environment holds: its schema, and its configuration of the synced kinds (None
    when the folder holds no configuration)."""

    snapshot: snap.Snapshot
    config: ConfigState | None = None
    mariadb: bool | None = None  # for a "mysql" server: MariaDB or MySQL, if it said (DirectusClient.mariadb)


@dataclass(frozen=True)
class EnvironmentStatus:
    env: str
    url: str
    state: State
    commit: CommitInfo | None = None  # the commit matched exactly, or the closest one
    behind: int = 0  # schema commits between that commit and the reference
    drift: changes.ChangeSet = field(default_factory=changes.ChangeSet)
    error: str | None = None
    searched: int = 0  # how many commits were compared
    config_drift: ConfigChangeSet | None = None  # the configuration changed on the target
    branch: str | None = None  # the branch it runs ("branch")

    @property
    def drift_summary(self) -> str:
        return project.summary(self.drift, self.config_drift)


@dataclass(frozen=True)
class Origin:
    commit: CommitInfo  # the commit the target runs, or the closest one
    exact: bool  # the target runs ``commit`` as it is
    behind: int  # schema commits between it and the reference
    ref: str
    branch: str | None = None  # the branch whose newest commit it runs, when not the reference's
    drift: tuple[str, ...] = ()  # the plan's changes that were made on the target since ``commit``
    config_drift: tuple[str, ...] = ()

    def lines(self, target: str) -> list[str]:
        """Said in words: where the target stands, then the drift, one line per change."""
        short = self.commit.short
        if self.exact:
            where = f"on branch {self.branch}" if self.branch else f"{self.behind} schema commit(s) behind {self.ref}"
            return [
                f"'{target}' runs {short} ({where}: {self.commit.subject}); every change is between "
                f"{short} and {self.ref}."
            ]
        out = [f"'{target}' matches no commit exactly; the closest is {short} ({self.commit.subject})."]
        drift = [*self.drift, *self.config_drift]
        if drift:
            out.append(
                f"Changed on '{target}' since it matched {short} (drift, not part of the change; "
                f"this push puts it back): {len(drift)}"
            )
            out.extend(f"  {line}" for line in drift)
            out.append(f"Every other change is between {short} and {self.ref}.")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit.sha,
            "exact": self.exact,
            "behind": self.behind,
            "branch": self.branch,
            "drift": list(self.drift),
            "config_drift": list(self.config_drift),
        }


def drift_against(
    committed: snap.Snapshot,
    live: snap.Snapshot,
    rules: selection.Rules,
    mode: selection.Mode,
    recorded: Sequence[renames.Rename] = (),
    *,
    mariadb: bool | None = None,
) -> changes.ChangeSet:
    """What was changed on the target relative to ``committed`` (empty: it matches exactly);
    a drop and an add that a rename ``recorded`` with the commit explains are that rename, not
    done on the target (``plan`` shows it the same way)."""
    filtered, left_out = selection.apply(committed, rules)
    translated = translate.translate(filtered, live, target_mariadb=mariadb).snapshot
    wanted, _ = selection.keep_on_target(translated, live, rules, mode, left_out)
    found = changes.compare(wanted, live)
    return renames.fold_pending(found, recorded) if recorded else found


def config_drift(commit: Commit, live: Live, rules: selection.Rules) -> ConfigChangeSet | None:
    """What was changed in the target's configuration relative to the commit's (None: the
    commit holds no configuration, or the environment's was not read)."""
    if commit.config is None or live.config is None:
        return None
    from directus_gitops.engine import configuration as sync

    releases = ((commit.snapshot or {}).get("directus"), live.snapshot.get("directus"))
    return sync.drift(commit.config, live.config, rules, releases)


def locate(
    env: str,
    url: str,
    live: Live,
    history: Iterable[Commit],
    *,
    rules: selection.Rules,
    mode: selection.Mode,
) -> EnvironmentStatus:
    """The newest commit in ``history`` (newest first) that ``live`` matches, schema and
    configuration alike, else the drift against the closest commit."""
    closest: tuple[int, Commit, changes.ChangeSet, ConfigChangeSet | None] | None = None
    searched = 0
    for position, commit in enumerate(history):
        if commit.snapshot is None:
            continue
        searched += 1
        drift = drift_against(commit.snapshot, live.snapshot, rules, mode, commit.renames, mariadb=live.mariadb)
        configured = config_drift(commit, live, rules)
        if not drift and not configured:
            state: State = "current" if position == 0 else "behind"
            return EnvironmentStatus(env, url, state, commit.info, position, searched=searched)
        size = len(drift) + len(configured or ())
        if closest is None or size < len(closest[2]) + len(closest[3] or ()):
            closest = (position, commit, drift, configured)
    if closest is None:
        return EnvironmentStatus(env, url, "error", error="no commit holds the schema folder")
    position, commit, drift, configured = closest
    return EnvironmentStatus(
        env, url, "drifted", commit.info, position, drift, searched=searched, config_drift=configured
    )


def history(repo: Repo, folder: str, infos: Sequence[CommitInfo], warn: Callable[[str], None]) -> History:
    """The commits ``infos`` of ``folder`` as a :class:`History`: each read only when a search
    reaches it, checked as ``check`` does, sharing what it holds alike with the commits read
    before it (as ``log`` does); the newest is remembered, as ``plan`` would read it. A commit
    that cannot be read is skipped with a warning: it must not hide the others."""
    from directus_gitops.model import treecache, validate

    walk = validate.Walk()
    by_sha = {info.sha: info for info in infos}
    newest = infos[0].sha if infos else None

    def load(sha: str) -> Commit:
        info = by_sha.get(sha) or repo.commit_info(sha)
        try:
            _, tree = repo.schema_tree(sha, folder)
            if tree is None:
                return Commit(info, None)
            snapshot, record = treecache.read(tree, walk.shared(), remember=sha == newest)
            configured = None
            if record is None or record.config:  # the manifest lists configuration files
                from directus_gitops.engine import configuration as sync

                configured = sync.load(tree.read, tree.source)
            recorded = renames.recorded(store.read_manifest(tree.read, tree.source))
            return Commit(info, snapshot, configured, recorded)
        except GitOpsError as exc:
            warn(f"skipping {sha[:10]}: {exc.message}")
            return Commit(info, None)

    return History(infos, load)


def on_other_branch(
    repo: Repo,
    live: Live,
    seen: Collection[str],
    load: Callable[[str], Commit],
    *,
    rules: selection.Rules,
    mode: selection.Mode,
) -> tuple[str, Commit] | None:
    """The branch whose newest commit ``live`` matches exactly, among those whose tip is not in
    ``seen`` (the history already searched): an environment that runs another branch's commit
    has not drifted, it runs that branch."""
    for branch, sha in repo.branch_tips():
        if sha in seen:
            continue
        commit = load(sha)
        if commit.snapshot is None:
            continue
        drifted = drift_against(commit.snapshot, live.snapshot, rules, mode, mariadb=live.mariadb)
        if not drifted and not config_drift(commit, live, rules):
            return branch, commit
    return None


class History:
    """Each commit with its snapshot, newest first, read only when a search first reaches it
    (an environment that matches a recent commit needs no older one) and then kept for every
    environment compared with it."""

    def __init__(self, infos: Sequence[CommitInfo], load: Callable[[str], Commit]) -> None:
        self._infos = list(infos)
        self.load = load
        self._read: list[Commit] = []

    def __iter__(self) -> Iterator[Commit]:
        for position, info in enumerate(self._infos):
            if position == len(self._read):
                self._read.append(self.load(info.sha))
            yield self._read[position]

    @property
    def read(self) -> int:
        """How many commits were read so far."""
        return len(self._read)
