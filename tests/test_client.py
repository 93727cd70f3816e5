"""The HTTP client's error paths that a real server can't easily produce, and the wire format.

Happy paths are covered against real Directus servers elsewhere; here the transport is
mocked (or a local socket that never answers) to pin down each error a user can meet.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directus_gitops.base.errors import ExitCode, PartialApplyError, ServerError, StaleHashError
from directus_gitops.model.config import Target
from directus_gitops.model.kinds.kind import Step
from directus_gitops.server import config_apply
from directus_gitops.server.client import MULTIPART_THRESHOLD, Diff, DirectusClient, json_body, known_cause
from tests.conftest import Project

TOKEN = "tok-8f2b1c-never-print-me"


def client_for(handler: Callable[[httpx.Request], httpx.Response], timeout: float = 5) -> DirectusClient:
    target = Target("dev", "http://directus.test", "DIRECTUS_DEV_TOKEN", TOKEN, timeout)
    return DirectusClient(target, transport=httpx.MockTransport(handler))


def directus_error(status: int, message: str, code: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"message": message, "extensions": {"code": code}}]})


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (directus_error(401, "Invalid user credentials.", "INVALID_CREDENTIALS"), "token was rejected (401)"),
        (directus_error(403, "You don't have permission", "FORBIDDEN"), "need an admin token"),
        (directus_error(403, "Active collections limit exceeded", "LIMIT_EXCEEDED"), "licence limit"),
        (httpx.Response(200, html="<html><body>Welcome</body></html>"), "not JSON; is it a Directus API?"),
        (httpx.Response(200, json={"hello": "world"}), "without a 'data' member"),
        (httpx.Response(404, text="Cannot GET"), "is http://directus.test a Directus API?"),
        (httpx.Response(302, headers={"location": "/admin"}), "redirected (302)"),
        (directus_error(500, "SQLITE_ERROR: boom", "INTERNAL_SERVER_ERROR"), "failed (500): SQLITE_ERROR: boom"),
    ],
)
def test_errors_are_one_clear_line_without_the_token(response: httpx.Response, message: str) -> None:
    with client_for(lambda request: response) as client, pytest.raises(ServerError) as caught:
        client.snapshot()
    text = caught.value.message + (caught.value.hint or "")
    assert message in text
    assert "\n" not in caught.value.message
    assert TOKEN not in text


def test_token_travels_only_in_the_authorization_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SNAPSHOT)

    with client_for(handler) as client:
        client.snapshot()
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(seen[0].url)


def test_diff_204_means_no_changes_and_force_is_sent_only_when_asked() -> None:
    urls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(request.url)
        return httpx.Response(204)

    with client_for(handler) as client:
        assert client.diff({"version": 1}) is None
        assert client.diff({"version": 1}, force=True) is None
    assert "force" not in urls[0].params
    assert urls[1].params["force"] == "true"


def test_large_snapshots_go_as_multipart_uploads() -> None:
    bodies: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request)
        return httpx.Response(200, json={"data": {"hash": "h", "diff": {"collections": []}}})

    small = {"note": "x"}
    large = {"note": "x" * (MULTIPART_THRESHOLD + 1)}
    with client_for(handler) as client:
        client.diff(small)
        client.diff(large)
    assert bodies[0].headers["content-type"] == "application/json"
    assert json.loads(bodies[0].content) == small
    assert bodies[1].headers["content-type"].startswith("multipart/form-data")
    assert b"Content-Type: application/json" in bodies[1].read()


def multipart(request: httpx.Request) -> bool:
    return request.headers["content-type"].startswith("multipart/form-data")


Handler = Callable[[httpx.Request], httpx.Response]


def release_server(info: dict[str, object], seen: dict[str, httpx.Request]) -> Handler:
    """A server answering ``info`` on GET /server/info and taking any body elsewhere."""

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen[request.url.path] = request
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": info})
        if request.url.path == "/schema/diff":
            return httpx.Response(200, json={"data": {"hash": "h", "diff": {"collections": []}}})
        return httpx.Response(204)

    return handler


@pytest.mark.parametrize(
    ("info", "apply_uploads"),
    [
        ({"directus": {"version": "9.26.0"}}, False),
        ({"version": "9.26.0"}, False),
        ({"directus": {"version": "10.13.4"}}, True),
        ({"directus": {"version": "11.3.5"}}, True),
        ({"directus": {"version": "11.17.4"}}, True),
        ({"directus": {"version": "12.4.1"}}, True),
        ({}, True),  # a release the server does not say is taken for a current one
    ],
)
def test_a_large_body_goes_as_the_target_release_takes_it(info: dict[str, object], apply_uploads: bool) -> None:
    # 9.x's /schema/apply reads only a JSON body: a multipart one arrived empty, 400 '"hash" is required'.
    seen: dict[str, httpx.Request] = {}
    large = {"note": "x" * (MULTIPART_THRESHOLD + 1)}
    with client_for(release_server(info, seen)) as client:
        client.server_info()
        client.diff(large)
        client.apply(Diff("h", large))
        client.write("PATCH", "/flows/f", large)
    assert multipart(seen["/schema/diff"])  # every release takes an upload here
    assert multipart(seen["/schema/apply"]) is apply_uploads
    assert not multipart(seen["/flows/f"])  # no other endpoint takes one
    assert json.loads(seen["/flows/f"].content) == large
    if not apply_uploads:
        assert json.loads(seen["/schema/apply"].content) == {"hash": "h", "diff": large}


def test_the_caller_can_tell_the_release() -> None:
    seen: dict[str, httpx.Request] = {}
    with client_for(release_server({}, seen)) as client:
        client.knows_release("9.26.0")
        client.knows_release("12.4.1")  # the first word holds: it is what the server said
        client.apply(Diff("h", {"note": "x" * (MULTIPART_THRESHOLD + 1)}))
        assert client.sibling().release == (9, 26, 0)
    assert not multipart(seen["/schema/apply"])


def directus_9(limit: int) -> Handler:
    """9.26.0's POST /schema/apply as its controller and JSON parser answer (MAX_PAYLOAD_SIZE ``limit``)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": {"directus": {"version": "9.26.0"}}})
        if len(body) > limit:
            return directus_error(400, "request entity too large", "INVALID_PAYLOAD")
        if multipart(request):
            return directus_error(400, '"hash" is required', "INVALID_PAYLOAD")
        return httpx.Response(204)

    return handler


def test_directus_9_takes_a_large_diff_as_json_and_says_when_it_is_over_its_limit() -> None:
    limit = 1024 * 1024
    with client_for(directus_9(limit)) as client:
        client.server_info()
        client.apply(Diff("h", {"note": "x" * (MULTIPART_THRESHOLD + 1)}))  # over the threshold, under the limit
        with pytest.raises(ServerError) as caught:
            client.apply(Diff("h", {"note": "x" * (limit + 1)}))
    error = caught.value
    assert "\n" not in error.message and "hash" not in error.message
    assert "1.0 MB of JSON is over the target's MAX_PAYLOAD_SIZE" in error.message
    assert "Directus 9.26.0 takes /schema/apply only as JSON" in error.message
    assert error.hint is not None and "raise MAX_PAYLOAD_SIZE" in error.hint


def test_a_json_body_over_a_lower_limit_goes_again_as_an_upload_where_the_endpoint_takes_one() -> None:
    limit, sent = 64 * 1024, []

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": {"directus": {"version": "9.26.0"}}})
        sent.append((request.url.path, multipart(request)))
        if len(body) > limit and not multipart(request):
            return directus_error(400, "request entity too large", "INVALID_PAYLOAD")
        return httpx.Response(200, json={"data": {"hash": "h", "diff": {}}})

    snapshot = {"collections": [], "fields": [], "relations": [], "note": "x" * (2 * limit)}
    with client_for(handler) as client:
        client.server_info()
        assert client.diff(snapshot) is not None  # every release's /schema/diff takes an upload
        with pytest.raises(ServerError, match="MAX_PAYLOAD_SIZE"):  # 9.x's /schema/apply does not
            client.apply(Diff("h", {"note": "x" * (2 * limit)}))
        assert client.json_fits(limit // 2) is True and client.json_fits(2 * limit) is False
    assert sent[:3] == [("/schema/diff", False), ("/schema/diff", True), ("/schema/apply", False)]


@pytest.mark.parametrize("message", ["request entity too large", "Invalid payload. request entity too large."])
def test_any_json_body_over_the_limit_names_max_payload_size(message: str) -> None:
    # 9.x says express's words; 10.x and later wrap them in "Invalid payload. …".
    with (
        client_for(lambda request: directus_error(400, message, "INVALID_PAYLOAD")) as client,
        pytest.raises(ServerError) as caught,
    ):
        client.write("PATCH", "/settings", {"note": "x"})
    assert "over the target's MAX_PAYLOAD_SIZE" in caught.value.message
    assert "takes" not in caught.value.message  # nothing about the release: settings take JSON everywhere
    assert caught.value.hint is not None and "MAX_PAYLOAD_SIZE" in caught.value.hint


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers() | st.booleans(), inner, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_a_body_is_written_piece_by_piece_as_the_bytes_json_dumps_gives(value: object) -> None:
    # Memory on a large model (issue 30): never the whole text beside the bytes, the same bytes.
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert json_body(value).getvalue() == expected


def test_a_body_reads_as_a_file_from_its_start() -> None:
    body = json_body({"fields": [{"field": f"f{n}"} for n in range(50)], "version": 1})
    whole = body.getvalue()
    assert body.seek(0, io.SEEK_END) == body.size == len(whole) == body.tell()
    assert body.read(10) == b""  # at the end
    assert body.seek(0) == 0
    read = [body.read(64) for _ in range(len(whole))]
    assert b"".join(read) == whole and all(len(piece) < 64 + 20 for piece in read)
    with pytest.raises(io.UnsupportedOperation):
        body.seek(3)


def test_a_large_body_is_sent_as_exactly_its_json() -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.read())
        return httpx.Response(204)

    snapshot = {"version": 1, "fields": [{"field": f"f{n}", "note": "é" * 40, "n": n / 3} for n in range(10_000)]}
    with client_for(handler) as client:
        assert client.diff(snapshot) is None
    encoded = json.dumps(snapshot, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert len(encoded) > MULTIPART_THRESHOLD
    head, _, rest = sent[0].partition(b"\r\n\r\n")
    assert b'filename="snapshot.json"' in head
    assert rest.rsplit(b"\r\n--", 1)[0] == encoded


@pytest.mark.parametrize("size", [10, MULTIPART_THRESHOLD + 1])
def test_verbose_logs_what_a_request_sent_whatever_its_size(size: int) -> None:
    # A body over the multipart threshold is a stream httpx never reads back (-v failed on it).
    from directus_gitops.server import client as module

    logged: list[str] = []
    module.log_requests(logged.append)
    try:
        with client_for(lambda request: httpx.Response(204)) as client:
            client.diff({"note": "x" * size})
    finally:
        module.log_requests(None)
    sent = int(logged[0].split("(sent ")[1].split(" B")[0])
    assert logged[0].startswith("POST /schema/diff → 204") and size < sent < size + 400


def test_stale_hash_is_its_own_error() -> None:
    message = 'Provided hash "a" does not match the current instance\'s schema hash "b". Please generate a new diff'
    with client_for(lambda r: directus_error(400, message, "INVALID_PAYLOAD")) as client, pytest.raises(StaleHashError):
        client.apply(Diff("a", {}))


def test_timeout_is_reported(silent_server: str) -> None:
    target = Target("dev", silent_server, "DIRECTUS_DEV_TOKEN", TOKEN, 0.5)
    with DirectusClient(target) as client, pytest.raises(ServerError, match=r"timed out after 0.5 s"):
        client.snapshot()


def test_unreachable_server_is_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens
    target = Target("dev", f"http://127.0.0.1:{port}", "DIRECTUS_DEV_TOKEN", TOKEN, 2)
    with DirectusClient(target) as client, pytest.raises(ServerError, match=r"cannot reach Directus.*refused"):
        client.snapshot()


def test_raw_directus_errors_with_a_known_cause_carry_it() -> None:
    message = (
        'Field "public_registration_role" on collection "directus_settings" already has an associated relationship'
    )
    client = client_for(lambda request: directus_error(400, message, "INVALID_PAYLOAD"))
    with pytest.raises(ServerError) as error:
        client.diff({"version": 1})
    assert "already has an associated relationship" in error.value.message
    assert error.value.hint is not None and "Directus defines itself" in error.value.hint
    assert known_cause("something nobody has seen") is None


SNAPSHOT = {"data": {"version": 1, "directus": "12.4.1", "collections": [], "fields": [], "relations": []}}


# --------------------------------------------------------------------------- what a server answers


def nested(depth: int) -> bytes:
    """A Directus-shaped answer whose JSON is ``depth`` levels deep (the envelope is the first)."""
    return b'{"data": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


READERS: dict[str, Callable[[DirectusClient], object]] = {
    "GET /schema/snapshot": lambda client: client.snapshot(),
    "GET /server/info": lambda client: client.server_info(),
    "GET /roles": lambda client: client.read("/roles"),
    "POST /schema/diff": lambda client: client.diff({"version": 1}),
    "PATCH /settings": lambda client: client.write("PATCH", "/settings", {"project_name": "x"}),
}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"data": {"hash": "h", "diff": {}, "hash": "i"}}', "invalid JSON: duplicate key 'hash'"),
        (b'{"data": [{"name": "a", "name": "b"}]}', "invalid JSON: duplicate key 'name'"),
        (nested(200_000), "JSON nested more than 100 levels deep"),
        (nested(101), "JSON nested more than 100 levels deep"),
    ],
    ids=["key twice", "key twice, further down", "200,000 deep", "101 deep"],
)
@pytest.mark.parametrize("what", list(READERS))
def test_every_answer_read_is_json_the_files_could_hold(what: str, body: bytes, problem: str) -> None:
    answer = httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    with client_for(lambda request: answer) as client, pytest.raises(ServerError) as caught:
        READERS[what](client)
    assert caught.value.message == f"{what}: http://directus.test answered with {problem}"


def test_an_answer_nested_as_deep_as_allowed_is_read() -> None:
    answer = httpx.Response(200, content=nested(100), headers={"Content-Type": "application/json"})
    with client_for(lambda request: answer) as client:
        value = client.read("/roles")
    for _ in range(99):
        assert isinstance(value, list)
        value = value[0] if value else None
    assert value is None


def test_an_error_answer_nested_too_deep_is_still_one_line() -> None:
    answer = httpx.Response(500, content=nested(200_000), headers={"Content-Type": "application/json"})
    with client_for(lambda request: answer) as client, pytest.raises(ServerError) as caught:
        client.snapshot()
    assert caught.value.message.startswith('GET /schema/snapshot on http://directus.test failed (500): {"data": [[[')
    assert "\n" not in caught.value.message


def test_a_snapshot_check_would_refuse_is_refused_with_its_first_problems() -> None:
    fields = [{"collection": "a", "field": f"f{n}", "type": "bogus", "meta": None, "schema": None} for n in range(5)]
    data = {**SNAPSHOT["data"], "collections": [{"collection": "a", "meta": None, "schema": None}], "fields": fields}
    answer = httpx.Response(200, json={"data": data})
    with client_for(lambda request: answer) as client, pytest.raises(ServerError) as caught:
        client.snapshot()
    assert caught.value.message == (
        "GET /schema/snapshot: http://directus.test answered with a snapshot `check` refuses: "
        "field a.f0: type 'bogus' is not a Directus field type; field a.f1: type 'bogus' is not a Directus field "
        "type; field a.f2: type 'bogus' is not a Directus field type; and 2 more"
    )
    assert caught.value.hint is not None and "taken from a server" in caught.value.hint


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("directus_gitops.server.client.time.sleep", waits.append)
    return waits


def test_reads_retry_briefly_on_pressure_and_resets(no_waiting: list[float]) -> None:
    answers: list[Callable[[httpx.Request], httpx.Response]] = [
        lambda r: directus_error(503, "Under pressure", "SERVICE_UNAVAILABLE"),
        lambda r: (_ for _ in ()).throw(httpx.ReadError("[Errno 104] Connection reset by peer", request=r)),
        lambda r: httpx.Response(200, json=SNAPSHOT),
    ]
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return answers[len(calls) - 1](request)

    with client_for(handler) as client:
        assert client.snapshot()["collections"] == []
    assert calls == ["/schema/snapshot"] * 3 and no_waiting == [0.5, 1.0]


def test_retries_stop_within_the_budget(no_waiting: list[float]) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return directus_error(503, "Under pressure", "SERVICE_UNAVAILABLE")

    with client_for(handler) as client, pytest.raises(ServerError) as caught:
        client.server_info()
    assert "failed (503): Under pressure" in caught.value.message
    assert sum(no_waiting) <= 10 and len(calls) == len(no_waiting) + 1 >= 3


def test_writes_are_never_retried(no_waiting: list[float]) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return directus_error(503, "Under pressure", "SERVICE_UNAVAILABLE")

    with client_for(handler) as client, pytest.raises(ServerError):
        client.apply(Diff("h", {"collections": [], "fields": [], "relations": []}))
    with client_for(handler) as client, pytest.raises(ServerError):
        client.diff({"collections": [], "fields": [], "relations": []})
    assert calls == ["/schema/apply", "/schema/diff"] and no_waiting == []


# --------------------------------------------------------------------------- the overall deadline


def _dripping_server(prefix: bytes, drip: bytes) -> tuple[str, threading.Event, list[float]]:
    """A server that sends ``prefix`` at once, then ``drip`` one byte every 0.2 s, forever:
    each read succeeds well within any read timeout, so only an overall deadline stops it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    stop = threading.Event()
    dripped: list[float] = []

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn = sock.accept()[0]
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                try:
                    conn.sendall(prefix)
                    for index in itertools.count():
                        if stop.is_set():
                            break
                        conn.sendall(drip[index % len(drip) : index % len(drip) + 1])
                        dripped.append(time.monotonic())
                        time.sleep(0.2)
                except OSError:
                    continue  # the client gave up

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop, dripped


HEADERS_DRIP = (b"", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000)
BODY_DRIP = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
    b'{"data": "' + b"a" * 10_000,
)


@pytest.mark.parametrize(("prefix", "drip"), [HEADERS_DRIP, BODY_DRIP], ids=["headers", "body"])
def test_a_dripping_server_is_abandoned_at_the_overall_deadline(prefix: bytes, drip: bytes) -> None:
    url, stop, dripped = _dripping_server(prefix, drip)
    target = Target("dev", url, "DIRECTUS_DEV_TOKEN", TOKEN, 1.5)
    started = time.monotonic()
    try:
        with DirectusClient(target) as client, pytest.raises(ServerError, match=r"timed out after 1.5 s") as caught:
            client.snapshot()
    finally:
        stop.set()
    elapsed = time.monotonic() - started
    assert len(dripped) >= 3, "the server did drip (each read was within the read timeout)"
    assert 1.4 <= elapsed < 1.5 + 2, elapsed
    assert "\n" not in caught.value.message and TOKEN not in caught.value.message


def test_the_next_request_after_a_deadline_gets_a_fresh_connection() -> None:
    url, stop, _ = _dripping_server(*BODY_DRIP)
    target = Target("dev", url, "DIRECTUS_DEV_TOKEN", TOKEN, 0.8)
    try:
        with DirectusClient(target) as client:
            for _ in range(2):  # both time out on their own; neither hangs on a cut connection
                started = time.monotonic()
                with pytest.raises(ServerError, match="timed out"):
                    client.snapshot()
                assert time.monotonic() - started < 0.8 + 2
    finally:
        stop.set()


def test_pull_from_a_dripping_server_stops_within_the_configured_timeout(project: Project) -> None:
    url, stop, _ = _dripping_server(*HEADERS_DRIP)
    (project.root / "directus-gitops.yaml").write_text(f"environments:\n  dev: {{url: '{url}', timeout: 2}}\n")
    project.token("dev", TOKEN)
    started = time.monotonic()
    try:
        result = project.run("pull")
    finally:
        stop.set()
    assert time.monotonic() - started < 2 + 3
    assert result.code == 1, result.output
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: GET /schema/snapshot to {url} timed out after 2 s"], result.err
    assert not (project.root / "schema").exists()


def test_certificates_are_loaded_only_where_tls_can_happen(monkeypatch: pytest.MonkeyPatch) -> None:
    from directus_gitops.server.client import _may_use_tls

    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    assert _may_use_tls("https://cms.example.com")
    assert not _may_use_tls("http://127.0.0.1:8055")
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example.com")
    assert _may_use_tls("http://127.0.0.1:8055")  # a proxy may speak TLS


def test_a_server_message_is_one_line_without_control_characters() -> None:
    import httpx

    from directus_gitops.base.errors import ServerError
    from directus_gitops.model.config import Target
    from directus_gitops.server.client import DirectusClient

    def answer(request: httpx.Request) -> httpx.Response:
        message = "bad\x1b]0;owned\x07\nerror: all good, nothing to see"
        return httpx.Response(400, json={"errors": [{"message": message, "extensions": {"code": "INVALID"}}]})

    target = Target("prod", "http://directus.test", "DIRECTUS_PROD_TOKEN", "t", 5)
    with DirectusClient(target, httpx.MockTransport(answer)) as client, pytest.raises(ServerError) as error:
        client.snapshot()
    assert "\n" not in error.value.message and "\x1b" not in error.value.message and "\x07" not in error.value.message
    assert "\\nerror: all good" in error.value.message


@pytest.mark.parametrize(
    ("collection", "release", "path"),
    [
        ("articles", "12.4.1", "/items/articles"),
        ("directus_users", "12.4.1", "/users"),
        ("directus_users", "9.26.0", "/users"),
        ("directus_versions", "10.13.4", "/versions"),
        # A user's table named directus_*: 10.x and later serve it as items (they refuse only their own)...
        ("directus_languages", "12.4.1", "/items/directus_languages"),
        # ...9.x refuses /items/directus_* whatever it is (controllers/items.js), as it does a newer release's.
        ("directus_languages", "9.26.0", None),
        ("directus_versions", "9.26.0", None),
        # Directus's own, but its endpoint answers without a count (the extension list on 12.4.1).
        ("directus_extensions", "12.4.1", None),
        ("directus_settings", "11.17.4", None),
    ],
)
def test_rows_are_counted_where_an_endpoint_counts_them(collection: str, release: str, path: str | None) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json={"data": [{"count": 3}]})

    with client_for(handler) as client:
        counted = client.count_rows(collection, release)
    assert (counted, asked) == ((3, [path]) if path else (None, []))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(200, json={"data": {"type": "json", "schema": {"data_type": "longtext"}}}), True),
        (httpx.Response(200, json={"data": {"type": "json", "schema": {"data_type": "json"}}}), False),
        (httpx.Response(200, json={"data": {"type": "json", "schema": {"data_type": "jsonb"}}}), None),
        (httpx.Response(200, json={"data": {"type": "json", "schema": None}}), None),
        (httpx.Response(403, json={"errors": [{"message": "no", "extensions": {"code": "FORBIDDEN"}}]}), None),
    ],
)
def test_a_mysql_server_says_whether_it_is_mariadb_by_its_own_json_column(
    answer: httpx.Response, expected: bool | None
) -> None:
    """MariaDB's json is a longtext, MySQL's json: Directus's directus_fields.options tells them apart
    (asked once per client)."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return answer

    with client_for(handler) as client:
        assert client.mariadb() is expected
        assert client.mariadb() is expected
    assert asked == ["/fields/directus_fields/options"]


def test_a_server_error_while_asking_whether_it_is_mariadb_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"errors": [{"message": "boom"}]})

    with client_for(handler) as client, pytest.raises(ServerError):
        client.mariadb()


def rows_server(limit: int, fail_after: int | None = None) -> tuple[Handler, list[int]]:
    """A batch items endpoint behind a MAX_PAYLOAD_SIZE of ``limit`` bytes: each accepted
    request's row count is kept; with ``fail_after``, the request after that many rows fails."""
    accepted: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        if len(body) > limit:
            return directus_error(400, "request entity too large", "INVALID_PAYLOAD")
        rows = json.loads(body)
        if fail_after is not None and sum(accepted) >= fail_after:
            return directus_error(500, "database error", "INTERNAL_SERVER_ERROR")
        accepted.append(len(rows))
        return httpx.Response(200, json={"data": [{"id": row["code"]} for row in rows]})

    return handler, accepted


def test_rows_go_in_batches_that_fit_the_targets_limit_in_their_order() -> None:
    rows = [{"code": f"r{n:03d}", "body": "x" * 10_000} for n in range(150)]  # 1.5 MB of JSON
    handler, accepted = rows_server(limit=1024 * 1024)
    with client_for(handler) as client:
        answers = client.write_rows("POST", "/items/notes", rows)
    assert [a["id"] for a in answers] == [row["code"] for row in rows]
    assert sum(accepted) == 150 and accepted == [52, 52, 46]  # at most 512 KB of about 10 KB rows each
    handler, accepted = rows_server(limit=100 * 1024)  # a lower MAX_PAYLOAD_SIZE: halved until they fit
    with client_for(handler) as client:
        assert len(client.write_rows("POST", "/items/notes", rows)) == 150
    assert sum(accepted) == 150 and max(accepted) <= 10


def test_a_row_over_the_limit_alone_and_a_failure_after_some_rows_say_what_reached_the_target() -> None:
    handler, accepted = rows_server(limit=5 * 1024)
    with client_for(handler) as client, pytest.raises(ServerError) as refused:
        client.write_rows("PATCH", "/items/notes", [{"code": "big", "body": "x" * 10_000}])
    assert "over the target's MAX_PAYLOAD_SIZE" in refused.value.message and not accepted
    assert "reached the target" not in refused.value.message
    handler, accepted = rows_server(limit=1024 * 1024, fail_after=52)
    rows = [{"code": f"r{n:03d}", "body": "x" * 10_000} for n in range(150)]
    with client_for(handler) as client, pytest.raises(ServerError) as failed:
        client.write_rows("POST", "/items/notes", rows)
    assert failed.value.message.startswith("after 52 of 150 rows reached the target:") and accepted == [52]
    assert failed.value.reached == "52 of 150 rows"


def test_a_configuration_step_whose_first_rows_reached_the_target_is_reported_as_partial() -> None:
    """A step sent in several requests that fails after the first: its rows that went through
    are a partial apply (exit 5), never "nothing reached the target", even as the first step."""
    rows = [{"code": f"r{n:03d}", "body": "x" * 10_000} for n in range(150)]
    steps = [Step("+ 150 notes", "POST", "/items/notes", rows), Step("+ role Editor", "POST", "/roles", {})]
    handler, accepted = rows_server(limit=1024 * 1024, fail_after=52)
    with client_for(handler) as client, pytest.raises(PartialApplyError) as partial:
        config_apply.run(client, steps, None)
    message = partial.value.message
    assert partial.value.exit_code == ExitCode.PARTIAL and accepted == [52]
    reached, missing = message.split("did not:")
    assert "+ 150 notes (52 of 150 rows)" in reached.split("reached the target:\n")[1]
    assert "+ 150 notes (the rest of its rows)" in missing and "+ role Editor" in missing
    handler, accepted = rows_server(limit=1024 * 1024, fail_after=0)  # the first request fails
    with client_for(handler) as client, pytest.raises(ServerError) as failed:
        config_apply.run(client, steps, None)
    assert not isinstance(failed.value, PartialApplyError) and "nothing reached the target" in failed.value.message
