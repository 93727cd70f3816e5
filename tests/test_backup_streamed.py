"""A push's backup written as the target is read (issue 30): the same bytes as the backup of
the whole model read at once, the same refusals, and nothing left behind when it stops.

The streamed path (``engine.backup.streamed``: ``client.snapshot_streamed`` reading the
answer an entry at a time) is held to the whole one (``client.snapshot`` then
``engine.backup.text``) on the same answers, cut into chunks of every size, a chunk ending
inside a multi-byte character, an escape and a string. A real server's backup is in
tests/test_push.py.
"""

from __future__ import annotations

import copy
import json
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directus_gitops.base.errors import ServerError
from directus_gitops.engine import backup
from directus_gitops.files import jsonstream, store
from directus_gitops.model.config import Target
from directus_gitops.server.client import DirectusClient
from tests import synthetic

TARGET = Target("prod", "http://directus.test", "DIRECTUS_PROD_TOKEN", "t", 5)


def serving(body: bytes, chunk: int, extra: Callable[[httpx.Request], httpx.Response | None] | None = None) -> Any:
    """A transport answering GET /schema/snapshot with ``body`` in chunks of ``chunk`` bytes."""

    def handler(request: httpx.Request) -> httpx.Response:
        if extra is not None:
            answer = extra(request)
            if answer is not None:
                return answer
        assert request.url.path == "/schema/snapshot"
        pieces = [body[at : at + chunk] for at in range(0, len(body), chunk)] or [b""]
        return httpx.Response(200, headers={"Content-Type": "application/json; charset=utf-8"}, content=iter(pieces))

    return httpx.MockTransport(handler)


def whole(body: bytes, folder: Path, extra: Any = None) -> bytes:
    """The backup as the code before this one made it: the snapshot read whole, then its text."""
    with DirectusClient(TARGET, transport=serving(body, 1 << 20, extra)) as client:
        current = client.snapshot()
    return "".join(backup.text(current)).encode("utf-8")


def streamed(body: bytes, folder: Path, chunk: int, extra: Any = None) -> bytes:
    """The backup written as the answer is read, header aside (its time is the keeping's)."""
    with DirectusClient(TARGET, transport=serving(body, chunk, extra)) as client:
        staged = backup.streamed(client, folder)
    kept = staged.keep()
    data = kept.read_bytes()
    header, _, rest = data.partition(b"\n")
    assert header.startswith(b"# Schema of 'prod' (http://directus.test) before a push, ")
    assert sorted(p.name for p in folder.iterdir()) == [kept.name]  # no spool, no staging left
    kept.unlink()
    return rest


def answer(model: dict[str, Any], **dumps: Any) -> bytes:
    return json.dumps({"data": model}, **dumps).encode("utf-8")


TRICKY_TEXTS = [
    "é",
    "日本語のテキスト",
    "emoji 😀 and 𝄞",
    'quote " and backslash \\ and \\u0041',
    "tab\tand\nnew line\r\n",
    "\x00\x1f control",
    "\u2028\u2029 separators \ufeff",
    "",
    " leading and trailing ",
    "yes",
    "123",
    "- dash",
    "key: value",
]


def tricky_model() -> dict[str, Any]:
    model = synthetic.model(collections=6, fields=3, seed=5)
    rng = random.Random(5)
    for index, field in enumerate(model["fields"]):
        text = TRICKY_TEXTS[index % len(TRICKY_TEXTS)]
        field["meta"]["note"] = text * (1 + index % 3)
        field["meta"]["options"] = {"z": [], "a": {}, "m": {"deep": [{"b": 1, "a": [text, None, 1.5e-7]}]}}
        field["meta"]["translations"] = [{"language": "de-DE", "translation": text}] if index % 2 else []
        # Keys in an odd order: the backup's order is canonical whatever the server's.
        keys = list(field["meta"])
        rng.shuffle(keys)
        field["meta"] = {key: field["meta"][key] for key in keys}
    for key in ("collections", "fields", "relations"):
        rng.shuffle(model[key])
    # The stable sort keeps entries of the same name in the server's order.
    return {"relations": model.pop("relations"), **model}


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4096, 1 << 20])
def test_the_streamed_backup_is_the_whole_ones_bytes_on_tricky_entries(tmp_path: Path, chunk: int) -> None:
    # Small chunks end inside multi-byte characters, strings, escapes (\" \\ \n \u00e9 and
    # surrogate pairs \ud83d\ude00), numbers and keys.
    for body in (answer(tricky_model(), ensure_ascii=False, indent=1), answer(tricky_model(), ensure_ascii=True)):
        assert any(b >= 0x80 for b in body) or b"\\ud83d\\ude00" in body
        assert streamed(body, tmp_path, chunk) == whole(body, tmp_path)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_streamed_backup_is_the_whole_ones_bytes_on_synthetic_models(tmp_path: Path, seed: int) -> None:
    model = synthetic.edited(synthetic.model(collections=40, fields=6, seed=seed), edits=20, seed=seed)
    rng = random.Random(seed)
    for key in ("collections", "fields", "relations"):
        rng.shuffle(model[key])
    for dumps in ({"separators": (",", ":")}, {"ensure_ascii": True}, {"indent": 2, "ensure_ascii": False}):
        body = answer(model, **dumps)
        for chunk in (5, 1000, 65536):
            assert streamed(body, tmp_path, chunk) == whole(body, tmp_path)


def test_numbers_written_as_text_and_empty_lists_read_as_check_reads_them(tmp_path: Path) -> None:
    model = synthetic.model(collections=3, fields=2, seed=9)
    model["fields"][0]["meta"]["sort"] = "7"  # check reads it as 7 (a cosmetic finding)
    model["fields"][1]["meta"]["hidden"] = 1  # as true
    model["relations"] = []
    model["systemFields"] = []
    body = answer(model)
    text = streamed(body, tmp_path, 11)
    assert text == whole(body, tmp_path)
    assert b"  sort: 7\n" in text and b"  hidden: true\n" in text
    assert b"relations: []\n" in text and b"systemFields: []\n" in text


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=4), VALUES, max_size=4), st.text(), st.integers(min_value=1, max_value=9))
@settings(max_examples=150, deadline=None)
def test_any_options_and_note_stream_to_the_same_bytes(options: dict[str, Any], note: str, chunk: int) -> None:
    import tempfile

    model = synthetic.model(collections=2, fields=1, seed=1)
    model["fields"][0]["meta"]["options"] = options
    model["fields"][-1]["meta"]["note"] = note
    body = answer(model, ensure_ascii=False)
    with tempfile.TemporaryDirectory() as folder:
        assert streamed(body, Path(folder), chunk) == whole(body, Path(folder))


# --------------------------------------------------------------------------- the reader alone


def events(body: bytes, chunk: int) -> list[Any]:
    return list(jsonstream.events(body[at : at + chunk] for at in range(0, len(body), chunk)))


@pytest.mark.parametrize("chunk", [1, 2, 5, 100])
def test_the_reader_gives_what_json_loads_reads(chunk: int) -> None:
    document = {"x": [1, 2], "data": {"version": 1, "vendor": None, "collections": [], "fields": [{"a": "é"}, 12.5]}}
    body = json.dumps(document, ensure_ascii=False).encode()
    assert events(body, chunk) == [
        ("member", "x", [1, 2]),
        ("data", "data", None),
        ("header", "version", 1),
        ("header", "vendor", None),
        ("list", "collections", None),
        ("list", "fields", None),
        ("entry", "fields", {"a": "é"}),
        ("entry", "fields", 12.5),
    ]
    # A number cut between two chunks is read whole.
    assert events(b'{"data": {"version": 123456}}', 1)[1] == ("header", "version", 123456)
    assert events(b'\xef\xbb\xbf{"data": [1]}', 1) == [("whole", "data", [1])]  # (json.loads reads a BOM)
    assert events(json.dumps({"data": {"a": 1}}).encode("utf-16"), 3)[1] == ("header", "a", 1)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"data": {"collections": [1, ]}}',
        b'{"data": {"collections": [1 2]}}',
        b'{"data": {"collections": [{"a": 1}}}',
        b'{"data": {"version": 1,}}',
        b'{"data": {"version": 1}} x',
        b'{"data": {"version": 1}',
        b'{"data" {}}',
        b'{"data": {"a": "\xff"}}',
        b'{"data": {"a": tru}}',
    ],
)
def test_what_json_loads_refuses_the_reader_refuses(body: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(body)
    for chunk in (1, 4, 1000):
        with pytest.raises(ValueError):
            events(body, chunk)


# --------------------------------------------------------------------------- refusals


def _first_field(model: dict[str, Any]) -> dict[str, Any]:
    return next(entry for entry in model["fields"] if entry["field"] != "id")


def _damaged() -> dict[str, Callable[[dict[str, Any]], bytes]]:
    def bogus(model: dict[str, Any]) -> bytes:
        _first_field(model)["type"] = "bogus_type"
        _first_field(model)["schema"]["is_nullable"] = "yes"
        return answer(model)

    def version(model: dict[str, Any]) -> bytes:
        model["version"] = 999
        return answer(model)

    def duplicate_in_entry(model: dict[str, Any]) -> bytes:
        return answer(model).replace(b'"type": "integer"', b'"type": "integer", "type": "string"', 1)

    def duplicate_member(model: dict[str, Any]) -> bytes:
        return answer(model).replace(b'{"data": {', b'{"data": {"relations": [], ', 1)

    def duplicate_data(model: dict[str, Any]) -> bytes:
        return answer(model)[:-1] + b', "data": {}}'

    def deep(model: dict[str, Any]) -> bytes:
        value: Any = "bottom"
        for _ in range(150):
            value = {"nested": value}
        _first_field(model)["meta"]["options"] = value
        return answer(model)

    def very_deep(model: dict[str, Any]) -> bytes:
        return b'{"data": {"version": 1, "collections": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}"

    def twice_defined(model: dict[str, Any]) -> bytes:
        model["fields"].append(copy.deepcopy(model["fields"][3]))
        return answer(model)

    def no_name(model: dict[str, Any]) -> bytes:
        model["fields"][2]["field"] = ""
        model["collections"][1] = "not a mapping"
        return answer(model)

    def unknown_member(model: dict[str, Any]) -> bytes:
        model["extra"] = [{"collection": "x"}]
        del model["directus"]
        return answer(model)

    def not_lists(model: dict[str, Any]) -> bytes:
        model["relations"] = {"a": 1}
        return answer(model)

    def dangling(model: dict[str, Any]) -> bytes:
        model["collections"] = model["collections"][1:]
        model["relations"].append({"collection": "nowhere", "field": "x", "related_collection": "gone"})
        return answer(model)

    def no_collections(model: dict[str, Any]) -> bytes:
        del model["collections"]
        return answer(model)

    return {
        "bogus type": bogus,
        "version 999": version,
        "duplicate key in an entry": duplicate_in_entry,
        "duplicate member": duplicate_member,
        "duplicate data": duplicate_data,
        "150 deep": deep,
        "200,000 deep": very_deep,
        "an entry defined twice": twice_defined,
        "names missing": no_name,
        "an unknown member": unknown_member,
        "not lists": not_lists,
        "dangling names": dangling,
        "no collections": no_collections,
        "not JSON": lambda model: answer(model)[:-3],
        "no data": lambda model: json.dumps({"errors": []}).encode(),
        "data not a mapping": lambda model: b'{"data": [1, 2]}',
        "not a mapping": lambda model: b"[1, 2]",
    }


DAMAGED = _damaged()


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_a_refused_answer_gives_the_same_error_and_leaves_nothing(tmp_path: Path, damage: str) -> None:
    body = DAMAGED[damage](synthetic.model(collections=5, fields=4, seed=2))

    def no_such_field(request: httpx.Request) -> httpx.Response | None:
        return httpx.Response(404) if request.url.path.startswith("/fields/") else None

    with pytest.raises(ServerError) as before:
        whole(body, tmp_path, no_such_field)
    folder = tmp_path / "backups" / "here"
    for chunk in (3, 65536):
        transport = serving(body, chunk, no_such_field)
        with pytest.raises(ServerError) as now, DirectusClient(TARGET, transport=transport) as client:
            backup.streamed(client, folder)
        assert (now.value.message, now.value.hint) == (before.value.message, before.value.hint)
        assert not (tmp_path / "backups").exists()  # the folders made for it are gone too


def test_untracked_fields_are_checked_and_left_out_as_the_whole_read_does(tmp_path: Path) -> None:
    model = synthetic.model(collections=3, fields=2, seed=4)
    table = next(entry["collection"] for entry in model["collections"] if entry.get("schema") is not None)
    relation = {"collection": table, "field": "untracked", "related_collection": None}  # (a folder has no columns)
    model["relations"].append({**relation, "meta": None, "schema": None})
    asked: list[str] = []

    def fields(request: httpx.Request) -> httpx.Response | None:
        if not request.url.path.startswith("/fields/"):
            return None
        asked.append(request.url.path)
        entry = {"type": "integer", "meta": None, "schema": {"is_nullable": True, "not_a_key": 1}}
        return httpx.Response(200, json={"data": {**relation, **entry}})

    body = answer(model)
    assert streamed(body, tmp_path, 50, fields) == whole(body, tmp_path, fields)
    assert len(asked) == 2 and b"untracked" not in streamed(body, tmp_path, 50, fields).split(b"relations:")[0]


# --------------------------------------------------------------------------- stopping


def test_a_cancelled_reading_leaves_nothing(tmp_path: Path) -> None:
    cancelled = threading.Event()
    cancelled.set()
    body = answer(synthetic.model(collections=3, fields=2))
    with pytest.raises(backup.Cancelled), DirectusClient(TARGET, transport=serving(body, 100)) as client:
        backup.streamed(client, tmp_path / "b", cancelled)
    assert not (tmp_path / "b").exists()


def test_a_connection_cut_part_way_is_tried_again_from_the_start(tmp_path: Path) -> None:
    body = answer(tricky_model())
    tries: list[int] = []

    def cut_once(chunks: list[bytes]) -> Iterator[bytes]:
        for number, chunk in enumerate(chunks):
            if not tries[1:] and number == len(chunks) // 2:
                raise httpx.ReadError("Connection reset by peer")
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        tries.append(1)
        chunks = [body[at : at + 40] for at in range(0, len(body), 40)]
        return httpx.Response(200, headers={"Content-Type": "application/json"}, content=cut_once(chunks))

    with DirectusClient(TARGET, transport=httpx.MockTransport(handler)) as client:
        staged = backup.streamed(client, tmp_path)
    assert len(tries) == 2
    assert staged.path.read_bytes().partition(b"\n")[2] == whole(body, tmp_path)
    staged.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_backup_discarded_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "older.yaml").write_text("x")
    staged = backup.of_snapshot(TARGET, synthetic.model(collections=2, fields=1), tmp_path / "backups")
    staged.discard()
    staged.discard()  # (twice: nothing more)
    assert [p.name for p in (tmp_path / "backups").iterdir()] == ["older.yaml"]


def test_the_reader_refuses_keys_twice_where_json_loads_would(tmp_path: Path) -> None:
    with pytest.raises(store.DuplicateKey):
        events(b'{"data": {"a": 1, "a": 2}}', 3)


# --------------------------------------------------------------------------- alongside the plan


def planning_client(model: dict[str, Any], diff: Callable[[], httpx.Response]) -> DirectusClient:
    """A target of the model's own release answering the snapshot with ``model``, the diff with ``diff()``."""
    body = answer(model)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/server/info":
            return httpx.Response(200, json={"data": {"version": model["directus"]}})
        if request.url.path == "/schema/diff":
            return diff()
        return serving(body, 100).handle_request(request)

    return DirectusClient(TARGET, transport=httpx.MockTransport(handler))


def _plan(client: DirectusClient, model: dict[str, Any], folder: Path, **options: Any) -> Any:
    import io

    from directus_gitops.base.console import Console
    from directus_gitops.engine import plan as planning

    source = planning.Source(copy.deepcopy(model), label="test")
    return planning.make_plan(client, source, Console(io.StringIO(), io.StringIO()), backup_to=folder, **options)


@pytest.mark.parametrize(
    "force", [False, True]
)  # read as it is backed up; read in full (--force) and backed up from that
def test_a_plan_for_a_push_stages_the_targets_backup(tmp_path: Path, force: bool) -> None:
    model = synthetic.model(collections=6, fields=3, seed=3)
    model.update(directus="12.4.1", vendor="sqlite")
    with planning_client(model, lambda: httpx.Response(204)) as client:
        plan = _plan(client, model, tmp_path / "backups", force=force)
    assert plan.from_diff is not force and plan.backup is not None
    assert plan.backup.path.read_bytes().partition(b"\n")[2] == whole(answer(model), tmp_path)
    plan.backup.discard()
    assert not (tmp_path / "backups").exists()


@pytest.mark.parametrize("failure", [ServerError("the diff failed"), KeyboardInterrupt()])
def test_a_plan_that_stops_leaves_no_backup(tmp_path: Path, failure: BaseException) -> None:
    model = synthetic.model(collections=30, fields=5, seed=3)
    model.update(directus="12.4.1", vendor="sqlite")

    def diff() -> httpx.Response:
        raise failure

    with planning_client(model, diff) as client, pytest.raises(type(failure)):
        _plan(client, model, tmp_path / "backups", force=False)
    assert list(tmp_path.iterdir()) == []
