"""Formatters: the Markdown pull-request comment in particular."""

from __future__ import annotations

from directus_gitops import changes, render
from tests import samples, synthetic


def changed() -> changes.ChangeSet:
    old, new = samples.base(), samples.base()
    new["fields"].append(samples.field("articles", "sub|title"))
    samples.find(new, "fields", "authors", "name")["type"] = "text"
    new["collections"] = [c for c in new["collections"] if c["collection"] != "content"]
    new["relations"] = []
    return changes.ChangeSet(changes.compare(old, new).changes, ("the snapshots come from different databases",))


def test_markdown_comment_has_summary_warnings_table_and_folded_details() -> None:
    text = render.markdown(changed(), title="Directus schema changes: main → HEAD")
    lines = text.splitlines()
    assert lines[0] == "### Directus schema changes: main → HEAD"
    assert "**Plan: 1 to add, 1 to change, 2 to destroy.** (+1 field, ~1 field, -1 collection, -1 relation)" in lines
    assert "> [!WARNING]" in lines
    assert "> - `authors.name`: changes the type string → text" in lines
    assert "> [!NOTE]" in lines and "> the snapshots come from different databases" in lines
    # A "|" in a name must not split the table cell.
    assert "| `articles` | `sub\\|title` |  | `author → authors` |" in lines
    assert "| `authors` |  | `name` ⚠ |  |" in lines
    assert "| `content` |  |  | *collection* |" in lines
    assert lines[lines.index("<details><summary>Full details</summary>") + 2] == "```diff"
    assert "! field authors.name" in lines
    assert '    type: "string" → "text"' in lines
    assert text.rstrip().endswith("</details>")


def test_markdown_without_changes() -> None:
    assert render.markdown(changes.ChangeSet()) == "### Directus schema changes\n\nNo schema changes.\n"


def test_markdown_stays_under_the_comment_limit() -> None:
    old = synthetic.model(collections=60, fields=10)
    everything = changes.compare(synthetic.model(collections=0), old)
    full = render.markdown(everything)
    assert len(full) > 20_000
    cut = render.markdown(everything, limit=20_000)
    assert len(cut) <= 20_000
    assert "more change(s) not shown: run `directus-gitops diff` to see them all.*" in cut
    assert cut.splitlines()[2] == full.splitlines()[2]  # the counts are always complete
    tiny = render.markdown(everything, limit=3_000)
    assert len(tiny) <= 3_000 and "more collection(s) |" in tiny


def test_code_spans_hold_backticks() -> None:
    old, new = samples.base(), samples.base()
    new["fields"].append(samples.field("articles", "a`b"))
    assert "`` a`b ``" in render.markdown(changes.compare(old, new))


def test_a_huge_data_loss_list_is_cut_too() -> None:
    old = synthetic.model(collections=200, fields=2)
    gone = changes.compare(old, synthetic.model(collections=0))
    text = render.markdown(gone, limit=5_000)
    assert len(text) <= 5_000
    assert "> **200 change(s) can lose data**" in text and "more" in text
