#!/usr/bin/env python3
"""Benchmark: offline ``diff HEAD~1 HEAD`` of a large model with a change in every collection file.

The acceptance case of issue 13: a generated model of 300 collections × 20 fields
(tests/synthetic.py: every key a real Directus field has, about 6 MB of YAML) and a copy
with one field note changed in every collection (300 changes spread over all 300 collection
files), committed one after the other in a scratch git repository. Every round runs, in an
order that rotates from round to round:

* ``directus-gitops diff HEAD~1 HEAD`` as a user runs it: a new process, wall time and the
  CPU time it used (start-up and imports included), once with both commits remembered from an
  earlier read (``treecache``: records in the git directory) and once as the first command
  after a clone (the records removed first);
* ``directus-gitops log`` over those two commits and ten more with five new notes each, as a
  new process (a walk longer than the records kept remembers nothing: every commit is read);
* ``directus-gitops --help``: the start-up floor of any command;
* with ``--compare-with SRC``, the same diff by the tool whose source folder (the one holding
  ``directus_gitops/``) is SRC, e.g. an export of main: before/after in the same conditions
  (both commits remembered, in a clone of the scratch repository: each version keeps its own
  records);
* in-process: reading both commits (every file checked as ``check`` does) and comparing,
  with the reader's memos emptied and the records removed first;
* for reference, the full read: every file parsed by PyYAML and checked on its own, as the
  diff did before the fast reader (tool/directus_gitops/files/yamlio/canonical.py).

Apart from the "commits remembered" row, every run reads and checks both commits from
scratch, as in a fresh clone in CI. The tool's bytecode is compiled first, as pip does when it
installs a package. Prints the median and min–max of ``--rounds`` rounds.
Nothing is asserted: these are figures to read, and on a shared machine they are noisy.
"""

from __future__ import annotations

import argparse
import copy
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

from directus_gitops.engine import diff
from directus_gitops.files import store
from directus_gitops.files.gitrepo import Repo
from directus_gitops.files.yamlio import canonical as canonread
from directus_gitops.model import (
    changes,
    treecache,
    validate,
)
from directus_gitops.reports import render
from tests import synthetic

TOOL = Path(sys.executable).with_name("directus-gitops")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


LOG_COMMITS = 10  # commits after HEAD's two in the history ``log`` walks
LOG_CHANGES = 5  # new notes per commit (in up to as many collection files)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def one_change_per_file(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A new note on the first plain field of every collection."""
    result = copy.deepcopy(snapshot)
    done: set[str] = set()
    for entry in result["fields"]:
        if entry["collection"] not in done and entry["field"] != "id":
            done.add(entry["collection"])
            entry["meta"]["note"] = f"Changed note of {entry['collection']}.{entry['field']}."
    return result


class Timing:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def show(self, values: list[float]) -> str:
        if not values:
            return "-"
        return f"{statistics.median(values):.3f} s ({min(values):.3f}–{max(values):.3f})"


def run_process(command: list[str], cwd: Path, env: dict[str, str], timing: Timing) -> None:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    timing.wall.append(time.perf_counter() - start)
    timing.cpu.append(usage.ru_utime + usage.ru_stime)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")


def run_inline(action: Callable[[], object], timing: Timing) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    action()
    timing.wall.append(time.perf_counter() - start)
    timing.cpu.append(time.process_time() - cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", type=int, default=300)
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--compare-with", type=Path, help="another version's source folder (holding directus_gitops/)")
    args = parser.parse_args()

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tool" / "directus_gitops")], check=True)
    old = synthetic.model(args.collections, args.fields)
    new = one_change_per_file(old)
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as scratch:
        root = Path(scratch) / "project"
        root.mkdir()
        git(root, "init", "--quiet", "--initial-branch=main")
        for message, snapshot in (("old", old), ("new", new)):
            store.write_tree(root / "schema", store.render(snapshot))
            git(root, "add", "--all")
            git(root, "commit", "--quiet", "-m", message)

        old_files, files = store.render(old), store.render(new)
        size = sum(len(data) for data in files.values())
        differing = sum(1 for path in files if path != store.MANIFEST and old_files.get(path) != files.get(path))
        repo = Repo(root)

        def commits() -> changes.ChangeSet:
            canonread.forget()  # as cold as a new process
            shutil.rmtree(root / ".git" / "directus-gitops" / "trees", ignore_errors=True)
            treecache._RECENT.clear()
            before, after = diff.revision_side(repo, "HEAD~1", "schema"), diff.revision_side(repo, "HEAD", "schema")
            result = diff.compare(before, after).changes
            render.text(result)
            return result

        def full() -> changes.ChangeSet:
            saved = canonread.load, canonread.load_split
            canonread.load = lambda text: (False, None)  # type: ignore[assignment]
            canonread.load_split = lambda text, memo: (False, None)  # type: ignore[assignment]
            try:
                trees = [repo.schema_tree(rev, "schema")[1] for rev in ("HEAD~1", "HEAD")]
                result = changes.compare(*(validate.load_tree(tree).snapshot for tree in trees if tree is not None))
                render.text(result)
                return result
            finally:
                canonread.load, canonread.load_split = saved  # type: ignore[assignment]

        result = commits()
        assert full() == result, "the fast path and the full read disagree"
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        records = root / ".git" / "directus-gitops" / "trees"

        def first_read(t: Timing) -> None:
            shutil.rmtree(records, ignore_errors=True)  # as in a fresh clone
            run_process([str(TOOL), "diff", "HEAD~1", "HEAD"], root, env, t)

        def remembered(t: Timing) -> None:
            if not records.is_dir():  # another row removed them: read both commits once, untimed
                subprocess.run(
                    [str(TOOL), "diff", "HEAD~1", "HEAD"], cwd=root, env=env, check=True, capture_output=True
                )
            run_process([str(TOOL), "diff", "HEAD~1", "HEAD"], root, env, t)

        # A history to walk: HEAD's two commits, then LOG_COMMITS more with a few new notes each
        # (more commits than records are kept, so the walk remembers nothing).
        walked = Path(scratch) / "history"
        git(Path(scratch), "clone", "--quiet", str(root), str(walked))
        model = new
        for number in range(LOG_COMMITS):
            model = copy.deepcopy(model)
            for index in range(LOG_CHANGES):
                model["fields"][(number * LOG_CHANGES + index) * 7 % len(model["fields"])]["meta"]["note"] = f"{number}"
            store.write_tree(walked / "schema", store.render(model))
            git(walked, "commit", "--quiet", "--all", "-m", f"edit {number}")
        log_name = f"directus-gitops log, {LOG_COMMITS + 2} commits (new process, none remembered)"

        measures: dict[str, tuple[Timing, Callable[[Timing], None]]] = {
            "directus-gitops diff HEAD~1 HEAD (new process, commits remembered)": (Timing(), remembered),
            "the same, neither commit read before (new process)": (Timing(), first_read),
            log_name: (Timing(), lambda t: run_process([str(TOOL), "log"], walked, env, t)),
            "directus-gitops --help (start-up floor)": (
                Timing(),
                lambda t: run_process([str(TOOL), "--help"], root, env, t),
            ),
        }
        if args.compare_with is not None:
            # In a clone of its own: records are keyed by the folder's content, and the other
            # version's would replace this one's (and the other way round) at every round.
            other_root = Path(scratch) / "other"
            git(Path(scratch), "clone", "--quiet", str(root), str(other_root))
            other = {**env, "PYTHONPATH": str(args.compare_with.resolve())}
            command = [sys.executable, "-c", "from directus_gitops.cli import main; main()", "diff", "HEAD~1", "HEAD"]
            subprocess.run(command, cwd=other_root, env=other, check=True, capture_output=True)  # remembered
            measures[f"the same diff by {args.compare_with} (new process, commits remembered)"] = (
                Timing(),
                lambda t: run_process(command, other_root, other, t),
            )
        measures["in-process: read, check and compare both commits (first read)"] = (
            Timing(),
            lambda t: run_inline(commits, t),
        )
        measures["for reference, full read (PyYAML, every file) + compare"] = (Timing(), lambda t: run_inline(full, t))

        names = list(measures)
        for number in range(args.rounds):
            for name in names[number % len(names) :] + names[: number % len(names)]:
                timing, action = measures[name]
                action(timing)

        print(
            f"model: {args.collections} collections × {args.fields} fields, {len(files)} files, "
            f"{size / 1e6:.1f} MB of YAML per commit; {len(result)} changes ({render.count_line(result)}) "
            f"in {differing} of {len(files) - 1} collection files"
        )
        print(f"median (min–max) of {args.rounds} interleaved rounds")
        width = max(len(name) for name in names)
        print(f"{'':{width}}  {'wall':<24} cpu (user+sys)")
        for name in names:
            timing = measures[name][0]
            print(f"{name:{width}}  {timing.show(timing.wall):<24} {timing.show(timing.cpu)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
