"""Roles and permissions carried between Directus's two access models (rule ``access-model``,
model/kinds/access_models.py), as Directus's own upgrade to 11 and downgrade from it do."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from directus_gitops.base.errors import RefusedError
from directus_gitops.engine import configuration as sync
from directus_gitops.model.kinds import access_models, model
from directus_gitops.model.kinds import settings as settings_kind

READ = {"collection": "articles", "action": "read", "fields": ["id", "title"], "permissions": None}
UPDATE = {"collection": "articles", "action": "update", "fields": ["title"], "permissions": {"status": {"_eq": "x"}}}


def roles_state() -> dict[str, Any]:
    """Files pulled from 9.x/10.x: the administrator, an editor and the public role."""
    return model.canonical(
        {
            "model": "roles",
            "roles": [
                {
                    "id": "admin-role",
                    "builtin": "administrator",
                    "name": "Administrator",
                    "icon": "verified",
                    "description": "$t:admin_description",
                    "ip_access": None,
                    "enforce_tfa": False,
                    "admin_access": True,
                    "app_access": True,
                    "permissions": [],
                },
                {
                    "id": "r-editor",
                    "name": "Editor",
                    "icon": "edit",
                    "description": None,
                    "ip_access": ["10.0.0.1"],
                    "enforce_tfa": True,
                    "admin_access": False,
                    "app_access": True,
                    "permissions": [READ, UPDATE],
                },
            ],
            "public": {"permissions": [READ]},
            "users": [{"email": "ed@example.com", "role": "r-editor"}],
        }
    )


def target_policies() -> dict[str, Any]:
    """An 11+ target's bootstrapped policies, as read (marked)."""
    return {
        "model": "policies",
        "roles": [],
        "policies": [
            {
                "id": "t-admin",
                "builtin": "administrator",
                "name": "Administrator",
                "description": "$t:admin_description",
            },
            {"id": "t-public", "builtin": "public", "public": True, "name": "$t:public_label", "icon": "public"},
        ],
    }


def test_roles_become_policies_as_directus_upgrade_makes_them() -> None:
    converted, note = access_models.convert(roles_state(), "policies", target_policies())
    assert note is not None and note.startswith("rule access-model:") and "upgrade to 11" in note
    assert converted["model"] == "policies" and "public" not in converted
    policies = {p["id"]: p for p in converted["policies"]}
    editor = policies["r-editor"]  # the role's id, name, icon and access, with its permissions
    assert (editor["name"], editor["icon"], editor["ip_access"], editor["enforce_tfa"]) == (
        "Editor",
        "edit",
        ["10.0.0.1"],
        True,
    )
    assert editor["permissions"] == [READ, UPDATE] and not editor["admin_access"] and editor["app_access"]
    roles = {r["id"]: r for r in converted["roles"]}
    assert roles["r-editor"] == {
        "id": "r-editor",
        "name": "Editor",
        "icon": "edit",
        "description": None,
        "parent": None,
        "policies": ["r-editor"],
    }
    admin = policies["admin-policy"]
    assert (
        admin["builtin"] == "administrator"
        and admin["admin_access"]
        and roles["admin-role"]["policies"] == ["admin-policy"]
    )
    assert admin["description"] == "$t:admin_description"  # the target's own bootstrap text
    public = policies["public-policy"]
    assert public["public"] and public["permissions"] == [READ] and public["name"] == "$t:public_label"
    assert converted["users"] == roles_state()["users"]  # other kinds are untouched
    # Without a target to read: Directus's upgrade's own text.
    alone, _ = access_models.convert(roles_state(), "policies")
    assert next(p for p in alone["policies"] if p["id"] == "admin-policy")["description"] == (
        "$t:admin_policy_description"
    )


def test_policies_become_roles_and_back_unchanged() -> None:
    upgraded, _ = access_models.convert(roles_state(), "policies", target_policies())
    downgraded, note = access_models.convert(upgraded, "roles")
    assert note is not None and "downgrade from 11" in note and "linked to no role" not in note
    assert model.canonical(downgraded) == roles_state()
    assert access_models.convert(roles_state(), "roles") == (roles_state(), None)  # same model: as it is


def eleven(**changes: Any) -> dict[str, Any]:
    """11+ files: Editor (child of Staff) linked to Editors; Staff to Readers; public to Visitors."""
    state: dict[str, Any] = {
        "model": "policies",
        "roles": [
            {"id": "r-staff", "name": "Staff", "parent": None, "policies": ["p-readers"]},
            {"id": "r-editor", "name": "Editor", "parent": "r-staff", "policies": ["p-editors"]},
        ],
        "policies": [
            {
                "id": "p-readers",
                "name": "Readers",
                "app_access": True,
                "ip_access": ["10.0.0.2"],
                "permissions": [READ],
            },
            {"id": "p-editors", "name": "Editors", "ip_access": ["10.0.0.1"], "permissions": [READ, UPDATE]},
            {"id": "p-visitors", "name": "Visitors", "public": True, "permissions": [READ]},
            {"id": "p-spare", "name": "Spare", "permissions": [UPDATE]},
        ],
    }
    state.update(changes)
    return state


def test_a_role_gets_what_its_policies_and_its_parents_grant() -> None:
    converted, note = access_models.convert(eleven(), "roles")
    roles = {r["id"]: r for r in converted["roles"]}
    editor = roles["r-editor"]
    assert editor["app_access"] and not editor["admin_access"] and not editor["enforce_tfa"]
    assert editor["ip_access"] == ["10.0.0.1", "10.0.0.2"]  # its own policy's and its parent's
    assert editor["permissions"] == [READ, UPDATE]  # the same permission from two policies is one
    assert roles["r-staff"]["permissions"] == [READ] and "parent" not in editor and "policies" not in editor
    assert converted["public"] == {"permissions": [READ]} and "policies" not in converted
    assert note is not None and "1 policy(ies) linked to no role" in note and note.endswith(": Spare")


def test_what_the_older_model_cannot_hold_is_refused() -> None:
    clashing = eleven()
    clashing["policies"][0]["permissions"] = [{**READ, "fields": ["*"]}]
    with pytest.raises(RefusedError) as refused:
        access_models.convert(clashing, "roles")
    message = refused.value.message
    assert "role 'Editor' gets articles.read from the policies" in message and "different rules" in message
    assert refused.value.exit_code == 3 and "nothing was applied" in message
    public_app = eleven()
    public_app["policies"][2]["app_access"] = True
    with pytest.raises(RefusedError, match="cannot give the public"):
        access_models.convert(public_app, "roles")


def test_status_sees_drift_across_the_models() -> None:
    upgraded, _ = access_models.convert(roles_state(), "policies", target_policies())
    target = copy.deepcopy(upgraded)
    assert not sync.drift(roles_state(), target)  # a target Directus upgraded itself: no drift
    next(p for p in target["policies"] if p["id"] == "r-editor")["permissions"] = [READ]
    found = sync.drift(roles_state(), target)
    assert [(c.label, c.action) for c in found] == [("permission policy Editor: articles.update", "delete")]


def test_settings_a_newer_target_holds_are_kept_from_files_of_an_older_release() -> None:
    files = {"model": "roles", "settings": {"project_name": "Demo"}}
    target = {"settings": {"project_name": "Old", "mcp_enabled": False, "ai_models": ["a"], "project_color": None}}
    kept, names = settings_kind.kept_from_newer(files, target, "10.13.4", "11.17.4")
    assert names == ["ai_models", "mcp_enabled"]
    assert kept["settings"] == {"project_name": "Demo", "mcp_enabled": False, "ai_models": ["a"]}
    for older, newer in (("11.17.4", "11.17.4"), ("12.4.1", "11.17.4"), (None, "11.17.4")):
        same, names = settings_kind.kept_from_newer(files, target, older, newer)
        assert same == files and names == []  # the same or a newer release, or unknown: as the files say


def test_status_sees_no_drift_in_the_settings_a_newer_target_holds() -> None:
    files = {**roles_state(), "settings": {"project_name": "Demo"}}
    target, _ = access_models.convert(files, "policies", target_policies())
    target["settings"] = {"project_name": "Demo", "mcp_enabled": False}
    assert not sync.drift(files, target, releases=("10.13.4", "11.17.4"))
    assert [c.label for c in sync.drift(files, target)] == ["settings project settings"]  # releases unknown


def test_a_diff_across_the_models_shows_what_an_upgrade_did_not_make() -> None:
    upgraded, _ = access_models.convert(roles_state(), "policies")
    same = sync.diff(roles_state(), upgraded)
    assert same is not None and not same
    assert same.warnings[0].startswith("rule access-model: the older commit's files hold the 9.x/10.x access model")
    next(p for p in upgraded["policies"] if p["id"] == "r-editor")["app_access"] = False
    changed = sync.diff(roles_state(), upgraded)
    assert changed is not None and [c.label for c in changed] == ["policy Editor"]
