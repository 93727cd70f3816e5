"""The interface a kind answers, so that one engine reads, checks, compares, plans, applies
and verifies every kind the same way (docs/architecture.md, "Adding a kind").

A kind owns one key of the configuration state (its *section*, plain data) and the files it
writes. It answers:

- **read**: its section on a live Directus, through a ``fetch(path, params)`` that returns
  the answer's ``data`` (the engine passes the one HTTP client's reader);
- **canonical form**: :meth:`Kind.documents` (section → files, byte-stable through the one
  YAML module) and :meth:`Kind.build` (files that passed the validation → section);
- **identity**: inside :meth:`Kind.compare`, which matches items by it and yields one
  :class:`~directus_gitops.model.kinds.compare.ConfigChange` per item;
- **validation**: :meth:`Kind.findings`, run by ``check``, by every reader and by ``pull``
  before it writes;
- **apply order**: :meth:`Kind.steps`, every REST call in the order to send it; a value the
  target assigns on create (an auto-increment id) is a :class:`Ref`, resolved while the
  steps run;
- **secrets**: its files go through the same scan as every other file (``pull`` refuses a
  secret before writing), and ``${env:NAME}`` placeholders are substituted on push;
- **consent**: each change says which consent its removal needs (``ConfigChange.consent``).

The kinds that predate this interface (roles … folders) are dispatched by the same engine
through per-concern modules (model.py, files.py, validate.py, compare.py, server/); a new kind
is one module here, added to :data:`KINDS` in ``model/kinds/__init__.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from directus_gitops.model.kinds.change import ConfigChange

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A problem in a file: where (keys and list positions in its document) and what."""

    relpath: str  # under the schema folder; the manifest for its ``config`` entry
    at: Location
    message: str


# ``fetch(path, params)``: the ``data`` of a GET on the target (the engine binds the client).
Fetch = Callable[[str, Mapping[str, str] | None], Any]


@dataclass(frozen=True)
class Ref:
    """A value the target decides: the primary key of row ``key`` of ``collection``, known
    before the push (the target has the row) or once the step creating it has run."""

    collection: str
    key: str  # the row's identity, as compare.py writes it


@dataclass(frozen=True)
class Step:
    """One REST call of an apply. ``creates``: (collection, primary key field, the rows'
    identities in the order of the body) for a create whose answer gives new ids."""

    what: str  # "+ role Editor"
    method: str
    path: str
    body: Any = None
    creates: tuple[str, str, tuple[str, ...]] | None = None


class Kind(ABC):
    """One kind of thing a project holds besides the data model (see the module's text)."""

    group: str  # its key in the state, in the manifest's groups and in the files' ``kind``
    nouns: tuple[str, ...]  # the change kinds it yields, in apply order

    @abstractmethod
    def read(self, fetch: Fetch, spec: Any) -> Any:
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
    def build(self, documents: Mapping[str, Any]) -> Any:
        """The section of its documents (they passed :meth:`findings`)."""

    @abstractmethod
    def findings(
        self, documents: Mapping[str, Any], fields: Mapping[str, Mapping[str, str]] | None, complete: bool
    ) -> list[Finding]:
        """Every problem in its documents. ``fields``: collection → field → type in the same
        folder's schema (None: not known here). Without ``complete``, references across
        files are not checked."""

    @abstractmethod
    def compare(self, old: Any, new: Any) -> list[ConfigChange]:
        """What applying ``new`` to a target holding ``old`` (None: nothing) changes."""

    @abstractmethod
    def steps(self, changes: Collection[ConfigChange], desired: Any, current: Any) -> list[Step]:
        """Every REST call that makes the changes, in the order to send them."""

    @abstractmethod
    def known(self, current: Any) -> dict[Ref, Any]:
        """The target's values of the :class:`Ref` its steps may hold."""

    @abstractmethod
    def ignore(self, section: Any, ignored: Callable[[str], bool]) -> tuple[Any, list[str]]:
        """``section`` without the collections ``ignored`` says the ignore rules leave out,
        and what it left out."""

    @abstractmethod
    def count(self, section: Any) -> str:
        """How much it holds, in words ("12 rows in 2 collections")."""
