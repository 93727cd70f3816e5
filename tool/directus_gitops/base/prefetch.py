"""Work started in the background, before what can be done while it runs.

``pull`` mostly waits for Directus to build its snapshot (seconds on a large model). Sending
that request first lets the rest of the tool load, an interrupted write be recovered and the
files on disk be read in that time rather than before it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Prefetch(Generic[T]):
    """Runs ``work`` in a thread at once; :meth:`result` waits for it and returns its value or
    raises its exception. :meth:`discard` hands a result nobody will take to ``cleanup``."""

    def __init__(self, work: Callable[[], T], cleanup: Callable[[T], object] = lambda _: None) -> None:
        self._work = work
        self._cleanup = cleanup
        self._lock = threading.Lock()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._finished = False
        self._wanted = True
        self._taken = False
        self._thread = threading.Thread(target=self._run, name="directus-gitops-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            value = self._work()
        except BaseException as exc:  # handed over to the thread that waits: it decides
            with self._lock:
                self._error, self._finished = exc, True
            return
        with self._lock:
            self._value, self._finished = value, True
            wanted = self._wanted
        if not wanted:
            self._cleanup(value)

    def result(self) -> T:
        self._thread.join()
        self._taken = True
        if self._error is not None:
            raise self._error
        value, self._value = self._value, None  # the caller owns it now (and may free it)
        return value  # type: ignore[return-value]

    def discard(self) -> None:
        """No :meth:`result` will be taken: clean up the value now or when it arrives."""
        if self._taken:
            return
        with self._lock:
            self._wanted = False
            done = self._finished and self._error is None
        if done:
            self._cleanup(self._value)  # type: ignore[arg-type]
