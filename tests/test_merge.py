"""The merge driver, through real git merges, rebases and cherry-picks in scratch repositories
set up by ``init``: the files are written by the project's own writers, git runs the driver as
it would for a user, and ``check`` judges the result."""

from __future__ import annotations

import copy
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import directus_gitops
from directus_gitops.engine import merge
from directus_gitops.files import store, yamlio
from directus_gitops.model.kinds import files as kind_files
from tests import samples
from tests.conftest import Project
from tests.test_config_validation import folder_files, full_state

TOOL = Path(directus_gitops.__file__).resolve().parent.parent
AUTHORS = "collections/authors.yaml"
EDITORS = "config/policies/editors.yaml"
FLOW = "config/flows/notify-on-publish.yaml"

Model = tuple[dict[str, Any], dict[str, Any]]  # (snapshot, configuration state)
Edit = Callable[[dict[str, Any], dict[str, Any]], None]


def base_model() -> Model:
    return samples.base(), full_state()


def files_of(model: Model) -> dict[str, bytes]:
    """The schema folder pull writes for ``model``."""
    snapshot, state = model
    return folder_files(copy.deepcopy(state), snapshot)


def edited(*edits: Edit) -> Model:
    snapshot, state = base_model()
    for edit in edits:
        edit(snapshot, state)
    return snapshot, state


def add_field(name: str, type_: str = "string") -> Edit:
    return lambda snapshot, state: snapshot["fields"].append(samples.field("authors", name, type_))


def field_note(name: str, note: str) -> Edit:
    def edit(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
        samples.find(snapshot, "fields", "authors", name)["meta"]["note"] = note

    return edit


def collection_note(note: str) -> Edit:
    def edit(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
        samples.find(snapshot, "collections", "authors")["meta"]["note"] = note

    return edit


def add_permission(collection: str, action: str) -> Edit:
    def edit(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
        policy = next(p for p in state["policies"] if p["id"] == "p-editors")
        policy["permissions"].append(
            {"collection": collection, "action": action, "fields": ["*"], "permissions": {}, "validation": None}
        )

    return edit


def add_operation(ident: str, key: str) -> Edit:
    def edit(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
        state["flows"][0]["operations"].append(
            {
                "id": ident,
                "key": key,
                "name": key.title(),
                "type": "log",
                "position_x": 73,
                "position_y": 1,
                "options": {"message": key},
                "resolve": None,
                "reject": None,
            }
        )

    return edit


def drop_authors(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
    """What Directus does when the collection is deleted: its fields and the relation to it go."""
    for key in ("collections", "fields", "relations"):
        snapshot[key] = [
            entry
            for entry in snapshot[key]
            if entry["collection"] != "authors" and entry.get("related_collection") != "authors"
        ]


@pytest.fixture
def repo(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A repository set up by ``init`` holding the base model on main; git runs this checkout's
    driver (the installed program may be another version)."""
    result = project.run("init", "--no-ci")
    assert result.code == 0, result.output
    assert "registered the merge driver" in result.err
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TOOL), os.environ.get("PYTHONPATH")])))
    driver = f"{shlex.quote(sys.executable)} -m directus_gitops {merge.DRIVER_ARGS}"
    project.git("config", f"merge.{merge.DRIVER}.driver", driver)
    commit(project, base_model(), "base")
    return project


def commit(project: Project, model: Model, message: str) -> None:
    store.write_tree(project.schema, files_of(model))
    project.git("add", "--all")
    project.git("commit", "--quiet", "--allow-empty", "-m", message)


def branches(project: Project, ours: Model, theirs: Model) -> None:
    """Branch ``theirs`` from main with ``theirs`` committed; main gets ``ours``."""
    project.git("checkout", "--quiet", "-b", "theirs")
    commit(project, theirs, "theirs")
    project.git("checkout", "--quiet", "main")
    commit(project, ours, "ours")


def git(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True)


def unmerged(project: Project) -> list[str]:
    return project.git("diff", "--name-only", "--diff-filter=U").split()


def check_clean(project: Project) -> None:
    result = project.run("check")
    assert result.code == 0, result.output
    assert "no problems" in result.err, result.err


def test_two_fields_added_to_one_collection_conflict_in_git_and_merge_with_the_driver(repo: Project) -> None:
    # Both sort between bio and id: plain git sees two insertions at one place.
    branches(repo, edited(add_field("email")), edited(add_field("genre")))
    repo.git("config", "--remove-section", f"merge.{merge.DRIVER}")  # as in a fresh clone
    assert git(repo, "merge", "--no-edit", "theirs").returncode != 0
    assert unmerged(repo) == [f"schema/{AUTHORS}"]
    repo.git("merge", "--abort")
    assert "does not register it" in repo.run("check").err  # what check says in such a clone

    repo.run("init", "--merge-driver")
    driver = f"{shlex.quote(sys.executable)} -m directus_gitops {merge.DRIVER_ARGS}"
    repo.git("config", f"merge.{merge.DRIVER}.driver", driver)  # ... with this checkout's code
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode == 0, done.stdout + done.stderr
    both = files_of(edited(add_field("email"), add_field("genre")))
    assert (repo.schema / AUTHORS).read_bytes() == both[AUTHORS]  # byte for byte what pull writes
    check_clean(repo)
    assert "does not register it" not in repo.run("check").err


def test_a_field_added_against_a_note_changed_on_another_field(repo: Project) -> None:
    branches(repo, edited(add_field("email")), edited(field_note("name", "Shown on the byline")))
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode == 0, done.stderr
    assert store.owned(repo.schema) == files_of(edited(add_field("email"), field_note("name", "Shown on the byline")))
    check_clean(repo)


def test_two_permissions_on_one_policy(repo: Project) -> None:
    branches(repo, edited(add_permission("authors", "read")), edited(add_permission("authors", "create")))
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode == 0, done.stderr
    both = files_of(edited(add_permission("authors", "read"), add_permission("authors", "create")))
    assert (repo.schema / EDITORS).read_bytes() == both[EDITORS]
    check_clean(repo)


def test_two_operations_added_to_one_flow(repo: Project) -> None:
    branches(repo, edited(add_operation("o5", "archive")), edited(add_operation("o6", "audit")))
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode == 0, done.stderr
    both = files_of(edited(add_operation("o5", "archive"), add_operation("o6", "audit")))
    assert (repo.schema / FLOW).read_bytes() == both[FLOW]
    check_clean(repo)


def test_two_operations_with_one_key_are_a_conflict_naming_it(repo: Project) -> None:
    branches(repo, edited(add_operation("o5", "archive")), edited(add_operation("o6", "archive")))
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode != 0
    assert unmerged(repo) == [f"schema/{FLOW}"]
    assert "operation key 'archive' is defined again" in done.stdout + done.stderr


def test_the_same_property_changed_both_ways_is_marked_exactly_there(repo: Project) -> None:
    branches(repo, edited(collection_note("People who write")), edited(collection_note("Staff and guests")))
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode != 0
    assert unmerged(repo) == [f"schema/{AUTHORS}"]
    assert "meta.note: changed differently on both sides" in done.stdout + done.stderr
    text = (repo.schema / AUTHORS).read_text()
    marked = "<<<<<<< ours\n  note: People who write\n=======\n  note: Staff and guests\n>>>>>>> theirs\n"
    assert marked in text
    # Everything else is the file as it was: resolving the markers for one side gives its file.
    assert (
        text.replace(marked, "  note: People who write\n").encode()
        == files_of(edited(collection_note("People who write")))[AUTHORS]
    )


def test_a_field_changed_on_one_side_and_removed_on_the_other_is_a_conflict(repo: Project) -> None:
    def drop_bio(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
        snapshot["fields"].remove(samples.find(snapshot, "fields", "authors", "bio"))

    branches(repo, edited(drop_bio), edited(field_note("bio", "Markdown")))
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode != 0
    assert "fields[bio]: removed on ours, changed on the other side" in done.stdout + done.stderr
    text = (repo.schema / AUTHORS).read_text()
    assert "<<<<<<< ours\n=======\n- field: bio\n" in text


def test_a_collection_removed_against_a_field_added_to_it_is_a_conflict(repo: Project) -> None:
    branches(repo, edited(drop_authors), edited(add_field("email")))
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode != 0
    assert unmerged(repo) == [f"schema/{AUTHORS}"]  # deleted here, changed there: git says so
    # The manifest, which both changed only where the other did not, merged.
    assert (repo.schema / store.MANIFEST).read_bytes() == files_of(edited(drop_authors))[store.MANIFEST]


def test_a_rebase_and_a_cherry_pick_use_the_driver(repo: Project) -> None:
    branches(repo, edited(add_field("email")), edited(add_field("genre")))
    repo.git("checkout", "--quiet", "theirs")
    done = git(repo, "rebase", "main")
    assert done.returncode == 0, done.stdout + done.stderr
    both = files_of(edited(add_field("email"), add_field("genre")))
    assert store.owned(repo.schema) == both
    check_clean(repo)

    repo.git("checkout", "--quiet", "-b", "picked", "main~1")
    commit(repo, edited(add_permission("authors", "read")), "a permission")
    repo.git("checkout", "--quiet", "main")
    commit(repo, edited(add_field("email"), add_permission("authors", "create")), "another permission")
    done = git(repo, "cherry-pick", "picked")
    assert done.returncode == 0, done.stdout + done.stderr
    assert store.owned(repo.schema) == files_of(
        edited(add_field("email"), add_permission("authors", "create"), add_permission("authors", "read"))
    )
    check_clean(repo)


def test_files_it_does_not_take_apart_are_merged_as_git_would(repo: Project) -> None:
    readme = repo.schema / "README.md"
    readme.write_text("one\ntwo\nthree\n")
    repo.git("add", "--all")
    repo.git("commit", "--quiet", "-m", "readme")
    repo.git("checkout", "--quiet", "-b", "theirs")
    readme.write_text("one\ntwo\nthree (theirs)\n")
    repo.git("commit", "--quiet", "-am", "theirs")
    repo.git("checkout", "--quiet", "main")
    readme.write_text("one (ours)\ntwo\nthree\n")
    repo.git("commit", "--quiet", "-am", "ours")
    assert git(repo, "merge", "--no-edit", "theirs").returncode == 0
    assert readme.read_text() == "one (ours)\ntwo\nthree (theirs)\n"

    repo.git("checkout", "--quiet", "-b", "other")
    readme.write_text("one (other)\ntwo\nthree (theirs)\n")
    repo.git("commit", "--quiet", "-am", "other")
    repo.git("checkout", "--quiet", "main")
    readme.write_text("one (mine)\ntwo\nthree (theirs)\n")
    repo.git("commit", "--quiet", "-am", "mine")
    assert git(repo, "merge", "--no-edit", "other").returncode != 0
    assert "<<<<<<< ours\none (mine)\n=======\none (other)\n>>>>>>> theirs\n" in readme.read_text()


def test_init_registers_the_driver_and_a_fresh_clone_registers_it_with_one_command(
    project: Project, tmp_path: Path
) -> None:
    assert project.run("init", "--no-ci").code == 0
    assert "schema/** merge=directus-gitops" in (project.root / ".gitattributes").read_text().splitlines()
    assert project.git("config", "merge.directus-gitops.driver").strip() == "directus-gitops merge-file %O %A %B %P"
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "init")
    assert "does not register" not in project.run("check").err

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(project.root), str(clone)], check=True)
    cloned = Project(clone, project.capsys, project.monkeypatch)
    assert "does not register it" in cloned.run("check").err
    result = cloned.run("init", "--merge-driver")
    assert result.code == 0, result.output
    assert cloned.git("config", "merge.directus-gitops.driver").strip() == "directus-gitops merge-file %O %A %B %P"
    assert cloned.git("status", "--porcelain") == ""  # .gitattributes came with the clone
    assert "already registered" in cloned.run("init", "--merge-driver").err
    assert "does not register" not in cloned.run("check").err


def test_a_merge_with_no_common_ancestor_and_a_configuration_file(tmp_path: Path) -> None:
    """Added on both sides (git gives an empty base), and a file per configuration kind."""
    ours = files_of(edited(add_permission("authors", "read")))
    theirs = files_of(edited(add_permission("authors", "create")))
    both = files_of(edited(add_permission("authors", "read"), add_permission("authors", "create")))
    merged = merge.merge(b"", ours[EDITORS], theirs[EDITORS], EDITORS)
    assert merged is not None and merged.clean
    assert merged.data == both[EDITORS]
    base = files_of(base_model())
    for relpath in base:  # every file the tool writes is taken apart; the same on all sides merges to itself
        same = merge.merge(base[relpath], base[relpath], base[relpath], relpath)
        assert same is not None and same.clean and same.data == base[relpath], relpath
    assert merge.merge(b"a: 1\n", b"a: 2\n", b"a: 3\n", "notes.yaml") is None  # not one of ours


def test_filters_are_one_value_and_a_conflict_inside_a_list_item_is_marked_there() -> None:
    def rule(value: dict[str, Any]) -> Edit:
        def edit(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
            policy = next(p for p in state["policies"] if p["id"] == "p-editors")
            update = next(p for p in policy["permissions"] if p["action"] == "update")
            update["permissions"] = value
            update["fields"] = sorted({*update["fields"], *value})  # field lists merge as sets

        return edit

    base = files_of(base_model())[EDITORS]
    ours = files_of(edited(rule({"id": {"_eq": 2}})))[EDITORS]
    theirs = files_of(edited(rule({"id": {"_eq": 1}, "status": {"_eq": "draft"}})))[EDITORS]
    merged = merge.merge(base, ours, theirs, EDITORS)
    assert merged is not None
    assert [str(c) for c in merged.conflicts] == [
        "permissions[articles, update].permissions: changed differently on both sides"
    ]
    text = merged.data.decode()
    assert (
        "  - title\n<<<<<<< ours\n  permissions:\n    id:\n      _eq: 2\n=======\n  permissions:\n    id:\n"
        "      _eq: 1\n    status:\n      _eq: draft\n>>>>>>> theirs\n- collection: directus_files\n"
    ) in text
    assert "  - id\n  - status\n  - title\n" in text  # both sides' field additions


def test_what_yaml_reads_but_the_files_never_hold_is_merged_as_text() -> None:
    base = files_of(base_model())[AUTHORS]
    dated = base.replace(b"note: null\n", b"note: 2026-01-01\n", 1)
    assert merge.merge(base, dated, base, AUTHORS) is None
    assert merge.merge(base, b"collection: [unclosed\n", base, AUTHORS) is None


def test_collections_and_configuration_files_added_on_both_sides_merge_in_the_manifest(repo: Project) -> None:
    def add_collection(name: str) -> Edit:
        def edit(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
            snapshot["collections"].append(samples.collection(name))
            snapshot["fields"].append(samples.pk(name))

        return edit

    def add_flow(ident: str, name: str) -> Edit:
        def edit(snapshot: dict[str, Any], state: dict[str, Any]) -> None:
            flow = {**copy.deepcopy(state["flows"][0]), "id": ident, "name": name, "operation": None, "operations": []}
            state["flows"].append(flow)

        return edit

    ours = edited(add_collection("books"), add_flow("f2", "Archive"))
    theirs = edited(add_collection("comics"), add_flow("f3", "Audit"))
    branches(repo, ours, theirs)
    done = git(repo, "merge", "--no-edit", "theirs")
    assert done.returncode == 0, done.stdout + done.stderr
    both = edited(add_collection("books"), add_flow("f2", "Archive"), add_collection("comics"), add_flow("f3", "Audit"))
    assert store.owned(repo.schema) == files_of(both)
    check_clean(repo)


def _rows_file(rows: list[dict[str, Any]]) -> bytes:
    from directus_gitops.model.kinds import data

    table = {"collection": "languages", "primary": "code", "key": ["code"], "fields": ["name"], "rows": rows}
    document = next(iter(data.ROWS.documents({"languages": table}).values()))
    return (kind_files.HEADER + yamlio.dump(document)).encode("utf-8")


def test_rows_of_reference_data_merge_by_their_key_and_one_row_changed_both_ways_conflicts() -> None:
    base = _rows_file([{"code": "en-US", "name": "English"}])
    ours = _rows_file([{"code": "en-US", "name": "English"}, {"code": "de-DE", "name": "German"}])
    theirs = _rows_file([{"code": "en-US", "name": "English"}, {"code": "fr-FR", "name": "French"}])
    merged = merge.merge(base, ours, theirs, "data/languages.yaml")
    assert merged is not None and not merged.conflicts
    both = _rows_file(
        [{"code": "en-US", "name": "English"}, {"code": "de-DE", "name": "German"}, {"code": "fr-FR", "name": "French"}]
    )
    assert merged.data == both  # canonical: sorted by key, as pull writes it
    ours = _rows_file([{"code": "en-US", "name": "English (US)"}])
    theirs = _rows_file([{"code": "en-US", "name": "American English"}])
    conflicting = merge.merge(base, ours, theirs, "data/languages.yaml")
    assert conflicting is not None and len(conflicting.conflicts) == 1
    assert b"<<<<<<<" in conflicting.data and b"English (US)" in conflicting.data


def test_the_review_says_when_the_base_changed_the_same_files_since_the_branch_forked(repo: Project) -> None:
    branches(repo, edited(add_field("email")), edited(add_field("genre")))  # ours is main's side
    main = repo.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    review = repo.run("diff", f"{main}...theirs", "--format", "markdown")
    assert review.code == 0, review.output
    assert "[!IMPORTANT]" in review.out and "authors.yaml" in review.out
    assert "directus-gitops init --merge-driver" in review.out and f"git merge {main}" in review.out
    as_json = json.loads(repo.run("diff", f"{main}...theirs", "--format", "json").out)
    assert "the same file(s)" in as_json["base_moved"]
    # Another file changed on main: the branch's review is the whole story, nothing is said.
    repo.git("switch", "--quiet", "theirs")
    repo.git("switch", "--quiet", "-c", "later", main)
    repo.git("reset", "--quiet", "--hard", "HEAD~1")
    commit(repo, edited(add_permission("authors", "delete")), "a permission on main")
    quiet = repo.run("diff", "later...theirs", "--format", "markdown")
    assert quiet.code == 0 and "[!IMPORTANT]" not in quiet.out, quiet.output
