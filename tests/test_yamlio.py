"""The YAML module: canonical output that reads back exactly, and refusal of unsafe YAML."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directus_gitops.engine import backup
from directus_gitops.files import snapshot as snap
from directus_gitops.files import yamlio
from directus_gitops.files.yamlio import writer
from tests import synthetic

TRICKY = [
    "yes", "No", "on", "~", "null", "12:30", "1_000", "0x1F", "2024-01-01", "- x", "a: b", "a #b", "#x",
    "'q'", '"d"', "a\nb", "a\nb\n", "a\n\nb\n", "line \nx", "  lead\nx", "x\n\n", "<<", "=", "[a]", "{a}",
    "a,b", "*x", "&a", "!t", "%p", "@a", "`b", "|x", ">x", "?x", ":x", "x:", "\t", "\u2028x", "a\u0085b",
    "\ufeffx", "é", "日本", "", " ", "1e3", ".5", "+1", "-.inf", ".NaN",
]  # fmt: skip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(), st.sampled_from(TRICKY)
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=5), st.sampled_from(TRICKY)), inner, max_size=4),
    ),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equality that also tells 1 from 1.0 from True, and keeps dict order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=1500, suppress_health_check=list(HealthCheck))
@given(documents)
def test_dump_reads_back_exactly(document: Any) -> None:
    text = yamlio.dump(document)
    assert text.endswith("\n")
    assert same(yamlio.load(text), document), text
    assert same(yaml.safe_load(text), document), text  # any YAML reader agrees, not only ours


@settings(max_examples=500, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.one_of(st.text(max_size=5), st.sampled_from(TRICKY)), documents, max_size=5))
def test_a_mapping_dumped_in_pieces_is_the_text_dump_gives(document: dict[str, Any]) -> None:
    # Memory on a large model (issue 30): a push's backup is written a piece at a time.
    assert "".join(yamlio.dump_pieces(document)) == yamlio.dump(document)
    doubled = "".join(yamlio.dump_pieces(document, lambda item: [item, item]))
    assert doubled == yamlio.dump(
        {key: [[item, item] for item in value] if type(value) is list else value for key, value in document.items()}
    )


def test_a_backup_in_pieces_is_the_canonical_file_of_the_snapshot() -> None:
    model = synthetic.edited(synthetic.model(collections=20, fields=4, seed=3), edits=8, seed=3)
    rng = random.Random(3)
    for key in ("collections", "fields", "relations"):
        rng.shuffle(model[key])
    model = {"relations": model.pop("relations"), **model}  # keys out of canonical order too
    assert "".join(backup.text(model)) == yamlio.dump(snap.canonical(model))


def test_output_is_block_style_and_quotes_only_when_needed() -> None:
    text = yamlio.dump({"note": "Plain words", "flag": "true", "n": "12", "tpl": "line one\nline two\n", "l": [1]})
    assert text == "note: Plain words\nflag: 'true'\nn: '12'\ntpl: |\n  line one\n  line two\nl:\n- 1\n"


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("a: 1\nb: *x\n", 2, "undefined alias"),
        ("a: 1\nb: !!python/object:os.system x\n", 2, "tag"),
        ("a: 1\nb: !custom 3\n", 2, "tag"),
        ("a: [\n", 2, "expected"),
    ],
)
def test_unsafe_or_broken_yaml_is_refused_with_its_line(text: str, line: int, what: str) -> None:
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.load(text)
    assert caught.value.problem.line == line
    assert what in caught.value.problem.message


def test_billion_laughs_is_refused_before_expansion() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20)
    )
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.load(bomb)
    assert f"aliases expand to more than {yamlio.MAX_EXPANDED:,} values" in caught.value.problem.message
    assert caught.value.problem.line is not None and caught.value.problem.line > 1


def test_anchors_aliases_and_merge_keys_are_read_as_copies() -> None:
    # What PyYAML writes for an object it meets twice, and js-yaml (Directus's reader) takes.
    text = "a: &id001\n  k: [1]\nb: *id001\nc:\n  <<: *id001\n  y: 2\n"
    document = yamlio.load(text)
    assert document == {"a": {"k": [1]}, "b": {"k": [1]}, "c": {"k": [1], "y": 2}}
    document["b"]["k"].append(2)  # an entry changed in place changes no other
    assert document["a"] == {"k": [1]}
    # Below the limit, however many aliases: a model may share one options mapping widely.
    many = "o: &o {a: 1, b: 2}\nfields:\n" + "- *o\n" * 5000
    assert len(yamlio.load(many)["fields"]) == 5000
    # Canonical output never holds them.
    assert "&" not in yamlio.dump(document) and "*" not in yamlio.dump(document)


@settings(max_examples=500, suppress_health_check=list(HealthCheck))
@given(documents.filter(lambda d: isinstance(d, dict | list) and bool(d)))
def test_our_own_output_is_read_without_pyyaml(document: Any) -> None:
    text = "# a header comment\n" + yamlio.dump(document)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("PyYAML was used")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml, "load", refuse)
        assert same(yamlio.load(text), document), text


@pytest.mark.parametrize(
    "text",
    [
        "a: 1_000\n",
        "a: 0x1F\n",
        "a: [1, 2]\n",
        "a: 'quoted for nothing'\n",
        "a:   spaced\n",
        "a: 1\n# a comment in the middle\nb: 2\n",
        "a:\n    deeper: 1\n",
        "a: yes\nb: ~\n",
        "- a\n-   b\n",
        "a: |\n  text\n\n",
    ],
)
def test_other_yaml_reads_as_pyyaml_reads_it(text: str) -> None:
    assert same(yamlio.load(text), yaml.safe_load(text))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\na: 2\n", 2),
        ("a:\n  b: 1\n  c: 2\n  b: 3\n", 4),
        ("- x: 1\n  x: 1\n", 2),
        ("a: {b: 1, b: 2}\n", 1),
    ],
)
def test_a_key_given_twice_is_refused_with_its_line(text: str, line: int) -> None:
    # PyYAML keeps the last one silently; YAML says keys are unique.
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.load(text)
    assert caught.value.problem.line == line
    assert "duplicate key" in caught.value.problem.message


def test_the_resolver_table_written_out_is_pyyamls_own() -> None:
    """The first characters and words ``_plain_ok`` decides without PyYAML are PyYAML's."""
    table = yaml.resolver.Resolver.yaml_implicit_resolvers
    assert set(table) - {""} == writer._RESOLVED_FIRST
    letters = {first for first in table if first.isalpha()}
    assert all(
        {tag for tag, _ in table[first]} <= {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"} for first in letters
    )
    resolver = yaml.resolver.Resolver()
    assert all(
        resolver.resolve(yaml.ScalarNode, word, (True, False)) != writer._STR_TAG for word in writer._BOOL_NULL_WORDS
    )


LETTER_WORDS = st.text(alphabet="yesnoYESNOtrufalTRUFALnulNUL_x1", min_size=1, max_size=6)


@given(st.one_of(LETTER_WORDS, st.text(max_size=8), st.sampled_from(TRICKY)))
@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
def test_a_plain_scalar_is_decided_as_pyyamls_resolver_decides(text: str) -> None:
    resolver = yaml.resolver.Resolver()
    expected_str = resolver.resolve(yaml.ScalarNode, text, (True, False)) == writer._STR_TAG
    if text[:1].isalpha() and text[0] in writer._RESOLVED_FIRST:
        assert (text in writer._BOOL_NULL_WORDS) == (not expected_str)
    if writer._plain_ok(text):
        assert expected_str
        assert yaml.safe_load(f"k: {text}\n") == {"k": text}
