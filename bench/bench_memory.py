#!/usr/bin/env python3
"""Benchmark: the tool's own peak memory on a very large model, against issue 30's budget.

Budget: ``pull``, ``plan`` and ``push`` of a model stay within 4 × the snapshot's JSON size +
50 MB. A real Directus holding 3,000 collections × 20 fields takes a long time to build (and
12.x without a licence keeps 25 active), so the server side here is a stand-in: a local HTTP
server answering what these commands ask (``/server/info``, ``/schema/snapshot`` with the
synthetic model as Directus sends it, ``/schema/diff`` with "no changes", the lock's folder
calls) from memory. What is measured is the tool's process alone (peak RSS by GNU time, a
new process each run, start-up included): the figure the budget is about. ``check`` of the
committed model is measured too. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import synthetic
from common import run_process, write_section

TOOL = Path(sys.executable).with_name("directus-gitops")


def stand_in(body: bytes, version: str) -> ThreadingHTTPServer:
    """A server answering the schema endpoints the way Directus does, for a model that matches."""
    info = json.dumps({"data": {"version": version, "project": {}}}).encode()
    folders: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, payload: bytes = b"") -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/schema/snapshot":
                self._send(200, body)
            elif path == "/server/info":
                self._send(200, info)
            elif path.startswith("/folders/"):
                ident = path.rsplit("/", 1)[1]
                found = folders.get(ident)
                self._send(200 if found else 403, json.dumps({"data": found} if found else {"errors": []}).encode())
            else:
                self._send(200, b'{"data": []}')

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = self.rfile.read(length)
            path = self.path.split("?")[0]
            if path == "/schema/diff":
                self._send(204)  # no changes
            elif path == "/folders":
                item = json.loads(payload or b"{}")
                folders[str(item.get("id"))] = item
                self._send(200, json.dumps({"data": item}).encode())
            else:
                self._send(204)

        def do_DELETE(self) -> None:
            folders.pop(self.path.split("?")[0].rsplit("/", 1)[1], None)
            self._send(204)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", type=int, default=3000)
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args()
    version = "12.4.1"
    model = synthetic.model(args.collections, args.fields)
    model["directus"] = version
    body = json.dumps({"data": model}, separators=(",", ":")).encode()
    size = len(body) / 1e6
    budget = 4 * size + 50
    server = stand_in(body, version)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    peaks: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        env = {**os.environ, "DIRECTUS_DEV_TOKEN": "t", "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
               "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}  # fmt: skip
        subprocess.run(["git", "init", "--quiet"], cwd=project, check=True)
        (project / "directus-gitops.yaml").write_text(f"environments:\n  dev: {{url: '{url}'}}\n")
        commands = {
            "pull into an empty folder, committed": ["pull", "--commit"],
            "pull, nothing changed": ["pull"],
            "plan": ["plan"],  # the folder read and checked (CI's fresh clone), then remembered
            "plan, the folder remembered": ["plan"],
            "push (nothing to apply)": ["push", "--yes", "--no-backup"],
            # A push reads the target for its backup alongside the diff, writing it as it reads (staged, then
            # discarded: nothing changes).
            "push with its backup (nothing to apply)": ["push", "--yes"],
            "check": ["check"],
        }
        for round_ in range(args.rounds):
            for name, words in commands.items():
                if name.startswith("pull into"):
                    subprocess.run(["rm", "-rf", str(project / "schema"), str(project / ".git" / "directus-gitops")])
                    if round_:
                        subprocess.run(["git", "rm", "-r", "--quiet", "--cached", "schema"], cwd=project, env=env)
                took, peak, _ = run_process([str(TOOL), *words], project, env)
                peaks.setdefault(name, []).append(peak)
                seconds.setdefault(name, []).append(took)
    server.shutdown()
    out = [
        f"### Peak memory on {args.collections:,} collections × {args.fields} fields "
        f"({size:.1f} MB of snapshot JSON; budget 4 × that + 50 MB = {budget:.0f} MB), {args.rounds} rounds",
        "",
        "The server is a stand-in answering from memory (see bench/bench_memory.py): the tool's process alone.",
        "",
        "| command | peak RSS (min–max) | within budget | wall |",
        "|---|---|---|---|",
    ]
    for name in commands:
        peak, took = peaks[name], seconds[name]
        within = "yes" if max(peak) <= budget else "no"
        out.append(
            f"| `{name}` | {statistics.median(peak):.0f} MB ({min(peak):.0f}–{max(peak):.0f}) | {within} "
            f"| {statistics.median(took):.1f} s |"
        )
    text = "\n".join(out) + "\n"
    print(text)
    write_section(args.results, "memory", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
