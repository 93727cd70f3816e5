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

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from directus_gitops.engine import translate
from directus_gitops.files import snapshot as snap
from directus_gitops.files.gitrepo import CommitInfo
from directus_gitops.model import changes, project, selection

if TYPE_CHECKING:
    from directus_gitops.model.kinds.change import ConfigChangeSet
    from directus_gitops.model.kinds.model import State as ConfigState

State = Literal["current", "behind", "drifted", "error"]


@dataclass(frozen=True)
class Commit:
    """One commit of the schema's history and the snapshot committed there (None: no schema),
    with the configuration committed beside it (None: none)."""

    info: CommitInfo
    snapshot: snap.Snapshot | None
    config: ConfigState | None = None


@dataclass(frozen=True)
class Live:
    """What an environment holds: its schema, and its configuration of the synced kinds (None
    when the folder holds no configuration)."""

    snapshot: snap.Snapshot
    config: ConfigState | None = None


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

    @property
    def drift_summary(self) -> str:
        return project.summary(self.drift, self.config_drift)


def drift_against(
    committed: snap.Snapshot, live: snap.Snapshot, rules: selection.Rules, mode: selection.Mode
) -> changes.ChangeSet:
    """What was changed on the target relative to ``committed`` (empty: it matches exactly)."""
    filtered, left_out = selection.apply(committed, rules)
    translated = translate.translate(filtered, live).snapshot
    wanted, _ = selection.keep_on_target(translated, live, rules, mode, left_out)
    return changes.compare(wanted, live)


def config_drift(
    committed: ConfigState | None, live: ConfigState | None, rules: selection.Rules
) -> ConfigChangeSet | None:
    """What was changed in the target's configuration relative to ``committed`` (None: the
    commit holds no configuration, or the environment's was not read)."""
    if committed is None or live is None:
        return None
    from directus_gitops.engine import configuration as sync

    return sync.drift(committed, live, rules)


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
        drift = drift_against(commit.snapshot, live.snapshot, rules, mode)
        configured = config_drift(commit.config, live.config, rules)
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


class History:
    """Each commit with its snapshot, newest first, read only when a search first reaches it
    (an environment that matches a recent commit needs no older one) and then kept for every
    environment compared with it."""

    def __init__(self, infos: Sequence[CommitInfo], load: Callable[[str], Commit]) -> None:
        self._infos = list(infos)
        self._load = load
        self._read: list[Commit] = []

    def __iter__(self) -> Iterator[Commit]:
        for position, info in enumerate(self._infos):
            if position == len(self._read):
                self._read.append(self._load(info.sha))
            yield self._read[position]

    @property
    def read(self) -> int:
        """How many commits were read so far."""
        return len(self._read)
