"""docs/output.schema.json describes the JSON output of diff, plan, push and log and the saved plan
file; real output is validated against it here (offline) and in tests/test_init.py (plan,
push and a saved plan from real servers)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests import samples
from tests.conftest import Project
from tests.test_diff import edited, make_diverged, write

ROOT = Path(__file__).resolve().parent.parent
SCHEMA: dict[str, Any] = json.loads((ROOT / "docs/output.schema.json").read_text())


def validate(document: Any, kind: str | None = None) -> None:
    """``document`` against the published schema (or one of its definitions)."""
    schema = SCHEMA if kind is None else {**SCHEMA, "oneOf": [{"$ref": f"#/$defs/{kind}"}]}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_diff_output_matches_the_schema(project: Project) -> None:
    write(project, samples.base(), "Base model")
    write(project, edited(), "Edit")
    document = json.loads(project.run("diff", "HEAD~1", "HEAD", "--format", "json").out)
    assert document["changes"], "an empty diff would prove little"
    validate(document, "diff")
    validate(document)
    empty = json.loads(project.run("diff", "HEAD", "HEAD", "--format", "json").out)
    validate(empty, "diff")


def test_a_merge_base_diff_and_the_log_match_the_schema(project: Project) -> None:
    make_diverged(project)
    validate(json.loads(project.run("diff", "main...feature", "--format", "json").out), "diff")
    log = json.loads(project.run("log", "--format", "json").out)
    assert len(log["commits"]) == 2
    validate(log, "log")
    validate(log)


def test_the_schema_rejects_what_it_does_not_describe(project: Project) -> None:
    write(project, samples.base(), "Base model")
    write(project, edited(), "Edit")
    document = json.loads(project.run("diff", "HEAD~1", "HEAD", "--format", "json").out)
    for broken in ({"format_version": 1}, {"summary": {"add": "one"}}):
        changed = copy.deepcopy(document)
        changed.update(broken)
        with pytest.raises(jsonschema.ValidationError):
            validate(changed)
    changed = copy.deepcopy(document)
    changed["changes"][0]["action"] = "move"
    with pytest.raises(jsonschema.ValidationError):
        validate(changed)


def test_plan_files_say_format_version_1_as_a_string_and_older_ones_still_read(tmp_path: Path) -> None:
    from directus_gitops.base.errors import ConfigError
    from directus_gitops.engine import plan

    assert plan.PLAN_FORMAT_VERSION == "1"
    saved = {"format": "directus-gitops-plan", "hash": "h", "diff": {}, "snapshot": samples.base()}
    path = tmp_path / "old.plan.json"
    for version in (1, "1"):
        path.write_text(json.dumps({**saved, "format_version": version}))
        assert plan.load_saved(path)["hash"] == "h"
    for version in (2, "2", True):
        path.write_text(json.dumps({**saved, "format_version": version}))
        with pytest.raises(ConfigError, match="format_version"):
            plan.load_saved(path)
