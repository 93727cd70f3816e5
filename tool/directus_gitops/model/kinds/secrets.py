"""Credentials never reach Git.

``pull`` looks through everything it is about to write: the configuration kinds' files and
the schema's files (every collection's, field's and relation's ``meta`` and ``schema``, such
as a field's interface options). A value is a secret when

- Directus itself treats it as one: an operation option that holds a credential
  (:data:`OPERATION_SECRETS`), or a request header named like one
  (``headers: [{header: Authorization, value: …}]``);
- its key is named like a credential (token, secret, password, api key, authorization,
  credentials, private key …) and it holds a value: a string, or a number (an integer SMTP
  password is one too);
- its shape says so, under any key: a JSON Web Token, a private key block, a key with a
  provider's prefix (Stripe ``sk_live_``, Mapbox ``pk.eyJ``, AWS ``AKIA``, Google ``AIza``,
  GitHub ``ghp_``, Slack ``xoxb-`` …), a URL carrying a password or a query parameter named
  like a credential, a form body with such a parameter, or a long random-looking token;
- or it is any of these inside a string that holds JSON (a request operation's body), which
  is read and looked through like the rest.

Values that only refer to something else are fine: Directus's own ``{{ $env.NAME }}`` and
other ``{{ … }}`` data-chain references, and our placeholder ``${env:NAME}``, which ``push``
replaces with the environment variable ``NAME`` (a missing variable stops the push before
anything is applied). Uuids, hex digests, URLs and plain words are no secrets whatever
their length. A pull that finds a secret writes nothing and names each one (file and path);
what a project knows to be harmless it names in ``secrets: allow:`` of directus-gitops.yaml
(:func:`check`). Settings Directus treats as credentials (:data:`DIRECTUS_SECRET_SETTINGS`:
the Mapbox key, AI provider keys …) or named like them are instance-specific: they are never
synced and a pull says which were left out. Whatever is shown or backed up is redacted by
the same rules (:func:`redact`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from directus_gitops.base.errors import ConfigError, RefusedError
from directus_gitops.files import store

# --------------------------------------------------------------------------- what Directus calls secret

# Settings Directus itself treats as credentials, read from each supported release's own
# definition of directus_settings (9.26.0: @directus/api's database/system-data/fields/
# settings.yaml; 10.13.4, 11.17.4 and 12.4.1: @directus/system-data's systemFieldRows): the
# one it marks as a key (``iconLeft: vpn_key``: ``mapbox_key``, every release) and those it
# stores encrypted (``special: encrypt``, shown masked through ``interface: input-hash``):
# the four AI provider keys (11.x, 12.x) and the licence (12.x). All are instance-specific:
# never synced, and a pull names the ones that hold a value.
DIRECTUS_SECRET_SETTINGS = frozenset(
    {
        "mapbox_key",
        "ai_openai_api_key",
        "ai_anthropic_api_key",
        "ai_google_api_key",
        "ai_openai_compatible_api_key",
        "license_key",
        "license_token",
    }
)

# Operation options that hold a credential whatever their value looks like, from each
# release's operations (@directus/api's dist/operations/*, the app's option forms, 9.26.0
# to 12.4.1): "JSON Web Token" (10.x on) keeps its signing ``secret`` and the ``token`` it
# verifies or decodes. The request operation keeps credentials in its headers (found by the
# header's name), its URL (a password, a query parameter) and its body (a string holding
# JSON or a form, read like the rest); the others (condition, exec, item-*, log, mail,
# notification, sleep, throw-error, transform, trigger) have no credential option, and a
# key written into a script is found by its shape.
OPERATION_SECRETS: Mapping[str, frozenset[str]] = {"json-web-token": frozenset({"secret", "token"})}

_SECRET_NAME = re.compile(
    r"(token|secret|passw(or)?d|passwd|api[_-]?key|apikey|authori[sz]ation|credential|private[_-]?key|"
    r"access[_-]?key|client[_-]?secret|signature|cookie|^auth$)",
    re.IGNORECASE,
)
# Settings named like credentials that hold none (policies, counters).
_NOT_SECRET = frozenset({"auth_login_attempts", "auth_password_policy"})
PLACEHOLDER = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
REDACTED = "<redacted>"

NAMED = "named like a credential"


@functools.lru_cache(maxsize=4096)  # a snapshot repeats a few dozen key names a quarter million times
def secret_name(name: str) -> bool:
    """Whether a key's name says that its value is a credential."""
    return name not in _NOT_SECRET and bool(_SECRET_NAME.search(name))


def withheld_setting(name: str) -> bool:
    """Whether a setting is a credential that stays on its instance (never synced)."""
    return name in DIRECTUS_SECRET_SETTINGS or secret_name(name)


def _references(text: str, replace: Callable[[str], str]) -> str:
    """``text`` with each Directus reference (``{{ … }}``, up to the first ``}}``) replaced.

    Found with ``find``, not a pattern: a pattern tried at every ``{{`` runs to the end of the
    text for each one that is never closed, quadratic in a long note."""
    out: list[str] = []
    position = 0
    while (start := text.find("{{", position)) != -1 and (end := text.find("}}", start + 2)) != -1:
        out += (text[position:start], replace(text[start : end + 2]))
        position = end + 2
    out.append(text[position:])
    return "".join(out)


def _harmless(value: str) -> bool:
    """Empty, or only placeholders and Directus references (which hold no secret)."""
    rest = _references(PLACEHOLDER.sub("", value), lambda _: "").strip()
    return rest in ("", "Bearer", "Basic", "Token")


# --------------------------------------------------------------------------- shapes

# Credentials whose form gives them away, wherever they are. Each needs enough of its
# random part that a word or a name cannot take the form.
_KNOWN = (
    ("a private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ("a JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("a Mapbox token", r"\b[ps]k\.eyJ[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
    ("a Stripe key", r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{24,}"),
    ("an AWS access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"),
    ("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("a Slack token", r"\bxox[abposr]-[0-9]+-[A-Za-z0-9-]{10,}"),
    ("a Slack webhook", r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
    ("an OpenAI or Anthropic key", r"\bsk-(?:proj|ant|svcacct|admin)-[A-Za-z0-9_-]{32,}|\bsk-[A-Za-z0-9]{40,}"),
    ("a SendGrid key", r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
)
_SHAPE = re.compile("|".join(f"(?P<k{index}>{pattern})" for index, (_, pattern) in enumerate(_KNOWN)))
# What each form above contains: looked for first, as plain text, which is much quicker.
_MARKERS = (
    "PRIVATE KEY",
    "eyJ",
    "_live_",
    "_test_",
    "whsec_",
    "AKIA",
    "ASIA",
    "AIza",
    "gh",
    "glpat-",
    "xox",
    "slack.com",
    "sk-",
    "SG.",
)
# The scheme is bounded: unbounded, a long run of letters is searched to its end from each of them.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,63}://[^\s\"'<>`]+")
_DATA_URI = re.compile(r"data:[\w/+.-]+(?:;[\w=.-]+)*;base64,[A-Za-z0-9+/=]+")
_RUN = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
_DIGEST = re.compile(r"[0-9a-f-]+|[0-9A-F-]+")  # hex digests and uuids: Directus writes these
_DIGESTS = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F][0-9a-fA-F-]{15,}(?![A-Za-z0-9])")  # … inside paths too
# A form-encoded body (``grant_type=client_credentials&client_secret=…``), read as a query.
_FORM = re.compile(r"[\w.\[\]-]+=[^&\s]*(?:&[\w.\[\]-]+=[^&\s]*)*")
_SHORTEST = 12  # no credential form above is shorter


_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")  # camelCase, ACRONYM, 2024
_SEPARATORS = re.compile(r"[-_/+]")
_SVG_PATH = re.compile(r"[MLHVCSQTAZmlhvcsqtaz0-9.,+/_-]+")  # "M2 2h20v20H2z": commands and numbers


def _random(run: str) -> bool:
    """Whether a run of token characters looks random rather than like words, a path or a digest.

    Read as words (``camelCase``, ``snake_case``, ``kebab-case``, numbers), a name has words
    of three characters or more; a random key falls apart into pieces of one or two. A run
    counts as random when its characters vary (entropy of 3.5 bits or more) and most of it
    (three quarters) is in pieces whose words average under three characters. Measured on
    the demo model, the configuration of fresh 9.26.0 and 12.4.1 servers, Directus's own
    system data, its API and app bundles and this repository: nothing there passes but a
    few punycode domains and test secrets, while 95 % of random 20- to 40-character keys do.
    """
    core = run.strip("=")
    if len(core) < 20 or _DIGEST.fullmatch(core) or _SVG_PATH.fullmatch(core):
        return False
    counts = Counter(core).values()
    if -sum(n / len(core) * math.log2(n / len(core)) for n in counts) < 3.5:
        return False
    pieces = [piece for piece in _SEPARATORS.split(core) if piece]
    short = sum(len(piece) for piece in pieces if len(piece) < 3 * max(len(_WORDS.findall(piece)), 1))
    return short >= 0.75 * sum(len(piece) for piece in pieces)


def _query_secret(query: str) -> bool:
    return any(secret_name(key) and value and not _harmless(value) for key, value in parse_qsl(query))


def _url_secret(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
        return bool(parts.password and not _harmless(parts.password)) or _query_secret(parts.query)
    except ValueError:
        return False


def shape(text: str) -> str | None:
    """What ``text`` looks like when it looks like a credential (None: it does not)."""
    if len(text) < _SHORTEST:
        return None
    text = _references(PLACEHOLDER.sub(" ", text), lambda _: " ")
    known = _SHAPE.search(text) if any(marker in text for marker in _MARKERS) else None
    if known is not None and known.lastgroup is not None:
        return _KNOWN[int(known.lastgroup[1:])][0]
    urls = list(_URL.finditer(text))
    if any(_url_secret(url.group()) for url in urls):
        return "a URL with credentials"
    rest = _DIGESTS.sub(" ", _URL.sub(" ", _DATA_URI.sub(" ", text)) if urls or "base64," in text else text)
    if any(_random(run.group()) for run in _RUN.finditer(rest)):
        return "a long random-looking token"
    if _FORM.fullmatch(text.strip()) and _query_secret(text.strip()):
        return NAMED
    return None


_QUOTE_OR_REFERENCE = re.compile(r'"|\{\{')
_QUOTE_OR_ESCAPE = re.compile(r'["\\]')


def _string_end(text: str, quote: int) -> int:
    """Where the JSON string opened at ``quote`` ends (just past its closing quote), -1 if never."""
    position = quote + 1
    while (found := _QUOTE_OR_ESCAPE.search(text, position)) is not None:
        if found.group() == '"':
            return found.end()
        position = found.end() + 1  # an escape takes the character after it
    return -1


def _quoted_references(text: str) -> str:
    """``text`` with each Directus reference outside a JSON string made a JSON string.

    A single pass: once a quote is never closed no later one is (every later quote was inside
    it, escaped), and once ``{{`` is never closed no later one is, so nothing is searched twice."""
    out: list[str] = []
    position = 0
    strings = True
    while (found := _QUOTE_OR_REFERENCE.search(text, position)) is not None:
        start = found.start()
        if found.group() == '"':
            end = _string_end(text, start) if strings else -1
            strings = end != -1
            end = end if strings else start + 1
            out.append(text[position:end])
        else:
            close = text.find("}}", start + 2)
            if close == -1:
                break
            end = close + 2
            out += (text[position:start], json.dumps(text[start:end]))
        position = end
    out.append(text[position:])
    return "".join(out)


def _json(text: str) -> dict[str, Any] | list[Any] | None:
    """The object or array a string holds as JSON (a request body), None when it holds none.
    Directus references outside quotes (``"count": {{ $last.n }}``) are read as strings."""
    stripped = text.strip()
    if len(stripped) < 2 or (stripped[0], stripped[-1]) not in (("{", "}"), ("[", "]")):
        return None
    try:
        parsed = json.loads(stripped)
    except (ValueError, RecursionError):
        quoted = _quoted_references(stripped)
        try:
            parsed = json.loads(quoted)
        except (ValueError, RecursionError):
            return None
    return parsed if isinstance(parsed, dict | list) else None


# --------------------------------------------------------------------------- finding


@dataclass(frozen=True)
class Found:
    file: str
    path: str  # dotted: operations[key=notify].options.headers.0.value
    why: str = field(default=NAMED, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.path}"


_Out = list[tuple[str, str]]  # (path, why)


def _path(labels: list[str]) -> str:
    path = "".join(labels)
    return path[1:] if path.startswith(".") else path


def _string(value: str, labels: list[str], named: bool, out: _Out) -> None:
    if named and not _harmless(value):
        out.append((_path(labels), NAMED))
    elif len(value) >= _SHORTEST:
        parsed = _json(value)
        if parsed is not None:
            _scan(parsed, labels, False, frozenset(), out)
        elif (why := shape(value)) is not None:
            out.append((_path(labels), why))


def _context(value: dict[Any, Any]) -> tuple[bool, frozenset[str]]:
    """Whether a mapping is a request header named like a credential (its ``value`` is one),
    and the options that hold credentials when it is an operation."""
    header = value.get("header")
    kind = value.get("type")
    return (
        isinstance(header, str) and secret_name(header),
        OPERATION_SECRETS.get(kind, frozenset()) if isinstance(kind, str) else frozenset(),
    )


def _scan(value: Any, labels: list[str], named: bool, extra: frozenset[str], out: _Out) -> None:
    """Every secret in ``value`` into ``out``; ``labels`` (``.key``, ``.0``, ``[key=…]``) is the
    path to it, joined only for what is found: a large snapshot has a quarter million keys."""
    if isinstance(value, str):
        _string(value, labels, named, out)
    elif isinstance(value, dict):
        header_secret, options = _context(value)
        for key, item in value.items():
            # The loop of a quarter million keys in a large snapshot: what cannot hold a
            # secret (nothing, a flag, a short string, a number under a plain name) is passed by.
            if item is None or item is True or item is False:
                continue
            secret = secret_name(str(key)) or (header_secret and key == "value") or key in extra
            if not secret and (isinstance(item, int | float) or (isinstance(item, str) and len(item) < _SHORTEST)):
                continue
            label = f".{key}"
            if isinstance(item, dict) and isinstance(item.get("key"), str) and _path(labels) == "operations":
                label = f"[key={item['key']}]"
            labels.append(label)
            _scan(item, labels, secret, options if key == "options" else frozenset(), out)
            labels.pop()
    elif isinstance(value, list):
        for index, item in enumerate(value):
            keyed = isinstance(item, dict) and isinstance(item.get("key"), str)
            labels.append(f"[key={item['key']}]" if keyed else f".{index}")
            _scan(item, labels, named, frozenset(), out)
            labels.pop()
    elif named and isinstance(value, int | float) and not isinstance(value, bool):
        out.append((_path(labels), NAMED))


def _found(file: str, document: Any, prefix: str = "") -> Iterator[Found]:
    out: _Out = []
    _scan(document, [prefix] if prefix else [], False, frozenset(), out)
    seen: set[str] = set()
    for path, why in out:
        if path not in seen:
            seen.add(path)
            yield Found(file, path, why)


def find(documents: Mapping[str, Any]) -> list[Found]:
    """Every secret in ``documents`` (file → content about to be written)."""
    found: list[Found] = []
    for file, document in sorted(documents.items()):
        found.extend(_found(file, document))
    return found


def find_schema(
    snapshot: Mapping[str, Any], layout: store.Layout, known: AbstractSet[str] = frozenset()
) -> list[Found]:
    """Every secret in the files ``store.render`` writes for ``snapshot``, named by file and
    path as they are written: ``collections/articles.yaml:fields[field=body].meta.options.api_key``
    (split layout) or ``snapshot.yaml:fields[collection=articles,field=body]…`` (single). The
    collection files in ``known`` hold what the last pull wrote and checked: not looked at again."""
    found: list[Found] = []
    for key in ("collections", "fields", "relations", "systemFields"):
        for entry in snapshot.get(key) or []:
            if not isinstance(entry, dict):
                continue
            collection, name = entry.get("collection"), entry.get("field")
            if layout == "single":
                file = store.SINGLE_FILE
                at = f"{key}[collection={collection}" + ("]" if key == "collections" else f",field={name}]")
            elif key == "systemFields":
                file, at = store.MANIFEST, f"system_fields[collection={collection},field={name}]"
            else:
                file = store.collection_file(str(collection))
                if file in known:
                    continue
                at = "" if key == "collections" else f"{key}[field={name}]"
            content = {item: value for item, value in entry.items() if item not in ("collection", "field")}
            found.extend(_found(file, content, at))
    return sorted(found, key=lambda item: (item.file, item.path))


# --------------------------------------------------------------------------- allowing


def allow_problem(entry: str) -> str | None:
    """Why ``entry`` cannot be an entry of ``secrets: allow:`` (None: it can)."""
    file, colon, path = entry.partition(":")
    if not colon or not file.strip() or not path.strip():
        return f"'{entry}' must name a file and a path as a refused pull prints them (file:path)"
    if "**" in entry:
        return f"'{entry}': '*' matches within one part of the path; '**' is not supported"
    return None


def _allow_pattern(entry: str) -> re.Pattern[str]:
    # ``*`` stays within one part: a file name, a key or a [key=…] label, never across them,
    # so an entry allows one place (or the same place in similar files), not a whole subtree.
    file, _, path = entry.partition(":")
    parts = (re.escape(part) for part in f"{file.strip()}:{path.strip()}".split("*"))
    return re.compile(r"[^./:\[\]]*".join(parts))


def check(found: Iterable[Found], allow: Sequence[str] = ()) -> list[str]:
    """Refuse what ``found`` holds beyond what ``allow`` names (``secrets: allow:`` of
    directus-gitops.yaml); the entries that named nothing found (stale ones) are returned."""
    patterns = [(entry, _allow_pattern(entry)) for entry in allow]
    used: set[str] = set()
    refused = []
    for item in found:
        matched = [entry for entry, pattern in patterns if pattern.fullmatch(str(item))]
        used.update(matched)
        if not matched:
            refused.append(item)
    if refused:
        raise refuse(refused)
    return [entry for entry in allow if entry not in used]


def refuse(found: list[Found]) -> RefusedError:
    names = "\n".join(f"  {item}  ({item.why})" for item in found)
    return RefusedError(
        f"refusing to write {len(found)} secret(s) in plain text; nothing was written:\n{names}",
        hint="replace each value on the server with a placeholder: ${env:NAME} (directus-gitops push "
        "substitutes the environment variable NAME) or, in flows, Directus's own {{ $env.NAME }}; "
        "a value that is no secret goes in `secrets: allow:` of directus-gitops.yaml "
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


def redact(document: Any, name_secret: bool = False, extra: frozenset[str] = frozenset()) -> Any:
    """``document`` with every secret value replaced by ``<redacted>`` (for backups and output),
    found as ``pull`` finds them; a string holding JSON with a secret inside goes as a whole."""
    if isinstance(document, dict):
        header_secret, options = _context(document)
        return {
            key: redact(
                item,
                secret_name(str(key)) or (header_secret and key == "value") or key in extra,
                options if key == "options" else frozenset(),
            )
            for key, item in document.items()
        }
    if isinstance(document, list):
        return [redact(item, name_secret) for item in document]
    if isinstance(document, str):
        out: _Out = []
        _string(document, [], name_secret, out)
        return REDACTED if out else document
    if name_secret and isinstance(document, int | float) and not isinstance(document, bool):
        return REDACTED
    return document


def redact_value(key: str, value: Any) -> Any:
    """``value`` as shown under ``key`` (a property's last name): redacted where it is a secret."""
    return redact({key: value})[key]
