"""Committed schema folders remembered once read (treecache): a remembered folder gives
exactly the snapshot reading it gives, a comparison of two remembered folders exactly the
changes the whole snapshots give, and a record that is damaged, stale or absent is never
trusted."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directus_gitops.base.errors import InvalidSnapshotError
from directus_gitops.engine import diff
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from directus_gitops.files.gitrepo import Repo
from directus_gitops.model import changes, renames, treecache, validate
from directus_gitops.reports import render
from tests import synthetic
from tests.conftest import Project
from tests.test_diff_fast import commit, odd, sides, touched


def records(project: Project) -> list[Path]:
    return sorted((project.root / ".git" / "directus-gitops" / "trees").glob("*.record"))


def fresh(side: diff.Side) -> dict[str, Any]:
    assert side.tree is not None
    return validate.load_tree(side.tree).snapshot


def test_a_remembered_folder_gives_exactly_the_snapshot_reading_it_gives(project: Project) -> None:
    model = odd(synthetic.model(collections=12, fields=6, seed=4), 4)
    commit(project, model, "one")
    _, side = sides_one(project)
    assert side.tree is not None
    first, made = treecache.read(side.tree)
    assert made is not None and len(records(project)) == 1
    again, remembered = treecache.read(side.tree)
    assert remembered is not None
    assert again == first == fresh(side)
    assert json.dumps(again) == json.dumps(fresh(side))  # the same keys in the same order, too
    assert store.render(again) == store.render(first)


def sides_one(project: Project) -> tuple[Repo, diff.Side]:
    repo = Repo(project.root)
    return repo, diff.revision_side(repo, "HEAD", "schema")


@pytest.mark.parametrize("seed", range(4))
def test_two_remembered_folders_compare_as_their_whole_snapshots(project: Project, seed: int) -> None:
    old = odd(synthetic.model(collections=30, fields=6, seed=seed), seed)
    new = synthetic.edited(touched(odd(old, seed + 50), seed), edits=15, seed=seed + 100)
    related = {name for entry in new["relations"] for name in (entry["collection"], entry["related_collection"])}
    related |= {(entry.get("meta") or {}).get("group") for entry in new["collections"]}
    present = {entry["collection"] for entry in new["collections"] if entry.get("schema")} - related
    dropped = set(sorted(entry["collection"] for entry in old["collections"] if entry["collection"] in present)[:2])
    assert len(dropped) == 2  # two collections dropped whole
    new["collections"] = [entry for entry in new["collections"] if entry["collection"] not in dropped]
    new["fields"] = [entry for entry in new["fields"] if entry["collection"] not in dropped]
    commit(project, old, "old")
    commit(project, new, "new")
    before, after = sides(project)
    cold = diff.compare(before, after)
    assert cold.fields is None and len(records(project)) == 2  # read in full, then remembered
    warm = diff.compare(*sides(project))
    assert warm.fields is not None  # compared by the entries that differ
    expected = renames.fold(changes.compare(fresh(before), fresh(after)), ())  # with diff's rename hints
    assert cold.changes == expected == warm.changes
    assert len(warm.before["fields"]) < len(fresh(before)["fields"])  # only what differs was decoded
    counts = snap.field_counts(fresh(before))
    assert warm.field_counts() == counts
    assert render.text(warm.changes, fields=warm.field_counts()) == render.text(expected, fields=counts)
    assert "fields)" in render.text(warm.changes, fields=warm.field_counts())  # the dropped ones, counted


def test_the_same_folder_twice_and_one_entry_changed(project: Project) -> None:
    model = synthetic.model(collections=6, fields=4)
    commit(project, model, "one")
    changed = copy.deepcopy(model)
    changed["fields"][5]["meta"]["note"] = "changed"
    commit(project, changed, "two")
    repo = Repo(project.root)
    same = diff.revision_side(repo, "HEAD", "schema"), diff.revision_side(repo, "HEAD", "schema")
    diff.compare(*same)
    assert diff.compare(*same).changes == changes.ChangeSet()
    diff.compare(*sides(project))
    warm = diff.compare(*sides(project))
    field = changed["fields"][5]
    assert [change.name for change in warm.changes] == [f"{field['collection']}.{field['field']}"]
    assert len(warm.before["fields"]) == len(warm.after["fields"]) == 1
    # Entries are checked as they are decoded: zeroed entries give the same comparison,
    # read afresh, and the records are made again.
    kept = {path: path.read_bytes() for path in records(project)}
    for side in sides(project):
        assert side.tree is not None
        size = len(treecache.load(side.tree).entries)  # type: ignore[union-attr]
        path = treecache._path(side.tree)
        assert path is not None
        path.write_bytes(kept[path][:-size] + bytes(size))
    treecache._RECENT.clear()
    assert all(treecache.load(side.tree) is not None for side in sides(project) if side.tree is not None)
    treecache._RECENT.clear()
    assert diff.compare(*sides(project)).changes == warm.changes
    assert {path: path.read_bytes() for path in records(project)} == kept


def test_a_damaged_or_stale_record_is_read_again(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(project, synthetic.model(collections=5, fields=4), "one")
    _, side = sides_one(project)
    assert side.tree is not None
    expected = treecache.read(side.tree)[0]
    (path,) = records(project)
    data = path.read_bytes()
    index = len(treecache._MAGIC) + 64 + 8 + 10  # a byte of the index (digests, ends); the last, an entry's
    flipped = [data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :] for at in (index, len(data) - 1)]
    for damaged in (data[:-10], *flipped, b"", data[:20]):
        path.write_bytes(damaged)
        treecache._RECENT.clear()  # as a new process
        if damaged is not flipped[1]:
            assert treecache.load(side.tree) is None
        assert treecache.read(side.tree)[0] == expected  # read afresh, and remembered again
        assert path.read_bytes() == data
        assert treecache.load(side.tree) is not None
    monkeypatch.setattr(treecache, "_code_digest", b"\0" * 32)  # another version of the code
    treecache._RECENT.clear()
    assert treecache.load(side.tree) is None


def test_an_invalid_folder_is_never_remembered(project: Project) -> None:
    commit(project, synthetic.model(collections=5, fields=4), "valid")
    path = project.schema / store.collection_file("table_002")
    path.write_text(path.read_text().replace("  type: integer\n", "  type: integr\n", 1))
    project.git("commit", "--quiet", "-am", "broken")
    _, side = sides_one(project)
    assert side.tree is not None
    for _ in range(2):
        with pytest.raises(InvalidSnapshotError):
            treecache.read(side.tree)
    assert records(project) == []


def versions(project: Project, count: int) -> Iterator[int]:
    """Commit ``count`` versions of a small model, one field note apart, yielding after each."""
    model = synthetic.model(collections=3, fields=3)
    for number in range(count):
        model = copy.deepcopy(model)
        model["fields"][0]["meta"]["note"] = f"version {number}"
        commit(project, model, f"v{number}")
        yield number


def test_only_the_most_recently_used_records_are_kept(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(treecache, "KEEP", 2)
    for _ in versions(project, 4):
        _, side = sides_one(project)
        assert side.tree is not None
        treecache.read(side.tree)
    assert len(records(project)) == 2


def test_the_cli_prints_the_same_diff_cold_and_warm(project: Project) -> None:
    old = synthetic.model(collections=8, fields=4)
    new = synthetic.edited(old, edits=6, seed=3)
    commit(project, old, "old")
    commit(project, new, "new")
    outputs = []
    for _ in range(2):
        for fmt in ("text", "json", "markdown"):
            result = project.run("diff", "HEAD~1", "HEAD", "--format", fmt)
            assert result.code == 0, result.err
            outputs.append(result.out)
    assert outputs[:3] == outputs[3:]
    assert "to change" in outputs[0]


def test_a_log_longer_than_the_records_kept_remembers_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directus_gitops.engine import history as log

    monkeypatch.setattr(treecache, "KEEP", 3)
    list(versions(project, 4))
    repo = Repo(project.root)
    entries = log.history(repo, "schema", ref="HEAD", limit=None)
    assert len(entries) == 4 and all(entry.error is None for entry in entries)
    assert records(project) == []  # four commits would only replace three records with three others
    log.history(repo, "schema", ref="HEAD", limit=2)
    assert len(records(project)) == 3  # two commits and the parent of the older one


def test_push_reads_the_committed_files_whatever_a_record_says(project: Project) -> None:
    """A record is trusted like the repository it lives in; push does not rest on it at all."""
    from directus_gitops.base.console import Console
    from directus_gitops.engine import plan
    from directus_gitops.model import config as configuration

    model = synthetic.model(collections=4, fields=3)
    commit(project, model, "one")
    project.configure(dev="http://127.0.0.1:1")
    _, side = sides_one(project)
    assert side.tree is not None
    planted = copy.deepcopy(model)
    planted["fields"][0]["meta"]["note"] = "planted in the record"
    treecache.save(side.tree, treecache.record_of(planted, config=False))
    treecache._RECENT.clear()
    config = configuration.load(None, project.root)
    console = Console(quiet=True)
    read = plan.read_source(config, console, ref=None, path=None).snapshot
    assert read["fields"][0]["meta"]["note"] == "planted in the record"  # plan and diff use records
    pushed = plan.read_source(config, console, ref=None, path=None, remembered=False).snapshot
    assert pushed == fresh(side) and pushed["fields"][0]["meta"]["note"] != "planted in the record"


def test_a_remembered_folder_is_read_in_windows_with_its_texts_shared(project: Project) -> None:
    # Memory on a large model (issue 30): a record made is kept by its file, not its bytes; its
    # entries are read a window at a time, and the keys and texts they repeat are one object each.
    model = odd(synthetic.model(collections=40, fields=6, seed=5), 5)
    commit(project, model, "one")
    _, side = sides_one(project)
    assert side.tree is not None
    first, made = treecache.read(side.tree)
    assert made is not None and isinstance(made.entries, treecache.Stored)
    assert made.snapshot() == first  # read back from the file it was written to
    stored = made.entries
    spans = [(made.ends[index - 1] if index else 0, made.ends[index]) for index in range(len(made.ends))]
    whole = stored.whole()
    for size in (1, 200, 1 << 22):  # one entry a window, a few, all of them
        assert [bytes(piece) for piece in stored.windows(spans, size)] == [whole[a:b] for a, b in spans]
    treecache._RECENT.clear()
    again, remembered = treecache.read(side.tree)
    assert remembered is not None and again == first == fresh(side)
    assert json.dumps(again) == json.dumps(fresh(side))
    one, other = again["fields"][0], again["fields"][1]
    assert one["collection"] == other["collection"]
    assert one["collection"] is other["collection"]  # the same text, one object
    assert next(iter(one["meta"])) is next(iter(other["meta"]))  # and the same key


def test_interned_keeps_every_value_and_its_order() -> None:
    value = json.loads('{"b": [1, 1.5, true, null, "a text", {"z": "y", "a": ["a text"]}], "a": {"k": false}}')
    assert value["b"][4] is not value["b"][5]["a"][0]
    shared = snap.interned(value)
    assert shared == value and json.dumps(shared) == json.dumps(value)
    assert shared["b"][4] is shared["b"][5]["a"][0]
    assert type(shared["b"][2]) is bool and type(shared["b"][0]) is int
