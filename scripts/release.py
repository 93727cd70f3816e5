#!/usr/bin/env python3
"""Check that this checkout can be released, and build what the release publishes
(``make release-check``; the release workflow runs it on each ``v*`` tag with ``--tag``).

    python scripts/release.py check [--tag vX.Y.Z] [--outdir dist]

It checks that the version (``directus_gitops.__version__``, the only place it is written) has
an entry in CHANGELOG.md, and with ``--tag`` that the tag names that version and the entry has
its release date; then builds the sdist and the wheel (``python -m build``), runs ``twine check``
on them and looks inside: both carry the version, the wheel its templates, data and LICENSE.
Each problem is one ``error:`` line on stderr, and the exit code 1. docs/releasing.md has the
whole procedure.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from email.parser import HeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tool"))  # this checkout's package, whatever is installed

from directus_gitops import __version__

CHANGELOG = "CHANGELOG.md"
# What the wheel must carry beyond the modules: what `init` writes, what the code reads.
WHEEL_FILES = (
    "directus_gitops/templates/github-workflow.yml",
    "directus_gitops/templates/pre-commit-config.yaml",
    "directus_gitops/py.typed",
)


def changelog_entry(text: str, version: str) -> str | None:
    """What follows ``## [version] - `` in the changelog (a date, or ``Unreleased``); None
    when the changelog has no entry for the version."""
    match = re.search(rf"^## \[{re.escape(version)}\](?: - (?P<when>.+))?$", text, re.MULTILINE)
    if match is None:
        return None
    return (match["when"] or "").strip()


def release_problems(root: Path, version: str, tag: str | None) -> list[str]:
    """What stops ``version`` from being released (tagged ``tag``, when given) from ``root``."""
    problems = []
    path = root / CHANGELOG
    when = changelog_entry(path.read_text(encoding="utf-8"), version) if path.is_file() else None
    if when is None:
        problems.append(f"{CHANGELOG} has no entry '## [{version}] - <date>' for the version {version}")
    if tag is not None:
        if tag != f"v{version}":
            problems.append(f"the tag {tag} does not name the version {version} (directus_gitops.__version__)")
        if when is not None:
            try:
                date.fromisoformat(when)
            except ValueError:
                problems.append(f"{CHANGELOG}: {version} has no release date ('{when}'; write the day as YYYY-MM-DD)")
    return problems


def artifact_problems(outdir: Path, version: str) -> list[str]:
    """What is wrong with the sdist and the wheel in ``outdir``."""
    wheels = sorted(outdir.glob("*.whl"))
    sdists = sorted(outdir.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"{outdir}: expected one wheel and one sdist, found {[p.name for p in [*wheels, *sdists]]}"]
    problems = []
    stem = f"directus_gitops-{version}"
    for built in (*wheels, *sdists):
        if not built.name.startswith(f"{stem}-") and built.name != f"{stem}.tar.gz":
            problems.append(f"{built.name} does not carry the version {version}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"{stem}.dist-info/METADATA").decode() if f"{stem}.dist-info/METADATA" in names else ""
    for name in (*WHEEL_FILES, f"{stem}.dist-info/licenses/LICENSE"):
        if name not in names:
            problems.append(f"{wheels[0].name} lacks {name}")
    if not any(name.startswith("directus_gitops/data/") for name in names):
        problems.append(f"{wheels[0].name} lacks directus_gitops/data/")
    if HeaderParser().parsestr(metadata)["Version"] != version:
        problems.append(f"{wheels[0].name}: its metadata does not say Version: {version}")
    return problems


def build(outdir: Path) -> None:
    """The sdist, and the wheel built from it (as an installer from PyPI would build it)."""
    if outdir.exists():
        shutil.rmtree(outdir)  # nothing left from another version
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)], check=True)
    files = [str(path) for path in sorted(outdir.iterdir())]
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="check the version and the changelog, build and check sdist and wheel")
    check.add_argument("--tag", help="the tag being released (the release workflow's GITHUB_REF_NAME)")
    check.add_argument("--outdir", type=Path, default=ROOT / "dist", help="where to build (emptied first)")
    args = parser.parse_args(argv)

    problems = release_problems(ROOT, __version__, args.tag)
    if not problems:
        try:
            build(args.outdir)
        except subprocess.CalledProcessError as exc:
            problems.append(f"{' '.join(exc.cmd[1:4])} failed (exit {exc.returncode}; its output is above)")
        else:
            problems = artifact_problems(args.outdir, __version__)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"directus-gitops {__version__}: sdist and wheel in {args.outdir}, checked.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
