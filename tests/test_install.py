"""Every documented install path works from the repository itself, without the package being
on an index: the README's git URL, the action's checkout, and pre-commit's hook repository.

Each builds and installs the tool into a fresh virtual environment (its dependencies come from
the ordinary package index), so these tests take a little while.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from directus_gitops import REPOSITORY, __version__
from tests import samples
from tests.conftest import Project
from tests.test_diff import write

ROOT = Path(__file__).resolve().parent.parent
GIT_URL = f"git+{REPOSITORY}@v{__version__}"


def run(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as committed, tagged as the release the docs name."""
    clone = tmp_path_factory.mktemp("install") / "directus-gitops"
    run("git", "clone", "--quiet", "--no-local", ROOT, clone)
    # (--force: the clone may have the tag already, on an older commit; this tests the code as it is)
    run("git", "-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "--force", f"v{__version__}", cwd=clone)
    return clone


def venv(where: Path) -> Path:
    run(sys.executable, "-m", "venv", where)
    return where / "bin"


def test_the_documented_urls_name_one_repository() -> None:
    texts = [
        (ROOT / "README.md").read_text(),
        (ROOT / "docs/ci.md").read_text(),
        (ROOT / "pyproject.toml").read_text(),
        *(p.read_text() for p in (ROOT / "tool/directus_gitops/templates").iterdir()),
    ]
    urls = {url for text in texts for url in re.findall(r"https://github\.com/[\w.-]+/directus-gitops", text)}
    assert urls == {REPOSITORY}
    assert not any("OWNER" in text for text in texts)
    install_lines = re.findall(r"git\+https://\S+@v[\d.]+", "\n".join(texts))
    assert install_lines and {line.strip('"') for line in install_lines} == {GIT_URL}
    assert "license-files" in texts[2] and (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_generated_workflows_install_step_works_from_a_git_url(
    checkout: Path, tmp_path: Path, project: Project
) -> None:
    # The step `init` writes, as GitHub would run it, with the repository's URL pointing at a
    # local clone (this machine has no GitHub). The README and the GitLab recipe use the same URL.
    assert project.run("init").code == 0
    workflow = yaml.safe_load((project.root / ".github/workflows/directus-schema.yml").read_text())
    install = next(s for s in workflow["jobs"]["staging"]["steps"] if s.get("name") == "Install directus-gitops")
    assert workflow["env"]["DIRECTUS_GITOPS"] == GIT_URL
    bin_ = venv(tmp_path / "venv")
    url = GIT_URL.replace(REPOSITORY, checkout.as_uri())
    path = f"{bin_}{os.pathsep}{os.environ['PATH']}"  # `python` as setup-python provides it
    run("bash", "-eo", "pipefail", "-c", install["run"], PATH=path, DIRECTUS_GITOPS=url)
    assert run(bin_ / "directus-gitops", "--version").stdout.strip().endswith(__version__)
    licence = list((tmp_path / "venv").glob("lib/python*/site-packages/directus_gitops-*.dist-info/licenses/LICENSE"))
    assert licence, "the wheel carries the LICENSE"


def test_the_action_installs_its_own_checkout(checkout: Path, tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    install = next(s for s in action["runs"]["steps"] if s.get("name") == "Install directus-gitops")
    bin_ = venv(tmp_path / "venv")
    # The action runs `python`, as setup-python puts it on PATH; its input "version" is empty.
    path = f"{bin_}{os.pathsep}{os.environ['PATH']}"
    run("bash", "-eo", "pipefail", "-c", install["run"], PATH=path, VERSION="", GITHUB_ACTION_PATH=str(checkout))
    assert run(bin_ / "directus-gitops", "--version").stdout.strip().endswith(__version__)


PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


@pytest.mark.skipif(not PRE_COMMIT.exists(), reason="needs pre-commit (a development dependency)")
def test_pre_commit_installs_the_published_hooks_from_the_repository(project: Project, tmp_path: Path) -> None:
    write(project, samples.base(), "Base model")
    authors = project.schema / "collections/authors.yaml"
    canonical = authors.read_text()
    authors.write_text(canonical.replace("  note: null\n", "  note:   ~\n"))  # not canonical
    # One run of both hooks (pre-commit builds the hook environment once per run): check
    # fails on the file, fix rewrites it.
    result = subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(ROOT), "--all-files"],
        cwd=project.root,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"directus-gitops check\.+Failed", result.stdout), result.stdout
    assert re.search(r"directus-gitops check --fix\.+Failed", result.stdout), result.stdout
    assert "files were modified by this hook" in result.stdout
    assert authors.read_text() == canonical
