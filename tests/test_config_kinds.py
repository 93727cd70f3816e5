"""Configuration kinds on real Directus servers: pull → commit → push → verify, identity,
removals, the lock-out guard and secrets.

By default on 12.4.1 only (about 2 minutes: two servers). ``make test-config-kinds`` runs
the same acceptance on 9.26.0, 10.13.4, 11.17.4 and 12.4.1 (``DIRECTUS_CONFIG_VERSIONS``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import config_seed
import httpx
import pytest

from directus_gitops.files import yamlio
from tests import commonmark
from tests.conftest import Project
from tests.directus_harness import DirectusServer, ServerPool

VERSIONS = os.environ.get("DIRECTUS_CONFIG_VERSIONS", "12.4.1").split()
SYNC = "sync: [schema, access, flows, dashboards, presets, settings, translations, folders]\n"


def _configure(project: Project, **environments: str) -> None:
    project.configure(**environments)
    with (project.root / "directus-gitops.yaml").open("a") as config:
        config.write(SYNC)
    project.git("commit", "--quiet", "-am", "sync configuration kinds")


def _major(version: str) -> int:
    return int(version.split(".")[0])


@pytest.fixture(params=VERSIONS)
def pair(
    request: pytest.FixtureRequest, directus_pool: ServerPool
) -> Iterator[tuple[str, DirectusServer, DirectusServer]]:
    version = request.param
    with (
        directus_pool.new_server(version, seeded=True) as source,
        directus_pool.new_server(version, seeded=True) as target,
    ):
        yield version, source, target


def _http(server: DirectusServer, token: str | None = None) -> httpx.Client:
    return config_seed.client(server.url, token or server.token)


def _user(server: DirectusServer, role: str, token: str) -> None:
    with _http(server) as http:
        response = http.post(
            "/users", json={"email": f"{token}@example.com", "password": "pw-not-used-1", "role": role, "token": token}
        )
        assert response.is_success, response.text


def test_pull_push_identity_removals_and_lockout(project: Project, pair: Any) -> None:
    version, source, target = pair
    policies = _major(version) >= 11
    with _http(source) as http:
        config_seed.seed(
            http, policies=policies, filtered=_major(version) < 12, legacy_translations=_major(version) < 10
        )
    _configure(project, dev=source.url, prod=target.url)
    project.token("dev", source.token)
    project.token("prod", target.token)

    pulled = project.run("pull", "--env", "dev", "--commit")
    assert pulled.code == 0, pulled.output
    config = project.schema / "config"
    assert (config / "flows" / "notify-on-publish.yaml").is_file()
    flow = (config / "flows" / "notify-on-publish.yaml").read_text()
    # Operations in execution order: the trigger's first operation, then along resolve.
    assert flow.index("key: check") < flow.index("key: notify") < flow.index("key: log_failure")
    assert "resolve: notify" in flow and "reject: log_failure" in flow
    holder = config / ("policies/editors.yaml" if policies else "roles/editor.yaml")
    assert "action: delete" in holder.read_text()
    assert (config / "roles" / "administrator.yaml").read_text().count("id: admin-role") == 1
    # 9.x keeps translation strings in a setting: the same file as the /translations of 10+.
    assert "key: greeting" in (config / "translations.yaml").read_text()
    assert "translation_strings" not in (config / "settings.yaml").read_text()

    # The plan of schema and configuration together is one Markdown document.
    markdown = project.run("plan", "--env", "prod", "--format", "markdown")
    assert markdown.code == 0, markdown.output
    assert commonmark.check(markdown.out) == [] and "#### Configuration" in markdown.out
    assert len([line for line in markdown.out.splitlines() if line.startswith("### ")]) == 1

    pushed = project.run("push", "--env", "prod", "--yes")
    assert pushed.code == 0, pushed.output
    assert "+ flow" in pushed.output and "+ permission" in pushed.output

    # A user of the pushed Viewer role can read articles and not create them.
    _user(target, config_seed.VIEWER_ROLE, "viewer-token-1")
    with _http(target, "viewer-token-1") as viewer:
        assert viewer.get("/items/articles").status_code == 200
        assert viewer.post("/items/articles", json={"title": "x"}).status_code == 403
    _user(target, config_seed.EDITOR_ROLE, "editor-token-1")
    with _http(target, "editor-token-1") as editor:
        assert editor.post(
            "/items/articles", json={"title": "by editor", "slug": "by-editor", "status": "draft"}
        ).is_success

    again = project.run("push", "--env", "prod", "--yes")
    assert again.code == 0, again.output
    assert "No configuration changes." in again.output

    # status sees the configuration: in step after the push; a permission added and a flow
    # deactivated by hand are drift, named item by item.
    matched = project.run("status", "--env", "prod", "--exit-code")
    assert matched.code == 0 and "prod  matches" in matched.out, matched.output
    with _http(target) as http:
        if policies:
            public = http.get("/policies", params={"filter[name][_eq]": "$t:public_label"}).json()["data"][0]["id"]
            holder = {"policy": public}
        else:
            holder = {"role": None}
        added = http.post("/permissions", json={**holder, "collection": "authors", "action": "read", "fields": ["*"]})
        assert added.is_success, added.text
        assert http.patch(f"/flows/{config_seed.FLOW}", json={"status": "inactive"}).is_success
    drifted = project.run("status", "--env", "prod", "--exit-code")
    assert drifted.code == 2, drifted.output
    assert "drifted" in drifted.out and "authors.read" in drifted.out, drifted.out
    assert '~ flow "Notify on publish"' in drifted.out, drifted.out
    as_json = json.loads(project.run("status", "--env", "prod", "--format", "json").out)
    named = {(c["kind"], c["action"]) for c in as_json["environments"][0]["config_drift"]}
    assert {("permission", "create"), ("flow", "update")} <= named, as_json
    with _http(target) as http:  # put back as pushed
        assert http.delete(f"/permissions/{added.json()['data']['id']}").status_code == 204
        assert http.patch(f"/flows/{config_seed.FLOW}", json={"status": "active"}).is_success
    assert project.run("status", "--env", "prod", "--exit-code").code == 0

    # The target pulled into the same folder: the same files (the users made there aside).
    target_pull = project.run("pull", "--env", "prod")
    assert target_pull.code == 0, target_pull.output
    assert project.git("status", "--porcelain", "--", "schema/config") == ""

    # Removing a permission is refused without the opt-in, applied with it.
    with _http(source) as http:
        holder_key = "policy" if policies else "role"
        holder_id = config_seed.EDITOR_POLICY if policies else config_seed.EDITOR_ROLE
        found = http.get(
            "/permissions",
            params={
                "filter[collection][_eq]": "articles",
                "filter[action][_eq]": "delete",
                f"filter[{holder_key}][_eq]": holder_id,
            },
        ).json()["data"]
        assert http.delete(f"/permissions/{found[0]['id']}").status_code == 204
    assert project.run("pull", "--env", "dev", "--commit").code == 0
    refused = project.run("push", "--env", "prod", "--yes")
    assert refused.code == 3, refused.output
    assert "articles.delete" in refused.output and "--allow-config-removal" in refused.err
    # Consent is per risk: data loss's does not cover a configuration removal.
    not_covered = project.run("push", "--env", "prod", "--yes", "--allow-data-loss")
    assert not_covered.code == 3 and "articles.delete" in not_covered.output, not_covered.output
    allowed = project.run("push", "--env", "prod", "--yes", "--allow-config-removal")
    assert allowed.code == 0, allowed.output
    assert project.run("push", "--env", "prod", "--yes").code == 0

    # A push that would take admin access from the pushing token is refused, whatever the flags.
    admin = config / ("policies/administrator.yaml" if policies else "roles/administrator.yaml")
    admin.write_text(admin.read_text().replace("admin_access: true", "admin_access: false"))
    project.git("commit", "--quiet", "-am", "no more admin")
    locked = project.run("push", "--env", "prod", "--yes", "--allow-data-loss", "--allow-config-removal")
    assert locked.code == 3, locked.output
    assert "refusing to push" in locked.output and "admin" in locked.output
    dry = project.run("push", "--env", "prod", "--dry-run", "--allow-config-removal")
    assert dry.code == 3 and "admin" in dry.output, dry.output  # a dry run says so just the same

    # A secret planted in a flow's request header reaches no file, output or git object.
    secret = "s3cr3t-planted-9f8e7d6c"
    headers = [{"header": "Authorization", "value": f"Bearer {secret}"}]
    with _http(source) as http:
        options = http.get(f"/operations/{config_seed.OPS['notify']}").json()["data"]["options"]
        response = http.patch(
            f"/operations/{config_seed.OPS['notify']}", json={"options": {**options, "headers": headers}}
        )
        assert response.is_success, response.text
    result = project.run("pull", "--env", "dev", "--commit")
    assert result.code == 3, result.output
    assert "config/flows/notify-on-publish.yaml:operations[key=notify].options.headers.0.value" in result.output
    assert secret not in result.output
    for path in project.root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=project.root, capture_output=True, check=True
    ).stdout
    assert b"notify-on-publish" in objects and secret.encode() not in objects
    # The way out: a placeholder, substituted on push from the environment.
    placeholder = [{"header": "Authorization", "value": "Bearer ${env:HOOK_TOKEN}"}]
    with _http(source) as http:
        http.patch(f"/operations/{config_seed.OPS['notify']}", json={"options": {**options, "headers": placeholder}})
        # A schema change in the same commit: the unset variable must stop the push before it.
        created = http.post(
            "/collections",
            json={
                "collection": "hook_log",
                "meta": {},
                "schema": {},
                "fields": [
                    {
                        "field": "id",
                        "type": "integer",
                        "meta": {"hidden": True, "interface": "input", "readonly": True},
                        "schema": {"is_primary_key": True, "has_auto_increment": True},
                    }
                ],
            },
        )
        assert created.is_success, created.text
    assert project.run("pull", "--env", "dev", "--commit").code == 0
    backups = project.root / ".directus-gitops" / "backups"
    kept = sorted(backups.iterdir())
    with _http(target) as http:
        schema_before = http.get("/schema/snapshot").json()["data"]
    planned = project.run("plan", "--env", "prod")
    assert planned.code == 0 and "a push would stop" in planned.err and "HOOK_TOKEN" in planned.err, planned.output
    stopped = project.run("push", "--env", "prod", "--yes", "--allow-config-removal")
    assert stopped.code == 1, stopped.output
    assert "HOOK_TOKEN" in stopped.err and "nothing was applied" in stopped.err
    assert "Applying" not in stopped.output and "Backed up" not in stopped.output
    with _http(target) as http:
        assert http.get("/schema/snapshot").json()["data"] == schema_before
    assert sorted(backups.iterdir()) == kept
    project.monkeypatch.setenv("HOOK_TOKEN", secret)
    substituted = project.run("push", "--env", "prod", "--yes", "--allow-config-removal")
    assert substituted.code == 0, substituted.output
    assert secret not in substituted.output
    with _http(target) as http:
        pushed_options = http.get(f"/operations/{config_seed.OPS['notify']}").json()["data"]["options"]
    assert pushed_options["headers"] == [{"header": "Authorization", "value": f"Bearer {secret}"}]
    assert project.run("push", "--env", "prod", "--yes").output.count("No configuration changes.") == 1


PARTIAL_VERSION = os.environ.get("DIRECTUS_PARTIAL_VERSION", "12.4.1")


def test_a_push_that_fails_half_way_says_what_reached_the_target_and_a_second_push_completes_it(
    project: Project, directus_pool: ServerPool
) -> None:
    """Another admin creates, on the target and while the push runs, a flow with the id the
    push is about to create: the real server refuses that call. The push stops there (exit 5)
    and names what reached the target, what did not, and the backup; pushing again finishes."""
    with (
        directus_pool.new_server(PARTIAL_VERSION, seeded=True) as source,
        directus_pool.new_server(PARTIAL_VERSION, seeded=True) as target,
    ):
        policies = _major(PARTIAL_VERSION) >= 11
        with _http(source) as http:
            config_seed.seed(
                http,
                policies=policies,
                filtered=_major(PARTIAL_VERSION) < 12,
                legacy_translations=_major(PARTIAL_VERSION) < 10,
            )
        _configure(project, dev=source.url, prod=target.url)
        project.token("dev", source.token)
        project.token("prod", target.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0

        from directus_gitops.server.client import DirectusClient

        original = DirectusClient.write
        raced: list[str] = []

        def concurrent_admin(self: DirectusClient, method: str, path: str, body: Any = None) -> Any:
            if method == "POST" and path == "/flows" and not raced:
                with _http(target) as other:  # the other admin, on the real target
                    made = other.post(
                        "/flows", json={"id": config_seed.FLOW, "name": "Made by hand", "status": "inactive"}
                    )
                    assert made.is_success, made.text
                raced.append(path)
            return original(self, method, path, body)

        project.monkeypatch.setattr(DirectusClient, "write", concurrent_admin)
        failed = project.run("push", "--env", "prod", "--yes")
        assert failed.code == 5, failed.output
        assert raced == ["/flows"]
        message = failed.err
        assert "stopped at '+ flow" in message, message
        reached, missing = message.split("did not:", 1)
        holder = "+ policy Editors" if policies else "+ role Editor"
        assert holder in reached and "+ permission" in reached
        assert "+ flow" in missing and "+ operation" in missing and "+ dashboard" in missing
        assert "+ dashboard" not in reached
        backup_line = next(line for line in message.splitlines() if "backup of the configuration" in line)
        backup_file = backup_line.split(": ", 1)[1].strip()
        assert Path(backup_file).is_file(), backup_file
        with _http(target) as http:  # it stopped: nothing after the refused call was sent
            assert http.get("/dashboards").json()["data"] == []
            assert http.get(f"/flows/{config_seed.FLOW}").json()["data"]["name"] == "Made by hand"

        project.monkeypatch.setattr(DirectusClient, "write", original)
        resumed = project.run("push", "--env", "prod", "--yes")
        assert resumed.code == 0, resumed.output
        assert holder not in resumed.out  # already there: planned no more
        assert "~ flow" in resumed.out and "+ dashboard" in resumed.out
        with _http(target) as http:
            assert http.get(f"/flows/{config_seed.FLOW}").json()["data"]["name"] == "Notify on publish"
        again = project.run("push", "--env", "prod", "--yes")
        assert again.code == 0 and "No configuration changes." in again.output, again.output


def test_users_opt_in_and_ignore_rules_on_a_real_server(project: Project, directus_pool: ServerPool) -> None:
    """``sync: [..., users]`` pulls users without passwords, tokens or TFA secrets, and push
    creates and changes them (never setting a password); an environment's ``ignore.config``
    keeps a flow that exists only on the target."""
    version = PARTIAL_VERSION
    with (
        directus_pool.new_server(version, seeded=True) as source,
        directus_pool.new_server(version, seeded=True) as target,
    ):
        with _http(source) as http:
            config_seed.seed(
                http,
                policies=_major(version) >= 11,
                filtered=_major(version) < 12,
                legacy_translations=_major(version) < 10,
            )
            made = http.post(
                "/users",
                json={
                    "email": "alice@example.com",
                    "first_name": "Alice",
                    "password": "pw-alice-n0t-in-git",
                    "token": "alice-static-token-n0t-in-git",
                    "role": config_seed.EDITOR_ROLE,
                },
            )
            assert made.is_success, made.text
        with _http(target) as http:
            hand = http.post("/flows", json={"name": "Hand-made on prod", "status": "inactive", "trigger": "manual"})
            assert hand.is_success, hand.text
        (project.root / "directus-gitops.yaml").write_text(
            f"environments:\n  dev: {{url: '{source.url}'}}\n"
            f"  prod:\n    url: '{target.url}'\n    ignore:\n      config: ['flow:Hand-made *']\n"
            + SYNC.replace("folders]", "folders, users]")
        )
        project.git("add", "directus-gitops.yaml")
        project.git("commit", "--quiet", "-m", "sync users")
        project.token("dev", source.token)
        project.token("prod", target.token)

        assert project.run("pull", "--env", "dev", "--commit").code == 0
        users = (project.schema / "config" / "users.yaml").read_text()
        assert "email: alice@example.com" in users and "first_name: Alice" in users
        for path in project.root.rglob("*"):
            if path.is_file():
                text = path.read_bytes()
                assert b"n0t-in-git" not in text and b"$argon2" not in text, path
        assert "password" not in users and "token" not in users and "tfa" not in users

        pushed = project.run("push", "--env", "prod", "--yes")  # no --allow-data-loss: nothing is removed
        assert pushed.code == 0, pushed.output
        assert "+ user alice@example.com" in pushed.out and "Hand-made" not in pushed.output
        with _http(target) as http:
            found = http.get(
                "/users", params={"filter[email][_eq]": "alice@example.com", "fields": "id,role,token,first_name"}
            ).json()["data"]
            assert len(found) == 1 and found[0]["role"] == config_seed.EDITOR_ROLE and found[0]["token"] is None
            login = http.post("/auth/login", json={"email": "alice@example.com", "password": "pw-alice-n0t-in-git"})
            assert login.status_code == 401, login.text  # no password was set
            flows = [f["name"] for f in http.get("/flows").json()["data"]]
            assert "Hand-made on prod" in flows and "Notify on publish" in flows

        with _http(source) as http:
            assert http.patch(f"/users/{made.json()['data']['id']}", json={"first_name": "Alicia"}).is_success
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        changed = project.run("push", "--env", "prod", "--yes")
        assert changed.code == 0 and "~ user alice@example.com" in changed.out, changed.output
        with _http(target) as http:
            names = http.get("/users", params={"filter[email][_eq]": "alice@example.com"}).json()["data"]
            assert [u["first_name"] for u in names] == ["Alicia"]
        again = project.run("push", "--env", "prod", "--yes")
        assert again.code == 0 and "No configuration changes." in again.output, again.output

        # A saved plan carries the configuration too, and applies only to an unchanged target.
        with _http(source) as http:
            assert http.patch(f"/users/{made.json()['data']['id']}", json={"last_name": "Liddell"}).is_success
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        plan_path = project.root / "prod.plan.json"
        planned = project.run("plan", "--env", "prod", "--out", str(plan_path))
        assert planned.code == 0 and "~ user alice@example.com" in planned.out, planned.output
        assert "schema only" not in planned.output
        saved = json.loads(plan_path.read_text())
        assert saved["diff"] is None and "config/users.yaml" in saved["config"]["files"]
        assert "n0t-in-git" not in plan_path.read_text()
        with _http(target) as http:  # someone changes the target's configuration meanwhile
            assert http.patch(f"/flows/{config_seed.FLOW}", json={"description": "edited on prod"}).is_success
        stale = project.run("push", "--env", "prod", "--plan", str(plan_path), "--yes")
        assert stale.code == 3 and "changed after" in stale.err, stale.output
        with _http(target) as http:
            assert http.patch(f"/flows/{config_seed.FLOW}", json={"description": None}).is_success
        from_plan = project.run("push", "--env", "prod", "--plan", str(plan_path), "--yes")
        assert from_plan.code == 0 and "~ user alice@example.com" in from_plan.out, from_plan.output
        with _http(target) as http:
            names = http.get("/users", params={"filter[email][_eq]": "alice@example.com"}).json()["data"]
            assert [u["last_name"] for u in names] == ["Liddell"]
        assert "No configuration changes." in project.run("push", "--env", "prod", "--yes").output


def test_access_crosses_the_10x_11x_model_boundary_as_directus_upgrade_does(
    project: Project, directus_pool: ServerPool
) -> None:
    """Files pulled from 10.x (permissions on roles) push into 11+ (policies) as Directus's own
    upgrade to 11 makes them (rule access-model): each role's permissions on a policy of its id.
    Pulled from there, they push back into a new 10.x, which then reads as the first did."""
    old = os.environ.get("DIRECTUS_OLD_MODEL_VERSION", "10.13.4")
    with (
        directus_pool.new_server(old, seeded=True) as source,
        directus_pool.new_server("11.17.4", seeded=True) as target,
        directus_pool.new_server(old, seeded=True) as back,
    ):
        with _http(source) as http:
            config_seed.seed(http, policies=False)
        _configure(project, dev=source.url, prod=target.url, back=back.url)
        for name, server in (("dev", source), ("prod", target), ("back", back)):
            project.token(name, server.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        access = project.schema / "config" / "roles"
        pulled = {path.name: path.read_text() for path in access.iterdir()}
        public = (
            (project.schema / "config" / "public.yaml").read_text()
            if (project.schema / "config" / "public.yaml").exists()
            else None
        )

        # --force: the schema of another major version (the access model needs no flag).
        planned = project.run("plan", "--env", "prod", "--force")
        assert planned.code == 0, planned.output
        assert "rule access-model: the files hold the 9.x/10.x access model" in planned.output, planned.output[-3000:]
        assert "+ policy Editor" in planned.output and "+ permission policy Editor: articles.read" in planned.output
        # Settings 11.17 has and 10.x lacks are left as the target holds them, not emptied (mcp_enabled
        # cannot be null: the push stopped part-way at the settings).
        assert "(rule release-only-properties): " in planned.output and "mcp_enabled" in planned.output
        assert "mcp_enabled: -" not in planned.output
        pushed = project.run("push", "--env", "prod", "--force", "--yes")
        assert pushed.code == 0, pushed.output
        again = project.run("plan", "--env", "prod", "--force")
        assert "No configuration changes." in again.output, again.output
        status = project.run("status")  # the same rules: no drift (the access model, the settings 11.17 added)
        assert status.code == 0 and re.search(r"prod +matches ", status.output), status.output
        with _http(target) as http:
            links = http.get("/access", params={"filter[role][_eq]": config_seed.EDITOR_ROLE}).json()["data"]
            assert [link["policy"] for link in links] == [config_seed.EDITOR_ROLE]
            params = {"filter[policy][_eq]": config_seed.EDITOR_ROLE, "limit": "-1"}
            held = http.get("/permissions", params=params).json()["data"]
            assert sorted(p["action"] for p in held) == ["create", "delete", "read", "update"]
            read = next(p for p in held if p["action"] == "read")
            assert read["permissions"] == {"status": {"_eq": "published"}}

        # And back: the 11+ files pulled from the target, pushed into a new 10.x.
        assert project.run("pull", "--env", "prod", "--commit").code == 0
        assert (project.schema / "config" / "policies").is_dir()
        planned = project.run("plan", "--env", "back", "--force")
        assert "rule access-model: the files hold the 11+ access model" in planned.output, planned.output[-3000:]
        assert "linked to no role" not in planned.output
        pushed = project.run("push", "--env", "back", "--force", "--yes")
        assert pushed.code == 0, pushed.output
        assert "No configuration changes." in project.run("plan", "--env", "back", "--force").output
        assert project.run("pull", "--env", "back").code == 0
        assert {path.name: path.read_text() for path in access.iterdir()} == pulled
        public_now = project.schema / "config" / "public.yaml"
        assert (public_now.read_text() if public_now.exists() else None) == public


@pytest.mark.parametrize(
    ("old", "new"),
    [("11.17.4", "10.13.4"), ("9.26.0", "12.4.1"), ("12.4.1", "9.26.0")],
    ids=["11-policies-into-10", "9-roles-into-12", "12-policies-into-9"],
)
def test_a_whole_configuration_crosses_the_model_boundary_and_plans_empty(
    project: Project, directus_pool: ServerPool, old: str, new: str
) -> None:
    """Configuration seeded natively on one side of the access-model boundary (11.17.4: roles
    linked to policies of other names; 9.26.0: permissions on roles, translations in the
    settings) pushed into the other side converges: the next plan holds no change."""
    with directus_pool.new_server(old, seeded=True) as source, directus_pool.new_server(new, seeded=True) as target:
        with _http(source) as http:
            config_seed.seed(
                http,
                policies=_major(old) >= 11,
                filtered=max(_major(old), _major(new)) < 12,
                legacy_translations=_major(old) < 10,
            )
        _configure(project, dev=source.url, prod=target.url)
        project.token("dev", source.token)
        project.token("prod", target.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        pushed = project.run("push", "--env", "prod", "--force", "--yes")
        assert pushed.code == 0, pushed.output + pushed.err
        assert "rule access-model" in pushed.output, pushed.output
        again = project.run("plan", "--env", "prod", "--force")
        assert "No configuration changes." in again.output, again.output
        with _http(target) as http:
            roles = {r["name"]: r for r in http.get("/roles").json()["data"]}
            assert {"Editor", "Viewer"} <= set(roles)
            if _major(new) < 11:  # the Editor role holds the Editors policy's permissions and access
                held = http.get("/permissions", params={"filter[role][_eq]": roles["Editor"]["id"]}).json()["data"]
                assert sorted(p["action"] for p in held) == ["create", "delete", "read", "update"]
                assert roles["Editor"]["app_access"] is True and roles["Viewer"]["app_access"] is False
            else:  # each role linked to a policy of its own id holding its permissions
                links = http.get("/access", params={"filter[role][_eq]": roles["Editor"]["id"]}).json()["data"]
                assert [link["policy"] for link in links] == [roles["Editor"]["id"]]


def test_converted_permissions_an_unlicensed_12x_restricts_are_refused_before_anything(
    project: Project, directus_pool: ServerPool
) -> None:
    """10.x permissions with field lists and filters, converted for 12.4.1 without a licence:
    the licence check sees the converted permissions and refuses the push before any change."""
    if _major(PARTIAL_VERSION) < 12:
        pytest.skip("only Directus 12 restricts permissions without a licence")  # (DIRECTUS_PARTIAL_VERSION < 12)
    with (
        directus_pool.new_server("10.13.4", seeded=True) as source,
        directus_pool.new_server(PARTIAL_VERSION, seeded=True) as target,
    ):
        with _http(source) as http:
            config_seed.seed(http, policies=False)
        _configure(project, dev=source.url, prod=target.url)
        project.token("dev", source.token)
        project.token("prod", target.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        with _http(target) as http:
            before = http.get("/schema/snapshot").json()["data"]
        refused = project.run("push", "--env", "prod", "--force", "--yes")
        assert refused.code == 3, refused.output + refused.err
        assert "permission(s) with custom rules (policy Editor: articles." in refused.err, refused.err
        assert "nothing was applied" in refused.err and "Traceback" not in refused.output + refused.err
        with _http(target) as http:
            assert http.get("/flows").json()["data"] == []
            assert http.get(f"/policies/{config_seed.EDITOR_ROLE}").status_code in (403, 404)
            assert http.get("/schema/snapshot").json()["data"] == before  # the schema was not applied either


def test_broken_configuration_is_refused_by_push_and_by_pull(project: Project, directus_pool: ServerPool) -> None:
    """The measured failure: a flow operation whose ``resolve`` names a missing operation
    passed ``check`` and ``push`` cut the flow on the server. Now push refuses the files before
    anything is sent; pull refuses to write what ``check`` would refuse (a permission Directus
    accepted for a collection that does not exist), and lists the collections ignore rules keep
    out of the schema instead of calling them undefined."""
    version = PARTIAL_VERSION
    with directus_pool.new_server(version, seeded=True) as server:
        with _http(server) as http:
            config_seed.seed(http, policies=_major(version) >= 11, filtered=_major(version) < 12)
        _configure(project, dev=server.url)
        project.token("dev", server.token)
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        assert project.run("check").code == 0

        flow = project.schema / "config" / "flows" / "notify-on-publish.yaml"
        text = flow.read_text()
        assert text.count("resolve: notify\n") == 1
        flow.write_text(text.replace("resolve: notify\n", "resolve: notfy\n"))
        project.git("commit", "--quiet", "-am", "A typo in a link")
        line = flow.read_text().splitlines().index("  resolve: notfy") + 1
        pushed = project.run("push", "--env", "dev", "--yes")
        assert pushed.code == 1, pushed.output
        assert f"config/flows/notify-on-publish.yaml:{line}: operation 'check': 'resolve' names 'notfy'" in pushed.err
        with _http(server) as http:  # nothing was sent: the flow is whole
            check = http.get(f"/operations/{config_seed.OPS['check']}").json()["data"]
            assert check["resolve"] == config_seed.OPS["notify"], check
            assert http.get(f"/flows/{config_seed.FLOW}").json()["data"]["operation"] == config_seed.OPS["check"]
        project.git("revert", "--no-edit", "HEAD")

        holder = "policy" if _major(version) >= 11 else "role"
        holder_id = config_seed.EDITOR_POLICY if holder == "policy" else config_seed.EDITOR_ROLE
        with _http(server) as http:
            ghost = http.post(
                "/permissions", json={holder: holder_id, "collection": "ghosts", "action": "read", "fields": ["*"]}
            )
            assert ghost.is_success, ghost.text  # Directus accepts it
        before = {p: p.read_bytes() for p in project.schema.rglob("*") if p.is_file()}
        refused = project.run("pull", "--env", "dev")
        assert refused.code == 1, refused.output
        assert f"refusing to write the configuration of 'dev' ({server.url})" in refused.err
        assert re.search(r"config/(policies/editors|roles/editor)\.yaml:\d+: .*no collection 'ghosts'", refused.err)
        assert {p: p.read_bytes() for p in project.schema.rglob("*") if p.is_file()} == before

        # A permission on a collection, a role whose parent is a role, that ignore rules leave out
        # of the files: they exist (on the server, so on each target), and the manifest says so.
        with _http(server) as http:
            assert http.delete(f"/permissions/{ghost.json()['data']['id']}").is_success
            kept = {holder: holder_id, "collection": "settings", "action": "read", "fields": ["*"]}
            assert http.post("/permissions", json=kept).is_success
            if _major(version) >= 11:
                parent = {"parent": config_seed.EDITOR_ROLE}
                assert http.patch(f"/roles/{config_seed.VIEWER_ROLE}", json=parent).is_success
        config_file = project.root / "directus-gitops.yaml"
        ignored = "ignore:\n  collections: [settings]\n" + ("  config: ['role:Editor']\n" if holder == "policy" else "")
        config_file.write_text(config_file.read_text() + ignored)
        ignoring = project.run("pull", "--env", "dev")
        assert ignoring.code == 0, ignoring.output
        manifest = yamlio.load((project.schema / "manifest.yaml").read_text())
        expected = {"collections": ["settings"]}
        if holder == "policy":
            expected["roles"] = [config_seed.EDITOR_ROLE]
            assert f"parent: {config_seed.EDITOR_ROLE}" in (project.schema / "config/roles/viewer.yaml").read_text()
        assert manifest["config"]["ignored"] == expected
        assert not (project.schema / "collections" / "settings.yaml").exists()
        assert project.run("check").code == 0


def test_a_users_own_policies_travel_as_access_links_of_their_own(project: Project, directus_pool: ServerPool) -> None:
    """On 11+ a user may hold a policy directly (not through its role): with ``users`` synced
    it is pulled into the user's ``policies``, pushed as an access link to the user's id on the
    target (a user the same push creates included), and taken away only with
    ``--allow-config-removal``."""
    version = PARTIAL_VERSION
    if _major(version) < 11:
        pytest.skip("9.x/10.x give policies to no user")  # (DIRECTUS_PARTIAL_VERSION below 11 only)
    with (
        directus_pool.new_server(version, seeded=True) as source,
        directus_pool.new_server(version, seeded=True) as target,
        directus_pool.new_server("10.13.4", seeded=True) as older,
    ):
        with _http(source) as http:
            config_seed.seed(http, policies=True, filtered=False)
            made = http.post("/users", json={"email": "bob@example.com", "role": config_seed.VIEWER_ROLE})
            assert made.is_success, made.text
            bob = made.json()["data"]["id"]
            link = http.post("/access", json={"user": bob, "policy": config_seed.EDITOR_POLICY})
            assert link.is_success, link.text
        (project.root / "directus-gitops.yaml").write_text(
            f"environments:\n  dev: {{url: '{source.url}'}}\n  prod: {{url: '{target.url}'}}\n"
            f"  older: {{url: '{older.url}'}}\n" + SYNC.replace("folders]", "folders, users]")
        )
        project.git("add", "directus-gitops.yaml")
        project.git("commit", "--quiet", "-m", "sync users")
        project.token("dev", source.token)
        project.token("prod", target.token)
        project.token("older", older.token)

        assert project.run("pull", "--env", "dev", "--commit").code == 0
        users = yamlio.load((project.schema / "config" / "users.yaml").read_text())
        held = {u["email"]: u.get("policies") for u in users["items"]}
        assert held["bob@example.com"] == [config_seed.EDITOR_POLICY], held

        pushed = project.run("push", "--env", "prod", "--yes")
        assert pushed.code == 0, pushed.output
        assert "+ user bob@example.com" in pushed.out
        assert "+ access bob@example.com → policy Editors" in pushed.out, pushed.out

        def links_of_bob() -> list[str]:
            with _http(target) as http:
                found = http.get("/users", params={"filter[email][_eq]": "bob@example.com"}).json()["data"]
                assert len(found) == 1
                rows = http.get("/access", params={"filter[user][_eq]": found[0]["id"], "limit": "-1"}).json()
                return [row["policy"] for row in rows["data"]]

        assert links_of_bob() == [config_seed.EDITOR_POLICY]
        assert project.run("status", "--env", "prod", "--exit-code").code == 0
        again = project.run("push", "--env", "prod", "--yes")
        assert again.code == 0 and "No configuration changes." in again.output, again.output

        # 10.x has no such links: the user goes without, and the plan says so.
        crossed = project.run("push", "--env", "older", "--yes", "--force")
        assert crossed.code == 0, crossed.output + crossed.err
        said = "the policies 1 user(s) hold of their own have no place there and are left out: bob@example.com"
        assert said in crossed.output, crossed.output
        with _http(older) as http:
            found = http.get("/users", params={"filter[email][_eq]": "bob@example.com"}).json()["data"]
            assert [u["role"] for u in found] == [config_seed.VIEWER_ROLE]
        assert "No configuration changes." in project.run("plan", "--env", "older", "--force").output

        with _http(source) as http:  # taken away on dev
            rows = http.get("/access", params={"filter[user][_eq]": bob}).json()["data"]
            assert http.delete(f"/access/{rows[0]['id']}").is_success
        assert project.run("pull", "--env", "dev", "--commit").code == 0
        drifted = project.run("status", "--env", "prod", "--exit-code")
        assert drifted.code != 0, drifted.output
        refused = project.run("push", "--env", "prod", "--yes")
        assert refused.code == 3 and "--allow-config-removal" in refused.err, refused.output
        assert links_of_bob() == [config_seed.EDITOR_POLICY]
        removed = project.run("push", "--env", "prod", "--yes", "--allow-config-removal")
        assert removed.code == 0 and "- access bob@example.com → policy Editors" in removed.out, removed.output
        assert links_of_bob() == []
        assert project.run("status", "--env", "prod", "--exit-code").code == 0
