#!/usr/bin/env python3
"""Benchmark: peak memory of ``check`` on the largest snapshot file it accepts.

Builds a generated model (tests/synthetic.py) large enough that Directus's own single-file
snapshot of it comes just under ``store.MAX_FILE_BYTES`` (the worst case: one file holding
everything), then runs ``directus-gitops check FILE`` in a new process and reports its wall
time and peak resident memory (the process's own maximum RSS, from ``wait4``). A file one
byte over the limit is run too: it must be refused without being read.

Nothing is asserted: these are figures to read (and to quote in the README).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directus_gitops.files import (
    store,
    yamlio,
)
from tests import synthetic

TOOL = Path(sys.executable).with_name("directus-gitops")


def run_check(path: Path) -> tuple[int, float, float]:
    """(exit code, seconds, peak RSS in MB) of ``directus-gitops check path``."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(str(TOOL), [str(TOOL), "check", str(path)])
    _, status, usage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> int:
    limit = store.MAX_FILE_BYTES
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        probe = yamlio.dump(synthetic.model(collections=100, fields=20))
        per_collection = len(probe.encode()) / 100
        collections = int(limit * 0.97 / per_collection)
        text = yamlio.dump(synthetic.model(collections=collections, fields=20))
        while len(text.encode()) > limit:
            collections = int(collections * 0.98)
            text = yamlio.dump(synthetic.model(collections=collections, fields=20))
        largest = Path(scratch) / "snapshot.yaml"
        largest.write_text(text)
        size = largest.stat().st_size
        code, seconds, peak = run_check(largest)
        mb = 1024 * 1024
        print(
            f"largest accepted: {size / mb:.1f} MB ({collections} collections x 20 fields), limit {limit / mb:.0f} MB"
        )
        ratio = peak * mb / size
        print(f"  check: exit {code}, {seconds:.1f} s, peak memory {peak:.0f} MB ({ratio:.1f}x the file)")

        over = Path(scratch) / "over.yaml"
        with over.open("w") as out:
            out.write(text)
            out.write("#" * (limit - size + 1) + "\n")
        code, seconds, peak = run_check(over)
        print(f"over the limit: {over.stat().st_size / 1024 / 1024:.1f} MB")
        print(f"  check: exit {code} (refused), {seconds:.1f} s, peak memory {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
