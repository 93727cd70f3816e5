"""Credentials never reach Git.

``pull`` looks through everything it is about to write. A value is a secret when

- its key is named like a credential (token, secret, password, api key, authorization,
  credentials, private key …), or it is the value of a request header with such a name
  (``headers: [{header: Authorization, value: …}]`` in a request operation);
- or it is a URL carrying a user and password, or a query parameter named like one.

Values that only refer to something else are fine: Directus's own ``{{ $env.NAME }}`` and
other ``{{ … }}`` data-chain references, and our placeholder ``${env:NAME}``, which ``push``
replaces with the environment variable ``NAME`` (a missing variable stops the push before
anything is applied). A pull that finds a secret writes nothing and names each one (file
and key). Settings named like credentials (AI provider keys, …) are instance-specific:
they are never synced and a pull says which were left out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from directus_gitops.errors import ConfigError, RefusedError

_SECRET_NAME = re.compile(
    r"(token|secret|passw(or)?d|passwd|api[_-]?key|apikey|authori[sz]ation|credential|private[_-]?key|"
    r"access[_-]?key|client[_-]?secret|signature|cookie|^auth$)",
    re.IGNORECASE,
)
# Settings named like credentials that hold none (policies, counters).
_NOT_SECRET = frozenset({"auth_login_attempts", "auth_password_policy"})
PLACEHOLDER = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_REFERENCE = re.compile(r"^\s*(\{\{[^}]*\}\}\s*)+$")
REDACTED = "<redacted>"


def secret_name(name: str) -> bool:
    """Whether a key's name says that its value is a credential."""
    return name not in _NOT_SECRET and bool(_SECRET_NAME.search(name))


def _harmless(value: str) -> bool:
    """Empty, or only placeholders and Directus references (which hold no secret)."""
    rest = PLACEHOLDER.sub("", value)
    return not rest.strip() or bool(_REFERENCE.match(rest)) or rest.strip() in ("Bearer", "Basic", "Token")


def _url_secret(value: str) -> bool:
    if "://" not in value:
        return False
    try:
        parts = urlsplit(value.strip())
        if parts.password and not _harmless(parts.password):
            return True
        return any(secret_name(key) and val and not _harmless(val) for key, val in parse_qsl(parts.query))
    except ValueError:
        return False


@dataclass(frozen=True)
class Found:
    file: str
    path: str  # dotted: operations[key=notify].options.headers.0.value

    def __str__(self) -> str:
        return f"{self.file}: {self.path}"


def _walk(value: Any, path: str, named: bool) -> Iterator[str]:
    if isinstance(value, dict):
        header = value.get("header")
        header_secret = isinstance(header, str) and secret_name(header)
        for key, item in value.items():
            label = str(key)
            if isinstance(item, dict) and isinstance(item.get("key"), str) and path == "operations":
                label = f"[key={item['key']}]"
            sub = f"{path}.{label}" if path else label
            yield from _walk(item, sub, secret_name(str(key)) or (header_secret and key == "value"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            label = (
                f"[key={item['key']}]" if isinstance(item, dict) and isinstance(item.get("key"), str) else str(index)
            )
            yield from _walk(item, f"{path}{label}" if label.startswith("[") else f"{path}.{label}", named)
    elif isinstance(value, str) and ((named and not _harmless(value)) or _url_secret(value)):
        yield path


def find(documents: Mapping[str, Any]) -> list[Found]:
    """Every secret in ``documents`` (file → content about to be written)."""
    found: list[Found] = []
    for file, document in sorted(documents.items()):
        found.extend(Found(file, path) for path in _walk(document, "", False))
    return found


def refuse(found: list[Found]) -> RefusedError:
    names = "\n".join(f"  {item}" for item in found)
    return RefusedError(
        f"refusing to write {len(found)} secret(s) in plain text; nothing was written:\n{names}",
        hint="replace each value on the server with a placeholder: ${env:NAME} (directus-gitops push "
        "substitutes the environment variable NAME) or, in flows, Directus's own {{ $env.NAME }} "
        "(docs/config-kinds.md#secrets)",
    )


# --------------------------------------------------------------------------- push


def names(value: Any) -> set[str]:
    """The environment variables the placeholders in ``value`` need."""
    if isinstance(value, dict):
        return set().union(*(names(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(names(item) for item in value)) if value else set()
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    return set()


def missing(value: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """The variables the placeholders in ``value`` need that are not set."""
    environ = os.environ if environ is None else environ
    return sorted(name for name in names(value) if name not in environ)


def missing_error(names: list[str], *, applied: bool = False) -> ConfigError:
    return ConfigError(
        f"the committed configuration needs environment variable(s) {', '.join(names)} "
        "(placeholders ${env:NAME})" + ("" if applied else "; nothing was applied"),
        hint="set them in the environment of the job that pushes (docs/config-kinds.md#secrets)",
    )


def substitute(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """``value`` with every ``${env:NAME}`` replaced by the variable's value."""
    environ = os.environ if environ is None else environ
    unset = missing(value, environ)
    if unset:  # push checks this before its first write; here only as the last guard
        raise missing_error(unset, applied=True)
    return _replace(value, environ)


def _replace(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _replace(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, environ) for item in value]
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda match: environ[match.group(1)], value)
    return value


def unsubstitute(
    current: Any, desired: Any, environ: Mapping[str, str] | None = None, *, unset_equal: bool = False
) -> Any:
    """``current`` (read from a target) with the values that equal a placeholder's
    substitution put back as the placeholder, and every other secret redacted, so that it
    compares with the files and can be shown without revealing anything. A placeholder whose
    variable is not set cannot be checked: its value reads as redacted, or with
    ``unset_equal`` as the placeholder itself."""
    environ = os.environ if environ is None else environ
    if isinstance(current, dict) and isinstance(desired, dict):
        return {
            key: unsubstitute(item, desired.get(key), environ, unset_equal=unset_equal) for key, item in current.items()
        }
    if isinstance(current, list) and isinstance(desired, list):
        by_id = {item.get("id"): item for item in desired if isinstance(item, dict) and "id" in item}
        result = []
        for index, item in enumerate(current):
            if isinstance(item, dict) and item.get("id") in by_id:
                wanted: Any = by_id[item["id"]]
            else:
                wanted = desired[index] if index < len(desired) else None
            result.append(unsubstitute(item, wanted, environ, unset_equal=unset_equal))
        return result
    if isinstance(current, str) and isinstance(desired, str) and PLACEHOLDER.search(desired):
        try:
            value = _replace(desired, environ)
        except KeyError:
            return desired if unset_equal else REDACTED
        return desired if current == value else REDACTED
    return current


def redact(document: Any, name_secret: bool = False) -> Any:
    """``document`` with every secret value replaced by ``<redacted>`` (for backups and output)."""
    if isinstance(document, dict):
        header = document.get("header")
        header_secret = isinstance(header, str) and secret_name(header)
        return {
            key: redact(item, secret_name(str(key)) or (header_secret and key == "value"))
            for key, item in document.items()
        }
    if isinstance(document, list):
        return [redact(item, name_secret) for item in document]
    if isinstance(document, str) and ((name_secret and not _harmless(document)) or _url_secret(document)):
        return REDACTED
    return document
