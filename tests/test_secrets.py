"""Secrets found by what Directus treats as one, by their shape and by their key's name, in the
configuration and in the schema: refused before anything is written, redacted wherever shown,
and let through only where ``secrets: allow:`` names them.

The real-server test runs on 12.4.1 and 9.26.0 (``DIRECTUS_SECRETS_VERSIONS`` picks others).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import config_seed
import httpx
import pytest

from directus_gitops.base.errors import ConfigError, RefusedError
from directus_gitops.files import store, yamlio
from directus_gitops.model import config as config_module
from directus_gitops.model.kinds import compare, secrets
from directus_gitops.server import config_read as server
from tests.conftest import Project
from tests.directus_harness import ServerPool

ROOT = Path(__file__).resolve().parent.parent
PULLED = Path(__file__).resolve().parent / "data" / "pulled"

# Made-up credentials of each form (none is a real key).
SHAPED = [
    ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsIm5hbWUiOiJ0ZXN0In0.c2lnbmF0dXJlLW1hZGUtdXA", "JSON Web"),
    ("pk.eyJ1IjoiZXhhbXBsZS11c2VyIiwiYSI6ImNrMTIzNDU2Nzg5MCJ9.QmFkS2V5Rm9yVGVzdHM", "Mapbox"),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "Stripe"),
    ("sk_test_51HxYzAbCdEfGhIjKlMnOp", "Stripe"),
    ("AKIAIOSFODNN7EXAMPLE", "AWS"),
    ("AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "Google"),
    ("ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2, "GitHub"),
    ("github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789", "GitHub"),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "Slack"),
    ("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "Slack webhook"),
    ("sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5" * 2, "OpenAI"),
    ("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", "SendGrid"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "private key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----", "private key"),
    ("Xk9fQ2mLr7TzW4pN8vB1cY6hJ3sD5gA0", "random-looking"),  # a Directus static token's form
    ("Bearer Xk9fQ2mLr7TzW4pN8vB1cY6hJ3sD5gA0", "random-looking"),
    ("https://user:hunter2@example.com/hook", "URL"),
    ("https://api.example.com/v1?api_key=k-1234&page=2", "URL"),
    ("grant_type=client_credentials&client_secret=s-5678", "named"),
]

# Long values that are no secret: ids and digests Directus writes, words, names, paths,
# references and placeholders, data URIs and drawings.
PLAIN = [
    "6f9c1a3e-0000-4000-8000-000000000001",
    "01933b1e-6c7a-7d8e-9f0a-1b2c3d4e5f60",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "thisIsAVeryLongCamelCaseIdentifierName",
    "setCacheValueWithExpiry nestedActionEventsM2O userIntegrityCheckFlagsA2O",
    "article_translations_2024_q4_final_version",
    "hero-banner-1920x1080-final-v2.png",
    "https://example.com/assets/a8f3e2b7c1d94e6fa8f3e2b7c1d94e6f/Xk9fQ2mLr7TzW4pN8vB1cY6hJ3sD5gA0",
    "https://github.com/uuidjs/uuid/blob/bc46e198ab06311a9d82d3c9c6222062dd27f760/src/regex.js",
    "{{ $env.STRIPE_KEY }}",
    "Bearer {{ $env.HOOK_TOKEN }}",
    "${env:STRIPE_KEY}",
    "{{ $trigger.body.token }} and {{ $last.data.api_key }}",
    "$t:field_options.directus_settings.mapbox_placeholder",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 10-4.48 10-10S17.52 2 12 2zm0 18c-4.41 0-8-3.59-8-8",
    "M2h3v12h3V8Zm-2-6v2H8v15H6V2h7Z9h2V7H3v2Zm10-6h-2v2h2V3Zm6",
    "/(?=^.{8,}$)(?=.*\\d)(?=.*[a-z])(?=.*[A-Z])(?=.*[!@#$%^&*()_+}{';'?>.<,])(?!.*\\s).*$/",
    "Published articles appear on the site within five minutes of being saved.",
]


def _flow(options: dict[str, Any], kind: str = "request") -> dict[str, Any]:
    return {"kind": "flow", "name": "Send", "operations": [{"key": "send", "type": kind, "options": options}]}


# --------------------------------------------------------------------------- detectors


@pytest.mark.parametrize(("value", "kind"), SHAPED)
def test_a_credential_is_found_by_its_shape_under_any_key(value: str, kind: str) -> None:
    why = secrets.shape(value)
    assert why is not None and kind.lower() in why.lower(), why
    found = secrets.find({"config/flows/send.yaml": _flow({"message": value})})
    assert [str(item) for item in found] == ["config/flows/send.yaml:operations[key=send].options.message"]
    message = secrets.refuse(found).message
    assert value not in message and "operations[key=send].options.message" in message
    assert secrets.redact({"message": value}) == {"message": secrets.REDACTED}


@pytest.mark.parametrize("value", PLAIN)
def test_ids_digests_words_urls_and_references_are_no_secret(value: str) -> None:
    assert secrets.shape(value) is None
    assert secrets.find({"f.yaml": {"note": value, "nested": [{"text": value}]}}) == []
    assert secrets.redact({"note": value}) == {"note": value}


def test_random_keys_are_found_and_names_are_not() -> None:
    import random
    import string

    rng = random.Random(24)
    alphabet = string.ascii_letters + string.digits
    keys = ["".join(rng.choice(alphabet) for _ in range(length)) for length in (24, 32, 40) for _ in range(100)]
    found = sum(1 for key in keys if secrets.shape(key) is not None)
    assert found >= 0.9 * len(keys), found  # measured: about 95 %
    names = [
        "RawFieldItemValidateSchema",
        "getSystemFieldRowsWithAuthProviders",
        "a2oRelationsThatIncludeThisCollection",
        "parentWillBeCreatedInThisApply",
        "files-api-2025-04-14-preview",
    ]
    assert [name for name in names if secrets.shape(name)] == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"api_key": "abc123", "to": "ops@example.com"}', "body.api_key"),
        ('{"count": {{ $trigger.count }}, "auth": {"password": "pw-1"}}', "body.auth.password"),
        ('[{"name": "x"}, {"token": "t-1"}]', "body.1.token"),
        ('{"note": "AKIAIOSFODNN7EXAMPLE"}', "body.note"),
        ("not json {api_key: AKIAIOSFODNN7EXAMPLE}", "body"),
    ],
)
def test_a_secret_inside_json_held_in_a_string_is_found(body: str, where: str) -> None:
    found = secrets.find({"config/flows/send.yaml": _flow({"method": "POST", "body": body})})
    assert [item.path for item in found] == [f"operations[key=send].options.{where}"]
    assert secrets.redact(_flow({"body": body}))["operations"][0]["options"]["body"] == secrets.REDACTED


def test_json_with_only_references_and_placeholders_is_no_secret() -> None:
    body = '{"api_key": "{{ $env.SEND_KEY }}", "token": "${env:TOKEN}", "count": {{ $last.count }}}'
    assert secrets.find({"f.yaml": _flow({"body": body})}) == []


# What the scanners that read long notes in one pass must find: the patterns they replaced
# (each tried at every position, so quadratic in a text that never closes what it opens).
_REFERENCE_PATTERN = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_QUOTED_OR_REFERENCE_PATTERN = re.compile(r"(\"(?:[^\"\\]|\\.)*\")|(\{\{.*?\}\})", re.DOTALL)


def test_references_and_json_strings_are_read_as_the_patterns_read_them() -> None:
    rng = random.Random(29)
    pieces = ['"', "\\", "{", "}", "{{", "}}", "a", " ", "\n", ":"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert secrets._references(text, lambda _: "R") == _REFERENCE_PATTERN.sub("R", text), text
        expected = _QUOTED_OR_REFERENCE_PATTERN.sub(lambda found: found.group(1) or json.dumps(found.group(2)), text)
        assert secrets._quoted_references(text) == expected, text


def test_long_notes_that_never_close_what_they_open_are_read_whole() -> None:
    # Each of these took seconds to minutes when a pattern searched the rest of the text from
    # every position (a pull of 12 such notes took a minute); bench/bench_secrets.py times them.
    long = 65_000
    plain = ["n" * long, "{{" * (long // 2), "aB3-" * (long // 4), "{" + '"a\\' * (long // 3) + "}"]
    assert [secrets.shape(text) for text in plain] == [None, None, None, None]
    key = "Xk9fQ2mLr7TzW4pN8vB1cY6hJ3sD5gA0"
    assert secrets.shape("{{" * (long // 2) + " " + key) == "a long random-looking token"
    assert secrets.shape("n" * long + " https://user:hunter2@example.com/") == "a URL with credentials"
    body = '{"count": {{ $trigger.count }}, "note": "' + "{{" * (long // 2) + '", "password": "pw-1"}'
    assert [item.path for item in secrets.find({"f.yaml": {"body": body}})] == ["body.password"]


def test_a_number_under_a_secret_name_is_a_secret_and_a_flag_or_a_counter_is_not() -> None:
    options = {"smtp_password": 918273645, "api_key": 1.5, "use_token": True, "token": None}
    found = secrets.find({"config/flows/send.yaml": _flow(options)})
    assert sorted(item.path.rsplit(".", 1)[-1] for item in found) == ["api_key", "smtp_password"]
    assert secrets.redact(options) == {**options, "smtp_password": "<redacted>", "api_key": "<redacted>"}
    settings = {"kind": "settings", "settings": {"auth_login_attempts": 25, "auth_password_policy": None}}
    assert secrets.find({"config/settings.yaml": settings}) == []


def test_operation_options_directus_keeps_credentials_in_are_secrets_whatever_their_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With the name rule out of the way, Directus's own table still finds them.
    monkeypatch.setattr(secrets, "secret_name", lambda name: False)
    for kind, option_names in secrets.OPERATION_SECRETS.items():
        options = {name: "plain-value" for name in option_names} | {"operation": "sign"}
        found = secrets.find({"f.yaml": _flow(options, kind)})
        assert sorted(item.path for item in found) == sorted(f"operations[key=send].options.{n}" for n in option_names)
        assert secrets.find({"f.yaml": _flow(options, "log")}) == []


def test_settings_directus_treats_as_credentials_are_withheld_not_refused() -> None:
    raw = {
        "project_name": "Demo",
        "mapbox_key": "pk.eyJ1IjoiZXhhbXBsZSJ9.abcdefghijklmnopqrst",
        "ai_openai_api_key": "**********",
        "ai_google_api_key": None,
        "smtp_password": "x",
        "auth_login_attempts": 25,
    }
    assert set(server.settings(raw)) == {"project_name", "auth_login_attempts"}
    assert server.withheld_settings(raw) == ["ai_openai_api_key", "mapbox_key", "smtp_password"]


def test_the_schema_is_looked_through_as_pull_writes_it() -> None:
    snapshot = {
        "version": 1,
        "directus": "12.4.1",
        "collections": [{"collection": "articles", "meta": {"note": "AKIAIOSFODNN7EXAMPLE"}, "schema": {}}],
        "fields": [
            {"collection": "articles", "field": "title", "meta": {"options": {"api_key": "abc"}}, "schema": None},
            {"collection": "articles", "field": "body", "meta": {"options": {"placeholder": "Your API key"}}},
        ],
        "relations": [{"collection": "articles", "field": "author", "meta": {"sort_field": "sk_live_" + "a1" * 10}}],
    }
    split = [str(item) for item in secrets.find_schema(snapshot, "split")]
    assert split == [
        "collections/articles.yaml:fields[field=title].meta.options.api_key",
        "collections/articles.yaml:meta.note",
        "collections/articles.yaml:relations[field=author].meta.sort_field",
    ]
    single = [str(item) for item in secrets.find_schema(snapshot, "single")]
    assert "snapshot.yaml:fields[collection=articles,field=title].meta.options.api_key" in single
    assert "snapshot.yaml:collections[collection=articles].meta.note" in single
    # The paths name what the files hold: the value is there, at that path.
    written = yamlio.load(store.render(snapshot)["collections/articles.yaml"].decode())
    assert written["fields"][1]["field"] == "title" and written["fields"][1]["meta"]["options"]["api_key"] == "abc"


# --------------------------------------------------------------------------- no false positives


def test_nothing_in_the_demo_model_is_taken_for_a_secret() -> None:
    loaded = store.load_path(ROOT / "schema")
    assert loaded.snapshot["fields"], "the demo model holds fields"
    for layout in store.LAYOUTS:
        assert secrets.find_schema(loaded.snapshot, layout) == []
    documents = {str(p.relative_to(ROOT)): yamlio.load(p.read_text()) for p in (ROOT / "schema").rglob("*.yaml")}
    assert secrets.find(documents) == []


@pytest.mark.parametrize("version", sorted(p.name for p in PULLED.iterdir() if p.is_dir()))
def test_nothing_pulled_from_a_fresh_server_is_taken_for_a_secret(version: str) -> None:
    files = sorted((PULLED / version).rglob("*.yaml"))
    assert any("flows" in str(path) for path in files) and any(path.name == "settings.yaml" for path in files)
    documents = {str(path.relative_to(PULLED / version)): yamlio.load(path.read_text()) for path in files}
    assert secrets.find(documents) == []
    assert secrets.redact(documents) == documents


# --------------------------------------------------------------------------- allowing


def test_the_allow_list_lets_through_exactly_the_places_it_names() -> None:
    found = [
        secrets.Found("config/flows/send.yaml", "operations[key=send].options.body"),
        secrets.Found("config/flows/other.yaml", "operations[key=post].options.body"),
        secrets.Found("collections/articles.yaml", "fields[field=title].meta.options.api_key"),
    ]
    everything = [
        "config/flows/send.yaml:operations[key=send].options.body",
        "config/flows/*.yaml:operations[key=post].options.body",
        "collections/articles.yaml: fields[field=title].meta.options.api_key",  # as printed, a space or not
        "config/flows/gone.yaml:operations[key=x].options.url",
    ]
    assert secrets.check(found, everything) == ["config/flows/gone.yaml:operations[key=x].options.url"]
    # ``*`` stays within one part of the path: it never allows a whole subtree.
    for too_wide in ("config/*:operations[key=send].options.body", "config/flows/send.yaml:operations[key=send].*"):
        with pytest.raises(RefusedError) as refused:
            secrets.check(found, [too_wide, everything[1], everything[2]])
        assert str(found[0]) in refused.value.message and str(found[1]) not in refused.value.message
    assert secrets.check(found[:1], ["config/flows/send.yaml:operations[key=*].options.body"]) == []


def test_the_allow_list_is_read_from_the_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / "directus-gitops.yaml"
    entry = "config/flows/send.yaml:operations[key=send].options.body"
    assert config_module.parse({"secrets": {"allow": [entry, entry]}}, path).secrets_allow == (entry,)
    assert config_module.parse({}, path).secrets_allow == ()
    for bad, message in [
        ({"secrets": {"alow": []}}, "secrets: unknown key 'alow'"),
        ({"secrets": ["x"]}, "'secrets' must be a mapping"),
        ({"secrets": {"allow": "x:y"}}, "must be a list"),
        ({"secrets": {"allow": ["operations[key=send]"]}}, "must name a file and a path"),
        ({"secrets": {"allow": ["config/**:x"]}}, "'\\*\\*' is not supported"),
        ({"secret": {"allow": []}}, "unknown key 'secret'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            config_module.parse(bad, path)


def test_a_change_between_two_redacted_values_is_still_a_change() -> None:
    # An allowed value that looks like a secret changes on the target: the plan shows the
    # change (redacted), so that push sends it.
    old = {"id": "o1", "options": {"body": "Xk9fQ2mLr7TzW4pN8vB1cY6hJ3sD5gA0", "method": "POST"}}
    new = {"id": "o1", "options": {"body": "Yq2hT8nMs4UaX6rP0wC3dZ7kK5tF9bB1", "method": "POST"}}
    props = compare._props(old, new)
    assert [(p.path, p.old, p.new) for p in props] == [("options.body", "<redacted>", "<redacted>")]
    assert compare._props(old, old) == ()


# --------------------------------------------------------------------------- real servers

VERSIONS = os.environ.get("DIRECTUS_SECRETS_VERSIONS", "12.4.1 9.26.0").split()


def _send(http: httpx.Client, method: str, path: str, body: Any) -> Any:
    response = http.request(method, path, json=body)
    assert response.is_success, response.text
    return response.json()["data"]


@pytest.mark.parametrize("version", VERSIONS)
def test_secrets_directus_holds_never_reach_a_file_an_output_or_a_git_object(
    project: Project, directus_pool: ServerPool, version: str
) -> None:
    mapbox = "pk.eyJ1IjoicGxhbnRlZCIsImEiOiJjbTEyMzQ1Njc4OTAifQ.UGxhbnRlZEtleUZvclRlc3Rz"
    body_key = "body-key-planted-7c41"
    smtp = 918273645
    field_key = "field-key-planted-2b93"
    with directus_pool.new_server(version, seeded=True) as source:
        project.configure(dev=source.url)
        project.token("dev", source.token)
        config = project.root / "directus-gitops.yaml"
        config.write_text(config.read_text() + "sync: [schema, flows, settings]\n")
        project.git("commit", "--quiet", "-am", "sync flows and settings")
        first = project.run("pull", "--env", "dev", "--commit")
        assert first.code == 0, first.output  # a fresh server: nothing taken for a secret

        body = json.dumps({"api_key": body_key, "to": "ops@example.com"})
        options = {"method": "POST", "url": "https://example.com/hook", "body": body, "smtp_password": smtp}
        with config_seed.client(source.url, source.token) as http:
            _send(http, "PATCH", "/settings", {"mapbox_key": mapbox})
            flow = _send(http, "POST", "/flows", {"name": "Send report", "status": "active", "trigger": "manual"})
            operation = {"flow": flow["id"], "key": "send", "name": "Send", "type": "request", "options": options}
            operation = _send(http, "POST", "/operations", {**operation, "position_x": 19, "position_y": 1})
            _send(http, "PATCH", "/fields/articles/title", {"meta": {"options": {"api_key": field_key}}})

        refused = project.run("pull", "--env", "dev", "--commit")
        assert refused.code == 3, refused.output
        for place in (
            "config/flows/send-report.yaml:operations[key=send].options.body.api_key",
            "config/flows/send-report.yaml:operations[key=send].options.smtp_password",
            "collections/articles.yaml:fields[field=title].meta.options.api_key",
        ):
            assert place in refused.output
        assert "mapbox_key" not in refused.output  # withheld, not refused
        assert project.git("status", "--porcelain") == ""  # nothing was written

        # The way out: placeholders on the server; the allow list for what is no secret.
        with config_seed.client(source.url, source.token) as http:
            fixed = {**options, "body": '{"api_key": "${env:SEND_KEY}"}', "smtp_password": "{{ $env.SMTP_PASSWORD }}"}
            _send(http, "PATCH", f"/operations/{operation['id']}", {"options": fixed})
        allow = [
            "collections/articles.yaml:fields[field=title].meta.options.api_key",
            "config/flows/*.yaml:operations[key=gone].options.url",
        ]
        config.write_text(config.read_text() + f"secrets:\n  allow: {json.dumps(allow)}\n")
        project.git("commit", "--quiet", "-am", "allow the field's option")
        pulled = project.run("pull", "--env", "dev", "--commit")
        assert pulled.code == 0, pulled.output
        assert "setting 'mapbox_key' holds a credential and is never written" in pulled.output
        assert "'config/flows/*.yaml:operations[key=gone].options.url' matches nothing" in pulled.output
        assert field_key in (project.schema / "collections" / "articles.yaml").read_text()
        assert "${env:SEND_KEY}" in (project.schema / "config" / "flows" / "send-report.yaml").read_text()

    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=project.root, capture_output=True, check=True
    ).stdout
    assert b"send-report" in objects and field_key.encode() in objects
    outputs = first.output + refused.output + pulled.output
    for secret in (mapbox, body_key, str(smtp)):
        assert secret not in outputs and secret.encode() not in objects
        for path in project.root.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
