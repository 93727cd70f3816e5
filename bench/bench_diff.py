#!/usr/bin/env python3
"""Benchmark: offline ``diff`` of a large model, between two commits and between two folders.

Builds a generated model of 300 collections × 20 fields (tests/synthetic.py: every key a real
Directus field has) and an edited copy with a few hundred changes, commits both into a
scratch git repository, and times, ``--rounds`` times:

* ``directus-gitops diff HEAD~1 HEAD`` as a user runs it (a new process: wall time);
* the same in-process (reading both commits and comparing);
* in-process between two checked-out folders;
* for reference, a full read of both commits and a comparison, which the diff avoids by
  reading only the collection files that differ.

Prints medians. Nothing is asserted: these are figures to read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directus_gitops import changes, render, store  # noqa: E402
from directus_gitops.commands import diff  # noqa: E402
from directus_gitops.gitrepo import Repo  # noqa: E402
from tests import synthetic  # noqa: E402

TOOL = Path(sys.executable).with_name("directus-gitops")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def median_time(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", type=int, default=300)
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--edits", type=int, default=150, help="random edits (each makes one or more changes)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    old = synthetic.model(args.collections, args.fields)
    new = synthetic.edited(old, args.edits)
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as scratch:
        root = Path(scratch) / "project"
        root.mkdir()
        git(root, "init", "--quiet", "--initial-branch=main")
        for message, snapshot in (("old", old), ("new", new)):
            store.write_tree(root / "schema", store.render(snapshot))
            git(root, "add", "--all")
            git(root, "commit", "--quiet", "-m", message)
        folders = {}
        for name, snapshot in (("old", old), ("new", new)):
            folders[name] = Path(scratch) / name
            store.write_tree(folders[name], store.render(snapshot))

        old_files, files = store.render(old), store.render(new)
        size = sum(len(data) for data in files.values())
        differing = sum(
            1
            for path in old_files.keys() | files.keys()
            if path != store.MANIFEST and old_files.get(path) != files.get(path)
        )
        repo = Repo(root)
        result = diff.compare(
            diff.revision_side(repo, "HEAD~1", "schema"), diff.revision_side(repo, "HEAD", "schema")
        ).changes

        def cli() -> None:
            subprocess.run([str(TOOL), "diff", "HEAD~1", "HEAD"], cwd=root, check=True, capture_output=True)

        def commits() -> None:
            before, after = diff.revision_side(repo, "HEAD~1", "schema"), diff.revision_side(repo, "HEAD", "schema")
            render.text(diff.compare(before, after).changes)

        def checkouts() -> None:
            render.text(diff.compare(diff.path_side(folders["old"]), diff.path_side(folders["new"])).changes)

        def full() -> None:
            _, read_old = repo.tree_reader("HEAD~1", "schema")
            _, read_new = repo.tree_reader("HEAD", "schema")
            render.text(
                changes.compare(store.parse_tree(read_old, "old").snapshot, store.parse_tree(read_new, "new").snapshot)
            )

        print(
            f"model: {args.collections} collections × {args.fields} fields, {len(files)} files, "
            f"{size / 1e6:.1f} MB of YAML; {len(result)} changes ({render.count_line(result)}) "
            f"in {differing} differing collection files"
        )
        print(f"directus-gitops diff HEAD~1 HEAD (new process, wall): {median_time(cli, args.rounds):.3f} s")
        print(f"in-process, two commits:                            {median_time(commits, args.rounds):.3f} s")
        print(f"in-process, two folders:                            {median_time(checkouts, args.rounds):.3f} s")
        print(f"for reference, full read of both commits + compare: {median_time(full, args.rounds):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
