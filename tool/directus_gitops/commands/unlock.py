"""``unlock``: break a server's push lock left by a run that was killed (see lock.py)."""

from __future__ import annotations

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode, RefusedError
from directus_gitops.model.config import Config, Target
from directus_gitops.server import lock
from directus_gitops.server.client import DirectusClient


def run(config: Config, target: Target, console: Console, *, yes: bool) -> int:
    with DirectusClient(target) as client:
        holder = lock.current(client)
        if holder is None:
            console.info(f"'{target.name}' is not locked: nothing to do.")
            return ExitCode.OK
        console.info(f"'{target.name}' is locked: {holder.describe()}.")
        if not yes:
            if not console.interactive:
                raise RefusedError("no terminal to confirm breaking the lock; pass --yes to break it")
            if not console.confirm("Break this lock? Only do so when that run is gone."):
                raise RefusedError("lock left in place")
        lock.force_unlock(client)
    console.info(f"Broke the lock on '{target.name}' ({holder.describe()}).")
    return ExitCode.OK
