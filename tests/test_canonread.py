"""The fast reader of our own YAML: it reads exactly what the writer writes, as PyYAML reads
it, and refuses (hands to PyYAML) everything else."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directus_gitops.files import store, yamlio
from directus_gitops.files.yamlio import canonical as canonread
from tests import synthetic
from tests.test_yamlio import documents, same

blocks = documents.filter(lambda d: isinstance(d, dict | list) and bool(d))


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(blocks)
def test_the_writers_output_reads_back_exactly(document: Any) -> None:
    text = "# a header\n" + yamlio.dump(document)
    ours, data = canonread.load(text)
    assert ours, text
    assert same(data, document), text
    if isinstance(document, dict):
        split, pieces = canonread.load_split(text, {})
        assert split and same(pieces, document), text


# Small edits that keep a text YAML but make it, most of the time, not the writer's output.
EDITS = [
    lambda t, i: t[:i] + " " + t[i:],
    lambda t, i: t[:i] + "\t" + t[i:],
    lambda t, i: t[:i] + "\n" + t[i:],
    lambda t, i: t[:i] + t[i + 1 :],
    lambda t, i: t[:i] + "'" + t[i:],
    lambda t, i: t[:i] + '"' + t[i:],
    lambda t, i: t[:i] + "# c" + t[i:],
    lambda t, i: t[:i] + ": " + t[i:],
    lambda t, i: t[:i] + "- " + t[i:],
    lambda t, i: t[:i] + "\n\n" + t[i:],
    lambda t, i: t[:i] + "\r" + t[i:],
    lambda t, i: t[:i] + "{}" + t[i:],
    lambda t, i: t[:i] + "~" + t[i:],
    lambda t, i: t[:i] + "0" + t[i:],
    lambda t, i: t[:i] + "|" + t[i:],
    lambda t, i: t[:i] + "yes" + t[i:],
    lambda t, i: t + t[i:],  # a tail again: duplicate keys and items
]


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(blocks, st.lists(st.tuples(st.integers(0, len(EDITS) - 1), st.integers(0, 10_000)), min_size=1, max_size=3))
def test_what_it_accepts_pyyaml_reads_alike_and_the_writer_writes(document: Any, edits: list[tuple[int, int]]) -> None:
    text = yamlio.dump(document)
    for edit, where in edits:
        text = EDITS[edit](text, where % (len(text) + 1))
    for ours, data in (canonread.load(text), canonread.load_split(text, {})):
        if not ours:
            continue  # PyYAML reads it (or reports what is wrong)
        assert same(data, yaml.safe_load(text)), text
        body = text
        while body.startswith("#"):  # leading comment lines (the header) are allowed
            body = body.partition("\n")[2]
        assert yamlio.dump(data) == body, text


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # a duplicate key: PyYAML reports it with its line
        "a: yes\n",
        "a: 'plain'\n",
        "a:   1\n",
        "a:\n    b: 1\n",
        "a: [1]\n",
        "a: -0\n",
        "a: 1.0e+5\n",
        "a: .nan\n",
        "a: &x 1\n",
        "a: !!str 1\n",
        "a: |-\n  one line\n",
        'a: "two\\nlines"\n',
        "null: 1\n",
        "a: 1 # comment\n",
        "a: 1\n\n",
        "a:\n- 1\n  \n",
        "fields:\n",
        "- a\nb: 1\n",
        "# c\rx\na: 1\n",  # a comment ended by a carriage return: YAML reads x as content
        "# c\u2028a: 1\nb: 2\n",
    ],
)
def test_anything_the_writer_would_not_write_is_left_to_pyyaml(text: str) -> None:
    assert canonread.load(text) == (False, None)
    assert canonread.load_split(text, {}) == (False, None)


def test_entries_with_the_same_text_are_read_once_and_shared() -> None:
    old = synthetic.model(collections=3, fields=4)
    new = synthetic.edited(old, edits=3)
    memo: dict[str, Any] = {}
    read = {}
    for side, snapshot in (("old", old), ("new", new)):
        for relpath, data in store.render(snapshot).items():
            ours, read[side, relpath] = canonread.load_split(data.decode(), memo)
            assert ours
            assert read[side, relpath] == yaml.safe_load(data)
    path = store.collection_file("table_000")
    old_fields, new_fields = read["old", path]["fields"], read["new", path]["fields"]
    same_text = [(a, b) for a, b in zip(old_fields, new_fields, strict=False) if a == b]
    assert same_text and all(a is b for a, b in same_text)
