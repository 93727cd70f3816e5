"""The one HTTP client: Directus's schema endpoints, and errors a user can act on.

The token travels only in the ``Authorization: Bearer`` header; no message built here ever
contains it. httpx is imported when a client is made, so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from directus_gitops import __version__
from directus_gitops.base import batching
from directus_gitops.base.console import one_line
from directus_gitops.base.errors import PayloadTooLargeError, ServerError, StaleHashError
from directus_gitops.files import snapshot as snap
from directus_gitops.model import system

if TYPE_CHECKING:
    import httpx

    from directus_gitops.model.config import Target

# Directus answers 400 "request entity too large" for JSON bodies over MAX_PAYLOAD_SIZE
# (1 MB by default); the same document as a multipart upload has a far larger limit.
MULTIPART_THRESHOLD = 512 * 1024

# The endpoints that also take their body as a multipart upload, from the release that
# first does: every supported release's /schema/diff; /schema/apply from 10 on (9.x reads
# only the JSON parser's body there, and a multipart one arrives empty: 400 '"hash" is
# required'). Every other endpoint, and an older release, takes JSON only.
UPLOADS_SINCE: Mapping[str, tuple[int, int, int]] = {"/schema/diff": (9, 0, 0), "/schema/apply": (10, 0, 0)}

# The most JSON a batch of rows takes in one request: half of Directus's default MAX_PAYLOAD_SIZE
# (1mb), which holds for the items endpoints on every release (they take no upload).
ROWS_BYTES = 512 * 1024

# Reads that change nothing (GET /server/info, /schema/snapshot) are retried briefly when the
# connection is reset or Directus answers 503 "under pressure" (its load limiter): waits of
# RETRY_DELAYS seconds, never past RETRY_BUDGET seconds in all. Writes are never retried.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
RETRY_BUDGET = 10.0


# The way out when an unlicensed Directus 12 refuses permissions with custom rules.
RESTRICTED_PERMISSIONS_HINT = (
    "add a licence key to the target, or give those permissions all fields (fields: ['*']) "
    "and no filter, validation or presets"
)

# Problems named in the error about a snapshot a server answered that ``check`` would refuse.
SHOWN_PROBLEMS = 3
# Directus's own tables whose endpoint (``/users`` for directus_users) reads with the query,
# ``aggregate`` included (controllers of 9.26.0 and 12.4.1); the others (``/extensions``,
# ``/settings``, ``/collections``) answer without a count.
COUNTED_SYSTEM = frozenset(
    system.PREFIX + name
    for name in [
        "access",
        "activity",
        "comments",
        "dashboards",
        "files",
        "flows",
        "folders",
        "notifications",
        "operations",
        "panels",
        "permissions",
        "policies",
        "presets",
        "revisions",
        "roles",
        "shares",
        "translations",
        "users",
        "versions",
        "webhooks",
    ]
)


@dataclass(frozen=True)
class Diff:
    """A server-computed diff: what ``/schema/apply`` needs to turn the target into the snapshot."""

    hash: str
    diff: dict[str, Any]


def version_of(info: Mapping[str, Any]) -> str | None:
    """The release ``GET /server/info`` names (``directus.version`` from 10 on, ``version`` before)."""
    directus = info.get("directus")
    if isinstance(directus, dict) and directus.get("version"):
        return one_line(str(directus["version"]))
    return one_line(str(info["version"])) if info.get("version") else None


def _error_detail(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
        first = body["errors"][0]
        code = (first.get("extensions") or {}).get("code")
        return one_line(str(first.get("message", "")).strip()), code
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return one_line(text), None


def _sent_size(response: httpx.Response, unknown: str, what: str = "") -> str:
    """The size of the body a request sent, as a refusal names it (from its header)."""
    sent = int(response.request.headers.get("content-length") or 0)
    return f"{sent / (1024 * 1024):.1f} MB{what}" if sent else unknown


def load_transport() -> None:
    """Import httpx now rather than when the first client is made. A command that makes its
    clients in threads calls this before starting them: the first request then goes out at
    once, instead of after an import that shares the interpreter with whatever the calling
    thread does meanwhile."""
    import httpx  # noqa: F401


@dataclass(frozen=True)
class _Call:
    """One request as :meth:`DirectusClient._request` was asked for it (see there)."""

    method: str
    path: str
    params: Mapping[str, str] | None
    body: Any
    consume: Callable[[httpx.Response], None] | None
    upload: bool = False  # send the body as a multipart upload whatever its size


class DirectusClient:
    def __init__(self, target: Target, transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        self.target = target
        self._httpx = httpx
        self._transport = transport
        self._client = httpx.Client(
            base_url=target.url,
            headers={
                "Authorization": f"Bearer {target.token}",
                "User-Agent": f"directus-gitops/{__version__}",
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(target.timeout, connect=min(10.0, target.timeout)),
            transport=transport,
            follow_redirects=False,
            # One connection at a time, so the socket the deadline watches is the one in use.
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            verify=_may_use_tls(target.url),
        )
        self._socket: socket.socket | None = None
        # The target's release, once GET /server/info said it (or the caller did): which
        # endpoints take a multipart body depends on it (UPLOADS_SINCE).
        self.release: tuple[int, int, int] | None = None
        self._mariadb: tuple[bool | None] | None = None  # (the answer,) once asked: see mariadb()

    def __enter__(self) -> DirectusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def sibling(self) -> DirectusClient:
        """A second client for the same target, for a request made alongside this one's."""
        twin = DirectusClient(self.target, transport=self._transport)
        twin.release = self.release
        return twin

    def knows_release(self, version: Any) -> None:
        """Tell the client the target's release (as ``GET /server/info`` says it), unless it knows."""
        if self.release is None:
            self.release = snap.release(version)

    def uploads(self, path: str) -> bool:
        """Whether a large body for ``path`` goes as a multipart upload: only where the target's
        release takes one (an unknown release is taken for a current one)."""
        since = UPLOADS_SINCE.get(path)
        return since is not None and (self.release is None or self.release >= since)

    # ------------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        retry: bool = False,
        consume: Callable[[httpx.Response], None] | None = None,
    ) -> httpx.Response:
        """One request; with ``retry`` (reads only), a few more after transient failures. With
        ``consume``, a successful answer's body is not read into the response: ``consume``
        reads it as it arrives (``iter_bytes``), under the same deadline, each try anew."""
        call = _Call(method, path, params, body, consume)
        try:
            return self._tried(call, retry=retry)
        except PayloadTooLargeError:
            # A JSON body under MULTIPART_THRESHOLD, over a MAX_PAYLOAD_SIZE set lower than it:
            # an endpoint that takes an upload takes it that way (refused before it ran).
            if body is None or not self.uploads(path):
                raise
            return self._tried(replace(call, upload=True), retry=retry)

    def _tried(self, call: _Call, *, retry: bool) -> httpx.Response:
        method, path = call.method, call.path
        start = time.monotonic()
        for delay in (*RETRY_DELAYS, None) if retry else (None,):
            try:
                response = self._send(call)
            except ServerError as exc:
                if not exc.transient:
                    raise
                failure: ServerError | httpx.Response = exc
            else:
                if response.status_code != 503:
                    return self._checked(method, path, response)
                failure = response
            if delay is None or time.monotonic() - start + delay > RETRY_BUDGET:
                break
            time.sleep(delay)
        if isinstance(failure, ServerError):
            raise failure
        return self._checked(method, path, failure)

    def _checked(self, method: str, path: str, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        raise self._status_error(method, path, response)

    def _send(self, call: _Call) -> httpx.Response:
        if _request_log is None:
            return self._exchange(call)
        started = time.monotonic()
        params = call.params
        shown = f"{call.method} {call.path}" + (
            f"?{'&'.join(f'{key}={value}' for key, value in params.items())}" if params else ""
        )
        try:
            response = self._exchange(call)
        except ServerError as exc:
            _request_log(one_line(f"{shown} → failed after {_ms(started)} ms: {exc.message}"))
            raise
        # (A multipart body is a stream, never read back: its length is in its header.)
        sent = int(response.request.headers.get("content-length") or 0)
        received = response.num_bytes_downloaded if call.consume else len(response.content)
        _request_log(
            one_line(f"{shown} → {response.status_code} in {_ms(started)} ms (sent {sent} B, received {received} B)")
        )
        return response

    def _exchange(self, call: _Call) -> httpx.Response:
        method, path, body, consume = call.method, call.path, call.body, call.consume
        what = f"{method} {path}"
        kwargs: dict[str, Any] = {"params": call.params}
        if body is not None:
            encoded = json_body(body)
            if call.upload or (encoded.size > MULTIPART_THRESHOLD and self.uploads(path)):
                kwargs["files"] = {"file": ("snapshot.json", encoded, "application/json")}
            else:
                kwargs["content"] = encoded.getvalue()
                kwargs["headers"] = {"Content-Type": "application/json"}
        httpx = self._httpx
        timed_out = ServerError(
            f"{what} to {self.target.url} timed out after {self.target.timeout:g} s",
            hint="raise 'timeout' for this environment in directus-gitops.yaml if the server is just slow",
        )
        kwargs["extensions"] = {"trace": self._trace}
        deadline = _Deadline(self.target.timeout, lambda: self._socket)
        try:
            with deadline:
                if consume is None:
                    response = self._client.request(method, path, **kwargs)
                else:
                    with self._client.stream(method, path, **kwargs) as response:
                        if response.is_success:
                            consume(response)
                        else:  # (read whole: what went wrong is in it)
                            response.read()
        except httpx.TimeoutException:
            self._reset()
            raise timed_out from None
        except httpx.HTTPError as exc:
            if deadline.expired:
                self._reset()
                raise timed_out from None
            reason = _reason(exc)
            if isinstance(exc, httpx.ConnectError):
                raise ServerError(
                    f"cannot reach Directus at {self.target.url}: {reason}", transient=reason == "connection reset"
                ) from None
            # A connection reset or closed under the request is worth another try for a read.
            transient = isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError | httpx.WriteError)
            raise ServerError(f"{what} to {self.target.url} failed: {reason}", transient=transient) from None
        if deadline.expired:  # the answer was complete as the deadline struck
            self._reset()
        return response

    def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        # httpx bounds each read, not a whole request: a server sending one byte a second
        # would never time out. Knowing the connection's socket lets the deadline cut it.
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            self._socket = sock if isinstance(sock, socket.socket) else None

    def _reset(self) -> None:
        """Forget a connection the deadline may have cut, so the next request opens a new one."""
        self._client.close()
        self._client = self._httpx.Client(
            base_url=self._client.base_url,
            headers=self._client.headers,
            timeout=self._client.timeout,
            transport=self._transport,
            follow_redirects=False,
            limits=self._httpx.Limits(max_connections=1, max_keepalive_connections=1),
            verify=_may_use_tls(self.target.url),
        )
        self._socket = None

    def _status_error(self, method: str, path: str, response: httpx.Response) -> ServerError:
        status = response.status_code
        message, code = _error_detail(response)
        where = f"{method} {path} on {self.target.url}"
        if status == 401:
            return ServerError(
                f"{where}: the token was rejected (401)",
                hint=f"check {self.target.token_env}",
                status=status,
                code=code,
            )
        if status == 403 and code == "LIMIT_EXCEEDED":
            return ServerError(
                f"{where}: Directus licence limit reached (403): {message}",
                status=status,
                code=code,
            )
        if status == 403 and code == "RESOURCE_RESTRICTED":
            return ServerError(
                f"{where}: refused by the Directus licence (403): {message}",
                hint=RESTRICTED_PERMISSIONS_HINT
                if "custom_permission_rules" in message
                else "the target's licence does not include this feature: add a licence key to the target",
                status=status,
                code=code,
            )
        if status == 403:
            return ServerError(
                f"{where}: forbidden (403); the schema endpoints need an admin token",
                hint=f"{self.target.token_env} must hold the static token of an admin user",
                status=status,
                code=code,
            )
        if 300 <= status < 400:
            return ServerError(
                f"{where}: redirected ({status}) to {response.headers.get('location', '?')}; "
                "is the url the Directus API's base address?",
                status=status,
            )
        if status == 404 and code is None:
            return ServerError(f"{where}: not found (404); is {self.target.url} a Directus API?", status=status)
        if status == 400 and "request entity too large" in message:  # express's JSON parser, before the endpoint
            return self._too_large(where, path, response)
        if status == 413 or code == "CONTENT_TOO_LARGE":  # an upload over IMPORT_MAX_FILE_SIZE (12.x), before it
            return self._upload_too_large(where, response)
        if status == 400 and "generate a new diff" in message:  # Directus's stale-hash wording
            return StaleHashError(f"{where}: {message}", status=status, code=code)
        detail = f": {message}" if message else ""
        return ServerError(f"{where} failed ({status}){detail}", hint=known_cause(message), status=status, code=code)

    def _too_large(self, where: str, path: str, response: httpx.Response) -> PayloadTooLargeError:
        """A JSON body over the target's MAX_PAYLOAD_SIZE: refused whole, before the endpoint saw it."""
        size = _sent_size(response, "the JSON body", " of JSON")
        only_json = ""
        if path in UPLOADS_SINCE and self.release is not None and not self.uploads(path):
            release = ".".join(map(str, self.release))
            only_json = f"; Directus {release} takes {path} only as JSON (multipart from {UPLOADS_SINCE[path][0]}.0)"
        return PayloadTooLargeError(
            f"{where}: {size} is over the target's MAX_PAYLOAD_SIZE (1mb by default){only_json}",
            hint="raise MAX_PAYLOAD_SIZE in the target's environment (e.g. MAX_PAYLOAD_SIZE=10mb) and restart it",
            status=response.status_code,
        )

    def _upload_too_large(self, where: str, response: httpx.Response) -> ServerError:
        """A multipart upload over the target's IMPORT_MAX_FILE_SIZE: cut off before the endpoint ran."""
        size = _sent_size(response, "the upload")
        return ServerError(
            f"{where}: {size} is over the target's IMPORT_MAX_FILE_SIZE (50mb by default, which Directus 12 "
            "applies to the schema endpoints' uploads too); the endpoint did not run",
            hint="raise IMPORT_MAX_FILE_SIZE in the target's environment (e.g. IMPORT_MAX_FILE_SIZE=200mb), restart it",
            status=response.status_code,
            code="CONTENT_TOO_LARGE",
        )

    def _data(self, what: str, response: httpx.Response, *, shared: bool = False) -> Any:
        self._json_type(what, response)
        body = self._json(what, response, shared=shared)
        if not isinstance(body, dict) or "data" not in body:
            raise self._no_data(what)
        return body["data"]

    def _json_type(self, what: str, response: httpx.Response) -> None:
        content_type = response.headers.get("content-type", "")
        if "json" not in content_type:
            raise ServerError(
                f"{what}: {self.target.url} answered with {content_type or 'no content type'}, "
                "not JSON; is it a Directus API?"
            )

    def _no_data(self, what: str) -> ServerError:
        return ServerError(f"{what}: {self.target.url} answered without a 'data' member; is it a Directus API?")

    def _json(self, what: str, response: httpx.Response, *, shared: bool = False) -> Any:
        """The answer's JSON, read as ``check`` reads a JSON file: a key twice in one object
        (where the last would silently win) is refused, and so is nesting past ``store.MAX_NESTING`` (as in files).
        With ``shared``, every text value is interned (a large snapshot repeats a few of them)."""
        from directus_gitops.files import store

        refused = f"{what}: {self.target.url} answered with"
        try:
            body = response.json(object_pairs_hook=store.unique_keys_shared if shared else store.unique_keys)
        except store.DuplicateKey as exc:
            raise ServerError(f"{refused} invalid JSON: duplicate key {exc.key!r}") from None
        except ValueError:
            raise ServerError(f"{refused} invalid JSON") from None
        except RecursionError:
            deep = True
        else:
            deep = store.nested_deeper(body)
        if deep:
            raise ServerError(f"{refused} JSON nested more than {store.MAX_NESTING} levels deep")
        return body

    # ------------------------------------------------------------------ endpoints

    def snapshot(self) -> dict[str, Any]:
        return self.snapshot_of(self.snapshot_response())

    def snapshot_response(self) -> httpx.Response:
        """GET /schema/snapshot's answer, its body not yet decoded (``pull`` skips decoding an
        answer it has already written out); :meth:`snapshot_of` decodes and checks it."""
        return self._request("GET", "/schema/snapshot", retry=True)

    def snapshot_of(self, response: httpx.Response, *, untracked_fields: bool = False) -> dict[str, Any]:
        """The snapshot in ``response``, validated with ``check``'s own rules: no command
        writes, compares or sends what a server answers unless the files could hold it.

        Untracked fields that relations name (see :meth:`_untracked_fields`), and untracked
        collections that fields name (:func:`_untracked_collections`), are validated with the
        snapshot, and kept in it with ``untracked_fields`` (``pull`` writes them, as the
        releases before 11.17 did); otherwise the snapshot is the one Directus compares (its
        diff does not know them either), which the rule ``untracked-fields`` matches.
        """
        from directus_gitops.model import validate

        data = self._data("GET /schema/snapshot", response, shared=True)
        if not isinstance(data, dict) or "collections" not in data:
            raise self._not_a_snapshot()
        untracked = self._untracked_fields(data)
        if untracked:
            data = {**data, "fields": [*data["fields"], *untracked]}
        tables = _untracked_collections(_names(data.get("fields"), tables=True), set(_names(data["collections"])))
        if tables:
            data = {**data, "collections": [*data["collections"], *tables]}
        snapshot, problems = validate.document_problems(data)
        if snapshot is not None and untracked and not untracked_fields:
            added = {(entry["collection"], entry["field"]) for entry in untracked}
            snapshot["fields"] = [f for f in snapshot["fields"] if (f.get("collection"), f.get("field")) not in added]
        if snapshot is not None and tables and not untracked_fields:
            names = {entry["collection"] for entry in tables}
            snapshot["collections"] = [c for c in snapshot["collections"] if c.get("collection") not in names]
        if snapshot is None:
            raise self._refused_snapshot(problems)
        return snapshot

    def _refused_snapshot(self, problems: list[str]) -> ServerError:
        # One line, as every error about a server: ``status`` shows it in a table row.
        more = len(problems) - SHOWN_PROBLEMS
        listed = "; ".join(problems[:SHOWN_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
        return ServerError(
            f"GET /schema/snapshot: {self.target.url} answered with a snapshot `check` refuses: {listed}",
            hint="nothing `check` would refuse in the files is taken from a server: correct the schema "
            "on the server (or, if Directus itself accepts it, report it to directus-gitops)",
        )

    def _not_a_snapshot(self) -> ServerError:
        return ServerError(f"GET /schema/snapshot: {self.target.url} returned something that is not a snapshot")

    def snapshot_streamed(self, sink: SnapshotSink) -> None:
        """GET /schema/snapshot given to ``sink`` a member and an entry at a time, as its bytes
        arrive (a push's backup: a large model is never held whole, nor its answer): what
        :meth:`snapshot` would return, checked alike. An answer it refuses raises the same
        error, once ``sink`` was given what was read: the sink counts nothing before this
        returns. A try cut short and made again starts the sink anew (``sink.start``)."""
        from directus_gitops.files import jsonstream, store

        what = "GET /schema/snapshot"
        refused = f"{what}: {self.target.url} answered with"
        reads: list[_Streamed] = []

        def consume(response: httpx.Response) -> None:
            self._json_type(what, response)
            sink.start()
            read = _Streamed()  # (a try made again starts afresh)
            reads[:] = [read]
            try:
                for kind, key, value in jsonstream.events(response.iter_bytes()):
                    if kind == "entry":
                        if read.entry(key, value):
                            sink.entry(key, value)
                    elif kind in ("list", "header"):
                        read.member(key, [] if kind == "list" else value)
                        sink.member(key, [] if kind == "list" else value)
                    elif kind != "member":  # the "data" member (a mapping or not), or no mapping at all
                        read.data = kind == "data" if key else None
            except store.DuplicateKey as exc:
                raise ServerError(f"{refused} invalid JSON: duplicate key {exc.key!r}") from None
            except (jsonstream.TooDeep, RecursionError):
                raise ServerError(f"{refused} JSON nested more than {store.MAX_NESTING} levels deep") from None
            except ValueError:
                raise ServerError(f"{refused} invalid JSON") from None

        self._request("GET", "/schema/snapshot", retry=True, consume=consume)
        read = reads[0]
        if read.data is None:
            raise self._no_data(what)
        if not read.data or "collections" not in read.keys:
            raise self._not_a_snapshot()
        if {"fields", "relations"} <= read.lists:
            read.known.also = read.check.fields  # (the names of the fields the check counts are its own)
            for entry in self._fields_named(read.known, read.relations):
                read.entry("fields", entry)  # checked with the snapshot; not in it (see snapshot_of)
        for entry in _untracked_collections(read.tables, read.collections):
            read.entry("collections", entry)  # (the same)
        problems = read.check.problems()
        if problems:
            raise self._refused_snapshot(problems)

    def server_info(self) -> dict[str, Any]:
        data = self._data("GET /server/info", self._request("GET", "/server/info", retry=True))
        info = data if isinstance(data, dict) else {}
        self.knows_release(version_of(info))
        return info

    def diff(self, snapshot: Mapping[str, Any], *, force: bool = False) -> Diff | None:
        """The changes that would make the target match ``snapshot``; None when it already does."""
        # Older servers treat any ``force`` parameter, even force=false, as on.
        params = {"force": "true"} if force else None
        response = self._request("POST", "/schema/diff", params=params, body=snapshot)
        if response.status_code == 204 or not response.content:
            return None
        data = self._data("POST /schema/diff", response)
        if not isinstance(data, dict) or "hash" not in data or "diff" not in data:
            raise ServerError("POST /schema/diff: the answer has no hash and diff")
        return Diff(hash=str(data["hash"]), diff=data["diff"])

    def _untracked_fields(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The untracked fields (columns without ``meta``) that ``data``'s relations name.

        Directus 11.17 and 12 leave such fields out of their snapshots (earlier releases wrote
        them, `meta: null`), but not the relations on them: a file holding both applies, and the
        snapshot read back names a field it lacks. Directus refuses a relation on a field without
        a column, so each such field is asked for (``GET /fields``) and put back as those
        releases wrote it, with the schema properties the snapshot's other fields have.
        """
        fields = data.get("fields")
        relations = data.get("relations")
        if not isinstance(fields, list) or not isinstance(relations, list):
            return []
        known = _Known()
        for entry in fields:
            known.field(entry)
        return self._fields_named(known, relations)

    def _fields_named(self, known: _Known, relations: list[Any]) -> list[dict[str, Any]]:
        """:meth:`_untracked_fields`, given what the snapshot's fields are (``known``)."""
        keys = known.keys
        wanted = [
            (r["collection"], r["field"])
            for r in relations
            if isinstance(r, dict)
            and isinstance(r.get("collection"), str)
            and isinstance(r.get("field"), str)
            and not r["collection"].startswith("directus_")
            and not known.lists((r["collection"], r["field"]))
        ]
        if not wanted:
            return []
        added = []
        for collection, name in dict.fromkeys(wanted):
            path = f"/fields/{quote(collection, safe='')}/{quote(name, safe='')}"
            try:
                entry = self._data(f"GET {path}", self._request("GET", path))
            except ServerError as exc:
                if exc.status in (403, 404):
                    continue  # not a column either: validation names the relation
                raise
            if not isinstance(entry, dict) or entry.get("meta") is not None:
                continue
            schema = entry.get("schema")
            if isinstance(schema, dict) and keys:
                schema = {key: value for key, value in schema.items() if key in keys}
            added.append(
                {"collection": collection, "field": name, "type": entry.get("type"), "meta": None, "schema": schema}
            )
        return added

    def has_field(self, collection: str, field: str) -> bool:
        """Whether ``collection.field`` exists on the target (Directus's own fields included)."""
        path = f"/fields/{quote(collection, safe='')}/{quote(field, safe='')}"
        try:
            self._request("GET", path)
        except ServerError as exc:
            if exc.status in (403, 404):  # 12.x answers 403 for what does not exist
                return False
            raise
        return True

    def json_fits(self, size: int) -> bool | None:
        """Whether the target takes a JSON body of ``size`` bytes (its MAX_PAYLOAD_SIZE holds
        for every endpoint): asked of ``POST /utils/hash/generate``, which changes nothing.
        None when the answer tells neither."""
        padding = max(size - len(b'{"string":""}'), 1)
        try:
            self._request("POST", "/utils/hash/generate", body={"string": "x" * padding})
        except PayloadTooLargeError:
            return False
        except ServerError:
            return None
        return True

    def mariadb(self, vendor: Any = "mysql") -> bool | None:
        """Whether a target Directus calls ``mysql`` is MariaDB (True) or MySQL (False); None where
        it cannot say, and without asking for another ``vendor`` (its snapshot's). Directus names
        both alike, but they read columns differently: MariaDB's ``json`` is a ``longtext`` (and its
        string defaults are SQL literals, quotes doubled), so Directus's own json column
        ``directus_fields.options`` tells (9.26.0 to 12.4.1 measured)."""
        if vendor != "mysql":
            return None
        if self._mariadb is None:
            try:
                entry = self._data("GET /fields", self._request("GET", "/fields/directus_fields/options"))
            except ServerError as exc:
                if exc.status not in (403, 404):
                    raise
                entry = None
            schema = entry.get("schema") if isinstance(entry, dict) else None
            data_type = str(schema.get("data_type") or "").lower() if isinstance(schema, dict) else ""
            self._mariadb = ({"longtext": True, "json": False}.get(data_type),)
        return self._mariadb[0]

    def licence(self) -> dict[str, Any] | None:
        """Directus 12's licence: entitlements (limits) and usage; None where there is none."""
        try:
            data = self._data("GET /license", self._request("GET", "/license"))
        except ServerError as exc:
            if exc.status in (403, 404):
                return None
            raise
        return data if isinstance(data, dict) else None

    def extensions(self) -> list[dict[str, Any]]:
        """The extensions installed on the target (``GET /extensions``; none where it cannot say)."""
        try:
            data = self.read("/extensions")
        except ServerError as exc:
            if exc.status in (403, 404):  # 9.x lists them per type elsewhere
                return []
            raise
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    def count_rows(self, collection: str, release: str | None = None) -> int | None:
        """How many items ``collection`` holds on a target of ``release`` (one aggregate query);
        None where no endpoint counts them: Directus's own tables without such an endpoint
        (``/extensions``, ``/settings``), and a user's table named ``directus_*`` on 9.x,
        whose ``/items`` refuses every such name (10.x and later refuse only their own)."""
        if system.owns(collection, release):
            if collection not in COUNTED_SYSTEM:
                return None
            path = "/" + collection.removeprefix(system.PREFIX)
        elif collection.startswith(system.PREFIX) and (snap.release(release) or (10, 0, 0)) < (10, 0, 0):
            return None
        else:
            path = f"/items/{quote(collection, safe='')}"
        data = self.read(path, {"aggregate[count]": "*"})
        try:
            return int(data[0]["count"])
        except (LookupError, TypeError, ValueError):
            raise ServerError(f"GET {path}: {self.target.url} answered without a count") from None

    def clear_cache(self) -> None:
        """Make the server forget its cached schema (after a failed apply on MySQL/MariaDB)."""
        self._request("POST", "/utils/cache/clear")

    # ------------------------------------------------------------------ the push lock (lock.py)

    def create_lock_record(self, key: str, name: str) -> bool:
        """Create the lock's row; False when a row with that key exists (someone holds it)."""
        try:
            self._request("POST", "/folders", body={"id": key, "name": name})
        except ServerError as exc:
            if exc.code == "RECORD_NOT_UNIQUE":  # the database refused a second row with this key
                return False
            raise
        return True

    def lock_record(self, key: str) -> str | None:
        """The lock row's name; None when there is no such row."""
        try:
            data = self._data("GET /folders", self._request("GET", f"/folders/{key}"))
        except ServerError as exc:
            if exc.status in (403, 404):  # 12.x answers 403 for what does not exist
                return None
            raise
        return str(data.get("name") or "") if isinstance(data, dict) else None

    def delete_lock_record(self, key: str) -> None:
        try:
            self._request("DELETE", f"/folders/{key}")
        except ServerError as exc:
            if exc.status not in (403, 404):  # already gone
                raise

    # ------------------------------------------------------------------ configuration items

    def read(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The ``data`` of a GET on a REST endpoint (roles, policies, flows, settings, …)."""
        return self._data(f"GET {path}", self._request("GET", path, params=params))

    def write(self, method: str, path: str, body: Any = None) -> Any:
        """Create, change or delete configuration items; the answer's ``data``, if any."""
        response = self._request(method, path, body=body)
        if response.status_code == 204 or not response.content:
            return None
        return self._data(f"{method} {path}", response)

    def write_rows(self, method: str, path: str, rows: Sequence[Any]) -> list[Any]:
        """``rows``, a batch endpoint's list body (items to create, change or delete), in as
        few requests as fit: at most ROWS_BYTES of JSON each, halved again while the target
        refuses one for its MAX_PAYLOAD_SIZE (nothing of a refused request was applied). The
        answers' ``data`` in the rows' order. A row over the limit on its own is refused as any
        body is; a failure after some rows reached the target says how many did."""
        pending, answers, sent = batching.pack(rows, ROWS_BYTES), [], 0
        while pending:
            batch = pending.pop(0)
            try:
                answer = self.write(method, path, batch)
            except ServerError as exc:
                if isinstance(exc, PayloadTooLargeError) and len(batch) > 1:
                    pending[:0] = [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
                    continue
                if sent:
                    exc.reached = f"{sent} of {len(rows)} rows"
                    exc.message = f"after {exc.reached} reached the target: {exc.message}"
                raise
            answers += answer if isinstance(answer, list) else []
            sent += len(batch)
        return answers

    def apply(self, diff: Diff) -> None:
        # Never send force here: on 11.17+ it turns off the hash check, our only guard.
        self._request("POST", "/schema/apply", body={"hash": diff.hash, "diff": diff.diff})


class SnapshotSink(Protocol):
    """Where :meth:`DirectusClient.snapshot_streamed` gives what it reads."""

    def start(self) -> None:
        """A try begins: forget what an earlier one gave."""

    def member(self, key: str, value: Any) -> None:
        """A member of the snapshot (a list's as ``[]``: its entries follow)."""

    def entry(self, key: str, entry: dict[str, Any]) -> None:
        """The next entry of the list ``key``, as :meth:`DirectusClient.snapshot` would hold it."""


def _untracked_collections(tables: Iterable[Any], listed: AbstractSet[Any]) -> list[dict[str, Any]]:
    """The untracked collections (tables without ``meta``): those of ``tables`` (the collections
    that fields with a column name) that are not ``listed``.

    Directus 11.17 and 12 leave such a table out of their snapshots, and its fields without a
    meta, but list its fields that have one: the snapshot read back names a collection it lacks.
    Each is put back as the releases before 11.17 wrote it (``meta: null``)."""
    named = dict.fromkeys(
        name for name in tables if isinstance(name, str) and not name.startswith("directus_") and name not in listed
    )
    return [{"collection": name, "meta": None, "schema": {"name": name}} for name in named]


def _names(entries: Any, *, tables: bool = False) -> list[Any]:
    """The collections ``entries`` (a snapshot's list) name; with ``tables``, those of the
    entries with a column (a ``schema``)."""
    if not isinstance(entries, list):
        return []
    return [
        entry.get("collection")
        for entry in entries
        if isinstance(entry, dict) and (not tables or isinstance(entry.get("schema"), dict))
    ]


class _Known:
    """What :meth:`DirectusClient._fields_named` needs of a snapshot's fields: the names they
    list (with ``also``, those of the fields a check counts, not recorded again), and the
    schema properties any of them has."""

    def __init__(self) -> None:
        self._listed: set[tuple[Any, Any]] = set()
        self.also: AbstractSet[tuple[Any, Any]] = frozenset()
        self.keys: set[str] = set()

    def field(self, entry: Any, *, counted: bool = False) -> None:
        if isinstance(entry, dict):
            if not counted:
                self._listed.add((entry.get("collection"), entry.get("field")))
            if isinstance(entry.get("schema"), dict):
                self.keys.update(entry["schema"])

    def lists(self, name: tuple[Any, Any]) -> bool:
        return name in self._listed or name in self.also


class _Streamed:
    """What :meth:`DirectusClient.snapshot_streamed` keeps of an answer as it reads it."""

    def __init__(self) -> None:
        from directus_gitops.model import validate

        self.check = validate.EntryByEntry()
        self.data: bool | None = None  # whether the "data" member is a mapping (None: no such member)
        self.keys: set[str] = set()  # the snapshot's members
        self.lists: set[str] = set()
        self.counts: dict[str, int] = {}
        self.known = _Known()
        self.relations: list[Any] = []
        self.collections: set[Any] = set()  # the names of the collections listed
        self.tables: set[Any] = set()  # the collections that fields with a column name

    def member(self, key: str, value: Any) -> None:
        self.keys.add(key)
        if isinstance(value, list):
            self.lists.add(key)
        self.check.member(key, value)

    def entry(self, key: str, value: Any) -> bool:
        """Whether the entry counts (see ``validate.EntryByEntry.entry``)."""
        index = self.counts[key] = self.counts.get(key, -1) + 1
        if key == "relations":
            self.relations.append(value)
        elif key == "collections" and isinstance(value, dict):
            self.collections.add(value.get("collection"))
        elif key == "fields" and isinstance(value, dict) and isinstance(value.get("schema"), dict):
            self.tables.add(value.get("collection"))
        counted = self.check.entry(key, index, value)
        if key == "fields":
            self.known.field(value, counted=counted)
        return counted


# How far down :func:`json_body` writes a body's mappings piece by piece, to its lists (a
# snapshot's, an apply's diff's), whose items are written each whole.
_STREAMED_LEVELS = 3


def json_body(body: Any) -> JsonBody:
    """``body`` as compact JSON in UTF-8, the bytes ``json.dumps(body, separators=(",", ":"),
    ensure_ascii=False)`` encodes to, made an entry at a time: a large model's body is never
    also held as one text (as large again, or two to four times that with a single character
    outside Latin-1), nor as one buffer (see :class:`JsonBody`)."""
    out = JsonBody()
    _write_json(out, body, _STREAMED_LEVELS)
    return out


class JsonBody:
    """A request body in pieces, read as a file (httpx sends a multipart file a read at a
    time). Pieces of an entry or so each fit the memory a large model's reading left free,
    where one buffer of tens of MB would be new memory."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []
        self.size = 0
        self._at = 0  # the piece the next read starts with
        self._position = 0

    def write(self, data: bytes) -> None:
        self._pieces.append(data)
        self.size += len(data)

    def getvalue(self) -> bytes:
        return b"".join(self._pieces)

    def read(self, size: int = -1) -> bytes:
        pieces, taken = self._pieces, []
        wanted = self.size if size is None or size < 0 else size
        count = 0
        while self._at < len(pieces) and count < wanted:
            taken.append(pieces[self._at])
            count += len(pieces[self._at])
            self._at += 1
        self._position += count
        return b"".join(taken)

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only to the start or the end (all httpx does: to learn the size, and before reading)."""
        position = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence] + offset
        if position == 0:
            self._at, self._position = 0, 0
        elif position == self.size:
            self._at, self._position = len(self._pieces), self.size
        elif position != self._position:
            raise io.UnsupportedOperation("a request body is read from its start")
        return self._position


def _write_json(out: JsonBody, value: Any, levels: int) -> None:
    kind = type(value)
    if levels and kind is list:  # each item whole, with the comma before it: one piece an entry
        out.write(b"[")
        for number, item in enumerate(value):
            out.write((b"," if number else b"") + _dumps(item).encode("utf-8"))
        out.write(b"]")
    elif levels and kind is dict and all(type(key) is str for key in value):  # (json.dumps turns other keys into text)
        out.write(b"{")
        for number, (key, item) in enumerate(value.items()):
            out.write((b"," if number else b"") + _dumps(key).encode("utf-8") + b":")
            _write_json(out, item, levels - 1)
        out.write(b"}")
    else:
        out.write(_dumps(value).encode("utf-8"))


# (One encoder for every piece: json.dumps with these options would make one for each.)
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


# Where ``-v/--verbose`` logs each request (method, path and query, status, time, sizes; never a
# header, so never the token): None when quiet.
_request_log: Callable[[str], None] | None = None


def log_requests(sink: Callable[[str], None] | None) -> None:
    """Log every request of every client to ``sink`` (None: stop)."""
    global _request_log
    _request_log = sink


def logging_requests() -> bool:
    return _request_log is not None


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _may_use_tls(url: str) -> bool:
    """Whether a client for ``url`` could open a TLS connection: an https URL, or any URL when
    the environment names a proxy (which may be https). Only then are the CA certificates
    loaded: that takes a good share of a quick command's time, for nothing on plain http."""
    if not url.lower().startswith("http://"):
        return True
    return any(name.lower().endswith("_proxy") and name.lower() != "no_proxy" for name in os.environ)


class _Deadline:
    """An overall deadline on one request: when it passes, the connection's socket is shut
    down, which ends any read in progress at once (headers or body, however slowly they drip)."""

    def __init__(self, seconds: float, current: Any) -> None:
        self._seconds = seconds
        self._current = current  # the socket in use, when known
        self._lock = threading.Lock()
        self._done = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sock = self._current()
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed: the request is ending anyway
                    sock.shutdown(socket.SHUT_RDWR)


# Raw Directus errors whose cause is known, by a fragment of their message: the cause and
# the way out (docs/compatibility.md has the details).
KNOWN_CAUSES: tuple[tuple[str, str], ...] = (
    (
        "already has an associated relationship",
        "the snapshot carries a relation Directus defines itself (older releases leaked them); the translation "
        "leaves Directus's own relations out, so this one is on a custom field: remove it from the target or "
        "the snapshot",
    ),
    (
        "reading 'is_primary_key'",
        "the diff names a field the target does not have (often a system index from another release); "
        "plan again so the translation can leave it out",
    ),
    (
        "used in a foreign key constraint",
        "MySQL/MariaDB refuse to change or drop a column or index that backs a foreign key; "
        "remove the relation first, in its own push",
    ),
    (
        "is not allowed",
        "the target's Directus release does not accept a key of this snapshot; "
        "pull from a server of the target's release, or report the key so a translation rule can cover it",
    ),
    (
        "Cannot add a NOT NULL column",
        "SQLite cannot add a required column without a default to a table that already has rows "
        "(directus_users always has one): give the field a default value or make it nullable",
    ),
    (
        'type "geometry" does not exist',
        "the target's PostgreSQL lacks the PostGIS extension that geometry fields need: "
        "run CREATE EXTENSION postgis there first",
    ),
    (
        "does not match the current instance",
        "the snapshot comes from another Directus release or database: pass --force to let Directus compare it",
    ),
)


def known_cause(message: str) -> str | None:
    """The cause and the way out for a raw Directus error message, when one is known."""
    for fragment, cause in KNOWN_CAUSES:
        if fragment in message:
            return cause
    return None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "Connection reset" in text or "Errno 104" in text:
        return "connection reset"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return text or type(exc).__name__
