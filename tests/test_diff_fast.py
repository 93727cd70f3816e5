"""The fast offline diff (canonical files read entry by entry, shared between the two sides)
gives exactly what reading every file with PyYAML gives: the same changes, and for an invalid
snapshot the same refusal with the same messages."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from directus_gitops.base.errors import InvalidSnapshotError
from directus_gitops.engine import diff
from directus_gitops.files import store
from directus_gitops.files.gitrepo import Repo
from directus_gitops.files.yamlio import canonical as canonread
from directus_gitops.model import changes, renames, treecache, validate
from directus_gitops.reports import render
from tests import synthetic
from tests.conftest import Project

ODD_STRINGS = [
    "line one\nline two\n",
    "a\n\nb",
    "  leading spaces",
    "trailing \n",
    "x\n\n",
    "日本語のメモ",
    "é\u2028x",
    "12",
    "1e3",
    "0x1F",
    "yes",
    "null",
    "~",
    "",
    "- item",
    "key: value",
    "# not a comment",
    "'quoted'",
    '"double"',
    "tab\there",
]


def odd(snapshot: dict[str, Any], seed: int) -> dict[str, Any]:
    """``snapshot`` with odd values in many places: multi-line text, quoted keys, unicode,
    nulls, empty lists and maps, numbers as strings."""
    rng = random.Random(seed)
    result = copy.deepcopy(snapshot)
    for entry in result["fields"]:
        meta = entry["meta"]
        pick = rng.randrange(6)
        if pick == 0:
            meta["note"] = rng.choice(ODD_STRINGS)
        elif pick == 1:
            meta["options"] = {rng.choice(ODD_STRINGS): rng.choice(ODD_STRINGS), "null": None, "yes": []}
        elif pick == 2:
            meta["options"] = {}
            meta["special"] = []
        elif pick == 3:
            meta["translations"] = [
                {"language": "ja-JP", "translation": "名前"},
                {"language": "x", "translation": None},
            ]
        elif pick == 4 and entry["schema"] is not None:
            entry["schema"]["default_value"] = rng.choice(["0", "12.5", "true", 12.5, -3, "multi\nline"])
    for entry in result["collections"]:
        if rng.randrange(3) == 0:
            entry["meta"]["note"] = rng.choice(ODD_STRINGS)
            entry["meta"]["display_template"] = "{{name}}: {{id}}"
    return result


def touched(snapshot: dict[str, Any], seed: int) -> dict[str, Any]:
    """One change in every collection file (the case where every file differs)."""
    rng = random.Random(seed)
    result = copy.deepcopy(snapshot)
    done: set[str] = set()
    for entry in result["fields"]:
        if entry["collection"] not in done and entry["field"] != "id":
            done.add(entry["collection"])
            entry["meta"]["note"] = rng.choice([*ODD_STRINGS, "changed", None])
    return result


def commit(project: Project, snapshot: dict[str, Any], message: str) -> None:
    store.write_tree(project.schema, store.render(snapshot))
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", message)


def sides(project: Project) -> tuple[diff.Side, diff.Side]:
    repo = Repo(project.root)
    return diff.revision_side(repo, "HEAD~1", "schema"), diff.revision_side(repo, "HEAD", "schema")


def full_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read every file with PyYAML, as before the fast reader (and nothing remembered)."""
    monkeypatch.setattr(canonread, "load", lambda text: (False, None))
    monkeypatch.setattr(canonread, "load_split", lambda text, memo: (False, None))
    monkeypatch.setattr(treecache, "load", lambda tree: None)
    monkeypatch.setattr(treecache, "save", lambda tree, record: None)


def full_compare(before: diff.Side, after: diff.Side) -> changes.ChangeSet:
    assert before.tree is not None and after.tree is not None
    # diff's own hints (a drop and an add that look like a rename) are part of what it gives.
    return renames.fold(
        changes.compare(validate.load_tree(before.tree).snapshot, validate.load_tree(after.tree).snapshot), ()
    )


@pytest.mark.parametrize("seed", range(5))
def test_the_fast_diff_gives_exactly_what_the_full_parser_gives(
    project: Project, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    old = odd(synthetic.model(collections=30, fields=6, seed=seed), seed)
    new = synthetic.edited(touched(odd(old, seed + 50), seed), edits=15, seed=seed + 100)
    commit(project, old, "old")
    commit(project, new, "new")
    before, after = sides(project)
    for data in store.render(new).values():  # every file takes the fast path
        assert canonread.load_split(data.decode(), {})[0]
    fast = diff.compare(before, after).changes
    assert len({change.collection for change in fast}) >= 30  # every file differs
    with monkeypatch.context() as patch:
        full_reader(patch)
        full = full_compare(before, after)
        unshared = diff.compare(before, after).changes
    assert fast == full  # the same changes, in the same order, with the same details
    assert unshared == full
    assert render.text(fast) == render.text(full)
    # and what the snapshots hold is exactly what was written
    assert before.tree is not None and after.tree is not None
    shared = validate.Shared()
    assert validate.load_tree(before.tree, shared).snapshot == store.parse_tree(before.tree.read, "old").snapshot
    assert validate.load_tree(after.tree, shared).snapshot == store.parse_tree(after.tree.read, "new").snapshot


def test_no_change_at_all_and_everything_new(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    model = odd(synthetic.model(collections=10, fields=5), 7)
    commit(project, model, "one")
    (project.root / "note").write_text("x")
    project.git("add", "note")
    project.git("commit", "--quiet", "-m", "same schema")
    before, after = sides(project)
    assert diff.compare(before, after).changes == changes.ChangeSet()
    with monkeypatch.context() as patch:
        full_reader(patch)
        assert full_compare(before, after) == changes.ChangeSet()


# --------------------------------------------------------------------------- invalid files


def _edit(relpath: str, change: Callable[[str], str]) -> Callable[[Project], None]:
    def apply(project: Project) -> None:
        path = project.schema / relpath
        text = path.read_text()
        changed = change(text)
        assert changed != text, f"the breakage did not apply to {relpath}"
        path.write_text(changed)

    return apply


TABLE = store.collection_file("table_004")
BREAKAGES: dict[str, Callable[[Project], None]] = {
    "duplicate key": _edit(TABLE, lambda t: t.replace("  hidden: false\n", "  hidden: false\n  hidden: true\n", 1)),
    "wrong property type": _edit(TABLE, lambda t: t.replace("    is_nullable: true\n", "    is_nullable: 'yes'\n", 1)),
    "unknown field type": _edit(TABLE, lambda t: t.replace("  type: integer\n", "  type: integr\n", 1)),
    "unknown property": _edit(TABLE, lambda t: t.replace("- field: field_01\n", "- field: field_01\n  colour: red\n")),
    "duplicated field": _edit(TABLE, lambda t: t.replace("relations:", "relations:", 1) + t[t.index("- field: id") :]),
    "inner name": _edit(TABLE, lambda t: t.replace("collection: table_004\n", "collection: table_104\n", 1)),
    "snapshot version": _edit(store.MANIFEST, lambda t: t.replace("  version: 1\n", "  version: 999\n", 1)),
    "relation to a missing collection": _edit(
        store.collection_file("table_005"),
        lambda t: t.replace("related_collection: table_", "related_collection: gone_", 1),
    ),
    "not YAML": _edit(TABLE, lambda t: t.replace("  type: integer\n", "  type: [integer\n", 1)),
    "not UTF-8": lambda project: (project.schema / TABLE).write_bytes(b"collection: \xff\n"),
}


@pytest.fixture
def model() -> Iterator[dict[str, Any]]:
    yield odd(synthetic.model(collections=8, fields=5), 3)


def refusal(action: Callable[[], object]) -> list[str]:
    with pytest.raises(InvalidSnapshotError) as caught:
        action()
    return caught.value.problems


@pytest.mark.parametrize("both", [False, True], ids=["new side only", "both sides"])
@pytest.mark.parametrize("name", list(BREAKAGES))
def test_an_invalid_file_is_refused_with_the_same_messages(
    project: Project, monkeypatch: pytest.MonkeyPatch, model: dict[str, Any], name: str, both: bool
) -> None:
    commit(project, model, "valid")
    if both:  # the broken file (or entry) is then the same text on both sides
        project.git("reset", "--quiet", "--hard")
        BREAKAGES[name](project)
        project.git("commit", "--quiet", "--amend", "-am", "broken from the start")
    commit(project, touched(model, 1), "every file changed")
    BREAKAGES[name](project)
    project.git("commit", "--quiet", "-am", f"broken: {name}")
    before, after = sides(project)
    fast = refusal(lambda: diff.compare(before, after))
    with monkeypatch.context() as patch:
        full_reader(patch)
        assert after.tree is not None
        full = refusal(lambda: validate.load_tree(after.tree) if not both else full_compare(before, after))
    assert fast == full
    assert fast  # and it says why


def test_a_relation_whose_text_is_the_same_on_both_sides_is_checked_against_each_side(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry is shared, but the collection it points to exists only on the old side."""
    old = synthetic.model(collections=9, fields=4)
    relation = next(entry for entry in old["relations"] if entry["collection"] == "table_005")
    new = copy.deepcopy(old)
    gone = relation["related_collection"]
    for key in ("collections", "fields"):
        new[key] = [entry for entry in new[key] if entry["collection"] != gone]
    commit(project, old, "old")
    commit(project, new, "the related collection is gone, the relation stays")
    before, after = sides(project)
    fast = refusal(lambda: diff.compare(before, after))
    assert any(f"related collection '{gone}' is not defined" in problem for problem in fast)
    with monkeypatch.context() as patch:
        full_reader(patch)
        assert after.tree is not None
        assert fast == refusal(lambda: validate.load_tree(after.tree))
