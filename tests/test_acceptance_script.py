"""scripts/acceptance.py's report: a run that converged only after the opt-in its refusal named
is counted apart, never as converged; PostGIS runs are PostgreSQL files' only. And PostGIS is
installed only when asked for, for the PostgreSQL that is there."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from directus_gitops.files import yamlio
from tests.directus_harness import databases

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "acceptance.py"


@pytest.fixture(scope="module")
def acceptance() -> ModuleType:
    spec = importlib.util.spec_from_file_location("acceptance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("acceptance", module)
    spec.loader.exec_module(module)
    return module


def test_a_run_converged_after_the_named_opt_in_is_counted_apart(acceptance: ModuleType) -> None:
    case = acceptance.Case
    plain = case("a.yaml", "own-db", "12.4.1", "sqlite", push_code=0, plan_code=0)
    refused = case("b.yaml", "own-db", "12.4.1", "sqlite", push_code=3, plan_code=2, unchanged=True)
    refused.opt_in, refused.opt_in_push_code, refused.opt_in_plan_code = ["--allow-missing-extensions"], 0, 0
    stuck = case("c.yaml", "own-db", "12.4.1", "sqlite", push_code=3, plan_code=2, unchanged=True)
    stuck.opt_in, stuck.opt_in_push_code, stuck.opt_in_plan_code = ["--allow-missing-extensions"], 4, 2
    licence = case("d.yaml", "own-db", "12.4.1", "sqlite", push_code=3, plan_code=2, unchanged=True)

    assert refused.outcome == "refused" and refused.after_opt_in == "converged"
    assert stuck.after_opt_in == "residue" and licence.after_opt_in == ""
    report = acceptance.table([plain, refused, stuck, licence])
    assert "- own-db: 1 of 4 converged; 1 of the 2 refused with an opt-in (--allow-missing-extensions)" in report
    assert "| refused | None |  | converged (`--allow-missing-extensions`) |" in report


def test_only_the_opt_ins_a_hint_names_are_taken(acceptance: ModuleType) -> None:
    hint = "hint: install the extensions on the target first, or pass --allow-missing-extensions to push anyway"
    assert acceptance.OPT_IN.findall(hint) == ["--allow-missing-extensions"]
    assert acceptance.OPT_IN.findall("hint: a licence key, or set meta.status: inactive") == []


def test_postgis_runs_are_for_postgresql_files_only(acceptance: ModuleType, tmp_path: Path) -> None:
    for vendor in ("postgres", "sqlite"):
        (tmp_path / f"{vendor}.yaml").write_text(
            yamlio.dump({"version": 1, "directus": "11.1.0", "vendor": vendor, "collections": []})
        )
    targets = ["own-db", "own-db-postgis"]
    postgres = acceptance.cases_for(tmp_path / "postgres.yaml", targets)
    assert [(c.target, c.where) for c in postgres] == [
        ("own-db", "11.17.4 postgres"),
        ("own-db-postgis", "11.17.4 postgres + PostGIS"),
    ]
    assert [c.target for c in acceptance.cases_for(tmp_path / "sqlite.yaml", targets)] == ["own-db"]


def test_postgis_is_installed_for_the_postgresql_there_and_only_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "usr/lib/postgresql/15/bin"
    monkeypatch.setattr(databases, "ensure_installed", lambda vendor: None)
    monkeypatch.setattr(databases, "_postgres_bindir", lambda: bindir)
    control = tmp_path / "postgis.control"
    monkeypatch.setattr(databases, "_postgis_control", lambda: control)
    asked: list[tuple[str, ...]] = []
    monkeypatch.setattr(databases, "_apt_install", lambda packages, missing: asked.append(packages))

    control.write_text("")
    databases.ensure_postgis()
    assert asked == []  # there already

    control.unlink()
    with pytest.raises(databases.DatabaseError, match="installed postgresql-15-postgis-3 but"):
        databases.ensure_postgis()
    assert asked == [("postgresql-15-postgis-3",)]
