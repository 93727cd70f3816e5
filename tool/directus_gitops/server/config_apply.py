"""Applying configuration changes to a target, in dependency order, one REST call each.

Every kind says which calls make its changes (model/kinds/, ``Kind.steps``), each in a stage
of the apply; the stages run in the order of ``registry.STAGES``: folders, policies, roles
(parents first), access links, users, permissions, flows, their operations (created without
links), then the operations' ``resolve``/``reject`` links and each flow's first operation
once every operation exists, dashboards, panels, presets, translations, settings; removals
last, in reverse (children before what they belong to); reference data after all.
These are many calls, not one transaction: every step is known before the first is sent,
so a failure says exactly which steps reached the target and which did not; the next push
plans only what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directus_gitops.base.errors import PartialApplyError, ServerError
from directus_gitops.model.kinds import secrets
from directus_gitops.model.kinds.change import ConfigChangeSet
from directus_gitops.model.kinds.kind import Ref, Step
from directus_gitops.model.kinds.model import State
from directus_gitops.model.kinds.registry import KINDS, STAGES
from directus_gitops.server.client import DirectusClient


def steps(changes: ConfigChangeSet, desired: State, current: State) -> list[Step]:
    """Every REST call that turns ``current`` into ``desired``, in the order to send them."""
    out: list[tuple[int, Step]] = []
    for kind in KINDS:
        wanted, held = kind.section(desired), kind.section(current)
        if wanted is not None or held is not None:
            out.extend(
                (STAGES.index(step.stage or kind.group), step) for step in kind.steps(list(changes), wanted, held)
            )
    return [step for _, step in sorted(out, key=lambda pair: pair[0])]


def known(current: State) -> dict[Ref, Any]:
    """The target's values of the references the steps may hold."""
    found: dict[Ref, Any] = {}
    for kind in KINDS:
        section = kind.section(current)
        if section is not None:
            found.update(kind.known(section))
    return found


def _resolved(value: Any, refs: Mapping[Ref, Any], step: Step) -> Any:
    if isinstance(value, Ref):
        if value not in refs:
            raise ServerError(
                f"'{step.what}' refers to {value.collection} {value.key}, which neither the files nor the target hold"
            )
        return refs[value]
    if isinstance(value, list):
        return [_resolved(item, refs, step) for item in value]
    if isinstance(value, dict):
        return {key: _resolved(item, refs, step) for key, item in value.items()}
    return value


def _created(step: Step, answer: Any, refs: dict[Ref, Any]) -> None:
    """Remember the ids the target gave the rows ``step`` created."""
    if step.creates is None:
        return
    collection, primary, keys = step.creates
    items = answer if isinstance(answer, list) else [answer]
    for key, item in zip(keys, items, strict=False):
        if isinstance(item, dict) and item.get(primary) is not None:
            refs[Ref(collection, key)] = item[primary]


def run(
    client: DirectusClient,
    plan: list[Step],
    backup: str | None,
    *,
    before: list[str] | None = None,
    refs: Mapping[Ref, Any] | None = None,
) -> list[str]:
    """Send ``plan``; on a failure, say what reached the target and what did not.

    ``before``: what this push already applied (the schema), which has reached the target too.
    ``refs``: the target's values of the references the steps hold (:func:`known`); the ids
    of rows the steps create are added as they are created."""
    done: list[str] = list(before or [])
    values = dict(refs or {})
    for index, step in enumerate(plan):
        try:
            body = secrets.substitute(_resolved(step.body, values, step)) if step.body is not None else None
            if isinstance(body, list):  # a batch of rows: in as many requests as the target's limit needs
                answer = client.write_rows(step.method, step.path, body)
            else:
                answer = client.write(step.method, step.path, body)
            _created(step, answer, values)
        except ServerError as exc:
            if not done and not exc.reached:
                raise ServerError(
                    f"the configuration push failed at its first call '{step.what}', so nothing reached the "
                    f"target: {exc.message}",
                    hint=exc.hint,
                    status=exc.status,
                    code=exc.code,
                ) from None
            left = [s.what for s in plan[index:]]
            if exc.reached:  # (a step sent in several requests: its first ones went through)
                done.append(f"{step.what} ({exc.reached})")
                left[0] = f"{step.what} (the rest of its rows)"
            reached = "\n".join(f"    {what}" for what in done) or "    (nothing)"
            missing = "\n".join(f"    {what}" for what in left)
            where = f"\n  backup of the configuration from before the push: {backup}" if backup else ""
            raise PartialApplyError(
                f"the configuration push stopped at '{step.what}': {exc.message}\n"
                f"  reached the target:\n{reached}\n  did not:\n{missing}{where}",
                hint="fix the cause and push again: the next plan holds only what is left",
            ) from None
        done.append(step.what)
    return done[len(before or []) :]
