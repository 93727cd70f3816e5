"""Users' own policies (11+): read from the access links to the user, written in the user's
``policies``, pushed as access links of their own (users.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from directus_gitops.engine import configuration as sync
from directus_gitops.model.kinds import access_models, compare, identity, model
from directus_gitops.model.kinds.kind import Context, Ref
from directus_gitops.model.kinds.registry import BY_GROUP
from directus_gitops.model.selection import Rules
from directus_gitops.server import config_apply as apply
from tests.test_kinds import ADMIN_POLICY, ADMIN_ROLE, marked

USERS = BY_GROUP["users"]


def with_users(users: list[dict[str, Any]]) -> dict[str, Any]:
    return {**marked(), "users": copy.deepcopy(users)}


ED = {"email": "ed@example.org", "role": "r-editor"}


def test_a_users_own_policies_are_read_from_its_access_links_on_11_only() -> None:
    answers = {
        "/users": [{"id": "u1", **ED}, {"id": "u2", "email": "amy@example.org", "role": None}],
        "/access": [
            {"id": "a1", "role": "r-editor", "user": None, "policy": "p-editors"},  # (a role's: access.py)
            {"id": "a2", "role": None, "user": "u1", "policy": "p-reports"},
            {"id": "a3", "role": None, "user": "u1", "policy": "p-editors"},
        ],
    }

    def fetch(path: str, params: Any = None) -> Any:
        return answers[path]

    read = USERS.read(fetch, None, Context(model=model.POLICIES))
    assert [(u["email"], u["policies"], u["_access"]) for u in read] == [
        ("ed@example.org", ["p-editors", "p-reports"], {"p-reports": "a2", "p-editors": "a3"}),
        ("amy@example.org", [], {}),
    ]
    # 9.x/10.x have no such links: nothing is asked of /access.
    del answers["/access"]
    assert all("policies" not in u for u in USERS.read(fetch, None, Context(model=model.ROLES)))


def test_a_policy_given_to_a_user_is_an_access_link_made_after_the_user_by_its_new_id() -> None:
    current = with_users([])
    desired = with_users([{**ED, "policies": ["p-editors"]}])
    changes = compare.compare(current, desired)
    assert sorted((c.kind, c.action, c.name) for c in changes) == [
        ("access", "create", "ed@example.org → policy Editors"),
        ("user", "create", "ed@example.org"),
    ]
    assert changes.summary() == "+1 access link, +1 user"
    steps = apply.steps(changes, desired, current)
    assert [(s.method, s.path) for s in steps] == [("POST", "/users"), ("POST", "/access")]
    assert "policies" not in steps[0].body
    assert steps[1].body == {"user": Ref("directus_users", "ed@example.org"), "policy": "p-editors"}

    class Client:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str, Any]] = []

        def write(self, method: str, path: str, body: Any = None) -> Any:
            self.sent.append((method, path, body))
            return {"id": "u-new", **body} if path == "/users" else None

    client = Client()
    apply.run(client, steps, None, refs=apply.known(current))  # type: ignore[arg-type]
    assert client.sent[1] == ("POST", "/access", {"user": "u-new", "policy": "p-editors"})
    # A user the target has: its id is known before the push.
    current = with_users([{**ED, "_id": "u1", "policies": [], "_access": {}}])
    steps = apply.steps(compare.compare(current, desired), desired, current)
    client = Client()
    apply.run(client, steps, None, refs=apply.known(current))  # type: ignore[arg-type]
    assert client.sent == [("POST", "/access", {"user": "u1", "policy": "p-editors"})]


def test_a_policy_taken_from_a_user_needs_the_removal_consent_and_goes_before_the_policy() -> None:
    current = with_users([{**ED, "_id": "u1", "policies": ["p-editors"], "_access": {"p-editors": "a9"}}])
    desired = with_users([{**ED, "policies": []}])
    desired["policies"] = [p for p in desired["policies"] if p["id"] != "p-editors"]
    desired["roles"] = [{**r, "policies": []} if r["id"] == "r-editor" else r for r in desired["roles"]]
    changes = compare.compare(current, desired)
    link = next(c for c in changes if c.kind == "access" and c.key[0] == "ed@example.org")
    assert link.action == "delete" and link in changes.destructive
    steps = [(s.method, s.path) for s in apply.steps(changes, desired, current)]
    assert steps.index(("DELETE", "/access/a9")) < steps.index(("DELETE", "/policies/p-editors"))
    with pytest.raises(Exception, match="remove configuration"):
        sync.refuse_removals(changes)


def test_files_without_a_users_policies_leave_the_targets_links() -> None:
    current = with_users([{**ED, "_id": "u1", "policies": ["p-editors"], "_access": {"p-editors": "a9"}}])
    assert not compare.compare(current, with_users([ED]))


def test_the_older_access_model_leaves_users_own_policies_out_and_says_whose() -> None:
    desired = with_users([{**ED, "policies": ["p-editors"]}, {"email": "amy@example.org", "policies": []}])
    converted, note = access_models.convert(desired, model.ROLES)
    assert all("policies" not in u for u in converted["users"])
    assert note is not None and note.endswith(
        "the policies 1 user(s) hold of their own have no place there and are left out: ed@example.org"
    )
    users_only, note = access_models.convert({"model": model.POLICIES, "users": desired["users"]}, model.ROLES)
    assert all("policies" not in u for u in users_only["users"])
    assert note == (
        "rule access-model: the files hold the 11+ access model and the target the 9.x/10.x one: the policies 1 "
        "user(s) hold of their own have no place there and are left out: ed@example.org"
    )


def test_ignored_policies_and_the_bootstrapped_ones_ids() -> None:
    state = with_users([{**ED, "policies": ["p-editors", ADMIN_POLICY], "_access": {"p-editors": "a1"}}])
    kept, _ = USERS.ignore(state["users"], Rules(config=("policy:Edit*",)), Context(new=state))
    assert kept[0]["policies"] == [ADMIN_POLICY] and kept[0]["_access"] == {}
    symbolic = identity.symbolic(state)
    assert symbolic["users"][0]["policies"] == ["p-editors", "admin-policy"]
    assert identity.rename(symbolic, {"admin-policy": ADMIN_POLICY})["users"][0]["policies"][1] == ADMIN_POLICY


def test_a_push_taking_the_pushing_users_own_admin_policy_is_refused() -> None:
    me = {"email": "root@example.org", "role": "r-editor"}
    current = with_users([{**me, "_id": "u1", "policies": [ADMIN_POLICY], "_access": {ADMIN_POLICY: "a1"}}])
    desired = with_users([{**me, "policies": []}])

    class Client:
        def read(self, path: str, params: Any = None) -> Any:
            if path == "/users/me":
                return {"id": "u1", "role": "r-editor", "email": "root@example.org"}
            return [{"policy": ADMIN_POLICY}]  # the target's link, which the files take away

    plan = sync.Plan(desired, current, compare.compare(current, desired))
    assert "remove admin access from the user whose token runs it" in (sync.lockout(Client(), plan) or "")  # type: ignore[arg-type]
    kept = with_users([{**me, "policies": [ADMIN_POLICY]}])
    assert sync.lockout(Client(), sync.Plan(kept, current, compare.compare(current, kept))) is None  # type: ignore[arg-type]
    assert ADMIN_ROLE  # (the administrator role stays: the instance keeps an administrator)
