"""Keys written more than once in one JSON object.

JSON parsers keep the last value of a repeated key (orjson, Python and
JavaScript alike), so the text of an earlier value never reaches the
detectors; a consumer that keeps the first value would train on text that
was never scanned. The readers hand on, with such a record, its *other
readings*: copies of the record with an earlier value in place of the last,
which the engine scans too.

Finding the repeats costs a second, slower parse, so a cheap test comes
first: every key written in a line ends with a quote followed by a colon,
so the number of such pairs in the raw text is at least the number of keys
written. When it equals the number of distinct keys in the parsed record,
no key repeats (the common case, about a microsecond per record).
"""
from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

Path = tuple[Any, ...]  # keys and list indices from the record's root

_KEY_END = re.compile(rb'"[ \t\r\n]*:')
# A record whose repeated keys hold more values than this is read this many
# ways at most: each reading is a full scan of the record.
MAX_READINGS = 16


@dataclass(frozen=True)
class Repeat:
    path: Path  # where the repeated key sits
    earlier: tuple[Any, ...]  # the values the parser dropped, in file order

    @property
    def pointer(self) -> str:
        return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in self.path)


@dataclass(frozen=True)
class Readings:
    """The other readings of one record and the repeats they come from."""

    repeats: tuple[Repeat, ...]
    variants: tuple[Any, ...]  # the record with earlier values in place of the last ones

    @property
    def unread(self) -> int:
        """Earlier values left out by the MAX_READINGS cap (a key nested in a
        dropped value is counted as if it were not: an estimate from below)."""
        return sum(max(0, len(r.earlier) - MAX_READINGS) for r in self.repeats)

    def describe(self) -> str:
        keys = ", ".join(f"{r.pointer} ({len(r.earlier) + 1} times)" for r in self.repeats[:5])
        more = f" and {len(self.repeats) - 5} more" if len(self.repeats) > 5 else ""
        left = f"; {self.unread} earlier value(s) beyond the first {MAX_READINGS} of a key were not scanned" if self.unread else ""
        return f"keys repeated in one object: {keys}{more}{left}"


def other_readings(raw: bytes | str, data: Any) -> Readings | None:
    """The other readings of the record parsed from `raw` as `data`, or None
    when no key repeats (decided cheaply for almost every record)."""
    if not isinstance(data, dict):
        return None
    blob = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    written = len(_KEY_END.findall(blob))
    if written == len(data) or written == count_keys(data):
        return None
    repeats = find_repeats(raw)
    return readings(data, repeats) if repeats else None


def count_keys(node: Any) -> int:
    """Keys of every object in `node`, nested ones included. A loop, not
    recursion: a record may nest 1024 levels, past Python's recursion limit."""
    n = 0
    stack = [node]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            n += len(node)
            children = node.values()
        else:
            children = node
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append(child)
    return n


def find_repeats(raw: bytes | str) -> tuple[Repeat, ...]:
    """Every repeated key in `raw` and the values the parser dropped,
    found with a parse that sees each object's pairs in file order."""
    dropped: dict[int, dict[str, list[Any]]] = {}

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs):
            seen: dict[str, list[Any]] = {}
            for key, value in pairs:
                seen.setdefault(key, []).append(value)
            dropped[id(obj)] = {k: v[:-1] for k, v in seen.items() if len(v) > 1}
        return obj

    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        root = _parse_pairs(text, pairs_hook)
    except (ValueError, RecursionError):
        return ()  # the records' own parser read it; this one cannot: no repeats to show
    return tuple(_walk(root, dropped))


def _parse_pairs(text: str, pairs_hook: Any) -> Any:
    """Python's JSON parser with a pairs hook, as lenient as the readers'
    (NaN, Infinity, huge numbers; lone surrogates become U+FFFD)."""
    from tos_lint.readers import _lenient_int, _replace_surrogates, decode_nested

    root = decode_nested(json.JSONDecoder(object_pairs_hook=pairs_hook, parse_int=_lenient_int).decode, text)
    return _replace_surrogates(root) if "\\u" in text else root


def _walk(root: Any, dropped: dict[int, dict[str, list[Any]]]) -> Iterator[Repeat]:
    """The repeats in `root` and in the dropped values themselves, outer first."""
    queue: deque[tuple[Any, Path]] = deque([(root, ())])
    while queue:
        node, path = queue.popleft()
        if isinstance(node, dict):
            for key, earlier in dropped.get(id(node), {}).items():
                yield Repeat((*path, key), tuple(earlier))
                queue.extend((value, (*path, key)) for value in earlier)
            queue.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            queue.extend((value, (*path, i)) for i, value in enumerate(node))


def grouped(found: Iterable[tuple[Path, Any]]) -> tuple[Repeat, ...]:
    """(path, dropped value) pairs, in the order met, as repeats, outer first."""
    by_path: dict[Path, list[Any]] = {}
    for path, value in found:
        by_path.setdefault(path, []).append(value)
    return tuple(sorted((Repeat(p, tuple(v)) for p, v in by_path.items()), key=lambda r: len(r.path)))


def readings(data: dict[str, Any], repeats: tuple[Repeat, ...]) -> Readings:
    """Reading k puts the k-th earlier value of every repeated key in place
    of the last one, so that each earlier value is read once (up to the cap).
    A key repeated inside a dropped value starts one reading later than the
    key it lies under, so that the dropped value is first read as parsed;
    its own values are read wherever its path exists, if not always beside
    the very siblings they were written with."""
    def under(inner: Repeat, outer: Repeat) -> bool:
        return len(outer.path) < len(inner.path) and inner.path[:len(outer.path)] == outer.path

    shift = {r.path: sum(1 for o in repeats if under(r, o)) for r in repeats}
    holds = {r.path for r in repeats if any(under(o, r) for o in repeats)}  # a key repeated beneath it
    depth = min(max(len(r.earlier) + shift[r.path] for r in repeats), MAX_READINGS)
    variants = []
    for k in range(depth):
        variant: Any = data
        for repeat in repeats:  # outer keys first: an inner path may lie in a replaced value
            i = k - shift[repeat.path]
            if repeat.path in holds:
                i = min(i, len(repeat.earlier) - 1)  # keep the dropped value its inner keys lie in
            if 0 <= i < len(repeat.earlier):
                variant = _replaced(variant, repeat.path, repeat.earlier[i])
        variants.append(variant)
    return Readings(repeats, tuple(variants))


def _replaced(node: Any, path: Path, value: Any) -> Any:
    """`node` with `value` at `path`, copying only the containers on the
    path; `node` itself when the path is not there. A loop, not recursion:
    the path may run 1024 levels deep."""
    chain = [node]  # the containers along the path, outermost first
    for step in path:
        here = chain[-1]
        if isinstance(here, dict) and isinstance(step, str) and step in here:
            chain.append(here[step])
        elif isinstance(here, list) and isinstance(step, int) and step < len(here):
            chain.append(here[step])
        else:
            return node
    for parent, step in zip(reversed(chain[:-1]), reversed(path)):
        if isinstance(parent, dict):
            value = {**parent, step: value}
        else:
            value = [*parent[:step], value, *parent[step + 1:]]
    return value
