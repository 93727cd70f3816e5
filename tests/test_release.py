"""The release: every pinned reference names the package's version, which the changelog has;
``scripts/release.py`` builds and checks what PyPI gets; the release workflow, the Dockerfile
and ``.dockerignore`` hold together (checked statically: no Docker engine here).
docs/releasing.md describes the procedure.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from directus_gitops import REPOSITORY, __version__
from tests.conftest import Project
from tests.test_init import github_workflow_schema

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import release  # noqa: E402

OWNER_NAME = REPOSITORY.removeprefix("https://github.com/")
# Each way a text names a release of this project, by the kind of reference it is. A value
# starting with `$` is a variable (action.yml's "directus-gitops==$VERSION"), not a pin.
_END = r"[^\s\"'`),]+"
REFERENCES = re.compile(
    rf"git\+{re.escape(REPOSITORY)}@(?P<git>{_END})"
    rf"|uses: {re.escape(OWNER_NAME)}@(?P<action>{_END})"
    rf"|repo: {re.escape(REPOSITORY)}[^\n]*\n[ \t]*rev: (?P<rev>{_END})"
    rf"|directus-gitops==(?P<pypi>[^\s\"'`$),]{_END[:-1]}*)"
    rf"|ghcr\.io/{re.escape(OWNER_NAME)}:(?P<image>{_END})"
)
# How docs/releasing.md and comments write "a release" without naming one.
PLACEHOLDERS = {"vX.Y.Z", "X.Y.Z", "<version>"}
# An install that names no release at all.
UNPINNED = re.compile(r"\b(?:pip|pipx|uv tool) install (?:-\S+ )*[\"']?directus-gitops(?![\w=./-])")


@dataclass(frozen=True)
class Reference:
    where: str  # file:line
    kind: str
    value: str

    @property
    def wanted(self) -> str:
        return __version__ if self.kind in ("pypi", "image") else f"v{__version__}"


def references(text: str, name: str) -> list[Reference]:
    found = []
    for match in REFERENCES.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        line = text.count("\n", 0, match.start(kind)) + 1
        found.append(Reference(f"{name}:{line}", kind, match[kind]))
    return found


def documented() -> dict[str, str]:
    """The texts of the repository that install or name a release, by their path."""
    paths = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "action.yml",
        ROOT / ".pre-commit-hooks.yaml",
        ROOT / "Dockerfile",
        *sorted((ROOT / ".github/workflows").glob("*.yml")),
    ]
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in paths}


def generated(project: Project) -> dict[str, str]:
    """What ``init`` writes that installs the tool."""
    assert project.run("init").code == 0
    names = [".github/workflows/directus-schema.yml", ".pre-commit-config.yaml"]
    return {f"init: {name}": (project.root / name).read_text(encoding="utf-8") for name in names}


def test_every_pinned_reference_names_the_version_the_changelog_has(project: Project) -> None:
    texts = {**documented(), **generated(project)}
    found = [ref for name, text in texts.items() for ref in references(text, name)]
    found = [ref for ref in found if ref.value not in PLACEHOLDERS]
    wrong = [f"{ref.where}: {ref.value} (not {ref.wanted})" for ref in found if ref.value != ref.wanted]
    assert not wrong, "pinned references that do not name this version:\n" + "\n".join(wrong)
    unpinned = [f"{name}: {match[0]}" for name, text in texts.items() for match in UNPINNED.finditer(text)]
    assert not unpinned, "installs that name no release:\n" + "\n".join(unpinned)
    # Each kind is found, so the patterns still match what the files say.
    assert {ref.kind for ref in found} == {"git", "action", "rev", "pypi", "image"}
    assert {ref.kind for ref in found if ref.where.startswith("init: ")} == {"git", "rev"}
    changelog = (ROOT / release.CHANGELOG).read_text(encoding="utf-8")
    assert release.changelog_entry(changelog, __version__) is not None, f"CHANGELOG.md has no entry for {__version__}"


def test_the_patterns_catch_a_reference_to_another_release() -> None:
    text = (
        f"pip install 'git+{REPOSITORY}@main'\n"
        f"  - repo: {REPOSITORY}   # hooks\n    rev: v0.0.9\n"
        f"      - uses: {OWNER_NAME}@v1\n"
        "pipx install directus-gitops==0.0.9\n"
        f"image: ghcr.io/{OWNER_NAME}:latest\n"
        'python -m pip install "directus-gitops==$VERSION"\n'
    )
    assert [(ref.where, ref.kind, ref.value) for ref in references(text, "x")] == [
        ("x:1", "git", "main"),
        ("x:3", "rev", "v0.0.9"),
        ("x:4", "action", "v1"),
        ("x:5", "pypi", "0.0.9"),
        ("x:6", "image", "latest"),
    ]
    assert [m[0] for m in UNPINNED.finditer("pip install directus-gitops\npip install ./directus-gitops\n")] == [
        "pip install directus-gitops"
    ]


def test_every_release_tag_the_repository_has_is_a_dated_changelog_entry() -> None:
    # A clone without tags (CI's shallow checkout) has nothing to check; the release workflow's
    # `release.py check --tag` checks the tag being pushed.
    tags = subprocess.run(
        ["git", "tag", "--list", "v*"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    changelog = (ROOT / release.CHANGELOG).read_text(encoding="utf-8")
    for tag in tags:
        assert not release.release_problems(ROOT, tag.removeprefix("v"), tag), tag
    assert release.changelog_entry(changelog, __version__) is not None


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "directus_gitops.__version__"}


def test_a_release_needs_its_tag_and_a_dated_changelog_entry(tmp_path: Path) -> None:
    changelog = tmp_path / release.CHANGELOG
    assert release.release_problems(tmp_path, "1.2.0", None) == [
        "CHANGELOG.md has no entry '## [1.2.0] - <date>' for the version 1.2.0"
    ]
    changelog.write_text("# Changelog\n\n## [1.2.0] - Unreleased\n\n- A change.\n")
    assert release.release_problems(tmp_path, "1.2.0", None) == []  # on main, before the release
    assert release.release_problems(tmp_path, "1.2.0", "v1.2.0") == [
        "CHANGELOG.md: 1.2.0 has no release date ('Unreleased'; write the day as YYYY-MM-DD)"
    ]
    changelog.write_text("# Changelog\n\n## [1.2.0] - 2027-01-15\n\n- A change.\n")
    assert release.release_problems(tmp_path, "1.2.0", "v1.2.0") == []
    assert release.release_problems(tmp_path, "1.2.0", "v1.2") == [
        "the tag v1.2 does not name the version 1.2.0 (directus_gitops.__version__)"
    ]


def test_release_check_refuses_a_tag_of_another_version_before_building(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/release.py"), "check", "--tag", "v0.0.0", "--outdir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"error: the tag v0.0.0 does not name the version {__version__} " + (
        "(directus_gitops.__version__)"
    )
    assert not (tmp_path / "d").exists()


BUILD = subprocess.run([sys.executable, "-c", "import build, twine"], capture_output=True).returncode == 0


@pytest.mark.skipif(not BUILD, reason="needs build and twine (development dependencies: make install)")
def test_release_check_builds_and_checks_sdist_and_wheel(tmp_path: Path) -> None:
    outdir = tmp_path / "dist"
    outdir.mkdir()
    (outdir / "directus_gitops-0.0.1-py3-none-any.whl").write_bytes(b"an older build")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/release.py"), "check", "--outdir", str(outdir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert output.count("PASSED") == 2 and "FAILED" not in output  # twine check, on each
    built = sorted(path.name for path in outdir.iterdir())
    assert built == [f"directus_gitops-{__version__}-py3-none-any.whl", f"directus_gitops-{__version__}.tar.gz"]
    # What it checks in the wheel, found wanting when it is not there.
    with zipfile.ZipFile(outdir / built[0]) as wheel:
        kept = [item for item in wheel.infolist() if not item.filename.endswith("github-workflow.yml")]
        with zipfile.ZipFile(tmp_path / built[0], "w") as broken:
            for item in kept:
                broken.writestr(item, wheel.read(item))
    (outdir / built[0]).unlink()
    (tmp_path / built[0]).rename(outdir / built[0])
    problems = release.artifact_problems(outdir, __version__)
    assert problems == [f"{built[0]} lacks directus_gitops/templates/github-workflow.yml"]


def workflow() -> dict[str, Any]:
    """The release workflow as GitHub reads it (YAML 1.2: the key ``on`` is a string)."""
    document: dict[Any, Any] = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    document["on"] = document.pop(True)
    return document


def test_the_release_workflow_publishes_a_tag_by_trusted_publishing() -> None:
    document = workflow()
    jsonschema.validate(document, github_workflow_schema())
    assert document["on"] == {"push": {"tags": ["v*"]}}
    assert document["permissions"] == {"contents": "read"}
    jobs = document["jobs"]
    build_steps = [step.get("run", "") for step in jobs["build"]["steps"]]
    assert any("tests/test_release.py" in run for run in build_steps)
    assert any(run.startswith("python scripts/release.py check --tag") for run in build_steps)
    assert jobs["build"]["steps"][2]["run"] == "python -m pip install --quiet -e '.[dev]'"
    # Only the publishing job gets an OIDC token, and it runs nothing of the repository.
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert jobs["pypi"]["environment"]["name"] == "pypi"
    assert [step.get("uses") for step in jobs["pypi"]["steps"]] == [
        "actions/download-artifact@v8",
        "pypa/gh-action-pypi-publish@release/v1",
    ]
    assert not any("id-token" in (job.get("permissions") or {}) for name, job in jobs.items() if name != "pypi")
    assert jobs["pypi"]["needs"] == jobs["image"]["needs"] == "build"
    assert jobs["image"]["permissions"] == {"contents": "read", "packages": "write"}
    script = jobs["image"]["steps"][-1]["run"]
    assert "docker login ghcr.io" in script and "--password-stdin" in script
    assert 'docker push "$image:$version"' in script and "--version" in script


def instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile's instructions, continuation lines joined and comments left out."""
    joined = re.sub(r"\\\n(?:[ \t]*#[^\n]*\n)*", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines if line and line[0] != "#"]


def test_the_image_is_python_git_and_the_released_wheel() -> None:
    steps = instructions((ROOT / "Dockerfile").read_text())
    (base,) = [value for kind, value in steps if kind == "FROM"]
    match = re.fullmatch(r"python:3\.(\d+)-slim", base)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert match and int(match[1]) >= int(requires.removeprefix(">=3."))
    runs = [value for kind, value in steps if kind == "RUN"]
    assert any("apt-get install --yes --no-install-recommends git" in run for run in runs)
    assert ("COPY", "dist/*.whl /tmp/wheel/") in steps
    assert any(re.search(r"pip install .*/tmp/wheel/\*\.whl", run) for run in runs)
    assert ("ENTRYPOINT", '["directus-gitops"]') in steps
    # The build context is the wheel alone: the checkout (and any secret in it) stays out.
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignore == ["*", "!dist/*.whl"]
