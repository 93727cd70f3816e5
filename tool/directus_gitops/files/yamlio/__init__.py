"""The only place YAML is read or written.

Writing is canonical: block style, two-space indentation, no aliases, strings quoted only
when YAML needs it, multi-line strings as literal blocks, a trailing newline. Dict key order
is the caller's (the snapshot module decides it), so the same data always gives the same
bytes.

Reading takes anchors and aliases, as Directus's own reader (js-yaml) does: PyYAML writes
them for an object it meets twice. Each alias becomes a copy of what it names, so no two
places of a document share an object, and a document whose aliases would expand to more than
:data:`MAX_EXPANDED` values (a "billion laughs" bomb) is refused before anything is built.
Explicit tags are refused: a snapshot never needs them. The C-accelerated loader is used when PyYAML was
built with libyaml; writing uses a small emitter of its own (see below). PyYAML is imported
on first use: a diff of two remembered commits reads no YAML at all, and the import is a
tenth of its time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from directus_gitops.files.yamlio.writer import dump, dump_item, dump_pieces, inline, key_text

if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True)
class YamlProblem:
    """Where and why a document is not acceptable YAML for us."""

    message: str
    line: int | None = None  # 1-based

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class YamlError(ValueError):
    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


__all__ = [
    "MAX_EXPANDED",
    "YamlError",
    "YamlProblem",
    "dump",
    "dump_item",
    "dump_pieces",
    "inline",
    "key_text",
    "load",
    "locate",
]

# The most values (scalars, lists, mappings) aliases may add to a document: some forty times
# what a 6,000-field snapshot holds written out, far below what a "billion laughs" reaches.
MAX_EXPANDED = 1_000_000


# --------------------------------------------------------------------------- reading


@functools.cache
def _loaders() -> tuple[Any, Any]:
    """PyYAML's safe loader (libyaml's when built with it) and ours on top of it: the safe
    loader, refusing a mapping that holds a key twice (YAML says keys are unique; PyYAML
    would silently keep the last one)."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc]
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` merges a mapping (js-yaml takes it too)
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: PyYAML's own error says so
                if first is not None:
                    raise YamlError(YamlProblem(f"duplicate key {key!r} (first at line {first})", line))
                seen[key] = line
            result: dict[Any, Any] = super().construct_mapping(node, deep=deep)
            return result

    return base, StrictLoader


def _check_events(text: str) -> bool:
    """Refuse explicit tags, and aliases that would expand past :data:`MAX_EXPANDED` values
    (counted from the events, before anything is built); whether the document has an alias."""
    import yaml

    sizes: dict[str, int] = {}  # each anchor's value, in values once expanded
    open_nodes: list[tuple[str | None, int]] = []  # the lists and mappings being read: anchor, values so far
    added = 0  # values the aliases add
    aliased = False

    def close(anchor: str | None, size: int) -> None:
        if anchor is not None:
            sizes[anchor] = size
        if open_nodes:
            parent, so_far = open_nodes[-1]
            open_nodes[-1] = (parent, so_far + size)

    for event in yaml.parse(text, Loader=_loaders()[0]):
        line = event.start_mark.line + 1 if event.start_mark else None
        # The parser reports a tag only when the document spells one out.
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise YamlError(YamlProblem(f"YAML tag {tag} is not allowed", line))
        if isinstance(event, yaml.AliasEvent):
            aliased = True
            size = sizes.get(str(event.anchor), 1)  # (an unknown one: PyYAML's own error says so)
            added += size
            if added > MAX_EXPANDED:
                raise YamlError(
                    YamlProblem(
                        f"YAML aliases expand to more than {MAX_EXPANDED:,} values (alias *{event.anchor}): "
                        "write the repeated parts out",
                        line,
                    )
                )
            close(None, size)
        elif isinstance(event, yaml.ScalarEvent):
            close(event.anchor, 1)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            open_nodes.append((event.anchor, 1))
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            close(*open_nodes.pop())
    return aliased


def _unshared(value: Any) -> Any:
    """``value`` with every list and mapping a new one: what aliases made one object in many
    places becomes a copy in each (an entry changed in place changes no other)."""
    if type(value) is dict:
        return {key: _unshared(item) for key, item in value.items()}
    if type(value) is list:
        return [_unshared(item) for item in value]
    return value


def locate(text: str, paths: Sequence[Sequence[str | int]]) -> list[int | None]:
    """The 1-based line of each path (mapping keys and list positions) in ``text``.

    A path that goes further than the document does gets the line of its deepest part that
    exists, which is where a missing key belongs; None when the text is not YAML at all.
    Meant for error messages: it builds a node tree, which plain loading does not need.
    """
    import yaml

    try:
        root = yaml.compose(text, Loader=_loaders()[0])
    except yaml.YAMLError:
        return [None] * len(paths)
    return [None if root is None else _line_of(root, path) for path in paths]


def _line_of(node: yaml.Node, path: Sequence[str | int]) -> int:
    import yaml

    line = node.start_mark.line + 1
    for part in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def load(text: str) -> Any:
    """Parse one YAML document safely; raise :class:`YamlError` with a line number."""
    from directus_gitops.files.yamlio import canonical  # the fast reader of our own output

    ours, data = canonical.load(text)
    if ours:
        return data
    import yaml

    try:
        # Aliases and tags need one of these characters: skip the extra event pass for the
        # common document that has none.
        aliased = ("*" in text or "!" in text) and _check_events(text)
        data = yaml.load(text, Loader=_loaders()[1])
        return _unshared(data) if aliased else data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlError(YamlProblem(exc.problem or str(exc), line)) from None
    except yaml.YAMLError as exc:
        raise YamlError(YamlProblem(str(exc))) from None
