"""A fast reader for exactly the YAML that :func:`directus_gitops.files.yamlio.dump` writes, and nothing else.

PyYAML builds Python objects at about 5 MB/s even with libyaml, which is most of the time a
diff of two large commits takes. The canonical form is regular enough to read line by line:

* every line is ``<indent><content>``, indentation in steps of two spaces, no tabs, no
  blank lines except inside a literal block, the text ends with one newline;
* a mapping entry is ``key: scalar``, ``key:`` followed by its mapping two spaces deeper, or
  ``key:`` followed by its list at the key's own indentation; a list item is ``- scalar`` or
  ``- `` followed by the first line of its mapping or list;
* every key and every scalar is written exactly as the writer writes that value (plain only
  when YAML reads it back as the same string, quoted otherwise, literal blocks for multi-line
  text the writer can hold in one);
* leading ``#`` comment lines (the header) are allowed; nothing else.

Each rule is checked as the text is read (a scalar is accepted only if the writer renders
the value it reads as exactly that token), so a text this reader accepts is the writer's
output for the data it returns, which PyYAML reads as the same data (tests check both on
generated and odd documents). Anything else, including duplicate keys, anchors, tags, flow
collections and any spelling the writer would not use, is refused here (``None``) and goes
to PyYAML, which either reads it or reports the problem with its line.

:func:`load_split` reads a file entry by entry (each list item under a top-level key, such
as one field of a collection file) through a memo shared by the two sides of a comparison:
an entry whose text is the same on both sides is read once and is the same object on both.
"""

from __future__ import annotations

import json
import re
from typing import Any

from directus_gitops.files.yamlio import writer


class _NotOurs(Exception):
    pass


_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*(?:e[-+][0-9]+)?\Z")
# (".nan" is not here: NaN is never equal to itself, so a document holding one goes to PyYAML
# and no entry holding one is ever shared between the two sides of a comparison.)
_WORDS: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    ".inf": float("inf"),
    "-.inf": float("-inf"),
}
_NUMBER_START = frozenset("-0123456789")
_NO_WORD = object()
_MUTABLE = object()  # "{}" and "[]": a new object every time, never shared

# Single-line tokens already found canonical, and what they read as. A snapshot repeats the
# same tokens (null, false, interface names...) thousands of times.
_TOKENS: dict[str, Any] = {}
# Line contents already split into (key, inline token or None for a block).
_ENTRIES: dict[str, tuple[str, str | None] | None] = {}
_MEMO_LIMIT = 200_000


def forget() -> None:
    """Empty the memos of tokens and lines (a benchmark then measures a cold start)."""
    _TOKENS.clear()
    _ENTRIES.clear()
    _LINES.clear()


def _scalar(token: str) -> Any:
    """The value of a single-line token; raise :class:`_NotOurs` unless the writer writes that
    value as exactly this token."""
    value = _TOKENS.get(token, _NO_WORD)
    if value is _MUTABLE:
        return {} if token == "{}" else []
    if value is not _NO_WORD:
        return value
    first = token[:1]
    if token in ("{}", "[]"):
        value, shown = _MUTABLE, token
    elif first in _NUMBER_START and _INT.match(token):
        value = int(token)
        shown = str(value)
    elif first in _NUMBER_START and _FLOAT.match(token):
        value = float(token)
        shown = writer.inline(value, "")
    elif first in ("'", '"'):
        value = _unquote(token)
        # (multi-line text the writer can hold in a literal block renders as one: no match)
        shown = writer.inline(value, "")
    else:
        value = _WORDS.get(token, token)
        shown = writer.inline(value, "")
    if shown != token:
        raise _NotOurs
    if len(_TOKENS) < _MEMO_LIMIT:
        _TOKENS[token] = value
    if value is _MUTABLE:
        return {} if token == "{}" else []
    return value


def _unquote(token: str) -> str:
    """The string a quoted token holds (whether the writer would quote it so is checked by
    the caller)."""
    if token[:1] == "'":
        if len(token) < 2 or not token.endswith("'"):
            raise _NotOurs
        return token[1:-1].replace("''", "'")
    try:
        value = json.loads(token)  # the writer writes double quotes as JSON does
    except ValueError:
        raise _NotOurs from None
    if not isinstance(value, str):
        raise _NotOurs
    return value


def _quoted_end(text: str) -> int:
    """Where the quoted key that ``text`` starts with ends (its closing quote)."""
    quote, end = text[0], 1
    while True:
        end = text.find(quote, end)
        if end < 0:
            raise _NotOurs
        if quote == "'" and text[end + 1 : end + 2] == "'":
            end += 2
        elif quote == '"' and (end - len(text[:end].rstrip("\\"))) % 2:
            end += 1
        else:
            return end


def _entry(content: str) -> tuple[str, str | None] | None:
    """(key, inline token or None for a block) when ``content`` is a mapping entry; None when
    it is not one. The key must be written as the writer writes it."""
    if content in _ENTRIES:
        return _ENTRIES[content]
    found: tuple[str, str | None] | None
    if content.startswith(("'", '"')):
        end = _quoted_end(content)
        rest = content[end + 1 :]
        if rest != ":" and not rest.startswith(": "):
            found = None
        else:
            token = content[: end + 1]
            key = _unquote(token)
            if writer.key_text(key) != token:
                raise _NotOurs
            found = key, (rest[2:] if rest != ":" else None)
    else:
        colon = content.find(": ")  # a plain key never holds ": " (the writer quotes it)
        if colon >= 0:
            found = content[:colon], content[colon + 2 :]
        elif content.endswith(":"):
            found = content[:-1], None
        else:
            found = None
        if found is not None and writer.key_text(found[0]) != found[0]:
            raise _NotOurs  # a key the writer would quote, or one YAML reads as no string
    if len(_ENTRIES) < _MEMO_LIMIT:
        _ENTRIES[content] = found
    return found


# What a line is, by its whole text (indentation included): most lines of a snapshot repeat
# ("    hidden: false"), so each distinct line is taken apart and checked once.
_SCALAR, _OPEN, _TOKEN, _ITEM, _OTHER = range(5)
_LINES: dict[str, tuple[int, int, str, Any]] = {}


def _line(line: str) -> tuple[int, int, str, Any]:
    """(indentation, kind, key or content, value or token) for one line."""
    content = line.lstrip(" ")
    at = len(line) - len(content)
    if content.startswith("- "):
        found: tuple[int, int, str, Any] = (at, _ITEM, content, None)
    else:
        entry = _entry(content)
        if entry is None:
            found = (at, _OTHER, content, None)
        elif entry[1] is None:
            found = (at, _OPEN, entry[0], None)
        elif entry[1] in ("|", "|-", "{}", "[]"):
            found = (at, _TOKEN, entry[0], entry[1])
        else:
            found = (at, _SCALAR, entry[0], _scalar(entry[1]))
    if len(_LINES) < _MEMO_LIMIT:
        _LINES[line] = found
    return found


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0

    def info(self, pos: int) -> tuple[int, int, str, Any]:
        line = self.lines[pos]
        found = _LINES.get(line)
        return found if found is not None else _line(line)

    def block(self, indent: int) -> Any:
        at, kind, _, _ = self.info(self.pos)
        if at != indent:
            raise _NotOurs
        return self.sequence(indent) if kind == _ITEM else self.mapping(indent)

    def value(self, token: str, indent: int) -> Any:
        if token == "|" or token == "|-":
            return self.literal(indent, keep_newline=token == "|")
        return _scalar(token)

    def literal(self, indent: int, keep_newline: bool) -> str:
        deeper = indent + 2
        body = []
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            content = line.lstrip(" ")
            at = len(line) - len(content)
            if content and at < deeper:
                break
            if not content and at:
                raise _NotOurs  # a line of spaces: the writer never writes one
            body.append(line[deeper:] if content else "")
            self.pos += 1
        text = "\n".join(body) + ("\n" if keep_newline else "")
        written = writer.inline(text, " " * indent)
        expected = ("|" if keep_newline else "|-") + "\n" + "\n".join(" " * deeper + b if b else "" for b in body)
        if written != expected:
            raise _NotOurs
        return text

    def mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        lines, known = self.lines, _LINES
        count, pos = len(lines), self.pos
        while pos < count:
            info = known.get(lines[pos])
            at, kind, key, value = info if info is not None else _line(lines[pos])
            if at < indent or kind == _ITEM:
                break
            if at > indent or kind == _OTHER or key in result:
                raise _NotOurs  # (PyYAML's path reports a duplicate key with its line)
            pos += 1
            if kind == _SCALAR:
                result[key] = value
                continue
            self.pos = pos
            if kind == _TOKEN:
                result[key] = self.value(value, indent)
            else:  # _OPEN: a block follows
                if pos >= count:
                    raise _NotOurs
                below, under, _, _ = self.info(pos)
                if below == indent and under == _ITEM:
                    result[key] = self.sequence(indent)  # lists sit at their key's indentation
                elif below == indent + 2 and under != _ITEM:
                    result[key] = self.mapping(indent + 2)
                else:
                    raise _NotOurs
            pos = self.pos
        self.pos = pos
        return result

    def sequence(self, indent: int) -> list[Any]:
        result: list[Any] = []
        lines = self.lines
        while self.pos < len(lines):
            at, kind, content, _ = self.info(self.pos)
            if at < indent or kind != _ITEM:
                break
            if at > indent:
                raise _NotOurs
            item = content[2:]
            if item.startswith("- ") or _entry(item) is not None:
                # A nested block starts on the item's own line: read it as its own line.
                lines[self.pos] = " " * (indent + 2) + item
                result.append(self.block(indent + 2))
            else:
                self.pos += 1
                result.append(self.value(item, indent))
        return result


def _lines(body: str) -> list[str]:
    return body.split("\n")


# Characters YAML (and PyYAML) also take as line breaks, besides "\n".
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _body(text: str) -> str | None:
    """The text after the leading comment lines, when it could be the writer's output."""
    body = text
    while body.startswith("#"):
        comment, _, body = body.partition("\n")
        if any(brk in comment for brk in _OTHER_BREAKS):
            return None  # YAML ends the comment there: what follows is content, PyYAML's to read
    if not body.endswith("\n") or body.startswith((" ", "\n")):
        return None
    return body[:-1]


def _read_block(body: str, *, mapping: bool = True) -> Any:
    lines = _lines(body)
    reader = _Reader(lines)
    data = reader.mapping(0) if mapping else reader.block(0)
    if reader.pos != len(lines):
        raise _NotOurs
    return data


def load(text: str) -> tuple[bool, Any]:
    """(True, data) when ``text`` is exactly what the writer writes for ``data`` (a non-empty
    mapping or list, after leading comments); (False, None) otherwise."""
    body = _body(text)
    if body is None:
        return False, None
    try:
        return True, _read_block(body, mapping=False)
    except (_NotOurs, IndexError, RecursionError):
        return False, None


# A line that starts at the left margin starts a top-level entry or an item of a top-level
# list (literal blocks are always indented, and a blank line never starts anything).
_TOP = re.compile(r"\n(?=[^ \n])")


def load_split(text: str, memo: dict[str, Any]) -> tuple[bool, Any]:
    """:func:`load`, reading each top-level entry and each item of a top-level list on its own
    through ``memo`` (its text → what it reads as), so text met before is not read again.

    The same text always reads as the same object: callers must not change what they get.
    """
    body = _body(text)
    if body is None:
        return False, None
    try:
        return True, _read_pieces(_TOP.split(body), memo)
    except (_NotOurs, IndexError, RecursionError):
        return False, None


def _piece(piece: str, memo: dict[str, Any]) -> Any:
    found = memo.get(piece, _NO_WORD)
    if found is _NO_WORD:
        found = memo[piece] = _read_block(piece)
    return found


def _read_pieces(pieces: list[str], memo: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    position = 0
    while position < len(pieces):
        piece = pieces[position]
        position += 1
        if piece.startswith("- "):
            raise _NotOurs  # items only follow their key
        if "\n" in piece or not piece.endswith(":"):
            part = _piece(piece, memo)
            if len(part) != 1:
                raise _NotOurs
            ((key, value),) = part.items()
        else:  # "key:" alone: the items of its list follow at the same (no) indentation
            entry = _entry(piece)
            if entry is None or entry[1] is not None:
                raise _NotOurs
            key = entry[0]
            value = []
            while position < len(pieces) and pieces[position].startswith("- "):
                item = pieces[position]
                position += 1
                # "- key: value" holds a mapping, "- - x" a list: read as the writer wrote it
                value.append(_item(item, memo))
            if not value:
                raise _NotOurs
        if key in result:
            raise _NotOurs
        result[key] = value
    return result


def _item(piece: str, memo: dict[str, Any]) -> Any:
    found = memo.get(piece, _NO_WORD)
    if found is not _NO_WORD:
        return found
    lines = _lines(piece)
    reader = _Reader(lines)
    items = reader.sequence(0)
    if reader.pos != len(lines) or len(items) != 1:
        raise _NotOurs
    memo[piece] = items[0]
    return items[0]
