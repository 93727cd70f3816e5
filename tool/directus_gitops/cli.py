"""The command line: thin click commands over the ``commands`` package.

This is the one error boundary: a :class:`GitOpsError` becomes one line on stderr and its
exit code, Ctrl-C is 130, and a bug is one line plus a traceback file. Heavy modules (httpx,
GitPython) are imported inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from directus_gitops import __version__
from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode, GitOpsError, ServerError, filesystem_error
from directus_gitops.base.formats import DIAGRAM_FORMATS, FORMATS, Format

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES_HELP = (
    "Exit codes: 0 success or no changes; 1 error; 2 changes found (with --exit-code); "
    "3 refused for safety; 4 applied, but the server reads back differently; "
    "5 the apply failed part-way and changed the server; 130 interrupted."
)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Configuration file (default: directus-gitops.yaml found upwards from here).",
    )(func)


def _log_requests(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from directus_gitops.server import client

        client.log_requests(lambda line: Console().info(f"request: {line}"))


def verbose_option(func: F) -> F:
    """``-v``: every request logged on stderr (before or after the command's name)."""
    return click.option(
        "--verbose",
        "-v",
        is_flag=True,
        expose_value=False,
        callback=_log_requests,
        help="Log every request to stderr: method, path, status, time and sizes (never a header or a token).",
    )(func)


def env_option(func: F) -> F:
    return click.option(
        "--env",
        "-e",
        "env_name",
        metavar="NAME",
        help="Environment from the configuration file (its token comes from DIRECTUS_<NAME>_TOKEN; "
        "DIRECTUS_<NAME>_URL, when set, pins its URL).",
    )(func)


def parallel_option(default: int | None, help: str) -> Callable[[F], F]:
    return click.option(
        "--parallel",
        type=click.IntRange(min=1),
        default=default,
        show_default=default is not None,
        metavar="N",
        help=help,
    )


def envs_option(func: F) -> F:
    func = parallel_option(
        1,
        "With several --env: run on up to N environments at once (each one's output is still printed "
        "whole, in the order given).",
    )(func)
    func = click.option(
        "--keep-going",
        is_flag=True,
        help="With several --env: go on with the next environment after one fails (default: stop there; "
        "with --parallel, those not started yet are skipped).",
    )(func)
    return click.option(
        "--env",
        "-e",
        "env_names",
        metavar="NAME",
        multiple=True,
        help="Environment from the configuration file (its token comes from DIRECTUS_<NAME>_TOKEN); "
        "repeat it to run on several, ending with one summary table (one JSON document with --format json).",
    )(func)


def _fan_out(
    ctx: click.Context,
    config_path: Path | None,
    env_names: tuple[str, ...],
    keep_going: bool,
    parallel: int,
    fmt: Format,
    run_one: Callable[..., int],
) -> int:
    """Run a command on one environment, or on each of several with a summary table.

    ``run_one(config, target, console, record=...)`` runs the command on one environment."""
    from directus_gitops.engine import fanout
    from directus_gitops.model import config

    cfg = _load_config(ctx, config_path)
    console = Console()
    names = list(dict.fromkeys(env_names))
    if len(names) <= 1:
        return run_one(cfg, config.resolve(cfg, names[0] if names else None), console, record=fanout.Record())

    def step(name: str, record: Any, out: Console) -> int:
        return run_one(cfg, config.resolve(cfg, name), out, record=record)

    json_out = fmt == "json"
    rows = fanout.run_each(names, step, console, keep_going=keep_going, parallel=parallel, capture=json_out)
    summary = fanout.table(rows)
    if fmt == "text":
        console.result("\n" + summary)
    else:  # stdout holds the plans' documents (JSON: one document holding them all)
        if json_out:
            console.result(fanout.as_json(rows))
        console.info(summary.rstrip("\n"))
    return fanout.exit_code(rows)


def _format_choice(choices: tuple[str, ...], more_help: str = "") -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default="text",
        show_default=True,
        help="How to print results (stdout); messages go to stderr." + more_help,
    )


format_option = _format_choice(FORMATS)


def details_option(func: F) -> F:
    return click.option(
        "--details",
        "-d",
        is_flag=True,
        help="In the text plan, list the settings and fields of collections created or dropped whole "
        "(by default one line each, with the field count; Markdown folds them into its details).",
    )(func)


diagram_format_option = _format_choice(
    DIAGRAM_FORMATS,
    " markdown includes a Mermaid entity-relationship diagram of the collections that changed and their "
    "neighbours; mermaid prints that diagram alone.",
)


def _load_config(ctx: click.Context, config_path: Path | None) -> Any:
    from directus_gitops.model import config

    return config.load(config_path or ctx.find_root().params.get("config_path"))


def _server(ctx: click.Context, config_path: Path | None, env_name: str | None) -> tuple[Any, Any]:
    """The configuration, and the server (with its token) a command talks to."""
    from directus_gitops.model import config

    cfg = _load_config(ctx, config_path)
    return cfg, config.resolve(cfg, env_name)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, prog_name="directus-gitops")
@config_option
@verbose_option
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Put a Directus project's data model under Git.

    Pull a server's schema into canonical YAML, review changes offline, and push the
    committed schema to a server safely from CI.
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.option("--env", "-e", "env_name", default="dev", show_default=True, help="Name of the first environment.")
@click.option("--url", default="http://127.0.0.1:8055", show_default=True, help="That environment's Directus URL.")
@click.option("--staging-url", metavar="URL", help="Staging's URL, which the workflow pushes to (else a placeholder).")
@click.option("--production-url", metavar="URL", help="Production's URL, which the workflow pushes to last.")
@click.option(
    "--branch",
    metavar="NAME",
    help="The branch whose pushes deploy (default: the remote's default branch, else the one checked out).",
)
@click.option(
    "--layout", type=click.Choice(["split", "single"]), default="split", show_default=True, help="File layout."
)
@click.option("--no-ci", is_flag=True, help="Do not write the GitHub Actions workflow (nor staging and production).")
@click.option(
    "--fleet",
    is_flag=True,
    help="The workflow deploys to every environment in directus-gitops.yaml but the first, one job each "
    "(a GitHub Actions matrix) with one summary table, instead of staging then production.",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--merge-driver",
    is_flag=True,
    help="Only register the merge driver in this clone (once per clone: git never copies it); nothing else.",
)
@config_option
@click.pass_context
def init(
    ctx: click.Context,
    env_name: str,
    url: str,
    staging_url: str | None,
    production_url: str | None,
    branch: str | None,
    layout: str,
    no_ci: bool,
    force: bool,
    merge_driver: bool,
    config_path: Path | None,
    fleet: bool = False,
) -> int:
    """Set this repository up: configuration, schema folder, CI workflow, pre-commit hooks.

    Needs no server. Writes directus-gitops.yaml (the first environment, which is the
    default, plus staging and production for the workflow), schema/,
    .github/workflows/directus-schema.yml and .pre-commit-config.yaml (existing files are
    left alone unless --force), keeps push backups out of git, and registers the merge
    driver for the schema folder (.gitattributes and this clone's git configuration;
    docs/merging.md).
    """
    if merge_driver:
        from directus_gitops.commands import merge

        return merge.register(_load_config(ctx, config_path), Console())
    from directus_gitops.commands import init as command
    from directus_gitops.files.gitrepo import Repo

    root, detected = Path.cwd(), None
    try:
        repo = Repo(root)
    except GitOpsError:
        pass
    else:
        root, detected = repo.root, repo.default_branch()
    return command.run(
        root,
        Console(),
        env=env_name,
        url=url,
        layout=layout,  # type: ignore[arg-type]
        ci=not no_ci,
        force=force,
        branch=branch or detected or "main",
        ci_urls={"staging": staging_url, "production": production_url},
        fleet=fleet,
    )


@cli.command(epilog=EXIT_CODES_HELP)
@_format_choice(
    ("text", "json"), " json: one document (name, URL, the variables of its token and pinned URL) for CI matrices."
)
@config_option
@click.pass_context
def environments(ctx: click.Context, fmt: str, config_path: Path | None) -> int:
    """List the environments directus-gitops.yaml names: URL and where each one's token comes from.

    Needs no server and reads no token. `init --fleet` builds its CI matrix from the JSON.
    """
    from directus_gitops.commands import environments as command

    return command.run(_load_config(ctx, config_path), Console(), fmt=fmt)


@cli.command(epilog=EXIT_CODES_HELP)
@verbose_option
@env_option
@click.option(
    "--layout",
    type=click.Choice(["split", "single"]),
    help="File layout (default: from config, else split).",
)
@click.option("--commit", is_flag=True, help="Commit the schema folder afterwards.")
@click.option("-m", "--message", help="Commit message (default: a summary of what changed).")
@config_option
@click.pass_context
def pull(
    ctx: click.Context,
    env_name: str | None,
    layout: str | None,
    commit: bool,
    message: str | None,
    config_path: Path | None,
) -> int:
    """Write a server's schema snapshot into the schema folder as canonical YAML.

    Pulling an unchanged server rewrites nothing, so git shows no change. Collections
    removed on the server have their files removed. With `sync:` in directus-gitops.yaml,
    also writes the configuration kinds under config/. Refuses to write a secret, in the
    schema or the configuration, unless `secrets: allow:` names its place. A snapshot that
    `check` would refuse in the files is refused, and nothing is written.
    """
    from directus_gitops.commands import pull as command

    if message is not None and not commit:
        raise click.UsageError("-m/--message needs --commit")
    cfg, target = _server(ctx, config_path, env_name)
    return command.run(cfg, target, Console(), layout=layout, commit=commit, message=message)  # type: ignore[arg-type]


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("old", required=False, metavar="[A]")
@click.argument("new", required=False, metavar="[B]")
@diagram_format_option
@details_option
@click.option("--exit-code", is_flag=True, help="Exit 2 when there are changes.")
@click.option(
    "--env",
    "-e",
    "env_name",
    metavar="NAME",
    help="Also apply this environment's ignore rules (no server is contacted; no token needed).",
)
@config_option
@click.pass_context
def diff(
    ctx: click.Context,
    old: str | None,
    new: str | None,
    fmt: Format,
    details: bool,
    exit_code: bool,
    env_name: str | None,
    config_path: Path | None,
) -> int:
    """Show the schema changes from A to B, offline (no server, no token).

    \b
    A and B are each a git revision (the schema folder as committed there) or a path (a
    schema folder, or a snapshot file such as Directus's own snapshot.yaml/.json):
      diff                         HEAD against the working tree
      diff origin/main             origin/main against the working tree
      diff origin/main HEAD        two commits, tip against tip
      diff origin/main...HEAD      HEAD against the commit it branched from origin/main at:
                                   only the branch's own changes (what a pull request adds)
      diff old/snapshot.yaml schema

    An argument that exists as a file or folder is a path, anything else a revision; one
    that is both is refused: write ./NAME for the path or NAME^{commit} for the revision.
    A revision without the schema folder compares as an empty schema. What the ignore rules
    of directus-gitops.yaml leave out is not compared.
    """
    from directus_gitops.commands import diff as command

    cfg = _load_config(ctx, config_path)
    return command.run(cfg, Console(), old=old, new=new, fmt=fmt, exit_code=exit_code, env=env_name, details=details)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("at", required=False, metavar="[A]")
@click.option(
    "--collection",
    "-c",
    "collections",
    metavar="NAME",
    multiple=True,
    help="Draw only these collections (repeatable; default: every collection that is a table).",
)
@config_option
@click.pass_context
def diagram(ctx: click.Context, at: str | None, collections: tuple[str, ...], config_path: Path | None) -> int:
    """Print the whole data model as a Mermaid entity-relationship diagram, offline.

    A is a git revision or a path, as for diff (default: the working tree). Paste the output
    in a ```mermaid block of any Markdown page GitHub or GitLab renders. To see only what a
    change does, use diff or plan with --format mermaid (or markdown) instead.
    """
    from directus_gitops.commands import diff as command

    cfg = _load_config(ctx, config_path)
    return command.diagram(cfg, Console(), at=at, collections=list(collections))


@cli.command("merge-file")
@click.argument("base", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("ours", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("theirs", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("path")
def merge_file(base: Path, ours: Path, theirs: Path, path: str) -> int:
    """Git's merge driver for the schema folder: merge BASE, OURS and THEIRS into OURS.

    Git runs it as `directus-gitops merge-file %O %A %B %P` for the files .gitattributes
    sends to it (`init` registers it). Files are merged by identity and property: independent
    additions, removals and changes merge; the same property changed both ways, or an item
    removed on one side and changed on the other, is marked between git's conflict markers.
    The result is canonical. Other files are merged as text, like git does.

    Exit codes: 0 merged cleanly; 1 conflicts (marked in OURS) or an error.
    """
    from directus_gitops.commands import merge

    return merge.run(Console(), base=base, ours=ours, theirs=theirs, path=path)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--fix", is_flag=True, help="Rewrite the files in canonical form (when nothing would be lost).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: problems on stderr; json: a versioned report on stdout.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too (what Directus accepts but looks broken).")
@click.option(
    "--since",
    metavar="REV",
    help="Check only what differs from the schema folder committed at REV (and what it refers to), "
    "as a pre-commit hook on a large model would: --since HEAD.",
)
@config_option
@click.pass_context
def check(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fix: bool,
    fmt: str,
    strict: bool,
    since: str | None,
    config_path: Path | None,
) -> int:
    """Validate schema files offline; --fix restores canonical form.

    Checks the configured schema folder, or each PATH: YAML syntax (duplicate keys
    included), the file-format and snapshot versions, the shape of every file, the
    properties Directus accepts (known keys, property types, field types), references
    (fields, relations, junction fields and groups name collections and fields that exist),
    duplicate names, files missing from or not listed in the manifest, and canonical form.
    Prints every problem on stderr, one per line as path:line: message, and exits 1 when
    there is any. What Directus accepts but looks broken (a junction_field or one_field
    naming a missing field) is a warning, path:line: warning: message, which fails only
    with --strict. A PATH may also be a snapshot file such as Directus's own snapshot.yaml;
    a JSON one is read as Directus reads it, a key given twice taking the last value (a
    warning).
    diff, plan and push apply the same rules and refuse a snapshot with any problem other
    than canonical form or a warning. With --since REV, only the files that differ from
    REV are read and checked, with what they refer to (a change that breaks a reference
    in an unchanged file is still found); files unchanged since REV are not checked again.
    """
    from directus_gitops.commands import check as command

    cfg = _load_config(ctx, config_path)
    return command.run(
        cfg,
        Console(),
        paths=list(paths),
        fix=fix,
        fmt=fmt,  # type: ignore[arg-type]
        strict=strict,
        since=since,
    )


@cli.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--ref",
    metavar="REV",
    default="HEAD",
    show_default=True,
    help="Start the history here; A...B lists only B's commits since it branched from A.",
)
@click.option("--limit", "-n", type=click.IntRange(min=1), metavar="N", help="Show at most N commits.")
@format_option
@config_option
@click.pass_context
def log(ctx: click.Context, ref: str, limit: int | None, fmt: Format, config_path: Path | None) -> int:
    """Show the schema's history as schema changes, newest first.

    Each commit that touched the schema folder, with what it changed against its parent
    (a root commit against an empty schema). Offline, like diff.
    """
    from directus_gitops.commands import log as command

    cfg = _load_config(ctx, config_path)
    return command.run(cfg, Console(), ref=ref, limit=limit, fmt=fmt)


def source_options(func: F) -> F:
    func = click.option(
        "--from",
        "from_path",
        type=click.Path(exists=True, path_type=Path),
        help="Read the snapshot from this file or folder instead of git (e.g. Directus's own snapshot.yaml).",
    )(func)
    return click.option(
        "--ref",
        metavar="REV",
        help="Git revision whose committed schema folder is the desired state (default: HEAD).",
    )(func)


def mode_option(func: F) -> F:
    return click.option(
        "--mode",
        type=click.Choice(["mirror", "merge"]),
        help="mirror: the server ends up exactly like the snapshot (guarded drops); merge: create and "
        "change, never drop what exists only on the server. Default: the environment's mode, else mirror.",
    )(func)


def force_option(func: F) -> F:
    func = click.option(
        "--allow-missing-extensions",
        is_flag=True,
        help="Push fields, presets, panels or operations that use interfaces, displays, layouts, panels or "
        "operations the server has neither built in nor installed (its app shows them without).",
    )(func)
    func = click.option(
        "--allow-system-index-changes",
        "system_index_changes",
        is_flag=True,
        help="Let the snapshot remove indexes on Directus's own fields that it does not list (kept otherwise).",
    )(func)
    return click.option(
        "--force",
        is_flag=True,
        help="Let Directus compare a snapshot from another Directus version or database (its own check).",
    )(func)


@cli.command(epilog=EXIT_CODES_HELP)
@verbose_option
@envs_option
@source_options
@diagram_format_option
@details_option
@force_option
@mode_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (hash + diff, and the configuration kinds) for push --plan.",
)
@click.option("--exit-code", is_flag=True, help="Exit 2 when there are changes.")
@config_option
@click.pass_context
def plan(
    ctx: click.Context,
    env_names: tuple[str, ...],
    keep_going: bool,
    parallel: int,
    ref: str | None,
    from_path: Path | None,
    fmt: Format,
    details: bool,
    force: bool,
    system_index_changes: bool,
    allow_missing_extensions: bool,
    mode: str | None,
    out: Path | None,
    exit_code: bool,
    config_path: Path | None,
) -> int:
    """Show what push would change on a server, without changing anything.

    The desired state is the schema folder as committed at --ref (HEAD by default); the
    server computes the diff. Changes that can lose data are marked.
    """
    from directus_gitops.commands import plan as command

    if out is not None and len(set(env_names)) > 1:
        raise click.UsageError("--out saves one plan: give one --env")

    run_one = functools.partial(
        command.run,
        ref=ref,
        path=from_path,
        fmt=fmt,
        details=details,
        force=force,
        out=out,
        exit_code=exit_code,
        system_index_changes=system_index_changes,
        allow_missing_extensions=allow_missing_extensions,
        mode=mode,  # type: ignore[arg-type]
    )
    return _fan_out(ctx, config_path, env_names, keep_going, parallel, fmt, run_one)


@cli.command(epilog=EXIT_CODES_HELP)
@verbose_option
@envs_option
@source_options
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Apply a plan saved by plan --out, only if the server has not changed since.",
)
@format_option
@details_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for CI).")
@click.option(
    "--allow-data-loss",
    is_flag=True,
    help="Allow changes that drop tables, columns or rows, or narrow a type or length.",
)
@click.option(
    "--allow-config-removal",
    is_flag=True,
    help="Allow removing roles, policies, access links, permissions, flows, operations, dashboards, panels or "
    "presets (--allow-data-loss does not cover these, nor this data loss).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--no-backup", is_flag=True, help="Skip the backup of the server's current schema.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another push to this server to finish; then exit 3 naming it.",
)
@force_option
@mode_option
@config_option
@click.pass_context
def push(
    ctx: click.Context,
    env_names: tuple[str, ...],
    keep_going: bool,
    parallel: int,
    ref: str | None,
    from_path: Path | None,
    plan_file: Path | None,
    fmt: Format,
    details: bool,
    yes: bool,
    allow_data_loss: bool,
    allow_config_removal: bool,
    dry_run: bool,
    no_backup: bool,
    lock_timeout: float,
    force: bool,
    system_index_changes: bool,
    allow_missing_extensions: bool,
    mode: str | None,
    config_path: Path | None,
) -> int:
    """Apply the committed schema folder (or a saved plan) to a server.

    Takes the server's push lock (one push at a time per server, whatever machine runs
    it), plans, refuses data loss unless --allow-data-loss, asks for confirmation (--yes in
    CI), backs up the server's current schema, applies with Directus's hash guard, checks
    that nothing is left to apply, and releases the lock. A push that finds the lock held
    waits up to --lock-timeout, then exits 3 naming the holder and since when.

    With `sync:` in directus-gitops.yaml, also pushes roles, policies, permissions, flows,
    dashboards, presets, settings, translations and folders (docs/config-kinds.md): removals
    need --allow-config-removal; a push that would lock out its own token is always refused.
    """
    from directus_gitops.commands import push as command

    if plan_file is not None and (ref is not None or from_path is not None):
        raise click.UsageError("--plan cannot be combined with --ref or --from")
    if plan_file is not None and len(set(env_names)) > 1:
        raise click.UsageError("a saved plan belongs to one server: give one --env")
    if parallel > 1 and len(set(env_names)) > 1 and not (yes or dry_run):
        raise click.UsageError("--parallel cannot ask for confirmation on several servers at once: add --yes")
    if plan_file is not None and not env_names:  # the environment the plan was made for
        from directus_gitops.engine import plan as planning

        saved_env = (planning.load_saved(plan_file).get("target") or {}).get("env")
        env_names = (saved_env,) if isinstance(saved_env, str) and saved_env != "default" else ()

    run_one = functools.partial(
        command.run,
        ref=ref,
        path=from_path,
        plan_file=plan_file,
        fmt=fmt,
        details=details,
        force=force,
        yes=yes,
        allow_data_loss=allow_data_loss,
        allow_config_removal=allow_config_removal,
        dry_run=dry_run,
        no_backup=no_backup,
        system_index_changes=system_index_changes,
        allow_missing_extensions=allow_missing_extensions,
        mode=mode,  # type: ignore[arg-type]
        lock_timeout=lock_timeout,
    )
    return _fan_out(ctx, config_path, env_names, keep_going, parallel, fmt, run_one)


@cli.command(epilog=EXIT_CODES_HELP)
@verbose_option
@click.option(
    "--env",
    "-e",
    "env_names",
    metavar="NAME",
    multiple=True,
    help="Environment to check (repeatable; default: every configured environment).",
)
@click.option("--ref", metavar="REV", default="HEAD", show_default=True, help="Search the history from here.")
@click.option(
    "--max-commits",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="How many schema commits to search back.",
)
@format_option
@click.option("--exit-code", is_flag=True, help="Exit 2 when an environment does not match REV exactly.")
@parallel_option(None, "Ask up to N environments for their schema at once (default: 8).")
@config_option
@click.pass_context
def status(
    ctx: click.Context,
    env_names: tuple[str, ...],
    ref: str,
    max_commits: int,
    fmt: Format,
    exit_code: bool,
    parallel: int | None,
    config_path: Path | None,
) -> int:
    """Show which commit of the schema folder each environment matches, or how it drifted.

    \b
    Each environment's live schema is compared offline with the schema folder at each commit
    that touched it (newest first), as push would send it (ignore rules, translation, merge
    mode). States:
      current   matches REV exactly
      behind    matches an older commit exactly (N schema commits behind)
      drifted   matches no commit: changed on the server; the drift is listed against the
                closest commit
      error     the server could not be read (exit 1)
    """
    from directus_gitops.commands import status as command

    cfg = _load_config(ctx, config_path)
    return command.run(
        cfg,
        Console(),
        envs=list(env_names),
        ref=ref,
        limit=max_commits,
        fmt=fmt,
        exit_code=exit_code,
        parallel=parallel,
    )


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("old", metavar="COLLECTION[.FIELD]")
@click.argument("new", metavar="COLLECTION[.NEW_FIELD]")
@config_option
@click.pass_context
def rename(ctx: click.Context, old: str, new: str, config_path: Path | None) -> int:
    """Rename a field or a collection in the schema folder, keeping its values on every target.

    Directus has no rename: applied as it is, a renamed field is a drop (losing every value)
    plus an add, and a renamed collection a dropped table plus an empty one. This rewrites the
    working tree's schema folder as a pull of the renamed model would write it: the field, the
    relations that name it, display templates, sort and archive fields, conditions and
    validation, permissions (fields, rules, presets), presets and reference data; for a
    collection (`rename articles posts`), its file, the relations in both directions, groups,
    permissions, presets, flows, panels and reference data. It records the rename in the
    manifest. Once committed, diff, log and plan show `→ rename`, and push creates the new
    field, copies every value through the items API in batches, checks the row count and a
    checksum, then drops the old field; or creates the new collection, copies every row with
    its key, checks them, moves the relations pointing at it, then drops the old one (no
    --allow-data-loss needed).
    """
    from directus_gitops.commands import rename as command

    cfg = _load_config(ctx, config_path)
    return command.run(cfg, Console(), old=old, new=new)


@cli.command(epilog=EXIT_CODES_HELP)
@verbose_option
@env_option
@click.option("--yes", "-y", is_flag=True, help="Break the lock without asking.")
@config_option
@click.pass_context
def unlock(ctx: click.Context, env_name: str | None, yes: bool, config_path: Path | None) -> int:
    """Break a server's push lock left by a run that was killed.

    Shows who holds the lock and since when, then removes it (after confirmation, or with
    --yes). Only for a holder that is gone: breaking the lock of a push still running lets
    another push race it. Like Terraform's force-unlock, never done implicitly.
    """
    from directus_gitops.commands import unlock as command

    cfg, target = _server(ctx, config_path, env_name)
    return command.run(cfg, target, Console(), yes=yes)


def main(argv: list[str] | None = None) -> NoReturn:
    sys.exit(_run(argv))


def entry() -> NoReturn:
    """The ``directus-gitops`` program: :func:`main`, then out without the interpreter's
    teardown (freeing every module and object took 35–60 ms, a tenth of an offline diff).

    Nothing is left for that teardown to do: a command returns only once its files are
    replaced whole, its lock released and its connections closed, and no module here
    registers an exit handler. Standard output and error are flushed first; what is still
    running in a background thread (a progress line) ends with the process, as at a normal
    exit.
    """
    code = _run(None)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, or a closed stream
            code = code or ExitCode.ERROR
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    console = Console()
    try:
        result = cli.main(args=argv, prog_name="directus-gitops", standalone_mode=False)
        code = int(result) if isinstance(result, int) else ExitCode.OK
    except GitOpsError as exc:
        console.error(exc.message)
        if exc.hint:
            console.info(f"hint: {exc.hint}")
        if isinstance(exc, ServerError) and not _logging_requests():
            console.info("hint: re-run with -v to log every request")
        code = exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        console.error("interrupted")
        code = ExitCode.INTERRUPTED
    except click.ClickException as exc:
        # Usage errors exit 1, not click's 2: 2 means "changes found" here.
        exc.show()
        code = ExitCode.ERROR
    except OSError as exc:
        user_error = filesystem_error(exc, "a file")
        if user_error is None:
            code = _unexpected(console, exc)
        else:
            console.error(user_error.message)
            code = user_error.exit_code
    except Exception as exc:
        code = _unexpected(console, exc)
    return code


def _logging_requests() -> bool:
    from directus_gitops.server import client

    return client.logging_requests()


def _unexpected(console: Console, exc: BaseException) -> int:
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile(
        "w", prefix="directus-gitops-crash-", suffix=".log", delete=False, encoding="utf-8"
    ) as log:
        traceback.print_exception(exc, file=log)
    console.error(f"unexpected error: {type(exc).__name__}: {exc}")
    console.info(f"This is a bug in directus-gitops; the details are in {log.name}")
    return ExitCode.ERROR
