"""scripts/acceptance.py's report: a run that converged only after the opt-in its refusal named,
or after installing from npm the extensions it named, is counted apart, never as converged;
PostGIS runs are PostgreSQL files' only. And PostGIS is installed only when asked for, for the
PostgreSQL that is there."""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import directus_server
import pytest

from directus_gitops.engine import predict
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


def test_the_extensions_a_refusal_names_are_read_from_its_words(acceptance: ModuleType) -> None:
    used = {
        "interfaces": {"field-actions": ["videos.url"], "input": ["videos.title"]},
        "displays": {"field-actions": ["videos.url"], "money": ["orders.total"]},
    }
    missing = predict.missing_extensions(used, predict.builtins("12.4.1"), frozenset())
    error = f"refusing to push: {len(missing)} extension(s) the model uses are not on 't': {', '.join(missing)}"
    assert acceptance.missing_extension_names(error) == ["field-actions", "money"]
    assert acceptance.missing_extension_names("refusing to push: 1 required field(s) (interface 'x')") == []


def test_the_newest_release_whose_host_accepts_the_target_is_chosen(acceptance: ModuleType, tmp_path: Path) -> None:
    releases = [("1.0.0", "^9.0.0"), ("2.0.0", "^10.0.0 || ^11.0.0"), ("2.1.0", "^10.0.0 || ^11.0.0"), ("3.0.0", None)]
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("no Node.js with npm here")
    semver = Path(
        subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout.strip(), "npm/node_modules"
    )
    if not (semver / "semver").is_dir():
        pytest.skip("npm ships no semver here")
    installation = directus_server.Installation("11.17.4", tmp_path, Path(node))
    (tmp_path / "node_modules").symlink_to(semver)

    def accepts(release: str) -> object:
        return lambda host: acceptance.host_accepts(host, release, installation)

    assert acceptance.choose_release(releases, accepts("11.17.4")) == ("2.1.0", "^10.0.0 || ^11.0.0")
    assert acceptance.choose_release(releases, accepts("9.26.0")) == ("1.0.0", "^9.0.0")
    assert acceptance.choose_release(releases, accepts("12.4.1")) is None  # a release without a host is none


def test_a_package_is_unpacked_into_its_own_folder_of_the_extensions_path(
    acceptance: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def npm_pack(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        assert command[1:3] == ["pack", "directus-extension-field-actions@2.2.0"]
        destination = Path(command[command.index("--pack-destination") + 1])
        with tarfile.open(destination / "x.tgz", "w:gz") as archive:
            for name, text in (("package/package.json", "{}"), ("package/dist/app.js", "export default {}")):
                data = text.encode()
                member = tarfile.TarInfo(name)
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
        return subprocess.CompletedProcess(command, 0, stdout='[{"filename": "x.tgz"}]', stderr="")

    monkeypatch.setattr(acceptance.subprocess, "run", npm_pack)
    found = [
        acceptance.Extension("field-actions", "directus-extension-field-actions", "2.2.0", "^10.0.0"),
        acceptance.Extension("money", "directus-extension-money", reason="no public package"),
    ]
    acceptance.install_extensions(found, tmp_path / "extensions", tmp_path / "scratch")
    folder = tmp_path / "extensions" / "directus-extension-field-actions"
    assert (folder / "package.json").read_text() == "{}" and (folder / "dist" / "app.js").is_file()
    assert [p.name for p in (tmp_path / "extensions").iterdir()] == ["directus-extension-field-actions"]


def test_runs_after_installing_extensions_are_counted_apart_from_the_opt_in(acceptance: ModuleType) -> None:
    case, extension = acceptance.Case, acceptance.Extension
    installed = case("a.yaml", "own-db", "10.13.4", "sqlite", push_code=3, plan_code=2, unchanged=True)
    installed.opt_in = ["--allow-missing-extensions"]
    installed.extensions = [extension("field-actions", "directus-extension-field-actions", "2.2.0", "^10 || ^11")]
    installed.install_push_code, installed.install_plan_code = 0, 0
    missing = case("b.yaml", "own-db", "10.13.4", "sqlite", push_code=3, plan_code=2, unchanged=True)
    missing.opt_in, missing.opt_in_push_code, missing.opt_in_plan_code = ["--allow-missing-extensions"], 0, 0
    missing.extensions = [extension("money", "directus-extension-money", reason="no public package")]

    assert installed.outcome == "refused" and installed.after_install == "converged" and not installed.took_opt_in
    assert missing.after_install == "not installable" and missing.took_opt_in
    report = acceptance.table([installed, missing])
    assert "- own-db: 0 of 2 converged; 1 of the 1 refused with an opt-in (--allow-missing-extensions)" in report
    assert "of the 2 refused for extensions, 1 had every one on npm for the target's release and 1 converged" in report
    assert (
        "|  | converged (`field-actions`: directus-extension-field-actions@2.2.0 (host `^10 \\|\\| ^11`)) |" in report
    )
    assert "| converged (`--allow-missing-extensions`) | not installable (`money`: no public package) |" in report


@pytest.mark.parametrize(
    ("claimed", "release"),
    [
        ("11.15.1", "11.17.4"),  # a directus-template-cli export: no systemFields, its own major all the same
        ("11.17.2", "11.17.4"),  # written by hand
        ("9.26.0", "9.26.0"),
        ("12.1.3", "12.4.1"),
        ("14.1.2", "10.13.4"),  # no Directus 14: an internal package version of a 10.x server
    ],
)
def test_own_major_is_the_files_own_directus_major(acceptance: ModuleType, claimed: str, release: str) -> None:
    assert acceptance.own_release({"directus": claimed, "collections": [], "fields": []}) == release
