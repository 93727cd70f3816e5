#!/usr/bin/env python3
"""Benchmark: ``pull`` of a large model against the bare snapshot request, in the same run.

Starts a real Directus (``DIRECTUS_VERSION``, default 12.4.1), creates 300 collections × 20
fields through the REST API (marked inactive on 12.x, which allows only 25 active
collections without a licence), then alternates, ``--rounds`` times:

* the bare request: ``GET /schema/snapshot`` with the body read and JSON-decoded;
* ``directus-gitops pull`` as a user runs it (a new process): into a fresh folder, again
  with the folder already up to date, and after one field was added on the server;
* the tool's own work in-process (render + write), for the share it adds.

Prints medians and peak memory. Nothing is asserted: these are figures to read.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from directus_server import DirectusServer  # noqa: E402

from directus_gitops import store  # noqa: E402

TOOL = Path(sys.executable).with_name("directus-gitops")


def field(name: str, index: int) -> dict[str, Any]:
    return {
        "field": name,
        "type": "string",
        "meta": {"interface": "input", "note": f"Generated field {index}", "options": {"trim": True}, "width": "half"},
        "schema": {"max_length": 255, "is_nullable": True},
    }


def create_model(url: str, token: str, version: str, collections: int, fields: int) -> None:
    inactive = int(version.split(".")[0]) >= 12
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for c in range(collections):
            name = f"bench_{c:03d}"
            meta: dict[str, Any] = {"icon": "box", "note": f"Generated collection {c}"}
            if inactive:
                meta["status"] = "inactive"
            body = {
                "collection": name,
                "meta": meta,
                "schema": {},
                "fields": [
                    {
                        "field": "id",
                        "type": "integer",
                        "meta": {"hidden": True},
                        "schema": {"is_primary_key": True, "has_auto_increment": True},
                    },
                    *(field(f"field_{f:02d}", f) for f in range(fields - 1)),
                ],
            }
            response = client.post("/collections", json=body)
            if response.status_code >= 300:
                raise SystemExit(f"creating {name} failed: {response.status_code} {response.text[:300]}")


def bare_snapshot(url: str, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = httpx.get(f"{url}/schema/snapshot", headers={"Authorization": f"Bearer {token}"}, timeout=300)
    response.raise_for_status()
    response.json()
    return time.perf_counter() - started, len(response.content)


def _timed(command: list[str], **kwargs: Any) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - started


def cli_pull(project: Path, env: dict[str, str]) -> float:
    return _timed([str(TOOL), "pull"], cwd=project, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", type=int, default=300)
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")

    with tempfile.TemporaryDirectory(prefix="bench-pull-") as scratch:
        work = Path(scratch)
        with DirectusServer(version, work / "server") as server:
            started = time.perf_counter()
            create_model(server.url, server.token, version, args.collections, args.fields)
            print(f"Directus {version}: created {args.collections} collections × {args.fields} fields "
                  f"in {time.perf_counter() - started:.0f} s")  # fmt: skip

            project = work / "project"
            project.mkdir()
            env = {**os.environ, "DIRECTUS_URL": server.url, "DIRECTUS_TOKEN": server.token}
            bare_snapshot(server.url, server.token)  # warm up Directus's caches once

            bare, fresh, unchanged, one_change, own = [], [], [], [], []
            size = 0
            for _ in range(args.rounds):
                seconds, size = bare_snapshot(server.url, server.token)
                bare.append(seconds)
                shutil.rmtree(project / "schema", ignore_errors=True)
                fresh.append(cli_pull(project, env))
                unchanged.append(cli_pull(project, env))
                added = httpx.post(
                    f"{server.url}/fields/bench_000",
                    headers={"Authorization": f"Bearer {server.token}"},
                    json=field(f"extra_{len(one_change)}", 99),
                    timeout=60,
                )
                added.raise_for_status()
                one_change.append(cli_pull(project, env))
                snapshot = httpx.get(
                    f"{server.url}/schema/snapshot", headers={"Authorization": f"Bearer {server.token}"}, timeout=300
                ).json()["data"]
                started = time.perf_counter()
                files = store.render(snapshot)
                store.write_tree(work / "inproc" / f"s{len(own)}", files)
                own.append(time.perf_counter() - started)
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    startup = statistics.median(
        _timed([str(TOOL), "--version"]) for _ in range(5)
    )  # the floor of any CLI run: Python starting and importing the tool
    b, f, u, c, o = (statistics.median(x) for x in (bare, fresh, unchanged, one_change, own))
    print(f"snapshot: {size / 1e6:.1f} MB JSON; medians of {args.rounds} rounds")
    print(f"  bare GET /schema/snapshot (+ JSON decode) : {b:6.2f} s")
    print(f"  directus-gitops pull, new folder           : {f:6.2f} s  (+{(f - b) / b:5.1%} over bare)")
    print(f"  directus-gitops pull, already up to date   : {u:6.2f} s  (+{(u - b) / b:5.1%} over bare)")
    print(f"  directus-gitops pull, one field added      : {c:6.2f} s  (+{(c - b) / b:5.1%} over bare)")
    print(f"  directus-gitops --version (process start)  : {startup:6.2f} s")
    print(f"  tool's own work in-process, new folder     : {o:6.2f} s  ({o / b:5.1%} of bare; render + write)")
    print(f"  peak memory of a pull process              : {peak_mb:6.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
