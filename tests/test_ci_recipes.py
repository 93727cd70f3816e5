"""The CI recipes: action.yml, the workflows in docs/ci.md and the pre-commit hooks, run for real
where they can be (their shell and Python steps, the comment script against fakes)."""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import click
import jsonschema
import pytest
import yaml

from directus_gitops.cli import cli
from tests import samples
from tests.conftest import Project
from tests.test_diff import edited, make_diverged, write

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOC = (ROOT / "docs/ci.md").read_text()
MARKER = "<!-- directus-gitops-diff -->"


def yaml_blocks() -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)]


def github_workflow() -> dict[str, Any]:
    return next(block for block in yaml_blocks() if isinstance(block, dict) and "jobs" in block)


def gitlab_pipeline() -> dict[str, Any]:
    return next(block for block in yaml_blocks() if isinstance(block, dict) and "stages" in block)


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s.get("name") == name)


def bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script], cwd=cwd, env=environment, capture_output=True, text=True
    )


# --------------------------------------------------------------------------- command lines


def documented_commands() -> list[list[str]]:
    """Every directus-gitops invocation the docs and the hooks show, variables left out."""
    texts = [DOC, (ROOT / ".pre-commit-hooks.yaml").read_text()]
    for job in github_workflow()["jobs"].values():
        texts.extend(
            f"directus-gitops {s['with']['command']}\n" for s in job["steps"] if "command" in s.get("with", {})
        )
    found = []
    for text in texts:
        text = re.sub(r"\$\{\{.*?\}\}|\$\w+", "", text)
        for match in re.finditer(r"directus-gitops ((?:check|diff|log|plan|pull|push)\b[^\n`#|<>]*)", text):
            found.append(shlex.split(match.group(1)))
    return found


def test_every_documented_command_line_is_valid() -> None:
    commands = documented_commands()
    assert {c[0] for c in commands} >= {"check", "diff", "push"}
    for args in commands:
        group = cli.make_context("directus-gitops", list(args))
        name, command, rest = cli.resolve_command(group, list(args))
        assert command is not None
        command.make_context(name, rest, parent=group)  # raises on an unknown option or value


def test_the_command_line_check_can_fail() -> None:
    group = cli.make_context("directus-gitops", ["diff"])
    with pytest.raises(click.UsageError):
        cli.commands["diff"].make_context("diff", ["--format", "markdwon"], parent=group)


# --------------------------------------------------------------------------- action.yml


def action_run_script() -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert {"command", "version"} <= set(action["inputs"])
    assert action["inputs"]["command"]["required"] is True
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    install = steps[1]["run"]
    assert '"directus-gitops==$VERSION"' in install and '"$GITHUB_ACTION_PATH"' in install
    assert steps[2]["env"]["COMMAND"] == "${{ inputs.command }}"
    return str(steps[2]["run"])


@pytest.fixture
def history(project: Project) -> Project:
    write(project, samples.base(), "Base model")
    write(project, edited(), "Edit the model")
    return project


def test_the_action_runs_the_command_and_reports_its_exit_code_and_output(history: Project, tmp_path: Path) -> None:
    script = action_run_script()
    outputs = tmp_path / "outputs"
    result = bash(
        script,
        history.root,
        COMMAND="diff HEAD~1 HEAD --format markdown --exit-code",
        RUNNER_TEMP=str(tmp_path),
        GITHUB_OUTPUT=str(outputs),
    )
    assert result.returncode == 2, result.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values["exit-code"] == "2"
    assert Path(values["output-file"]).read_text().startswith("### Directus schema changes")
    assert "**Plan: 1 to add, 1 to change, 2 to destroy.**" in result.stdout


def test_the_action_never_lets_a_shell_interpret_the_command(history: Project, tmp_path: Path) -> None:
    result = bash(
        action_run_script(),
        history.root,
        COMMAND="check $(touch pwned-1); touch pwned-2 *",
        RUNNER_TEMP=str(tmp_path),
        GITHUB_OUTPUT=str(tmp_path / "outputs"),
    )
    assert result.returncode == 1  # check was given paths that do not exist
    assert not list(history.root.glob("pwned*"))


# --------------------------------------------------------------------------- GitHub Actions


def test_the_github_workflow_reviews_pull_requests_and_deploys_main() -> None:
    jobs = github_workflow()["jobs"]
    assert jobs["review"]["permissions"]["pull-requests"] == "write"
    assert jobs["production"]["needs"] == "staging"
    assert jobs["production"]["environment"] == "production"
    assert "push --env staging --yes" in jobs["staging"]["steps"][1]["with"]["command"]
    assert "push --env production --yes" in jobs["production"]["steps"][1]["with"]["command"]
    assert jobs["review"]["steps"][2]["with"]["command"] == "check"


@pytest.fixture
def pull_request(history: Project, tmp_path: Path) -> Project:
    """A clone whose origin has main at the base model, checked out on a branch that edits it."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(history.root), str(origin)], check=True)
    history.git("remote", "add", "origin", str(origin))
    history.git("push", "--quiet", "origin", "HEAD~1:refs/heads/main", "--force")
    return history


def test_the_pull_request_steps_make_the_comment(pull_request: Project, tmp_path: Path) -> None:
    review = github_workflow()["jobs"]["review"]
    env = {"BASE_REF": "main", "RUNNER_TEMP": str(tmp_path)}
    fetched = bash(step(review, "Fetch the base branch")["run"], pull_request.root, **env)
    assert fetched.returncode == 0, fetched.stderr
    diffed = bash(step(review, "Diff against the base branch")["run"], pull_request.root, **env)
    assert diffed.returncode == 0, diffed.stderr
    comment = (tmp_path / "diff.md").read_text()
    assert comment.startswith(f"{MARKER}\n### Directus schema changes: merge base of origin/main and HEAD (")
    assert "**Plan: 1 to add, 1 to change, 2 to destroy.**" in comment


GITHUB_SCRIPT_HARNESS = """
const calls = [];
const state = JSON.parse(process.env.COMMENTS);
const github = {
  rest: { issues: {
    listComments: 'listComments',
    createComment: async (args) => { calls.push(['create', args.body]); },
    updateComment: async (args) => { calls.push(['update', args.comment_id, args.body]); },
  } },
  paginate: async (what, args) => { if (what !== 'listComments' || args.issue_number !== 7) throw 1; return state; },
};
const context = { repo: { owner: 'o', repo: 'r' }, issue: { number: 7 } };
(async () => { SCRIPT })().then(() => console.log(JSON.stringify(calls)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the github-script step")
def test_the_comment_is_created_once_then_updated(tmp_path: Path) -> None:
    script = step(github_workflow()["jobs"]["review"], "Post or update the comment")["with"]["script"]
    (tmp_path / "diff.md").write_text(f"{MARKER}\nnew plan\n")
    harness = tmp_path / "harness.js"
    harness.write_text(GITHUB_SCRIPT_HARNESS.replace("SCRIPT", script))

    def run(comments: list[dict[str, Any]]) -> Any:
        env = {**os.environ, "RUNNER_TEMP": str(tmp_path), "COMMENTS": json.dumps(comments)}
        result = subprocess.run(["node", str(harness)], env=env, capture_output=True, text=True, check=True)
        return json.loads(result.stdout)

    someone = {"id": 1, "user": {"type": "User"}, "body": "Looks good"}
    assert run([someone]) == [["create", f"{MARKER}\nnew plan\n"]]
    ours = {"id": 2, "user": {"type": "Bot"}, "body": f"{MARKER}\nold plan\n"}
    assert run([someone, ours]) == [["update", 2, f"{MARKER}\nnew plan\n"]]
    # A pull request that no longer changes anything: no new comment, the old one says so.
    (tmp_path / "unchanged").touch()
    assert run([someone]) == []
    [(action, comment_id, body)] = run([someone, ours])
    assert (action, comment_id) == ("update", 2) and "No schema or configuration changes any more." in body


# --------------------------------------------------------------------------- GitLab CI


def test_the_gitlab_pipeline_reviews_merge_requests_and_deploys_behind_a_manual_step() -> None:
    pipeline = gitlab_pipeline()
    assert pipeline["stages"] == ["check", "review", "staging", "production"]
    assert pipeline["production"]["needs"] == ["staging"]
    assert pipeline["production"]["rules"][0]["when"] == "manual"
    assert pipeline["production"]["allow_failure"] is False
    assert pipeline["check"]["script"] == ["directus-gitops check"]


class FakeGitLab(http.server.BaseHTTPRequestHandler):
    notes: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[list[tuple[str, str]]] = []

    def _answer(self, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        assert self.headers["PRIVATE-TOKEN"] == "secret"
        self.calls.append(("GET", self.path))
        self._answer(self.notes)

    def _body(self) -> dict[str, Any]:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))  # type: ignore[no-any-return]

    def do_POST(self) -> None:
        note = {"id": len(self.notes) + 1, "body": self._body()["body"]}
        self.notes.append(note)
        self.calls.append(("POST", self.path))
        self._answer(note)

    def do_PUT(self) -> None:
        note_id = int(self.path.rsplit("/", 1)[1])
        note = next(n for n in self.notes if n["id"] == note_id)
        note["body"] = self._body()["body"]
        self.calls.append(("PUT", self.path))
        self._answer(note)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gitlab() -> Iterator[str]:
    FakeGitLab.notes = [{"id": 1, "body": "A human note"}]
    FakeGitLab.calls = []
    server = http.server.HTTPServer(("127.0.0.1", 0), FakeGitLab)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v4"
    server.shutdown()
    server.server_close()


def test_the_merge_request_note_is_created_once_then_updated(
    pull_request: Project, tmp_path: Path, gitlab: str
) -> None:
    review = gitlab_pipeline()["review"]
    env = {
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_API_V4_URL": gitlab,
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        "GITLAB_NOTES_TOKEN": "secret",
        **{name: str(value) for name, value in review["variables"].items()},
    }
    for attempt in range(2):
        for script in review["script"]:
            result = bash(script, pull_request.root, **env)
            assert result.returncode == 0, result.stderr
        assert len(FakeGitLab.notes) == 2, f"attempt {attempt}: one note of ours besides the human one"
    assert [method for method, _ in FakeGitLab.calls] == ["GET", "POST", "GET", "PUT"]
    assert all(path.startswith("/api/v4/projects/42/merge_requests/7/notes") for _, path in FakeGitLab.calls)
    ours = FakeGitLab.notes[1]["body"]
    assert ours.startswith(f"{MARKER}\n### Directus schema changes: merge base of origin/main and HEAD (")
    assert "**Plan: 1 to add, 1 to change, 2 to destroy.**" in ours


def test_the_merge_request_review_shows_only_the_branchs_own_change(project: Project, tmp_path: Path) -> None:
    """The target branch gained a field after the branch point: the review must not show it
    as a removal with data loss (as a tip-against-tip diff did)."""
    make_diverged(project)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(project.root), str(origin)], check=True)
    project.git("remote", "add", "origin", str(origin))
    review = gitlab_pipeline()["review"]
    env = {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", **{k: str(v) for k, v in review["variables"].items()}}
    for script in review["script"][:2]:  # fetch the target, write diff.md
        result = bash(script, project.root, **env)
        assert result.returncode == 0, result.stderr
    comment = (project.root / "diff.md").read_text()
    assert "**Plan: 1 to add, 0 to change, 0 to destroy.**" in comment
    assert "teaser" not in comment and "data loss" not in comment


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hooks_check_and_fix_the_schema_folder(project: Project) -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"directus-gitops-check", "directus-gitops-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert re.search(hook["files"], "schema/collections/articles.yaml")
        assert not re.search(hook["files"], "tool/directus_gitops/cli.py")
    store_files = samples.base()
    write(project, store_files)
    authors = project.schema / "collections/authors.yaml"
    authors.write_text(authors.read_text().replace("  note: null\n", "  note:   ~\n"))
    check = shlex.split(hooks["directus-gitops-check"]["entry"])[1:]
    fix = shlex.split(hooks["directus-gitops-fix"]["entry"])[1:]
    assert project.run(*check).code == 1
    assert project.run(*fix).code == 0
    assert project.run(*check).code == 0

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    local = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "directus-gitops-check", "directus-gitops-fix"} <= set(local)


def test_the_documented_workflow_and_the_action_are_valid_for_github() -> None:
    from tests.test_init import github_schema

    workflow = github_workflow()
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key "on" as True; GitHub does not
    jsonschema.validate(workflow, github_schema("github-workflows"))
    jsonschema.validate(yaml.safe_load((ROOT / "action.yml").read_text()), github_schema("github-actions"))
    assert all(isinstance(job["timeout-minutes"], int) for job in workflow["jobs"].values())
