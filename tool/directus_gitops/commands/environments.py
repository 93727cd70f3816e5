"""``environments``: the environments directus-gitops.yaml names, for people and for CI matrices."""

from __future__ import annotations

import json
from typing import Any

from directus_gitops.base.console import Console
from directus_gitops.base.errors import ExitCode
from directus_gitops.base.formats import JSON_FORMAT_VERSION
from directus_gitops.model.config import Config, pinned_url_env


def run(config: Config, console: Console, *, fmt: str) -> int:
    rows: list[dict[str, Any]] = [
        {
            "env": name,
            "url": env.url,
            "token": env.token_env,  # the variable holding its token (never the token)
            "pin": pinned_url_env(name),  # the variable CI pins its URL with
            "mode": env.mode,
            "default": name == config.default_env,
        }
        for name, env in config.environments.items()
    ]
    if fmt == "json":
        console.result(json.dumps({"format_version": JSON_FORMAT_VERSION, "environments": rows}, indent=2))
        return ExitCode.OK
    if not rows:
        console.info(f"No environments in {config.path or 'directus-gitops.yaml'}.")
        return ExitCode.OK
    width = max(len(row["env"]) for row in rows)
    lines = [
        f"{row['env'].ljust(width)}  {row['url']}  (token from ${row['token']}"
        + (", the default" if row["default"] else "")
        + (", merge mode" if row["mode"] == "merge" else "")
        + ")"
        for row in rows
    ]
    console.result("\n".join(lines) + "\n")
    return ExitCode.OK
