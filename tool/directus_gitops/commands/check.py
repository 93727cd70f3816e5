"""``check``: validate schema folders without a server, and restore canonical form (``--fix``).

The rules are :mod:`directus_gitops.validate`'s, the same every reader applies. Human
findings are problems, so they go to stderr like every other command's; ``--format json``
is the machine output, on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from directus_gitops.base.console import Console, display
from directus_gitops.base.errors import ConfigError, ExitCode
from directus_gitops.base.formats import JSON_FORMAT_VERSION
from directus_gitops.commands.merge import warn_unregistered
from directus_gitops.files import store
from directus_gitops.model import validate
from directus_gitops.model.config import Config

CheckFormat = Literal["text", "json"]
CHECK_FORMATS: tuple[CheckFormat, ...] = ("text", "json")


def _failing(report: validate.Report, strict: bool) -> list[validate.Problem]:
    """The problems that fail ``check``: all but warnings, and warnings too when ``strict``."""
    return report.problems if strict else [problem for problem in report.problems if not problem.warning]


def as_json(reports: list[validate.Report], strict: bool = False) -> str:
    """The versioned machine form of what ``check`` found."""
    document: dict[str, Any] = {
        "format_version": JSON_FORMAT_VERSION,
        "ok": not any(_failing(report, strict) for report in reports),
        "checked": [
            {
                "path": display(report.root),
                "problems": [
                    {
                        "path": problem.path,
                        "line": problem.line,
                        "message": problem.message,
                        # Only about how the files are written; diff, plan and push accept it.
                        "cosmetic": problem.cosmetic,
                        # A warning: Directus accepts it, but it looks broken (--strict fails on it).
                        "severity": problem.severity,
                    }
                    for problem in report.problems
                ],
            }
            for report in reports
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _variables(folder: Path, console: Console) -> None:
    """Say which environment variables the configuration's placeholders need, and warn for
    each one unset here (the job that pushes must set them)."""
    from directus_gitops.engine import configuration as sync
    from directus_gitops.model.kinds import secrets

    state = sync.load(store.dir_reader(folder), str(folder))
    needed = sorted(secrets.names(state)) if state is not None else []
    if not needed:
        return
    console.info(f"{display(folder)}: the configuration needs environment variable(s) {', '.join(needed)} on push.")
    unset = secrets.missing(state)
    if unset:
        console.warn(
            f"not set here: {', '.join(unset)} (a push from this environment would stop before its first write)"
        )


def _since(config: Config, rev: str, console: Console) -> validate.Report | None:
    """The configured schema folder checked as far as it differs from ``rev`` (None: whole)."""
    from directus_gitops.engine import diff as comparing

    git = comparing.Checkout(config)
    if not git.repo().has_commits():  # the first commit (a pre-commit hook's): all of it is new
        return None
    old = comparing.revision_side(git.repo(), rev, git.folder())
    report = validate.check_since(old.tree, config.schema_dir) if old.tree is not None else None
    if report is not None:
        console.info(f"{display(config.schema_dir)}: checked as far as it differs from {rev}.")
    return report


def run(
    config: Config,
    console: Console,
    *,
    paths: list[Path],
    fix: bool,
    fmt: CheckFormat = "text",
    strict: bool = False,
    since: str | None = None,
) -> int:
    if since is not None and (paths or fix):
        raise ConfigError(
            "--since checks the configured schema folder as far as it changed: give it no PATH and no --fix",
            hint="directus-gitops check --since HEAD",
        )
    reports = []
    for path in paths or [config.schema_dir]:
        if fix and path.is_dir():
            store.recover(path)  # finish a write an interruption left half-done
        report = (_since(config, since, console) if since is not None else None) or validate.check_path(
            path, config.layout
        )
        if fix and report.problems and report.root.is_dir():  # read whole: the canonical files to write
            report = validate.check_path(report.root, config.layout, whole=True)
        if fix and report.problems and report.canonical is not None:
            if store.write_tree(report.root, report.canonical):
                console.info(f"{display(report.root)}: rewritten in canonical form.")
                if report.layout == "directus":  # its own file stays: the tool never removes what it did not write
                    kept = [name for name in store.DIRECTUS_FILES if (report.root / name).is_file()]
                    console.info(f"  Directus's own {', '.join(kept)} is no longer read: remove it.")
            report = validate.check_path(report.root, config.layout)
        elif fix and report.problems and report.root.is_dir():
            console.info(f"{display(report.root)}: not rewritten; fix the problems listed first.")
        reports.append(report)

    if fmt == "json":
        console.result(as_json(reports, strict))
    else:
        for report in reports:
            for problem in report.problems:
                console.problem(str(problem))
    for report in reports:
        warned = len(report.warnings)
        counted = len(report.problems) - warned
        state = f"{counted} problem(s)" if counted else "no problems"
        state += f", {warned} warning(s)" if warned else ""
        console.info(f"{display(report.root)}: {state}.")
        if not report.errors and report.root.is_dir():
            _variables(report.root, console)
    warn_unregistered(config, console)
    return ExitCode.ERROR if any(_failing(report, strict) for report in reports) else ExitCode.OK
