"""``check`` of a split folder one collection file at a time (issue 30): the same findings as
reading the folder whole, while holding one collection file's entries at once."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directus_gitops.files import store, yamlio
from directus_gitops.model import validate
from directus_gitops.model.kinds import model
from tests import synthetic
from tests.conftest import Project
from tests.test_config_validation import _places, _put, folder_files, full_state

_SCHEMA = store.render(synthetic.model(6, 3))
_CONFIGURED = folder_files(full_state(model.POLICIES))
_NAMES = sorted(
    {name for tree in (_SCHEMA, _CONFIGURED) for name in yamlio.load(tree[store.MANIFEST].decode())["collections"]}
)


def _dump(document: Any) -> bytes:
    try:
        return store.dump(document)
    except Exception:  # what the writer does not take, written as anyone might
        return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()


# Values that make references, numbers, flags and duplicates go wrong, besides odd ones.
_VALUES = st.one_of(
    st.sampled_from(_NAMES),
    st.sampled_from(["missing", "directus_users", "120", "1e3", 1, 0, True, None, "", "field_00", "id", "owner"]),
    st.just({}),
    st.just([]),
    st.dictionaries(
        st.sampled_from(["group", "field", "type", "collection", "one_field", "sort"]),
        st.sampled_from([*_NAMES, "x", None]),
        max_size=2,
    ),
)


def _both(root: Path) -> tuple[validate.Report, validate.Report]:
    return validate.check_folder(root, "split"), validate.check_folder(root, "split", whole=True)


def _same(streamed: validate.Report, whole: validate.Report) -> None:
    assert streamed.problems == whole.problems
    assert (streamed.layout, streamed.format_version) == (whole.layout, whole.format_version)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), configured=st.booleans(), edits=st.integers(1, 3))
def test_any_edit_is_found_as_reading_the_folder_whole_finds_it(
    data: st.DataObject, configured: bool, edits: int
) -> None:
    files = dict(_CONFIGURED if configured else _SCHEMA)
    for _ in range(edits):
        paths = sorted(path for path in files if path == store.MANIFEST or path.startswith("collections/"))
        if not paths:
            break
        relpath = data.draw(st.sampled_from(paths), label="file")
        action = data.draw(st.sampled_from(["put", "put", "put", "copy", "remove", "swap"]), label="action")
        if action == "remove":
            del files[relpath]
            continue
        document = yamlio.load(files[relpath].decode())
        if action == "copy":  # an entry of another file, again here: defined twice
            source = yamlio.load(files[data.draw(st.sampled_from(paths), label="from")].decode())
            lists = [source.get(key) for key in ("fields", "relations")] if isinstance(source, dict) else []
            # (an earlier edit may have put anything there: a list of entries, or not)
            entries = [item for items in lists if isinstance(items, list) for item in items if isinstance(item, dict)]
            if entries and isinstance(document, dict) and isinstance(document.get("fields"), list):
                document["fields"].append(copy.deepcopy(data.draw(st.sampled_from(entries), label="entry")))
        elif action == "swap" and isinstance(document, dict) and len(document) > 1:  # not in canonical order
            document = dict(reversed(document.items()))
        elif action == "put":
            at = data.draw(st.sampled_from(list(_places(document))), label="at")
            document = _put(copy.deepcopy(document), at, data.draw(_VALUES, label="value"))
        files[relpath] = _dump(document)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "schema"
        for relpath, content in files.items():
            (root / relpath).parent.mkdir(parents=True, exist_ok=True)
            (root / relpath).write_bytes(content)
        _same(*_both(root))


def _write(root: Path, files: dict[str, bytes]) -> None:
    for relpath, content in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_bytes(content)


def test_a_file_listed_for_another_collection_is_checked_whole_with_the_same_findings(tmp_path: Path) -> None:
    files = dict(_SCHEMA)
    manifest = yamlio.load(files[store.MANIFEST].decode())
    first, second = sorted(manifest["collections"])[5:7]
    manifest["collections"][first], manifest["collections"][second] = (
        manifest["collections"][second],
        manifest["collections"][first],
    )
    files[store.MANIFEST] = store.dump(manifest)
    _write(tmp_path, files)
    streamed, whole = _both(tmp_path)
    _same(streamed, whole)
    assert any("but manifest.yaml lists it for" in problem.message for problem in streamed.problems)


def test_one_collection_file_is_held_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, store.render(synthetic.model(30, 5)))
    held: list[int] = []
    document = validate._Checker.document

    def counting(self: validate._Checker, relpath: str) -> tuple[bool, Any]:
        held.append(sum(1 for path in self.data if path.startswith("collections/")))
        return document(self, relpath)

    monkeypatch.setattr(validate._Checker, "document", counting)
    streamed = validate.check_folder(tmp_path, "split")
    assert streamed.problems == [] and len(held) == 36  # the manifest and every collection file
    assert max(held) == 0  # each let go before the next is read
    held.clear()
    validate.check_folder(tmp_path, "split", whole=True)
    assert max(held) == 34  # (reading the folder whole: all the others before the last)


def test_check_and_check_fix_say_the_same_of_a_folder(project: Project) -> None:
    snapshot = synthetic.model(8, 8)
    store.write_tree(project.schema, store.render(snapshot))
    path = next(
        path for path in sorted(project.schema.glob("collections/*.yaml")) if "max_length: 255" in path.read_text()
    )
    path.write_text(path.read_text().replace("max_length: 255", "max_length: '255'", 1))
    checked = project.run("check")
    assert (
        checked.code == 1 and "max_length is the text '255'" in checked.err and "not in canonical form" in checked.err
    )
    fixed = project.run("check", "--fix")
    assert fixed.code == 0 and "rewritten in canonical form" in fixed.err
    assert project.run("check").err.strip() == "schema: no problems."


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("meta:\n  accountability", "meta: folder_0\nold_meta:\n  accountability"),  # meta as text
        ("  group: folder_", "  group: {}\n  old_group: folder_"),  # a group that is no name
    ],
)
def test_a_malformed_meta_is_a_problem_not_a_crash(tmp_path: Path, old: str, new: str) -> None:
    _write(tmp_path, store.render(synthetic.model(3, 2)))
    path = tmp_path / "collections" / "table_000.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    streamed, whole = _both(tmp_path)
    _same(streamed, whole)
    assert streamed.errors and all("table_000.yaml" in problem.path for problem in streamed.problems)


def test_check_fix_reads_the_folder_whole_only_when_there_is_something_to_fix(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_tree(project.schema, store.render(synthetic.model(8, 8)))
    readings: list[bool] = []
    check_folder = validate._check_folder

    def recording(root: Path, default_layout: store.Layout, *, streamed: bool) -> validate.Report:
        readings.append(streamed)
        return check_folder(root, default_layout, streamed=streamed)

    monkeypatch.setattr(validate, "_check_folder", recording)
    assert project.run("check", "--fix").code == 0
    assert readings == [True]  # one file at a time: nothing to fix
    path = project.schema / "collections" / "table_000.yaml"
    path.write_text(path.read_text() + "\n")
    readings.clear()
    fixed = project.run("check", "--fix")
    assert fixed.code == 0 and "rewritten in canonical form" in fixed.err
    assert readings == [True, False, True]  # found, read whole to write, checked again
