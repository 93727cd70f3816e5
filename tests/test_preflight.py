"""What an unlicensed Directus 12 refuses, predicted before a push: permissions with custom rules.

The cases below are what a real 12.4.1 without a licence answered to POST /permissions (403
RESOURCE_RESTRICTED or 200); tests/test_push_failures.py pushes such permissions to one.
"""

from __future__ import annotations

from typing import Any

import pytest

from directus_gitops.engine import preflight
from directus_gitops.model.kinds.change import ConfigChange, ConfigChangeSet

UNLICENSED = {"entitlements": {"custom_permission_rules_enabled": {"default": False}}}


@pytest.mark.parametrize(
    ("permission", "custom"),
    [
        ({"fields": ["*"], "permissions": {"status": {"_eq": "x"}}}, True),  # 403 on 12.4.1
        ({"fields": ["id"]}, True),  # 403
        ({"fields": None}, True),  # 403: no field list is not all fields
        ({"fields": ["*"], "permissions": {}}, False),  # 200
        ({"fields": ["*"], "permissions": None, "validation": None}, False),  # 200
        ({"fields": ["*"], "presets": {}}, False),  # 200
        ({"fields": ["*"], "validation": {"title": {"_nnull": True}}}, True),
    ],
)
def test_custom_rules_as_directus_12_counts_them(permission: dict[str, Any], custom: bool) -> None:
    assert preflight.has_custom_rule({"collection": "articles", "action": "read", **permission}) is custom


def test_the_app_permissions_directus_recommends_are_allowed_as_they_are() -> None:
    recommended = {
        "collection": "directus_files",
        "action": "delete",
        "permissions": {"uploaded_by": {"_eq": "$CURRENT_USER"}},
        "fields": ["*"],
    }
    assert not preflight.has_custom_rule(recommended)
    assert preflight.has_custom_rule({**recommended, "presets": {}})  # any presets: no longer the recommended one
    assert preflight.has_custom_rule({**recommended, "permissions": {"uploaded_by": {"_null": True}}})


@pytest.mark.parametrize(
    ("licence", "allowed"),
    [
        (UNLICENSED, False),
        ({"entitlements": {"custom_permission_rules_enabled": {"default": False, "override": True}}}, True),
        ({"entitlements": {"custom_permission_rules_enabled": {"default": True}}}, True),
        ({"entitlements": {"collections": {"limit": 25}}}, True),  # a licence that does not name it
        (None, True),  # no GET /license: Directus before 12
    ],
)
def test_the_entitlement_as_get_license_reports_it(licence: dict[str, Any] | None, allowed: bool) -> None:
    assert preflight.custom_rules_allowed(licence) is allowed


def _permission(action: str, name: str, entry: dict[str, Any]) -> ConfigChange:
    key = ("p-editors", "articles", name)
    return ConfigChange("permission", action, f"policy Editors: articles.{name}", key, "p-editors", entry=entry)  # type: ignore[arg-type]


def test_the_problem_names_the_count_and_the_first_few_and_reads_the_licence_only_when_needed() -> None:
    reads: list[int] = []

    def read_licence() -> dict[str, Any]:
        reads.append(1)
        return UNLICENSED

    plain = {"collection": "articles", "fields": ["*"]}
    filtered = {**plain, "permissions": {"status": {"_eq": "draft"}}}
    only_plain = ConfigChangeSet((_permission("create", "read", {**plain, "action": "read"}),))
    assert preflight.permission_problem(read_licence, only_plain, "prod") is None and not reads

    actions = ("create", "delete", "read", "share", "update")
    changes = ConfigChangeSet(
        (
            *(_permission("create", name, {**filtered, "action": name}) for name in actions),
            _permission("delete", "sort", {**filtered, "action": "sort"}),  # a removal sends no rules
        )
    )
    problem = preflight.permission_problem(read_licence, changes, "prod")
    assert problem is not None and reads == [1]
    assert problem.startswith("5 permission(s) with custom rules (policy Editors: articles.create, ")
    assert "articles.read and 2 more) are a restricted resource on 'prod'" in problem
    assert preflight.permission_problem(lambda: {"entitlements": {}}, changes, "prod") is None
