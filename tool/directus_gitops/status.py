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

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from directus_gitops import changes, render, selection, translate
from directus_gitops import snapshot as snap
from directus_gitops.gitrepo import CommitInfo

if TYPE_CHECKING:
    from directus_gitops.kinds.compare import ConfigChangeSet
    from directus_gitops.kinds.model import State as ConfigState

State = Literal["current", "behind", "drifted", "error"]
FORMAT_VERSION = "1"


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
        parts = [self.drift.summary()] if self.drift else []
        if self.config_drift:
            parts.append(f"configuration: {self.config_drift.summary()}")
        return "; ".join(parts) or "no changes"

    def drift_lines(self) -> list[str]:
        """One line per change made on the target, the schema's then the configuration's."""
        lines = [render.short_line(change) for change in render.ordered(self.drift)]
        if self.config_drift:
            from directus_gitops.kinds import compare as kinds_compare

            lines.extend(kinds_compare.short_lines(self.config_drift))
        return lines

    def as_dict(self) -> dict[str, Any]:
        commit = self.commit
        return {
            "env": self.env,
            "url": self.url,
            "state": self.state,
            "commit": commit.sha if commit else None,
            "short": commit.short if commit else None,
            "subject": commit.subject if commit else None,
            "behind": self.behind,
            "searched": self.searched,
            "drift": render.as_dict(self.drift)["changes"] if self.state == "drifted" else [],
            "drift_summary": self.drift_summary if self.state == "drifted" else None,
            "config_drift": self._config_drift(),
            "error": self.error,
        }

    def _config_drift(self) -> list[dict[str, Any]]:
        if self.state != "drifted" or not self.config_drift:
            return []
        from directus_gitops.kinds import compare as kinds_compare

        items: list[dict[str, Any]] = kinds_compare.as_dict(self.config_drift)["changes"]
        return items


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
    from directus_gitops.kinds import sync

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


# --------------------------------------------------------------------------- output


def _where(status: EnvironmentStatus) -> str:
    commit = status.commit
    if status.state == "error":
        return f"error: {status.error}"
    assert commit is not None
    if status.state == "current":
        return f"matches {commit.short} (the newest schema commit): {commit.subject}"
    if status.state == "behind":
        return f"matches {commit.short}, {status.behind} schema commit(s) behind: {commit.subject}"
    return f"drifted: matches no commit; closest {commit.short} ({status.drift_summary})"


def text(statuses: Sequence[EnvironmentStatus], ref: str) -> str:
    width = max((len(s.env) for s in statuses), default=0)
    out = [f"Environments against {ref}:", ""]
    for status in statuses:
        out.append(f"  {status.env.ljust(width)}  {_where(status)}")
        if status.state == "drifted":
            out.extend(f"  {' ' * width}      {line}" for line in status.drift_lines())
    return "\n".join(out) + "\n"


def markdown(statuses: Sequence[EnvironmentStatus], ref: str) -> str:
    out = [
        f"### Directus environments against `{ref}`",
        "",
        "| Environment | State | Commit | Behind | Drift |",
        "|---|---|---|---|---|",
    ]
    for status in statuses:
        commit = f"`{status.commit.short}`" if status.commit else ""
        drift = status.drift_summary if status.state == "drifted" else (status.error or "")
        out.append(f"| {status.env} | {status.state} | {commit} | {status.behind} | {drift} |")
    for status in statuses:
        if status.state == "drifted":
            out.extend(["", f"#### {status.env}: changed on the server", "", "```diff", *status.drift_lines(), "```"])
    return "\n".join(out) + "\n"


def as_json(statuses: Sequence[EnvironmentStatus], ref: str, head: str | None) -> str:
    document: Mapping[str, Any] = {
        "format_version": FORMAT_VERSION,
        "ref": ref,
        "commit": head,
        "environments": [status.as_dict() for status in statuses],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
