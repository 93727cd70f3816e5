"""Writing YAML canonically (see the package's docstring): the one emitter, and the few of
its pieces the fast reader checks every token against."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml


# --------------------------------------------------------------------------- writing
#
# A dedicated emitter for JSON-shaped data (dicts, lists, str, int, float, bool, None):
# PyYAML's general representer is five times slower, and pull has a budget of a few percent
# over the snapshot request. Whether a string can stay plain is decided by PyYAML's own
# resolver, so the loader always reads back exactly what was written.

# A plain scalar starts with one of these or with any character from U+0080 on (a set, not a
# regular expression: compiling that range costs more than a small command's whole work).
_PLAIN_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./()$^+=<~")
_NEEDS_ESCAPE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
_LITERAL_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]|[ \t]\n|[ \t]$")
_STR_TAG = "tag:yaml.org,2002:str"


# The first characters PyYAML's resolver looks further at (the keys of
# ``yaml.resolver.Resolver.yaml_implicit_resolvers``, the empty string aside). A plain scalar
# starting with any other character reads as a string; one starting with a letter among them
# does unless it is one of YAML 1.1's bool or null words. tests/test_yamlio.py holds both to
# PyYAML's own table, so a short key is decided without importing PyYAML (a read of a few
# committed files costs less than that import).
_RESOLVED_FIRST = frozenset("!&*+-.0123456789<=FNOTYfnoty~")
_BOOL_NULL_WORDS = frozenset({
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL",
})  # fmt: skip


@functools.cache
def _resolver() -> yaml.resolver.Resolver:
    import yaml

    return yaml.resolver.Resolver()


def _plain_ok(text: str) -> bool:
    if not text or (text[0] not in _PLAIN_FIRST and text[0] < "\x80") or text[-1] in " :" or text != text.strip():
        return False
    if "\n" in text or ": " in text or " #" in text or "\t" in text or _NEEDS_ESCAPE.search(text):
        return False
    first = text[0]
    if first not in _RESOLVED_FIRST:
        return True
    if first.isalpha():
        return text not in _BOOL_NULL_WORDS
    import yaml

    return bool(_resolver().resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG)  # type: ignore[no-untyped-call]


def _quoted(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text) and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    out = json.dumps(text, ensure_ascii=False)
    # JSON leaves these unescaped; YAML treats them as line breaks or BOM.
    return _NEEDS_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", out) if _NEEDS_ESCAPE.search(out) else out


def _literal(text: str, indent: str) -> str | None:
    """A literal block for multi-line text, or None when one can't hold it exactly."""
    if _LITERAL_BAD.search(text) or text.startswith((" ", "\t", "\n")) or text.endswith("\n\n"):
        return None
    body = text[:-1] if text.endswith("\n") else text
    if not body:
        return None
    chomp = "" if text.endswith("\n") else "-"
    lines = [f"{indent}{line}" if line else "" for line in body.split("\n")]
    return f"|{chomp}\n" + "\n".join(lines)


def _scalar(value: Any, indent: str) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            text = text.replace("e", ".0e") if "e" in text else text + ".0"
        return text
    if isinstance(value, str):
        if "\n" in value:
            literal = _literal(value, indent + "  ")
            if literal is not None:
                return literal
        return _single_line(value)
    raise TypeError(f"cannot write {type(value).__name__} to a snapshot")


_LINE_CACHE: dict[str, str] = {}


def _single_line(text: str) -> str:
    # Snapshots repeat the same short strings (keys, interfaces, types) thousands of times.
    rendered = _LINE_CACHE.get(text)
    if rendered is None:
        rendered = text if _plain_ok(text) else _quoted(text)
        if len(_LINE_CACHE) < 100_000:
            _LINE_CACHE[text] = rendered
    return rendered


def _inline(value: Any, indent: str) -> str:
    kind = type(value)
    if kind is str:
        return _scalar(value, indent) if "\n" in value else _single_line(value)
    if kind is dict:
        return "{}"
    if kind is list:
        return "[]"
    return _scalar(value, indent)


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Append the block form of a non-empty dict or list, one line per item."""
    append = out.append
    if type(value) is dict:
        deeper = indent + "  "
        for key, item in value.items():
            head = f"{indent}{_single_line(str(key))}:"
            kind = type(item)
            if kind is dict and item:
                append(head)
                _emit(item, deeper, out)
            elif kind is list and item:
                append(head)
                _emit(item, indent, out)  # sequences sit at their key's indentation
            else:
                append(f"{head} {_inline(item, indent)}")
        return
    cut = len(indent) + 2
    for item in value:
        if type(item) in (dict, list) and item:
            nested: list[str] = []
            _emit(item, indent + "  ", nested)
            append(f"{indent}- {nested[0][cut:]}")
            out.extend(nested[1:])
        else:
            append(f"{indent}- {_inline(item, indent)}")


def dump(data: Any) -> str:
    """Serialise JSON-shaped ``data`` canonically; the result ends with one newline."""
    if isinstance(data, (dict, list)) and data:
        out: list[str] = []
        _emit(data, "", out)
        return "\n".join(out) + "\n"
    return _inline(data, "") + "\n"


def dump_pieces(
    data: dict[str, Any],
    item: Callable[[Any], Any] = lambda value: value,
    written: Callable[[Any], str] | None = None,
) -> Iterator[str]:
    """What :func:`dump` writes for the mapping ``data``, in pieces: a key's, and one for each
    item of a list, made by ``item`` only as it is written (a large document's lines, a few
    strings each, are many times its text; its items need not all be at hand at once). With
    ``written``, a list's items are what :func:`dump_item` made of them before (a push's
    backup, written as the target is read: each item is its piece's place in a spool)."""
    if not data:
        yield dump(data)
        return
    for key, value in data.items():
        if type(value) is list and value:
            yield f"{_single_line(str(key))}:\n"
            for element in value:
                yield written(element) if written is not None else dump_item(item(element))
        else:
            yield dump({key: value})


def dump_item(value: Any) -> str:
    """The piece :func:`dump_pieces` writes for ``value`` as an item of a list."""
    out: list[str] = []
    _emit([value], "", out)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- reading our own output
#
# PyYAML constructs objects in Python even with libyaml (about 5 MB/s), which is most of the
# time a diff of two large commits takes. Text exactly as ``dump`` writes it is read by
# :mod:`directus_gitops.canonread`, which checks every line and token against the writer;
# anything else goes to PyYAML.


def inline(value: Any, indent: str) -> str:
    """How the writer writes ``value`` after ``key: `` or ``- `` at ``indent`` (an empty
    container as ``{}``/``[]``; the reader checks every token against it)."""
    return _inline(value, indent)


def key_text(key: str) -> str:
    """How the writer writes a mapping key."""
    return _single_line(key)
