"""Files made by Directus's own command line are read, and ours are read by it.

``directus schema snapshot`` writes a snapshot file; the tool accepts it wherever it reads a
snapshot. Our single layout's ``snapshot.yaml`` is in Directus's shape, so ``directus schema
apply`` takes it as it is.
"""

from __future__ import annotations

from typing import Any

import demo_model

from directus_gitops.files import snapshot as snap
from tests.conftest import Project


def entities(snapshot: dict[str, Any]) -> set[tuple[str, ...]]:
    return {("collection", c["collection"]) for c in snapshot["collections"]} | {
        (f["collection"], f["field"]) for f in snapshot["fields"]
    }


def test_directus_own_snapshot_file_can_be_committed_and_pushed(project: Project, seeded: Any, empty: Any) -> None:
    project.schema.mkdir()
    made = seeded.run_cli("schema", "snapshot", "--yes", "--format", "yaml", str(project.schema / "snapshot.yaml"))
    assert made.returncode == 0, made.stdout + made.stderr
    project.configure(prod=empty.url)
    project.token("prod", empty.token)
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "Directus's own snapshot file")

    result = project.run("push", "--env", "prod", "--yes")
    assert result.code == 0, result.output
    assert entities(demo_model.snapshot(empty.url, empty.token)) == entities(
        demo_model.snapshot(seeded.url, seeded.token)
    )

    assert project.run("diff", "HEAD", str(project.schema / "snapshot.yaml"), "--exit-code").code == 0


def test_directus_schema_apply_accepts_our_single_layout(project: Project, seeded: Any, empty: Any) -> None:
    project.configure(dev=seeded.url)
    project.token("dev", seeded.token)
    assert project.run("pull", "--layout", "single").code == 0
    ours = project.schema / "snapshot.yaml"

    empty.stop()  # the running server would keep its cached schema
    applied = empty.run_cli("schema", "apply", "--yes", str(ours))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    empty.start()
    target = demo_model.snapshot(empty.url, empty.token)
    assert entities(target) == entities(demo_model.snapshot(seeded.url, seeded.token))
    assert (
        snap.canonical(target)["relations"]
        == snap.canonical(demo_model.snapshot(seeded.url, seeded.token))["relations"]
    )
