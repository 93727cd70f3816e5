"""check: every problem in the files, by file and line, and --fix to canonical form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from directus_gitops.base.console import display
from directus_gitops.files import snapshot as snap
from directus_gitops.files import store, yamlio
from directus_gitops.model import validate
from tests import samples
from tests.conftest import Project, Result


@pytest.fixture
def schema(project: Project) -> Path:
    store.write_tree(project.schema, store.render(samples.base()))
    return project.schema


def lines_of(path: Path, text: str) -> list[int]:
    """The 1-based numbers of the lines of ``path`` that contain ``text``."""
    return [number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line]


def line_of(path: Path, text: str) -> int:
    return lines_of(path, text)[0]


def edit(path: Path, old: str, new: str) -> None:
    content = path.read_text()
    assert old in content, f"{old!r} not in {path}"
    path.write_text(content.replace(old, new, 1))


def problems(result: Result) -> list[str]:
    """The findings: on stderr, before the one summary line per checked path."""
    assert result.out == "", "human findings go to stderr, stdout is for --format json"
    summary = (
        "problem(s).",
        "no problems.",
        "warning(s).",
        "rewritten in canonical form.",
        "fix the problems listed first.",
    )
    return [line for line in result.err.splitlines() if not line.endswith(summary)]


def test_a_canonical_tree_passes(project: Project, schema: Path) -> None:
    result = project.run("check")
    assert result.code == 0, result.output
    assert result.out == ""
    assert "schema: no problems." in result.err


def test_broken_references_are_listed_with_file_and_line(project: Project, schema: Path) -> None:
    articles = schema / "collections/articles.yaml"
    edit(articles, "related_collection: authors", "related_collection: writers")
    edit(articles, "  group: content", "  group: contents")
    edit(articles, "    many_collection: articles", "    junction_field: tag\n    many_collection: articles")
    result = project.run("check")
    assert result.code == 1
    # Each says what to edit; Directus applies a junction_field naming a missing field: a warning.
    assert problems(result) == [
        f"schema/collections/articles.yaml:{line_of(articles, 'group: contents')}: "
        "articles: group 'contents' is not a defined collection: add it, or set meta.group to null",
        f"schema/collections/articles.yaml:{line_of(articles, 'related_collection: writers')}: "
        "articles.author: related collection 'writers' is not defined: add it, or remove the relation",
        f"schema/collections/articles.yaml:{line_of(articles, 'junction_field: tag')}: "
        "warning: articles.author: junction field 'articles.tag' is not defined: add it, "
        "or set meta.junction_field to null",
    ]
    assert "schema: 2 problem(s), 1 warning(s)." in result.err


def test_fields_of_an_undefined_collection_are_reported_once(project: Project, schema: Path) -> None:
    authors = schema / "collections/authors.yaml"
    edit(authors, "meta:\n  collection: authors\n  note: null\nschema:\n  name: authors\n", "")
    result = project.run("check")
    relation = line_of(schema / "collections/articles.yaml", "related_collection")
    assert problems(result) == [
        f"schema/collections/articles.yaml:{relation}: articles.author: related collection 'authors' is not "
        "defined: add it, or remove the relation",
        f"schema/collections/authors.yaml:{line_of(authors, '- field: bio')}: "
        "authors.bio: collection 'authors' is not defined: add it, or remove its fields (bio, id, name)",
    ]


def test_a_non_canonical_file_is_named_with_its_first_differing_line(project: Project, schema: Path) -> None:
    authors = schema / "collections/authors.yaml"
    edit(authors, "  note: null\n", "  note:   ~\n")
    result = project.run("check")
    assert result.code == 1
    assert problems(result) == [
        f"schema/collections/authors.yaml:{line_of(authors, 'note:   ~')}: not in canonical form"
    ]


def test_fix_rewrites_a_non_canonical_tree_that_then_passes(project: Project, schema: Path) -> None:
    authors = schema / "collections/authors.yaml"
    edit(authors, "  note: null\n", "  note:   ~\n")
    edit(authors, "- field: bio\n", "- {field: bio,\n   type: text}\n- field: x\n")
    manifest = schema / "manifest.yaml"
    edit(manifest, "format_version: 1\n", "format_version: 1\n# a comment\n")
    before = store.load_path(schema).snapshot
    assert project.run("check").code == 1

    fixed = project.run("check", "--fix")
    assert fixed.code == 0, fixed.output
    assert "rewritten in canonical form" in fixed.err
    assert fixed.out == ""
    assert snap.canonical(store.load_path(schema).snapshot) == snap.canonical(before)
    assert project.run("check").code == 0


def test_yaml_anchors_and_aliases_are_read_as_directus_reads_them(project: Project, schema: Path) -> None:
    # Directus reads YAML with js-yaml, which resolves them: only the canonical form has none.
    authors = schema / "collections/authors.yaml"
    text = authors.read_text()
    assert "  meta:\n" in text
    authors.write_text(text.replace("  meta:\n", "  meta: &shared\n", 1))
    result = project.run("check")
    assert problems(result) == [f"schema/collections/authors.yaml:{line_of(authors, '&shared')}: not in canonical form"]
    assert project.run("check", "--fix").code == 0
    assert authors.read_text() == text
    # An alias naming no anchor is refused with its file and line.
    authors.write_text("collection: authors\nmeta: *shared\n")
    assert "schema/collections/authors.yaml:2: found undefined alias" in problems(project.run("check"))


def test_every_problem_is_listed_not_just_the_first(project: Project, schema: Path) -> None:
    articles = schema / "collections/articles.yaml"
    edit(articles, "related_collection: authors", "related_collection: writers")
    content = schema / "collections/content.yaml"
    edit(content, "  note: null\n", "  note: ~\n")
    (schema / "collections/authors.yaml").write_text("collection: authors\nmeta: *shared\n")
    result = project.run("check")
    assert result.code == 1
    assert problems(result) == [
        f"schema/collections/articles.yaml:{line_of(articles, 'writers')}: "
        "articles.author: related collection 'writers' is not defined: add it, or remove the relation",
        "schema/collections/authors.yaml:2: found undefined alias",
        f"schema/collections/content.yaml:{line_of(content, 'note: ~')}: not in canonical form",
    ]
    assert "schema: 3 problem(s)." in result.err


def test_fix_leaves_files_alone_when_a_rewrite_would_lose_something(project: Project, schema: Path) -> None:
    (schema / "collections/authors.yaml").write_text("collection: authors\nmeta: *shared\n")
    (schema / "collections/notes.yaml").write_text("collection: notes\n")
    before = {p: p.read_bytes() for p in schema.rglob("*") if p.is_file()}
    result = project.run("check", "--fix")
    assert result.code == 1
    assert "not rewritten" in result.err
    assert "schema/collections/notes.yaml: not part of the snapshot (manifest.yaml does not list it)" in problems(
        result
    )
    assert {p: p.read_bytes() for p in schema.rglob("*") if p.is_file()} == before


def test_missing_files_duplicates_and_versions(project: Project, schema: Path) -> None:
    manifest = schema / "manifest.yaml"
    (schema / "collections/content.yaml").unlink()
    authors = schema / "collections/authors.yaml"
    edit(authors, "collection: authors\n", "collection: articles\n")
    edit(authors, "- field: name\n", "- field: bio\n")
    result = project.run("check")
    found = problems(result)
    assert (
        f"schema/manifest.yaml:{line_of(manifest, 'content:')}: lists collections/content.yaml, which is missing"
        in found
    )
    again = "collection articles is defined again (also in collections/articles.yaml): keep one"
    assert f"schema/collections/authors.yaml:{line_of(authors, 'collection: articles')}: {again}" in found
    first_bio, second_bio = lines_of(authors, "- field: bio")[:2]
    again = f"field articles.bio is defined again (also at line {first_bio}): keep one"
    assert f"schema/collections/authors.yaml:{second_bio}: {again}" in found

    edit(manifest, "format_version: 1", "format_version: 7")
    newer = project.run("check")
    assert problems(newer) == [
        f"schema/manifest.yaml:{line_of(manifest, 'format_version')}: format_version 7 is newer than this "
        "directus-gitops understands (1); upgrade directus-gitops to read it"
    ]


def test_shape_problems_name_the_key(project: Project, schema: Path) -> None:
    authors = schema / "collections/authors.yaml"
    edit(authors, "  type: text\n", "")
    edit(authors, "relations: []", "relations: {}")
    result = project.run("check")
    assert f"schema/collections/authors.yaml:{line_of(authors, 'relations')}: 'relations' must be a list" in problems(
        result
    )
    edit(authors, "relations: {}", "relations: []")
    result = project.run("check")
    assert problems(result) == [
        f"schema/collections/authors.yaml:{line_of(authors, '- field: bio')}: "
        "field authors.bio: 'type' must be a non-empty string"
    ]


def test_fix_converts_directus_own_snapshot_folder(project: Project) -> None:
    project.schema.mkdir()
    (project.schema / "snapshot.json").write_text(json.dumps({"data": samples.base()}))
    result = project.run("check")
    assert result.code == 1
    assert "not the directus-gitops layout" in result.err
    fixed = project.run("check", "--fix")
    assert "Directus's own snapshot.json is no longer read: remove it" in fixed.err
    assert fixed.code == 1  # until then, a file beside the snapshot that no manifest lists
    assert "schema/snapshot.json: not part of the snapshot" in fixed.err
    (project.schema / "snapshot.json").unlink()
    assert project.run("check").code == 0
    assert store.load_path(project.schema).layout == "split"
    assert snap.canonical(store.load_path(project.schema).snapshot) == snap.canonical(samples.base())


def test_a_snapshot_file_is_checked_for_references(project: Project) -> None:
    broken = samples.base()
    broken["relations"][0]["related_collection"] = "writers"
    path = project.root / "snapshot.yaml"
    path.write_text(f"version: 1\ndirectus: 12.4.1\nvendor: sqlite\n{_rest(broken)}")
    result = project.run("check", "snapshot.yaml")
    assert result.code == 1
    assert problems(result) == [
        f"snapshot.yaml:{line_of(path, 'writers')}: articles.author: related collection 'writers' is not defined: "
        "add it, or remove the relation"
    ]


def test_an_entry_defined_twice_in_one_file_names_the_line_of_the_first(project: Project) -> None:
    """A public snapshot file (vdistortion/kira-sekira) lists a relation twice: naming the file
    itself as the other place ("also in snapshot.yaml") did not say which entry to keep."""
    twice = samples.base()
    twice["relations"].append(dict(twice["relations"][0], meta=None))
    path = project.root / "snapshot.yaml"
    path.write_text(f"version: 1\ndirectus: 12.4.1\nvendor: sqlite\n{_rest(twice)}")
    result = project.run("check", "snapshot.yaml")
    assert result.code == 1
    first, again = _relation_lines(path)
    assert problems(result) == [
        f"snapshot.yaml:{again}: relation articles.author is defined again (also at line {first}): keep one "
        "(Directus would store both and read the relation back three times)"
    ]


def _relation_lines(path: Path) -> tuple[int, int]:
    """The lines where the two entries of ``relations`` begin."""
    lines = path.read_text().splitlines()
    start = lines.index("relations:")
    entries = [number for number, line in enumerate(lines[start:], start + 1) if line.startswith("- ")]
    return entries[0], entries[1]


def _rest(snapshot: dict[str, object]) -> str:
    from directus_gitops.files import yamlio

    return yamlio.dump({key: snapshot[key] for key in ("collections", "fields", "relations")})


def test_the_single_layout_is_checked_too(project: Project) -> None:
    store.write_tree(project.schema, store.render(samples.base(), "single"))
    assert project.run("check").code == 0
    single = project.schema / "snapshot.yaml"
    edit(single, "related_collection: authors", "related_collection: writers")
    result = project.run("check")
    expected = f"schema/snapshot.yaml:{line_of(single, 'writers')}: articles.author: related collection 'writers'"
    assert problems(result) == [f"{expected} is not defined: add it, or remove the relation"]


def test_warnings_pass_check_unless_strict_and_carry_their_severity(project: Project, schema: Path) -> None:
    articles = schema / "collections/articles.yaml"
    edit(articles, "    many_collection: articles", "    junction_field: tag\n    many_collection: articles")
    result = project.run("check")
    assert result.code == 0, result.output
    assert "warning: articles.author: junction field 'articles.tag' is not defined" in result.err
    assert "schema: no problems, 1 warning(s)." in result.err

    strict = project.run("check", "--strict")
    assert strict.code == 1 and "warning: articles.author: junction field" in strict.err

    report = json.loads(project.run("check", "--format", "json").out)
    assert report["ok"] is True
    (found,) = report["checked"][0]["problems"]
    assert found["severity"] == "warning" and "junction field 'articles.tag'" in found["message"]
    assert json.loads(project.run("check", "--format", "json", "--strict").out)["ok"] is False

    # diff, plan and push read the files through the same validation: a warning refuses nothing.
    assert validate.load_path(schema).snapshot["relations"][0]["meta"]["junction_field"] == "tag"


@pytest.mark.directus
def test_a_real_pulled_model_has_no_problems(project: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    project.configure(dev=seeded.url)
    project.token("dev", seeded.token)
    assert project.run("pull").code == 0
    result = project.run("check")
    assert result.code == 0, result.output
    store.write_tree(project.root / "single", store.render(store.load_path(project.schema).snapshot, "single"))
    assert project.run("check", "single").code == 0


def test_every_path_given_is_checked(project: Project, schema: Path) -> None:
    content = schema / "collections/content.yaml"
    edit(content, "  note: null\n", "  note: ~\n")
    result = project.run("check", "nowhere", "schema")
    assert result.code == 1
    assert problems(result) == [
        "nowhere: no such file or folder",
        f"schema/collections/content.yaml:{line_of(content, 'note: ~')}: not in canonical form",
    ]


def test_a_number_written_as_text_fails_check_and_fix_writes_the_number(project: Project, schema: Path) -> None:
    # Directus takes max_length: "120" in a snapshot and stores the number: the file holds the
    # same model as one with 120, so readers take 120, check names it and --fix writes it.
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "Base model")
    authors = schema / "collections/authors.yaml"
    edit(authors, "max_length: 255\n", "max_length: 120\n")
    project.git("commit", "--quiet", "-am", "name up to 120 characters")
    edit(authors, "max_length: 120\n", "max_length: '120'\n")
    edit(authors, "    sort: 1\n", '    sort: "1"\n')  # the first field's (bio's) position
    edit(authors, "max_length: null\n", "max_length: 'long'\n")  # not a number: left as it is

    result = project.run("check")
    assert result.code == 1
    sort, length = line_of(authors, 'sort: "1"'), line_of(authors, "max_length: '120'")
    assert problems(result) == [
        f"schema/collections/authors.yaml:{sort}: authors.bio: meta.sort is the text '1', "
        "Directus stores the number 1 (`check --fix` writes it)",
        f"schema/collections/authors.yaml:{sort}: not in canonical form",  # (its first difference)
        f"schema/collections/authors.yaml:{length}: authors.name: "
        "schema.max_length is the text '120', Directus stores the number 120 (`check --fix` writes it)",
    ]
    found = json.loads(project.run("check", "--format", "json").out)["checked"][0]["problems"]
    assert {(item["cosmetic"], item["severity"]) for item in found} == {(True, "error")}

    # Every reader takes the number: the working tree is no change from the commit with 120.
    name = samples.find(validate.load_path(schema).snapshot, "fields", "authors", "name")
    assert name["schema"]["max_length"] == 120
    edit(authors, "max_length: 'long'\n", "max_length: null\n")
    assert project.run("diff", "HEAD", "--exit-code").code == 0

    fixed = project.run("check", "--fix")
    assert fixed.code == 0, fixed.output
    assert "rewritten in canonical form" in fixed.err
    assert "max_length: 120\n" in authors.read_text() and "    sort: 1\n" in authors.read_text()
    assert project.git("status", "--porcelain") == ""  # exactly the committed file
    assert project.run("check").code == 0


def test_a_flag_written_as_1_or_0_is_read_as_the_boolean_and_check_fix_writes_it(project: Project) -> None:
    # Snapshots from MySQL may write meta flags as 1 and 0; Directus takes them and reads back booleans.
    snapshot = samples.base()
    samples.find(snapshot, "fields", "authors", "name")["meta"]["searchable"] = 1
    samples.find(snapshot, "fields", "authors", "name")["meta"]["hidden"] = 0
    store.write_tree(project.schema, store.render(snapshot))
    checked = project.run("check")
    assert checked.code != 0 and "meta.searchable is written as 1, Directus stores the boolean true" in checked.err
    assert project.run("check", "--fix").code == 0
    fixed = yamlio.load((project.schema / "collections" / "authors.yaml").read_text())
    name = next(entry for entry in fixed["fields"] if entry["field"] == "name")
    assert (name["meta"]["searchable"], name["meta"]["hidden"]) == (True, False)
    assert project.run("check").code == 0


def exported_with_a_key_twice(root: Path, first: str, last: str) -> tuple[Path, int, int]:
    """Directus's JSON export of the sample model with the schema of field authors.name giving
    ``is_unique`` twice (as a public 10.10 export, AlperTom/CarBot, does): the file, and the
    lines of the first and the last."""
    snapshot = samples.base()
    samples.find(snapshot, "fields", "authors", "name")["schema"]["comment"] = "given twice"
    text = json.dumps(snapshot, indent=2)
    text = text.replace(
        '"comment": "given twice"',
        f'"is_unique": {first},\n        "comment": "given twice",\n        "is_unique": {last}',
        1,
    )
    path = root / "snapshot.json"
    path.write_text(text)
    marker = line_of(path, '"comment": "given twice"')
    return path, marker - 1, marker + 1


READ_AS_DIRECTUS_DOES = "Directus reads this file with JSON.parse, which takes the last"


@pytest.mark.parametrize(
    ("first", "last", "said"),
    [
        ("false", "false", f"false both times: {READ_AS_DIRECTUS_DOES}"),
        ("false", "true", f"with different values: {READ_AS_DIRECTUS_DOES} (true)"),
    ],
)
def test_a_key_twice_in_a_json_export_is_a_warning_and_the_last_value_counts(
    project: Project, first: str, last: str, said: str
) -> None:
    # Directus reads a JSON snapshot with JSON.parse (`schema apply`, POST /schema/diff): it
    # takes the last value, so the tool does too, and says so (tests/test_validation_servers.py).
    path, first_line, last_line = exported_with_a_key_twice(project.root, first, last)
    warning = f"snapshot.json:{last_line}: warning: key 'is_unique' given twice (also at line {first_line}), {said}"
    result = project.run("check", "snapshot.json")
    assert result.code == 0, result.output
    assert problems(result) == [warning]
    assert "snapshot.json: no problems, 1 warning(s)." in result.err

    strict = project.run("check", "--strict", "snapshot.json")
    assert strict.code == 1 and problems(strict) == [warning]
    (found,) = json.loads(project.run("check", "--format", "json", "snapshot.json").out)["checked"][0]["problems"]
    assert (found["line"], found["severity"]) == (last_line, "warning")

    loaded = validate.load_path(path)  # what diff, plan and push read, with the warning to say
    assert samples.find(loaded.snapshot, "fields", "authors", "name")["schema"]["is_unique"] is json.loads(last)
    assert loaded.warnings == (f"{display(path)}:{last_line}: {warning.split(': warning: ')[1]}",)


def test_a_key_twice_is_refused_where_directus_does_not_read_the_file(project: Project, schema: Path) -> None:
    # YAML (js-yaml refuses it too), and the schema folder itself, even holding Directus's own
    # snapshot.json: the folder is the project's, read through the same files every time.
    yaml_file = project.root / "snapshot.yaml"
    yaml_file.write_text(yamlio.dump(samples.base()).replace("vendor: sqlite\n", "vendor: sqlite\nvendor: mysql\n"))
    result = project.run("check", "snapshot.yaml")
    assert result.code == 1
    line = line_of(yaml_file, "vendor: mysql")
    assert problems(result) == [f"snapshot.yaml:{line}: duplicate key 'vendor' (first at line {line - 1})"]

    folder = project.root / "exported"
    folder.mkdir()
    _, first_line, last_line = exported_with_a_key_twice(folder, "false", "true")
    result = project.run("check", "exported")
    assert result.code == 1
    assert f"exported/snapshot.json:{last_line}: duplicate key 'is_unique' (first at line {first_line})" in result.err
