"""``status`` shown: a table of environments, as text, Markdown or versioned JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from directus_gitops.engine.status import EnvironmentStatus
from directus_gitops.model.kinds import compare as kinds_compare
from directus_gitops.reports import render

FORMAT_VERSION = "1"


def drift_lines(status: EnvironmentStatus) -> list[str]:
    """One line per change made on the target, the schema's then the configuration's; a
    rename the commit records is said the way round it records it."""
    lines = [
        render.short_line(change) + (" (not done on the target)" if change.action == "rename" else "")
        for change in render.ordered(status.drift)
    ]
    if status.config_drift:
        lines.extend(kinds_compare.short_lines(status.config_drift))
    return lines


def as_dict(status: EnvironmentStatus) -> dict[str, Any]:
    commit = status.commit
    drifted = status.state == "drifted"
    configured = status.config_drift if drifted and status.config_drift else None
    return {
        "env": status.env,
        "url": status.url,
        "state": status.state,
        "commit": commit.sha if commit else None,
        "short": commit.short if commit else None,
        "subject": commit.subject if commit else None,
        "behind": status.behind,
        "branch": status.branch,
        "searched": status.searched,
        "drift": render.as_dict(status.drift)["changes"] if drifted else [],
        "drift_summary": status.drift_summary if drifted else None,
        "config_drift": kinds_compare.as_dict(configured)["changes"] if configured else [],
        "error": status.error,
    }


def _where(status: EnvironmentStatus) -> str:
    commit = status.commit
    if status.state == "error":
        return f"error: {status.error}"
    assert commit is not None
    if status.state == "current":
        return f"matches {commit.short} (the newest schema commit): {commit.subject}"
    if status.state == "behind":
        return f"matches {commit.short}, {status.behind} schema commit(s) behind: {commit.subject}"
    if status.state == "branch":
        return f"runs {status.branch} ({commit.short}), not a commit of this history: {commit.subject}"
    return f"drifted: matches no commit; closest {commit.short} ({status.drift_summary})"


def text(statuses: Sequence[EnvironmentStatus], ref: str) -> str:
    width = max((len(s.env) for s in statuses), default=0)
    out = [f"Environments against {ref}:", ""]
    for status in statuses:
        out.append(f"  {status.env.ljust(width)}  {_where(status)}")
        if status.state == "drifted":
            out.extend(f"  {' ' * width}      {line}" for line in drift_lines(status))
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
            out.extend(["", f"#### {status.env}: changed on the server", "", "```diff", *drift_lines(status), "```"])
    return "\n".join(out) + "\n"


def as_json(statuses: Sequence[EnvironmentStatus], ref: str, head: str | None) -> str:
    document: Mapping[str, Any] = {
        "format_version": FORMAT_VERSION,
        "ref": ref,
        "commit": head,
        "environments": [as_dict(status) for status in statuses],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
