"""pull's record of what it last wrote: an unchanged answer skips the work, and the folder is
always exactly what a full render writes (hand edits, stray files, other rules, bad records).

A small HTTP server stands in for Directus here, so the answer's bytes are under the test's
control; tests/test_pull.py pulls from real servers.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directus_gitops.files import pullcache, snapshot, store
from directus_gitops.model import selection
from tests import synthetic
from tests.conftest import Project


class FakeDirectus:
    """Answers GET /schema/snapshot with :attr:`snapshot` (or the bytes of :attr:`body`, when
    set) and GET requests for the paths in :attr:`data` with theirs, counting the requests."""

    def __init__(self) -> None:
        self.snapshot: dict[str, Any] = synthetic.model(collections=12, fields=5)
        self.body: bytes | None = None
        self.data: dict[str, Any] = {}
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner.requests += 1
                path = self.path.split("?")[0]
                if path == "/schema/snapshot":
                    body = owner.body or json.dumps({"data": owner.snapshot}).encode()
                elif path in owner.data:
                    body = json.dumps({"data": owner.data[path]}).encode()
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[FakeDirectus]:
        fake = cls()
        thread = threading.Thread(target=fake.server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            fake.server.shutdown()
            fake.server.server_close()


@pytest.fixture
def directus() -> Iterator[FakeDirectus]:
    with FakeDirectus.running() as fake:
        yield fake


@pytest.fixture
def pulled(project: Project, directus: FakeDirectus) -> Project:
    project.configure(dev=directus.url)
    project.token("dev", "t")
    result = project.run("pull")
    assert result.code == 0, result.output
    return project


def folder(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def full_render(snapshot: dict[str, Any], rules: selection.Rules | None = None) -> dict[str, bytes]:
    if rules is not None:
        snapshot = selection.apply(snapshot, rules)[0]
    return store.render(snapshot)


def test_an_unchanged_answer_leaves_every_byte_and_is_remembered(pulled: Project, directus: FakeDirectus) -> None:
    assert folder(pulled.schema) == full_render(directus.snapshot)
    record = pullcache.load(pulled.schema)
    assert record is not None and record.files == pullcache.ids(folder(pulled.schema))
    assert (pulled.root / ".git" / "directus-gitops").is_dir()  # in git's directory, never in the tree

    before = {p: p.stat().st_mtime_ns for p in pulled.schema.rglob("*")}
    result = pulled.run("pull")
    assert result.code == 0, result.output
    assert "schema/ already matches 'dev'" in result.err and "nothing changed" in result.err
    assert {p: p.stat().st_mtime_ns for p in pulled.schema.rglob("*")} == before
    assert pulled.git("status", "--porcelain", "--ignored") == "?? schema/\n"  # nothing else in the tree


def test_a_file_edited_by_hand_is_rewritten_as_a_full_render_would(pulled: Project, directus: FakeDirectus) -> None:
    edited = pulled.schema / "collections" / "table_003.yaml"
    edited.write_text(edited.read_text().replace("note:", "note: hand edit\n  x:", 1))
    (pulled.schema / "collections" / "table_005.yaml").unlink()
    (pulled.schema / "collections" / "stray.yaml").write_text("collection: stray\n")
    result = pulled.run("pull")
    assert result.code == 0, result.output
    # A file the tool did not write stays where its author put it (check reports it).
    assert folder(pulled.schema) == {**full_render(directus.snapshot), "collections/stray.yaml": b"collection: stray\n"}
    assert "nothing changed" in pulled.run("pull").err


def test_a_changed_answer_is_rendered_and_remembered_again(pulled: Project, directus: FakeDirectus) -> None:
    directus.snapshot["fields"].append(
        {**directus.snapshot["fields"][-1], "collection": "table_001", "field": "added_later"}
    )
    result = pulled.run("pull")
    assert result.code == 0, result.output
    assert "+1 field" in result.err
    assert folder(pulled.schema) == full_render(directus.snapshot)
    assert pullcache.load(pulled.schema).files == pullcache.ids(folder(pulled.schema))  # type: ignore[union-attr]


def test_other_ignore_rules_make_the_record_stale(pulled: Project, directus: FakeDirectus) -> None:
    config = pulled.root / "directus-gitops.yaml"
    config.write_text(config.read_text() + "ignore:\n  collections: [table_01*]\n")
    result = pulled.run("pull")
    assert result.code == 0, result.output
    assert "Left out by ignore rules" in result.err
    rules = selection.parse_rules({"collections": ["table_01*"]}, "test")
    assert folder(pulled.schema) == full_render(directus.snapshot, rules)
    again = pulled.run("pull")
    assert "Left out by ignore rules" in again.err and "nothing changed" in again.err  # told again from the record


def test_a_secret_in_the_schema_is_refused_and_the_allow_list_lets_a_named_place_through(
    pulled: Project, directus: FakeDirectus
) -> None:
    field = directus.snapshot["fields"][3]
    field["meta"]["options"] = {"api_key": "planted-schema-key-1"}
    place = f"{store.collection_file(field['collection'])}:fields[field={field['field']}].meta.options.api_key"
    before = folder(pulled.schema)
    refused = pulled.run("pull")
    assert refused.code == 3, refused.output
    assert place in refused.err and "planted-schema-key-1" not in refused.output
    assert folder(pulled.schema) == before  # nothing written

    config = pulled.root / "directus-gitops.yaml"
    config.write_text(config.read_text() + f"secrets:\n  allow: ['{place}', 'collections/gone.yaml:meta.note']\n")
    allowed = pulled.run("pull")  # the allow list is part of the record's key: pulled again
    assert allowed.code == 0, allowed.output
    assert folder(pulled.schema) == full_render(directus.snapshot)
    assert "warning: secrets: allow: 'collections/gone.yaml:meta.note' matches nothing" in allowed.err
    again = pulled.run("pull")
    assert "nothing changed" in again.err and "'collections/gone.yaml:meta.note' matches nothing" in again.err

    # Another collection changes: only its file is looked through again; the allowed secret in
    # the unchanged file is still allowed (not called unmatched), a new one is refused.
    other = next(f for f in directus.snapshot["fields"] if f["collection"] != field["collection"] and f.get("meta"))
    other["meta"]["note"] = "changed later"
    changed = pulled.run("pull")
    assert changed.code == 0, changed.output
    assert place.split(":")[0] not in changed.err  # no warning about the allowed, unchanged place
    other["meta"]["options"] = {"token": "another-planted-key-2"}
    refused_again = pulled.run("pull")
    assert refused_again.code == 3 and "another-planted-key-2" not in refused_again.output
    assert store.collection_file(other["collection"]) in refused_again.err


@pytest.mark.parametrize("damage", ["garbage", "missing", "another answer", "another version"])
def test_a_damaged_or_stale_record_only_costs_a_full_render(
    pulled: Project, directus: FakeDirectus, damage: str
) -> None:
    path = pullcache.record_path(pulled.schema)
    assert path is not None
    document = json.loads(path.read_text())
    if damage == "garbage":
        path.write_text("{not json")
    elif damage == "missing":
        path.unlink()
    elif damage == "another answer":
        document["record"]["key"] = "0" * 64
        path.write_text(json.dumps(document))
    else:
        document["version"] = pullcache.RECORD_VERSION + 1
        path.write_text(json.dumps(document))
    (pulled.schema / "manifest.yaml").write_text("format: directus-gitops\n")
    result = pulled.run("pull")
    assert result.code == 0, result.output
    assert folder(pulled.schema) == full_render(directus.snapshot)
    assert "nothing changed" in pulled.run("pull").err


def test_outside_a_git_repository_nothing_is_remembered(
    tmp_path: Path, directus: FakeDirectus, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from directus_gitops.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIRECTUS_URL", directus.url)
    monkeypatch.setenv("DIRECTUS_TOKEN", "t")
    for _ in range(2):
        with pytest.raises(SystemExit) as exit_:
            main(["pull"])
        assert exit_.value.code == 0
    assert "nothing changed" in capsys.readouterr().err
    assert pullcache.record_path(tmp_path / "schema") is None
    assert folder(tmp_path / "schema") == full_render(directus.snapshot)


def test_a_git_worktree_keeps_its_record_in_its_own_git_directory(pulled: Project) -> None:
    pulled.git("add", "-A")
    pulled.git("commit", "--quiet", "-m", "Pull")
    linked = pulled.root.parent / "linked"
    pulled.git("worktree", "add", "--quiet", str(linked))
    path = pullcache.record_path(linked / "schema")
    assert path is not None and path.is_relative_to(pulled.root / ".git" / "worktrees")


def test_files_left_as_written_are_reused_and_the_rest_rendered(pulled: Project, directus: FakeDirectus) -> None:
    edited = pulled.schema / "collections" / "table_003.yaml"
    edited.write_text(edited.read_text() + "# a comment added by hand\n")
    directus.snapshot["fields"].append(
        {**directus.snapshot["fields"][-1], "collection": "table_001", "field": "added_later"}
    )
    result = pulled.run("pull")
    assert result.code == 0, result.output
    assert folder(pulled.schema) == full_render(directus.snapshot)  # the hand edit is gone too


def test_a_memo_gives_back_only_bytes_rendered_from_the_same_content_by_the_same_code() -> None:
    content = {"collection": "a", "fields": [{"field": "id", "type": "integer"}], "relations": []}
    key = store.content_key(content)
    written = b"collection: a\n"
    record = pullcache.Record(
        "answer", {"collections/a.yaml": store.blob_id(written)}, "Directus", [], "code", {"collections/a.yaml": key}
    )
    disk = {"collections/a.yaml": written}
    assert pullcache.Memo(record, "code", disk).recall("collections/a.yaml", key) == written
    assert pullcache.Memo(record, "other code", disk).recall("collections/a.yaml", key) is None
    other = store.content_key({**content, "note": "x"})
    assert pullcache.Memo(record, "code", disk).recall("collections/a.yaml", other) is None
    edited = {"collections/a.yaml": written + b"# edited\n"}
    assert pullcache.Memo(record, "code", edited).recall("collections/a.yaml", key) is None
    assert pullcache.Memo(None, "code", disk).recall("collections/a.yaml", key) is None
    # Content keys tell apart what YAML tells apart: types and key order.
    assert len({store.content_key(v) for v in ({"a": 1}, {"a": 1.0}, {"a": True}, {"a": "1"})}) == 4
    assert store.content_key({"a": 1, "b": 2}) != store.content_key({"b": 2, "a": 1})


@pytest.mark.parametrize("where", ["before the command", "after it"])
def test_verbose_logs_every_request_and_never_the_token(project: Project, directus: FakeDirectus, where: str) -> None:
    from directus_gitops.server import client

    project.configure(dev=directus.url)
    project.token("dev", "token-never-logged-1234")
    args = ["-v", "pull"] if where == "before the command" else ["pull", "--verbose"]
    try:
        result = project.run(*args)
    finally:
        client.log_requests(None)
    assert result.code == 0, result.output
    logged = [line for line in result.err.splitlines() if line.startswith("request: ")]
    assert len(logged) == 1 and logged[0].startswith("request: GET /schema/snapshot → 200 in ")
    assert "received" in logged[0] and "token-never-logged-1234" not in result.output


def test_a_server_error_says_to_re_run_with_verbose(project: Project) -> None:
    project.configure(dev="http://127.0.0.1:9")
    project.token("dev", "t")
    result = project.run("pull")
    assert result.code == 1 and "cannot reach Directus" in result.err
    assert "hint: re-run with -v to log every request" in result.err


def test_a_first_pull_s_commit_message_says_what_it_holds() -> None:
    from directus_gitops.commands import pull

    counts = snapshot.described_counts({"collections": [{}], "fields": [{}, {}], "relations": []})
    assert pull.commit_message(None, counts, "dev") == "schema: snapshot of dev (1 collection, 2 fields, 0 relations)"
    assert pull.commit_message(None, counts, "dev", "1 role") == (
        "schema: snapshot of dev (1 collection, 2 fields, 0 relations; 1 role)"
    )
    assert pull.commit_message("+1 field", counts, "dev") == "schema: +1 field"
