"""The interface a kind answers, so that one engine reads, checks, compares, plans, applies
and verifies every kind the same way (docs/architecture.md, "Adding a kind").

A kind owns part of the configuration state (its *section*, plain data: by default the
state's value under its group; :meth:`Kind.section` and :meth:`Kind.place` say otherwise)
and the files it writes. It answers:

- **read**: its section on a live Directus, through a ``fetch(path, params)`` that returns
  the answer's ``data`` (the engine passes the one HTTP client's reader);
- **canonical form**: :meth:`Kind.canonical`, :meth:`Kind.documents` (section → files,
  byte-stable through the one YAML module) and :meth:`Kind.build` (files that passed the
  validation → section);
- **identity**: inside :meth:`Kind.compare`, which matches items by it and yields one
  :class:`~directus_gitops.model.kinds.change.ConfigChange` per item;
- **validation**: :meth:`Kind.findings`, run by ``check``, by every reader and by ``pull``
  before it writes;
- **apply order**: :meth:`Kind.steps`, every REST call in the order to send it; each step
  names its *stage* (:attr:`Step.stage`), and the stages run in the order of
  ``registry.STAGES``, so the steps of two kinds may interleave (a user is created after the
  roles it names and before the permissions); a value the target assigns on create (an
  auto-increment id) is a :class:`Ref`, resolved while the steps run;
- **secrets**: its files go through the same scan as every other file (``pull`` refuses a
  secret before writing), and ``${env:NAME}`` placeholders are substituted on push;
- **consent**: each change says which consent its removal needs (``ConfigChange.consent``).

**Across kinds.** A kind looks at other kinds only through the :class:`Context` the engine
passes: the access model, the whole states around its section (a preset shows the name of
the role it belongs to; an ignored role takes its presets with it), the manifest's entry and
the schema's collections (validation), and what the kinds before it in ``KINDS`` defined
that it may name (:attr:`Context.defined`: the roles a preset, user or setting names). The
engine calls the kinds in the order of ``registry.KINDS``.

Every kind is one module here, added to ``KINDS`` in ``registry.py``; the per-concern
modules (model.py, files.py, validate.py, compare.py, ignore.py, server/) only loop over it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from directus_gitops.base.formats import counted
from directus_gitops.model.kinds.items import ignored, items_of, listed, per_item

if TYPE_CHECKING:
    from directus_gitops.model.kinds.change import ConfigChange
    from directus_gitops.model.selection import Rules

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A problem in a file: where (keys and list positions in its document) and what."""

    relpath: str  # under the schema folder; the manifest for its ``config`` entry
    at: Location
    message: str


# ``fetch(path, params)``: the ``data`` of a GET on the target (the engine binds the client).
Fetch = Callable[[str, Mapping[str, str] | None], Any]


def every(fetch: Fetch, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every item of a list endpoint (no paging limit)."""
    data = fetch(path, {"limit": "-1", **(params or {})})
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


@dataclass(frozen=True)
class Ref:
    """A value the target decides: the primary key of row ``key`` of ``collection``, known
    before the push (the target has the row) or once the step creating it has run."""

    collection: str
    key: str  # the row's identity, as compare.py writes it


@dataclass(frozen=True)
class Step:
    """One REST call of an apply. ``creates``: (collection, primary key field, the rows'
    identities in the order of the body) for a create whose answer gives new ids. ``stage``:
    where it runs (``registry.STAGES``; empty: the stage named after its kind's group)."""

    what: str  # "+ role Editor"
    method: str
    path: str
    body: Any = None
    creates: tuple[str, str, tuple[str, ...]] | None = None
    stage: str = ""


@dataclass
class Context:
    """What a kind may know of the whole configuration around its section.

    ``model``: the access model, ``"policies"`` (Directus 11+) or ``"roles"`` (9.x/10.x).
    ``old``/``new``: the whole states (compare: the target's and the wanted one; ignore: the
    state being filtered, as ``new``). ``entry``: the manifest's ``config`` entry (build,
    findings: the groups it lists, what it names that ignore rules leave out).
    ``collections``: those the schema of the same folder defines (findings; None: not
    checked). ``defined``: what a kind's files define that the kinds after it in ``KINDS``
    may name, by noun (findings; ``"role"`` only when the roles are in the files)."""

    model: str = "policies"
    old: Mapping[str, Any] = field(default_factory=dict)
    new: Mapping[str, Any] = field(default_factory=dict)
    entry: Mapping[str, Any] = field(default_factory=dict)
    collections: Collection[str] | None = None
    defined: dict[str, set[str]] = field(default_factory=dict)


class Kind(ABC):
    """One kind of thing a project holds besides the data model (see the module's text)."""

    group: str  # its sync group: its key in the manifest's groups (and, by default, in the state)
    nouns: tuple[str, ...]  # the change kinds it yields, in apply order
    files: tuple[str, ...]  # the ``kind:`` of the files it holds

    def section(self, state: Mapping[str, Any]) -> Any:
        """Its part of ``state`` (None: the state does not hold it)."""
        return state.get(self.group)

    def place(self, state: dict[str, Any], section: Any) -> None:
        """Put ``section`` into ``state`` (what :meth:`section` reads back)."""
        state[self.group] = section

    @abstractmethod
    def read(self, fetch: Fetch, spec: Any, context: Context | None = None) -> Any:
        """Its section on a live Directus; ``spec`` says what to read (its own shape)."""

    @abstractmethod
    def spec_of(self, section: Any) -> Any:
        """What :meth:`read` needs to read a target the way ``section`` (from files) was read."""

    @abstractmethod
    def canonical(self, section: Any) -> Any:
        """``section`` in its canonical order."""

    @abstractmethod
    def documents(self, section: Any) -> dict[str, Any]:
        """Relative path under the schema folder → the document to write there."""

    @abstractmethod
    def build(self, documents: Mapping[str, Any], context: Context | None = None) -> Any:
        """The section of its documents (they passed :meth:`findings`)."""

    @abstractmethod
    def findings(
        self,
        documents: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]] | None,
        complete: bool,
        context: Context | None = None,
    ) -> list[Finding]:
        """Every problem in its documents. ``fields``: collection → field → type in the same
        folder's schema (None: not known here). Without ``complete``, references across
        files are not checked."""

    @abstractmethod
    def compare(self, old: Any, new: Any, context: Context | None = None) -> list[ConfigChange]:
        """What applying ``new`` to a target holding ``old`` (None: nothing) changes."""

    @abstractmethod
    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        """Every REST call that makes the changes, in the order to send them."""

    @abstractmethod
    def known(self, current: Any) -> dict[Ref, Any]:
        """The target's values of the :class:`Ref` its steps may hold."""

    @abstractmethod
    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        """``section`` without what ``rules`` leave out, and a label for each item left out."""

    @abstractmethod
    def count(self, section: Any) -> str:
        """How much it holds, in words ("12 rows in 2 collections")."""


class ConfigKind(Kind):
    """A kind of Directus's own configuration: it reads nothing but its section and knows
    neither schema fields, specs nor server-assigned references (those are reference data's)."""

    def spec_of(self, section: Any) -> Any:
        return None

    def known(self, current: Any) -> dict[Ref, Any]:
        return {}

    def ignore(self, section: Any, rules: Rules, context: Context | None = None) -> tuple[Any, list[str]]:
        """Items matched by name (``ignore: config: ["<noun>:<glob>"]``); kinds matched otherwise override it."""
        kept, left_out, _ = ignored(self.nouns[0], section, "name", rules)
        return kept, left_out

    def count(self, section: Any) -> str:
        return counted(len(section), self.nouns[0], self.group)


class PerItemKind(ConfigKind):
    """A kind written one file per item: ``config/<group>/<name>.yaml`` of ``kind: files[0]``."""

    def documents(self, section: Any) -> dict[str, Any]:
        return per_item(self.group, self.files[0], section)

    def build(self, documents: Mapping[str, Any], context: Context | None = None) -> Any:
        return [{key: value for key, value in document.items() if key != "kind"} for document in documents.values()]


class ListedKind(ConfigKind):
    """A kind written as one file listing its items: ``config/<group>.yaml``."""

    def documents(self, section: Any) -> dict[str, Any]:
        return listed(self.group, section)

    def build(self, documents: Mapping[str, Any], context: Context | None = None) -> Any:
        return items_of(documents)
