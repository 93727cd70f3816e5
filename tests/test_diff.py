"""diff: offline semantic diff between revisions, paths and the working tree."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import demo_model
import pytest

from directus_gitops.base.errors import GitError
from directus_gitops.engine import diff
from directus_gitops.files import store
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import changes
from directus_gitops.reports import render
from tests import samples, synthetic
from tests.conftest import Project


def write(project: Project, snapshot: dict[str, Any], message: str | None = None) -> None:
    store.write_tree(project.schema, store.render(snapshot))
    if message:
        project.git("add", "--all")
        project.git("commit", "--quiet", "-m", message)


def edited() -> dict[str, Any]:
    """The sample with a field added, a note changed and the authors collection dropped."""
    new = samples.base()
    new["fields"].append(samples.field("articles", "subtitle"))
    samples.find(new, "fields", "articles", "title")["meta"]["note"] = "Shown in lists"
    new["collections"] = [c for c in new["collections"] if c["collection"] != "authors"]
    new["fields"] = [f for f in new["fields"] if f["collection"] != "authors"]
    new["relations"] = []
    return new


@pytest.fixture
def history(project: Project) -> Project:
    write(project, samples.base(), "Base model")
    write(project, edited(), "Edit the model")
    return project


def test_two_commits_give_a_readable_plan_with_counts(history: Project) -> None:
    result = history.run("diff", "HEAD~1", "HEAD")
    assert result.code == 0, result.output
    lines = result.out.splitlines()
    assert lines[0].startswith("Changes from HEAD~1 (") and " to HEAD (" in lines[0]
    assert "  + field articles.subtitle (string)" in lines
    assert "  ~ field articles.title" in lines
    assert '      meta.note: null → "Shown in lists"' in lines
    assert "  - relation articles.author → authors" in lines
    assert "  - collection authors (3 fields)" in lines  # one line, with what it takes along
    assert "      ! data loss: drops the table and all its rows" in lines
    assert "Plan: 1 to add, 1 to change, 2 to destroy." in lines


def test_details_list_the_fields_of_a_collection_created_whole(history: Project) -> None:
    short = history.run("diff", "HEAD", "HEAD~1").out.splitlines()
    assert "  + collection authors (3 fields)" in short
    assert not any(line.startswith("  + field authors.") for line in short)
    assert any("--details lists their settings and fields" in line for line in short)
    assert "Plan: 5 to add, 1 to change, 1 to destroy." in short  # every change counted, shown or not

    detailed = history.run("diff", "HEAD", "HEAD~1", "--details").out.splitlines()
    assert "  + collection authors" in detailed
    assert sum(line.startswith("  + field authors.") for line in detailed) == 3
    assert "Plan: 5 to add, 1 to change, 1 to destroy." in detailed


def test_exit_code_tells_changes_from_none(history: Project) -> None:
    assert history.run("diff", "HEAD~1", "HEAD", "--exit-code").code == 2
    same = history.run("diff", "HEAD", "HEAD", "--exit-code")
    assert same.code == 0
    assert "No changes." in same.out


def test_no_argument_compares_head_with_the_working_tree(history: Project) -> None:
    assert "No changes." in history.run("diff").out
    write(history, samples.base())
    result = history.run("diff", "--exit-code")
    assert result.code == 2
    assert "the working tree (schema/)" in result.out
    assert "  + collection authors" in result.out


def test_one_argument_compares_that_revision_with_the_working_tree(history: Project) -> None:
    result = history.run("diff", "HEAD~1")
    assert "Plan: 1 to add, 1 to change, 2 to destroy." in result.out


def test_paths_of_every_kind_compare_alike(history: Project, tmp_path: Path) -> None:
    directus_file = tmp_path / "snapshot.json"
    directus_file.write_text(json.dumps({"data": samples.base()}))
    single = tmp_path / "single"
    store.write_tree(single, store.render(samples.base(), "single"))
    expected = history.run("diff", "HEAD~1", "HEAD").out.splitlines()[1:]
    for old in (str(directus_file), str(single), str(single / "manifest.yaml")):
        result = history.run("diff", old, "schema")
        assert result.code == 0, result.output
        assert result.out.splitlines()[1:] == expected


def test_a_name_that_is_both_a_path_and_a_revision_is_refused(history: Project) -> None:
    history.git("branch", "schema", "HEAD~1")
    result = history.run("diff", "schema")
    assert result.code == 1
    assert "'schema' is both a path and a git revision" in result.err
    assert "./schema" in result.err
    assert "No changes." in history.run("diff", "./schema").out
    assert "Plan: 1 to add" in history.run("diff", "schema^{commit}").out


def test_neither_path_nor_revision_is_an_error(history: Project) -> None:
    result = history.run("diff", "no-such-thing", "--exit-code")
    assert result.code == 1
    assert "'no-such-thing' is neither an existing path nor a git revision" in result.err


def test_two_revisions_looked_up_together_read_as_each_alone(history: Project) -> None:
    """``prepare`` asks git about both revisions at once; a name git does not know, or one
    that is no commit, is left to the one-by-one lookup and its error."""
    alone = Repo(history.root)
    expected = [alone.schema_tree(rev, "schema") for rev in ("HEAD~1", "HEAD")]
    together = Repo(history.root)
    together.prepare(["HEAD~1", "HEAD", "HEAD~1"], "schema")
    assert len(together._listings) == 2
    found = [together.schema_tree(rev, "schema") for rev in ("HEAD~1", "HEAD")]
    assert [(c.hexsha, t and t.key) for c, t in found] == [(c.hexsha, t and t.key) for c, t in expected]
    assert not together._listings  # each listing used once
    for names in (["HEAD", "no-such-thing"], ["HEAD", "HEAD^{tree}"], ["HEAD", "HEAD~1..HEAD"]):
        repo = Repo(history.root)
        repo.prepare(names, "schema")
        assert repo.revision("HEAD").hexsha == expected[1][0].hexsha
        with pytest.raises(GitError, match="unknown git revision"):
            repo.revision(names[1])
    refused = history.run("diff", "HEAD", "HEAD^{tree}")
    assert "'HEAD^{tree}' is neither an existing path nor a git revision" in refused.err


def test_a_revision_without_the_schema_folder_is_an_empty_schema(project: Project) -> None:
    (project.root / "README.md").write_text("hello\n")
    project.git("add", "README.md")
    project.git("commit", "--quiet", "-m", "Before the schema")
    write(project, samples.base(), "Add the schema")
    result = project.run("diff", "HEAD~1", "HEAD")
    assert result.code == 0, result.output
    assert "has no schema folder: comparing with an empty schema" in result.err
    assert "Plan: 13 to add, 0 to change, 0 to destroy." in result.out
    assert "system field" not in result.out  # an empty project on the same Directus has the same indexes


def test_json_and_markdown_formats(history: Project) -> None:
    document = json.loads(history.run("diff", "HEAD~1", "HEAD", "--format", "json").out)
    assert document["format_version"] == "1"
    assert document["summary"] | {"text": ""} == {
        "add": 1,
        "change": 1,
        "destroy": 2,
        "rename": 0,
        "data_loss": 1,
        "text": "",
    }
    assert document["old"]["commit"] == history.git("rev-parse", "HEAD~1").strip()
    assert document["new"]["ref"] == "HEAD"
    update = next(c for c in document["changes"] if c["action"] == "update")
    assert update["properties"] == [{"path": "meta.note", "old": None, "new": "Shown in lists"}]

    markdown = history.run("diff", "HEAD~1", "HEAD", "--format", "markdown").out
    assert markdown.startswith("### Directus schema changes: HEAD~1 (")
    assert "**Plan: 1 to add, 1 to change, 2 to destroy.**" in markdown
    assert "| `authors` |  |  | *collection* (3 fields) ⚠ |" in markdown


def test_an_unreadable_side_is_an_error_never_a_result(history: Project) -> None:
    broken = history.schema / "collections/articles.yaml"
    broken.write_text(broken.read_text() + "fields: [\n")
    result = history.run("diff", "--exit-code")
    assert result.code == 1
    assert "collections/articles.yaml:" in result.err
    assert result.out == ""


def test_the_configured_schema_folder_is_used(project: Project) -> None:
    (project.root / "directus-gitops.yaml").write_text("schema_dir: model\n")
    store.write_tree(project.root / "model", store.render(samples.base()))
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "Model elsewhere")
    store.write_tree(project.root / "model", store.render(edited()))
    result = project.run("diff")
    assert "the working tree (model/)" in result.out
    assert "Plan: 1 to add, 1 to change, 2 to destroy." in result.out


# --------------------------------------------------------------------------- the fast path


def counting(tree: store.Tree, reads: list[str]) -> store.Tree:
    def read(relpath: str) -> bytes | None:
        reads.append(relpath)
        return tree.read(relpath)

    return store.Tree(read, tree.source, tree.file_id, tree.names)


@pytest.mark.parametrize("seed", range(6))
def test_reading_only_differing_files_compares_exactly_as_a_full_read(project: Project, seed: int) -> None:
    old = synthetic.model(collections=40, fields=6, seed=seed)
    new = synthetic.edited(old, edits=12, seed=seed + 100)
    write(project, old, "old")
    write(project, new, "new")
    repo = Repo(project.root)
    before, after = diff.revision_side(repo, "HEAD~1", "schema"), diff.revision_side(repo, "HEAD", "schema")
    assert before.tree is not None and after.tree is not None
    reads: list[str] = []
    fast = diff.compare(
        diff.Side("old", tree=counting(before.tree, reads)), diff.Side("new", tree=counting(after.tree, reads))
    ).changes
    full = changes.compare(
        *(store.parse_tree(repo.tree_reader(rev, "schema")[1], rev).snapshot for rev in ("HEAD~1", "HEAD"))
    )
    assert fast == full  # the same changes, in the same order, with the same details
    assert render.text(fast) == render.text(full)
    # Every file is validated, but one both commits hold is read (and parsed) once.
    twice = {path for path in reads if path != store.MANIFEST and reads.count(path) > 1}
    assert 0 < len(twice) < len(store.render(new)) - 1, "only differing collection files are read twice"
    # A checked-out folder on one side and a commit on the other take the same path.
    folder = diff.compare(before, diff.path_side(project.schema)).changes
    assert folder == full


def test_a_file_moved_or_renamed_in_the_manifest_is_read_on_both_sides(project: Project) -> None:
    write(project, samples.base(), "base")
    manifest = project.schema / "manifest.yaml"
    moved = project.schema / "collections/writers.yaml"
    (project.schema / "collections/authors.yaml").rename(moved)
    manifest.write_text(manifest.read_text().replace("collections/authors.yaml", "collections/writers.yaml"))
    content = moved.read_text().replace("- field: name\n", "- field: full_name\n")
    moved.write_text(content)
    result = project.run("diff", "--format", "json")
    names = {(c["action"], c["name"]) for c in json.loads(result.out)["changes"]}
    assert names == {("create", "authors.full_name"), ("delete", "authors.name")}


# --------------------------------------------------------------------------- a real pulled model

NO_NETWORK = """
import socket, sys

def refuse(*args, **kwargs):
    raise OSError("diff tried to use the network")

socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
from directus_gitops.cli import main
main(sys.argv[1:])
"""


@pytest.mark.directus
def test_diff_of_two_pulled_commits_reads_no_network(project: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    project.configure(dev=seeded.url)
    project.token("dev", seeded.token)
    assert project.run("pull", "--commit").code == 0
    demo_model.add_field(seeded.url, seeded.token, "authors", "website", note="Personal site.")
    demo_model.set_field_note(seeded.url, seeded.token, "articles", "title", "Changed.")
    demo_model.delete_collection(seeded.url, seeded.token, "settings")
    assert project.run("pull", "--commit").code == 0
    seeded.stop()

    environment = {name: value for name, value in os.environ.items() if not name.startswith("DIRECTUS_")}
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, "diff", "HEAD~1", "HEAD"],
        cwd=project.root,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  + field authors.website (string)" in lines
    assert "  ~ field articles.title" in lines
    assert '      meta.note: "Shown as the page heading." → "Changed."' in lines
    assert any(re.fullmatch(r"  - collection settings \(\d+ fields?\)", line) for line in lines)
    assert "Plan: 1 to add, 1 to change, 1 to destroy." in lines


def test_diff_in_a_repository_without_commits_shows_everything_as_new(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from directus_gitops.cli import main

    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    store.write_tree(tmp_path / "schema", store.render(samples.base()))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["diff", "--exit-code"])
    assert exited.value.code == 2


def test_snapshots_of_different_origins_are_compared_by_the_translation_rules(project: Project) -> None:
    """A dev snapshot from SQLite against production's PostgreSQL one: only real changes show,
    and the comparison says which rules it relied on."""
    production = {**samples.base(), "vendor": "postgres"}
    samples.find(production, "fields", "articles", "author")["schema"].update(numeric_precision=32, numeric_scale=0)
    development = samples.base()
    samples.find(development, "fields", "authors", "name")["schema"]["max_length"] = 100  # a real change
    write(project, production, "production")
    write(project, development, "development")

    result = project.run("diff", "HEAD~1", "HEAD")
    assert result.code == 0, result.output
    assert "~ field authors.name" in result.out
    assert "articles.author" not in result.out.split("Translated for the target")[0]
    assert "translated (column-representation): 1 × articles.author" in result.out
    assert "different databases (postgres, sqlite): compared by the translation rules" in result.out

    as_json = json.loads(project.run("diff", "HEAD~1", "HEAD", "--format", "json").out)
    assert [c["name"] for c in as_json["changes"]] == ["authors.name"]
    assert as_json["translation"][0]["rule"] == "column-representation"


# --------------------------------------------------------------------------- merge-base ranges


def make_diverged(project: Project) -> Project:
    """main gained a field after the branch 'feature' left it; the branch added another."""
    write(project, samples.base(), "Base model")
    project.git("checkout", "--quiet", "-b", "feature")
    on_branch = samples.base()
    on_branch["fields"].append(samples.field("articles", "subtitle"))
    write(project, on_branch, "Add a subtitle")
    project.git("checkout", "--quiet", "main")
    on_main = samples.base()
    on_main["fields"].append(samples.field("articles", "teaser"))
    write(project, on_main, "Add a teaser on main")
    project.git("checkout", "--quiet", "feature")
    return project


@pytest.fixture
def diverged(project: Project) -> Project:
    return make_diverged(project)


def test_a_merge_base_range_shows_only_the_branchs_own_change(diverged: Project) -> None:
    tips = json.loads(diverged.run("diff", "main", "feature", "--format", "json").out)
    # Tip against tip: main's later teaser shows up reversed, as a false data loss.
    assert {(c["action"], c["name"]) for c in tips["changes"]} == {
        ("create", "articles.subtitle"),
        ("delete", "articles.teaser"),
    }
    for args in (["main...feature"], ["main..."]):
        result = diverged.run("diff", *args, "--format", "json", "--exit-code")
        assert result.code == 2, result.output
        document = json.loads(result.out)
        assert [(c["action"], c["name"]) for c in document["changes"]] == [("create", "articles.subtitle")]
        assert document["summary"]["data_loss"] == 0
        assert document["old"]["label"].startswith("merge base of main and ")


def test_a_range_goes_alone(diverged: Project) -> None:
    result = diverged.run("diff", "main...feature", "HEAD")
    assert result.code == 1 and "goes alone" in result.err


def test_a_range_without_a_common_ancestor_says_so(diverged: Project) -> None:
    diverged.git("checkout", "--quiet", "--orphan", "island")
    write(diverged, samples.base(), "Unrelated")
    result = diverged.run("diff", "main...island")
    assert result.code == 1 and "no common ancestor" in result.err
