"""Progress on slow work, on stderr: what is happening and for how long.

On a terminal, one line rewritten in place while the work runs, and wiped when it ends. In
CI logs (no terminal), a line every ``INTERVAL`` seconds, so a long plan or apply is never
silent for long, and nothing at all for work that ends sooner. Never on stdout, which holds
results (a JSON document must stay parseable).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

INTERVAL = 4.0  # seconds between lines in a log; the issue asks for at least one every 5 s
LIVE_PERIOD = 0.25  # seconds between redraws of the live line
_SPINNER = "|/-\\"


def elapsed(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


class Progress:
    def __init__(self, stream: TextIO, *, live: bool) -> None:
        self.stream = stream
        self.live = live

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Report ``what`` while the block runs (in a helper thread: the block may wait on
        the network for minutes)."""
        start = time.monotonic()
        done = threading.Event()
        period = LIVE_PERIOD if self.live else INTERVAL
        lock = threading.Lock()

        def report() -> None:
            ticks = 0
            while not done.wait(period):
                ticks += 1
                with lock:
                    if done.is_set():
                        return
                    self._show(what, time.monotonic() - start, ticks)

        thread = threading.Thread(target=report, name="progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            with lock:
                done.set()
            thread.join()
            took = time.monotonic() - start
            if self.live:
                self._write("\r\x1b[K")
            elif took >= INTERVAL:
                self._write(f"{what}: done after {elapsed(took)}\n")

    def _show(self, what: str, seconds: float, ticks: int) -> None:
        if self.live:
            self._write(f"\r\x1b[K{_SPINNER[ticks % len(_SPINNER)]} {what} … {elapsed(seconds)}")
        else:
            self._write(f"{what} … {elapsed(seconds)}\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not break the work
            pass
