"""One push at a time per target: a lock kept on the target itself, where every machine sees it.

Directus's hash check is not atomic: two pushes that diff at the same moment can both be
accepted. The lock is a record with a fixed primary key in a collection every Directus
has, ``directus_folders`` (a uuid key; a folder of the file library, which is data, never
part of the schema or of a snapshot). Creating a row with a primary key that already
exists fails in the database itself, on SQLite, PostgreSQL and MariaDB alike, so exactly
one of two racing creates succeeds: that push holds the lock, and deleting the row
releases it. The folder's name says who holds it and since when, for the push that waits
or refuses and for ``unlock``, which breaks a lock left by a run that was killed.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from directus_gitops.base.console import one_line
from directus_gitops.base.errors import RefusedError

if TYPE_CHECKING:
    from directus_gitops.server.client import DirectusClient

# The same on every target and every run: the lock is this one row.
LOCK_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://directus-gitops.invalid/push-lock"))
PREFIX = "directus-gitops push lock"
POLL_SECONDS = 2.0  # the longest pause between two tries
RETRY_SECONDS = 0.1  # the first pause; each next one doubles
# Released between our create and our read: tried again at once a few times, even past the wait.
UNSEEN_RETRIES = 3
_NAME = re.compile(rf"{re.escape(PREFIX)} \| held by (?P<who>.*?) \| since (?P<since>\S+)(?: \| (?P<what>.*))?\Z")


@dataclass(frozen=True)
class Holder:
    """Who holds a target's lock, since when, and for what."""

    who: str
    since: str  # ISO 8601, UTC
    what: str

    def describe(self) -> str:
        what = f" ({self.what})" if self.what else ""
        return f"held by {self.who} since {self.since}{what}"


def whoami() -> str:
    """The user, machine and process, and the CI job when there is one."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    parts = [f"{user}@{socket.gethostname()} pid {os.getpid()}"]
    for variable, label in (
        ("GITHUB_RUN_ID", "GitHub run"),
        ("CI_JOB_ID", "GitLab job"),
        ("BUILD_ID", "build"),
    ):
        if os.environ.get(variable):
            parts.append(f"{label} {os.environ[variable]}")
    return ", ".join(parts)


def record_name(holder: Holder) -> str:
    name = f"{PREFIX} | held by {holder.who} | since {holder.since}"
    if holder.what:
        name += f" | {holder.what}"
    return name[:255]  # the folder name column's size


def parse_name(name: str) -> Holder:
    name = one_line(name)  # the server's text: never a control character on the terminal
    found = _NAME.match(name)
    if found is None:  # written by someone else, or cut short: show it as it is
        return Holder(who=name, since="an unknown time", what="")
    return Holder(found["who"], found["since"], found["what"] or "")


def current(client: DirectusClient) -> Holder | None:
    """Who holds the target's lock now; None when nobody does."""
    name = client.lock_record(LOCK_ID)
    return None if name is None else parse_name(name)


def acquire(
    client: DirectusClient,
    what: str,
    *,
    wait: float = 0.0,
    info: Callable[[str], None] = lambda message: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Holder:
    """Take the target's lock, waiting up to ``wait`` seconds for its holder to finish;
    :class:`RefusedError` (exit 3) names the holder when it does not in time.

    Every retry waits a little longer than the one before (up to :data:`POLL_SECONDS`), and
    none starts after ``wait`` has passed: a server that refuses the row but then cannot show
    it (it was released between the two requests, or the server answers oddly) costs a few
    requests, never a loop."""
    give_up = clock() + wait
    told = False
    pause = RETRY_SECONDS
    unseen = 0
    while True:
        mine = Holder(whoami(), datetime.now(UTC).isoformat(timespec="seconds"), what)
        if client.create_lock_record(LOCK_ID, record_name(mine)):
            return mine
        holder = current(client)
        if holder is None:
            unseen += 1
        if clock() >= give_up and (holder is not None or unseen > UNSEEN_RETRIES):
            if holder is None:
                raise RefusedError(
                    f"'{client.target.name}' refused the push lock, but its holder cannot be read "
                    f"(tried {unseen} times); nothing was applied",
                    hint="check that the token may read and create folders (directus_folders); if a lock was "
                    f"left by a run that was killed: directus-gitops unlock --env {client.target.name}",
                )
            raise RefusedError(
                f"'{client.target.name}' is locked by another push: {holder.describe()}; nothing was applied",
                hint=(
                    "wait for it to finish (--lock-timeout waits for you); if that run was killed, "
                    f"break the lock with: directus-gitops unlock --env {client.target.name}"
                ),
            )
        if holder is not None and not told:
            info(f"'{client.target.name}' is locked ({holder.describe()}); waiting up to {wait:g} s …")
            told = True
        sleep(min(pause, max(0.0, give_up - clock())) if holder is not None else pause)
        pause = min(pause * 2, POLL_SECONDS)


def release(client: DirectusClient) -> None:
    client.delete_lock_record(LOCK_ID)


@contextmanager
def held(
    client: DirectusClient, what: str, *, wait: float = 0.0, info: Callable[[str], None] = lambda message: None
) -> Iterator[Holder]:
    """The target's lock for the duration of the block, released on every way out of it."""
    mine = acquire(client, what, wait=wait, info=info)
    try:
        yield mine
    finally:
        release(client)


def force_unlock(client: DirectusClient) -> Holder | None:
    """Break the lock whoever holds it; the holder it had, or None when there was none."""
    holder = current(client)
    if holder is not None:
        client.delete_lock_record(LOCK_ID)
    return holder
