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
the case of an agency's tenants, which a single machine cannot otherwise show.

``--remote`` goes further: the servers' own work is taken off this machine too. The real
servers answer once, through a recording proxy, every request ``status`` and ``plan`` make
(one environment at a time, so each answer's service time is the server's alone); then each
environment gets a stand-in of its own (its own port, a threaded HTTP server in this process)
that answers each request with the recorded bytes after the recorded service time plus the
round trip (``--latency``, 40 ms by default). The tool does the same work on the same bytes,
and the servers' work becomes waiting, as it is when they run elsewhere. Before timing, the
stand-ins' ``status --format json`` is checked equal to the real servers' (URLs aside).
The tool's bytecode is compiled first, as pip does when it installs a package. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import queue
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
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


# Headers that belong to one connection, not to the answer: never recorded nor replayed.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date"}


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request's body, whether sent with a length or in chunks (a large one is streamed)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    seconds: float  # the server's service time: request sent to the answer's last byte


class Recording:
    """Every answer one real server gave, by request (method, path and query, the body's digest)."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], dict[str, list[Answer]]] = {}
        self.lock = threading.Lock()

    def add(self, method: str, path: str, body: bytes, answer: Answer) -> None:
        with self.lock:
            by_body = self.answers.setdefault((method, path), {})
            by_body.setdefault(hashlib.sha256(body).hexdigest(), []).append(answer)

    def find(self, method: str, path: str, body: bytes) -> Answer | None:
        """The answer to this request, with the median of the service times it was measured at.
        A body never seen (a multipart boundary is random) takes the one answer all bodies got."""
        by_body = self.answers.get((method, path), {})
        seen = by_body.get(hashlib.sha256(body).hexdigest())
        if seen is None:
            every = [answer for answers in by_body.values() for answer in answers]
            if not every or len({(a.status, a.body) for a in every}) != 1:
                return None
            seen = every
        first = seen[0]
        return Answer(first.status, first.headers, first.body, statistics.median(a.seconds for a in seen))

    def times(self) -> dict[str, list[float]]:
        """Every service time measured, by request (method and path)."""
        return {
            f"{method} {path}": [answer.seconds for answers in by_body.values() for answer in answers]
            for (method, path), by_body in sorted(self.answers.items())
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[_Server, str]:
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Directus answers

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def do_PATCH(self) -> None:
        self.answer()

    def do_DELETE(self) -> None:
        self.answer()

    def answer(self) -> None:
        raise NotImplementedError

    def send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)


def recorder(upstream: str, recording: Recording) -> tuple[_Server, str]:
    """A proxy in front of ``upstream`` that records every answer with its service time."""
    parts = urlsplit(upstream)

    class Handler(_Handler):
        def answer(self) -> None:
            body = _body(self)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=300)
            started = time.perf_counter()
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()  # the answer whole, as it came (no content decoding)
            seconds = time.perf_counter() - started
            connection.close()
            kept = tuple((k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP)
            answer = Answer(response.status, kept, data, seconds)
            recording.add(self.command, self.path, body, answer)
            self.send(answer)

    return _serve(Handler)


def stand_in(recording: Recording, latency: float) -> tuple[_Server, str]:
    """A stand-in for a server elsewhere: each recorded answer, after its service time plus
    ``latency`` (one round trip); a request never recorded gets a 502 saying so."""

    class Handler(_Handler):
        def answer(self) -> None:
            body = _body(self)
            found = recording.find(self.command, self.path, body)
            if found is None:
                message = json.dumps({"errors": [{"message": f"stand-in: {self.command} {self.path} not recorded"}]})
                found = Answer(502, (("Content-Type", "application/json"),), message.encode(), 0.0)
            time.sleep(found.seconds + latency)
            self.send(found)

    return _serve(Handler)


def _write_project(project: Path, names: list[str], urls: list[str], tokens: list[str], env: dict[str, str]) -> None:
    """directus-gitops.yaml naming each environment with the URL (and token) given for it."""
    lines = ["environments:"]
    for name, url, token in zip(names, urls, tokens, strict=True):
        lines.append(f"  {name}: {{url: '{url}'}}")
        env[f"DIRECTUS_{name.upper()}_TOKEN"] = token
    (project / "directus-gitops.yaml").write_text("\n".join(lines) + "\n")


def _cpu_run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``command``; its wall seconds, its CPU seconds (with what it started) and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, _, text = run_process(command, cwd, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, text


def _as_compared(text: str, urls: list[str]) -> Any:
    """``status --format json``'s document with the URLs (which differ by design) left out."""
    document = json.loads(text)
    for environment in document["environments"]:
        assert environment.pop("url") in urls, environment
    return document


def _spread(values: list[float], unit: str = " s") -> str:
    digits = 0 if unit == " ms" else 2
    return f"{statistics.median(values):.{digits}f}{unit} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--latency", type=float, help="milliseconds of round trip to every server (default: 0; 40 with --remote)"
    )
    parser.add_argument("--remote", action="store_true", help="stand-ins replaying the servers' recorded answers")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args()
    latency = args.latency if args.latency is not None else (40.0 if args.remote else 0.0)
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")
    names = [f"tenant{i:02d}" for i in range(1, args.environments + 1)]
    # As pip does when it installs a package: the tool's bytecode compiled once (an editable
    # install under PYTHONDONTWRITEBYTECODE would otherwise compile every module at every start).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tool" / "directus_gitops")], check=True)

    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as scratch, contextlib.ExitStack() as stack:
        work = Path(scratch)
        servers = [stack.enter_context(DirectusServer(version, work / f"s{i}")) for i in range(args.servers)]
        for server in servers:
            demo_model.seed(server.url, server.token, version)
        urls = [server.url for server in servers]
        if latency and not args.remote:
            relays = [Relay(url, latency / 2000) for url in urls]
            for relay in relays:
                stack.callback(relay.close)
            urls = [relay.url for relay in relays]
        on = [index % len(servers) for index in range(len(names))]  # each environment's server
        tokens = [servers[i].token for i in on]
        project = work / "project"
        project.mkdir()
        env = dict(os.environ)
        _write_project(project, names, [urls[i] for i in on], tokens, env)
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
        run_process([*commands["status"], "--parallel", "8"], project, env)  # warm the servers once
        recorded: list[str] = []
        if args.remote:
            recorded = _stand_ins(servers, project, names, on, tokens, env, commands, latency)
        timings: dict[tuple[str, int], list[float]] = {(c, p): [] for c in commands for p in (1, 8)}
        cpu: dict[tuple[str, int], list[float]] = {(c, p): [] for c in commands for p in (1, 8)}
        alone: list[float] = []  # status of one environment: the start-up and one environment's work
        alone_cpu: list[float] = []
        for round_ in range(args.rounds):
            for name, command in commands.items():
                for parallel in (1, 8) if round_ % 2 == 0 else (8, 1):
                    seconds, used, _ = _cpu_run([*command, "--parallel", str(parallel)], project, env)
                    timings[(name, parallel)].append(seconds)
                    cpu[(name, parallel)].append(used)
            seconds, used, _ = _cpu_run([str(TOOL), "status", "--env", names[0]], project, env)
            alone.append(seconds)
            alone_cpu.append(used)

    where = f"{args.servers} Directus {version} servers"
    if args.remote:
        where = f"{args.environments} stand-ins replaying {where}' recorded answers"
    delay = f", {latency:g} ms round trip to each server" if latency else ""
    out = [
        f"### Many environments: {args.environments} environments on {where} (demo model){delay}, "
        f"{args.rounds} rounds, {os.cpu_count()} cores",
        "",
        "| command | --parallel 1 | --parallel 8 | ratio (8 / 1) | CPU --parallel 1 | CPU --parallel 8 |",
        "|---|---|---|---|---|---|",
    ]
    for name in commands:
        one, eight = timings[(name, 1)], timings[(name, 8)]
        ratio = statistics.median(eight) / statistics.median(one)
        ratios = sorted(e / o for e, o in zip(eight, one, strict=True))  # each round's own ratio
        out.append(
            f"| `{name}` | {_spread(one)} | {_spread(eight)} | {ratio:.2f} (rounds {ratios[0]:.2f}–{ratios[-1]:.2f}) "
            f"| {_spread(cpu[(name, 1)])} | {_spread(cpu[(name, 8)])} |"
        )
    per_environment = (statistics.median(cpu[("status", 8)]) - statistics.median(alone_cpu)) / (len(names) - 1)
    out += [
        "",
        f"`status` of one environment: {_spread(alone)} wall, {_spread(alone_cpu)} CPU; so about "
        f"{per_environment * 1000:.0f} ms of the tool's CPU per further environment (`--parallel 8`).",
    ]
    if recorded:
        out += ["", f"The requests the stand-ins answer, with the service times recorded: {', '.join(recorded)}."]
    text = "\n".join(out) + "\n"
    print(text)
    section = "fanout-remote" if args.remote else "fanout-latency" if latency else "fanout"
    write_section(args.results, section, text)
    return 0


def _stand_ins(
    servers: list[DirectusServer],
    project: Path,
    names: list[str],
    on: list[int],
    tokens: list[str],
    env: dict[str, str],
    commands: dict[str, list[str]],
    latency: float,
) -> list[str]:
    """Record what the servers answer, then point every environment at a stand-in of its own
    replaying its server's answers, once checked equal to the servers for ``status``. The real
    servers are stopped: their work is elsewhere now. Returns the requests recorded."""
    real = [server.url for server in servers]
    status_json = [*commands["status"], "--format", "json"]
    _, _, expected = run_process(status_json, project, env)
    recordings = [Recording() for _ in servers]
    proxies = [recorder(url, recording) for url, recording in zip(real, recordings, strict=True)]
    _write_project(project, names, [proxies[i][1] for i in on], tokens, env)
    for _ in range(2):  # one at a time: each answer's service time is its server's alone
        for command in commands.values():
            run_process([*command, "--parallel", "1"], project, env)
    for proxy, _ in proxies:
        proxy.shutdown()
        proxy.server_close()
    for server in servers:
        server.stop()
    stand_ins = [stand_in(recordings[i], latency / 1000) for i in on]
    _write_project(project, names, [url for _, url in stand_ins], tokens, env)
    _, _, replayed = run_process(status_json, project, env)
    if _as_compared(replayed, [url for _, url in stand_ins]) != _as_compared(expected, real):
        raise SystemExit(f"the stand-ins are not faithful: status differs\n{expected}\n---\n{replayed}")
    for command in commands.values():
        run_process([*command, "--parallel", "8"], project, env)  # exit 0: every request was recorded
    times: dict[str, list[float]] = {}
    for recording in recordings:
        for request, seconds in recording.times().items():
            times.setdefault(request, []).extend(seconds)
    return [f"`{request}` {_spread([t * 1000 for t in seconds], ' ms')}" for request, seconds in times.items()]


if __name__ == "__main__":
    sys.exit(main())
