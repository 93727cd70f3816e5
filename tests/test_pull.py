"""pull against real Directus servers: canonical files, byte stability, round trip, errors."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import demo_model
import httpx
import pytest

from directus_gitops.files import snapshot as snap
from directus_gitops.files import store
from tests.conftest import Project


def live_snapshot(server) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return demo_model.snapshot(server.url, server.token)  # type: ignore[no-any-return]


@pytest.fixture
def pulled(project: Project, seeded) -> Project:  # type: ignore[no-untyped-def]
    project.configure(dev=seeded.url)
    project.token("dev", seeded.token)
    result = project.run("pull", "--commit")
    assert result.code == 0, result.output
    return project


def test_pull_writes_split_files_and_commits(pulled: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    files = sorted(p.relative_to(pulled.schema).as_posix() for p in pulled.schema.rglob("*") if p.is_file())
    assert "manifest.yaml" in files
    assert {"collections/articles.yaml", "collections/articles_tags.yaml", "collections/settings.yaml"} <= set(files)
    subject = pulled.git("log", "-1", "--format=%s").strip()
    assert subject.startswith("schema: snapshot of dev (")
    assert pulled.git("status", "--porcelain") == ""


@pytest.mark.parametrize("layout", store.LAYOUTS)
def test_reading_the_files_back_gives_the_pulled_snapshot(project: Project, seeded, layout: str) -> None:  # type: ignore[no-untyped-def]
    project.configure(dev=seeded.url)
    project.token("dev", seeded.token)
    assert project.run("pull", "--layout", layout).code == 0
    loaded = store.load_path(project.schema)
    assert loaded.layout == layout
    assert snap.canonical(loaded.snapshot) == snap.canonical(live_snapshot(seeded))


def test_pulling_an_unchanged_server_changes_no_byte(pulled: Project) -> None:
    before = {p: p.read_bytes() for p in pulled.schema.rglob("*") if p.is_file()}
    result = pulled.run("pull")
    assert result.code == 0
    assert "nothing changed" in result.err
    assert {p: p.read_bytes() for p in pulled.schema.rglob("*") if p.is_file()} == before
    assert pulled.git("status", "--porcelain") == ""


def test_a_new_field_is_a_small_diff_in_one_file(pulled: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    demo_model.add_field(seeded.url, seeded.token, "authors", "website", note="Personal site")
    result = pulled.run("pull", "--commit")
    assert result.code == 0, result.output
    assert "+1 field" in result.err
    changed = pulled.git("show", "--name-only", "--format=", "HEAD").split()
    assert changed == ["schema/collections/authors.yaml"]
    stat = pulled.git("show", "--numstat", "--format=", "HEAD").split()
    added, removed = int(stat[0]), int(stat[1])
    assert 10 < added < 60 and removed == 0
    assert pulled.git("log", "-1", "--format=%s").strip() == "schema: +1 field"


def test_a_collection_removed_upstream_loses_its_file(pulled: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    assert (pulled.schema / "collections/settings.yaml").exists()
    demo_model.delete_collection(seeded.url, seeded.token, "settings")
    assert pulled.run("pull", "--commit", "-m", "Drop settings").code == 0
    assert not (pulled.schema / "collections/settings.yaml").exists()
    # Not in the manifest's file index (MariaDB's system indexes do name directus_settings).
    assert "  settings: collections/settings.yaml" not in (pulled.schema / "manifest.yaml").read_text()
    assert "settings:" not in (pulled.schema / "manifest.yaml").read_text()
    assert pulled.git("log", "-1", "--format=%s").strip() == "Drop settings"


# --------------------------------------------------------------------------- errors


def assert_clean_failure(project: Project, result, message: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 1, result.output
    assert message in result.err
    assert "Traceback" not in result.output
    assert result.err.startswith("error: ") and result.err.count("error:") == 1
    assert not project.schema.exists(), "nothing may be written on failure"


def test_bad_token(project: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    project.configure(dev=seeded.url)
    project.token("dev", "not-the-token")
    result = project.run("pull")
    assert_clean_failure(project, result, "the token was rejected (401)")
    assert "DIRECTUS_DEV_TOKEN" in result.err


def test_token_without_admin_rights(project: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    token = "plain-user-token-5f1d"
    response = httpx.post(
        f"{seeded.url}/users",
        headers={"Authorization": f"Bearer {seeded.token}"},
        json={"email": "editor@example.com", "password": "editor-password-1", "token": token, "status": "active"},
    )
    assert response.status_code in (200, 204), response.text
    project.configure(dev=seeded.url)
    project.token("dev", token)
    result = project.run("pull")
    assert_clean_failure(project, result, "need an admin token")
    assert token not in result.output


def test_missing_token_variable(project: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    project.configure(dev=seeded.url)
    assert_clean_failure(project, project.run("pull"), "environment variable DIRECTUS_DEV_TOKEN is not set")


@pytest.fixture
def html_site() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><html><body>Company website</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_that_is_not_a_directus_api(project: Project, html_site: str) -> None:
    project.configure(dev=html_site)
    project.token("dev", "t")
    assert_clean_failure(project, project.run("pull"), "is it a Directus API?")


def test_unreachable_server(project: Project) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    project.configure(dev=f"http://127.0.0.1:{port}")
    project.token("dev", "t")
    assert_clean_failure(project, project.run("pull"), "cannot reach Directus")


def test_timeout(project: Project, silent_server: str) -> None:
    (project.root / "directus-gitops.yaml").write_text(
        f"environments:\n  dev: {{url: '{silent_server}', timeout: 0.5}}\n"
    )
    project.token("dev", "t")
    assert_clean_failure(project, project.run("pull"), "timed out after 0.5 s")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("environments:\n  dev: {url: 'http://x', colour: red}\n", "unknown key 'colour'"),
        ("environments:\n  dev: {token_env: X}\n", "missing 'url'"),
        ("environments: {dev: {url: 'http://x'}\n", "directus-gitops.yaml:"),
    ],
)
def test_malformed_config(project: Project, config: str, message: str) -> None:
    (project.root / "directus-gitops.yaml").write_text(config)
    assert_clean_failure(project, project.run("pull"), message)


def test_token_never_reaches_disk_or_output(pulled: Project, seeded) -> None:  # type: ignore[no-untyped-def]
    result = pulled.run("pull")
    assert seeded.token not in result.output
    for path in Path(pulled.root).rglob("*"):
        if path.is_file():
            assert seeded.token.encode() not in path.read_bytes(), path
