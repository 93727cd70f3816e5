#!/usr/bin/env python3
"""Benchmark: how ``pull`` and ``plan`` grow with the model on a real Directus (issue 30).

For each size (300, 1,000 and 3,000 collections × 20 fields by default) the model is
``tests/synthetic.py``'s, the one ``bench_scale.py`` measures offline, with its collections
marked inactive on 12.x (which allows only 25 active collections without a licence). A template
database is built once per size with one ``POST /schema/diff`` and one ``POST /schema/apply``
per 1,000 collections on a freshly bootstrapped server (timed: the build time is a figure of its
own; Directus's apply slows with the collections already there, so 3,000 takes a long time).
Two servers then run at once: ``base`` started from that template and ``empty`` (bootstrapped
only).

Interleaved over ``--rounds`` rounds, the order of the three clients rotating each round, as
``bench_compare.py`` does (and with its pieces: the projects of both tools, the request count
from Directus's log, the bare requests):

* pull, already up to date: ``pull --env base`` / ``d6s sync pull --from base`` (schema only) /
  ``GET /schema/snapshot``;
* pull into an empty folder: the same, the folder's schema removed first;
* plan against a live target with one changed note per collection: the committed folder holds
  ``base``'s model with a new note on the first field of every collection (written into both
  tools' pulled files, and into the bare client's snapshot, as ``bench_diff.one_change_per_file``
  words it); ``plan --env base`` / ``sync diff --to base`` / ``GET /server/info`` +
  ``POST /schema/diff``;
* plan against the empty server: the same three, ``--env empty``;
* the JSON-load floor as ``bench_scale.py`` defines it (a Python process loading whole
  snapshots as JSON and keeping them): of the one snapshot a pull receives, and of the two a
  plan compares (the committed model and the live target's).

Each command a new process (wall time and peak RSS by GNU time); the bare requests run in this
process. Nothing is asserted: these are figures to read, and on a shared machine they are noisy
(the load average is printed with them). With ``--markdown`` the tables go to this benchmark's
section of bench/results.md, rewritten after every size so an interrupted run keeps what it
measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tool"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_compare import (
    COLUMNS,
    SERVER_ENV,
    Operation,
    Projects,
    RequestCounter,
    Sample,
    bare_get,
    bare_plan,
    d6s_pull,
    measure_cli,
    post_document,
    report,
)
from bench_diff import git, one_change_per_file
from bench_scale import JSON_FLOOR
from common import GNU_TIME, run_process, write_section
from directus_server import DirectusCli, DirectusServer, Template, build_template, install_cli

from tests import synthetic

# How synthetic.field words a field's note (its first fields' notes are the ones changed).
APPLY_STEP = 1000  # collections per diff and apply when the model is built
SYNTHETIC_NOTE = re.compile(r"The \w+ of a \w+ item\.")
OPERATIONS = (
    ("pull", "pull, already up to date"),
    ("pull-new", "pull into an empty folder"),
    ("plan", "plan vs a live target, one changed note per collection"),
    ("plan-empty", "plan vs an empty target"),
)


def model(collections: int, fields: int, version: str) -> dict[str, Any]:
    """bench_scale's model, as this server would send it, inactive where a licence would count it."""
    snapshot = synthetic.model(collections, fields)
    snapshot["directus"] = version
    for entry in snapshot["collections"]:
        if entry["schema"] is None:
            del entry["schema"]  # a folder: Directus's snapshot has no schema key for it
        elif int(version.split(".")[0]) >= 12:  # folders are no tables and never count
            entry["meta"]["status"] = "inactive"
    return snapshot


def apply_model(url: str, token: str, snapshot: dict[str, Any], step: int = APPLY_STEP) -> None:
    """The model in one diff and one apply per ``step`` collections (creating collection by
    collection through /collections makes Directus rebuild its schema after each one). A diff
    of 3,000 new collections is larger than what Directus accepts as a file by default
    (``IMPORT_MAX_FILE_SIZE``, 50 MB), so a larger model goes in steps: the first ``step``
    collections, then the first 2 × ``step``, and so on (a relation of the generated model
    points to an earlier collection, so each step's model is whole)."""
    tables = [entry["collection"] for entry in snapshot["collections"] if "schema" in entry]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=3600) as client:
        for end in range(step, len(tables) + step, step):
            left_out = set(tables[end:])
            part = {
                **snapshot,
                **{key: [entry for entry in snapshot[key] if entry["collection"] not in left_out]
                   for key in ("collections", "fields", "relations")},
            }  # fmt: skip
            diff = post_document(client, "/schema/diff", part)
            post_document(client, "/schema/apply", diff.json()["data"])


def edit_notes(folder: Path, snapshot: dict[str, Any]) -> None:
    """Give a pulled folder (either tool's) the notes ``one_change_per_file`` gives ``snapshot``,
    as text, so each tool reads its own format as its own writer left it."""
    edited = one_change_per_file(snapshot)
    changes = {
        old["meta"]["note"]: new["meta"]["note"]
        for old, new in zip(snapshot["fields"], edited["fields"], strict=True)
        if old["meta"]["note"] != new["meta"]["note"]
    }
    done = 0

    def replace(found: re.Match[str]) -> str:
        nonlocal done
        if found[0] not in changes:
            return found[0]
        done += 1
        return changes[found[0]]

    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text()
            changed = SYNTHETIC_NOTE.sub(replace, text)
            if changed != text:
                path.write_text(changed)
    if done != len(changes):
        raise SystemExit(f"{folder}: {done} of {len(changes)} notes found to change")


def cell(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


class Size:
    """One size's operations (bench_compare's, so its report reads them) and its JSON floors."""

    def __init__(self, collections: int, fields: int) -> None:
        self.collections, self.fields = collections, fields
        self.operations = {key: Operation(key, f"{title} ({collections}×{fields})") for key, title in OPERATIONS}
        self.floors: dict[str, list[tuple[float, float]]] = {"pull": [], "plan": []}
        self.build_seconds = 0.0  # the template: bootstrap, diff and apply, copy
        self.apply_seconds = 0.0  # of which the diff and the apply
        self.snapshot_mb = 0.0
        self.rounds = 0


def measure(size: Size, version: str, cli: DirectusCli, work: Path, rounds: int, done: Callable[[], None]) -> None:
    started = time.perf_counter()
    snapshot = model(size.collections, size.fields, version)

    def seed(url: str, token: str, _version: str) -> None:
        began = time.perf_counter()
        apply_model(url, token, snapshot)
        size.apply_seconds = time.perf_counter() - began

    large = build_template(version, work / "template-large", seed=seed)
    size.build_seconds = time.perf_counter() - started
    print(f"{size.collections} × {size.fields}: model built in {size.build_seconds:.0f} s "
          f"(diff and apply {size.apply_seconds:.0f} s)", flush=True)  # fmt: skip
    empty = build_template(version, work / "template-empty")

    def server(name: str, template: Template) -> DirectusServer:
        return DirectusServer(version, work / "servers" / name, template=template, env=SERVER_ENV)

    with server("base", large) as base, server("empty", empty) as blank:
        live = {"base": base, "empty": blank}
        projects = Projects(work, cli)
        projects.env["PYTHONPATH"] = str(ROOT / "tool")  # this checkout's code
        projects.set_servers(live)
        counter = RequestCounter([base, blank])

        served = bare_get(base, "/schema/snapshot")
        edited = one_change_per_file(served["data"])
        jsons = {"base": work / "base.json", "edited": work / "edited.json"}
        jsons["base"].write_text(json.dumps(served, separators=(",", ":")))
        jsons["edited"].write_text(json.dumps({"data": edited}, separators=(",", ":")))
        size.snapshot_mb = jsons["base"].stat().st_size / 1e6

        # Each tool: a folder at base's model (for the pulls), and a committed one with the new
        # notes (for the plans, read once before the rounds: a plan after the first on a clone).
        folders = {}
        for tool in ("gitops", "d6s"):
            for purpose in ("pull", "new", "plan"):
                folders[tool, purpose] = projects.folder(f"{tool}-{purpose}")
                projects.configure(folders[tool, purpose], ["base", "empty"])
        unpulled = ""  # why d6s has no folder to plan from (it gives up on a request after 30 s)
        for purpose in ("pull", "plan"):
            projects.gitops(folders["gitops", purpose], "pull", "--env", "base")
            try:
                projects.d6s(folders["d6s", purpose], *d6s_pull("base"))
            except SystemExit as failed:
                unpulled = " ".join(line.strip() for line in str(failed.code).splitlines()[-3:] if line.strip())
                print(f"  d6s could not pull its {purpose} folder: {unpulled}", flush=True)
        edit_notes(folders["gitops", "plan"] / "schema", served["data"])
        if not unpulled:
            edit_notes(folders["d6s", "plan"] / "directus", served["data"])
        plan_folder = folders["gitops", "plan"]
        git(plan_folder, "init", "--quiet", "--initial-branch=main")
        git(plan_folder, "add", "--all")
        git(plan_folder, "commit", "--quiet", "-m", "one changed note per collection")
        projects.gitops(plan_folder, "plan", "--env", "base")
        print(f"  folders ready at {time.perf_counter() - started:.0f} s", flush=True)

        def process(key: str, column: str, runner: Callable[[], tuple[float, float, str]], number: int) -> None:
            measure_cli(counter, size.operations[key], column, runner, number)

        def bare(key: str, action: Callable[[], object], number: int) -> None:
            with counter.counting() as requests:
                began = time.perf_counter()
                action()
                seconds = time.perf_counter() - began
            size.operations[key].add("bare HTTP", Sample(seconds, requests(), round_number=number))

        def fresh(tool: str, subfolder: str, *arguments: str) -> Callable[[], tuple[float, float, str]]:
            def run() -> tuple[float, float, str]:
                shutil.rmtree(folders[tool, "new"] / subfolder, ignore_errors=True)
                runner = projects.gitops if tool == "gitops" else projects.d6s
                return runner(folders[tool, "new"], *arguments)

            return run

        g, d = projects.gitops, projects.d6s

        def d6s_plan(target: str) -> tuple[float, float, str]:
            if unpulled:
                raise SystemExit(f"not run: no folder to diff, its sync pull gave up:\n{unpulled}")
            return d(folders["d6s", "plan"], "sync", "diff", "--to", target)

        runners: dict[str, dict[str, Callable[[], tuple[float, float, str]]]] = {
            "pull": {
                "directus-gitops": lambda: g(folders["gitops", "pull"], "pull", "--env", "base"),
                "d6s": lambda: d(folders["d6s", "pull"], *d6s_pull("base")),
            },
            "pull-new": {
                "directus-gitops": fresh("gitops", "schema", "pull", "--env", "base"),
                "d6s": fresh("d6s", "directus", *d6s_pull("base")),
            },
            "plan": {
                "directus-gitops": lambda: g(plan_folder, "plan", "--env", "base"),
                "d6s": lambda: d6s_plan("base"),
            },
            "plan-empty": {
                "directus-gitops": lambda: g(plan_folder, "plan", "--env", "empty"),
                "d6s": lambda: d6s_plan("empty"),
            },
        }
        bares: dict[str, Callable[[], object]] = {
            "pull": lambda: bare_get(base, "/schema/snapshot"),
            "pull-new": lambda: bare_get(base, "/schema/snapshot"),
            "plan": lambda: bare_plan(base, edited),
            "plan-empty": lambda: bare_plan(blank, edited),
        }
        commands = {
            "pull": ("pull --env base", " ".join(d6s_pull("base")), "GET /schema/snapshot"),
            "pull-new": ("pull --env base (no schema/ yet)", " ".join(d6s_pull("base")) + " (no directus/ yet)",
                         "GET /schema/snapshot"),
            "plan": ("plan --env base", "sync diff --to base", "GET /server/info + POST /schema/diff"),
            "plan-empty": ("plan --env empty", "sync diff --to empty", "GET /server/info + POST /schema/diff"),
        }  # fmt: skip
        for key, texts in commands.items():
            size.operations[key].commands = dict(zip(COLUMNS, texts, strict=True))
        floors = {"pull": [jsons["base"]], "plan": [jsons["edited"], jsons["base"]]}

        env = {**os.environ}
        for number in range(rounds):
            began = time.perf_counter()
            order = COLUMNS[number % 3 :] + COLUMNS[: number % 3]
            for key in runners:
                for column in order:
                    if column == "bare HTTP":
                        bare(key, bares[key], number)
                    else:
                        process(key, column, runners[key][column], number)
            for key, paths in floors.items():
                seconds, peak, _ = run_process([sys.executable, "-c", JSON_FLOOR, *map(str, paths)], work, env)
                size.floors[key].append((seconds, peak))
            size.rounds = number + 1
            print(f"  round {number + 1}/{rounds} done in {time.perf_counter() - began:.0f} s", flush=True)
            done()


def growth_tables(sizes: list[Size]) -> list[str]:
    lines = []
    for key, title in OPERATIONS:
        floor = "pull" if key.startswith("pull") else "plan"
        what = "the one snapshot pulled" if floor == "pull" else "both snapshots compared"
        lines += [
            f"### {title}",
            "",
            f"Wall seconds and peak RSS MB, median (min–max); the JSON floor loads {what}.",
            "",
            "| collections | snapshot MB | directus-gitops s | d6s s | bare HTTP s | JSON floor s "
            "| directus-gitops ÷ bare | directus-gitops MB | d6s MB | JSON floor MB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for size in sizes:
            operation = size.operations[key]
            seconds = {c: [s.seconds for s in operation.samples.get(c, [])] for c in COLUMNS}
            peaks = {c: [s.rss_mb for s in operation.samples.get(c, []) if s.rss_mb is not None] for c in COLUMNS}
            floor_seconds = [s for s, _ in size.floors[floor]]
            floor_peaks = [p for _, p in size.floors[floor]]
            ratio = (
                f"{statistics.median(seconds['directus-gitops']) / statistics.median(seconds['bare HTTP']):.2f}"
                if seconds["directus-gitops"] and seconds["bare HTTP"]
                else "–"
            )
            d6s = cell(seconds["d6s"])
            if failures := operation.failures.get("d6s"):
                d6s = f"{d6s}, failed {len(failures)}×"
            lines.append(
                f"| {size.collections:,} | {size.snapshot_mb:.1f} | {cell(seconds['directus-gitops'])} | {d6s} "
                f"| {cell(seconds['bare HTTP'])} | {cell(floor_seconds)} | {ratio} "
                f"| {cell(peaks['directus-gitops'], 0)} | {cell(peaks['d6s'], 0)} | {cell(floor_peaks, 0)} |"
            )
        lines.append("")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 3000], metavar="COLLECTIONS")
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--rounds", type=int, nargs="+", default=[3], metavar="N",
                        help="rounds per size, in the order of --sizes (the last repeats)")  # fmt: skip
    parser.add_argument("--markdown", nargs="?", const=str(ROOT / "bench" / "results.md"), metavar="PATH",
                        help="also write the tables as Markdown (default path: bench/results.md)")  # fmt: skip
    args = parser.parse_args()
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tool" / "directus_gitops")], check=True)
    cli = install_cli()
    d6s_version = run_process(cli.command("--version"), ROOT, dict(os.environ))[2].strip()
    sizes: list[Size] = []

    def write() -> str:
        load = os.getloadavg()
        measured = sorted((size for size in sizes if size.rounds), key=lambda size: size.collections)
        builds = ", ".join(f"{s.collections:,}: {s.build_seconds:.0f} s ({s.apply_seconds:.0f} s the diff and apply)"
                           for s in sorted(sizes, key=lambda size: size.collections))  # fmt: skip
        rounds = ", ".join(f"{s.collections:,}: {s.rounds}" for s in measured)
        lines = [
            "## Growth with the model on a real server: pull and plan",
            "",
            f"`bench/bench_growth.py`: Directus {version} on SQLite, bench_scale's generated model of N collections "
            f"× {args.fields} fields (collections inactive on 12.x), built once per size by one `POST /schema/diff` "
            f"and one `POST /schema/apply` per {APPLY_STEP:,} collections on a fresh server (build time of the "
            f"template: {builds}). "
            f"Rounds ({rounds}), interleaved, the clients' order rotating; each command a new process; peak RSS of the "
            "client process "
            f"({'GNU time' if GNU_TIME else 'wait4, upper bounds'}; the bare requests run inside the benchmark). "
            f"d6s (@directus/cli) {d6s_version}, schema only. {os.cpu_count()} CPUs shared with other work and "
            f"with the servers, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end.",
            "",
            *growth_tables(measured),
        ]
        for size in measured:
            details = report(list(size.operations.values()), f"{size.rounds} rounds.")
            lines += [f"<details><summary>{size.collections:,} × {size.fields}: each column's requests and "
                      "last line of output</summary>", "", details, "</details>", ""]  # fmt: skip
        text = "\n".join(lines)
        if args.markdown:
            write_section(Path(args.markdown), "growth", text)
        return text

    for index, collections in enumerate(args.sizes):
        size = Size(collections, args.fields)
        rounds = args.rounds[min(index, len(args.rounds) - 1)]
        sizes.append(size)
        scratch = Path(tempfile.mkdtemp(prefix=f"bench-growth-{collections}-"))
        try:
            measure(size, version, cli, scratch, rounds, write)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        write()
    print(write())
    if args.markdown:
        print(f"written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
