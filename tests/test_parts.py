"""A diff the target refuses for its size, cut into parts Directus applies one after another
(engine.parts), and the push that sends them (engine.push.apply_in_parts), against a stand-in
for Directus 9.x's /schema/apply and /schema/diff. tests/test_push_large.py pushes on real
servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import pytest

from directus_gitops.base.errors import PayloadTooLargeError, ServerError, StaleHashError
from directus_gitops.engine import parts, push
from directus_gitops.engine import plan as planning
from directus_gitops.model import changes
from directus_gitops.model.config import Target
from directus_gitops.server.client import Diff, DirectusClient
from tests import samples


def new(entry: dict[str, Any]) -> dict[str, Any]:
    key = {k: entry[k] for k in ("collection", "field", "related_collection") if k in entry}
    return {**key, "diff": [{"kind": "N", "rhs": entry}]}


def gone(entry: dict[str, Any]) -> dict[str, Any]:
    key = {k: entry[k] for k in ("collection", "field", "related_collection") if k in entry}
    return {**key, "diff": [{"kind": "D", "lhs": entry}]}


def edited(entry: dict[str, Any], path: list[str], old: Any, value: Any) -> dict[str, Any]:
    key = {k: entry[k] for k in ("collection", "field", "related_collection") if k in entry}
    return {**key, "diff": [{"kind": "E", "path": path, "lhs": old, "rhs": value}]}


def names(unit: parts.Unit) -> list[str]:
    """What a unit holds, as ``c:``/``f:``/``r:``/``s:`` names."""
    return (
        [f"c:{c['collection']}" for c in unit.collections]
        + [f"f:{f['collection']}.{f['field']}" for f in unit.fields]
        + [f"r:{r['collection']}.{r['field']}" for r in unit.relations]
        + [f"s:{s['collection']}.{s['field']}" for s in unit.system_fields]
    )


def mixed_diff() -> dict[str, Any]:
    """Every kind of entry: a new group with a member, a deleted collection others point at, a
    deleted field with its relation, an edited collection, a field of an existing collection,
    new relations and system fields."""
    return {
        "collections": [
            new(samples.collection("shop", folder=True)),
            new(samples.collection("orders", group="shop")),
            new(samples.collection("tags")),
            gone(samples.collection("legacy")),
            edited(samples.collection("authors"), ["meta", "note"], None, "who"),
        ],
        "fields": [
            new(samples.pk("orders")),
            new(samples.field("orders", "total", "integer")),
            new(samples.field("orders", "tag", "integer")),
            new(samples.pk("tags")),
            gone(samples.pk("legacy")),
            gone(samples.field("articles", "legacy", "integer")),
            new(samples.field("authors", "email")),
        ],
        "relations": [
            gone(samples.relation("articles", "old_link", "legacy")),
            gone(samples.relation("articles", "legacy", "authors")),
            new(samples.relation("orders", "tag", "tags")),
        ],
        "systemFields": [{"collection": "directus_activity", "field": "timestamp", "diff": []}],
    }


def test_units_follow_the_order_directus_applies_and_keep_what_it_handles_together() -> None:
    assert [names(u) for u in parts.units(mixed_diff())] == [
        ["c:shop", "c:orders", "f:orders.id", "f:orders.total", "f:orders.tag"],  # a group with its member
        ["c:tags", "f:tags.id"],
        ["c:legacy", "f:legacy.id", "r:articles.old_link"],  # with the relation pointing at it
        ["c:authors"],
        ["f:articles.legacy", "r:articles.legacy"],  # a deleted field takes its relation along
        ["f:authors.email"],
        ["r:orders.tag"],
        ["s:directus_activity.timestamp"],
    ]


def test_units_that_create_a_field_the_apply_may_fail_on_come_first() -> None:
    diff = mixed_diff()
    diff["fields"].append(new(samples.field("authors", "place", "geometry.Point")))
    order = [names(u)[0] for u in parts.units(diff, leading={"authors.place", "tags.id", "authors.email"})]
    assert order[:3] == ["c:tags", "f:authors.email", "f:authors.place"]  # in their own order
    assert order[3:] == [
        "c:shop",
        "c:legacy",
        "c:authors",
        "f:articles.legacy",
        "r:orders.tag",
        "s:directus_activity.timestamp",
    ]
    unmoved = parts.units(diff, leading={"legacy.id", "orders.tag"})  # a deletion, a relation: not moved
    assert names(unmoved[0])[0] == "c:shop"


def test_what_the_apply_may_fail_on_comes_first_with_its_new_groups_in_any_diff() -> None:
    diff = mixed_diff()
    diff["collections"].insert(0, new(samples.collection("aaa")))
    diff["fields"].append(new(samples.field("orders", "summary")))
    ordered = parts.first(diff, {"orders.summary"})
    assert [c["collection"] for c in ordered["collections"]] == ["shop", "orders", "aaa", "tags", "legacy", "authors"]
    assert ordered["fields"][0]["field"] == "summary" and len(ordered["fields"]) == len(diff["fields"])
    assert parts.first(diff, {"authors"})["collections"][0]["collection"] == "authors"  # an existing table too
    assert parts.first(diff, set()) == diff


def test_a_member_listed_before_its_group_still_follows_it() -> None:
    diff = mixed_diff()
    diff["collections"][:2] = reversed(diff["collections"][:2])
    assert names(parts.units(diff)[0])[:2] == ["c:shop", "c:orders"]


def test_parts_hold_every_entry_once_within_the_budget() -> None:
    diff = mixed_diff()
    for n in range(40):  # fields of an existing collection, 1 KB each
        entry = samples.field("authors", f"extra_{n:02d}")
        entry["meta"]["note"] = "x" * 1000
        diff["fields"].append(new(entry))
    pieces = parts.units(diff)
    budget = 8 * 1024
    grouped = parts.pack(pieces, budget)
    assert len(grouped) > 4
    for group in grouped:
        part = parts.joined(group)
        assert len(group) == 1 or len(json.dumps({"hash": "h", "diff": part.diff(diff)})) <= budget
    joined = parts.joined(u for group in grouped for u in group).diff(diff)
    for section in ("collections", "fields", "relations", "systemFields"):
        assert sorted(map(json.dumps, joined[section])) == sorted(map(json.dumps, diff[section]))


def test_a_part_keeps_the_diffs_other_members_and_system_fields_only_where_it_had_them() -> None:
    diff = mixed_diff()
    part = parts.units(diff)[0].diff(diff)
    assert part["systemFields"] == [] and set(part) == {"collections", "fields", "relations", "systemFields"}
    del diff["systemFields"]
    assert "systemFields" not in parts.units(diff)[0].diff(diff)


def test_only_new_collections_with_their_keys_are_cut_smaller() -> None:
    first, _, deleted, *_ = parts.units(mixed_diff())
    assert [names(u) for u in parts.cut(first)] == [
        ["c:shop", "c:orders", "f:orders.id"],  # (a folder has no key)
        ["f:orders.total"],
        ["f:orders.tag"],
    ]
    assert parts.cut(deleted) == [deleted]
    keyless = parts.Unit([new(samples.collection("notes"))], [new(samples.field("notes", "body", "text"))])
    assert parts.cut(keyless) == [keyless]  # (Directus would make a key of its own)


# --------------------------------------------------------------------------- the push


class StandIn:
    """Directus 9.x as the push meets it: /schema/apply refuses a body over ``limit`` bytes of
    JSON and a hash other than the schema's; each apply changes the hash."""

    def __init__(self, limit: int, fail_on: int | None = None, tells: bool = True) -> None:
        self.limit = limit
        self.tells = tells  # whether POST /utils/hash/generate answers
        self.fail_on = fail_on  # the accepted apply that fails (a database error), counted from 1
        self.version = 0
        self.applied: list[dict[str, Any]] = []
        self.hashes: list[str] = []
        self.diffs = 0

    @property
    def hash(self) -> str:
        return f"hash-{self.version}"

    def knows_release(self, version: Any) -> None:
        pass

    def apply(self, diff: Diff) -> None:
        if len(json.dumps({"hash": diff.hash, "diff": diff.diff})) > self.limit:
            raise PayloadTooLargeError("POST /schema/apply: over the target's MAX_PAYLOAD_SIZE", hint="raise it")
        if diff.hash != self.hash:
            raise StaleHashError("generate a new diff")
        if self.fail_on == len(self.applied) + 1:
            raise ServerError("POST /schema/apply failed (500): database error")
        self.hashes.append(diff.hash)
        self.applied.append(diff.diff)
        self.version += 1

    def json_fits(self, size: int) -> bool | None:
        return size <= self.limit if self.tells else None

    def diff(self, snapshot: Any, *, force: bool = False) -> Diff:
        self.diffs += 1
        return Diff(self.hash, {})


def large_diff(collections: int = 30, note: int = 2000) -> dict[str, Any]:
    diff: dict[str, Any] = {"collections": [], "fields": [], "relations": []}
    for n in range(collections):
        name = f"table_{n:02d}"
        diff["collections"].append(new(samples.collection(name)))
        diff["fields"].append(new(samples.pk(name)))
        body = samples.field(name, "body", "text")
        body["meta"]["note"] = "n" * note
        diff["fields"].append(new(body))
        if n:
            diff["fields"].append(new(samples.field(name, "previous", "integer")))
            diff["relations"].append(new(samples.relation(name, "previous", f"table_{n - 1:02d}")))
    return diff


def pushed(
    client: StandIn,
    diff: dict[str, Any],
    said: list[str] | None = None,
    target_snapshot: dict[str, Any] | None = None,
    desired: dict[str, Any] | None = None,
    version: str = "9.26.0",
) -> None:
    target = Target("prod", "http://directus.test", "DIRECTUS_PROD_TOKEN", "t", 5)
    snapshot = {"directus": "9.26.0", "vendor": "sqlite", "collections": [], "fields": [], "relations": []}
    desired = desired or snapshot
    plan = planning.Plan(
        planning.Source(desired, "HEAD"),
        target,
        target_snapshot or snapshot,
        version,
        Diff("hash-0", diff),
        sent=desired,
    )
    say: Callable[[str], None] = said.append if said is not None else lambda _: None
    push.apply_schema(cast(DirectusClient, client), plan, say=say)


def test_a_diff_over_the_limit_is_applied_in_parts_each_under_the_hash_of_its_time() -> None:
    diff = large_diff()
    client, said = StandIn(limit=16 * 1024), []
    pushed(client, diff, said)
    assert len(client.applied) > 2
    assert client.hashes == [f"hash-{n}" for n in range(len(client.applied))]  # the plan's first, then fresh
    assert client.diffs == len(client.applied) - 1
    joined = {key: [e for part in client.applied for e in part[key]] for key in ("collections", "fields", "relations")}
    assert joined == diff  # every entry once, in Directus's order (collections with their fields, then relations)
    assert said[0].startswith("'prod' refuses the diff's") and "parts" in said[0]
    assert said[-1].startswith(f"  part {len(client.applied)} of ")


def test_a_diff_under_the_limit_goes_whole() -> None:
    client = StandIn(limit=10 * 1024 * 1024)
    pushed(client, large_diff())
    assert len(client.applied) == 1 and client.diffs == 0


def test_a_lower_limit_halves_the_parts_until_they_fit_and_a_large_collection_is_cut() -> None:
    client = StandIn(limit=6 * 1024)
    pushed(client, large_diff(collections=4, note=4000))  # each collection alone is over the limit
    assert all(len(json.dumps(part)) <= 6 * 1024 for part in client.applied)
    created = [c["collection"] for part in client.applied for c in part["collections"]]
    assert created == [f"table_{n:02d}" for n in range(4)]


def test_an_entry_over_the_limit_on_its_own_is_refused_with_nothing_applied() -> None:
    client = StandIn(limit=2 * 1024)
    body = samples.field("articles", "body", "text")
    body["meta"]["note"] = "n" * 4000
    with pytest.raises(PayloadTooLargeError) as refused:
        pushed(client, {"collections": [], "fields": [new(body)], "relations": []})
    assert "cannot be cut smaller" in refused.value.message and refused.value.hint == "raise it"
    assert not client.applied and refused.value.exit_code == 1


@pytest.mark.parametrize("tells", [True, False])
def test_a_piece_over_the_limit_is_found_before_anything_is_applied(tells: bool) -> None:
    client = StandIn(limit=2 * 1024, tells=tells)
    with pytest.raises(ServerError) as failed:
        pushed(client, large_diff(collections=1, note=4000))  # the table and its key fit; its body does not
    if tells:  # asked first: refused whole
        assert isinstance(failed.value, PayloadTooLargeError) and not client.applied
        assert "cannot be cut smaller (5 KB)" in failed.value.message  # (4,000 characters and the rest)
    else:  # found out part-way: an error naming the parts applied (the push reports it as partial)
        assert not isinstance(failed.value, PayloadTooLargeError)
        message = failed.value.message
        assert message.startswith("after 1 of 2 parts:") and "cannot be cut smaller" in message
        assert [c["collection"] for c in client.applied[0]["collections"]] == ["table_00"]


def test_a_failure_after_the_first_part_says_which_part_and_is_not_a_stale_plan() -> None:
    client = StandIn(limit=16 * 1024, fail_on=2)
    with pytest.raises(ServerError) as failed:
        pushed(client, large_diff())
    assert not isinstance(failed.value, StaleHashError)
    assert failed.value.message.startswith("part 2 of ") and "database error" in failed.value.message
    assert len(client.applied) == 1


def test_a_target_changed_before_the_first_part_is_a_stale_plan() -> None:
    client = StandIn(limit=16 * 1024)
    client.version = 7  # changed since the plan
    with pytest.raises(StaleHashError) as stale:
        pushed(client, large_diff())
    assert "nothing was applied" in stale.value.message and not client.applied


def widened() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A MySQL/MariaDB target with a table ``notes``, the model that widens its ``body`` past
    what utf8mb4 holds and adds a collection ``aaa_new``, and Directus's diff between them."""
    body = samples.field("notes", "body")
    target = {
        "directus": "9.26.0",
        "vendor": "mysql",
        "collections": [samples.collection("notes")],
        "fields": [samples.pk("notes"), body],
        "relations": [],
    }
    wide = {**body, "schema": {**body["schema"], "max_length": 16384}}
    desired = {
        **target,
        "collections": [samples.collection("aaa_new"), samples.collection("notes")],
        "fields": [samples.pk("aaa_new"), samples.pk("notes"), wide],
    }
    diff = {
        "collections": [new(samples.collection("aaa_new"))],
        "fields": [new(samples.pk("aaa_new")), edited(body, ["schema", "max_length"], 255, 16384)],
        "relations": [],
    }
    return target, desired, diff


def test_a_table_that_exists_and_may_fail_goes_alone_before_what_directus_would_make_first() -> None:
    _, _, diff = widened()
    assert parts.alone(diff, {"notes"}) == 1  # Directus would make aaa_new before it alters notes
    assert parts.alone(diff, set()) == 0
    assert parts.alone({**diff, "collections": []}, {"notes"}) == 0  # nothing made before it
    created = {**diff, "fields": [diff["fields"][0]]}
    assert parts.alone(created, {"aaa_new"}) == 0  # a new table may fail: first among collections


@pytest.mark.parametrize("fails", [False, True])
def test_on_mysql_an_altered_table_that_may_fail_is_applied_alone_first(fails: bool) -> None:
    target, desired, diff = widened()
    client, said = StandIn(limit=10 * 1024 * 1024, fail_on=1 if fails else None), []
    if fails:
        with pytest.raises(ServerError) as failed:
            pushed(client, diff, said, target, desired)
        assert "database error" in failed.value.message and not failed.value.message.startswith("part")
        assert not client.applied  # aaa_new was never made
    else:
        pushed(client, diff, said, target, desired)
        assert [names(parts.joined(parts.units(part))) for part in client.applied] == [
            ["f:notes.body"],
            ["c:aaa_new", "f:aaa_new.id"],
        ]
        assert client.hashes == ["hash-0", "hash-1"] and client.diffs == 1
    assert said[0].startswith("applying first, on its own, what 'prod' may fail on")
    client = StandIn(limit=10 * 1024 * 1024)
    pushed(client, diff, [], {**target, "vendor": "postgres"}, {**desired, "vendor": "postgres"})
    assert len(client.applied) == 1  # (PostgreSQL rolls a failed apply back whole)


class Restoring(StandIn):
    """9.x/10.x after an apply that edited a NOT NULL field's meta: a new diff holds the
    column's ``is_nullable`` (made true by Directus) and another difference."""

    def __init__(self) -> None:
        super().__init__(limit=10 * 1024 * 1024)
        self.fresh: dict[str, Any] = {"collections": [], "fields": [], "relations": []}

    def diff(self, snapshot: Any, *, force: bool = False) -> Diff:
        self.diffs += 1
        return Diff(self.hash, self.fresh)


def test_a_not_null_column_directus_made_nullable_is_restored_alone() -> None:
    price = samples.field("products", "price", "float", is_nullable=False)
    edit = edited(price, ["meta", "note"], None, "In euros")
    client = Restoring()
    client.fresh["fields"] = [
        {
            "collection": "products",
            "field": "price",
            "diff": [
                {"kind": "E", "path": ["schema", "is_nullable"], "lhs": True, "rhs": False},
                {"kind": "E", "path": ["meta", "width"], "lhs": "full", "rhs": "half"},
            ],
        },
        {"collection": "products", "field": "name", "diff": [{"kind": "E", "path": ["schema", "is_nullable"]}]},
    ]
    target = {"directus": "10.13.4", "vendor": "sqlite", "collections": [], "fields": [price], "relations": []}
    said: list[str] = []
    pushed(client, {"collections": [], "fields": [edit], "relations": []}, said, target, target)
    assert len(client.applied) == 2 and client.hashes == ["hash-0", "hash-1"]
    assert client.applied[1]["fields"] == [
        {"collection": "products", "field": "price", "diff": [client.fresh["fields"][0]["diff"][0]]}
    ]
    assert said[-1].startswith("restored NOT NULL on 1 column(s) Directus 9.26.0") and said[-1].endswith(
        "products.price"
    )
    # 11.0 drops it too (11.0.1 measured); from 11.1 Directus keeps the column as it is: nothing more is asked.
    fresh = client.fresh["fields"]
    for version, asked in (("11.0.1", 1), ("11.1.0", 0), ("11.3.5", 0)):
        client = Restoring()
        client.fresh["fields"] = fresh
        pushed(client, {"collections": [], "fields": [edit], "relations": []}, [], target, target, version=version)
        assert (len(client.applied), client.diffs) == (1 + asked, asked), version


def test_residue_tells_what_the_plan_asked_for_from_what_the_apply_changed_unasked() -> None:
    price = samples.field("products", "price", "float", is_nullable=False)
    asked = {"collections": [], "fields": [edited(price, ["meta", "note"], None, "In euros")], "relations": []}
    plan = planning.Plan(
        planning.Source({}, "HEAD"),
        Target("prod", "http://directus.test", "DIRECTUS_PROD_TOKEN", "t", 5),
        {},
        "10.13.4",
        Diff("hash-0", asked),
        changes=changes.from_server(asked),
    )

    def left(*records: tuple[str, list[str]]) -> changes.ChangeSet:
        fields = [edited(samples.field("products", name, "float"), path, 1, 2) for name, path in records]
        return changes.from_server({"collections": [], "fields": fields, "relations": []})

    # Stored otherwise: the same property the plan changed (or one inside it).
    error = push.residue(plan, left(("price", ["meta", "note"])))
    assert str(error) == "applied, but 'prod' reads back differently from HEAD in 1 place(s) (~1 field)"
    assert error.hint is not None and error.hint.endswith(": a push sends the same again")
    # Changed unasked: another property of the field, or a field the plan did not touch.
    error = push.residue(plan, left(("price", ["schema", "is_nullable"]), ("name", ["meta", "note"])))
    assert error.hint == (
        "the apply also changed 2 place(s) the plan did not ask for (products.price, products.name): the next "
        "plan proposes to change them back"
    )
    error = push.residue(plan, left(("price", ["meta", "note"]), ("name", ["meta", "note"])))
    assert error.hint is not None and "(products.name)" in error.hint
    assert "; for the rest, Directus stored" in error.hint
