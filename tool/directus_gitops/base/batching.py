"""Consecutive items grouped into batches of at most so many bytes of JSON: what Directus takes
in one request is bounded by its ``MAX_PAYLOAD_SIZE`` (1mb by default), not by a count."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def json_size(value: Any) -> int:
    """The bytes ``value`` takes as compact JSON in UTF-8, as the client sends it."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def pack(items: Iterable[T], budget: int, size: Callable[[T], int] = json_size) -> list[list[T]]:
    """``items`` in order, in lists of at most ``budget`` bytes (``size`` of each, plus one for
    the comma); an item larger than that alone in its own."""
    batches: list[list[T]] = []
    used = budget
    for item in items:
        bytes_ = size(item) + 1
        if used + bytes_ > budget:
            batches.append([])
            used = 0
        batches[-1].append(item)
        used += bytes_
    return batches
