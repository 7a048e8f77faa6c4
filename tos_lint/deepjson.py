"""JSON writing for records of any depth the readers accept.

orjson writes at most 255 levels of nesting and refuses more; a record may
nest up to 1024 (`readers.MAX_DEPTH`). Past orjson's limit the record is
written by a loop instead (Python's own encoder and `repr` recurse, and fail
near 1000 levels), with orjson's bytes for every key and scalar, so the
output is what orjson would write had it no limit.
"""
from __future__ import annotations

from typing import Any

import orjson


class _Raw(bytes):
    """Bytes to copy to the output as they are (punctuation, an encoded key)."""


_OPEN = {dict: _Raw(b"{"), list: _Raw(b"[")}
_CLOSE = {dict: _Raw(b"}"), list: _Raw(b"]")}
_COMMA = _Raw(b",")


def dumps(value: Any, sort_keys: bool = False) -> bytes:
    """`orjson.dumps(value)` (with OPT_SORT_KEYS when `sort_keys`), at any depth."""
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError as exc:
        if "recursion" not in str(exc).lower():
            raise
    return _dumps_by_loop(value, sort_keys)


def _dumps_by_loop(value: Any, sort_keys: bool) -> bytes:
    out: list[bytes] = []
    stack: list[Any] = [value]  # what is still to write, last first
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is _Raw:
            out.append(item)
        elif kind is dict or kind is list:
            stack.append(_CLOSE[kind])
            stack.extend(reversed(_members(item, sort_keys)))
            out.append(_OPEN[kind])
        else:
            out.append(orjson.dumps(item))
    return b"".join(out)


def _members(container: dict[str, Any] | list[Any], sort_keys: bool) -> list[Any]:
    """The container's contents in writing order, with commas and encoded keys as `_Raw`."""
    if isinstance(container, list):
        heads: list[_Raw | None] = [None] * len(container)
        values = container
    else:
        keys = sorted(container) if sort_keys else list(container)
        heads = [_Raw(orjson.dumps(key) + b":") for key in keys]
        values = [container[key] for key in keys]
    members: list[Any] = []
    for i, (head, child) in enumerate(zip(heads, values)):
        if i:
            members.append(_COMMA)
        if head is not None:
            members.append(head)
        members.append(child)
    return members
