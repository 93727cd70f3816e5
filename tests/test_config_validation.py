"""The configuration kinds' files are validated as the schema's are: one validation, shared by
``check``, ``diff``, ``plan``, ``push`` and ``pull``, naming file and line, never crashing."""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directus_gitops.base.errors import GitOpsError, InvalidSnapshotError
from directus_gitops.engine import configuration as sync
from directus_gitops.files import store, yamlio
from directus_gitops.model import validate
from directus_gitops.model.kinds import compare, files, model
from directus_gitops.model.kinds import validate as checks
from directus_gitops.server import config_apply as apply
from tests.conftest import Project

SNAPSHOT: dict[str, Any] = {
    "version": 1,
    "directus": "12.4.1",
    "vendor": "sqlite",
    "collections": [{"collection": "articles", "meta": None, "schema": {"name": "articles"}}],
    "fields": [],
    "relations": [],
}


def _permissions() -> list[dict[str, Any]]:
    return [
        # What Directus accepts and users have: no field list, an empty rule.
        {"collection": "articles", "action": "read", "fields": None, "permissions": {}},
        {"collection": "articles", "action": "update", "fields": ["title"], "permissions": {"id": {"_eq": 1}}},
        {"collection": "directus_files", "action": "read", "fields": ["*"], "permissions": None},
    ]


def _flow() -> dict[str, Any]:
    def op(ident: str, key: str, x: int, resolve: str | None = None, reject: str | None = None) -> dict[str, Any]:
        return {
            "id": ident,
            "key": key,
            "name": key.title(),
            "type": "log",
            "position_x": x,
            "position_y": 1,
            "options": {},
            "resolve": resolve,
            "reject": reject,
        }

    return {
        "id": "f1",
        "name": "Notify on publish",
        "status": "active",
        "trigger": "event",
        "accountability": "all",
        # Directus does not check a trigger's collections: neither does the validation.
        "options": {"type": "action", "scope": ["items.update"], "collections": ["not_a_collection"]},
        "operation": "check",
        "operations": [
            op("o1", "check", 19, resolve="notify", reject="log_failure"),
            op("o2", "notify", 37),
            op("o3", "log_failure", 37),
            op("o4", "unreached", 55),  # no link reaches it: Directus keeps such operations
        ],
    }


def full_state(kind_model: str = model.POLICIES) -> dict[str, Any]:
    """A configuration with an item of every kind, the way pull writes it."""
    state: dict[str, Any] = {
        "model": kind_model,
        "flows": [_flow()],
        "dashboards": [
            {
                "id": "d1",
                "name": "Ops",
                "icon": "dashboard",
                "note": None,
                "color": None,
                "panels": [
                    {
                        "id": "pa1",
                        "name": "Count",
                        "type": "metric",
                        "show_header": True,
                        "position_x": 1,
                        "position_y": 1,
                        "width": 8,
                        "height": 6,
                        "options": {"collection": "articles"},
                    }
                ],
            }
        ],
        "presets": [
            {"role": None, "collection": "articles", "bookmark": None, "layout": "tabular", "layout_query": {}},
            {"role": "r-editor", "collection": "directus_files", "bookmark": "Mine", "refresh_interval": 10},
        ],
        "settings": {"project_name": "Demo", "project_color": "#6644FF", "module_bar": [{"type": "link"}]},
        "translations": [{"language": "en-US", "key": "greeting", "value": "Hello"}],
        "folders": [
            {"id": "fo1", "name": "Images", "parent": None},
            {"id": "fo2", "name": "Logos", "parent": "fo1"},
        ],
        "users": [{"email": "ed@example.org", "role": "r-editor", "status": "active", "provider": "default"}],
    }
    if kind_model == model.POLICIES:
        state["roles"] = [
            {"id": "admin-role", "builtin": "administrator", "name": "Administrator", "icon": "verified",
             "parent": None, "policies": ["admin-policy"]},
            {"id": "r-editor", "name": "Editor", "icon": "edit", "parent": None, "policies": ["p-editors"]},
            {"id": "r-junior", "name": "Junior", "icon": "edit", "parent": "r-editor", "policies": []},
        ]  # fmt: skip
        state["policies"] = [
            {"id": "admin-policy", "builtin": "administrator", "name": "Administrator", "icon": "verified",
             "admin_access": True, "app_access": True, "permissions": []},
            {"id": "public-policy", "builtin": "public", "public": True, "name": "$t:public_label", "icon": "public",
             "admin_access": False, "app_access": False, "permissions": _permissions()[:1]},
            {"id": "p-editors", "name": "Editors", "icon": "edit", "ip_access": None, "enforce_tfa": False,
             "admin_access": False, "app_access": True, "permissions": _permissions()},
        ]  # fmt: skip
        state["users"][0]["policies"] = ["p-editors"]  # (11+: a policy of the user's own)
    else:
        state["roles"] = [
            {"id": "admin-role", "builtin": "administrator", "name": "Administrator", "icon": "verified",
             "admin_access": True, "app_access": True, "permissions": []},
            {"id": "r-editor", "name": "Editor", "icon": "edit", "admin_access": False, "app_access": True,
             "permissions": _permissions()},
        ]  # fmt: skip
        state["public"] = {"permissions": _permissions()[:1]}
        state["_translations_in_settings"] = False
    return model.canonical(state)


def folder_files(
    state: dict[str, Any], snapshot: dict[str, Any] | None = None, ignored: dict[str, set[str]] | None = None
) -> dict[str, bytes]:
    """A schema folder's files: ``snapshot`` (default SNAPSHOT) and ``state``."""
    rendered, entry = files.render(state, ignored)
    return store.render(snapshot or SNAPSHOT, "split", entry) | rendered


def _load(tree_files: dict[str, bytes]) -> Any:
    """What every reader does: the schema folder's validation, then the configuration."""
    tree = store.memory_tree(tree_files, "mem")
    validate.load_tree(tree)
    return sync.load(tree.read, "mem")


@pytest.mark.parametrize("kind_model", [model.POLICIES, model.ROLES])
def test_a_configuration_of_every_kind_passes_and_reads_back(kind_model: str, tmp_path: Path) -> None:
    state = full_state(kind_model)
    tree_files = folder_files(state)
    assert _load(tree_files) == {k: v for k, v in state.items() if not k.startswith("_")}
    store.write_tree(tmp_path / "schema", tree_files)
    assert validate.check_folder(tmp_path / "schema", "split").problems == []


def test_every_synced_property_is_declared() -> None:
    """The validation's tables hold every property pull writes (else pull's files would fail)."""
    declared = [
        (checks.ROLE_11, (*model.ROLE_FIELDS_POLICIES, "id", "builtin", "policies")),
        (checks.ROLE_10, (*model.ROLE_FIELDS_ROLES, "id", "builtin", "permissions")),
        (checks.POLICY, (*model.POLICY_FIELDS, "id", "builtin", "public", "permissions")),
        (checks.PERMISSION, model.PERMISSION_FIELDS),
        (checks.FLOW, (*model.FLOW_FIELDS, "id", "operation", "operations")),
        (checks.OPERATION, (*model.OPERATION_FIELDS, "id", "resolve", "reject")),
        (checks.DASHBOARD, (*model.DASHBOARD_FIELDS, "id", "panels")),
        (checks.PANEL, (*model.PANEL_FIELDS, "id")),
        (checks.PRESET, model.PRESET_FIELDS),
        (checks.TRANSLATION, model.TRANSLATION_FIELDS),
        (checks.FOLDER, (*model.FOLDER_FIELDS, "id")),
        (checks.USER, model.USER_FIELDS),
    ]
    for table, fields in declared:
        assert set(table) == set(fields)


# --------------------------------------------------------------------------- one rule at a time


def _edit(path: str, change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, bytes]], None]:
    def edit(tree_files: dict[str, bytes]) -> None:
        document = yamlio.load(tree_files[path].decode())
        change(document)
        try:
            tree_files[path] = yamlio.dump(document).encode()
        except TypeError:  # what our writer never writes (a date)
            tree_files[path] = yaml.safe_dump(document, sort_keys=False).encode()

    return edit


FLOW = "config/flows/notify-on-publish.yaml"
EDITORS = "config/policies/editors.yaml"


def _op(document: dict[str, Any], key: str) -> dict[str, Any]:
    return next(op for op in document["operations"] if op["key"] == key)


def _unnamed(document: dict[str, Any]) -> None:
    del _op(document, "notify")["key"]


# name: (the breakage, the file, the text on the line named, what the message says)
RULES: dict[str, tuple[Callable[[dict[str, bytes]], None], str, str, str]] = {
    "resolve names a missing operation": (
        _edit(FLOW, lambda d: _op(d, "check").update(resolve="nowhere")),
        FLOW,
        "resolve: nowhere",
        "operation 'check': 'resolve' names 'nowhere', which is not the key of an operation of this flow",
    ),
    "the first operation is missing": (
        _edit(FLOW, lambda d: d.update(operation="gone")),
        FLOW,
        "operation: gone",
        "'operation' names 'gone', which is not the key",
    ),
    "a cycle of operations": (
        _edit(FLOW, lambda d: _op(d, "log_failure").update(resolve="check")),
        FLOW,
        "resolve: check",
        "operations 'check' → 'log_failure' → 'check' form a cycle along resolve/reject links",
    ),
    "two operations resolve to one": (
        _edit(FLOW, lambda d: _op(d, "unreached").update(resolve="notify")),
        FLOW,
        "resolve: notify",  # the second one
        "'resolve' names 'notify', which is already the resolve of operation 'check' (Directus keeps resolve links",
    ),
    "status 12345": (
        _edit(FLOW, lambda d: d.update(status=12345)),
        FLOW,
        "status: 12345",
        "'status' must be one of active, inactive, not 12345",
    ),
    "an unknown trigger": (
        _edit(FLOW, lambda d: d.update(trigger="hook")),
        FLOW,
        "trigger: hook",
        "'trigger' must be one of event, webhook, operation, schedule, manual or null, not 'hook'",
    ),
    "an unknown accountability": (
        _edit(FLOW, lambda d: d.update(accountability="none")),
        FLOW,
        "accountability: none",
        "'accountability' must be one of all, activity or null",
    ),
    "operations: oops": (
        _edit(FLOW, lambda d: d.update(operations="oops")),
        FLOW,
        "operations: oops",
        "'operations' must be a list, not 'oops'",
    ),
    "an operation without key": (_edit(FLOW, _unnamed), FLOW, "id: o2", "'key' is missing"),
    "two operations with one key": (
        _edit(FLOW, lambda d: _op(d, "unreached").update(key="notify")),
        FLOW,
        "key: notify",  # the second one
        "operation key 'notify' is defined again",
    ),
    "an operation position that is no integer": (
        _edit(FLOW, lambda d: _op(d, "notify").update(position_x="left")),
        FLOW,
        "position_x: left",
        "'position_x' must be an integer, not 'left'",
    ),
    "a date in options": (
        _edit(FLOW, lambda d: _op(d, "notify").update(options={"when": datetime.date(2026, 1, 1)})),
        FLOW,
        "when: 2026-01-01",
        "'options.when' holds a date value, which JSON has no type for (quote it)",
    ),
    "an unknown property": (
        _edit(FLOW, lambda d: d.update(colour="red")),
        FLOW,
        "colour: red",
        "unknown property 'colour' (it is not synced)",
    ),
    "permissions: all": (
        _edit(EDITORS, lambda d: d.update(permissions="all")),
        EDITORS,
        "permissions: all",
        "'permissions' must be a list, not 'all'",
    ),
    "a permission for a missing collection": (
        _edit(EDITORS, lambda d: d["permissions"][0].update(collection="ghosts")),
        EDITORS,
        "collection: ghosts",
        "permission ghosts.read: the schema defines no collection 'ghosts'",
    ),
    "an unknown action": (
        _edit(EDITORS, lambda d: d["permissions"][0].update(action="publish")),
        EDITORS,
        "action: publish",
        "'action' must be one of create, read, update, delete, share, not 'publish'",
    ),
    "two permissions for one collection and action": (
        _edit(EDITORS, lambda d: d["permissions"].append(dict(d["permissions"][0]))),
        EDITORS,
        "- collection: articles",  # the first line of the copy is found after the original
        "the permission (collection, action) ('articles', 'read') is defined again",
    ),
    "fields that are no list": (
        _edit(EDITORS, lambda d: d["permissions"][1].update(fields="title")),
        EDITORS,
        "fields: title",
        "'fields' must be a list of strings or null, not 'title'",
    ),
    "a role's missing policy": (
        _edit("config/roles/editor.yaml", lambda d: d.update(policies=["p-gone"])),
        "config/roles/editor.yaml",
        "- p-gone",
        "role \"Editor\": policy 'p-gone' is not defined",
    ),
    "a user's missing policy": (
        _edit("config/users.yaml", lambda d: d["items"][0].update(policies=["p-gone"])),
        "config/users.yaml",
        "- p-gone",
        "user ed@example.org: policy 'p-gone' is not defined",
    ),
    "a role's missing parent": (
        _edit("config/roles/junior.yaml", lambda d: d.update(parent="r-gone")),
        "config/roles/junior.yaml",
        "parent: r-gone",
        "role \"Junior\": parent 'r-gone' is not defined",
    ),
    "two roles with one id": (
        _edit("config/roles/junior.yaml", lambda d: d.update(id="r-editor")),
        "config/roles/junior.yaml",
        "id: r-editor",
        "role id 'r-editor' is defined again (also in config/roles/editor.yaml)",
    ),
    "a preset's missing role": (
        _edit("config/presets.yaml", lambda d: d["items"][1].update(role="r-gone")),
        "config/presets.yaml",
        "role: r-gone",
        "preset: role 'r-gone' is not defined",
    ),
    "a preset for a missing collection": (
        _edit("config/presets.yaml", lambda d: d["items"][0].update(collection="ghosts")),
        "config/presets.yaml",
        "collection: ghosts",
        "preset: the schema defines no collection 'ghosts'",
    ),
    "a folder's missing parent": (
        _edit("config/folders.yaml", lambda d: d["items"][1].update(parent="fo-gone")),
        "config/folders.yaml",
        "parent: fo-gone",
        "parent 'fo-gone' is not defined",
    ),
    "folders in a circle": (
        _edit("config/folders.yaml", lambda d: d["items"][0].update(parent="fo2")),
        "config/folders.yaml",
        "parent: fo2",
        "folder parents run in a circle: 'Images' → 'Logos' → 'Images'",
    ),
    "a translation without a string value": (
        _edit("config/translations.yaml", lambda d: d["items"][0].update(value=["Hello"])),
        "config/translations.yaml",
        "value:",
        "'value' must be a string, not ['Hello']",
    ),
    "settings that are no mapping": (
        _edit("config/settings.yaml", lambda d: d.update(settings=["project_name"])),
        "config/settings.yaml",
        "settings:",
        "'settings' must be a mapping, not ['project_name']",
    ),
    "a panel without its size": (
        _edit("config/dashboards/ops.yaml", lambda d: d["panels"][0].pop("width")),
        "config/dashboards/ops.yaml",
        "- id: pa1",
        "panel 'Count': 'width' is missing",
    ),
    "a dashboard whose panels are no list": (
        _edit("config/dashboards/ops.yaml", lambda d: d.update(panels={"id": "pa1"})),
        "config/dashboards/ops.yaml",
        "panels:",
        "'panels' must be a list",
    ),
    "an unknown kind": (
        _edit(FLOW, lambda d: d.update(kind="webhook")),
        FLOW,
        "kind: webhook",
        "unknown kind 'webhook'",
    ),
    "a file the manifest lists twice": (
        _edit(store.MANIFEST, lambda d: d["config"]["files"].append(FLOW)),
        store.MANIFEST,
        f"- {FLOW}",  # the second one
        f"config: lists {FLOW} twice",
    ),
}


def _line(text: str, marker: str, last: bool) -> int:
    numbers = [number for number, line in enumerate(text.splitlines(), 1) if marker in line]
    assert numbers, f"{marker!r} not found"
    return numbers[-1] if last else numbers[0]


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_names_file_and_line(name: str) -> None:
    breakage, relpath, marker, message = RULES[name]
    tree_files = folder_files(full_state())
    breakage(tree_files)
    expected = f"mem/{relpath}:{_line(tree_files[relpath].decode(), marker, last=True)}: "
    with pytest.raises(InvalidSnapshotError) as refused:
        _load(tree_files)
    assert any(p.startswith(expected) and message in p for p in refused.value.problems), refused.value.problems
    # files.parse (what diff, plan and push read the configuration with) agrees, alone.
    tree = store.memory_tree(tree_files, "mem")
    manifest = store.read_manifest(tree.read, "mem")
    assert manifest is not None
    if relpath != store.MANIFEST and "collection 'ghosts'" not in message:  # (the schema: load_tree's part)
        with pytest.raises(InvalidSnapshotError) as again:
            files.parse(tree.read, "mem", manifest["config"])
        assert any(p.startswith(expected) and message in p for p in again.value.problems), again.value.problems


def test_what_ignore_rules_keep_out_of_the_files_is_listed_and_accepted() -> None:
    """A permission on a collection the schema files leave out, a role whose parent, a user
    whose role and a folder whose parent is an ignored item: all exist on each target."""
    state = full_state()
    state["policies"][2]["permissions"].append({"collection": "logs", "action": "read", "fields": ["*"]})
    state["roles"][2]["parent"] = "r-contractor"
    state["users"][0]["role"] = "r-contractor"
    state["folders"][1]["parent"] = "fo-private"
    with pytest.raises(InvalidSnapshotError) as refused:
        _load(folder_files(state))
    assert len(refused.value.problems) == 4, refused.value.problems
    ignored = {"collections": {"logs"}, "roles": {"r-contractor"}, "folders": {"fo-private"}}
    rendered, entry = files.render(state, ignored)
    assert entry["ignored"] == {"collections": ["logs"], "folders": ["fo-private"], "roles": ["r-contractor"]}
    assert _load(store.render(SNAPSHOT, "split", entry) | rendered) is not None


def test_pull_lists_what_it_names_that_ignore_rules_leave_out() -> None:
    """``pull`` lists in the manifest what the files it writes name that ignore rules keep out
    (and refuses what names nothing on the server)."""
    from directus_gitops.base.errors import SnapshotError
    from directus_gitops.model.config import Target
    from directus_gitops.model.selection import Rules

    served = {
        "/roles": [
            {"id": "r-admin", "name": "Administrator", "icon": "verified", "parent": None},
            {"id": "r-contractor", "name": "Contractor", "icon": "work", "parent": None},
            {"id": "r-junior", "name": "Junior", "icon": "work", "parent": "r-contractor"},
        ],
        "/policies": [
            {"id": "p-admin", "name": "Administrator", "icon": "verified", "admin_access": True, "app_access": True}
        ],
        "/access": [{"id": "a1", "role": "r-admin", "policy": "p-admin", "user": None}],
        "/permissions": [
            {"id": 1, "policy": "p-admin", "collection": "logs", "action": "read", "fields": ["*"]},
        ],
        "/folders": [
            {"id": "fo-private", "name": "Private", "parent": None},
            {"id": "fo-child", "name": "Child", "parent": "fo-private"},
        ],
    }

    class Client:
        target = Target("dev", "http://dev.example", "DIRECTUS_DEV_TOKEN", "t")

        def read(self, path: str, params: Any = None) -> Any:
            return served.get(path, [])

    schema = {**SNAPSHOT, "collections": [*SNAPSHOT["collections"], {"collection": "logs", "meta": None}]}
    rules = Rules(collections=("logs",), config=("role:Contractor", "folder:Private"))
    pulled = sync.pull(Client(), ["schema", "access", "folders"], "12.4.1", rules, schema)  # type: ignore[arg-type]
    assert pulled is not None
    assert pulled.entry["ignored"] == {"collections": ["logs"], "folders": ["fo-private"], "roles": ["r-contractor"]}
    written = {k: v for k, v in pulled.files.items()} | store.render(SNAPSHOT, "split", pulled.entry)
    assert _load(written) is not None

    served["/permissions"].append({"id": 2, "policy": "p-admin", "collection": "ghosts", "action": "read"})
    with pytest.raises(SnapshotError) as refused:
        sync.pull(Client(), ["schema", "access", "folders"], "12.4.1", rules, schema)  # type: ignore[arg-type]
    assert "refusing to write the configuration of 'dev' (http://dev.example)" in refused.value.message
    assert re.search(r"config/policies/administrator\.yaml:\d+: .*no collection 'ghosts'", refused.value.message)


# --------------------------------------------------------------------------- every command alike


MEASURED = [
    "resolve names a missing operation",
    "a cycle of operations",
    "status 12345",
    "a permission for a missing collection",
    "operations: oops",
    "an operation without key",
    "permissions: all",
    "a preset's missing role",
]


@pytest.mark.parametrize("name", MEASURED)
def test_check_diff_plan_and_push_refuse_alike_before_any_request(
    project: Project, counting_server: tuple[str, list[str]], name: str
) -> None:
    url, requests = counting_server
    project.configure(staging=url)
    project.token("staging", "secret-token-value")
    tree_files = folder_files(full_state())
    store.write_tree(project.schema, tree_files)
    project.git("add", "schema")
    project.git("commit", "--quiet", "-m", "A valid configuration")
    breakage, relpath, marker, message = RULES[name]
    breakage(tree_files)
    store.write_tree(project.schema, tree_files)
    project.git("commit", "--quiet", "-am", f"Break: {name}")
    line = _line((project.schema / relpath).read_text(), marker, last=True)
    finding = re.compile(rf"schema/{re.escape(relpath)}:{line}: .*{re.escape(message)}")

    runs = {
        "check": project.run("check"),
        "check --format json": project.run("check", "--format", "json"),
        "diff of two revisions": project.run("diff", "HEAD~1", "HEAD"),
        "diff of the working tree": project.run("diff", "HEAD~1"),
        "plan": project.run("plan", "--env", "staging"),
        "push": project.run("push", "--env", "staging", "--yes"),
    }
    for command, result in runs.items():
        assert result.code == 1, f"{command}: {result.output}"
        assert "unexpected error" not in result.output
        shown = result.out if command == "check --format json" else result.err
        if command == "check --format json":
            import json

            problems = json.loads(shown)["checked"][0]["problems"]
            assert any(
                p["path"] == f"schema/{relpath}" and p["line"] == line and message in p["message"] for p in problems
            ), problems
            continue
        assert finding.search(shown), f"{command} does not name file and line:\n{shown}"
        assert result.out == "", f"{command} printed results for files it refuses"
    assert requests == [], "a request reached the server"


def test_a_saved_plan_with_a_broken_configuration_is_refused_before_any_request(
    project: Project, counting_server: tuple[str, list[str]]
) -> None:
    import json

    url, requests = counting_server
    project.configure(staging=url)
    project.token("staging", "secret-token-value")
    tree_files = folder_files(full_state())
    RULES["resolve names a missing operation"][0](tree_files)
    rendered = {path: data.decode() for path, data in tree_files.items() if path.startswith("config/")}
    entry = yamlio.load(tree_files[store.MANIFEST].decode())["config"]
    plan = project.root / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "format": "directus-gitops-plan",
                "format_version": "1",
                "hash": None,
                "diff": None,
                "snapshot": SNAPSHOT,
                "config": {"entry": entry, "files": rendered, "target": "x"},
            }
        )
    )
    result = project.run("push", "--env", "staging", "--plan", str(plan), "--yes")
    assert result.code == 1, result.output
    assert re.search(rf"plan\.json/{re.escape(FLOW)}:\d+: .*'resolve' names 'nowhere'", result.err), result.err
    assert requests == []


# --------------------------------------------------------------------------- anything at all


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["check", "notify", "articles", "r-editor", "p-editors", "fo1", "active", "read", "event"]),
    st.dates(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(st.text(max_size=6), st.integers(), st.sampled_from(["kind", "id", "key"])), inner, max_size=3
        ),
    ),
    max_leaves=8,
)


def _places(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a document: each existing value, and a new key in each mapping."""
    yield at
    if isinstance(value, dict):
        yield (*at, "_new_")
        for key, item in value.items():
            yield from _places(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*at, index))


def _put(document: Any, at: tuple[Any, ...], value: Any) -> Any:
    if not at:
        return value
    parent = document
    for part in at[:-1]:
        parent = parent[part]
    parent[at[-1]] = value
    return document


_BASES = {
    model.POLICIES: folder_files(full_state(model.POLICIES), ignored={"collections": {"logs"}, "roles": {"r-x"}}),
    model.ROLES: folder_files(full_state(model.ROLES)),
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind_model=st.sampled_from([model.POLICIES, model.ROLES]), value=_VALUES)
def test_any_value_anywhere_gives_problems_or_a_state_never_a_crash(
    data: st.DataObject, kind_model: str, value: Any
) -> None:
    tree_files = dict(_BASES[kind_model])
    config_files = [*sorted(path for path in tree_files if path.startswith("config/")), store.MANIFEST]
    relpath = data.draw(st.sampled_from(config_files), label="file")
    document = yamlio.load(tree_files[relpath].decode())
    if relpath == store.MANIFEST:  # the manifest's configuration entry only
        places = [("config", *at) for at in _places(document["config"])]
    else:
        places = list(_places(document))
    at = data.draw(st.sampled_from(places), label="at")
    document = _put(copy.deepcopy(document), at, value)
    tree_files[relpath] = yaml.safe_dump(document, allow_unicode=True).encode()

    tree = store.memory_tree(tree_files, "mem")
    try:
        validate.load_tree(tree)
    except GitOpsError as refused:
        assert isinstance(refused, InvalidSnapshotError) or relpath == store.MANIFEST, refused
        assert all(re.match(r"mem/\S+(:\d+)?: ", p) for p in getattr(refused, "problems", [])), refused
        return
    # Accepted: every reader gets a state, and what push does with it works on it.
    state = sync.load(tree.read, "mem")
    if state is None:  # a manifest with ``config: null`` lists no configuration
        assert (store.read_manifest(tree.read, "mem") or {}).get("config") is None
        return
    empty = {"model": state["model"]}
    changes = compare.compare(empty, state)
    apply.steps(changes, state, empty)
    compare.text(changes)
    files.render(state)
    sync.fingerprint(state)
