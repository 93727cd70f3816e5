"""What the benchmarks share: the generated model they push to a server, and running a command
while measuring its wall time and its own peak memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


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


# A child's peak RSS as wait4 reports it starts at its parent's: Linux carries the high-water
# mark of the memory a process had before exec over to what it execs, so every command started
# from this (large) process would read at least this process's size. GNU time forks the
# command from a small process of its own and reports the command's own peak; without it the
# figures are only upper bounds.
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def run_process(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``command``; return its wall seconds, its peak RSS in MB and its output."""
    with tempfile.TemporaryFile() as output, tempfile.NamedTemporaryFile(mode="r") as peak:
        wrapped = [GNU_TIME, "-f", "%M", "-o", peak.name, *command] if GNU_TIME else command
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
        reported = peak.read().split()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} (in {cwd}) exited {process.returncode}:\n{text[-3000:]}")
    kilobytes = int(reported[-1]) if GNU_TIME and reported else usage.ru_maxrss
    return seconds, kilobytes / 1024, text


def write_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` in ``path`` between its ``<!-- begin name -->`` and ``<!-- end name -->``
    lines (at the end when there are none), leaving every other benchmark's section alone."""
    begin, end = f"<!-- begin {name} -->\n", f"<!-- end {name} -->\n"
    current = path.read_text() if path.exists() else ""
    block = f"{begin}{text.rstrip()}\n{end}"
    if begin in current and end in current:
        before, rest = current.split(begin, 1)
        current = before + block + rest.split(end, 1)[1]
    else:
        current = current + ("\n" if current else "") + block
    path.write_text(current)
