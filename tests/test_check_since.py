"""``check --since REV`` reads and checks what differs from REV only (a large model's pre-commit
hook), still finds a change that breaks a reference in a file it leaves alone, and says what
the whole check says about the files it reads."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from directus_gitops.files import store
from tests import synthetic
from tests.conftest import Project, Result
from tests.test_diff_changed import BREAKAGES, model, note, parses, relation_between
from tests.test_diff_fast import commit

CHANGED = ("table_010", "table_050", "table_090")


def on_disk(project: Project, snapshot: dict[str, Any]) -> None:
    store.write_tree(project.schema, store.render(snapshot))


def both(project: Project, *options: str) -> tuple[Result, Result]:
    """``check --since HEAD`` and the whole ``check``."""
    return project.run("check", "--since", "HEAD", *options), project.run("check", *options)


def problem_lines(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if ": " in line and "schema/" in line.split(": ")[0]]


def spoil(project: Project, collection: str | None) -> None:
    """A comment on line 1 of ``collection``'s file (None: the manifest): the same content,
    not in canonical form."""
    path = project.schema / (store.collection_file(collection) if collection else store.MANIFEST)
    path.write_bytes(b"# edited by hand\n" + path.read_bytes())


def test_only_the_files_that_differ_are_read(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    old = model()
    commit(project, old, "old")
    on_disk(project, note(old, *CHANGED))
    counted = parses(monkeypatch)
    result = project.run("check", "--since", "HEAD")
    assert result.code == 0, result.err
    assert "checked as far as it differs from HEAD" in result.err and "no problems" in result.err
    assert set(counted) == {store.MANIFEST, *(store.collection_file(name) for name in CHANGED)}


@pytest.mark.parametrize("spoilt", ["table_050", None], ids=["collection file", "manifest"])
def test_a_changed_file_out_of_canonical_form_is_said_as_the_whole_check_says_it(
    project: Project, spoilt: str | None
) -> None:
    old = model()
    commit(project, old, "old")
    on_disk(project, note(old, *CHANGED))
    spoil(project, spoilt)
    since, whole = both(project)
    assert since.code == whole.code == 1
    assert problem_lines(since) == problem_lines(whole) != []
    shown = store.collection_file(spoilt) if spoilt else store.MANIFEST
    assert f"{shown}:1: not in canonical form" in since.err
    assert "checked as far as it differs from HEAD" in since.err


def test_a_file_the_same_as_at_rev_is_not_checked_again(project: Project) -> None:
    """What --since leaves to the whole check (CI's): a file committed out of canonical form."""
    old = model()
    commit(project, old, "old")
    spoil(project, "table_020")
    project.git("commit", "--quiet", "--all", "-m", "a file edited by hand, committed unchecked")
    on_disk(project, note(old, *CHANGED))
    spoil(project, "table_020")
    since, whole = both(project)
    assert since.code == 0, since.err
    assert whole.code == 1 and "table_020.yaml:1: not in canonical form" in whole.err


def test_warnings_of_a_changed_file_are_said_as_the_whole_check_says_them(project: Project) -> None:
    old = model()
    many, _ = relation_between(old)
    commit(project, old, "old")
    new = copy.deepcopy(old)
    for entry in new["relations"]:
        if entry["collection"] == many:
            entry["meta"]["junction_field"] = "not_a_field"
    on_disk(project, new)
    since, whole = both(project)
    assert since.code == whole.code == 0
    assert problem_lines(since) == problem_lines(whole) != []
    assert "warning:" in problem_lines(since)[0]
    strict = both(project, "--strict")
    assert strict[0].code == strict[1].code == 1


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_change_that_breaks_a_reference_elsewhere_is_found(project: Project, name: str) -> None:
    prepare, breaking = BREAKAGES[name]
    old = prepare(model())
    new, message = breaking(old)
    commit(project, old, "valid")
    on_disk(project, new)
    since, whole = both(project)
    assert since.code == whole.code == 1
    assert message in since.err
    assert problem_lines(since) == problem_lines(whole)  # (the whole check said it)


def test_a_new_collection_and_a_removed_one(project: Project) -> None:
    old = model()
    commit(project, old, "old")
    new = copy.deepcopy(old)
    new["collections"].append(synthetic.collection("added_later", None))
    new["fields"].append(synthetic.key_field("added_later"))
    for key in ("collections", "fields", "relations"):
        new[key] = [
            e for e in new[key] if e["collection"] != "table_099" and e.get("related_collection") != "table_099"
        ]
    on_disk(project, new)
    since, whole = both(project)
    assert since.code == whole.code == 0, (since.err, whole.err)
    assert "checked as far as it differs from HEAD" in since.err


def test_since_goes_alone_and_names_a_revision(project: Project) -> None:
    commit(project, model(), "old")
    for args in (("check", "--since", "HEAD", "schema"), ("check", "--since", "HEAD", "--fix")):
        result = project.run(*args)
        assert result.code == 1 and "--since checks the configured schema folder" in result.err
        assert "Traceback" not in result.err
    result = project.run("check", "--since", "no-such-revision")
    assert result.code == 1 and "no-such-revision" in result.err and len(result.err.strip().splitlines()) <= 2


def test_before_the_first_commit_and_the_folders_first_commit_the_whole_folder_is_checked(project: Project) -> None:
    on_disk(project, model())
    spoil(project, "table_020")
    since, whole = both(project)  # no commit yet (a pre-commit hook's first run)
    assert since.code == whole.code == 1 and problem_lines(since) == problem_lines(whole) != []
    project.git("commit", "--quiet", "--allow-empty", "-m", "no schema folder yet")
    since, whole = both(project)
    assert since.code == whole.code == 1 and problem_lines(since) == problem_lines(whole) != []
    assert "checked as far as it differs" not in since.err
