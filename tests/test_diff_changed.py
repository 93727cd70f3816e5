"""An offline diff of two commits reads only what the change touches (validate.load_changed):
the files that differ, the manifests, and the few files a reference across files needs. It
parses nothing else, still refuses a change that breaks a reference elsewhere, and prints
exactly what reading both commits whole prints."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from directus_gitops.base.errors import InvalidSnapshotError
from directus_gitops.engine import diff
from directus_gitops.files import store
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import treecache, validate
from directus_gitops.model.kinds import files as config_files
from tests import synthetic
from tests.conftest import Project, Result
from tests.test_diff_fast import commit, odd, sides
from tests.test_treecache import records

# Enough collection files for a comparison to leave most of them unread.
COLLECTIONS = validate.CHANGED_ONLY_FROM + 20


def model(seed: int = 0) -> dict[str, Any]:
    return synthetic.model(collections=COLLECTIONS, fields=4, seed=seed)


def note(snapshot: dict[str, Any], *collections: str) -> dict[str, Any]:
    """A new note on a field of each of ``collections``."""
    result = copy.deepcopy(snapshot)
    for entry in result["fields"]:
        if entry["collection"] in collections and entry["field"] == "field_01":
            entry["meta"]["note"] = f"changed in {entry['collection']}"
    return result


def without(snapshot: dict[str, Any], collection: str) -> dict[str, Any]:
    """``snapshot`` without ``collection``'s own file (what refers to it elsewhere stays)."""
    result = copy.deepcopy(snapshot)
    for key in ("collections", "fields", "relations"):
        result[key] = [entry for entry in result[key] if entry["collection"] != collection]
    return result


def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every file a reading parses (the one place the checker parses a file), counted."""
    counted: Counter[str] = Counter()
    parse = validate._Checker.parse

    def counting(self: validate._Checker, data: bytes, relpath: str) -> Any:
        counted[relpath] += 1
        return parse(self, data, relpath)

    monkeypatch.setattr(validate._Checker, "parse", counting)
    return counted


def whole_read(patch: pytest.MonkeyPatch) -> None:
    """Every comparison reads both commits whole, as before, and nothing is remembered."""
    patch.setattr(validate, "CHANGED_ONLY_FROM", 10**9)
    patch.setattr(treecache, "load", lambda tree: None)
    patch.setattr(treecache, "save", lambda tree, record: None)


def disk_sides(project: Project) -> tuple[diff.Side, diff.Side]:
    """HEAD, and the schema folder on disk."""
    return diff.revision_side(Repo(project.root), "HEAD", "schema"), diff.path_side(project.schema)


def as_whole_read_prints(
    project: Project, monkeypatch: pytest.MonkeyPatch, commands: list[tuple[str, ...]]
) -> list[Result]:
    """Each command's result, checked equal (and successful) to reading both sides whole."""
    by_change = [project.run(*command) for command in commands]
    with monkeypatch.context() as patch:
        whole_read(patch)
        whole = [project.run(*command) for command in commands]
    for command, ours, theirs in zip(commands, by_change, whole, strict=True):
        assert ours.code == theirs.code == 0, (command, ours.err)
        assert ours.out == theirs.out, command
    return by_change


def relation_between(snapshot: dict[str, Any]) -> tuple[str, str]:
    """A relation's collection and the collection it points to."""
    entry = next(r for r in snapshot["relations"] if r["collection"] != r["related_collection"])
    return entry["collection"], entry["related_collection"]


# --------------------------------------------------------------------------- (a) what is parsed


def test_only_the_files_that_differ_are_parsed(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    old = model()
    changed = ("table_010", "table_050", "table_090")
    commit(project, old, "old")
    commit(project, note(old, *changed), "three notes")
    counted = parses(monkeypatch)
    result = project.run("diff", "HEAD~1", "HEAD")
    assert result.code == 0, result.err
    assert "0 to add, 3 to change, 0 to destroy" in result.out
    expected = {store.MANIFEST, *(store.collection_file(name) for name in changed)}
    assert set(counted) == expected  # of 126 files on each side
    assert max(counted.values()) <= 2  # once per side at most
    assert records(project) == []  # no commit was read whole (so none is remembered)


def test_a_reference_into_an_unchanged_file_reads_that_file_only(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = model()
    new = copy.deepcopy(old)
    new["fields"].append(synthetic.field("table_010", "author", "integer", "integer", None, 9))
    new["relations"].append(synthetic.relation("table_010", "author", "table_100"))
    commit(project, old, "old")
    commit(project, new, "a relation to an unchanged collection")
    counted = parses(monkeypatch)
    comparison = diff.compare(*sides(project))
    assert [change.name for change in comparison.changes] == ["table_010.author", "table_010.author → table_100"]
    # table_100's file is read on the new side to know it defines the collection; nothing else.
    assert set(counted) == {store.MANIFEST, store.collection_file("table_010"), store.collection_file("table_100")}
    assert counted[store.collection_file("table_100")] == 1


def test_small_models_and_large_changes_are_read_whole(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the threshold, or with most files changed, both commits are read whole and remembered."""
    old = model()
    commit(project, old, "old")
    commit(project, note(old, *sorted({entry["collection"] for entry in old["fields"]})), "every file")
    before, after = sides(project)
    assert before.tree is not None and after.tree is not None
    assert validate.load_changed(before.tree, after.tree) is None
    diff.compare(before, after)
    assert len(records(project)) == 2


# --------------------------------------------------------------------------- (b) broken references


def refused(project: Project, committed: bool = True) -> list[str]:
    with pytest.raises(InvalidSnapshotError) as caught:
        diff.compare(*(sides(project) if committed else disk_sides(project)))
    return caught.value.problems


def whole_refusal(project: Project, monkeypatch: pytest.MonkeyPatch, committed: bool = True) -> list[str]:
    with monkeypatch.context() as patch:
        whole_read(patch)
        return refused(project, committed)


def _removed_related(snapshot: dict[str, Any]) -> tuple[dict[str, Any], str]:
    _, related = relation_between(snapshot)
    return without(snapshot, related), f"related collection '{related}' is not defined"


def _removed_group(snapshot: dict[str, Any]) -> tuple[dict[str, Any], str]:
    group = next(entry["meta"]["group"] for entry in snapshot["collections"] if entry["meta"]["group"])
    return without(snapshot, group), f"group '{group}' is not a defined collection"


def _relation_to_nowhere(snapshot: dict[str, Any]) -> tuple[dict[str, Any], str]:
    result = copy.deepcopy(snapshot)
    result["fields"].append(synthetic.field("table_010", "author", "integer", "integer", None, 9))
    result["relations"].append(synthetic.relation("table_010", "author", "nowhere"))
    return result, "related collection 'nowhere' is not defined"


def _allowed_removed(snapshot: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return without(snapshot, "table_033"), "collection 'table_033' is not defined"


def _with_allowed(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A many-to-any relation on table_020 that allows table_033 (in another file)."""
    result = copy.deepcopy(snapshot)
    result["fields"].append(synthetic.field("table_020", "item", "string", "varchar", 255, 9))
    entry = synthetic.relation("table_020", "item", "table_020")
    entry["related_collection"] = None
    entry["meta"].update(one_allowed_collections=["table_033"], one_collection_field="item")
    result["relations"].append(entry)
    return result


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], Callable[..., Any]]] = {
    "a collection removed while an unchanged relation points to it": (lambda s: s, _removed_related),
    "a group removed while unchanged collections sit in it": (lambda s: s, _removed_group),
    "a changed relation to a collection that exists nowhere": (lambda s: s, _relation_to_nowhere),
    "a collection removed while an unchanged relation allows it": (_with_allowed, _allowed_removed),
}


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "working tree"])
@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_change_that_breaks_a_reference_elsewhere_is_refused(
    project: Project, monkeypatch: pytest.MonkeyPatch, name: str, committed: bool
) -> None:
    prepare, breaking = BREAKAGES[name]
    old = prepare(model())
    new, message = breaking(old)
    commit(project, old, "valid")
    if committed:
        commit(project, new, name)
    else:
        store.write_tree(project.schema, store.render(new))
    before, after = sides(project) if committed else disk_sides(project)
    assert before.tree is not None and after.tree is not None
    assert validate.load_changed(before.tree, after.tree) is None  # the change's own reading finds it
    problems = refused(project, committed)
    assert any(message in problem for problem in problems), problems
    assert problems == whole_refusal(project, monkeypatch, committed)  # reported as the whole read reports it
    result = project.run("diff", "HEAD~1", "HEAD") if committed else project.run("diff")
    assert result.code == 1 and message in result.err


def test_the_same_removal_with_its_references_removed_too_is_read_by_the_change(project: Project) -> None:
    """The control: removing the related collection and the relation that points to it."""
    old = model()
    many, related = relation_between(old)
    new = without(old, related)
    new["relations"] = [entry for entry in new["relations"] if entry["related_collection"] != related]
    commit(project, old, "valid")
    commit(project, new, "removed, with what pointed to it")
    before, after = sides(project)
    assert before.tree is not None and after.tree is not None
    assert validate.load_changed(before.tree, after.tree) is not None
    assert {change.collection for change in diff.compare(before, after).changes} >= {related, many}


def test_a_removed_collection_an_unchanged_configuration_names_is_refused(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = {
        "model": "policies",
        "presets": [
            {"role": None, "collection": "table_007", "bookmark": None, "layout": "tabular", "layout_query": {}}
        ],
    }
    rendered, entry = config_files.render(state)

    def write(snapshot: dict[str, Any], message: str) -> None:
        store.write_tree(project.schema, store.render(snapshot, "split", entry) | rendered)
        project.git("add", "--all")
        project.git("commit", "--quiet", "-m", message)

    old = model()
    write(old, "with a preset")
    write(note(old, "table_010"), "a note")
    comparison = diff.compare(*sides(project))  # the configuration is the same: not even read
    assert comparison.config is not None and not comparison.config
    write(without(old, "table_007"), "the preset's collection removed")
    problems = refused(project)
    assert any("the schema defines no collection 'table_007'" in problem for problem in problems), problems
    assert problems == whole_refusal(project, monkeypatch)


def test_a_warning_the_change_leads_to_in_an_unchanged_file_is_said(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = model()
    many, related = relation_between(old)
    old["fields"].append(synthetic.field(related, "children", "alias", "alias", None, 9))
    relation = next(entry for entry in old["relations"] if entry["collection"] == many)
    relation["meta"]["one_field"] = "children"
    new = copy.deepcopy(old)
    new["fields"] = [entry for entry in new["fields"] if (entry["collection"], entry["field"]) != (related, "children")]
    commit(project, old, "an o2m alias")
    commit(project, new, "the alias removed, the relation's one_field left")
    before, after = sides(project)
    comparison = diff.compare(before, after)
    assert comparison.warnings is not None  # read by the change
    expected = f"one_field '{related}.children' is not defined"
    assert any(expected in warning for warning in comparison.after_warnings())
    result = project.run("diff", "HEAD~1", "HEAD")
    assert expected in result.err


# --------------------------------------------------------------------------- (c) the same outputs


@pytest.mark.parametrize("seed", range(3))
def test_every_format_prints_what_the_whole_read_prints(
    project: Project, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    old = odd(model(seed), seed)
    new = synthetic.edited(old, edits=4, seed=seed + 10)
    commit(project, old, "old")
    commit(project, new, "a few edits")
    before, after = sides(project)
    assert before.tree is not None and after.tree is not None
    assert validate.load_changed(before.tree, after.tree) is not None  # read by the change
    commands = [("diff", "HEAD~1", "HEAD", "--format", fmt) for fmt in ("text", "json", "markdown", "mermaid")]
    commands += [("diff", "HEAD~1", "HEAD", "--details"), ("log",), ("log", "--format", "json")]
    by_change = as_whole_read_prints(project, monkeypatch, commands)
    assert "to change" in by_change[0].out or "to add" in by_change[0].out


# --------------------------------------------------------------------------- (d) the pull request's comment


def test_the_markdown_and_mermaid_diff_read_the_change_and_what_relates_to_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The diagram draws what relates to a changed collection, though its file is unchanged:
    those few files are read for their relations, and the comment is what reading both
    commits whole gives."""
    old = model()
    many, related = relation_between(old)
    pointing = sorted({r["collection"] for r in old["relations"] if r["related_collection"] == related})
    assert many in pointing
    commit(project, old, "old")
    commit(project, note(old, related, "table_050"), "two notes, one on a collection others relate to")
    read: Counter[str] = Counter()
    parse_document = store.parse_document

    def counting(data: bytes, name: str, **options: Any) -> Any:
        read[name.rsplit("schema/", 1)[-1]] += 1  # (named as the user sees it, or as in the folder)
        return parse_document(data, name, **options)

    monkeypatch.setattr(store, "parse_document", counting)
    formats = ("markdown", "mermaid")
    by_change = [project.run("diff", "HEAD~1", "HEAD", "--format", fmt) for fmt in formats]
    touched = {store.collection_file(name) for name in (related, "table_050")}
    unchanged = set(read) - touched - {store.MANIFEST}
    assert unchanged <= {store.collection_file(name) for name in pointing}  # read for their relations only
    assert {store.collection_file(name) for name in pointing} - {store.collection_file(related)} <= unchanged
    assert records(project) == []  # no commit was read whole
    with monkeypatch.context() as patch:
        whole_read(patch)
        whole = [project.run("diff", "HEAD~1", "HEAD", "--format", fmt) for fmt in formats]
    for ours, theirs in zip(by_change, whole, strict=True):
        assert ours.code == theirs.code == 0, ours.err
        assert ours.out == theirs.out
    assert f"{many} ||--o{{" not in by_change[1].out  # (drawn from the one side: the many side points)
    assert f"||--o{{ {many} :" in by_change[1].out  # the unchanged collection relating to the changed one


# --------------------------------------------------------------------------- (e) with ignore rules


def test_with_ignore_rules_the_change_is_read_and_prints_what_the_whole_read_prints(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ignore rules no longer make a diff read both commits whole. What they leave out is
    decided as the whole read decides it, a relation written in an unread file included: an
    ignored collection's relation with an alias (``one_field``) on a changed, kept collection
    takes that alias along."""
    old = model()
    many, one = relation_between(old)
    for entry in old["relations"]:
        if (entry["collection"], entry["related_collection"]) == (many, one):
            entry["meta"]["one_field"] = "listed"
    old["fields"].append(synthetic.field(one, "listed", "alias", "", None, 50))
    old["fields"][-1]["schema"] = None
    assert many != one
    commit(project, old, "old")
    new = note(old, one, "table_050", "table_060")
    for entry in new["fields"]:
        if (entry["collection"], entry["field"]) == (one, "listed"):
            entry["meta"]["note"] = "the alias of the ignored relation changed"
        if (entry["collection"], entry["field"]) == ("table_060", "field_02"):
            entry["meta"]["note"] = "an ignored field changed"
    commit(project, new, "notes, some on ignored parts")
    (project.root / "directus-gitops.yaml").write_text(
        f"ignore:\n  collections: [{many}, table_05*]\n  fields: [table_060.field_02]\n"
    )
    with monkeypatch.context() as patch:
        counted = parses(patch)
        assert project.run("diff", "HEAD~1", "HEAD").code == 0
    touched = (one, "table_050", "table_060", many)
    assert set(counted) <= {store.MANIFEST, *(store.collection_file(name) for name in touched)}
    assert records(project) == []  # no commit was read whole
    commands = [("diff", "HEAD~1", "HEAD", "--format", fmt) for fmt in ("text", "json", "markdown")]
    by_change = as_whole_read_prints(project, monkeypatch, commands)
    text = by_change[0].out
    assert f"{one}.field_01" in text and "table_060.field_01" in text  # kept: shown
    assert f"{one}.listed" not in text and "table_050" not in text and "table_060.field_02" not in text


# --------------------------------------------------------------------------- (f) the working tree


def test_the_working_tree_is_read_by_the_change(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """``diff`` of HEAD and the working tree (what a developer runs after ``pull``) parses the
    files that differ on disk only (each file's bytes are read to tell which; none is parsed)."""
    old = model()
    changed = ("table_010", "table_050", "table_090")
    commit(project, old, "old")
    store.write_tree(project.schema, store.render(note(old, *changed)))
    counted = parses(monkeypatch)
    result = project.run("diff")
    assert result.code == 0, result.err
    assert "0 to add, 3 to change, 0 to destroy" in result.out
    assert set(counted) == {store.MANIFEST, *(store.collection_file(name) for name in changed)}


@pytest.mark.parametrize("seed", range(2))
def test_the_working_tree_read_by_the_change_prints_what_the_whole_read_prints(
    project: Project, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    old = odd(model(seed), seed)
    commit(project, old, "old")
    store.write_tree(project.schema, store.render(synthetic.edited(old, edits=4, seed=seed + 20)))
    before, after = disk_sides(project)
    assert before.tree is not None and after.tree is not None
    assert validate.load_changed(before.tree, after.tree) is not None  # read by the change
    commands = [("diff", "--format", fmt) for fmt in ("text", "json", "markdown")] + [("diff", "--details")]
    by_change = as_whole_read_prints(project, monkeypatch, commands)
    assert "to change" in by_change[0].out or "to add" in by_change[0].out
