"""log: the schema's history as schema changes, newest first."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from directus_gitops.files import store
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import treecache
from tests import samples, synthetic
from tests.conftest import Project
from tests.test_diff import edited, make_diverged, write


@pytest.fixture
def history(project: Project) -> Project:
    write(project, samples.base(), "Base model")
    (project.root / "README.md").write_text("not the schema\n")
    project.git("add", "README.md")
    project.git("commit", "--quiet", "-m", "Docs only")
    write(project, edited(), "Add subtitle, drop authors")
    return project


def commits(project: Project) -> list[str]:
    return project.git("log", "--format=%h", "--abbrev=10").split()


def test_each_commit_that_touched_the_schema_with_its_changes(history: Project) -> None:
    result = history.run("log")
    assert result.code == 0, result.output
    newest, _docs, root = commits(history)
    blocks = result.out.split("\n\n")
    assert blocks[0].splitlines() == [
        f"{newest}  2026-01-01  Add subtitle, drop authors",
        "    + articles.subtitle",
        "    ~ articles.title",
        "    - articles.author → authors",
        "    - authors (data loss)",
    ]
    root_lines = blocks[1].splitlines()
    assert root_lines[0] == f"{root}  2026-01-01  Base model"
    assert "    + articles" in root_lines and "    + articles.author → authors" in root_lines
    assert all(line.startswith("    + ") for line in root_lines[1:])  # against an empty schema
    assert len(root_lines) == 1 + 13
    assert "Docs only" not in result.out


def test_limit_and_ref(history: Project) -> None:
    newest, _docs, root = commits(history)
    limited = history.run("log", "--limit", "1").out
    assert newest in limited and root not in limited
    older = history.run("log", "--ref", "HEAD~1").out
    assert root in older and newest not in older


def test_json_lists_commits_with_changes(history: Project) -> None:
    document = json.loads(history.run("log", "--format", "json").out)
    assert document["format_version"] == "1"
    newest, root = document["commits"]
    assert newest["commit"] == history.git("rev-parse", "HEAD").strip()
    assert newest["parent"] == history.git("rev-parse", "HEAD~1").strip()
    assert newest["summary"]["destroy"] == 2 and newest["summary"]["data_loss"] == 1
    assert {(c["action"], c["name"]) for c in newest["changes"]} >= {("create", "articles.subtitle")}
    assert root["parent"] is None and root["summary"]["add"] == 13


def test_a_commit_that_cannot_be_read_does_not_hide_the_others(history: Project) -> None:
    broken = history.schema / "collections/articles.yaml"
    broken.write_text(broken.read_text() + "fields: [\n")
    history.git("commit", "--quiet", "--all", "-m", "Break the YAML")
    result = history.run("log")
    assert result.code == 0, result.output
    assert "Break the YAML\n    (cannot read the schema: HEAD" not in result.out  # it names the commit, not HEAD
    first = result.out.split("\n\n")[0].splitlines()
    assert first[0].endswith("Break the YAML")
    assert first[1].startswith("    (cannot read the schema: ") and "collections/articles.yaml:" in first[1]
    assert "Add subtitle, drop authors" in result.out and "Base model" in result.out


def test_removing_the_schema_folder_removes_everything(history: Project) -> None:
    history.git("rm", "--quiet", "-r", "schema")
    history.git("commit", "--quiet", "-m", "Drop the schema")
    first = history.run("log", "--limit", "1").out.splitlines()
    assert first[0].endswith("Drop the schema")
    assert "    - articles (data loss)" in first


def test_no_commit_touching_the_schema(project: Project) -> None:
    (project.root / "README.md").write_text("hello\n")
    project.git("add", "README.md")
    project.git("commit", "--quiet", "-m", "Docs")
    result = project.run("log")
    assert result.code == 0
    assert result.out == ""
    assert "No commit in HEAD touches schema/." in result.err
    assert json.loads(project.run("log", "--format", "json").out)["commits"] == []


def test_markdown(history: Project) -> None:
    markdown = history.run("log", "--format", "markdown").out
    assert markdown.startswith("### Directus schema history")
    assert "- `- authors (data loss)`" in markdown


def test_a_format_change_alone_is_no_schema_change(history: Project) -> None:
    store.write_tree(history.schema, store.render(store.load_path(history.schema).snapshot, "single"))
    history.git("add", "--all")
    history.git("commit", "--quiet", "-m", "Switch to the single layout")
    first = history.run("log", "-n", "1").out.splitlines()
    assert first[1:] == ["    (no schema changes)"]


def test_a_merge_base_range_lists_only_the_branchs_own_commits(project: Project) -> None:
    make_diverged(project)
    result = project.run("log", "--ref", "main...feature", "--format", "json")
    assert result.code == 0, result.output
    subjects = [c["subject"] for c in json.loads(result.out)["commits"]]
    assert subjects == ["Add a subtitle"]
    everything = [c["subject"] for c in json.loads(project.run("log", "--format", "json").out)["commits"]]
    assert everything == ["Add a subtitle", "Base model"]


# --------------------------------------------------------------------------- a long walk


def _walk(project: Project, count: int) -> list[str]:
    """``count`` commits of a 12-collection model after the first, each with a new note on one
    field of one collection (more commits than the records kept: nothing is remembered)."""
    model = synthetic.model(collections=12, fields=4, seed=7)
    write(project, model, "v0")
    for number in range(1, count + 1):
        model = copy.deepcopy(model)
        model["fields"][(number * 5) % len(model["fields"])]["meta"]["note"] = f"note {number}"
        write(project, model, f"v{number}")
    return [f"v{number}" for number in range(count, -1, -1)]


def test_a_walk_reads_each_commit_and_each_file_once(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit is met twice in a walk (as the new side, then as the old one) and most of
    its files are in its neighbours: each commit is read and checked once, and each file
    version fetched from git once."""
    from directus_gitops.engine import history as log
    from directus_gitops.files import gitrepo
    from directus_gitops.model import validate

    messages = _walk(project, treecache.KEEP + 4)
    read: list[str] = []
    fetched: list[str] = []
    load_tree, run = validate.load_tree, gitrepo._run

    def counting_load(tree: store.Tree, shared: validate.Shared | None = None) -> store.Loaded:
        read.append(tree.source)
        return load_tree(tree, shared)

    def counting_run(root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        if args[:2] == ("cat-file", "--batch"):
            fetched.extend((stdin or b"").decode().split())
        return run(root, *args, stdin=stdin)

    monkeypatch.setattr(validate, "load_tree", counting_load)
    monkeypatch.setattr(gitrepo, "_run", counting_run)
    entries = log.history(Repo(project.root), "schema", ref="HEAD", limit=None)

    assert [entry.commit.subject for entry in entries] == messages
    assert all(entry.error is None for entry in entries)
    assert [len(entry.changes) for entry in entries][:-1] == [1] * (len(messages) - 1)
    assert len(read) == len(messages) == len(set(read))  # (each tree's source names its commit)
    manifests = {project.git("rev-parse", f"HEAD~{back}:schema/{store.MANIFEST}").strip() for back in range(len(read))}
    files = [blob for blob in fetched if blob not in manifests]  # (the manifest: with each commit's files)
    assert len(files) == len(set(files)), "a file version was fetched twice"
    first = project.git("ls-tree", "-r", "--name-only", f"HEAD~{len(read) - 1}", "schema").split()
    changed = len(read) - 1  # one collection file per commit after the first
    assert len(set(files)) == len(first) - 1 + changed


def test_a_walk_still_refuses_every_broken_commit(project: Project) -> None:
    """What a walk shares between commits is only what was found clean: a commit that breaks
    an entry or a file is refused, and content met before, fixed or broken, reads as it is.
    (A commit after a broken one is refused too: its parent cannot be read.)"""
    good = samples.base()
    bad_entry = copy.deepcopy(good)
    samples.find(bad_entry, "fields", "articles", "title")["type"] = "integr"
    write(project, good, "good")
    write(project, bad_entry, "broken entry")
    write(project, good, "fixed")
    inner = project.schema / "collections/authors.yaml"
    inner.write_text(inner.read_text().replace("collection: authors", "collection: writers", 1))
    project.git("commit", "--quiet", "--all", "-m", "inner name")
    write(project, good, "fixed again")
    write(project, bad_entry, "broken again")
    sha = dict(reversed(line.split(" ", 1)) for line in project.git("log", "--format=%H %s").splitlines())

    result = project.run("log")
    assert result.code == 0, result.output
    blocks = {block.splitlines()[0].split("  ")[-1]: block for block in result.out.split("\n\n")}
    assert list(blocks) == ["broken again", "fixed again", "inner name", "fixed", "broken entry", "good"]
    refused = {
        # commit: (the commit whose files are refused, what is said of them)
        "broken again": ("broken again", "type 'integr' is not a Directus field type"),
        "fixed again": ("inner name", "holds collection 'writers'"),
        "inner name": ("inner name", "holds collection 'writers'"),
        "fixed": ("broken entry", "type 'integr' is not a Directus field type"),
        "broken entry": ("broken entry", "type 'integr' is not a Directus field type"),
    }
    for message, (culprit, said) in refused.items():
        assert f"(cannot read the schema: {sha[culprit]}:schema/" in blocks[message], blocks[message]
        assert said in blocks[message], blocks[message]
    assert "cannot read" not in blocks["good"]
