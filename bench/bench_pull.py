#!/usr/bin/env python3
"""Benchmark: ``pull`` of a large model against the bare snapshot request, in the same run.

Starts a real Directus (``DIRECTUS_VERSION``, default 12.4.1), creates 300 collections × 20
fields through the REST API (marked inactive on 12.x, which allows only 25 active
collections without a licence), then alternates, ``--rounds`` times:

* the bare request: ``GET /schema/snapshot`` with the body read and JSON-decoded, from this
  process over a new connection (the floor any client pays);
* ``directus-gitops pull`` as a user runs it (a new process, start-up included), in a git
  repository whose folder is already up to date (issue 13's target: at most 1.05 × bare);
  the bare request and this pull swap places every round;
* ``pull`` into a fresh folder, and after one field was added on the server;
* the tool's own work in-process (render + write), for the share it adds.

``--long-notes LENGTH`` gives the first collection's fields (12 at most) notes of LENGTH
characters without a space (a pasted digest, a data URI): a pull reads every string for secrets,
and a scan that searched the rest of the text from each position took about 5 s per 65 KB note.

Prints medians with min–max, the ratio to the bare request, and each pull's peak RSS (GNU
time, as bench_compare.py measures it) against the memory budget (4 × the snapshot's JSON
size + 50 MB). ``DIRECTUS_BENCH_URL`` and ``DIRECTUS_BENCH_TOKEN`` point it at a running
server that already holds the model instead. Nothing is asserted: these are figures to read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from common import create_model, field, run_process
from directus_server import DirectusServer

from directus_gitops.files import store

TOOL = Path(sys.executable).with_name("directus-gitops")


def bare_snapshot(url: str, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = httpx.get(f"{url}/schema/snapshot", headers={"Authorization": f"Bearer {token}"}, timeout=300)
    response.raise_for_status()
    response.json()
    return time.perf_counter() - started, len(response.content)


def lengthen_notes(url: str, token: str, fields: int, length: int) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for index in range(min(12, fields - 1)):
            note = f"field_{index:02d}:" + "n" * length
            client.patch(f"/fields/bench_000/field_{index:02d}", json={"meta": {"note": note}}).raise_for_status()


def add_field(url: str, token: str, name: str) -> None:
    added = httpx.post(
        f"{url}/fields/bench_000", headers={"Authorization": f"Bearer {token}"}, json=field(name, 99), timeout=60
    )
    added.raise_for_status()


@contextlib.contextmanager
def model_server(version: str, work: Path, collections: int, fields: int) -> Iterator[tuple[str, str]]:
    """A server holding the model: the one named by DIRECTUS_BENCH_URL, or a new one."""
    if os.environ.get("DIRECTUS_BENCH_URL"):
        yield os.environ["DIRECTUS_BENCH_URL"], os.environ["DIRECTUS_BENCH_TOKEN"]
        return
    with DirectusServer(version, work / "server") as server:
        started = time.perf_counter()
        create_model(server.url, server.token, version, collections, fields)
        print(f"Directus {version}: created {collections} collections × {fields} fields "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        yield server.url, server.token


def figures(label: str, seconds: list[float], bare: float | None = None, peak: list[float] | None = None) -> str:
    median = statistics.median(seconds)
    line = f"  {label:<44} {median:6.2f} s  ({min(seconds):.2f}–{max(seconds):.2f})"
    if bare is not None:
        line += f"  {median / bare:5.2f} × bare"
    if peak:
        line += f"  peak RSS {max(peak):4.0f} MB"
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", type=int, default=300)
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--long-notes", type=int, default=0, metavar="LENGTH")
    args = parser.parse_args()
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")

    with tempfile.TemporaryDirectory(prefix="bench-pull-") as scratch:
        work = Path(scratch)
        with model_server(version, work, args.collections, args.fields) as (url, token):
            if args.long_notes:
                lengthen_notes(url, token, args.fields, args.long_notes)
            env = {**os.environ, "DIRECTUS_URL": url, "DIRECTUS_TOKEN": token}
            project, fresh_project = work / "project", work / "fresh"
            for folder in (project, fresh_project):
                folder.mkdir()
                subprocess.run(["git", "init", "--quiet", str(folder)], check=True)
            pull = [str(TOOL), "pull"]
            bare_snapshot(url, token)  # warm up Directus's caches once
            run_process(pull, project, env)  # the folder the up-to-date pulls find

            bare: list[float] = []
            timings: dict[str, list[float]] = {"unchanged": [], "fresh": [], "one_change": [], "own": []}
            peaks: dict[str, list[float]] = {"unchanged": [], "fresh": [], "one_change": []}
            size = 0
            for round_ in range(args.rounds):
                steps = ["bare", "unchanged"] if round_ % 2 == 0 else ["unchanged", "bare"]
                for step in steps:
                    if step == "bare":
                        seconds, size = bare_snapshot(url, token)
                        bare.append(seconds)
                    else:
                        seconds, peak, _ = run_process(pull, project, env)
                        timings["unchanged"].append(seconds)
                        peaks["unchanged"].append(peak)
                shutil.rmtree(fresh_project / "schema", ignore_errors=True)
                seconds, peak, _ = run_process(pull, fresh_project, env)
                timings["fresh"].append(seconds)
                peaks["fresh"].append(peak)
                add_field(url, token, f"extra_{round_}_{time.time_ns()}")
                seconds, peak, _ = run_process(pull, project, env)
                timings["one_change"].append(seconds)
                peaks["one_change"].append(peak)
                snapshot = httpx.get(f"{url}/schema/snapshot", headers={"Authorization": f"Bearer {token}"},
                                     timeout=300).json()["data"]  # fmt: skip
                started = time.perf_counter()
                files = store.render(snapshot)
                store.write_tree(work / "inproc" / f"s{round_}", files)
                timings["own"].append(time.perf_counter() - started)

    startup = [_timed([str(TOOL), "--version"]) for _ in range(5)]  # the floor of any CLI run
    b = statistics.median(bare)
    budget = 4 * size / 1e6 + 50
    print(f"snapshot: {size / 1e6:.1f} MB JSON; medians (min–max) of {args.rounds} interleaved rounds")
    print(figures("bare GET /schema/snapshot (+ JSON decode)", bare))
    print(figures("directus-gitops pull, already up to date", timings["unchanged"], b, peaks["unchanged"]))
    print(figures("directus-gitops pull, new folder", timings["fresh"], b, peaks["fresh"]))
    print(figures("directus-gitops pull, one field added", timings["one_change"], b, peaks["one_change"]))
    print(figures("directus-gitops --version (process start)", startup))
    print(figures("tool's own work in-process, new folder", timings["own"]))
    print(f"  memory budget of a pull (4 × JSON + 50 MB): {budget:.0f} MB")
    return 0


def _timed(command: list[str], **kwargs: Any) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
