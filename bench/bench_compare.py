#!/usr/bin/env python3
"""Benchmark: directus-gitops, Directus's own CLI (d6s) and the bare HTTP requests, side by side.

On a real Directus (``DIRECTUS_VERSION``, default 12.4.1, SQLite) with a large generated model
(``--collections`` × ``--fields``, marked inactive on 12.x, which allows only 25 active
collections without a licence), the same operations are run by the three, interleaved
round-robin over ``--rounds`` rounds (the order of the three rotates each round):

* floor: ``--version`` of each CLI (process start) and ``GET /server/info``;
* (bare plan: ``GET /server/info`` and ``POST /schema/diff``, what a plan cannot do without);
* pull, already up to date;
* plan/diff of the large model with one changed note per collection against a live target;
* plan/diff of the large model against an empty target;
* push of the demo model (relations, translations, ...) into a fresh empty target each round,
  and of the large model's changes into a fresh copy of the live target (bare: diff, apply and
  the diff again that checks nothing is left, which a push promises); the demo push once more
  with ``--no-backup`` (directus-gitops and bare only), to show what the backup costs;
* offline ``diff HEAD~1 HEAD`` (those changes over that many files; directus-gitops only);
* pull of the large model into an empty folder, for memory;
* status of two live environments (one at HEAD, one a commit behind; directus-gitops and
  bare: both snapshots asked at once).

Each CLI command runs as its own process: wall time, its peak RSS (``os.wait4``) and the
HTTP requests it made, counted from the request lines Directus logs (``LOG_STYLE=raw``), so
nothing stands between the clients and the server and all three columns are counted alike.
The bare requests run in this process with httpx (a new connection per operation, JSON
decoded): they are the floor any client pays. Nothing is asserted: these are figures to read.

d6s is ``@directus/cli`` from the npm registry, installed into the cache on first use; it runs
schema-only (every configuration resource excluded), with a token per profile from
``DIRECTUS_<PROFILE>_TOKEN``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_diff import GIT_ENV, TOOL, git
from common import create_model, run_process, write_section
from demo_model import seed as seed_demo
from directus_server import DirectusCli, DirectusServer, Template, build_template, install_cli

COLUMNS = ("directus-gitops", "d6s", "bare HTTP")
# Every configuration resource d6s pulls by default (users is not among them): schema only.
D6S_NO_RESOURCES = ("--no-dashboards", "--no-flows", "--no-folders", "--no-policies", "--no-roles", "--no-settings",
                    "--no-translations")  # fmt: skip
# Directus logs one JSON line per request it answered, with the request in "req".
SERVER_ENV = {"LOG_STYLE": "raw", "LOG_LEVEL": "info"}


@dataclasses.dataclass
class Sample:
    seconds: float
    calls: list[str]  # the requests Directus logged, "METHOD /path"
    rss_mb: float | None = None
    output: str = ""  # what the command printed, to check it did the work (the last line is reported)
    round_number: int | None = None  # the round it ran in, to pair it with the bare sample of the same round

    @property
    def requests(self) -> int:
        return len(self.calls)


@dataclasses.dataclass
class Operation:
    key: str
    title: str
    samples: dict[str, list[Sample]] = dataclasses.field(default_factory=dict)
    commands: dict[str, str] = dataclasses.field(default_factory=dict)
    failures: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # column: why each run failed

    def add(self, column: str, sample: Sample) -> None:
        self.samples.setdefault(column, []).append(sample)


# --------------------------------------------------------------------------------------------
# Counting requests from Directus's logs


class RequestCounter:
    """Counts the requests the given servers logged while a block ran."""

    def __init__(self, servers: list[DirectusServer]) -> None:
        self.servers = servers

    def _sizes(self) -> list[int]:
        return [server.log_file.stat().st_size for server in self.servers]

    def _requests(self, offsets: list[int]) -> list[str]:
        found = []
        for server, offset in zip(self.servers, offsets, strict=True):
            with server.log_file.open("rb") as handle:
                handle.seek(offset)
                for line in handle:
                    if b'"req":{' in line:
                        request = json.loads(line)["req"]
                        found.append(f"{request['method']} {request['url'].split('?')[0]}")
        return found

    def _settled(self) -> list[int]:
        # Directus writes the line as the response ends: wait until the logs stop growing.
        previous = None
        for _ in range(50):
            sizes = self._sizes()
            if sizes == previous:
                break
            previous = sizes
            time.sleep(0.1)
        return self._sizes()

    @contextlib.contextmanager
    def counting(self) -> Iterator[Callable[[], list[str]]]:
        offsets = self._settled()  # not the tail of an earlier request (a server's start-up checks)
        result: list[list[str]] = []
        yield lambda: result[0]
        self._settled()
        result.append(self._requests(offsets))


# --------------------------------------------------------------------------------------------
# Running things


def bearer(server: DirectusServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def bare_get(server: DirectusServer, path: str) -> Any:
    with httpx.Client(base_url=server.url, headers=bearer(server), timeout=600) as client:
        response = client.get(path)
        response.raise_for_status()
        return response.json()


def post_document(client: httpx.Client, path: str, document: Any) -> httpx.Response:
    """POST a JSON document as a bare client must: Directus refuses JSON bodies over
    MAX_PAYLOAD_SIZE (1 MB by default), so a large one goes as a multipart file upload."""
    body = json.dumps(document, separators=(",", ":")).encode()
    if len(body) > 512 * 1024:
        response = client.post(path, files={"file": ("snapshot.json", body, "application/json")})
    else:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    response.raise_for_status()
    return response


def bare_diff(server: DirectusServer, snapshot: dict[str, Any]) -> Any:
    with httpx.Client(base_url=server.url, headers=bearer(server), timeout=600) as client:
        response = post_document(client, "/schema/diff", snapshot)
        return response.json() if response.content else None


def bare_snapshots(servers: list[DirectusServer]) -> list[Any]:
    """What status cannot do without: every environment's snapshot, asked at once."""
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        return list(pool.map(lambda server: bare_get(server, "/schema/snapshot"), servers))


def bare_plan(server: DirectusServer, snapshot: dict[str, Any]) -> Any:
    """What a plan cannot do without: the target's release and its diff."""
    bare_get(server, "/server/info")
    return bare_diff(server, snapshot)


def bare_push(server: DirectusServer, snapshot: dict[str, Any]) -> None:
    """Diff, apply, and the diff again that checks nothing is left (the push's promise)."""
    with httpx.Client(base_url=server.url, headers=bearer(server), timeout=600) as client:
        response = post_document(client, "/schema/diff", snapshot)
        if response.content:
            post_document(client, "/schema/apply", response.json()["data"])
            post_document(client, "/schema/diff", snapshot)


def edit_notes(server: DirectusServer, collections: int) -> None:
    """One change per collection: a new note on its first generated field.

    Applied as one snapshot: a PATCH per field would make Directus rebuild its schema each time
    (seconds apiece on a 300-collection model).
    """
    snapshot = bare_get(server, "/schema/snapshot")["data"]
    wanted = {f"bench_{c:03d}": c for c in range(collections)}
    for field in snapshot["fields"]:
        if field["field"] == "field_00" and field["collection"] in wanted:
            field["meta"]["note"] = f"Edited note {wanted[field['collection']]}"
    bare_push(server, snapshot)


# --------------------------------------------------------------------------------------------
# The two tools' projects


def measure_cli(
    counter: RequestCounter,
    operation: Operation,
    column: str,
    runner: Callable[[], tuple[float, float, str]],
    number: int,
) -> None:
    """One CLI command into ``operation``'s ``column`` (round ``number``), its requests counted.
    The other CLI failing is a figure too (d6s gives up on a slow request); ours failing ends
    the run."""
    with counter.counting() as requests:
        try:
            seconds, rss, output = runner()
        except SystemExit as failed:
            if column == "directus-gitops":
                raise
            lines = [line.strip() for line in str(failed.code).splitlines() if line.strip()]
            operation.failures.setdefault(column, []).append(" ".join(lines[-2:])[:200])
            print(f"  {column} {operation.key} failed: {lines[-2:]}", flush=True)
            return
    operation.add(column, Sample(seconds, requests(), rss, output, number))


class Projects:
    """One folder per tool and purpose, each with the tool's configuration naming the servers."""

    def __init__(self, work: Path, cli: DirectusCli) -> None:
        self.work = work
        self.cli = cli
        self.home = work / "home"  # d6s may keep credentials under ~/.directus: not the user's
        self.home.mkdir()
        self.env = {**os.environ, "HOME": str(self.home), "NO_INTERACTIVE": "1", "NO_COLOR": "1", **GIT_ENV}

    def set_servers(self, servers: dict[str, DirectusServer]) -> None:
        for name, server in servers.items():
            self.env[f"DIRECTUS_{name.upper()}_TOKEN"] = server.token
        self.servers = servers

    def folder(self, name: str) -> Path:
        folder = self.work / name
        folder.mkdir(exist_ok=True)
        return folder

    def configure(self, folder: Path, names: list[str]) -> None:
        envs = "\n".join(f"  {name}: {{ url: '{self.servers[name].url}', timeout: 600 }}" for name in names)
        (folder / "directus-gitops.yaml").write_text(f"schema_dir: schema\nenvironments:\n{envs}\n")
        profiles = {name: {"url": self.servers[name].url} for name in names}
        (folder / "directus.config.json").write_text(json.dumps({"profiles": profiles, "directory": "directus"}))

    def gitops(self, folder: Path, *arguments: str) -> tuple[float, float, str]:
        return run_process([str(TOOL), *arguments], folder, self.env)

    def d6s(self, folder: Path, *arguments: str) -> tuple[float, float, str]:
        return run_process(self.cli.command("--no-interactive", "--no-color", *arguments), folder, self.env)


def d6s_pull(profile: str) -> list[str]:
    return ["sync", "pull", "--from", profile, *D6S_NO_RESOURCES]


# --------------------------------------------------------------------------------------------
# Report


def summary(samples: list[Sample]) -> tuple[float, float, float]:
    seconds = [sample.seconds for sample in samples]
    return statistics.median(seconds), min(seconds), max(seconds)


def requests_text(samples: list[Sample]) -> str:
    counts = sorted({sample.requests for sample in samples})
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"


def paired_text(samples: list[Sample], bare: list[Sample]) -> str:
    """Median and min–max of each round's ratio to the bare sample of the same round (a failed
    run leaves its round out)."""
    bare_seconds = {sample.round_number: sample.seconds for sample in bare if sample.round_number is not None}
    ratios = [sample.seconds / bare_seconds[sample.round_number] for sample in samples
              if sample.round_number in bare_seconds]  # fmt: skip
    if not ratios:
        return ""
    pairs = f"{len(ratios)} pair" + ("s" if len(ratios) > 1 else "")
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}, {pairs})"


def report(operations: list[Operation], header: str) -> str:
    lines = [header, ""]
    for operation in operations:
        lines += [f"### {operation.title}", ""]
        lines += ["| | median s | min–max s | × bare | × bare per round | × d6s | peak RSS MB | HTTP requests "
                  "| command |"]  # fmt: skip
        lines += ["|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        medians = {column: summary(samples)[0] for column, samples in operation.samples.items()}
        for column in COLUMNS:
            samples = operation.samples.get(column)
            if not samples:
                continue
            median, low, high = summary(samples)
            versus_bare = (
                f"{median / medians['bare HTTP']:.1f}" if "bare HTTP" in medians and column != "bare HTTP" else ""
            )
            per_round = paired_text(samples, operation.samples.get("bare HTTP", [])) if column != "bare HTTP" else ""
            versus_d6s = f"{median / medians['d6s']:.2f}" if "d6s" in medians and column == "directus-gitops" else ""
            rss = [sample.rss_mb for sample in samples if sample.rss_mb is not None]
            peak = f"{max(rss):.0f}" if rss else "–"
            command = operation.commands.get(column, "")
            lines.append(f"| {column} | {median:.3f} | {low:.3f}–{high:.3f} | {versus_bare} | {per_round} "
                         f"| {versus_d6s} | {peak} | {requests_text(samples)} | `{command}` |")  # fmt: skip
        for column, why in operation.failures.items():
            lines.append(f"| {column} | failed {len(why)}× | | | | | | | `{operation.commands.get(column, '')}` |")
        lines.append("")
        for column, why in operation.failures.items():
            lines.append(f"- {column} failed: `{why[-1].replace('`', chr(39))}`")
        for column in COLUMNS:
            if samples := operation.samples.get(column):
                calls = collections.Counter(samples[-1].calls)
                listed = ", ".join(f"{call} ×{n}" if n > 1 else call for call, n in sorted(calls.items()))
                lines.append(f"- {column} (last round): {listed or 'no requests'}")
                printed = [line.strip() for line in samples[-1].output.splitlines() if line.strip()]
                if printed:
                    last = printed[-1][:200].replace("`", "'")
                    lines.append(f"  - its last line of output: `{last}`")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", type=int, default=300)
    parser.add_argument("--fields", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", nargs="?", const=str(ROOT / "bench" / "results.md"), metavar="PATH",
                        help="also write the tables as Markdown (default path: bench/results.md)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (printed) for inspection")
    args = parser.parse_args()
    version = os.environ.get("DIRECTUS_VERSION", "12.4.1")

    # As pip does when it installs a package: the tool's bytecode compiled once (an editable
    # install under PYTHONDONTWRITEBYTECODE would otherwise compile every module at every start).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tool" / "directus_gitops")], check=True)
    cli = install_cli()
    d6s_version = run_process(cli.command("--version"), ROOT, dict(os.environ))[2].strip()
    tool_version = run_process([str(TOOL), "--version"], ROOT, dict(os.environ))[2].strip()

    def header(rounds: int) -> str:
        load = os.getloadavg()
        return (
            f"## directus-gitops vs d6s vs bare HTTP\n\n"
            f"Directus {version} on SQLite; large model {args.collections} collections × {args.fields} fields; "
            f"{rounds} of {args.rounds} rounds, interleaved. {tool_version}; d6s (@directus/cli) {d6s_version}; "
            f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end "
            f"(the server shares the machine with the clients). Medians, min–max over rounds; ratios of "
            f"medians, and the median and min–max of each round's ratio to the bare requests of the same round "
            f"(the rounds where both ran); peak RSS of the client process (max over rounds, GNU time; the bare "
            f"requests run inside this benchmark's process); HTTP requests counted from Directus's request log."
        )

    def write(operations: list[Operation], rounds: int) -> str:
        text = report(operations, header(rounds))
        if args.markdown:  # after every round, so an interrupted run leaves what it measured
            write_section(Path(args.markdown), "compare", text)
        return text

    scratch = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    try:
        operations = run(args, version, cli, scratch, write)
    finally:
        if args.keep:
            print(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(write(operations, args.rounds))
    if args.markdown:
        print(f"written to {args.markdown}")
    return 0


def run(
    args: argparse.Namespace,
    version: str,
    cli: DirectusCli,
    work: Path,
    write: Callable[[list[Operation], int], str],
) -> list[Operation]:
    def large_seed(url: str, token: str, version: str) -> None:
        create_model(url, token, version, args.collections, args.fields)

    step = time.perf_counter()
    empty = build_template(version, work / "template-empty")
    demo = build_template(version, work / "template-demo", seed=seed_demo)
    large = build_template(version, work / "template-large", seed=large_seed)
    print(f"templates built in {time.perf_counter() - step:.0f} s", flush=True)

    def server(name: str, template: Template) -> DirectusServer:
        return DirectusServer(version, work / "servers" / name, template=template, env=SERVER_ENV)

    with contextlib.ExitStack() as stack:
        live = {
            "base": server("base", large),
            "edited": server("edited", large),
            "empty": server("empty", empty),
            "demo": server("demo", demo),
        }
        for each in live.values():
            stack.enter_context(each)
        edit_notes(live["edited"], args.collections)
        projects = Projects(work, cli)
        projects.set_servers(live)
        counter = RequestCounter(list(live.values()))

        # directus-gitops: HEAD~1 = the base model, HEAD = the edited one (the offline diff's
        # two commits, and what plan compares with the base and empty servers).
        main = projects.folder("gitops-main")
        projects.configure(main, ["base", "edited", "empty"])
        git(main, "init", "--quiet", "--initial-branch=main")
        for env in ("base", "edited"):
            projects.gitops(main, "pull", "--env", env)
            git(main, "add", "--all")
            git(main, "commit", "--quiet", "-m", env)
        push_source = projects.folder("gitops-push")
        projects.configure(push_source, ["demo"])
        git(push_source, "init", "--quiet", "--initial-branch=main")
        projects.gitops(push_source, "pull", "--env", "demo")
        git(push_source, "add", "--all")
        git(push_source, "commit", "--quiet", "-m", "demo")
        fresh_pull = {tool: projects.folder(f"{tool}-fresh-pull") for tool in ("gitops", "d6s")}
        projects.configure(fresh_pull["gitops"], ["edited"])
        projects.configure(fresh_pull["d6s"], ["edited"])

        # d6s: its project holds the edited model; another the demo model.
        d6s_main = projects.folder("d6s-main")
        projects.configure(d6s_main, ["base", "edited", "empty"])
        projects.d6s(d6s_main, *d6s_pull("edited"))
        d6s_push = projects.folder("d6s-push")
        projects.configure(d6s_push, ["demo"])
        projects.d6s(d6s_push, *d6s_pull("demo"))

        edited_snapshot = bare_get(live["edited"], "/schema/snapshot")["data"]
        demo_snapshot = bare_get(live["demo"], "/schema/snapshot")["data"]
        live.pop("demo").stop()
        counter.servers = list(live.values())
        bare_get(live["edited"], "/schema/snapshot")  # warm up once
        projects.gitops(main, "diff", "HEAD~1", "HEAD")  # both commits read once (and remembered)

        operations = {
            key: Operation(key, title)
            for key, title in (
                ("floor", "Floor: process start (`--version`) / one request (`GET /server/info`)"),
                ("pull", f"pull, already up to date ({args.collections}×{args.fields} model)"),
                ("plan", f"plan vs a live target, {args.collections} changes"),
                ("plan-cold", f"plan vs a live target, {args.collections} changes, the commit never read before"),
                ("plan-empty", f"plan vs an empty target ({args.collections}×{args.fields} model)"),
                ("push", "push of the demo model into a fresh empty target"),
                (
                    "push-no-backup",
                    "push of the demo model into a fresh empty target, without the backup (`--no-backup`)",
                ),
                ("push-large", f"push of {args.collections} changes into a fresh copy of the live target"),
                ("diff", f"offline diff HEAD~1 HEAD ({args.collections} changes over {args.collections} files)"),
                (
                    "diff-cold",
                    f"offline diff HEAD~1 HEAD ({args.collections} changes over {args.collections} files), "
                    "neither commit read before",
                ),
                ("pull-new", f"pull into an empty folder ({args.collections}×{args.fields} model), for memory"),
                ("status", "status of two environments (one at HEAD, one a commit behind)"),
            )
        }

        # Each sample records the round it ran in (round_number, the loop's variable below), so the
        # report can pair it with the bare sample of the same round.
        def measure_process(key: str, column: str, runner: Callable[[], tuple[float, float, str]]) -> None:
            measure_cli(counter, operations[key], column, runner, round_number)

        def measure_bare(key: str, action: Callable[[], object]) -> None:
            with counter.counting() as requests:
                started = time.perf_counter()
                action()
                seconds = time.perf_counter() - started
            operations[key].add("bare HTTP", Sample(seconds, requests(), round_number=round_number))

        g, d = projects.gitops, projects.d6s
        o = operations
        o["floor"].commands = {"directus-gitops": "directus-gitops --version", "d6s": "d6s --version",
                               "bare HTTP": "GET /server/info"}  # fmt: skip
        o["pull"].commands = {"directus-gitops": "pull --env edited", "d6s": " ".join(d6s_pull("edited")),
                              "bare HTTP": "GET /schema/snapshot"}  # fmt: skip
        o["plan"].commands = {"directus-gitops": "plan --env base", "d6s": "sync diff --to base",
                              "bare HTTP": "GET /server/info + POST /schema/diff"}  # fmt: skip
        o["plan-empty"].commands = {"directus-gitops": "plan --env empty", "d6s": "sync diff --to empty",
                                    "bare HTTP": "GET /server/info + POST /schema/diff"}  # fmt: skip
        o["push"].commands = {"directus-gitops": "push --env fresh --yes", "d6s": "sync push --to fresh --yes",
                              "bare HTTP": "POST /schema/diff + POST /schema/apply + POST /schema/diff"}  # fmt: skip
        o["push-large"].commands = {**o["push"].commands}
        o["push-no-backup"].commands = {"directus-gitops": "push --env fresh --yes --no-backup",
                                        "bare HTTP": o["push"].commands["bare HTTP"]}  # fmt: skip
        o["plan-cold"].commands = {"directus-gitops": "plan --env base (no record of HEAD)",
                                   "bare HTTP": "GET /server/info + POST /schema/diff"}  # fmt: skip
        o["diff"].commands = {"directus-gitops": "diff HEAD~1 HEAD"}
        o["diff-cold"].commands = {"directus-gitops": "diff HEAD~1 HEAD (no record of either commit)"}

        def cold(folder: Path, *arguments: str) -> tuple[float, float, str]:
            """A command as the first one after a clone: nothing remembered of any commit."""
            shutil.rmtree(folder / ".git" / "directus-gitops" / "trees", ignore_errors=True)
            return g(folder, *arguments)

        o["status"].commands = {"directus-gitops": "status --env edited --env base",
                                "bare HTTP": "GET /schema/snapshot on both, at once"}  # fmt: skip
        o["pull-new"].commands = {"directus-gitops": "pull --env edited (no schema/ yet)",
                                  "d6s": " ".join(d6s_pull("edited")) + " (no directus/ yet)",
                                  "bare HTTP": "GET /schema/snapshot"}  # fmt: skip

        def fresh_pull_gitops() -> tuple[float, float, str]:
            shutil.rmtree(fresh_pull["gitops"] / "schema", ignore_errors=True)
            return g(fresh_pull["gitops"], "pull", "--env", "edited")

        def fresh_pull_d6s() -> tuple[float, float, str]:
            shutil.rmtree(fresh_pull["d6s"] / "directus", ignore_errors=True)
            return d(fresh_pull["d6s"], *d6s_pull("edited"))

        steps: list[tuple[str, dict[str, Callable[[], None]]]] = [
            ("floor", {
                "directus-gitops": lambda: measure_process("floor", "directus-gitops", lambda: g(main, "--version")),
                "d6s": lambda: measure_process("floor", "d6s", lambda: d(main, "--version")),
                "bare HTTP": lambda: measure_bare("floor", lambda: bare_get(live["edited"], "/server/info")),
            }),
            ("pull", {
                "directus-gitops": lambda: measure_process("pull", "directus-gitops",
                                                           lambda: g(main, "pull", "--env", "edited")),
                "d6s": lambda: measure_process("pull", "d6s", lambda: d(d6s_main, *d6s_pull("edited"))),
                "bare HTTP": lambda: measure_bare("pull", lambda: bare_get(live["edited"], "/schema/snapshot")),
            }),
            ("plan", {
                "directus-gitops": lambda: measure_process("plan", "directus-gitops",
                                                           lambda: g(main, "plan", "--env", "base")),
                "d6s": lambda: measure_process("plan", "d6s", lambda: d(d6s_main, "sync", "diff", "--to", "base")),
                "bare HTTP": lambda: measure_bare("plan", lambda: bare_plan(live["base"], edited_snapshot)),
            }),
            ("plan-empty", {
                "directus-gitops": lambda: measure_process("plan-empty", "directus-gitops",
                                                           lambda: g(main, "plan", "--env", "empty")),
                "d6s": lambda: measure_process("plan-empty", "d6s",
                                               lambda: d(d6s_main, "sync", "diff", "--to", "empty")),
                "bare HTTP": lambda: measure_bare("plan-empty", lambda: bare_plan(live["empty"], edited_snapshot)),
            }),
            ("diff", {
                "directus-gitops": lambda: measure_process("diff", "directus-gitops",
                                                           lambda: g(main, "diff", "HEAD~1", "HEAD")),
            }),
            ("plan-cold", {
                "directus-gitops": lambda: measure_process("plan-cold", "directus-gitops",
                                                           lambda: cold(main, "plan", "--env", "base")),
                "bare HTTP": lambda: measure_bare("plan-cold", lambda: bare_plan(live["base"], edited_snapshot)),
            }),
            ("diff-cold", {
                "directus-gitops": lambda: measure_process("diff-cold", "directus-gitops",
                                                           lambda: cold(main, "diff", "HEAD~1", "HEAD")),
            }),
            ("status", {
                "directus-gitops": lambda: measure_process("status", "directus-gitops", lambda: g(
                    main, "status", "--env", "edited", "--env", "base")),
                "bare HTTP": lambda: measure_bare("status", lambda: bare_snapshots([live["edited"], live["base"]])),
            }),
            ("pull-new", {
                "directus-gitops": lambda: measure_process("pull-new", "directus-gitops", fresh_pull_gitops),
                "d6s": lambda: measure_process("pull-new", "d6s", fresh_pull_d6s),
                "bare HTTP": lambda: measure_bare("pull-new", lambda: bare_get(live["edited"], "/schema/snapshot")),
            }),
        ]  # fmt: skip

        for round_number in range(args.rounds):
            started = time.perf_counter()
            order = COLUMNS[round_number % 3 :] + COLUMNS[: round_number % 3]
            for _key, runners in steps:
                for column in order:
                    if column in runners:
                        runners[column]()
            # push: a fresh target per client, started (outside the timing) from a template: the
            # demo model into an empty one, the edited large model into a copy of the live one
            # (and the demo model once more without the backup: what the backup costs, for
            # comparison with d6s, which keeps none)
            pushes = (("push", empty, demo_snapshot, push_source, d6s_push, ()),
                      ("push-no-backup", empty, demo_snapshot, push_source, None, ("--no-backup",)),
                      ("push-large", large, edited_snapshot, main, d6s_main, ()))  # fmt: skip
            for key, template, snapshot, gitops_folder, d6s_folder, flags in pushes:
                for column in order:
                    if column == "d6s" and d6s_folder is None:
                        continue
                    name = f"fresh-{key}-{round_number}-{column.split()[0]}"
                    with server(name, template) as target:
                        live["fresh"] = target
                        projects.set_servers(live)
                        counter.servers = list(live.values())
                        if column == "bare HTTP":
                            measure_bare(key, lambda t=target, s=snapshot: bare_push(t, s))
                        else:
                            folder = gitops_folder if column == "directus-gitops" else d6s_folder
                            assert folder is not None
                            others = ["base", "edited", "empty"] if folder in (main, d6s_main) else []
                            projects.configure(folder, ["fresh", *others])
                            if column == "directus-gitops":
                                measure_process(
                                    key, column, lambda f=folder, x=flags: g(f, "push", "--env", "fresh", "--yes", *x)
                                )
                            else:
                                measure_process(key, column, lambda f=folder: d(f, "sync", "push", "--to", "fresh",
                                                                                "--yes"))  # fmt: skip
                        live.pop("fresh")
                        counter.servers = list(live.values())
                    shutil.rmtree(work / "servers" / name, ignore_errors=True)
            print(f"round {round_number + 1}/{args.rounds} done in {time.perf_counter() - started:.0f} s", flush=True)
            write(list(operations.values()), round_number + 1)
    return list(operations.values())


if __name__ == "__main__":
    sys.exit(main())
