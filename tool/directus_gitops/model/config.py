"""``directus-gitops.yaml``: where the schema lives and which Directus servers exist.

Tokens are never read from the file or from a flag: only from environment variables
(``DIRECTUS_<ENV>_TOKEN`` by default, ``token_env`` to rename). Without a configuration
file, ``DIRECTUS_URL`` and ``DIRECTUS_TOKEN`` describe the one server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from directus_gitops.base.errors import ConfigError, RefusedError
from directus_gitops.files import store, yamlio
from directus_gitops.model import selection

if TYPE_CHECKING:
    from directus_gitops.model.kinds import data as data_kind

CONFIG_NAME = "directus-gitops.yaml"
DEFAULT_TIMEOUT = 120.0

_TOP_KEYS = {"schema_dir", "layout", "backup_dir", "default_env", "environments", "ignore", "sync", "secrets", "data"}
_ENV_KEYS = {"url", "token_env", "timeout", "ignore", "mode", "accept_releases", "data"}
_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Environment:
    name: str
    url: str
    token_env: str
    timeout: float = DEFAULT_TIMEOUT
    ignore: selection.Rules = field(default_factory=selection.Rules)  # added to the file's top-level rules
    mode: selection.Mode = "mirror"
    # Directus releases (globs: "11.*") whose snapshots this environment takes by the
    # translation rules, without --force.
    accept_releases: tuple[str, ...] = ()
    # Reference data for this environment, over the file's top-level ``data:`` (None: left out here).
    data: Mapping[str, data_kind.Spec | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """A resolved server: where it is and the token to use (kept out of ``repr``)."""

    name: str
    url: str
    token_env: str
    token: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    ignore: selection.Rules = field(default_factory=selection.Rules)  # every rule that applies to this server
    mode: selection.Mode = "mirror"
    accept_releases: tuple[str, ...] = ()  # as its environment says


@dataclass(frozen=True)
class Config:
    root: Path  # the folder relative paths are taken from (the config file's folder)
    path: Path | None  # the configuration file, when there is one
    schema_dir: Path
    layout: store.Layout = "split"
    backup_dir: Path | None = None
    default_env: str | None = None
    environments: Mapping[str, Environment] = field(default_factory=dict)
    ignore: selection.Rules = field(default_factory=selection.Rules)  # for every environment and the offline diff
    sync: tuple[str, ...] = ("schema",)  # what pull writes: the schema and configuration kinds
    secrets_allow: tuple[str, ...] = ()  # file:path places pull writes although they look like secrets
    data: Mapping[str, data_kind.Spec] = field(default_factory=dict)  # reference data: collection → what of it

    def data_for(self, env_name: str | None) -> dict[str, data_kind.Spec]:
        """The reference data ``env_name`` carries: the top-level ``data:`` with its own over it."""
        env = self.environments.get(env_name) if env_name is not None else None
        merged: dict[str, data_kind.Spec | None] = {**self.data, **(env.data if env is not None else {})}
        return {name: spec for name, spec in sorted(merged.items()) if spec is not None}

    @property
    def backups(self) -> Path:
        return self.backup_dir or self.root / ".directus-gitops" / "backups"

    def rules_for(self, env_name: str | None) -> selection.Rules:
        """The ignore rules for ``env_name`` (the top-level ones alone for None)."""
        env = self.environments.get(env_name) if env_name is not None else None
        if env_name is not None and env is None and self.environments:
            names = ", ".join(self.environments)
            raise ConfigError(f"unknown environment '{env_name}' (configured: {names})")
        return self.ignore + env.ignore if env is not None else self.ignore


def _env_var(env_name: str, what: str) -> str:
    return f"DIRECTUS_{re.sub(r'[^A-Za-z0-9]', '_', env_name).upper()}_{what}"


def default_token_env(env_name: str) -> str:
    return _env_var(env_name, "TOKEN")


def pinned_url_env(env_name: str) -> str:
    """The variable CI sets to pin an environment's URL, whatever the file says."""
    return _env_var(env_name, "URL")


def _same_url(a: str, b: str) -> bool:
    left, right = urlsplit(a), urlsplit(b)
    return (left.scheme, left.netloc.lower(), left.path.rstrip("/")) == (
        right.scheme,
        right.netloc.lower(),
        right.path.rstrip("/"),
    )


def check_pinned(env: Environment, environ: Mapping[str, str]) -> None:
    """Refuse, before any token is read or sent, an environment whose URL in the file is not
    the one CI pinned: a pull request can edit the file, not the CI's variables."""
    variable = pinned_url_env(env.name)
    pinned = environ.get(variable, "").strip()
    if not pinned:
        return
    pinned = check_url(pinned, variable)
    if not _same_url(pinned, env.url):
        raise RefusedError(
            f"environment '{env.name}' is pinned to {pinned} by {variable}, but the configuration says "
            f"{env.url}: refusing to send its token there",
            hint=f"if the server moved, change {variable} in the CI settings as well as {CONFIG_NAME}",
        )


def check_url(url: Any, where: str) -> str:
    """A Directus base URL without credentials; returned without a trailing slash."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{where}: 'url' must be a non-empty string")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: url must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise ConfigError(f"{where}: the url must not carry credentials; put the token in an environment variable")
    if any(key.lower() == "access_token" for key, _ in parse_qsl(parts.query)) or "access_token" in parts.query:
        raise ConfigError(f"{where}: the url must not carry an access_token; put the token in an environment variable")
    if parts.query or parts.fragment:
        raise ConfigError(f"{where}: the url must not have a query or fragment")
    return url.strip().rstrip("/")


def find_config(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _git_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def load(explicit: Path | None = None, cwd: Path | None = None) -> Config:
    """The configuration for a command run in ``cwd`` (``--config`` given as ``explicit``)."""
    cwd = (cwd or Path.cwd()).resolve()
    path = explicit if explicit is not None else find_config(cwd)
    if path is None:
        root = _git_root(cwd) or cwd
        try:
            schema_dir = schema_folder("schema", root)
        except ConfigError as exc:
            raise ConfigError(f"the schema folder: {exc.message}") from None
        return Config(root=root, path=None, schema_dir=schema_dir)
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        text = path.read_text(encoding="utf-8")
        data = yamlio.load(text)
    except yamlio.YamlError as exc:
        line = f":{exc.problem.line}" if exc.problem.line else ""
        raise ConfigError(f"{path}{line}: {exc.problem.message}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    return parse(data, path, text)


def _at(path: Path, text: str | None, keys: tuple[str, ...]) -> str:
    """``path:line`` of ``keys`` in the file's text (just ``path`` without it)."""
    if text is None:
        return str(path)
    (line,) = yamlio.locate(text, [keys])
    return f"{path}:{line}" if line else str(path)


def parse(data: Any, path: Path, text: str | None = None) -> Config:
    where = str(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping of settings")
    unknown = sorted(set(data) - _TOP_KEYS, key=str)
    if unknown:
        at = _at(path, text, (str(unknown[0]),))
        raise ConfigError(f"{at}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_TOP_KEYS))})")
    root = path.parent

    def folder(key: str, default: str | None) -> Path | None:
        value = data.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: '{key}' must be a folder path")
        return (root / value).resolve()

    layout = data.get("layout", "split")
    if layout not in store.LAYOUTS:
        raise ConfigError(f"{where}: layout must be one of {', '.join(store.LAYOUTS)}, not {layout!r}")

    environments: dict[str, Environment] = {}
    raw_envs = data.get("environments") or {}
    if not isinstance(raw_envs, dict):
        raise ConfigError(f"{where}: 'environments' must map names to settings")
    for name, settings in raw_envs.items():
        unknown_env = sorted(set(settings) - _ENV_KEYS, key=str) if isinstance(settings, dict) else []
        at = _at(path, text, ("environments", str(name), str(unknown_env[0]))) if unknown_env else where
        environments[str(name)] = _parse_env(str(name), settings, at)

    default_env = data.get("default_env")
    if default_env is not None and default_env not in environments:
        raise ConfigError(f"{where}: default_env '{default_env}' is not one of the environments")
    try:
        schema_dir = schema_folder(data.get("schema_dir", "schema"), root)
        if schema_dir in path.resolve().parents:  # a pull could rewrite the configuration itself
            raise ConfigError(f"must not hold {path.name}")
    except ConfigError as exc:  # located only now: finding the line costs a parse of the file
        raise ConfigError(f"{_at(path, text, ('schema_dir',))}: schema_dir: {exc.message}") from None
    sync = _parse_sync(data.get("sync", ["schema"]), where)
    return Config(
        root=root,
        path=path,
        schema_dir=schema_dir,
        layout=layout,
        backup_dir=folder("backup_dir", None),
        default_env=default_env,
        environments=environments,
        ignore=selection.parse_rules(data.get("ignore"), where),
        sync=sync,
        secrets_allow=_parse_secrets(data.get("secrets"), where),
        data={name: spec for name, spec in _parse_data(data.get("data"), where).items() if spec is not None},
    )


def schema_folder(value: Any, root: Path) -> Path:
    """The schema folder ``value`` names (relative to ``root``), resolved through links. Every
    file the tool wrote in it may be rewritten or removed by a pull, so it must lie strictly
    inside the repository: not the repository itself, not outside it, not inside ``.git``."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a folder path")
    repo = (_git_root(root) or root).resolve()
    resolved = (root / value).resolve()
    if resolved == repo:
        raise ConfigError(f"{value!r} is the repository itself; name a folder inside it, such as 'schema'")
    if repo not in resolved.parents:
        raise ConfigError(f"{value!r} leads to {resolved}, outside the repository {repo}")
    if ".git" in resolved.relative_to(repo).parts:
        raise ConfigError(f"{value!r} is inside .git")
    return resolved


def _parse_sync(value: Any, where: str) -> tuple[str, ...]:
    from directus_gitops.model.kinds import GROUPS

    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: 'sync' must be a list of: {', '.join(GROUPS)}")
    unknown = [item for item in value if item not in GROUPS]
    if unknown:
        raise ConfigError(f"{where}: sync: unknown kind '{unknown[0]}' (known: {', '.join(GROUPS)})")
    if "schema" not in value:
        raise ConfigError(f"{where}: sync must include 'schema' (the data model is always pulled)")
    return tuple(dict.fromkeys(value))


def _parse_data(value: Any, where: str, *, allow_off: bool = False) -> dict[str, data_kind.Spec | None]:
    if value is None:  # most projects: the kind's module is not even loaded
        return {}
    from directus_gitops.model.kinds import data as data_kind

    return data_kind.parse_specs(value, where, allow_off=allow_off)


def _parse_secrets(value: Any, where: str) -> tuple[str, ...]:
    """``secrets: {allow: [file:path, ...]}``: values that look like secrets and are none."""
    if value is None:
        return ()
    from directus_gitops.model.kinds import secrets

    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'secrets' must be a mapping with 'allow'")
    unknown = sorted(set(value) - {"allow"}, key=str)
    if unknown:
        raise ConfigError(f"{where}: secrets: unknown key '{unknown[0]}' (known: allow)")
    allow = value.get("allow") or []
    if not isinstance(allow, list) or not all(isinstance(entry, str) for entry in allow):
        raise ConfigError(f"{where}: secrets: 'allow' must be a list of file:path places")
    for entry in allow:
        problem = secrets.allow_problem(entry)
        if problem is not None:
            raise ConfigError(f"{where}: secrets: allow: {problem}")
    return tuple(dict.fromkeys(allow))


def _parse_env(name: str, settings: Any, where: str) -> Environment:
    where = f"{where}: environment '{name}'"
    if not _ENV_NAME.match(name):
        raise ConfigError(f"{where}: names may hold letters, digits, '-' and '_'")
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: must be a mapping with a 'url'")
    unknown = sorted(set(settings) - _ENV_KEYS, key=str)
    if unknown:
        if "token" in unknown:
            raise ConfigError(f"{where}: tokens never go in the file; set {default_token_env(name)} instead")
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_ENV_KEYS))})")
    if "url" not in settings:
        raise ConfigError(f"{where}: missing 'url'")
    token_env = settings.get("token_env", default_token_env(name))
    if not isinstance(token_env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        raise ConfigError(f"{where}: token_env must be an environment variable name")
    timeout = settings.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{where}: timeout must be a positive number of seconds")
    return Environment(
        name,
        check_url(settings["url"], where),
        token_env,
        float(timeout),
        selection.parse_rules(settings.get("ignore"), where),
        selection.parse_mode(settings.get("mode", "mirror"), where),
        _parse_releases(settings.get("accept_releases", []), where),
        _parse_data(settings.get("data"), where, allow_off=True),
    )


def _parse_releases(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(f'{where}: accept_releases must be a list of Directus releases, globs allowed ("11.*")')
    return tuple(item.strip() for item in value)


def resolve(config: Config, env_name: str | None, environ: Mapping[str, str] | None = None) -> Target:
    """The server a command talks to, with its token from the environment."""
    environ = os.environ if environ is None else environ
    if not config.environments:
        if env_name is not None:
            where = f"{config.path} defines no environments" if config.path else f"no {CONFIG_NAME} was found"
            raise ConfigError(
                f"unknown environment '{env_name}': {where} (without environments, DIRECTUS_URL and "
                "DIRECTUS_TOKEN describe the one server)"
            )
        url = environ.get("DIRECTUS_URL")
        if not url:
            raise ConfigError(
                f"no server configured: create {CONFIG_NAME} with environments, or set DIRECTUS_URL and DIRECTUS_TOKEN"
            )
        target = _target("default", check_url(url, "DIRECTUS_URL"), "DIRECTUS_TOKEN", DEFAULT_TIMEOUT, environ)
        return replace(target, ignore=config.ignore)

    if env_name is None:
        env_name = config.default_env
        if env_name is None and len(config.environments) == 1:
            env_name = next(iter(config.environments))
        if env_name is None:
            names = ", ".join(config.environments)
            raise ConfigError(f"choose an environment with --env ({names})")
    env = config.environments.get(env_name)
    if env is None:
        names = ", ".join(config.environments)
        raise ConfigError(f"unknown environment '{env_name}' (configured: {names})")
    check_pinned(env, environ)
    target = _target(env.name, env.url, env.token_env, env.timeout, environ)
    return replace(target, ignore=config.ignore + env.ignore, mode=env.mode, accept_releases=env.accept_releases)


def _target(name: str, url: str, token_env: str, timeout: float, environ: Mapping[str, str]) -> Target:
    token = environ.get(token_env, "").strip()
    if not token:
        raise ConfigError(f"environment variable {token_env} is not set (the token for '{name}' at {url})")
    return Target(name=name, url=url, token_env=token_env, token=token, timeout=timeout)
