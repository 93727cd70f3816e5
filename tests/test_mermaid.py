"""Mermaid diagrams of a change and of the whole model, checked with Mermaid's own parser."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from directus_gitops.files import store
from directus_gitops.model import changes
from directus_gitops.reports import mermaid, render
from tests import mermaid_parser
from tests.conftest import Project
from tests.test_selection import _collection, _field, _relation, model

ROOT = Path(__file__).resolve().parent.parent


def _parses(diagram: str) -> None:
    try:
        verdict = mermaid_parser.parse(diagram)
    except mermaid_parser.Unavailable as exc:  # pragma: no cover - no Node on this machine
        pytest.skip(str(exc))
    assert verdict == {"ok": True, "type": "er"}, f"{verdict}\n{diagram}"


def _changed() -> tuple[dict, dict]:  # type: ignore[type-arg]
    before = model()
    after = copy.deepcopy(before)
    after["fields"].append(_field("articles", "sub-title"))  # a name Mermaid cannot take as it is
    after["fields"][1]["meta"] = {"note": 'a "quoted" note'}
    after["collections"].append(_collection("reviews"))
    after["fields"] += [
        _field("reviews", "id", "integer", is_primary_key=True),
        _field("reviews", "article", "integer"),
    ]
    after["relations"].append(_relation("reviews", "article", "articles"))
    after["fields"] = [f for f in after["fields"] if (f["collection"], f["field"]) != ("articles", "secret_note")]
    return before, after


def test_the_diagram_marks_what_changed_and_names_the_neighbours() -> None:
    before, after = _changed()
    diagram = mermaid.diagram(changes.compare(before, after), before, after)
    lines = [line.strip() for line in diagram.splitlines()]
    assert lines[0] == "erDiagram"
    assert 'string sub_title "+ added sub-title"' in lines
    assert 'string title "~ changed: meta.note"' in lines
    assert 'string secret_note "- removed"' in lines
    assert 'collection ADDED "+ added collection"' in lines
    assert 'integer id PK "+ added"' in lines
    assert 'articles ||--o{ reviews : "+ article"' in lines
    assert "logs_run" in lines  # a neighbour of articles, drawn by name only
    assert "authors" not in lines  # not a direct neighbour of anything that changed
    _parses(diagram)


def test_the_parser_rejects_a_broken_diagram() -> None:
    try:
        verdict = mermaid_parser.parse("erDiagram\n    articles {{\n")
    except mermaid_parser.Unavailable as exc:  # pragma: no cover
        pytest.skip(str(exc))
    assert verdict["ok"] is False


def test_markdown_carries_the_diagram_and_a_large_one_is_left_out() -> None:
    before, after = _changed()
    found = changes.compare(before, after)
    diagram = mermaid.diagram(found, before, after)
    text = render.markdown(found, diagram=diagram)
    assert mermaid_parser.blocks(text) == [diagram]
    huge = render.markdown(found, diagram=diagram * 400)
    assert mermaid_parser.blocks(huge) == [] and "too large for a comment" in huge


def test_diff_of_the_demo_model_renders_a_diagram(project: Project) -> None:
    shutil.copytree(ROOT / "schema", project.schema)
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "demo model")
    snapshot = store.load_path(project.schema).snapshot
    snapshot["collections"].append({**_collection("reviews"), "meta": {"icon": "star"}})
    snapshot["fields"] += [
        _field("reviews", "id", "integer", is_primary_key=True),
        _field("reviews", "article", "uuid"),
    ]
    snapshot["relations"].append(_relation("reviews", "article", "articles"))
    for entry in snapshot["fields"]:
        if (entry["collection"], entry["field"]) == ("authors", "bio"):
            entry["meta"]["note"] = "Shown on the byline."
    store.write_tree(project.schema, store.render(snapshot))
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "reviews")

    result = project.run("diff", "HEAD~1", "HEAD", "--format", "markdown")
    assert result.code == 0, result.output
    [diagram] = mermaid_parser.blocks(result.out)
    assert 'collection ADDED "+ added collection"' in diagram and "~ changed: meta.note" in diagram
    _parses(diagram)
    alone = project.run("diff", "HEAD~1", "HEAD", "--format", "mermaid")
    assert alone.out == diagram
    whole = project.run("diagram", "HEAD")
    assert whole.code == 0 and "reviews ||--o{" not in whole.out and "articles ||--o{ reviews" in whole.out
    _parses(whole.out)
    unknown = project.run("diagram", "HEAD", "-c", "articles", "-c", "nosuch")
    assert unknown.code == 1 and "error: no collection 'nosuch' in HEAD" in unknown.err, unknown.output
    assert unknown.out == ""
