"""Formatters: the Markdown pull-request comment in particular."""

from __future__ import annotations

import re

from directus_gitops.files import snapshot as snap
from directus_gitops.model import changes
from directus_gitops.reports import render
from tests import samples, synthetic
from tests.test_diff import edited


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
    assert "~ field authors.name" in lines  # the plan's own signs; "!" starts only a data-loss line
    assert '    type: "string" → "text"' in lines
    assert "! data loss: changes the type string → text" in lines
    assert not [line for line in lines if line.startswith("!") and "data loss" not in line]
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
    assert "more change(s) not shown" not in cut
    assert re.search(r"\*Cut to fit a comment: \d+ change\(s\) not shown\. To see everything, run the same", cut)
    # 60 collections: the table is folded as well as the details.
    assert "<details><summary>Changes by collection (60)</summary>" in cut
    assert "<details><summary>Changes by collection" not in render.markdown(changes.compare(samples.base(), edited()))
    assert cut.splitlines()[2] == full.splitlines()[2]  # the counts are always complete
    tiny = render.markdown(everything, limit=3_000)
    assert len(tiny) <= 3_000 and "more collection(s) |" in tiny
    assert re.search(r"Cut to fit a comment: \d+ collection\(s\) and \d+ change\(s\) not shown", tiny)


def test_a_created_field_and_collection_show_their_settings() -> None:
    old, new = samples.base(), samples.base()
    subtitle = samples.field("articles", "subtitle", is_nullable=False, default_value="draft")
    subtitle["meta"]["note"] = "Shown under the title"
    new["fields"].append(subtitle)
    new["collections"].append(samples.collection("tags", note="Labels"))
    plan = changes.compare(old, new)
    lines = render.text(plan, details=True).splitlines()
    at = lines.index("  + field articles.subtitle (string)")
    assert lines[at + 1 : at + 7] == [
        "      data type: varchar",
        "      length: 255",
        "      nullable: no",
        '      default: "draft"',
        "      interface: input",
        '      note: "Shown under the title"',
    ]
    assert '      note: "Labels"' in lines[lines.index("  + collection tags") :]
    assert "    nullable: no" in render.markdown(plan)
    item = next(c for c in render.as_dict(plan)["changes"] if c["name"] == "articles.subtitle")
    assert item["settings"]["default"] == "draft" and item["settings"]["nullable"] is False


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


def test_a_collection_created_whole_is_one_line_with_its_field_count() -> None:
    old = synthetic.model(collections=1, fields=3)
    new = synthetic.model(collections=3, fields=20)
    plan = changes.compare(old, new)
    lines = render.text(plan).splitlines()
    created = [line for line in lines if line.startswith("  + collection ")]
    sizes = snap.field_counts(new)
    assert created == [f"  + collection {name} ({sizes[name]} fields)" for name in ("table_001", "table_002")]
    assert render.count_line(plan) in lines  # the count line still counts every change
    shown = {line.split()[2].split(".")[0] for line in lines if line.startswith("  + field ")}
    assert not shown & {line.split()[2] for line in created}  # their fields are left out...
    detailed = render.text(plan, details=True).splitlines()
    assert sum(line.startswith("  + field ") for line in detailed) == plan.to_add - 2 - _relations(plan)
    assert render.count_line(plan) in detailed  # ...and listed on request

    markdown = render.markdown(plan)
    assert f"*collection* ({sizes['table_001']} fields)" in markdown  # one cell in the table
    details = markdown.split("<summary>Full details</summary>")[1]
    assert sum(line.startswith("+ field ") for line in details.splitlines()) == plan.to_add - 2 - _relations(plan)
    assert render.as_json(plan) == render.render(plan, "json", details=True)  # JSON lists everything either way
    assert len(render.as_dict(plan)["changes"]) == len(plan)


def _relations(plan: changes.ChangeSet) -> int:
    return sum(1 for c in plan if c.kind == "relation" and c.action == "create")


def test_a_dropped_collection_counts_the_fields_of_the_old_side() -> None:
    old, new = samples.base(), samples.base()
    new["collections"] = [c for c in new["collections"] if c["collection"] != "authors"]
    new["fields"] = [f for f in new["fields"] if f["collection"] != "authors"]
    new["relations"] = [r for r in new["relations"] if r["related_collection"] != "authors"]
    plan = changes.compare(old, new)
    counts = snap.field_counts(old)
    lines = render.text(plan, fields=counts).splitlines()
    at = lines.index(f"  - collection authors ({counts['authors']} fields)")
    assert lines[at + 1] == "      ! data loss: drops the table and all its rows"  # loss stays marked
    assert "  - collection authors" in render.text(plan).splitlines()  # count unknown: no count


def test_a_secret_in_a_schema_property_is_never_shown() -> None:
    from directus_gitops.model import changes
    from directus_gitops.reports import render

    token = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    old = {"collection": "a", "field": "f", "type": "string", "meta": {"options": {"api_key": "old-key-123456"}}}
    new = {"collection": "a", "field": "f", "type": "string", "meta": {"options": {"api_key": token, "x": token}}}
    before = {
        "version": 1,
        "directus": "12.4.1",
        "collections": [{"collection": "a", "meta": None}],
        "fields": [old],
        "relations": [],
    }
    after = {**before, "fields": [new]}
    found = changes.compare(before, after)
    for fmt in ("text", "markdown", "json"):
        shown = render.render(found, fmt, title="t")
        assert token not in shown and "old-key-123456" not in shown, fmt
        assert "<redacted>" in shown, fmt
