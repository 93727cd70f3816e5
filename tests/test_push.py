"""plan and push against real Directus servers: the committed snapshot applied safely."""

from __future__ import annotations

import json
from typing import Any

import demo_model
import pytest

from directus_gitops.engine import backup
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from directus_gitops.model import changes
from directus_gitops.model.config import Target
from directus_gitops.server.client import DirectusClient
from tests.conftest import Project, Result


class Loop:
    """A project pulling from ``dev`` (the demo model) and pushing to ``prod`` (empty at first)."""

    def __init__(self, project: Project, dev: Any, prod: Any) -> None:
        self.project, self.dev, self.prod = project, dev, prod
        self.outputs: list[str] = []
        project.configure(dev=dev.url, prod=prod.url)
        project.token("dev", dev.token)
        project.token("prod", prod.token)

    def run(self, *args: str) -> Result:
        result = self.project.run(*args)
        self.outputs.append(result.output)
        return result

    def pull(self, message: str | None = None) -> None:
        args = ["pull", "--env", "dev", "--commit"] + (["-m", message] if message else [])
        result = self.run(*args)
        assert result.code == 0, result.output

    def push(self, *args: str) -> Result:
        return self.run("push", "--env", "prod", *args)

    def plan_json(self, *args: str) -> dict[str, Any]:
        result = self.run("plan", "--env", "prod", "--format", "json", *args)
        assert result.code == 0, result.output
        return json.loads(result.out)  # type: ignore[no-any-return]

    def prod_snapshot(self) -> dict[str, Any]:
        return demo_model.snapshot(self.prod.url, self.prod.token)  # type: ignore[no-any-return]

    def committed(self, rev: str = "HEAD") -> dict[str, Any]:
        from directus_gitops.files.gitrepo import Repo

        _, read = Repo(self.project.root).tree_reader(rev, "schema")
        return store.parse_tree(read, rev).snapshot


@pytest.fixture
def loop(project: Project, seeded: Any, empty: Any) -> Loop:
    result = Loop(project, seeded, empty)
    result.pull()
    return result


def entities(snapshot: dict[str, Any]) -> set[tuple[str, ...]]:
    return (
        {("collection", c["collection"]) for c in snapshot["collections"]}
        | {("field", f["collection"], f["field"]) for f in snapshot["fields"]}
        | {("relation", r["collection"], r["field"]) for r in snapshot["relations"]}
    )


def planned(plan: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["action"], c["kind"], c["name"]) for c in plan["changes"]}


def test_push_into_an_empty_target_creates_everything(loop: Loop) -> None:
    result = loop.push("--yes")
    assert result.code == 0, result.output
    assert "Plan: " in result.out and " to add, 0 to change, 0 to destroy." in result.out
    assert entities(loop.prod_snapshot()) == entities(loop.committed())

    again = loop.push("--yes")
    assert again.code == 0, again.output
    assert "already matches" in again.out
    assert loop.run("plan", "--env", "prod", "--exit-code").code == 0


def test_a_committed_change_is_planned_exactly_and_applied(loop: Loop) -> None:
    assert loop.push("--yes").code == 0
    demo_model.add_field(loop.dev.url, loop.dev.token, "authors", "website")
    demo_model.set_field_note(loop.dev.url, loop.dev.token, "authors", "name", "Full name, as printed")
    loop.pull()

    plan = loop.plan_json()
    assert planned(plan) == {("create", "field", "authors.website"), ("update", "field", "authors.name")}
    note = next(c for c in plan["changes"] if c["action"] == "update")
    assert [p for p in note["properties"] if p["path"] == "meta.note"] == [
        {"path": "meta.note", "old": "Display name.", "new": "Full name, as printed"}
    ] or [p["new"] for p in note["properties"] if p["path"] == "meta.note"] == ["Full name, as printed"]
    assert plan["summary"]["add"] == 1 and plan["summary"]["change"] == 1 and plan["summary"]["destroy"] == 0
    assert loop.run("plan", "--env", "prod", "--exit-code").code == 2

    text = loop.push("--yes")
    assert text.code == 0, text.output
    assert "+ field authors.website (string)" in text.out
    assert "      meta.note: " in text.out and '→ "Full name, as printed"' in text.out
    prod_field = next(f for f in loop.prod_snapshot()["fields"] if (f["collection"], f["field"]) == ("authors", "name"))
    assert prod_field["meta"]["note"] == "Full name, as printed"
    assert loop.run("plan", "--env", "prod", "--exit-code").code == 0


def test_removing_a_collection_needs_allow_data_loss(loop: Loop) -> None:
    assert loop.push("--yes").code == 0
    demo_model.delete_collection(loop.dev.url, loop.dev.token, "settings")
    loop.pull()

    refused = loop.push("--yes")
    assert refused.code == 3, refused.output
    assert "can lose data" in refused.err and "--allow-data-loss" in refused.err
    assert "! data loss: drops the table and all its rows" in refused.out
    assert ("collection", "settings") in entities(loop.prod_snapshot()), "nothing may be applied"

    # A dry run attempts nothing, so it refuses nothing: the plan, a warning, exit 0.
    dry = loop.push("--dry-run")
    assert dry.code == 0, dry.output
    assert "! data loss: drops the table and all its rows" in dry.out
    assert "warning: a push would refuse: 1 change(s) can lose data (settings)" in dry.err

    allowed = loop.push("--yes", "--allow-data-loss")
    assert allowed.code == 0, allowed.output
    assert ("collection", "settings") not in entities(loop.prod_snapshot())


def test_a_saved_plan_applies_only_to_the_unchanged_target(loop: Loop) -> None:
    plan_file = loop.project.root / "prod.plan.json"
    assert loop.run("plan", "--env", "prod", "--out", str(plan_file)).code == 0
    saved = json.loads(plan_file.read_text())
    assert saved["target"]["url"] == loop.prod.url and saved["hash"]

    # Someone changes the target after the plan was made.
    demo_model.create_collection(loop.prod.url, loop.prod.token, "hotfix")
    stale = loop.push("--plan", str(plan_file), "--yes")
    assert stale.code == 3, stale.output
    assert "changed after this plan was made" in stale.err
    assert entities(loop.prod_snapshot()) == {("collection", "hotfix"), ("field", "hotfix", "id")}

    fresh = loop.project.root / "fresh.plan.json"
    assert loop.run("plan", "--env", "prod", "--out", str(fresh)).code == 0
    # Elsewhere the plan names the environment it was made for.
    elsewhere = loop.run("push", "--env", "dev", "--plan", str(fresh), "--yes")
    assert elsewhere.code == 3 and "hint: push it to the environment it was made for: --env prod" in elsewhere.err
    # The command plan --out suggests, as it is: the plan says its environment.
    applied = loop.run("push", "--plan", str(fresh), "--yes", "--allow-data-loss")
    assert applied.code == 0, applied.output
    assert entities(loop.prod_snapshot()) == entities(loop.committed())


def test_pushing_an_older_revision_rolls_back(loop: Loop) -> None:
    assert loop.push("--yes").code == 0
    demo_model.add_field(loop.dev.url, loop.dev.token, "tags", "color")
    loop.pull()
    assert loop.push("--yes").code == 0
    assert ("field", "tags", "color") in entities(loop.prod_snapshot())

    rollback = loop.push("--ref", "HEAD~1", "--yes", "--allow-data-loss")
    assert rollback.code == 0, rollback.output
    assert "- field tags.color" in rollback.out
    assert entities(loop.prod_snapshot()) == entities(loop.committed("HEAD~1"))


def test_without_a_terminal_push_needs_yes(loop: Loop) -> None:
    result = loop.push()
    assert result.code == 3
    assert "pass --yes" in result.err
    assert loop.prod_snapshot()["collections"] == []


def test_dry_run_applies_nothing(loop: Loop) -> None:
    result = loop.push("--dry-run")
    assert result.code == 0 and "Dry run" in result.err
    assert loop.prod_snapshot()["collections"] == []


def test_backup_holds_the_target_schema_from_before(loop: Loop) -> None:
    demo_model.create_collection(loop.prod.url, loop.prod.token, "legacy")
    before = loop.prod_snapshot()
    # The bytes of the backup made from the target read whole (the way before it was written
    # as it is read, issue 30), header aside.
    with DirectusClient(Target("prod", loop.prod.url, "DIRECTUS_PROD_TOKEN", loop.prod.token, 30)) as client:
        whole = "".join(backup.text(client.snapshot())).encode()
    result = loop.push("--yes", "--allow-data-loss")
    assert result.code == 0, result.output
    folder = loop.project.root / ".directus-gitops" / "backups"
    backups = list(folder.glob("prod-*.yaml"))
    assert len(backups) == 1 and str(backups[0].name) in result.err
    assert [p.name for p in folder.iterdir()] == [backups[0].name]  # nothing staged is left
    header, _, written = backups[0].read_bytes().partition(b"\n")
    assert header.startswith(f"# Schema of 'prod' ({loop.prod.url}) before a push, ".encode())
    assert written == whole
    restored = store.load_path(backups[0]).snapshot
    assert snap.canonical(restored) == snap.canonical(before)
    # The backup is a snapshot Directus accepts: pushing it restores the old schema.
    back = loop.push("--from", str(backups[0]), "--yes", "--allow-data-loss", "--no-backup")
    assert back.code == 0, back.output
    assert entities(loop.prod_snapshot()) == entities(before)


def test_a_push_that_stops_leaves_no_backup_behind(loop: Loop) -> None:
    # The backup is made while the diff is computed, before the confirmation: kept only when
    # the push goes on, and nothing of it is left when it stops.
    folder = loop.project.root / ".directus-gitops" / "backups"
    unconfirmed = loop.push()
    assert unconfirmed.code == 3 and "pass --yes" in unconfirmed.err
    assert loop.push("--dry-run").code == 0
    assert not folder.exists() and not folder.parent.exists()
    assert loop.push("--yes").code == 0
    kept = sorted(folder.iterdir())
    assert len(kept) == 1
    nothing = loop.push("--yes")
    assert nothing.code == 0 and "already matches" in nothing.out
    demo_model.delete_collection(loop.dev.url, loop.dev.token, "settings")
    loop.pull()
    refused = loop.push("--yes")
    assert refused.code == 3 and "can lose data" in refused.err
    assert sorted(folder.iterdir()) == kept


def test_uncommitted_changes_are_named_and_not_pushed(loop: Loop) -> None:
    authors = loop.project.schema / "collections/authors.yaml"
    authors.write_text(authors.read_text().replace("collection: authors\n", "collection: authors\n# local edit\n", 1))
    result = loop.push("--yes")
    assert result.code == 0, result.output
    assert "uncommitted changes under schema/ are not pushed: schema/collections/authors.yaml" in result.err


def test_a_snapshot_from_another_version_is_explained(loop: Loop) -> None:
    manifest = loop.project.schema / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace(f"directus: {loop.dev.version}", "directus: 9.26.0"))
    loop.project.git("commit", "--quiet", "-am", "Pretend an older source")
    result = loop.run("plan", "--env", "prod")
    assert result.code == 1
    assert "taken on Directus 9.26.0" in result.err and "--force" in result.err
    plan_file = loop.project.root / "forced.plan.json"
    forced = loop.run("plan", "--env", "prod", "--force", "--out", str(plan_file))
    assert forced.code == 0, forced.output
    assert "to add" in forced.out
    # The saved plan remembers --force, so verifying after the apply compares the same way.
    applied = loop.push("--plan", str(plan_file), "--yes")
    assert applied.code == 0, applied.output
    assert entities(loop.prod_snapshot()) == entities(loop.committed())


def test_large_snapshots_are_sent_as_uploads(loop: Loop) -> None:
    # Directus refuses JSON bodies over 1 MB by default; the tool must still push this.
    # Each request stays under that limit; together the snapshot goes over it. Each note stays
    # under 64 KB, the size of the note column on MySQL/MariaDB.
    fields = [
        (f["collection"], f["field"])
        for f in demo_model.snapshot(loop.dev.url, loop.dev.token)["fields"]
        if f.get("meta") and f["meta"].get("note") is None
    ][:24]
    for index, (collection, field) in enumerate(fields):
        demo_model.set_field_note(loop.dev.url, loop.dev.token, collection, field, f"Long note {index:02d}. " * 4_500)
    loop.pull()
    assert len(json.dumps(loop.committed())) > 1_200_000
    result = loop.push("--yes")
    assert result.code == 0, result.output
    notes = {(f["collection"], f["field"]): f["meta"]["note"] for f in loop.prod_snapshot()["fields"]}
    assert notes[fields[4]] == "Long note 04. " * 4_500


def test_the_token_never_appears_in_output_or_files(loop: Loop) -> None:
    plan_file = loop.project.root / "p.json"
    loop.run("plan", "--env", "prod", "--out", str(plan_file), "--format", "json")
    loop.push("--plan", str(plan_file), "--yes")
    loop.push("--yes")
    for token in (loop.dev.token, loop.prod.token):
        assert all(token not in output for output in loop.outputs)
        for path in loop.project.root.rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), path


def test_offline_comparison_agrees_with_what_was_applied(loop: Loop) -> None:
    assert loop.push("--yes").code == 0
    left = changes.compare(loop.prod_snapshot(), loop.committed())
    leftover = {(c.kind, c.name) for c in left}
    assert leftover == set(), leftover


def test_a_relation_whose_other_half_is_missing_is_pushed_with_a_warning(loop: Loop) -> None:
    """An m2m missing its other half (the junction's second field and its relation, and the
    alias), as Directus exports and applies it: the relation left names a junction_field and a
    one_field the snapshot lacks. Only warnings (check --strict refuses them); push sends them
    and the target converges."""
    half = loop.committed()
    gone = {("articles_tags", "tags_id"), ("articles", "tags")}
    half["fields"] = [f for f in half["fields"] if (f["collection"], f["field"]) not in gone]
    half["relations"] = [r for r in half["relations"] if (r["collection"], r["field"]) != ("articles_tags", "tags_id")]
    left = next(r for r in half["relations"] if (r["collection"], r["field"]) == ("articles_tags", "articles_id"))
    assert left["meta"]["junction_field"] == "tags_id" and left["meta"]["one_field"] == "tags"
    store.write_tree(loop.project.schema, store.render(half))
    loop.project.git("add", "schema")
    loop.project.git("commit", "--quiet", "-m", "the other half of articles ↔ tags is gone")
    assert loop.run("check", "--strict").code == 1

    result = loop.push("--yes")
    assert result.code == 0, result.output
    assert "warning: HEAD" in result.err and "junction field 'articles_tags.tags_id' is not defined" in result.err
    assert "one_field 'articles.tags' is not defined" in result.err
    applied = loop.prod_snapshot()
    assert not {("field", *name) for name in gone} & entities(applied)
    pushed = next(r for r in applied["relations"] if (r["collection"], r["field"]) == ("articles_tags", "articles_id"))
    assert (pushed["meta"]["junction_field"], pushed["meta"]["one_field"]) == ("tags_id", "tags")  # kept as sent
    assert loop.run("plan", "--env", "prod", "--exit-code").code == 0
