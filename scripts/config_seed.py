"""Seeds a real Directus with configuration through REST: roles, access, flows, dashboards, …

Used by the configuration-kinds tests (tests/test_config_kinds*.py) and the demo. The demo model's
``articles`` collection is what the permissions are about.
"""

from __future__ import annotations

from typing import Any

import httpx

EDITOR_ROLE = "6f9c1a3e-0000-4000-8000-000000000001"
VIEWER_ROLE = "6f9c1a3e-0000-4000-8000-000000000002"
EDITOR_POLICY = "6f9c1a3e-0000-4000-8000-000000000011"
VIEWER_POLICY = "6f9c1a3e-0000-4000-8000-000000000012"
FLOW = "6f9c1a3e-0000-4000-8000-000000000021"
DASHBOARD = "6f9c1a3e-0000-4000-8000-000000000031"
FOLDER = "6f9c1a3e-0000-4000-8000-000000000041"
OPS = {
    "check": "6f9c1a3e-0000-4000-8000-000000000051",
    "notify": "6f9c1a3e-0000-4000-8000-000000000052",
    "log_failure": "6f9c1a3e-0000-4000-8000-000000000053",
}


def client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _send(http: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    response = http.request(method, path, json=body)
    assert response.is_success, f"{method} {path}: {response.status_code} {response.text[:300]}"
    return response.json().get("data") if response.content else None


def seed(
    http: httpx.Client,
    *,
    policies: bool,
    filtered: bool = True,
    secret: str | None = None,
    legacy_translations: bool = False,
) -> None:
    """Two roles with field-level and filtered permissions, a flow of three operations with a
    resolve/reject branch, a dashboard with panels, a global and a role preset, changed
    settings, a translation string and a folder. ``secret`` goes into the flow's request.
    ``filtered=False`` grants whole actions (unlicensed Directus 12 allows no field lists or rules)."""
    permissions = [
        {
            "collection": "articles",
            "action": "read",
            "fields": ["id", "title", "status"],
            "permissions": {"status": {"_eq": "published"}},
        },
        {
            "collection": "articles",
            "action": "create",
            "fields": ["title", "slug", "status"],
            "validation": {"title": {"_nnull": True}},
            "presets": {"status": "draft"},
        },
        {
            "collection": "articles",
            "action": "update",
            "fields": ["title"],
            "permissions": {"status": {"_eq": "draft"}},
        },
        {"collection": "articles", "action": "delete", "permissions": {"status": {"_eq": "draft"}}},
    ]
    if not filtered:  # Directus 12 without a licence: all fields, no rules (else RESOURCE_RESTRICTED)
        permissions = [{"collection": p["collection"], "action": p["action"], "fields": ["*"]} for p in permissions]
    viewer = [{"collection": "articles", "action": "read", "fields": ["*"]}]
    if policies:
        _send(
            http,
            "POST",
            "/policies",
            {"id": EDITOR_POLICY, "name": "Editors", "icon": "edit", "app_access": True, "admin_access": False},
        )
        _send(
            http,
            "POST",
            "/policies",
            {"id": VIEWER_POLICY, "name": "Viewers", "app_access": False, "admin_access": False},
        )
        _send(http, "POST", "/roles", {"id": EDITOR_ROLE, "name": "Editor", "icon": "edit"})
        _send(http, "POST", "/roles", {"id": VIEWER_ROLE, "name": "Viewer", "parent": None})
        _send(http, "POST", "/access", {"role": EDITOR_ROLE, "policy": EDITOR_POLICY})
        _send(http, "POST", "/access", {"role": VIEWER_ROLE, "policy": VIEWER_POLICY})
        for item in permissions:
            _send(http, "POST", "/permissions", {**item, "policy": EDITOR_POLICY})
        for item in viewer:
            _send(http, "POST", "/permissions", {**item, "policy": VIEWER_POLICY})
    else:
        _send(http, "POST", "/roles", {"id": EDITOR_ROLE, "name": "Editor", "icon": "edit", "app_access": True})
        _send(http, "POST", "/roles", {"id": VIEWER_ROLE, "name": "Viewer", "app_access": False})
        for item in permissions:
            _send(http, "POST", "/permissions", {**item, "role": EDITOR_ROLE})
        for item in viewer:
            _send(http, "POST", "/permissions", {**item, "role": VIEWER_ROLE})

    _send(
        http,
        "POST",
        "/flows",
        {
            "id": FLOW,
            "name": "Notify on publish",
            "status": "active",
            "trigger": "event",
            "accountability": "all",
            "options": {"type": "action", "scope": ["items.update"], "collections": ["articles"]},
        },
    )
    headers = [{"header": "Authorization", "value": f"Bearer {secret}"}] if secret else []
    _send(
        http,
        "POST",
        "/operations",
        {
            "id": OPS["check"],
            "flow": FLOW,
            "key": "check",
            "name": "Check",
            "type": "condition",
            "position_x": 19,
            "position_y": 1,
            "options": {"filter": {"$trigger": {"payload": {"status": {"_eq": "published"}}}}},
        },
    )
    _send(
        http,
        "POST",
        "/operations",
        {
            "id": OPS["notify"],
            "flow": FLOW,
            "key": "notify",
            "name": "Notify",
            "type": "request",
            "position_x": 37,
            "position_y": 1,
            "options": {
                "method": "POST",
                "url": "https://hooks.example.com/publish",
                "headers": headers,
                "body": "{{$trigger.payload}}",
            },
        },
    )
    _send(
        http,
        "POST",
        "/operations",
        {
            "id": OPS["log_failure"],
            "flow": FLOW,
            "key": "log_failure",
            "name": "Log failure",
            "type": "log",
            "position_x": 37,
            "position_y": 17,
            "options": {"message": "not published"},
        },
    )
    _send(http, "PATCH", f"/operations/{OPS['check']}", {"resolve": OPS["notify"], "reject": OPS["log_failure"]})
    _send(http, "PATCH", f"/flows/{FLOW}", {"operation": OPS["check"]})

    _send(http, "POST", "/dashboards", {"id": DASHBOARD, "name": "Editorial", "icon": "dashboard"})
    _send(
        http,
        "POST",
        "/panels",
        {
            "id": "6f9c1a3e-0000-4000-8000-000000000061",
            "dashboard": DASHBOARD,
            "name": "Articles",
            "type": "metric",
            "position_x": 1,
            "position_y": 1,
            "width": 12,
            "height": 6,
            "show_header": True,
            "options": {"collection": "articles", "function": "count", "field": "id"},
        },
    )
    _send(
        http,
        "POST",
        "/panels",
        {
            "id": "6f9c1a3e-0000-4000-8000-000000000062",
            "dashboard": DASHBOARD,
            "name": "Note",
            "type": "label",
            "position_x": 13,
            "position_y": 1,
            "width": 8,
            "height": 6,
            "show_header": False,
            "options": {"text": "Hello"},
        },
    )
    _send(
        http,
        "POST",
        "/presets",
        {
            "collection": "articles",
            "bookmark": "Drafts",
            "user": None,
            "role": None,
            "layout": "tabular",
            "filter": {"status": {"_eq": "draft"}},
        },
    )
    _send(
        http,
        "POST",
        "/presets",
        {
            "collection": "articles",
            "bookmark": None,
            "user": None,
            "role": EDITOR_ROLE,
            "layout": "cards",
            "layout_query": {"cards": {"sort": ["-id"]}},
        },
    )
    _send(http, "PATCH", "/settings", {"project_name": "Config as code", "project_color": "#123456"})
    if legacy_translations:  # Directus 9.x: translation strings are a setting
        strings = [{"key": "greeting", "translations": {"en-US": "Hello"}}]
        _send(http, "PATCH", "/settings", {"translation_strings": strings})
    else:
        _send(http, "POST", "/translations", {"language": "en-US", "key": "greeting", "value": "Hello"})
    _send(http, "POST", "/folders", {"id": FOLDER, "name": "Images"})
