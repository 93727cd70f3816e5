"""Translate a snapshot for the Directus it meets: another release, another database.

A snapshot taken on one Directus (release and database) is compared with, and applied to,
projects on others. Directus compares snapshots property by property, so properties that
only say how a database or a release *represents* the same model show up as changes that
no apply can ever make, and some keys are refused outright. ``translate`` turns the
snapshot we have into the one we send to (or compare offline with) a given target, by the
rules in ``RULES``: each one is a documented equivalence or omission, and every time one
is applied a ``Note`` says so, so a plan can show what it relied on. Nothing else is
hidden: a property that differs in a way no rule covers stays a change.

The target is described by its own current snapshot (its release, its database and its
system indexes), plus what only the server can say (its release from ``/server/info``, and
whether a system field exists on it).
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from directus_gitops.base.errors import SnapshotError
from directus_gitops.files.snapshot import entry_key, misreported_release, release
from directus_gitops.model import system
from directus_gitops.model.changes import ABSENT, Kind, ignored

Snapshot = dict[str, Any]
Action = Literal["translated", "left out", "kept", "repaired"]


@dataclass(frozen=True)
class Rule:
    id: str
    action: Action
    summary: str  # what the rule does and why, one sentence (the docs render these)
    scope: str  # when it applies


# The rules, in the order they are applied. docs/translation.md renders this table.
RULES: tuple[Rule, ...] = (
    Rule(
        "collection-schema",
        "left out",
        "A collection's `schema` keeps only `name`: Directus compares nothing else there, and 10.x and later "
        "refuse the `schema.schema` and `schema.comment` that 9.x wrote (400 'is not allowed'). A folder's "
        "`schema: null`, which some 9.x releases wrote, is left out: releases from 9.26 on refuse it "
        "(400 'must be of type object') and compare a folder the same without it.",
        "any target",
    ),
    Rule(
        "system-fields-key",
        "left out",
        "`systemFields` (Directus's own indexes, snapshots from 11.13 on) is left out for a target that has none: "
        "Directus before 11.13 refuses the key.",
        "target before 11.13",
    ),
    Rule(
        "system-collections",
        "left out",
        "Fields and relations that Directus itself defines on its `directus_*` collections (older releases "
        "leaked some into snapshots, e.g. `directus_settings.public_registration_role`) are left out: the target "
        "has its own (400 'already has an associated relationship'). So is a `directus_*` collection entry "
        "(400 'Collections can't start with \"directus_\"'), and with it every field and relation on a `directus_*` "
        "collection the target's release does not have (a newer release's table in an older release's snapshot). "
        "Fields users added to Directus's own collections are kept.",
        "any target",
    ),
    Rule(
        "system-index-unknown",
        "left out",
        "A `systemFields` entry for a field the target does not have (a newer release's system field) is left "
        "out (Directus fails the apply with 500 'Cannot read properties of undefined').",
        "target from 11.13",
    ),
    Rule(
        "mysql-system-indexes",
        "left out",
        "MySQL/MariaDB index every foreign-key column of Directus's own collections by themselves (65 system "
        "indexes on 12.4.1 against 12 on SQLite and PostgreSQL), so a snapshot from MySQL/MariaDB does not ask "
        "another database for system indexes it lacks: they cannot be told apart from ones a user added.",
        "source MySQL/MariaDB, target another database",
    ),
    Rule(
        "system-index-kept",
        "kept",
        "An index the target keeps on one of Directus's own fields stays when the snapshot does not list it "
        "(it comes from an older release or another database): only `--allow-system-index-changes` removes one.",
        "target from 11.13",
    ),
    Rule(
        "uuid-as-string",
        "translated",
        "A uuid column reads back as type `uuid` on PostgreSQL and, when it is not a primary key, as `string` "
        "(char(36)) on SQLite and MySQL/MariaDB, depending on the release too: one is taken for the other. Any "
        "other type change shows.",
        "databases or releases differ, one side without a native uuid",
    ),
    Rule(
        "function-defaults",
        "translated",
        "A column default that calls a function of the source's database (`gen_random_uuid()`, "
        "`nextval('…')`, `uuid_generate_v4()`) is not sent to another database, where Directus would write it "
        "into `CREATE TABLE` and fail (SQLite answers 500), nor to a PostgreSQL where Directus writes it as a "
        "quoted string (`default 'gen_random_uuid()'`: 500 'invalid input syntax for type uuid' on a uuid "
        "column, a constant text on another): Directus writes only the current time (`now()`, `CURRENT_TIMESTAMP`, "
        "`CURRENT_TIMESTAMP(3)`) as calls there, and `gen_random_uuid()` from 11.1 on (10.13.4 and 11.0.1 quote "
        "it; `uuid_generate_v4()` every release). The current time crosses databases (see now-default), except a "
        "precision (`CURRENT_TIMESTAMP(3)`: SQLite refuses it) and a date or time field's on MySQL. A new field "
        "gets no default, and a field the target has keeps its own. Directus fills uuid and auto-increment keys "
        "itself.",
        "databases differ; target PostgreSQL (`gen_random_uuid()`: before 11.1)",
    ),
    Rule(
        "vendor-inferred",
        "translated",
        "A snapshot that does not record its database (`vendor`: older 9.x releases wrote none, 9.26.0 does, and "
        "hand-written files) is read as coming from the database its column types belong to "
        "(`schema.data_type`): PostgreSQL for `character varying`, `timestamp with time zone`, `uuid` and the "
        "like; MySQL for `int`, `tinyint`, `longtext`, a bare `timestamp`; SQLite for `varchar`, `char` or "
        "`datetime` beside `integer`. One that "
        "names no type of a single database is read as coming from the target's, whose types the rules then "
        "take where they differ. Directus refuses such a snapshot without force, so it is sent with that "
        "database as its `vendor`, and the plan names the types. A snapshot naming types of two databases, or "
        "`varchar` without any integer column (SQLite or MySQL), is still refused without --force.",
        "the snapshot does not record its database",
    ),
    Rule(
        "mysql-text-default",
        "left out",
        "Directus makes a text field, and a csv field from 10.7, a TEXT column, and on MySQL/MariaDB its query "
        "builder (knex) leaves out a TEXT or BLOB column's default (knex/knex#2649; MySQL before 8.0.13 refuses "
        "one): the column gets none, and reads back without one (12.4.1 MariaDB measured: exit 4 on every "
        "push). So the file's default is not sent there: a new field gets none, a field the target has keeps "
        "its own. A json field's default is written.",
        "target MySQL/MariaDB",
    ),
    Rule(
        "mysql-expression-default",
        "translated",
        "MySQL 8 reports a default written as an expression (`DEFAULT (_utf8mb4'{}')`, the only kind a json or text "
        "column may have there) as the expression's text, charset introducer included (`_utf8mb4\\'{}\\'`), and "
        "flags it `DEFAULT_GENERATED`, which Directus reads as `schema.is_generated: true` though nothing is "
        "generated (no `generation_expression`). Directus writes a default as a plain value, so sent as it is the "
        "target would store that text (and a new row get it instead of `{}`) and read it back quoted once more "
        "(SQLite and MariaDB), never generated. The string the expression holds is sent as the default (`{}`; "
        "for a json field the value it parses to, as Directus reads a json default back), and `is_generated: false`; "
        "a target that reads the same expression back keeps it.",
        "source MySQL",
    ),
    Rule(
        "now-default",
        "translated",
        "`now()`, `CURRENT_TIMESTAMP` and `current_timestamp()` are one column default, the database's current "
        "time: SQLite and PostgreSQL read a `now()` Directus made back as `CURRENT_TIMESTAMP`, MariaDB as "
        "`current_timestamp()`, so one is taken for the other. Directus writes the current time as a call only "
        "when given `now()` (any case) or `CURRENT_TIMESTAMP`, and quotes any other spelling (`current_timestamp()` "
        "from a MariaDB file: 500 on PostgreSQL and MariaDB, a text default on SQLite), so a new field, or one "
        "the target alters anyway, is sent `now()`. Directus writes it on every database, so it crosses "
        "databases; MySQL takes it for timestamp and datetime columns only (MariaDB for date and time too), so "
        "a date or time field's is left out on a MySQL target from another database (function-defaults).",
        "any target",
    ),
    Rule(
        "json-default-parsed",
        "translated",
        "Directus reads a json field's column default back as the JSON it holds, on every release and "
        'database but one: a default written as the text of a JSON object or array (`"{}"`) is stored as that '
        "text and reads back as the object (`{}`), so it is compared and sent as the object. A target that reads "
        "the same string back (its column holds a JSON string) keeps it. Directus 9.26.0 on MariaDB reads the "
        "text back as it is (`'{\"a\":1}'` for `{a: 1}`, measured): there that text is taken for the file's value.",
        "json fields the target reads as json",
    ),
    Rule(
        "doubled-quote-default",
        "translated",
        "Directus writes a string default as an SQL literal, each `'` doubled (`('P'` is stored as "
        "`'(''P'''`, which is right), and reads it back from SQLite and PostgreSQL without undoing that "
        "(`@directus/schema` only strips the outer quotes): `(''P''`. MariaDB reads it doubled too, MySQL 8 "
        "reads the value itself, and Directus calls both `mysql`: a `mysql` target is taken for MariaDB when "
        "Directus's own json column `directus_fields.options` reads back as `longtext` (MySQL reads `json`). "
        "The target's reading is taken for the file's value when it is exactly that; sent back, it would be "
        "doubled again on every push. A field the target alters anyway is sent the file's value. On MySQL, or "
        "a `mysql` target that does not say which it is, the doubled reading may be a real default, so it "
        "stays a difference. `pull` from SQLite, PostgreSQL or MariaDB writes the stored value (the reading "
        "un-doubled, where every quote in it is doubled), which pushes the same default to any server; a file "
        "pulled before holds the reading, which a new server stores doubled.",
        "target SQLite, PostgreSQL or MariaDB",
    ),
    Rule(
        "sqlite-decimal",
        "translated",
        "SQLite reads a `decimal` column back as `float` (without precision or scale): one is taken for the other.",
        "one side SQLite",
    ),
    Rule(
        "sqlite-integer-keys",
        "translated",
        "SQLite auto-increments only an `integer` primary key, so Directus makes every auto-increment key an "
        "`integer` there (knex writes `bigIncrements` as `integer not null primary key autoincrement`, as "
        "`increments`) and reads it back as type `integer`, in every release: a `bigInteger` auto-increment key "
        "is taken for the target's `integer`, and a new one is named in the plan before the apply.",
        "target SQLite",
    ),
    Rule(
        "unbounded-varchar",
        "translated",
        "A negative `max_length` (-5) is how Directus 10 and 11 read a PostgreSQL `character varying` without a "
        "length (a table made outside Directus: its type modifier -1, less 4; 10.13.4 and 11.3.5 measured). "
        "Directus cannot make such a column: sent back, it asks PostgreSQL for `varchar(-5)`, a syntax error that "
        "stops the apply. A new field is sent without a length (Directus makes its default, 255), and for an "
        "existing one the target's length is taken for the negative one. The plan names each such field.",
        "any target",
    ),
    Rule(
        "column-representation",
        "translated",
        "For a field of the same type, how the database names and sizes its column (`schema.data_type`; "
        "`numeric_precision`/`numeric_scale` except for `decimal`; `max_length` except for `string`) is the "
        "target's: Directus builds columns from the type, so these can never be applied. It sizes csv and hash "
        "columns itself whatever `max_length` says: a hash is varchar(255), a csv varchar(255) up to 10.6 and "
        "`text` from 10.7, so a csv column an older release made (`varchar`, `max_length: 255`) is `text` without a "
        "length on a newer target. Directus "
        "calls MySQL and MariaDB both `mysql`, but they name some columns differently (MariaDB reads a MySQL "
        "`json` column back as `longtext`). A column made outside Directus on the same database (a PostgreSQL "
        "`double precision` for a `float` field, where Directus makes `real`) is the target's too.",
        "any target",
    ),
    Rule(
        "char-varchar",
        "translated",
        "`char` and `varchar` columns of the same field type and length are the target's, on any database: "
        "Directus builds both from the field's type (a foreign key to a uuid key becomes char(36)), so an apply "
        "can never turn one into the other.",
        "any target",
    ),
    Rule(
        "primary-key-unique",
        "translated",
        "A primary key is unique whatever `schema.is_unique` says (MySQL/MariaDB report false, SQLite and "
        "PostgreSQL true).",
        "any target",
    ),
    Rule(
        "foreign-key-index",
        "translated",
        "MySQL/MariaDB index every foreign-key column by themselves (`schema.is_indexed: true`) and refuse to drop "
        "those indexes: on a foreign-key field the target's flag is kept.",
        "one side MySQL/MariaDB",
    ),
    Rule(
        "foreign-key-names",
        "translated",
        "A foreign key's `schema.constraint_name` is the target's: Directus names the constraints it makes "
        "itself (`<table>_<column>_foreign`; SQLite reports none) and never renames one, so a name from another "
        "database or tool (`page_blocks_pages_id_foreign` where Directus made `page_blocks_page_foreign`) can "
        "never be applied.",
        "any target",
    ),
    Rule(
        "sqlite-unique-indexed",
        "translated",
        "Directus 11 on SQLite before 11.4 reports the index SQLite keeps for a unique column, a uuid or text "
        "primary key included, as `schema.is_indexed: true` (measured on 11.3.5; 11.7.2, 11.17.4 and 12.4.1 do "
        "not: `@directus/schema` 13, in 11.4.0, tells a unique index from a plain one), and an apply asking for "
        "`false` fails "
        "(500 'no such index') or changes nothing: on a unique or primary-key field the target's `true` is kept. A "
        "new unique field is sent without `is_indexed: true` (the unique's own index is that one; asking for "
        "another makes 11.3.5 read the column back as not unique), and the target then reports it indexed. From "
        "11.4 on, a field both unique and indexed is sent as it is: it reads back both.",
        "target SQLite before 11.4",
    ),
    Rule(
        "json-as-text",
        "translated",
        "MariaDB stores a json column as `longtext`, which Directus reads back as type `text` unless "
        "`meta.special` holds `cast-json`: a `json` field without it becomes `text` there, and no apply changes "
        "that. The target's `text` is taken for such a field; a new one is named in the plan before the apply, "
        "unless the target said it is MySQL, whose json is json.",
        "target MySQL/MariaDB",
    ),
    Rule(
        "restrict-is-no-action",
        "translated",
        "MySQL/MariaDB report `on_update`/`on_delete` NO ACTION as RESTRICT, which is the same there.",
        "one side MySQL/MariaDB",
    ),
    Rule(
        "on-update-ignored",
        "translated",
        "Directus before 10.11 makes (and remakes) a relation's foreign key without its `on_update` "
        "(directus/directus#21189: @directus/api of 10.10.4 passes only `on_delete` to knex, that of 10.11.1 "
        "both), so the constraint gets the database's default, NO ACTION (MySQL/MariaDB may say RESTRICT), "
        "whatever the snapshot asks (a RESTRICT a MySQL wrote reads back NO ACTION on 9.26.0 SQLite): no apply "
        "changes it. On such a target its default is taken for the snapshot's `on_update`; a new relation asking "
        "for another is named in the plan before the apply.",
        "target before 10.11",
    ),
    Rule(
        "directus-casts",
        "translated",
        "Directus adds `cast-timestamp` (SQLite) and `cast-json` (json fields, depending on release and "
        "database) to `meta.special` by itself: a difference in those alone is the target's.",
        "origins differ",
    ),
    Rule(
        "special-order",
        "translated",
        "`meta.special` is a set; some releases (10.x) sort it: the same items in another order are the target's.",
        "releases differ",
    ),
    Rule(
        "sorted-lists",
        "translated",
        "Directus before 11 sorts every plain list in the snapshots it returns (a rich-text toolbar, choices' "
        "values), whatever order it stores: on such a target, a list with the same items in another order is the "
        "target's (the order a user set is stored as sent, but such a target cannot show it).",
        "target before 11",
    ),
    Rule(
        "untracked-fields",
        "left out",
        "A field without `meta` (a column Directus does not track, as 11.5 and earlier wrote them in snapshots) "
        "that the target has is left out when the target's snapshot does not list it: Directus 11.17 and 12 leave "
        "such fields out of their snapshots and diffs, though not the relations on them, and an apply would try "
        "to create the column again. The same holds for a collection without `meta` (a table Directus does not "
        "track) whose first field the target has: 11.17 and 12 list neither it nor its untracked fields, though "
        "they list its fields that have a meta.",
        "a target that answers GET /fields",
    ),
    Rule(
        "default-primary-key",
        "kept",
        "Directus gives every table it creates a primary key: a collection the snapshot lists without one (no "
        "field with `schema.is_primary_key`) gets Directus's own `id` (integer, auto-increment, hidden). That field "
        "on the target is kept, not removed (no apply could remove a table's key); the plan names each such "
        "collection before the apply.",
        "any target",
    ),
    Rule(
        "foreign-keys-from-relations",
        "translated",
        "Directus makes foreign-key constraints only from relations, and always makes one when it creates or "
        "updates a relation to a collection: a relation the snapshot holds without a constraint (`schema: null`, "
        "or no `schema`) gets one (NO ACTION) on the target, and a field whose `schema.foreign_key_table` no "
        "relation in the snapshot backs gets none. No apply can change either, so the target's constraint is "
        "compared; the plan names each such relation and field.",
        "any target",
    ),
    Rule(
        "relation-meta-made",
        "translated",
        "Directus writes a relation's `meta` (its `directus_relations` row) whenever it creates the relation, and "
        "no apply removes one: a relation the snapshot holds with `meta: null` or without `meta` (a foreign key "
        "made outside Directus) reads back with the meta Directus makes by itself (`many_collection`, `many_field` "
        "and `one_collection` from the relation, `one_deselect_action: nullify`, the rest null). That meta on the "
        "target is taken for the snapshot's null; a meta holding anything else still shows. The plan names each "
        "such relation before the apply.",
        "any target",
    ),
    Rule(
        "field-meta-made",
        "translated",
        "Directus gives a field of a type it flags (`json` from 11.16 on, on every database; `timestamp` on "
        "SQLite) a `meta` of its own whenever it creates the field without one: `special` the flag, `collection` "
        "and `field` its names, `sort` its place, the rest the columns' defaults (not hidden, readonly or required, "
        "`width: full`, searchable). A field the snapshot holds without meta reads back with that meta, and no apply "
        "removes it: that meta on the target is taken for the snapshot's null, and a meta holding anything else "
        "still shows. Creating such a field, the tool sends that meta itself: for a field of a collection created "
        "in the same apply, Directus makes it without the collection's name and fails the apply (400 `Value for "
        'field "collection" … can\'t be null`; measured on 9.26.0 to 12.4.1, SQLite and PostgreSQL). The plan '
        "names each such field.",
        "any target",
    ),
    Rule(
        "absent-properties",
        "translated",
        "A `meta` or `schema` property an entry of the snapshot lacks (a hand-written or trimmed file: a "
        "collection `meta` with 2 of its keys) is the target's, which is sent and compared: Directus holds a value "
        "for every property (a new entry gets its default; an apply leaves a `meta` property it is not given as "
        "it is, and gives an absent `schema` property its default when it alters the column), so the absence can "
        "never be applied. A field or relation without `meta` is one with `meta: null`, as Directus writes it; a field "
        "without `schema` takes every property of the target's column. "
        "The plan names each property. (One an older release does not write: `release-only-properties`.)",
        "any target",
    ),
    Rule(
        "release-only-properties",
        "translated",
        "Properties one release has and another has not (`meta.searchable` from 11.13, `schema.is_indexed`, "
        "12.x collection `meta.status` and `autosave_revision_interval`, `meta.versioning`, …) take the target's "
        "value where the snapshot lacks them, and are left out where the target's release lacks them: by the "
        "table of the releases that added them (below), also from new entries sent to an empty target, and "
        "otherwise by the properties the target's own entries have. A project setting the target's settings lack "
        "is not sent either (the configuration plan warns); one the target holds a value of and files of an older "
        "release lack is left as the target holds it, not emptied (11.17 added `mcp_enabled`, which cannot be null: "
        "files from 10.x stopped the configuration push there), and the configuration plan names it.",
        "releases differ",
    ),
    Rule(
        "not-null-restored",
        "repaired",
        "Directus 9.x, 10.x and 11.0 drop a column's NOT NULL when an apply edits only its field's `meta` and the "
        "column has a numeric or boolean default (measured on 9.26.0 and 10.13.4, SQLite, PostgreSQL and "
        "MariaDB, and 11.0.1 on SQLite: a new `meta.note` on `price`, `float NOT NULL DEFAULT 0`, left it "
        "nullable; the alter the field's update makes omits NOT NULL when it did not change; 11.1.0, whose "
        "`@directus/api` 22.2.0 rewrote it, keeps it). After such an apply, `push` asks the target "
        "for a new diff and applies its `schema.is_nullable` entries for those columns alone, under its hash, "
        "and says so: the column is NOT NULL again before the push reads the target back (before, the push ended "
        "in exit 4 and the next plan called making the column required again data loss).",
        "target before 11.1, a field edited whose column is NOT NULL",
    ),
    Rule(
        "access-model",
        "translated",
        "Roles and permissions pulled from 9.x/10.x (permissions and access on roles, `config/public.yaml`) go into "
        "an 11+ target as Directus's own upgrade to 11 makes them (its migration `20240806A-permissions-policies`): "
        "each role's permissions, admin, app, IP and 2FA access on a policy of the same id, name, icon and "
        "description, linked to the role; the public role's permissions on the public policy. The administrator and "
        "public policies every 11+ instance bootstraps keep the target's own texts where the files hold Directus's "
        "bootstrap ones. Files pulled from 11+ go into a 9.x/10.x target as Directus's downgrade makes them: each "
        "role gets the access of the policies it and its parents link to (any of them granting admin, app or 2FA; "
        "their IP lists joined) and their permissions, the public role those of the policies linked to the public. "
        "A policy linked to no role is not sent, nor are the policies a synced user holds of its own (the "
        "configuration plan names both). Refused, exit 3 before anything "
        "is applied: two of a role's policies giving one collection and action different rules, a public policy "
        "with admin or app access. A target Directus upgraded itself plans empty against the files of before, and "
        "`status` compares across the models (model/kinds/access_models.py).",
        "the access models differ",
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


@dataclass(frozen=True)
class Note:
    """One application of a rule: which rule, to what, and what changed."""

    rule: str
    subject: str  # "articles.author", "collections", …
    detail: str = ""


@dataclass(frozen=True)
class Translation:
    snapshot: Snapshot
    notes: tuple[Note, ...] = ()
    target_mariadb: bool | None = None  # what it took the target to be, when Directus said "mysql"

    def __bool__(self) -> bool:
        return bool(self.notes)

    def grouped(self) -> list[tuple[Rule, list[Note]]]:
        """The notes by rule, in rule order."""
        groups: dict[str, list[Note]] = {}
        for note in self.notes:
            groups.setdefault(note.rule, []).append(note)
        return [(rule, groups[rule.id]) for rule in RULES if rule.id in groups]

    def lines(self, *, examples: int = 3) -> list[str]:
        """One line per rule: what it did, to how many entries, and a few of them."""
        result = []
        for rule, notes in self.grouped():
            subjects = list(dict.fromkeys(note.subject for note in notes))
            shown = ", ".join(subjects[:examples]) + (
                f" and {len(subjects) - examples} more" if len(subjects) > examples else ""
            )
            result.append(f"{rule.action} ({rule.id}): {len(subjects)} × {shown}")
        return result

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {
                "rule": rule.id,
                "action": rule.action,
                "summary": rule.summary,
                "count": len(notes),
                "items": [{"subject": note.subject, "detail": note.detail} for note in notes],
            }
            for rule, notes in self.grouped()
        ]


# --------------------------------------------------------------------------- the target


def recommended_permissions() -> list[dict[str, Any]]:
    """The app permissions Directus recommends (its newest release the tool knows)."""
    return list(system.data().get("recommended_permissions", ()))


# --------------------------------------------------------------------------- what Directus checks


@dataclass(frozen=True)
class Origin:
    """One way a snapshot's origin differs from its target's, which Directus's own check
    refuses without force: ``release``, ``vendor``, ``vendor-inferred`` (rule vendor-inferred: no
    vendor, but column types that tell) or ``unknown vendor``."""

    kind: str
    message: str


# Column types (schema.data_type, lower case) only one database reports, as Directus reads them
# (9.26.0 to 12.4.1 measured: SQLite reads a uuid field as char, a timestamp as datetime).
_POSTGRES_TYPES = frozenset(
    {
        "character varying",
        "character",
        "timestamp with time zone",
        "timestamp without time zone",
        "time with time zone",
        "time without time zone",
        "double precision",
        "jsonb",
        "uuid",
        "bytea",
    }
)
_MYSQL_TYPES = frozenset(
    {"int", "int unsigned", "tinyint", "smallint unsigned", "bigint unsigned", "mediumint", "longtext", "mediumtext"}
    | {"tinytext", "timestamp", "year", "enum", "set", "longblob", "mediumblob"}
)
# SQLite's and MySQL's alike; beside "integer" (MySQL reads "int") they are SQLite's.
_SQLITE_OR_MYSQL_TYPES = frozenset({"varchar", "char", "datetime"})
_VENDOR_NAMES = {"postgres": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite"}


def inferred_vendor(source: Mapping[str, Any], target: Mapping[str, Any]) -> tuple[str, str] | None:
    """For a snapshot that does not record its database: the one it is read as coming from, and
    why (rule vendor-inferred); None when its column types belong to two databases, or to SQLite
    or MySQL alike."""
    types = set()
    for entry in source.get("fields") or ():
        schema = entry.get("schema") if isinstance(entry, dict) else None
        data_type = schema.get("data_type") if isinstance(schema, dict) else None
        if isinstance(data_type, str):
            types.add(data_type.strip().lower())
    postgres, mysql = sorted(types & _POSTGRES_TYPES), sorted(types & _MYSQL_TYPES)
    either = sorted(types & _SQLITE_OR_MYSQL_TYPES)
    if postgres and (mysql or either):
        return None
    if postgres or mysql:
        vendor, named = ("postgres", postgres) if postgres else ("mysql", mysql)
    elif either and "integer" in types:
        vendor, named = "sqlite", [*either, "integer"]
    elif either:
        return None
    else:
        theirs = _vendor(target)
        if theirs is None:
            return None
        return theirs, f"no column type of a single database: read as the target's, {_VENDOR_NAMES.get(theirs, theirs)}"
    shown = ", ".join(f"`{name}`" for name in named[:3])
    return vendor, f"its column types are {_VENDOR_NAMES[vendor]}'s ({shown})"


def compatibility(source: Mapping[str, Any], target: Mapping[str, Any]) -> list[Origin]:
    """Why Directus would refuse to diff ``source`` against ``target`` without force."""
    problems = []
    if source.get("directus") != target.get("directus"):
        problems.append(
            Origin(
                "release",
                f"the snapshot was taken on Directus {source.get('directus')}, "
                f"the target reports {target.get('directus')}",
            )
        )
    vendor = source.get("vendor")
    inferred = inferred_vendor(source, target) if not vendor else None
    if not vendor and inferred is None:
        problems.append(Origin("unknown vendor", "the snapshot does not record its database vendor"))
    elif inferred is not None:
        vendor = inferred[0]
        problems.append(Origin("vendor-inferred", f"the snapshot does not record its database vendor; {inferred[1]}"))
    if vendor and target.get("vendor") and vendor != target.get("vendor"):
        problems.append(Origin("vendor", f"the snapshot comes from {vendor}, the target uses {target.get('vendor')}"))
    return problems


def covered(origin: Origin, source: Mapping[str, Any], accept_releases: Sequence[str]) -> bool:
    """Whether the translation rules carry a snapshot across ``origin`` without --force:
    another database always (the rules align what databases read back differently); another
    release when the environment accepts the snapshot's (``accept_releases``); a snapshot that
    does not say its database never."""
    if origin.kind in ("vendor", "vendor-inferred"):
        return True
    if origin.kind == "release":
        return any(fnmatch.fnmatchcase(str(source.get("directus")), pattern) for pattern in accept_releases)
    return False


def origin_warnings(source: Mapping[str, Any]) -> list[str]:
    """What can be told about where a snapshot really comes from, when it is not what it says."""
    if misreported_release(source):
        return [
            f"the snapshot says Directus {source.get('directus')}, but nothing in it shows a release from 11.1 on "
            "wrote it (no systemFields, no schema.is_indexed): written by hand or by another tool, or by a 10.x "
            "server that records an internal package version; it is translated as coming from another release"
        ]
    return []


def diff_for_apply(diff: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """Directus 11.17+ requires ``systemFields`` in an apply; older releases reject it."""
    result = dict(diff)
    if "systemFields" in target:
        result.setdefault("systemFields", [])
    else:
        result.pop("systemFields", None)
    return result


# --------------------------------------------------------------------------- translating


class _Run:
    """One translation: the snapshot being built and the notes taken."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        self.snapshot: Snapshot = dict(source)
        self.notes: list[Note] = []

    def note(self, rule: str, subject: str, detail: str = "") -> None:
        assert rule in RULES_BY_ID, rule
        self.notes.append(Note(rule, subject, detail))


def _name(entry: Mapping[str, Any]) -> str:
    if "field" in entry:
        return f"{entry.get('collection')}.{entry.get('field')}"
    return str(entry.get("collection"))


def translate(
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    *,
    target_release: str | None = None,
    system_index_changes: bool = False,
    target_has_field: Callable[[str, str], bool] | None = None,
    target_mariadb: bool | None = None,
) -> Translation:
    """``source`` as it should be compared with, or sent to, the project ``target`` holds.

    ``target`` is the target's current snapshot; ``target_release`` its release as the
    server reports it (a snapshot may carry an internal package version instead).
    ``target_has_field`` answers whether a field exists on the target, when a server can
    say; without it, system indexes for fields unknown to the target are kept.
    ``target_mariadb`` says whether a target Directus calls ``mysql`` is MariaDB (True) or
    MySQL (False), when its server could tell (``DirectusClient.mariadb``).
    """
    if source.get("version", 1) != 1 and (release(target_release or target.get("directus")) or (0, 0, 0)) < (12, 0, 0):
        raise SnapshotError(
            f"the snapshot is a partial one (version {source.get('version')}), which only Directus 12 understands; "
            "take a full snapshot to push it to this target"
        )
    run = _Run(source)
    if not source.get("vendor") and (inferred := inferred_vendor(source, target)) is not None:
        run.snapshot["vendor"] = inferred[0]
        run.note("vendor-inferred", "vendor", inferred[1])
    _collection_schema(run)
    _system_collections(run, target_release or target.get("directus"))
    _system_fields(run, target, system_index_changes=system_index_changes, target_has_field=target_has_field)
    theirs = release(target_release) or release(target.get("directus"))
    origins = _Origins(
        source_vendor=_vendor(run.snapshot),
        target_vendor=_vendor(target),
        releases_differ=_releases_differ(source, target, target_release),
        target_sorts_lists=theirs is not None and theirs < _KEEPS_LIST_ORDER_SINCE,
        target_indexes_unique=_vendor(target) == "sqlite" and (theirs is None or theirs < _UNIQUE_NOT_INDEXED_SINCE),
        target_release=theirs,
        target_mariadb=target_mariadb if _vendor(target) == "mysql" else None,
    )
    _expression_defaults(run, target, origins)
    _align(run, target, origins)
    # Before _new_fields: a column the target has without listing it is not new (it gets no made meta).
    _untracked_fields(run, target, target_has_field)
    _new_fields(run, target, origins)
    _new_relations(run, target, origins)
    _default_readback(run, target, origins)
    _default_keys(run, target)
    _foreign_keys(run, target)
    return Translation(run.snapshot, tuple(run.notes), origins.target_mariadb)


def _collection_schema(run: _Run) -> None:
    collections = []
    for entry in run.snapshot.get("collections") or []:
        schema = entry.get("schema")
        if "schema" in entry and schema is None:
            run.note("collection-schema", _name(entry), "schema: null (a folder)")
            entry = {k: v for k, v in entry.items() if k != "schema"}
        elif isinstance(schema, dict) and set(schema) - {"name"}:
            extra = sorted(set(schema) - {"name"})
            run.note("collection-schema", _name(entry), "schema." + ", schema.".join(extra))
            entry = {**entry, "schema": {k: v for k, v in schema.items() if k == "name"}}
        collections.append(entry)
    if "collections" in run.snapshot:
        run.snapshot["collections"] = collections


def _system_collections(run: _Run, target_release: Any) -> None:
    if "collections" in run.snapshot:
        kept_collections = []
        for entry in run.snapshot["collections"] or []:
            if str(entry.get("collection", "")).startswith("directus_"):
                run.note("system-collections", _name(entry), "collection")
                continue
            kept_collections.append(entry)
        run.snapshot["collections"] = kept_collections
    for key, relation in (("fields", False), ("relations", True)):
        kept = []
        for entry in run.snapshot.get(key) or []:
            collection, name = str(entry.get("collection", "")), str(entry.get("field", ""))
            # Left out with their collection where the target's release has no such table: a
            # newer release's (9.26.0 has no directus_extensions), a push never creates it.
            lacking = collection.startswith(system.PREFIX) and not system.owns(collection, target_release)
            if lacking or system.defines(collection, name, relation=relation):
                run.note("system-collections", f"{collection}.{name}", "relation" if relation else "field")
                continue
            kept.append(entry)
        if key in run.snapshot:
            run.snapshot[key] = kept


def _system_fields(
    run: _Run,
    target: Mapping[str, Any],
    *,
    system_index_changes: bool,
    target_has_field: Callable[[str, str], bool] | None,
) -> None:
    ours = run.snapshot.get("systemFields")
    if "systemFields" not in target:
        if ours is not None:
            del run.snapshot["systemFields"]
            run.note("system-fields-key", "systemFields", f"{len(ours)} entries")
        return
    theirs = {(e["collection"], e["field"]): e for e in target.get("systemFields") or []}
    automatic = _vendor(run.snapshot) == "mysql" and _vendor(target) != "mysql"
    result: dict[tuple[str, str], Any] = {}
    for entry in ours or []:
        key = (entry["collection"], entry["field"])
        if key not in theirs and target_has_field is not None and not target_has_field(*key):
            run.note("system-index-unknown", f"{key[0]}.{key[1]}")
            continue
        if key not in theirs and automatic:
            run.note("mysql-system-indexes", f"{key[0]}.{key[1]}")
            continue
        result[key] = entry
    if not system_index_changes:
        for key, entry in theirs.items():
            if key not in result:
                run.note("system-index-kept", f"{key[0]}.{key[1]}")
                result[key] = entry
    run.snapshot["systemFields"] = [result[key] for key in sorted(result)]


# --------------------------------------------------------------------------- across databases and releases

# Types whose ``max_length`` the user chose (the rest report what the database gives them). Directus
# sizes the others itself in every release from 9.26 on (services/fields.js, addColumnToTable): a hash
# is varchar(255), a csv varchar(255) (``table.string`` without a length, 10.6.3 and before) or text
# (10.7.1 on); neither reads the snapshot's max_length.
_SIZED_TYPES = frozenset({"string"})
_CSV_TEXT_SINCE = (10, 7, 0)
_NO_NATIVE_UUID = frozenset({"sqlite", "mysql"})
_SAME_AS_RESTRICT = frozenset({"RESTRICT", "NO ACTION"})


# Directus passes a relation's on_update to the constraint it makes from 10.11 on (directus/directus#21190;
# checked in the published @directus/api: 18.2.1, in 10.10.4, has only onDelete, 19.1.1, in 10.11.1, both).
_ON_UPDATE_SINCE = (10, 11, 0)
# Directus before 11 sorts plain lists in the snapshots it returns (lodash sortBy).
_KEEPS_LIST_ORDER_SINCE = (11, 0, 0)
# Directus 11 on SQLite reports a unique column's automatic index as is_indexed (11.3.5 does;
# 11.7.2, 11.17.4 and 12.4.1 do not: sent without the index, a new unique field reads back not
# indexed). @directus/schema 13.0.0, first shipped with 11.4.0, reads the two kinds of index apart.
_UNIQUE_NOT_INDEXED_SINCE = (11, 4, 0)


@dataclass(frozen=True)
class _Origins:
    source_vendor: str | None
    target_vendor: str | None
    releases_differ: bool
    target_sorts_lists: bool = False
    target_indexes_unique: bool = False
    target_release: tuple[int, int, int] | None = None
    target_mariadb: bool | None = None  # a "mysql" target: MariaDB, MySQL, or not known

    @property
    def target_doubles_quotes(self) -> bool:
        return _doubles_quotes(self.target_vendor, self.target_mariadb)

    @property
    def vendors_differ(self) -> bool:
        return self.source_vendor != self.target_vendor

    @property
    def target_ignores_on_update(self) -> bool:
        return self.target_release is not None and self.target_release < _ON_UPDATE_SINCE

    def involves(self, vendor: str) -> bool:
        return vendor in (self.source_vendor, self.target_vendor)


def _vendor(snapshot: Mapping[str, Any]) -> str | None:
    vendor = snapshot.get("vendor")
    return str(vendor) if vendor else None


def _releases_differ(source: Mapping[str, Any], target: Mapping[str, Any], target_release: str | None) -> bool:
    if origin_warnings(source):
        return True
    ours = release(source.get("directus"))
    theirs = release(target_release) or release(target.get("directus"))
    return ours is None or theirs is None or ours != theirs


def _align(run: _Run, target: Mapping[str, Any], origins: _Origins) -> None:
    """Give each entry the target already has the target's representation, rule by rule."""
    for key, align in (("collections", _align_collection), ("fields", _align_field), ("relations", _align_relation)):
        theirs = {entry_key(entry): entry for entry in target.get(key) or []}
        known = _known_keys(target.get(key) or []) if origins.releases_differ else None
        aligned = []
        for entry in run.snapshot.get(key) or []:
            other = theirs.get(entry_key(entry))
            if other is not None and other != entry:  # an entry equal to the target's is already its
                entry = align(run, entry, other, origins)
            elif origins.releases_differ and known is not None:
                entry = _drop_unknown_keys(run, entry, known)
            aligned.append(_drop_newer_properties(run, key, entry, origins))
        if key in run.snapshot:
            run.snapshot[key] = aligned


class _Entry:
    """A copy of one snapshot entry being aligned, with notes on what changed."""

    def __init__(self, run: _Run, entry: Mapping[str, Any]) -> None:
        self.run = run
        self.data: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in entry.items()}
        self.name = _name(entry)

    def take(self, rule: str, section: str | None, key: str, value: Any) -> None:
        """Set ``section.key`` to ``value`` (the target's), noting the rule when it changes."""
        holder = self.data if section is None else self.data.get(section)
        if not isinstance(holder, dict):
            return
        old = holder.get(key, ABSENT)
        if old == value and type(old) is type(value):
            return
        path = key if section is None else f"{section}.{key}"
        if value is ABSENT:
            del holder[key]
            self.run.note(rule, self.name, f"{path}: {_show(old)} left out")
        else:
            holder[key] = value
            self.run.note(rule, self.name, f"{path}: {_show(old)} → {_show(value)}")


def _taken(run: _Run, entry: Mapping[str, Any], rule: str, section: str | None, key: str, value: Any) -> dict[str, Any]:
    """A copy of ``entry`` with ``section.key`` set to ``value`` by ``rule`` (:meth:`_Entry.take`)."""
    item = _Entry(run, entry)
    item.take(rule, section, key, value)
    return item.data


def _show(value: Any) -> str:
    return "(absent)" if value is ABSENT else json.dumps(value, ensure_ascii=False)


def _known_keys(entries: Iterable[Mapping[str, Any]]) -> dict[str, set[str]] | None:
    """The ``meta`` and ``schema`` keys the target's release writes, from its own entries."""
    known: dict[str, set[str]] = {}
    for entry in entries:
        for section in ("meta", "schema"):
            value = entry.get(section)
            if isinstance(value, dict):
                known.setdefault(section, set()).update(value)
    return known or None


def _drop_unknown_keys(run: _Run, entry: Mapping[str, Any], known: dict[str, set[str]]) -> Mapping[str, Any]:
    """A new entry loses the properties the target's release does not have."""
    item = _Entry(run, entry)
    for section, keys in known.items():
        value = item.data.get(section)
        if not isinstance(value, dict):
            continue
        for key in sorted(set(value) - keys):
            item.take("release-only-properties", section, key, ABSENT)
    return item.data


@dataclass(frozen=True)
class ReleaseProperty:
    """A property of snapshot entries that Directus writes from one release on: a release
    before ``since`` does not know it (it ignores it in an apply and leaves it out of its own
    snapshots), so it is neither sent to nor compared with such a target."""

    entries: str  # "collections", "fields" or "relations"
    section: str  # "meta" or "schema"
    key: str
    since: str  # the first release that writes it
    evidence: str  # how that release is known (docs/translation.md renders this table)

    @property
    def path(self) -> str:
        return f"{self.entries}.{self.section}.{self.key}"


# What each release lacks, by the release that added it, from 9.26 on (the oldest release the
# tool supports writes every property added before it). Read from each release's own package
# (the migrations adding the directus_* columns behind `meta`, @directus/schema behind
# `schema`), the releases named checked one by one; "measured": read from a real server's snapshot.
RELEASE_PROPERTIES: tuple[ReleaseProperty, ...] = (
    ReleaseProperty(
        "collections",
        "meta",
        "preview_url",
        "10.2.0",
        "migration 20230525A-add-preview-settings: not in 10.1.0 (nor 9.26.0), in 10.2.1",
    ),
    ReleaseProperty(
        "collections",
        "meta",
        "versioning",
        "10.7.0",
        "migration 20230823A-add-content-versioning: not in 10.6.3 (nor 9.26.0), in 10.7.1",
    ),
    ReleaseProperty(
        "fields",
        "schema",
        "is_indexed",
        "11.1.0",
        "@directus/schema 12.1.0, in 11.1.0, reads indexes; 11.0.1 ships 12.0.0, which does not (nor 10.13.4's)",
    ),
    ReleaseProperty(
        "fields",
        "meta",
        "searchable",
        "11.13.0",
        "migration 20251012A-add-field-searchable: not in 11.11.0, in 11.13.0; 11.3.5 and 11.7.2 lack it (measured)",
    ),
    ReleaseProperty(
        "collections",
        "meta",
        "status",
        "12.0.0",
        "migration 20260507A-add-licensing: not in 11.17.4, in 12.0.2 (the first 12.x checked)",
    ),
    ReleaseProperty(
        "collections",
        "meta",
        "autosave_revision_interval",
        "12.0.0",
        "migration 20260512A-add-autosave-revision-interval: not in 11.17.4, in 12.0.2 (the first 12.x checked)",
    ),
)


def unknown_to(target_release: str | None) -> list[ReleaseProperty]:
    """The properties of ``RELEASE_PROPERTIES`` a target of ``target_release`` does not know."""
    theirs = release(target_release)
    return [] if theirs is None else list(_unknown_to(theirs))


@functools.cache  # asked once per entry: a large model has tens of thousands
def _unknown_to(theirs: tuple[int, int, int]) -> tuple[ReleaseProperty, ...]:
    return tuple(prop for prop in RELEASE_PROPERTIES if theirs < (release(prop.since) or (0, 0, 0)))


def _drop_newer_properties(run: _Run, entries: str, entry: Mapping[str, Any], origins: _Origins) -> Mapping[str, Any]:
    """An entry loses the properties the target's release does not know, by the table: a new
    entry too, where the target has no entries to tell them from (an empty target). Also when
    the snapshot claims the target's own release: a file that says 9.26.0 but holds 10.x
    properties (edited by hand, or its `directus` line copied) cannot have them stored either."""
    if origins.target_release is None:
        return entry
    unknown = [
        prop
        for prop in _unknown_to(origins.target_release)
        if prop.entries == entries and isinstance(entry.get(prop.section), dict) and prop.key in entry[prop.section]
    ]
    if not unknown:
        return entry
    item = _Entry(run, entry)
    for prop in unknown:
        item.take("release-only-properties", prop.section, prop.key, ABSENT)
    return item.data


_ENTRY_KIND: dict[str, Kind] = {"collections": "collection", "fields": "field", "relations": "relation"}
# The properties of the release table, by the entries that have them.
_NEWER: dict[str, frozenset[tuple[str, str]]] = {
    entries: frozenset((prop.section, prop.key) for prop in RELEASE_PROPERTIES if prop.entries == entries)
    for entries in _ENTRY_KIND
}


def _missing_properties(item: _Entry, other: Mapping[str, Any], entries: str, origins: _Origins) -> None:
    """What the snapshot lacks is the target's, on any target (a property a newer release added,
    when the releases differ, by release-only-properties; any other by absent-properties); what
    the target's release lacks goes."""
    if "meta" not in item.data and "meta" in other and other["meta"] is None:
        item.take("absent-properties", None, "meta", None)
    if entries == "fields" and "schema" not in item.data and isinstance(other.get("schema"), dict):
        # A field written without `schema` (hand-written files): Directus gave its column defaults
        # when it made it and leaves the column as it is in an apply without one.
        item.data["schema"] = {}
    newer = _NEWER[entries]
    for section in ("meta", "schema"):
        ours, theirs = item.data.get(section), other.get(section)
        if not isinstance(ours, dict) or not isinstance(theirs, dict):
            continue
        for key in sorted(set(theirs) - set(ours)):
            if origins.releases_differ and (section, key) in newer:
                item.take("release-only-properties", section, key, theirs[key])
            elif not ignored(_ENTRY_KIND[entries], section, key):
                item.take("absent-properties", section, key, theirs[key])
        if origins.releases_differ:
            for key in sorted(set(ours) - set(theirs)):
                item.take("release-only-properties", section, key, ABSENT)


def _sorted_like(ours: Any, theirs: Any) -> Any:
    """``ours`` with every plain list that holds the same items as ``theirs`` in ``theirs``'s order."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return {key: _sorted_like(value, theirs[key]) if key in theirs else value for key, value in ours.items()}
    if isinstance(ours, list) and isinstance(theirs, list):
        scalars = all(isinstance(v, str) for v in ours + theirs) or all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in ours + theirs
        )
        if scalars and ours != theirs and sorted(ours) == sorted(theirs) == theirs:
            return list(theirs)
        if len(ours) == len(theirs):
            return [_sorted_like(a, b) for a, b in zip(ours, theirs, strict=True)]
    return ours


def _sorted_lists(item: _Entry, other: Mapping[str, Any], origins: _Origins) -> None:
    if not origins.target_sorts_lists or not isinstance(item.data.get("meta"), dict):
        return
    aligned = _sorted_like(item.data["meta"], other.get("meta"))
    for key, value in aligned.items():
        if value != item.data["meta"].get(key):
            item.take("sorted-lists", "meta", key, value)


def _align_collection(
    run: _Run, entry: Mapping[str, Any], other: Mapping[str, Any], origins: _Origins
) -> Mapping[str, Any]:
    item = _Entry(run, entry)
    _sorted_lists(item, other, origins)
    _missing_properties(item, other, "collections", origins)
    return item.data


def _align_field(run: _Run, entry: Mapping[str, Any], other: Mapping[str, Any], origins: _Origins) -> Mapping[str, Any]:
    item = _Entry(run, entry)
    ours_schema, theirs_schema = item.data.get("schema"), other.get("schema")
    ours_type, theirs_type = item.data.get("type"), other.get("type")
    if (
        (origins.vendors_differ or origins.releases_differ)
        and ours_type != theirs_type
        and isinstance(theirs_schema, dict)
    ):
        pair = {ours_type, theirs_type}
        string_side = ours_schema if ours_type == "string" else theirs_schema
        if (
            pair == {"uuid", "string"}
            and isinstance(string_side, dict)
            and string_side.get("max_length") in (36, None)
            and (origins.source_vendor in _NO_NATIVE_UUID or origins.target_vendor in _NO_NATIVE_UUID)
        ):
            item.take("uuid-as-string", None, "type", theirs_type)
            item.take("uuid-as-string", "schema", "max_length", theirs_schema.get("max_length", ABSENT))
        elif pair == {"decimal", "float"} and origins.involves("sqlite"):
            item.take("sqlite-decimal", None, "type", theirs_type)
            for key in ("numeric_precision", "numeric_scale"):
                item.take("sqlite-decimal", "schema", key, theirs_schema.get(key))
    if _unbounded(item.data) and isinstance(theirs_schema, dict):
        item.take("unbounded-varchar", "schema", "max_length", theirs_schema.get("max_length", ABSENT))
    if origins.target_vendor == "sqlite" and _big_increments(item.data) and _integer_key(other):
        item.take("sqlite-integer-keys", None, "type", theirs_type)
    if origins.target_vendor == "mysql" and _json_read_as_text(item.data, other):
        item.take("json-as-text", None, "type", "text")
    if isinstance(theirs_schema, dict) and _default_not_written(item.data, origins):
        item.take("function-defaults", "schema", "default_value", theirs_schema.get("default_value"))
    if isinstance(theirs_schema, dict) and _text_default_dropped(item.data, origins):
        item.take("mysql-text-default", "schema", "default_value", theirs_schema.get("default_value"))
    ours_default = item.data["schema"].get("default_value") if isinstance(item.data.get("schema"), dict) else None
    if isinstance(theirs_schema, dict) and _is_now(theirs_schema.get("default_value")) and _is_now(ours_default):
        item.take("now-default", "schema", "default_value", theirs_schema["default_value"])
    schema = item.data.get("schema")
    if isinstance(schema, dict) and isinstance(theirs_schema, dict) and item.data.get("type") == theirs_type:
        if {_char_kind(schema.get("data_type")), _char_kind(theirs_schema.get("data_type"))} == {
            "char",
            "varchar",
        } and schema.get("max_length") == theirs_schema.get("max_length"):
            item.take("char-varchar", "schema", "data_type", theirs_schema.get("data_type"))
        if (
            origins.vendors_differ
            or origins.source_vendor == "mysql"
            or schema.get("data_type") != theirs_schema.get("data_type")
        ):
            item.take("column-representation", "schema", "data_type", theirs_schema.get("data_type", ABSENT))
            if theirs_type != "decimal":
                for key in ("numeric_precision", "numeric_scale"):
                    item.take("column-representation", "schema", key, theirs_schema.get(key, ABSENT))
            if theirs_type not in _SIZED_TYPES:
                item.take("column-representation", "schema", "max_length", theirs_schema.get("max_length", ABSENT))
            if (
                origins.involves("mysql")
                and (schema.get("foreign_key_table") or theirs_schema.get("foreign_key_table"))
                and "is_indexed" in theirs_schema
            ):
                item.take("foreign-key-index", "schema", "is_indexed", theirs_schema["is_indexed"])
        if (schema.get("is_primary_key") or theirs_schema.get("is_primary_key")) and "is_unique" in theirs_schema:
            item.take("primary-key-unique", "schema", "is_unique", theirs_schema["is_unique"])
        if (
            origins.target_indexes_unique
            and schema.get("is_indexed") is False
            and theirs_schema.get("is_indexed") is True
            and any(side.get(key) for side in (schema, theirs_schema) for key in ("is_unique", "is_primary_key"))
        ):
            item.take("sqlite-unique-indexed", "schema", "is_indexed", True)
    _align_special(item, other, origins)
    _sorted_lists(item, other, origins)
    _missing_properties(item, other, "fields", origins)
    _field_meta_made(item, other)
    return item.data


def _specials(entry: Mapping[str, Any]) -> list[Any]:
    meta = entry.get("meta")
    return list((meta.get("special") if isinstance(meta, dict) else None) or [])


def _json_read_as_text(ours: Mapping[str, Any], theirs: Mapping[str, Any] | None) -> bool:
    """Whether ``ours``, a json field without ``cast-json``, is (or, without ``theirs``, will be) read
    back as text: MariaDB's json is a longtext, and Directus tells json from text by the special alone."""
    if ours.get("type") != "json" or "cast-json" in _specials(ours):
        return False
    if theirs is None:
        return True
    schema = theirs.get("schema")
    return (
        theirs.get("type") == "text"
        and "cast-json" not in _specials(theirs)
        and isinstance(schema, dict)
        and str(schema.get("data_type") or "").lower() == "longtext"
    )


_FUNCTION_CALL = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\s*\(.*\)", re.DOTALL)


def _function_default(entry: Mapping[str, Any]) -> bool:
    """Whether the field's column default calls a database function (``gen_random_uuid()``)."""
    schema = entry.get("schema")
    value = schema.get("default_value") if isinstance(schema, dict) else None
    return isinstance(value, str) and _FUNCTION_CALL.fullmatch(value.strip()) is not None


# Directus writes a default as a call, not a quoted string, only for the current time (knex.fn.now()) and,
# on PostgreSQL, for ALLOWED_DB_DEFAULT_FUNCTIONS (gen_random_uuid()), which @directus/api 22.2.0 added:
# Directus 11.1.0 ships it, 11.0.1 ships 22.1.0 (measured: 10.13.4 quotes it, 11.17.4 and 12.4.1 do not).
_RAW_DEFAULT_FUNCTIONS = frozenset({"gen_random_uuid()"})
_RAW_DEFAULT_FUNCTIONS_SINCE = (11, 1, 0)


def _default_not_written(entry: Mapping[str, Any], origins: _Origins) -> bool:
    """Whether Directus cannot write the field's function default on the target: see the rule."""
    schema = entry.get("schema")
    if isinstance(schema, dict) and _is_now(schema.get("default_value")):  # (now-default sends it)
        return (
            origins.vendors_differ
            and origins.target_vendor == "mysql"
            and origins.target_mariadb is not True
            and entry.get("type") not in _NOW_COLUMNS_ON_MYSQL
        )
    if not _function_default(entry):
        return False
    if origins.vendors_differ:
        return True
    schema = entry["schema"]
    value = str(schema["default_value"])
    if origins.target_vendor != "postgres":
        return False  # on the same SQLite or MySQL: not measured, so sent as it is
    if schema.get("has_auto_increment"):
        return False  # Directus makes a serial, which reads back its own sequence's nextval()
    if "CURRENT_TIMESTAMP(" in value and value.endswith(")"):
        return False
    if value in _RAW_DEFAULT_FUNCTIONS:
        return origins.target_release is not None and origins.target_release < _RAW_DEFAULT_FUNCTIONS_SINCE
    return True


def _text_default_dropped(entry: Mapping[str, Any], origins: _Origins) -> bool:
    """Whether the field's default is one the target never writes: see the rule mysql-text-default."""
    schema = entry.get("schema")
    if origins.target_vendor != "mysql" or not isinstance(schema, dict) or schema.get("default_value") is None:
        return False
    kind = entry.get("type")
    newer = origins.target_release is None or origins.target_release >= _CSV_TEXT_SINCE
    return kind == "text" or (kind == "csv" and newer)


# A MySQL 8 expression default that is one string literal with a charset introducer.
_EXPRESSION_LITERAL = re.compile(r"_[A-Za-z0-9]+'((?:[^'\\]|\\.|'')*)'", re.DOTALL)


def _expression_literal(value: Any) -> str | None:
    """The string a MySQL expression default like ``_utf8mb4\\'{}\\'`` holds, or None for any other default."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if "\\'" in text:  # information_schema escapes the expression's quotes and backslashes once more
        text = re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)
    found = _EXPRESSION_LITERAL.fullmatch(text)
    if found is None:
        return None
    return re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", found.group(1), flags=re.DOTALL)


def _expression_defaults(run: _Run, target: Mapping[str, Any], origins: _Origins) -> None:
    """A MySQL 8 expression default as the plain value Directus writes: see the rule."""
    if origins.source_vendor != "mysql" or "fields" not in run.snapshot:
        return
    theirs = {entry_key(entry): entry for entry in target.get("fields") or []}
    fields = []
    for entry in run.snapshot["fields"] or []:
        schema = entry.get("schema")
        literal = _expression_literal(schema.get("default_value")) if isinstance(schema, dict) else None
        other = (theirs.get(entry_key(entry)) or {}).get("schema")
        if literal is not None and not (
            isinstance(other, dict) and other.get("default_value") == schema["default_value"]
        ):
            value: Any = literal
            if entry.get("type") == "json":  # Directus reads a json field's default back parsed
                with contextlib.suppress(ValueError):
                    value = json.loads(literal)
            item = _Entry(run, entry)
            item.take("mysql-expression-default", "schema", "default_value", value)
            if schema.get("is_generated") and not schema.get("generation_expression"):
                item.take("mysql-expression-default", "schema", "is_generated", False)
            entry = item.data
        fields.append(entry)
    run.snapshot["fields"] = fields


def _default_readback(run: _Run, target: Mapping[str, Any], origins: _Origins) -> None:
    """Defaults Directus reads back otherwise than it was given them: see the rules
    json-default-parsed and doubled-quote-default."""
    if "fields" not in run.snapshot:
        return
    theirs = {entry_key(entry): entry for entry in target.get("fields") or []}
    fields = []
    for entry in run.snapshot["fields"] or []:
        schema = entry.get("schema")
        value = schema.get("default_value") if isinstance(schema, dict) else None
        if isinstance(value, dict | list) and entry.get("type") == "json":
            fields.append(_json_default_as_text(run, entry, theirs.get(entry_key(entry))))
            continue
        if not isinstance(value, str):
            fields.append(entry)
            continue
        other = theirs.get(entry_key(entry))
        other_schema = other.get("schema") if other is not None else None
        theirs_value = other_schema.get("default_value", ABSENT) if isinstance(other_schema, dict) else ABSENT
        item = _Entry(run, entry)
        parsed = _json_text(value)
        if (
            entry.get("type") == "json"
            and parsed is not None
            and theirs_value != value
            and not (origins.target_vendor == "mysql" and _json_read_as_text(entry, other))
        ):
            item.take("json-default-parsed", "schema", "default_value", parsed)
        elif (
            origins.target_doubles_quotes
            and "'" in value
            and theirs_value == value.replace("'", "''")
            and other is not None
            and other.get("type") == entry.get("type")
            and _without_default(schema) == _without_default(other_schema)
        ):
            item.take("doubled-quote-default", "schema", "default_value", theirs_value)
        elif (
            _is_now(value)
            and not _written_as_now(value)
            and (other is None or _without_default(schema) != _without_default(other_schema))
        ):
            # A new field, or one the target alters anyway (Directus writes its default again).
            item.take("now-default", "schema", "default_value", "now()")
        fields.append(item.data)
    run.snapshot["fields"] = fields


# Where @directus/schema reads a string default back with its quotes still doubled (SQLite's
# table_info and PostgreSQL's column_default give the SQL literal), so that the doubled reading can
# only be the file's value. MariaDB's COLUMN_DEFAULT is the literal too (9.26.0, 10.13.4, 11.3.5,
# 11.17.4 and 12.4.1 on MariaDB 10.11 measured), MySQL 8's the value itself (its documentation): there
# a doubled reading is a column that holds the doubled text, which pushing a file pulled from one of
# the others writes, and a push of the file's value would fix. Directus calls both "mysql", so
# MariaDB doubles only where its server said which it is (DirectusClient.mariadb).
_DOUBLING_VENDORS = frozenset({"sqlite", "postgres"})


def _doubles_quotes(vendor: Any, mariadb: bool | None) -> bool:
    """Whether a server on ``vendor`` (a "mysql" one MariaDB when ``mariadb``) reads a string
    default with its quotes doubled."""
    return vendor in _DOUBLING_VENDORS or (vendor == "mysql" and mariadb is True)


def _json_default_as_text(run: _Run, entry: Mapping[str, Any], other: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``entry``, a json field whose default is a JSON value, with the target's reading when that is
    the value's text (Directus 9.26.0 on MariaDB): see json-default-parsed."""
    other_schema = other.get("schema") if other is not None else None
    theirs = other_schema.get("default_value") if isinstance(other_schema, dict) else None
    if not isinstance(theirs, str) or _json_text(theirs) != entry["schema"]["default_value"]:
        return entry
    if _without_default(entry["schema"]) != _without_default(other_schema):
        return entry  # altered anyway: Directus writes the default again from the file's value
    item = _Entry(run, entry)
    item.take("json-default-parsed", "schema", "default_value", theirs)
    return item.data


def as_stored(snapshot: Snapshot, *, mariadb: bool | None = None) -> Snapshot:
    """``snapshot``, as a server on SQLite, PostgreSQL or MariaDB (``mariadb``: what its server
    said) reports it, with each string default as the column stores it: the reading with its quotes
    un-doubled (see doubled-quote-default). ``pull`` writes that, so the file pushes the same default
    to any server; the reading it was (a default whose every quote is doubled) is the rule's case on
    the server it came from. A MySQL server's readings, and those of a "mysql" server that could not
    say which it is, are written as they are (MySQL 8 reads the value itself)."""
    if not _doubles_quotes(snapshot.get("vendor"), mariadb) or not snapshot.get("fields"):
        return snapshot
    fields = []
    for entry in snapshot["fields"]:
        schema = entry.get("schema")
        value = schema.get("default_value") if isinstance(schema, dict) else None
        if isinstance(value, str) and "''" in value and "'" not in value.replace("''", ""):
            entry = {**entry, "schema": {**schema, "default_value": value.replace("''", "'")}}
        fields.append(entry)
    return {**snapshot, "fields": fields}


def _json_text(value: str) -> Any:
    """The JSON object or array ``value`` is the text of, else None."""
    try:
        parsed = json.loads(value, parse_constant=_not_json)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _not_json(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity, which JSON.parse refuses


def _without_default(schema: Any) -> Any:
    return {k: v for k, v in schema.items() if k != "default_value"} if isinstance(schema, dict) else schema


# The database's current time, as Directus writes it (knex.fn.now()) and as databases read it back
# (SQLite and PostgreSQL `CURRENT_TIMESTAMP`, MariaDB `current_timestamp()`: 9.26.0 and 12.4.1 measured).
_NOW = frozenset({"now()", "current_timestamp", "current_timestamp()"})
# MySQL takes the current time as the default of a timestamp or datetime column only (its
# documentation; MariaDB 10.11 takes it for date and time too: measured).
_NOW_COLUMNS_ON_MYSQL = frozenset({"timestamp", "dateTime"})


def _is_now(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in _NOW


def _written_as_now(value: str) -> bool:
    """Whether Directus writes ``value`` as the current time, not as a quoted string: for `now()` in
    any case and `CURRENT_TIMESTAMP` only (its fields service; `current_timestamp()`, MariaDB's
    reading, is quoted: 500 on PostgreSQL and MariaDB, a text default on SQLite, 12.4.1 measured)."""
    return value.strip().lower() == "now()" or value.strip() == "CURRENT_TIMESTAMP"


def _default_keys(run: _Run, target: Mapping[str, Any]) -> None:
    """The key Directus adds to a table the snapshot lists without one: see the rule."""
    if "fields" not in run.snapshot:
        return
    fields = run.snapshot["fields"] or []
    keyed = {entry.get("collection") for entry in fields if (entry.get("schema") or {}).get("is_primary_key")}
    listed = {entry_key(entry) for entry in fields}
    theirs = {entry_key(entry): entry for entry in target.get("fields") or []}
    target_collections = {entry.get("collection") for entry in target.get("collections") or []}
    added = []
    for collection in run.snapshot.get("collections") or []:
        name = collection.get("collection")
        if not isinstance(collection.get("schema"), dict) or name in keyed or (name, "id") in listed:
            continue  # a folder, a collection with its key, or an `id` the snapshot says is no key
        other = theirs.get((name, "id"))
        if other is not None and _integer_key(other):
            run.note("default-primary-key", f"{name}.id", "the key Directus made for a collection listed without one")
            added.append(other)
        elif name not in target_collections:
            run.note("default-primary-key", str(name), "listed without a key field: Directus will add `id`")
    if added:
        run.snapshot["fields"] = [*fields, *added]


def _untracked_fields(
    run: _Run, target: Mapping[str, Any], target_has_field: Callable[[str, str], bool] | None
) -> None:
    """Untracked collections and fields the target has but does not list: see the rule."""
    if target_has_field is None or "fields" not in run.snapshot:
        return
    theirs = {entry_key(entry) for entry in target.get("fields") or []}
    listed = {entry_key(entry) for entry in target.get("collections") or []}
    first_field: dict[str, str] = {}
    kept = []
    for entry in run.snapshot["fields"] or []:
        key = entry_key(entry)
        first_field.setdefault(key[0], key[1])
        if entry.get("meta") is None and key not in theirs and target_has_field(*key):
            run.note("untracked-fields", _name(entry), "a column without meta, which the target's snapshot leaves out")
            continue
        kept.append(entry)
    run.snapshot["fields"] = kept
    if "collections" not in run.snapshot:
        return
    collections = []
    for entry in run.snapshot["collections"] or []:
        name = entry_key(entry)
        if (
            entry.get("meta") is None
            and "schema" in entry
            and name not in listed
            and name[0] in first_field
            and target_has_field(name[0], first_field[name[0]])
        ):
            run.note("untracked-fields", _name(entry), "a table without meta, which the target's snapshot leaves out")
            continue
        collections.append(entry)
    run.snapshot["collections"] = collections


def _auto_increment_key(field: Mapping[str, Any]) -> bool:
    # A /schema/diff answer leaves out the whole schema of an auto-increment primary key, and
    # only of one, so a target seen through a diff (engine/targetview) shows it without any.
    if "schema" not in field:
        return True
    schema = field.get("schema") or {}
    return bool(schema.get("is_primary_key") and schema.get("has_auto_increment"))


def _integer_key(field: Mapping[str, Any]) -> bool:
    return field.get("type") == "integer" and _auto_increment_key(field)


def _big_increments(field: Mapping[str, Any]) -> bool:
    """Whether the field is a bigInteger auto-increment key (knex's ``bigIncrements``)."""
    return field.get("type") == "bigInteger" and isinstance(field.get("schema"), dict) and _auto_increment_key(field)


def _new_fields(run: _Run, target: Mapping[str, Any], origins: _Origins) -> None:
    """What the target will make of fields it does not have yet (see the rules)."""
    if "fields" not in run.snapshot:
        return
    if origins.target_vendor not in ("mysql", "sqlite", "postgres") and not origins.vendors_differ:
        return
    theirs = {entry_key(entry) for entry in target.get("fields") or []}
    fields = []
    for entry in run.snapshot["fields"] or []:
        if entry_key(entry) in theirs:
            fields.append(entry)
            continue
        flag = _flag_made(entry.get("type"), origins)
        if entry.get("meta") is None and flag is not None:
            entry = _taken(run, entry, "field-meta-made", None, "meta", _made_field_meta(entry, flag))
        if _unbounded(entry):
            entry = _taken(run, entry, "unbounded-varchar", "schema", "max_length", None)
        if _default_not_written(entry, origins):
            entry = _taken(run, entry, "function-defaults", "schema", "default_value", None)
        if _text_default_dropped(entry, origins):
            entry = _taken(run, entry, "mysql-text-default", "schema", "default_value", None)
        if origins.target_vendor == "mysql" and origins.target_mariadb is not False and _json_read_as_text(entry, None):
            run.note("json-as-text", _name(entry), "json without cast-json: MariaDB will read it back as text")
        if origins.target_vendor == "sqlite" and _big_increments(entry):
            run.note("sqlite-integer-keys", _name(entry), "bigInteger auto-increment key: SQLite makes it integer")
        schema = entry.get("schema")
        if (
            origins.target_indexes_unique  # (SQLite only)
            and isinstance(schema, dict)
            and schema.get("is_unique")
            and schema.get("is_indexed")
            and not schema.get("is_primary_key")
        ):
            entry = _taken(run, entry, "sqlite-unique-indexed", "schema", "is_indexed", False)
        fields.append(entry)
    run.snapshot["fields"] = fields


def _unbounded(field: Mapping[str, Any]) -> bool:
    """Whether the field's column is read as a negative length: see unbounded-varchar."""
    schema = field.get("schema")
    length = schema.get("max_length") if isinstance(schema, dict) else None
    return type(length) is int and length < 0


def _char_kind(data_type: Any) -> str | None:
    name = str(data_type or "").lower()
    if name in ("char", "character", "bpchar"):
        return "char"
    if name in ("varchar", "character varying"):
        return "varchar"
    return None


def _align_special(item: _Entry, other: Mapping[str, Any], origins: _Origins) -> None:
    meta, theirs_meta = item.data.get("meta"), other.get("meta")
    if not isinstance(meta, dict) or not isinstance(theirs_meta, dict):
        return
    ours, theirs = meta.get("special"), theirs_meta.get("special")
    if ours == theirs:
        return
    ours_list, theirs_list = list(ours or []), list(theirs or [])
    if origins.vendors_differ or origins.releases_differ:
        added = ("cast-timestamp", "cast-json")
        rest_equal = sorted(s for s in ours_list if s not in added) == sorted(s for s in theirs_list if s not in added)
        if rest_equal and set(ours_list) != set(theirs_list):
            item.take("directus-casts", "meta", "special", theirs)
            return
    if origins.releases_differ and sorted(ours_list) == sorted(theirs_list) and ours_list:
        item.take("special-order", "meta", "special", theirs)


def _align_relation(
    run: _Run, entry: Mapping[str, Any], other: Mapping[str, Any], origins: _Origins
) -> Mapping[str, Any]:
    item = _Entry(run, entry)
    schema, theirs_schema = item.data.get("schema"), other.get("schema")
    same_link = item.data.get("related_collection") == other.get("related_collection")
    if isinstance(schema, dict) and isinstance(theirs_schema, dict) and same_link:
        item.take("foreign-key-names", "schema", "constraint_name", theirs_schema.get("constraint_name", ABSENT))
        if origins.vendors_differ and origins.involves("mysql"):
            for key in ("on_update", "on_delete"):
                if {schema.get(key), theirs_schema.get(key)} <= _SAME_AS_RESTRICT:
                    item.take("restrict-is-no-action", "schema", key, theirs_schema.get(key))
        if origins.target_ignores_on_update and theirs_schema.get("on_update") in _SAME_AS_RESTRICT:
            item.take("on-update-ignored", "schema", "on_update", theirs_schema["on_update"])
    _sorted_lists(item, other, origins)
    _missing_properties(item, other, "relations", origins)
    _relation_meta_made(item, other)
    return item.data


def _new_relations(run: _Run, target: Mapping[str, Any], origins: _Origins) -> None:
    """Name the new relations the target will make otherwise than the snapshot says: without its
    ``on_update`` (on-update-ignored), with a meta of its own (relation-meta-made)."""
    theirs = {entry_key(entry) for entry in target.get("relations") or []}
    for entry in run.snapshot.get("relations") or []:
        if entry_key(entry) in theirs:
            continue
        if entry.get("meta") is None:
            run.note("relation-meta-made", _name(entry), "no meta in the snapshot: Directus will write its own")
        schema = entry.get("schema")
        if (
            origins.target_ignores_on_update
            and isinstance(schema, dict)
            and entry.get("related_collection")
            and schema.get("on_update") not in (None, "NO ACTION")
        ):
            run.note("on-update-ignored", _name(entry), f"on_update {schema['on_update']}: the target makes NO ACTION")


# What a `directus_relations` row holds when the relation is created without a meta: the three
# keys RelationsService.createOne sets (9.26.0 to 12.4.1), and the columns' defaults (migration
# 20210510A gives one_deselect_action its default; the other columns default to null).
_MADE_META_DEFAULTS = {"one_deselect_action": "nullify"}


def _made_meta(relation: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "many_collection": relation.get("collection"),
        "many_field": relation.get("field"),
        "one_collection": relation.get("related_collection") or None,
    }


def _relation_meta_made(item: _Entry, other: Mapping[str, Any]) -> None:
    """A relation without a meta is one with the meta Directus makes for it: see the rule."""
    theirs = other.get("meta")
    if item.data.get("meta") is not None or not isinstance(theirs, dict):
        return
    made = _made_meta(item.data)
    if set(made) <= set(theirs) and all(
        value == made.get(key, _MADE_META_DEFAULTS.get(key)) for key, value in theirs.items()
    ):
        item.take("relation-meta-made", None, "meta", theirs)


# The flag Directus's `fieldFlagForField` gives a field it creates, by type: `timestamp` on SQLite
# on every release; `json` on every database from @directus/api 34 (Directus 11.16.1; 11.14.1,
# @directus/api 33, has no such flag, and 9.26.0 to 11.3.5 measured make a json field no meta).
_FLAGS = {"json": "cast-json", "timestamp": "cast-timestamp"}
_JSON_FLAGGED_SINCE = (11, 16, 0)
# The columns of `directus_fields` a made meta leaves at their default (9.26.0 to 12.4.1 measured;
# `searchable` from 11.13); `sort` is the field's place, or null before 10.
_MADE_FIELD_DEFAULTS = {"hidden": False, "readonly": False, "required": False, "width": "full", "searchable": True}


def _flag_made(field_type: Any, origins: _Origins) -> str | None:
    """The flag Directus gives a field of ``field_type`` it creates on the target, if any."""
    if field_type == "timestamp" and origins.target_vendor == "sqlite":
        return _FLAGS["timestamp"]
    newest = origins.target_release is None or origins.target_release >= _JSON_FLAGGED_SINCE
    return _FLAGS["json"] if field_type == "json" and newest else None


def _made_field_meta(field: Mapping[str, Any], flag: str) -> dict[str, Any]:
    return {"collection": field.get("collection"), "field": field.get("field"), "special": [flag]}


def _field_meta_made(item: _Entry, other: Mapping[str, Any]) -> None:
    """A field without a meta is one with the meta Directus makes for it: see the rule."""
    theirs = other.get("meta")
    flag = _FLAGS.get(str(item.data.get("type"))) or _FLAGS.get(str(other.get("type")))
    if item.data.get("meta") is not None or not isinstance(theirs, dict) or flag is None:
        return
    named = _made_field_meta(item.data, flag)
    made = {**_MADE_FIELD_DEFAULTS, **named}
    if set(named) <= set(theirs) and all(
        (value is None or type(value) is int) if key == "sort" else value == made.get(key)
        for key, value in theirs.items()
    ):
        item.take("field-meta-made", None, "meta", theirs)


# --------------------------------------------------------------------------- foreign keys

_FOREIGN_KEYS = "foreign-keys-from-relations"


def _foreign_keys(run: _Run, target: Mapping[str, Any]) -> None:
    """Constraints Directus makes (or does not make) whatever the snapshot says: see the rule."""
    relations = {entry_key(entry): entry for entry in run.snapshot.get("relations") or []}
    theirs_relations = {entry_key(entry): entry for entry in target.get("relations") or []}
    theirs_fields = {entry_key(entry): entry for entry in target.get("fields") or []}
    if "relations" in run.snapshot:
        run.snapshot["relations"] = [
            _constraint_made(run, entry, theirs_relations.get(entry_key(entry))) for entry in relations.values()
        ]
    if "fields" in run.snapshot:
        run.snapshot["fields"] = [
            _constraint_of_field(run, entry, relations.get(entry_key(entry)), theirs_fields.get(entry_key(entry)))
            for entry in run.snapshot["fields"] or []
        ]


def _constraint_made(run: _Run, relation: Mapping[str, Any], other: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A relation to a collection without a constraint gets the one Directus makes."""
    if not relation.get("related_collection") or isinstance(relation.get("schema"), dict):
        return relation
    if other is None:
        run.note(_FOREIGN_KEYS, _name(relation), "no constraint in the snapshot: Directus will make one")
        return relation
    theirs = other.get("schema")
    if not isinstance(theirs, dict) or other.get("related_collection") != relation.get("related_collection"):
        return relation
    item = _Entry(run, relation)
    item.take(_FOREIGN_KEYS, None, "schema", theirs)
    return item.data


def _constraint_of_field(
    run: _Run, field: Mapping[str, Any], relation: Mapping[str, Any] | None, other: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    """A field's foreign key is the one its relation makes, and none without a relation."""
    schema = field.get("schema")
    if not isinstance(schema, dict):
        return field
    ours = schema.get("foreign_key_table")
    related = relation.get("related_collection") if relation is not None else None
    if ours and relation is None:
        expected = None  # nothing in the snapshot makes this constraint
    elif not ours and related:
        expected = related  # the relation's constraint, which Directus makes anyway
    else:
        return field
    if other is None:
        if expected is None:
            run.note(_FOREIGN_KEYS, _name(field), f"foreign key to {ours} without a relation: Directus will make none")
        return field
    theirs = other.get("schema")
    if not isinstance(theirs, dict) or theirs.get("foreign_key_table") != expected:
        return field
    item = _Entry(run, field)
    for key in ("foreign_key_table", "foreign_key_column"):
        item.take(_FOREIGN_KEYS, "schema", key, theirs.get(key, ABSENT))
    return item.data


__all__ = [
    "RELEASE_PROPERTIES",
    "RULES",
    "Note",
    "ReleaseProperty",
    "Rule",
    "Translation",
    "compatibility",
    "diff_for_apply",
    "origin_warnings",
    "release",
    "translate",
    "unknown_to",
]
