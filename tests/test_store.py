"""The file format: layouts, round trips, safe names, atomic writes, versions."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from directus_gitops.base.errors import DocumentError, RefusedError, SnapshotError
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from tests import samples, synthetic


@pytest.mark.parametrize("layout", store.LAYOUTS)
def test_round_trip_gives_back_the_snapshot(tmp_path: Path, layout: store.Layout) -> None:
    original = samples.base()
    store.write_tree(tmp_path / "schema", store.render(original, layout))
    loaded = store.load_path(tmp_path / "schema")
    assert loaded.layout == layout
    assert snap.canonical(loaded.snapshot) == snap.canonical(original)


def test_split_layout_has_one_file_per_collection_and_a_manifest() -> None:
    files = store.render(samples.base())
    assert sorted(files) == [
        "collections/articles.yaml",
        "collections/authors.yaml",
        "collections/content.yaml",
        "collections/directus_users.yaml",
        f"collections/{store.file_stem('Mixed Case/Name')}.yaml",
        "manifest.yaml",
    ]
    articles = files["collections/articles.yaml"].decode()
    assert "collection: articles\n" in articles
    assert "- field: author\n  related_collection: authors\n" in articles


def test_render_is_deterministic_whatever_the_input_order() -> None:
    shuffled = samples.base()
    for key in ("collections", "fields", "relations"):
        shuffled[key].reverse()
    shuffled["collections"][0] = dict(reversed(list(shuffled["collections"][0].items())))
    assert store.render(shuffled) == store.render(samples.base())


@pytest.mark.parametrize(
    "name", ["Articles", "../escape", "a/b", "con", "x" * 300, "with space", "日本", ".hidden", "a\\b"]
)
def test_file_names_are_safe(name: str) -> None:
    stem = store.file_stem(name)
    assert "/" not in stem and "\\" not in stem and ".." not in stem
    assert stem == stem.lower() and len(stem) <= 100
    assert stem != name.lower() or name.islower()


def test_names_differing_in_case_never_share_a_file() -> None:
    names = ["articles", "Articles", "ARTICLES", "aRticles"]
    assert len({store.file_stem(n).lower() for n in names}) == len(names)


def test_unchanged_tree_is_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    files = store.render(samples.base())
    assert store.write_tree(target, files) is True
    before = {p: p.stat().st_mtime_ns for p in target.rglob("*")}
    assert store.write_tree(target, files) is False
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*")} == before


def test_removed_collection_loses_its_file(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    smaller = samples.base()
    smaller["collections"] = [c for c in smaller["collections"] if c["collection"] != "authors"]
    smaller["fields"] = [f for f in smaller["fields"] if f["collection"] != "authors"]
    store.write_tree(target, store.render(smaller))
    assert not (target / "collections/authors.yaml").exists()
    assert (target / "collections/articles.yaml").exists()


def test_interrupted_swap_is_recovered(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    # Simulate a crash between the two renames: old tree moved aside, new one staged.
    target.rename(tmp_path / ".schema.gitops-old")
    (tmp_path / ".schema.gitops-new").mkdir()
    (tmp_path / ".schema.gitops-new" / "manifest.yaml").write_text("half")
    store.recover(target)
    assert snap.canonical(store.load_path(target).snapshot) == snap.canonical(samples.base())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema"]


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    manifest = target / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("format_version: 1", "format_version: 99"))
    with pytest.raises(SnapshotError, match="format_version 99 is newer"):
        store.load_path(target)


def test_manifest_paths_cannot_escape_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    (tmp_path / "secret.yaml").write_text("collection: x\n")
    manifest = target / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("collections/articles.yaml", "../secret.yaml"))
    with pytest.raises(SnapshotError, match="leaves the schema folder"):
        store.load_path(target)


def test_directus_own_snapshot_files_are_read(tmp_path: Path) -> None:
    import json

    (tmp_path / "snapshot.json").write_text(json.dumps({"data": samples.base()}))
    assert store.load_path(tmp_path / "snapshot.json").layout == "directus"
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "snapshot.yaml").write_text(
        "version: 1\ndirectus: 10.13.4\nvendor: sqlite\ncollections: []\nfields: []\nrelations: []\n"
    )
    assert store.load_path(folder).snapshot["directus"] == "10.13.4"


def test_broken_file_is_named_with_its_line(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    path = target / "collections/authors.yaml"
    path.write_text(path.read_text() + "fields: [\n")
    with pytest.raises(SnapshotError, match=r"collections/authors.yaml:\d+: "):
        store.load_path(target)


def test_interrupt_while_writing_leaves_the_old_tree_and_is_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    changed = samples.base()
    for entry in changed["fields"]:
        if entry.get("meta"):
            entry["meta"]["note"] = "changed everywhere"
    writes = 0
    real_write = Path.write_bytes

    def interrupted(self: Path, data: bytes) -> int:
        nonlocal writes
        writes += 1
        if writes == 3:
            raise KeyboardInterrupt
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write_tree(target, store.render(changed))
    monkeypatch.undo()
    staging = target / store.STAGING
    assert staging.exists()  # the half-staged files, never listed
    assert {
        p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file() and staging not in p.parents
    } == before
    assert snap.canonical(store.load_path(target).snapshot) == snap.canonical(samples.base())

    assert store.write_tree(target, store.render(changed)) is True
    assert not staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema"]
    assert snap.canonical(store.load_path(target).snapshot) == snap.canonical(changed)


def test_a_write_interrupted_after_its_journal_is_finished_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    smaller = samples.base()
    smaller["collections"] = [c for c in smaller["collections"] if c["collection"] != "authors"]
    smaller["fields"] = [f for f in smaller["fields"] if f["collection"] != "authors"]
    smaller["fields"][0]["meta"] = {**(smaller["fields"][0].get("meta") or {}), "note": "changed"}
    real_replace = Path.replace
    moves = 0

    def killed(self: Path, to: Path) -> Path:  # the process dies after the first file moved in
        nonlocal moves
        if store.STAGING in str(self) and "/new/" in str(self):
            moves += 1
            if moves == 2:
                raise KeyboardInterrupt
        return real_replace(self, to)

    monkeypatch.setattr(Path, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write_tree(target, store.render(smaller))
    monkeypatch.undo()
    # Half moved in: every reader refuses it, and says how to finish.
    with pytest.raises(SnapshotError, match="interrupted part-way"):
        store.load_path(target)
    store.recover(target)
    assert snap.canonical(store.load_path(target).snapshot) == snap.canonical(smaller)
    assert not (target / "collections/authors.yaml").exists()
    assert not (target / store.STAGING).exists()


def test_only_files_the_tool_wrote_are_replaced_or_removed(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    (target / "README.md").write_text("our notes\n")
    (target / "collections/notes.txt").write_text("mine\n")
    smaller = samples.base()
    smaller["collections"] = [c for c in smaller["collections"] if c["collection"] != "authors"]
    smaller["fields"] = [f for f in smaller["fields"] if f["collection"] != "authors"]
    assert store.write_tree(target, store.render(smaller)) is True
    assert (target / "README.md").read_text() == "our notes\n"
    assert (target / "collections/notes.txt").read_text() == "mine\n"
    assert not (target / "collections/authors.yaml").exists()
    assert store.same_content(target, store.render(smaller))


def test_a_file_someone_else_wrote_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    (target / "collections").mkdir(parents=True)
    (target / "collections/articles.yaml").write_text("hand written\n")
    with pytest.raises(RefusedError, match=r"refusing to replace .*articles.yaml: directus-gitops did not write it"):
        store.write_tree(target, store.render(samples.base()))
    assert (target / "collections/articles.yaml").read_text() == "hand written\n"
    assert sorted(p.name for p in target.iterdir()) == ["collections"]


def test_nothing_is_written_through_a_link_in_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    outside = tmp_path / "outside"
    outside.mkdir()
    target.mkdir()
    (target / "collections").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RefusedError, match="is a link or a file"):
        store.write_tree(target, store.render(samples.base()))
    assert list(outside.iterdir()) == []


def test_a_linked_folder_cannot_lead_reads_out_of_the_schema_folder(tmp_path: Path) -> None:
    target = tmp_path / "schema"
    store.write_tree(target, store.render(samples.base()))
    outside = tmp_path / "outside"
    (target / "collections").rename(outside)
    (target / "collections").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SnapshotError, match="listed in the manifest but missing"):
        store.load_path(target)


def test_the_schema_folder_itself_may_be_a_link(tmp_path: Path) -> None:
    real = tmp_path / "shared-schema"
    store.write_tree(real, store.render(samples.base()))
    (tmp_path / "schema").symlink_to(real, target_is_directory=True)
    assert snap.canonical(store.load_path(tmp_path / "schema").snapshot) == snap.canonical(samples.base())


@pytest.mark.parametrize(("name", "depth"), [("deep.json", 200_000), ("deep.json", 150), ("deep.yaml", 150)])
def test_a_document_nested_too_deep_is_one_problem_not_a_crash(name: str, depth: int) -> None:
    text = "[" * depth + "]" * depth
    with pytest.raises(DocumentError, match="nested more than 100 levels deep"):
        store.parse_document(text.encode(), name)


def test_a_saved_plan_with_a_key_twice_or_nested_too_deep_is_refused_in_one_line(tmp_path: Path) -> None:
    from directus_gitops.base.errors import ConfigError
    from directus_gitops.engine import plan

    for name, text in (
        ("twice.json", '{"format": "directus-gitops-plan", "format": "x"}'),
        ("deep.json", "[" * 5000 + "]" * 5000),
    ):
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=r"duplicate key 'format'|nested more than 100 levels"):
            plan.load_saved(tmp_path / name)


@pytest.mark.parametrize("seed", range(3))
def test_collection_files_are_made_one_collection_at_a_time_as_from_the_whole_canonical_snapshot(seed: int) -> None:
    # Memory on a large model (issue 30): no canonical copy of the whole model is made.
    model = synthetic.edited(synthetic.model(collections=25, fields=5, seed=seed), edits=10, seed=seed)
    rng = random.Random(seed)
    for key in ("collections", "fields", "relations"):
        rng.shuffle(model[key])
        for entry in model[key]:  # keys in any order, as a server sends them
            items = list(entry.items())
            rng.shuffle(items)
            entry.clear()
            entry.update(items)
    model["fields"].append(dict(model["fields"][0]))  # the same field twice keeps its order
    expected = store._contents(snap.canonical(model))
    assert list(store._collection_contents(model)) == list(expected.items())
    assert json.dumps(list(store._collection_contents(model))) == json.dumps(list(expected.items()))


def test_a_json_export_is_read_as_json_parse_reads_it_and_every_key_given_twice_is_located() -> None:
    text = (
        '{"a": 1,\n'
        ' "fields": [{"schema": {"k": 1}}, {"schema": {"k": 1,\n'
        '   "k": 2}}],\n'
        ' "b": {"x": [{"y": null}], "x": 3},\n'
        ' "a": 1, "c": true, "a": "three"}'
    )
    document, repeated = store.parse_export(text.encode(), "export.json")
    assert document == json.loads(text)  # the first place, the last value: JSON.parse's reading
    assert list(document) == ["a", "fields", "b", "c"]
    assert repeated == [
        store.Repeated("k", (2, 3), (1, 2)),  # nested in a list, where an earlier object had it once
        store.Repeated("x", (4, 4), ([{"y": None}], 3)),
        store.Repeated("a", (1, 5, 5), (1, 1, "three")),
    ]
    assert repeated[2].also == "also at lines 1, 5"
    assert store.parse_export(b'{"a": 1}', "export.json") == ({"a": 1}, [])

    # Everywhere else a key given twice is refused, named where it is given again (an earlier
    # object giving the key once is not taken for the first).
    with pytest.raises(DocumentError, match=r"^export.json:3: duplicate key 'k' \(first at line 2\)$"):
        store.parse_document(text.encode(), "export.json")
    with pytest.raises(DocumentError, match=r"^export.yaml:2: duplicate key 'a'"):
        store.parse_export(b"a: 1\na: 2\n", "export.yaml")
    # A syntax error after the key given twice is the problem with the file, as JSON.parse says.
    for parse in (store.parse_document, store.parse_export):
        with pytest.raises(DocumentError, match=r"^export.json:2: invalid JSON: Extra data$"):
            parse(b'{"a": 1, "a": 2}\n}', "export.json")
