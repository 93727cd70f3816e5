"""Reading Directus's ``{"data": {...}}`` answer a value at a time, as its bytes arrive.

A push backs the target up by writing each entry of ``GET /schema/snapshot`` out as it is
read: the answer (some 50 MB for 3,000 collections) is never held whole, nor parsed whole.
Each value is decoded by the standard decoder (``raw_decode``) from a small rolling text,
so what it accepts and how it reads numbers and strings are ``json.loads``'s own; the few
characters between values (braces, brackets, commas, colons) are read here.

What ``json.loads(body, object_pairs_hook=store.unique_keys_shared)`` followed by
``store.nested_deeper`` refuses is refused too, in the same order: a syntax error where the
parse stops, a key given twice when its object closes, nesting past ``store.MAX_NESTING``
only once the whole text has parsed.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from directus_gitops.files import store


class TooDeep(ValueError):
    """The answer nests lists and mappings deeper than ``store.MAX_NESTING``."""


# Events: ("member", key, value) a member of the answer other than the "data" mapping;
# ("data", "data", None) the "data" mapping starts; ("header", key, value) a member of it
# other than a list; ("list", key, None) a list of it starts; ("entry", key, value) that
# list's next item; ("whole", "", value) an answer that is not a mapping, ("whole", "data",
# value) a "data" that is not one (each whole, as json.loads reads it).
Event = tuple[str, str, Any]

_SPACE = re.compile(r"[ \t\n\r]*")
# (Texts interned, as the client reads a snapshot whole: the names kept of each entry are few.)
_DECODE = json.JSONDecoder(object_pairs_hook=store.unique_keys_shared).raw_decode


class _Text:
    """The answer's text from the read position on, decoded as ``json.loads`` decodes bytes."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._decoder: codecs.IncrementalDecoder | None = None
        self._head = b""
        self.text = ""
        self.at = 0
        self.ended = False

    def more(self) -> bool:
        """Take the next chunk onto the text (letting go of what was read); False at the end."""
        while not self.ended:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.ended = True
                decoded = self._decode(b"", final=True)
            else:
                decoded = self._decode(chunk, final=False)
            if decoded:
                self.text = self.text[self.at :] + decoded
                self.at = 0
                return True
        return False

    def _decode(self, data: bytes, *, final: bool) -> str:
        if self._decoder is None:  # json.detect_encoding needs the first four bytes
            self._head += data
            if len(self._head) < 4 and not final:
                return ""
            self._decoder = codecs.getincrementaldecoder(json.detect_encoding(self._head))("surrogatepass")
            data, self._head = self._head, b""
        return self._decoder.decode(data, final)

    def next(self) -> str:
        """The next character that is not white space ("" at the end), not taken."""
        while True:
            self.at = _SPACE.match(self.text, self.at).end()  # type: ignore[union-attr]
            if self.at < len(self.text):
                return self.text[self.at]
            if not self.more():
                return ""

    def take(self, wanted: str) -> None:
        if self.next() != wanted:
            raise json.JSONDecodeError(f"Expecting {wanted!r}", self.text, self.at)
        self.at += 1

    def value(self) -> Any:
        """The JSON value at the read position, whole."""
        self.next()
        while True:
            try:
                value, end = _DECODE(self.text, self.at)
            except json.JSONDecodeError:
                if not self._grow():
                    raise
                continue
            # A value ending where the text does may go on (a number cut between two chunks).
            if end < len(self.text) or not self._grow():
                self.at = end
                return value

    def _grow(self) -> bool:
        """Read until the text ahead is twice as long (a value longer than a chunk is decoded
        a few times, not once per chunk); False at the end."""
        wanted = 2 * (len(self.text) - self.at)
        grew = False
        while len(self.text) - self.at < wanted and self.more():
            grew = True
        return grew

    def members(self) -> Iterator[str]:
        """The keys of the mapping at the read position, each left for its value to be read."""
        self.take("{")
        if self.next() == "}":
            self.at += 1
            return
        while True:
            if self.next() != '"':
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", self.text, self.at)
            key = self.value()
            self.take(":")
            yield key
            if self.next() == ",":
                self.at += 1
                continue
            self.take("}")
            return

    def items(self) -> Iterator[int]:
        """The positions of the list at the read position, each left for its item to be read."""
        self.take("[")
        if self.next() == "]":
            self.at += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            if self.next() == ",":
                self.at += 1
                continue
            self.take("]")
            return

    def end(self) -> None:
        if self.next():
            raise json.JSONDecodeError("Extra data", self.text, self.at)


def events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """The answer in ``chunks`` as events (see :data:`Event`), its lists' items one at a time.

    Raises ``ValueError`` (``json.JSONDecodeError``, ``UnicodeDecodeError``) for what is not
    JSON, ``store.DuplicateKey``, ``TooDeep``, and ``RecursionError`` as the decoder does.
    """
    text = _Text(chunks)
    deep = False

    def whole(depth: int) -> Any:
        nonlocal deep
        value = text.value()
        deep = deep or store.nested_deeper(value, store.MAX_NESTING - depth)
        return value

    if text.next() != "{":
        yield "whole", "", whole(0)
        text.end()
        if deep:
            raise TooDeep
        return
    seen: list[str] = []  # a key given twice is said when its mapping closes, as the hook does
    twice: str | None = None
    for key in text.members():
        if key in seen and twice is None:
            twice = key
        seen.append(key)
        if key != "data" or text.next() != "{":
            yield ("whole" if key == "data" else "member"), key, whole(1)
            continue
        yield "data", key, None
        names: list[str] = []
        again: str | None = None
        for name in text.members():
            if name in names and again is None:
                again = name
            names.append(name)
            if text.next() != "[":
                yield "header", name, whole(2)
                continue
            yield "list", name, None
            for _ in text.items():
                yield "entry", name, whole(3)
        if again is not None:
            raise store.DuplicateKey(again)
    if twice is not None:
        raise store.DuplicateKey(twice)
    text.end()
    if deep:
        raise TooDeep
