"""The command line as a whole: help everywhere, documented commands, exit codes, fast start."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from directus_gitops.base.errors import ExitCode
from directus_gitops.cli import cli
from tests.conftest import Project

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
COMMANDS = sorted(cli.commands)


def test_there_are_commands() -> None:
    assert {"pull", "plan", "push"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_and_is_documented(name: str) -> None:
    command = cli.commands[name]
    assert command.help and len(command.help.strip()) > 20, f"{name} needs help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} needs help text"
    assert re.search(rf"`{name}[ `]", README), f"the README does not document `{name}`"
    result = subprocess.run([sys.executable, "-m", "directus_gitops", name, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_readme_exit_code_table_matches_the_code() -> None:
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", README, re.MULTILINE), f"exit code {int(code)} missing in README"


def test_help_does_not_import_httpx_or_gitpython() -> None:
    probe = (
        "import sys\n"
        "from directus_gitops.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('httpx', 'git') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_usage_errors_exit_1_not_2() -> None:
    # 2 means "changes found"; a typo must never look like that.
    result = subprocess.run(
        [sys.executable, "-m", "directus_gitops", "pull", "--no-such-flag"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "No such option" in result.stderr


def test_the_program_exits_as_main_does_with_all_its_output(project: Project) -> None:
    """``directus-gitops`` leaves without the interpreter's teardown (cli.entry): the same
    output, whole even past a pipe's buffer, and the same exit code as ``main``."""
    from directus_gitops.files import store
    from tests import synthetic

    model = synthetic.model(150, 20)
    for note in ("one", "two"):
        model["fields"][0]["meta"]["note"] = note
        store.write_tree(project.schema, store.render(model))
        project.git("add", "--all")
        project.git("commit", "--quiet", "-m", note)

    def both(*args: str) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        program = subprocess.run(
            [sys.executable, "-m", "directus_gitops", *args], cwd=project.root, capture_output=True, text=True
        )
        probe = f"from directus_gitops.cli import main\nmain({list(args)!r})\n"
        with_teardown = subprocess.run([sys.executable, "-c", probe], cwd=project.root, capture_output=True, text=True)
        return program, with_teardown

    program, with_teardown = both("diagram")
    assert program.returncode == with_teardown.returncode == 0, program.stderr
    assert len(program.stdout) > 65536 and program.stdout == with_teardown.stdout
    program, with_teardown = both("diff", "HEAD~1", "HEAD", "--exit-code")
    assert program.returncode == with_teardown.returncode == ExitCode.CHANGES
    assert "meta.note" in program.stdout and program.stdout == with_teardown.stdout
    program, with_teardown = both("diff", "no-such-revision", "HEAD")
    assert program.returncode == with_teardown.returncode == ExitCode.ERROR
    assert program.stderr == with_teardown.stderr and program.stderr.startswith("error: ")


def run_in_terminal(args: list[str], answer: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stderr and type ``answer`` at its prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "directus_gitops", *args], env)
    output = b""
    answered = False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"Only 'yes' will be accepted" in output:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code"), [("no", 3), ("yes", 0)])
def test_push_asks_in_a_terminal(project, seeded, empty, answer: str, code: int) -> None:  # type: ignore[no-untyped-def]
    project.configure(dev=seeded.url, prod=empty.url)
    project.token("dev", seeded.token)
    assert project.run("pull", "--env", "dev", "--commit").code == 0
    env = {**os.environ, "DIRECTUS_PROD_TOKEN": empty.token}
    status, output = run_in_terminal(["push", "--env", "prod"], answer, project.root, env)
    assert status == code, output
    assert "Apply these changes to 'prod'" in output
    import demo_model

    created = demo_model.snapshot(empty.url, empty.token)["collections"]
    assert bool(created) is (answer == "yes")


def test_the_cli_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from cli_reference import DOC, reference

    assert DOC.read_text() == reference(), "docs/cli.md is out of date: run `make docs`"


def test_the_translation_rules_table_is_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from cli_reference import RULES_DOC, rules_document

    current = RULES_DOC.read_text()
    assert rules_document(current) == current, "docs/translation.md is out of date: run `make docs`"


def test_before_the_first_pull_the_errors_say_to_pull(project: Project) -> None:
    project.configure(dev="http://127.0.0.1:9")
    status = Project(project.root.parent / "fresh", project.capsys, project.monkeypatch)
    status.root.mkdir()
    status.git("init", "--quiet", "--initial-branch=main")
    (status.root / "directus-gitops.yaml").write_text("environments:\n  dev: {url: 'http://127.0.0.1:9'}\n")
    new_repo = status.run("status")
    assert new_repo.code == 1 and "error: the repository has no commits yet" in new_repo.err
    assert "hint: pull from your development server and commit it: directus-gitops pull --commit" in new_repo.err
    project.schema.mkdir()
    for command in (["check"], ["diff"]):
        result = project.run(*command)
        assert result.code == 1 and "empty: no manifest.yaml yet (directus-gitops pull writes it)" in result.err
    project.token("dev", "t")
    planned = project.run("plan", "--env", "dev")
    assert planned.code == 1 and "has no schema/" in planned.err and "pull --commit" in planned.err
