#!/usr/bin/env python3
"""Benchmark: how the offline commands grow with the model (issue 30).

For each size (300, 1,000 and 3,000 collections × 20 fields by default, tests/synthetic.py),
a scratch git repository holds the model and, in the next commit, a pull request that changes
3 collection files (a field note in each). Every round runs, in an order that rotates from
round to round, each as a new process, wall time and peak RSS (GNU time):

* ``diff HEAD~1 HEAD``, cold: the records of remembered commits removed first (a fresh clone
  in CI), so it reads what the change touches only;
* the same, remembered: both commits read once before (``treecache``);
* the same cold diff as Markdown (the pull request's comment, with its Mermaid diagram);
* the same cold diff reading both commits whole, as before the change's reading
  (``validate.CHANGED_ONLY_FROM`` set out of reach);
* ``check`` of the whole schema folder in the working tree;
* the JSON-load floor: a Python process that loads both whole snapshots as JSON (Directus's
  own snapshot shape) and keeps them, the least any tool comparing them whole pays;
* ``--version``: the start-up floor.

``pull`` and ``plan`` need a server holding the model: creating 3,000 collections through
Directus's API takes far longer than the benchmark itself, so they are not measured here
(bench_compare.py and bench_pull.py measure them at 300 × 20).

Prints medians and min–max of ``--rounds`` rounds and, with ``--markdown``, writes its section
of bench/results.md. Nothing is asserted: these are figures to read, and on a shared machine
they are noisy (the load average is printed with them).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_diff import TOOL, git
from common import GNU_TIME, run_process, write_section

from directus_gitops.files import store
from tests import synthetic

CHANGED = 3  # collection files the pull request changes
WHOLE_READ = (
    "from directus_gitops.model import validate; validate.CHANGED_ONLY_FROM = 10**9; "
    "from directus_gitops.cli import main; main()"
)
# Ignore rules that leave the pull request's changes shown: a tenth of the collections (the
# pull request's names end in 0) and one field of every collection (it changes field_01).
IGNORING = "environments: {}\nignore:\n  collections: ['*5']\n  fields: ['*.field_03']\n"
JSON_FLOOR = "import json, sys; snapshots = [json.load(open(path)) for path in sys.argv[1:]]"


def pull_request(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A new note on one field in each of ``CHANGED`` collections spread over the model."""
    result = copy.deepcopy(snapshot)
    names = sorted({entry["collection"] for entry in result["fields"]})
    chosen = {names[index * len(names) // CHANGED] for index in range(CHANGED)}
    for entry in result["fields"]:
        if entry["collection"] in chosen and entry["field"] == "field_01":
            entry["meta"]["note"] = f"Changed in the pull request ({entry['collection']})."
    return result


class Measure:
    def __init__(self, name: str, action: Callable[[], tuple[float, float, str]]) -> None:
        self.name, self.action = name, action
        self.seconds: list[float] = []
        self.peaks: list[float] = []

    def run(self) -> None:
        seconds, peak, _ = self.action()
        self.seconds.append(seconds)
        self.peaks.append(peak)

    def median(self) -> float:
        return statistics.median(self.seconds)

    def row(self, floor: Measure) -> str:
        s, p = self.seconds, self.peaks
        ratio = self.median() / floor.median() if floor.seconds else float("nan")
        return (
            f"| {self.name} | {statistics.median(s):.3f} | {min(s):.3f}–{max(s):.3f} | {ratio:.2f} "
            f"| {statistics.median(p):.0f} | {min(p):.0f}–{max(p):.0f} |"
        )


def prepare(scratch: Path, collections: int, fields: int) -> tuple[Path, list[Path], float]:
    """The repository (model, then the pull request) and both snapshots as JSON files."""
    root = scratch / "project"
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / "directus-gitops.yaml").write_text("environments: {}\n")
    old = synthetic.model(collections, fields)
    new = pull_request(old)
    jsons = []
    for message, snapshot in (("the model", old), ("a pull request changing 3 collection files", new)):
        store.write_tree(root / "schema", store.render(snapshot))
        git(root, "add", "--all")
        git(root, "commit", "--quiet", "-m", message)
        path = scratch / f"{len(jsons)}.json"
        path.write_text(json.dumps({"data": snapshot}, separators=(",", ":")))  # as Directus sends it
        jsons.append(path)
    return root, jsons, jsons[1].stat().st_size / 1e6


def measure_size(collections: int, fields: int, rounds: int) -> tuple[str, dict[str, Measure], float]:
    # This checkout's code, whichever checkout the virtualenv's editable install points to.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tool")}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        started = time.perf_counter()
        root, jsons, size = prepare(Path(scratch), collections, fields)
        print(f"{collections} × {fields}: repository written in {time.perf_counter() - started:.0f} s", flush=True)
        records = root / ".git" / "directus-gitops" / "trees"
        diff = [str(TOOL), "diff", "HEAD~1", "HEAD"]

        def cold() -> tuple[float, float, str]:
            shutil.rmtree(records, ignore_errors=True)
            return run_process(diff, root, env)

        def remembered() -> tuple[float, float, str]:
            if not records.is_dir() or len(list(records.glob("*.record"))) < 2:  # read both whole once, untimed
                whole_read = [sys.executable, "-c", WHOLE_READ, *diff[1:]]
                subprocess.run(whole_read, cwd=root, env=env, check=True, capture_output=True)
            return run_process(diff, root, env)

        def comment() -> tuple[float, float, str]:
            shutil.rmtree(records, ignore_errors=True)
            return run_process([*diff, "--format", "markdown"], root, env)

        def whole() -> tuple[float, float, str]:
            shutil.rmtree(records, ignore_errors=True)
            return run_process([sys.executable, "-c", WHOLE_READ, "diff", "HEAD~1", "HEAD"], root, env)

        # The same pull request with ignore rules in the configuration, and as a developer sees it
        # before committing (HEAD the model, the working tree the change): each in a clone of its own.
        ignoring, working = Path(scratch) / "ignoring", Path(scratch) / "working"
        for clone in (ignoring, working):
            git(Path(scratch), "clone", "--quiet", str(root), str(clone))
        (ignoring / "directus-gitops.yaml").write_text(IGNORING)
        git(working, "reset", "--quiet", "--mixed", "HEAD~1")

        def cold_in(clone: Path, command: list[str]) -> Callable[[], tuple[float, float, str]]:
            def run() -> tuple[float, float, str]:
                shutil.rmtree(clone / ".git" / "directus-gitops" / "trees", ignore_errors=True)
                return run_process(command, clone, env)

            return run

        measures = {
            "cold": Measure("`diff HEAD~1 HEAD`, cold (no record: a fresh clone)", cold),
            "ignoring": Measure(
                "`diff HEAD~1 HEAD`, cold, with ignore rules (a tenth of the collections, a field of each)",
                cold_in(ignoring, diff),
            ),
            "working": Measure(
                "`diff` of HEAD and the working tree (the change not committed)", cold_in(working, [str(TOOL), "diff"])
            ),
            "remembered": Measure("`diff HEAD~1 HEAD`, both commits remembered", remembered),
            "markdown": Measure("`diff HEAD~1 HEAD --format markdown` (the PR comment), cold", comment),
            "whole": Measure("`diff HEAD~1 HEAD`, cold, both commits read whole (as before)", whole),
            "check": Measure("`check` (the whole folder)", lambda: run_process([str(TOOL), "check"], root, env)),
            "since": Measure(
                "`check --since HEAD~1` (what the pull request changed)",
                lambda: run_process([str(TOOL), "check", "--since", "HEAD~1"], root, env),
            ),
            "json": Measure(
                "JSON-load floor: both whole snapshots loaded as JSON",
                lambda: run_process([sys.executable, "-c", JSON_FLOOR, *map(str, jsons)], root, env),
            ),
            "start": Measure("`--version` (start-up floor)", lambda: run_process([str(TOOL), "--version"], root, env)),
        }
        for measure in (measures["cold"], measures["ignoring"], measures["working"]):
            out = measure.action()[2]
            assert f"{CHANGED} to change" in out, (measure.name, out)  # the pull request's changes, and nothing else
        names = list(measures)
        for number in range(rounds):
            for name in names[number % len(names) :] + names[: number % len(names)]:
                measures[name].run()
            print(f"  round {number + 1}/{rounds} done", flush=True)
    return f"{collections} × {fields}", measures, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 3000], metavar="COLLECTIONS")
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", nargs="?", const=str(ROOT / "bench" / "results.md"), metavar="PATH",
                        help="also write the tables as Markdown (default path: bench/results.md)")  # fmt: skip
    args = parser.parse_args()

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tool" / "directus_gitops")], check=True)
    results = [measure_size(size, args.fields, args.rounds) for size in args.sizes]
    load = os.getloadavg()
    lines = [
        "## Growth with the model: offline diff, check and the JSON-load floor",
        "",
        f"`bench/bench_scale.py`: a generated model of N collections × {args.fields} fields, then a pull request "
        f"changing {CHANGED} collection files (a field note in each), committed in a scratch repository. "
        f"{args.rounds} rounds, interleaved; each command a new process; medians and min–max over rounds; "
        f"peak RSS of the whole process ({'GNU time' if GNU_TIME else 'wait4, upper bounds'}). "
        f"{os.cpu_count()} CPUs shared with other work, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} at the end: the spread is the machine's as much as the tool's. "
        "`pull` and `plan` need a server holding the model, and creating thousands of collections through "
        "Directus's API costs far more than this benchmark: they are measured at 300 × 20 above, not here.",
        "",
    ]
    tables: list[str] = []
    summary = [
        "| model | snapshot JSON MB | cold diff s | JSON floor s | cold diff ÷ JSON floor | cold diff peak MB "
        "| whole-read diff s | whole-read peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, measures, size in results:
        cold, floor, whole = measures["cold"], measures["json"], measures["whole"]
        summary.append(
            f"| {label} | {size:.1f} | {cold.median():.3f} | {floor.median():.3f} "
            f"| {cold.median() / floor.median():.2f} | {max(cold.peaks):.0f} | {whole.median():.3f} "
            f"| {max(whole.peaks):.0f} |"
        )
        tables += [
            f"### {label} ({size:.1f} MB of snapshot JSON per commit)",
            "",
            "| | median s | min–max s | × JSON floor | peak RSS MB (median) | peak RSS MB min–max |",
            "|---|---:|---:|---:|---:|---:|",
            *(measure.row(floor) for measure in measures.values()),
            "",
        ]
    largest_label, largest, _ = results[-1]
    cold, floor = largest["cold"], largest["json"]
    verdict = (
        f"**Acceptance** (issue 30, on the largest model, {largest_label}): a {CHANGED}-file pull request's cold "
        f"diff takes at most half the JSON-load floor's time and peaks at 150 MB or less. Measured: "
        f"{cold.median():.3f} s against {floor.median():.3f} s (ratio {cold.median() / floor.median():.2f}, "
        f"{'met' if cold.median() <= floor.median() / 2 else 'NOT met'}; the slowest cold round "
        f"{max(cold.seconds):.3f} s against the fastest floor round {min(floor.seconds):.3f} s), "
        f"peak {max(cold.peaks):.0f} MB at most ({'met' if max(cold.peaks) <= 150 else 'NOT met'})."
    )
    text = "\n".join([*lines, *summary, "", verdict, "", *tables])
    print(text)
    if args.markdown:
        write_section(Path(args.markdown), "scale", text)
        print(f"written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
