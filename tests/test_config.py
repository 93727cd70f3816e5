"""Configuration: environments, tokens from the environment only, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from directus_gitops.base.errors import ConfigError, RefusedError
from directus_gitops.model import config
from tests.conftest import Project


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "directus-gitops.yaml"
    path.write_text(text)
    return path


def test_environments_and_default_token_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "schema_dir: model\nenvironments:\n  dev: {url: 'http://127.0.0.1:8055/'}\n"
        "  prod: {url: https://cms.example.com, token_env: PROD_DIRECTUS_TOKEN}\n",
    )
    cfg = config.load(path)
    assert cfg.schema_dir == tmp_path / "model"
    dev = config.resolve(cfg, "dev", {"DIRECTUS_DEV_TOKEN": "s3cret"})
    assert (dev.url, dev.token_env, dev.token) == ("http://127.0.0.1:8055", "DIRECTUS_DEV_TOKEN", "s3cret")
    assert "s3cret" not in repr(dev)
    prod = config.resolve(cfg, "prod", {"PROD_DIRECTUS_TOKEN": "t"})
    assert prod.token_env == "PROD_DIRECTUS_TOKEN"


def test_config_is_found_by_walking_up(tmp_path: Path) -> None:
    write(tmp_path, "environments:\n  dev: {url: 'http://x'}\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert config.load(cwd=deep).path == tmp_path / "directus-gitops.yaml"


def test_without_a_file_directus_url_and_token_serve(tmp_path: Path) -> None:
    cfg = config.load(cwd=tmp_path)
    target = config.resolve(cfg, None, {"DIRECTUS_URL": "http://h:1", "DIRECTUS_TOKEN": "t"})
    assert (target.url, target.token_env) == ("http://h:1", "DIRECTUS_TOKEN")
    with pytest.raises(ConfigError, match="DIRECTUS_URL"):
        config.resolve(cfg, None, {})
    with pytest.raises(ConfigError, match=r"unknown environment 'prod': no directus-gitops\.yaml was found"):
        config.resolve(cfg, "prod", {"DIRECTUS_URL": "http://h:1", "DIRECTUS_TOKEN": "t"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour: red\n", "unknown key 'colour'"),
        ("environments:\n  dev: {}\n", "missing 'url'"),
        ("environments:\n  dev: {url: http://x, tokn_env: X}\n", "unknown key 'tokn_env'"),
        ("environments:\n  dev: {url: http://x, token: abc}\n", "tokens never go in the file"),
        ("environments:\n  dev: {url: 'http://user:pw@x'}\n", "must not carry credentials"),
        ("environments:\n  dev: {url: 'http://x/?access_token=abc'}\n", "access_token"),
        ("environments:\n  dev: {url: 'ftp://x'}\n", "http:// or https://"),
        ("environments:\n  dev: {url: http://x, timeout: -1}\n", "timeout"),
        ("layout: fancy\n", "layout must be one of"),
        ("environments: [1]\n", "'environments' must map"),
        ("a: [\n", "directus-gitops.yaml:2:"),
    ],
)
def test_malformed_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        config.load(write(tmp_path, text))


def test_missing_token_names_the_variable(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "environments:\n  staging: {url: 'http://x'}\n"))
    with pytest.raises(ConfigError, match="DIRECTUS_STAGING_TOKEN is not set"):
        config.resolve(cfg, None, {})


def test_choosing_an_environment(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "environments:\n  a: {url: 'http://a'}\n  b: {url: 'http://b'}\n"))
    with pytest.raises(ConfigError, match=r"choose an environment with --env \(a, b\)"):
        config.resolve(cfg, None, {})
    with pytest.raises(ConfigError, match="unknown environment 'c'"):
        config.resolve(cfg, "c", {})


def test_a_url_pinned_by_ci_must_match_the_file(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, "environments:\n  prod-eu: {url: 'https://cms.example.com/'}\n"))
    token = {"DIRECTUS_PROD_EU_TOKEN": "t"}
    for pinned in ("https://cms.example.com", "https://CMS.example.com/", ""):
        target = config.resolve(cfg, "prod-eu", {**token, "DIRECTUS_PROD_EU_URL": pinned})
        assert target.url == "https://cms.example.com"
    with pytest.raises(RefusedError) as refused:
        config.resolve(cfg, "prod-eu", {**token, "DIRECTUS_PROD_EU_URL": "https://cms.example.org"})
    assert "pinned to https://cms.example.org by DIRECTUS_PROD_EU_URL" in refused.value.message
    assert refused.value.exit_code == 3
    # Refused before the token is even looked at: no token set, still the pin's refusal.
    with pytest.raises(RefusedError):
        config.resolve(cfg, "prod-eu", {"DIRECTUS_PROD_EU_URL": "http://cms.example.com"})


def test_a_pinned_url_refuses_before_anything_is_sent(project: Project, silent_server: str) -> None:
    # The file points at a server that would receive the token; the pin says otherwise.
    project.configure(staging=silent_server)
    project.token("staging", "secret-token")
    project.monkeypatch.setenv("DIRECTUS_STAGING_URL", "https://cms.example.com")
    for command in (["plan"], ["push", "--yes"], ["pull"], ["status"], ["unlock", "--yes"]):
        result = project.run(*command, "--env", "staging")
        assert result.code == 3, result.output
        assert "refusing to send its token there" in result.err
        assert "secret-token" not in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema_dir: schema\ncolour: red\n", r"directus-gitops\.yaml:2: unknown key 'colour'"),
        (
            "environments:\n  dev:\n    url: http://x\n    tokn_env: X\n",
            r"directus-gitops\.yaml:4: environment 'dev': unknown key 'tokn_env'",
        ),
        ("environments:\n  dev: {url: http://x}\n  dev: {url: http://y}\n", r"directus-gitops\.yaml:3: duplicate key"),
    ],
)
def test_unknown_and_repeated_config_keys_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, text))


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("schema_dir", "message"),
    [
        (".", r"directus-gitops\.yaml:1: schema_dir: '\.' is the repository itself"),
        ("./", r"schema_dir: '\./' is the repository itself"),
        (
            "../outside",
            r"directus-gitops\.yaml:1: schema_dir: '\.\./outside' leads to .*outside, outside the repository",
        ),
        (".git/schema", r"schema_dir: '\.git/schema' is inside \.git"),
        ("linked", r"schema_dir: 'linked' leads to .*outside, outside the repository"),
    ],
)
def test_a_schema_folder_that_is_not_strictly_inside_the_repository_is_refused(
    project: Project, schema_dir: str, message: str
) -> None:
    outside = project.root.parent / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the tool's\n")
    (project.root / "linked").symlink_to(outside, target_is_directory=True)
    (project.root / "README.md").write_text("# project\n")
    (project.root / "directus-gitops.yaml").write_text(
        f"schema_dir: {schema_dir}\nenvironments:\n  dev: {{url: 'http://127.0.0.1:9'}}\n"
    )
    project.git("add", "--all")
    project.git("commit", "--quiet", "-m", "set up")
    project.token("dev", "t")
    before, outside_before = _tree(project.root), _tree(outside)
    for command in (["pull"], ["check", "--fix"], ["diff"]):
        result = project.run(*command)
        assert result.code == 1, (command, result.output)
        errors = [line for line in result.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and re.search(message, errors[0]), (command, result.err)
    assert _tree(project.root) == before  # .git, README.md and the configuration untouched
    assert _tree(outside) == outside_before


def test_the_default_schema_folder_may_not_be_a_link_out_of_the_repository(project: Project) -> None:
    outside = project.root.parent / "elsewhere"
    outside.mkdir()
    (project.root / "schema").symlink_to(outside, target_is_directory=True)
    result = project.run("check")
    assert result.code == 1
    assert re.search(r"error: the schema folder: 'schema' leads to .*elsewhere, outside the repository", result.err)
    assert list(outside.iterdir()) == []


def test_a_link_to_a_folder_inside_the_repository_is_followed(project: Project) -> None:
    (project.root / "model" / "schema").mkdir(parents=True)
    (project.root / "schema").symlink_to(project.root / "model" / "schema", target_is_directory=True)
    (project.root / "directus-gitops.yaml").write_text("environments:\n  dev: {url: 'http://x'}\n")
    assert config.load(cwd=project.root).schema_dir == (project.root / "model" / "schema").resolve()


def test_accept_releases_is_a_list_of_release_globs(tmp_path: Path) -> None:
    cfg = config.load(
        write(tmp_path, "environments:\n  prod: {url: 'http://x', accept_releases: ['11.*', '10.13.4']}\n")
    )
    assert config.resolve(cfg, "prod", {"DIRECTUS_PROD_TOKEN": "t"}).accept_releases == ("11.*", "10.13.4")
    with pytest.raises(ConfigError, match="accept_releases must be a list of Directus releases"):
        config.load(write(tmp_path, "environments:\n  prod: {url: 'http://x', accept_releases: 11}\n"))
