"""The HTTP client's error paths that a real server can't easily produce, and the wire format.

Happy paths are covered against real Directus servers elsewhere; here the transport is
mocked (or a local socket that never answers) to pin down each error a user can meet.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import pytest

from directus_gitops.client import MULTIPART_THRESHOLD, Diff, DirectusClient, known_cause
from directus_gitops.config import Target
from directus_gitops.errors import ServerError, StaleHashError

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
        return httpx.Response(200, json={"data": {"collections": [], "fields": [], "relations": []}})

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


SNAPSHOT = {"data": {"collections": [], "fields": [], "relations": []}}


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("directus_gitops.client.time.sleep", waits.append)
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
