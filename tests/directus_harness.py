"""Real Directus servers for the tests.

Register the fixture for every test in ``tests/conftest.py`` with
``pytest_plugins = ["tests.directus_harness"]``, or import what you need from here.

Servers start from template databases, bootstrapped (and seeded with the demo model) once per
version per test session, so a new server costs a copy and a start (2-3 s) instead of a
bootstrap too. Nothing here skips: a server that cannot be installed or started fails the test.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

# scripts/ is not a package: the server and model helpers are also run as plain scripts.
_SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
if str(_SCRIPTS) not in sys.path:
    sys.path.insert(0, str(_SCRIPTS))

import demo_model  # noqa: E402
from directus_server import DirectusServer, Template, build_template, cache_root  # noqa: E402

__all__ = ["DEFAULT_VERSIONS", "ServerPool", "demo_model", "directus_pool", "versions_under_test"]

DEFAULT_VERSIONS = ("12.4.1",)


def versions_under_test() -> list[str]:
    """Directus versions from ``$DIRECTUS_VERSIONS`` (space or comma separated)."""
    versions = [v for v in re.split(r"[\s,]+", os.environ.get("DIRECTUS_VERSIONS", "")) if v]
    return versions or list(DEFAULT_VERSIONS)


class ServerPool:
    """Starts servers under ``root`` and stops them all in ``close_all``.

    Each server holds about 250 MB of memory until stopped: a fixture that is done with one
    should ``stop()`` it rather than leave it to ``close_all`` at the end of the session.
    """

    def __init__(self, root: Path, cache: Path | None = None) -> None:
        self.root = Path(root)
        # Resolved now: tests may point HOME (the default cache's parent) elsewhere later.
        self.cache = cache if cache is not None else cache_root()
        self._templates: dict[tuple[str, bool], Template] = {}
        self._servers: list[DirectusServer] = []

    def template(self, version: str, seeded: bool) -> Template:
        """The session's template database for ``version``, built on first use."""
        key = (version, seeded)
        if key not in self._templates:
            folder = self.root / "templates" / f"{version}-{'seeded' if seeded else 'empty'}"
            self._templates[key] = build_template(
                version, folder, seed=demo_model.seed if seeded else None, cache=self.cache
            )
        return self._templates[key]

    def new_server(
        self,
        version: str,
        seeded: bool = False,
        *,
        max_payload_size: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> DirectusServer:
        """A running server of its own: empty, or holding the demo model when ``seeded``."""
        template = self.template(version, seeded)
        workdir = self.root / "servers" / f"{len(self._servers) + 1:03d}-{version}"
        server = DirectusServer(
            version, workdir, template=template, cache=self.cache, max_payload_size=max_payload_size, env=env
        )
        self._servers.append(server)
        return server.start()

    def close_all(self) -> None:
        """Stop every server started here (those already stopped are skipped)."""
        failures: list[Exception] = []
        while self._servers:
            try:
                self._servers.pop().stop()
            except Exception as error:  # stop the others before reporting
                failures.append(error)
        if failures:
            raise failures[0]


_POOL = pytest.StashKey[ServerPool]()


@pytest.fixture(scope="session")
def directus_pool(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ServerPool:
    """The session's one ServerPool, whichever module registered the fixture."""
    # Kept on the pytest config so that a test module importing this fixture and a conftest
    # registering it share the pool (and its templates) instead of building two.
    stash = request.config.stash
    if _POOL not in stash:
        pool = ServerPool(tmp_path_factory.mktemp("directus"))
        stash[_POOL] = pool
        request.config.add_cleanup(pool.close_all)
    return stash[_POOL]
