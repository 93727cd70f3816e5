"""Every Markdown the tool prints renders right under CommonMark (tests/commonmark.py): diff and
plan of a change to the schema and the configuration together (one document), status and log;
and the signs are the plan's own (+ ~ -), "!" only where data or configuration goes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from directus_gitops.engine.status import EnvironmentStatus
from directus_gitops.files import store
from directus_gitops.files.gitrepo import CommitInfo
from directus_gitops.model import changes
from directus_gitops.model.kinds import compare, files, identity
from directus_gitops.reports import render
from directus_gitops.reports import status as shown
from tests import commonmark, samples
from tests.conftest import Project
from tests.test_kinds import PUBLIC, marked


def test_the_checker_sees_a_heading_swallowed_by_a_fold() -> None:
    broken = "<details><summary>x</summary>\n\nbody\n\n</details>\n#### Configuration\n"
    assert any("not rendered as a heading" in p or "swallows" in p for p in commonmark.check(broken))
    assert commonmark.check(broken.replace("</details>\n#", "</details>\n\n#")) == []


def _note_and_public_permission(project: Project) -> None:
    """Two commits: the second changes one field's note and lets the public read articles."""
    first = identity.symbolic(marked())
    second = copy.deepcopy(first)
    public = next(p for p in second["policies"] if p.get("builtin") == "public" or p["id"] == PUBLIC)
    public["permissions"].append(
        {"collection": "articles", "action": "read", "fields": ["id", "title"], "permissions": None}
    )
    edited = samples.base()
    field = next(f for f in edited["fields"] if f.get("meta"))
    field["meta"] = {**field["meta"], "note": "A note changed in review"}
    for snapshot, state, message in ((samples.base(), first, "base"), (edited, second, "note and public read")):
        rendered, entry = files.render(state)
        store.write_tree(project.schema, store.render(snapshot, "split", entry) | rendered)
        project.git("add", "-A")
        project.git("commit", "--quiet", "-m", message)


def test_a_diff_of_the_schema_and_the_configuration_is_one_document_that_renders_right(project: Project) -> None:
    _note_and_public_permission(project)
    result = project.run("diff", "HEAD~1", "HEAD", "--format", "markdown")
    assert result.code == 0, result.output
    text = result.out
    assert commonmark.check(text) == []
    titles = [line for line in text.splitlines() if line.startswith("### ")]
    assert len(titles) == 1 and "#### Configuration" in text  # one document, one title
    assert not [line for line in text.splitlines() if line.startswith("!")]
    assert "+ permission policy Public: articles.read" in text  # the policy by name, not $t:public_label
    assert "$t:public_label" not in text
    assert "~ field " in text


def test_data_loss_and_configuration_removals_are_the_only_lines_marked(project: Project) -> None:
    before = samples.base()
    after = copy.deepcopy(before)
    after["fields"] = [f for f in after["fields"] if f["field"] != "title"]
    text = render.markdown(changes.compare(before, after), title="t")
    assert commonmark.check(text) == []
    marked_lines = [line for line in text.splitlines() if line.startswith("!")]
    assert marked_lines and all(line.startswith("! data loss:") for line in marked_lines)
    removal = compare.compare(marked(), {**marked(), "flows": []})
    shown_config = compare.markdown(removal)
    assert [line for line in shown_config.splitlines() if line.startswith("!")] == ["! destructive: removes the flow"]


@pytest.mark.parametrize("state", ["current", "drifted", "error"])
def test_status_markdown_renders_right(state: Any) -> None:
    commit = CommitInfo(sha="a" * 40, short="a" * 10, date="2026-01-01", subject="s", parent=None)
    drift = changes.compare(samples.base(), {**samples.base(), "relations": []}) if state == "drifted" else None
    config_drift = compare.compare(marked(), {**marked(), "flows": []}) if state == "drifted" else None
    status = EnvironmentStatus(
        "prod",
        "http://p",
        state,
        None if state == "error" else commit,
        drift=drift or changes.ChangeSet(),
        error="unreachable" if state == "error" else None,
        config_drift=config_drift,
    )
    text = shown.markdown([status, EnvironmentStatus("staging", "http://s", "current", commit)], "HEAD")
    assert commonmark.check(text) == []
    if state == "drifted":
        assert '- flow "Notify on publish"' in text


def test_log_markdown_renders_right(project: Project) -> None:
    _note_and_public_permission(project)
    result = project.run("log", "--format", "markdown")
    assert result.code == 0, result.output
    assert commonmark.check(result.out) == []
    assert "permission policy Public: articles.read" in result.out


def test_a_large_change_of_both_kinds_stays_one_comment_under_githubs_limit() -> None:
    before = samples.base()
    after = copy.deepcopy(before)
    for index in range(400):
        after["collections"].append({"collection": f"c{index:03d}", "meta": {"note": "x" * 200}, "schema": {}})
    old_config = marked()
    new_config = copy.deepcopy(old_config)
    editors = next(p for p in new_config["policies"] if p["name"] == "Editors")
    for index in range(400):
        editors["permissions"].append({"collection": f"c{index:03d}", "action": "read", "fields": ["*"]})
    text = render.render(
        changes.compare(before, after), "markdown", title="t", config=compare.compare(old_config, new_config)
    )
    assert len(text) < 65_536
    assert commonmark.check(text) == []
    assert "Cut to fit a comment" in text and "#### Configuration" in text
    assert "<details open>" not in text  # the diagram, when there is one, is folded too
