#!/usr/bin/env python3
"""Benchmark: ``status`` and ``plan`` over many environments, one at a time and at once.

Starts ``--servers`` real Directus servers (``DIRECTUS_VERSION``, default 12.4.1) holding the
demo model, names ``--environments`` environments spread over them (tenants sharing servers,
as an agency's do), pulls and commits once, then alternates, ``--rounds`` times, the same
command with ``--parallel 1`` and with ``--parallel 8`` (a new process each, start-up
included, their order swapped every round). Prints medians with min–max and the ratio.
Issue 30's target: ``status`` over 20 environments at ``--parallel 8`` in less than a third
of the one-at-a-time time. On a 2-core machine the servers and the tool share the cores: the
ratio is bounded by the servers' own work, which the figures show. ``--latency MS`` puts
each server behind a local relay that holds every chunk MS/2 milliseconds each way, as a
network between the tool and servers on other machines does (pure delay, no bandwidth limit):
the case of an agency's tenants, which a single machine cannot otherwise show. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import demo_model
from common import run_process, write_section
from directus_server import DirectusServer

TOOL = Path(sys.executable).with_name("directus-gitops")


class Relay:
    """A TCP relay on loopback in front of one server, delaying every chunk by ``delay`` seconds
    in each direction while keeping their order (a chunk's delay does not add to the next one's)."""

    def __init__(self, upstream: str, delay: float) -> None:
        parts = urlsplit(upstream)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for source, sink in ((client, server), (server, client)):
                chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
                threading.Thread(target=self._read, args=(source, chunks), daemon=True).start()
                threading.Thread(target=self._write, args=(sink, chunks), daemon=True).start()

    def _read(self, source: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            chunks.put((time.monotonic() + self.delay, data))
            if not data:
                return

    def _write(self, sink: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            due, data = chunks.get()
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds of round trip to every server")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args()
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")
    names = [f"tenant{i:02d}" for i in range(1, args.environments + 1)]

    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as scratch, contextlib.ExitStack() as stack:
        work = Path(scratch)
        servers = [stack.enter_context(DirectusServer(version, work / f"s{i}")) for i in range(args.servers)]
        for server in servers:
            demo_model.seed(server.url, server.token, version)
        urls = [server.url for server in servers]
        if args.latency:
            relays = [Relay(url, args.latency / 2000) for url in urls]
            for relay in relays:
                stack.callback(relay.close)
            urls = [relay.url for relay in relays]
        project = work / "project"
        project.mkdir()
        env = dict(os.environ)
        lines = ["environments:"]
        for index, name in enumerate(names):
            lines.append(f"  {name}: {{url: '{urls[index % len(servers)]}'}}")
            env[f"DIRECTUS_{name.upper()}_TOKEN"] = servers[index % len(servers)].token
        (project / "directus-gitops.yaml").write_text("\n".join(lines) + "\n")
        who = {
            "GIT_AUTHOR_NAME": "b",
            "GIT_AUTHOR_EMAIL": "b@b",
            "GIT_COMMITTER_NAME": "b",
            "GIT_COMMITTER_EMAIL": "b@b",
        }
        env.update(who)
        for command in (["git", "init", "--quiet"], ["git", "add", "."], ["git", "commit", "--quiet", "-m", "c"]):
            subprocess.run(command, cwd=project, check=True, env=env)
        run_process([str(TOOL), "pull", "--env", names[0], "--commit"], project, env)

        every = [word for name in names for word in ("--env", name)]
        commands = {
            "status": [str(TOOL), "status", *every],
            "plan": [str(TOOL), "plan", *every],
        }
        timings: dict[tuple[str, int], list[float]] = {(c, p): [] for c in commands for p in (1, 8)}
        run_process([*commands["status"], "--parallel", "8"], project, env)  # warm the servers once
        for round_ in range(args.rounds):
            for name, command in commands.items():
                for parallel in (1, 8) if round_ % 2 == 0 else (8, 1):
                    seconds, _, _ = run_process([*command, "--parallel", str(parallel)], project, env)
                    timings[(name, parallel)].append(seconds)

    latency = f", {args.latency:g} ms round trip to each server" if args.latency else ""
    out = [
        f"### Many environments: {args.environments} environments on {args.servers} Directus {version} servers "
        f"(demo model){latency}, {args.rounds} rounds, {os.cpu_count()} cores",
        "",
        "| command | --parallel 1 | --parallel 8 | ratio (8 / 1) |",
        "|---|---|---|---|",
    ]
    for name in commands:
        one, eight = timings[(name, 1)], timings[(name, 8)]
        ratio = statistics.median(eight) / statistics.median(one)
        out.append(
            f"| `{name}` | {statistics.median(one):.2f} s ({min(one):.2f}–{max(one):.2f}) "
            f"| {statistics.median(eight):.2f} s ({min(eight):.2f}–{max(eight):.2f}) | {ratio:.2f} |"
        )
    text = "\n".join(out) + "\n"
    print(text)
    write_section(args.results, "fanout-latency" if args.latency else "fanout", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
