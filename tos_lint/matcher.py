"""Compiles every text pattern of every rule into one Hyperscan database.

Hyperscan runs all phrases and regexes in a single automaton pass, in linear
time: no pattern can backtrack, and patterns it cannot run that way (back
references, look-around) are refused at load. The module also derives the
literal *anchors* used to prefilter raw input lines before JSON parsing.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Iterable

import hyperscan as hs

from tos_lint.normalize import normalize

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as _c
    import sre_parse as _p

# Hits report only where a match ends: start-of-match tracking makes many
# bounded-repeat patterns too large to compile. The start is found afterwards,
# for the few patterns that hit (see `StartFinder`).
TEXT_FLAGS = hs.HS_FLAG_CASELESS | hs.HS_FLAG_UTF8
SOM_FLAGS = TEXT_FLAGS | hs.HS_FLAG_SOM_LEFTMOST
START_FALLBACK = 80  # bytes shown before the end when a start cannot be tracked
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


# One character that may stand where a `ChatGPT`-style word changes case
# (`Chat GPT`, `Chat-GPT`, `Chat.GPT`, `Open/AI`); markup characters are
# already gone from the normalised text.
_SEPARATOR = r"[ \-.,:;+|/\\]?"
# Digits written for the letters they look like (`Ch4tGPT`, `Cl4ud3`).
_LEET = {"a": "4", "e": "3", "i": "1", "l": "1", "o": "0", "s": "5", "t": "7"}


def phrase_to_regex(phrase: str) -> str:
    """A literal phrase as a regex: flexible white space, whole ASCII words at
    the ends, an optional separator where `ChatGPT`-style words change case,
    and look-alike digits for the letters of longer words."""
    tokens = normalize(phrase.strip()).split()
    parts = [_SEPARATOR.join(_piece_regex(piece) for piece in _CAMEL.split(tok)) for tok in tokens]
    body = r"\s+".join(parts)
    first, last = tokens[0][0], tokens[-1][-1]
    head = r"\b" if first.isascii() and (first.isalnum() or first == "_") else ""
    tail = r"\b" if last.isascii() and (last.isalnum() or last == "_") else ""
    return head + body + tail


def _piece_regex(piece: str) -> str:
    """A word of a phrase; in a word of three letters or more, each letter
    after the first may also be the digit it looks like. The first letter
    stays a letter, so a match always mixes letters and digits or is the
    word itself (never `01` for `o1`, never a number)."""
    if len(piece) < 3 or not (piece.isascii() and piece.isalpha()):
        return re.escape(piece)
    return piece[0] + "".join(f"[{ch}{_LEET[ch.lower()]}]" if ch.lower() in _LEET else ch for ch in piece[1:])


def compile_check(pattern: str) -> str | None:
    """Return why `pattern` cannot run in the linear-time engine, or None."""
    if not pattern:
        return "empty pattern"
    try:
        db = hs.Database()
        db.compile(expressions=[pattern.encode()], ids=[0], elements=1, flags=[hs.HS_FLAG_CASELESS | hs.HS_FLAG_UTF8])
    except hs.error as exc:  # type: ignore[attr-defined]
        return f"not accepted by the linear-time regex engine: {exc}"
    except Exception as exc:  # noqa: BLE001 - surface any engine refusal as a pack error
        return f"not accepted by the linear-time regex engine: {exc}"
    return None


def compile_database(patterns: list[str], flags: int | list[int] = TEXT_FLAGS) -> hs.Database:
    """One block-mode database of all `patterns`, pattern id = list index,
    through the compile cache (a large pack set takes seconds to compile)."""
    from tos_lint import cache

    if not patterns:
        raise ValueError("no patterns")
    flag_list = flags if isinstance(flags, list) else [flags] * len(patterns)
    key = cache.cache_key("hsdb", getattr(hs, "__version__", ""), *map(str, flag_list), *patterns)
    blob = cache.load(key)
    if blob is not None:
        try:
            return load_database(blob)
        except (hs.error, TypeError, ValueError):  # type: ignore[attr-defined]
            pass  # an unreadable entry: compile afresh
    db = _compile(patterns, flag_list)
    cache.store(key, hs.dumpb(db))
    return db


def _compile(patterns: list[str], flags: list[int]) -> hs.Database:
    db = hs.Database()
    db.compile(
        expressions=[p.encode() if isinstance(p, str) else p for p in patterns],
        ids=list(range(len(patterns))),
        elements=len(patterns),
        flags=flags,
    )
    return db


class StartFinder:
    """Finds where a hit starts, given where it ends.

    A one-pattern database with start-of-match tracking is compiled the first
    time a pattern hits; a pattern too large for that tracking gets a fixed
    window before its end instead."""

    def __init__(self, patterns: list[str]):
        self.patterns = patterns
        self._dbs: dict[int, hs.Database | None] = {}

    def start(self, pid: int, data: bytes, end: int) -> int:
        db = self._database(pid)
        if db is None:
            return max(0, end - START_FALLBACK)
        starts: list[int] = []

        def on_match(_id: int, start: int, stop: int, _flags: int, _ctx: object) -> None:
            if stop == end:
                starts.append(start)

        db.scan(data[:end], match_event_handler=on_match)
        return min(starts) if starts else max(0, end - START_FALLBACK)

    def _database(self, pid: int) -> hs.Database | None:
        if pid not in self._dbs:
            self._dbs[pid] = _som_database(self.patterns[pid])
        return self._dbs[pid]


def _som_database(pattern: str) -> hs.Database | None:
    """A start-tracking database for one pattern (compiling one costs ~20 ms
    and a scan may need dozens, hence the cache behind compile_database).
    A refusal is remembered too: a pattern too large for start tracking
    takes longer to refuse (~0.2 s) than a one-record scan takes in all."""
    from tos_lint import cache

    refused = cache.cache_key("som-refused", getattr(hs, "__version__", ""), pattern)
    if cache.load(refused) is not None:
        return None
    try:
        return compile_database([pattern], SOM_FLAGS)
    except hs.error:  # type: ignore[attr-defined]
        cache.store(refused, b"refused")
        return None


def load_database(blob: bytes) -> hs.Database:
    """A database from `hyperscan.dumpb` bytes, ready to scan."""
    db = hs.loadb(blob, hs.HS_MODE_BLOCK)
    db.scratch = hs.Scratch(db)  # a loaded database has no scratch space of its own
    return db


# --- anchors for the raw-line prefilter ---------------------------------------

@dataclass(frozen=True)
class Anchors:
    """Lower-case literals, one of which occurs in any text a pattern can match.
    `None` words means the pattern cannot be prefiltered by a literal."""

    words: frozenset[str] | None
    non_ascii_only: bool = False


def regex_anchors(pattern: str) -> Anchors:
    """Literals that any match of `pattern` must contain (as raw ASCII)."""
    try:
        parsed = _p.parse(pattern, re.IGNORECASE)
    except Exception:  # noqa: BLE001 - engines differ in syntax; no anchor then
        return Anchors(None, non_ascii_only=_needs_non_ascii(pattern))
    words = _required(list(parsed))
    if words is None:
        return Anchors(None, non_ascii_only=_needs_non_ascii(pattern))
    # A match holding a non-ASCII literal lies on a non-ASCII line, and those
    # are always scanned: only the ASCII alternatives need an anchor.
    ascii_words = frozenset(w for w in words if w.isascii())
    if not ascii_words:
        return Anchors(None, non_ascii_only=True)
    return Anchors(ascii_words)


def _needs_non_ascii(pattern: str) -> bool:
    return not pattern.isascii() and not re.search(r"[A-Za-z]{3}", pattern)


def _required(seq: list[tuple[object, object]]) -> set[str] | None:
    """A set of literals, one of which any match of `seq` contains."""
    candidates: list[set[str]] = []
    run: list[str] = []

    def close_run() -> None:
        text = "".join(run).lower()
        run.clear()
        if not text.isascii():
            candidates.append({text})  # any length: it marks a non-ASCII line
            return
        piece = max(re.split(r"[^0-9a-z]+", text), key=len, default="")
        if len(piece) >= 3:
            candidates.append({piece})

    for op, av in seq:
        if op is _c.LITERAL:
            run.append(chr(av))  # type: ignore[arg-type]
            continue
        close_run()
        sub: set[str] | None = None
        if op is _c.SUBPATTERN:
            sub = _required(list(av[-1]))  # type: ignore[index]
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:  # type: ignore[index]
            sub = _required(list(av[2]))  # type: ignore[index]
        elif op is _c.BRANCH:
            sub = _branch(av[1])  # type: ignore[index]
        if sub:
            candidates.append(sub)
    close_run()
    if not candidates:
        return None
    return max(candidates, key=_anchor_strength)


def _anchor_strength(words: set[str]) -> tuple[bool, int, int]:
    """Prefer sets that force a non-ASCII line, then longer, fewer literals."""
    return (not any(w.isascii() for w in words), min(len(w) for w in words), -len(words))


def _branch(alternatives: Iterable[object]) -> set[str] | None:
    out: set[str] = set()
    for alt in alternatives:
        sub = _required(list(alt))  # type: ignore[call-overload]
        if sub is None:
            return None
        out |= sub
    return out
