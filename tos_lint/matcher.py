"""Compiles every text pattern of every rule into one Hyperscan database.

Hyperscan runs all phrases and regexes in a single automaton pass, in linear
time: no pattern can backtrack, and patterns it cannot run that way (back
references, look-around) are refused at load.
"""
from __future__ import annotations

import re
from operator import itemgetter
from typing import Callable, Union

import hyperscan as hs

from tos_lint.background import Background
from tos_lint.normalize import normalize

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
    key = _database_key(patterns, flag_list)
    blob = cache.load(key, verify=False)  # a damaged database fails to load, and is compiled afresh
    if blob is not None:
        try:
            return load_database(blob)
        except (hs.error, TypeError, ValueError):  # type: ignore[attr-defined]
            pass  # an unreadable entry: compile afresh
    db = _compile(patterns, flag_list)
    cache.store(key, hs.dumpb(db))
    return db


def database_cached(patterns: list[str], flags: int) -> bool:
    """Whether `compile_database` would load these patterns from the cache
    rather than compile them."""
    from tos_lint import cache

    return bool(patterns) and cache.has(_database_key(patterns, [flags] * len(patterns)))


def _database_key(patterns: list[str], flags: list[int]) -> str:
    from tos_lint import cache

    return cache.cache_key("hsdb", getattr(hs, "__version__", ""), *map(str, flags), *patterns)


def compiled_bytes(patterns: list[str], flags: int) -> bytes:
    """`compile_database` (cache included), as bytes another process can load."""
    return hs.dumpb(compile_database(patterns, flags))


# Hyperscan compiles a database on one thread, in a time that grows a little
# faster than its pattern count: a long pattern list is compiled in halves,
# side by side in child processes (the built-in packs: 14 s as one
# database; 6.7 s and 5.2 s as two).
SPLIT_COMPILE_MIN_PATTERNS = 200


class PatternDatabases:
    """`patterns` compiled into a few databases and scanned as one: pattern
    id = list index. The first `stable` patterns (the built-in packs') change
    only with the tool: they are compiled apart from the others, so that an
    edit to one's own pack recompiles that part alone. Each part of at
    least SPLIT_COMPILE_MIN_PATTERNS is compiled in two halves."""

    def __init__(self, patterns: list[str], flags: int = TEXT_FLAGS, stable: int = 0):
        self.parts = compile_groups([(patterns, stable)], flags)[0]

    @classmethod
    def side_by_side(cls, groups: list[tuple[list[str], int]], flags: int = TEXT_FLAGS) -> list[PatternDatabases]:
        """One PatternDatabases per (patterns, stable) group, all compiled at once."""
        made = []
        for parts in compile_groups(groups, flags):
            databases = cls.__new__(cls)
            databases.parts = parts
            made.append(databases)
        return made

    def load(self) -> None:
        """Read every part the cache holds now rather than at its first scan
        (before forking workers, so that they share one copy)."""
        for db, _ in self.parts:
            if isinstance(db, CachedDatabase):
                db.load()

    def scan(self, data: bytes) -> list[tuple[int, int, int]]:
        """(pattern id, start, end) of every match, by end, then pattern id."""
        found: list[tuple[int, int, int]] = []
        for db, offset in self.parts:
            part: list[tuple[int, int, int]] = []
            db.scan(data, match_event_handler=collect_match, context=part)
            found.extend([(pid + offset, start, end) for pid, start, end in part] if offset else part)
        found.sort(key=_END_THEN_ID)  # Hyperscan's own order varies by engine part
        return found


def compile_groups(groups: list[tuple[list[str], int]], flags: int = TEXT_FLAGS) -> list[list[tuple[Scannable, int]]]:
    """The (database, first pattern id) parts of each (patterns, stable)
    group, as `PatternDatabases` cuts them: all parts of all groups compile
    side by side, so that a rule set of several groups takes no longer to
    compile than its largest part. Parts in the cache are read from it at
    their first scan (`CachedDatabase`)."""
    spans = []
    for patterns, stable in groups:
        if not patterns:
            raise ValueError("no patterns")
        spans.append(_compile_spans(len(patterns), stable))
    databases = iter(compile_side_by_side([(patterns[lo:hi], flags) for (patterns, _), group in zip(groups, spans)
                                           for lo, hi in group], deferred=True))
    return [[(next(databases), lo) for lo, _ in group] for group in spans]


class CachedDatabase:
    """A database the compile cache holds, read from it at its first scan.

    The built-in packs' match databases are tens of megabytes: reading and
    loading them is a third of a small scan's start-up, and a scan whose
    lines the raw-line prefilter all clears (most pre-commit runs) never
    needs them. An entry gone or damaged by then is compiled afresh."""

    def __init__(self, patterns: list[str], flags: int):
        self.patterns = patterns
        self.flags = flags
        self._db: hs.Database | None = None

    @property
    def loaded(self) -> bool:
        return self._db is not None

    def load(self) -> hs.Database:
        if self._db is None:
            self._db = compile_database(self.patterns, self.flags)
        return self._db

    def scan(self, data: bytes, match_event_handler: object, context: object = None) -> None:
        self.load().scan(data, match_event_handler=match_event_handler, context=context)


Scannable = Union[hs.Database, CachedDatabase]


# What to call before the first compile the cache cannot spare: the first
# run on a machine compiles the built-in packs for some 20 s, and the
# command line says so rather than seem to hang. Called once, then dropped.
_cold_compile_notices: list[Callable[[], None]] = []


def before_first_cold_compile(notice: Callable[[], None]) -> None:
    """Have `notice` called once, before rule databases not in the cache
    are compiled (if they ever are in this process)."""
    _cold_compile_notices[:] = [notice]


def _announce_cold_compile() -> None:
    while _cold_compile_notices:
        _cold_compile_notices.pop()()


def compile_side_by_side(parts: list[tuple[list[str], int]], deferred: bool = False) -> list[Scannable]:
    """Each (patterns, flags) as `compile_database` makes it: each one the
    cache lacks in a child of its own, all at once, while this process only
    waits. A compile runs in C for up to twenty seconds and Python sees
    Ctrl-C only between calls, so waiting here (where Ctrl-C stops the
    children at once) is what keeps a first run interruptible.
    `deferred`: those the cache holds are read from it when first scanned."""
    cached = [database_cached(patterns, flags) for patterns, flags in parts]  # each key hashes every pattern: once
    if not all(cached):
        _announce_cold_compile()
    children = {i: Background(compiled_bytes, patterns, flags) for i, (patterns, flags) in enumerate(parts)
                if not cached[i]}
    try:
        databases: list[Scannable] = []
        for i, (patterns, flags) in enumerate(parts):
            child = children.pop(i, None)
            if child is not None:
                databases.append(load_database(child.result()))
            elif deferred and cached[i]:
                databases.append(CachedDatabase(patterns, flags))
            else:
                databases.append(compile_database(patterns, flags))
        return databases
    except BaseException:
        for child in children.values():  # those not waited for: their work is no longer wanted
            child.cancel()
        raise


def _compile_spans(count: int, stable: int) -> list[tuple[int, int]]:
    """[start, end) of each database's patterns: the stable ones and the
    others apart, each in two halves when large."""
    spans: list[tuple[int, int]] = []
    for lo, hi in ((0, stable), (stable, count)):
        if hi - lo >= SPLIT_COMPILE_MIN_PATTERNS:
            middle = (lo + hi) // 2
            spans += [(lo, middle), (middle, hi)]
        elif hi > lo:
            spans.append((lo, hi))
    return spans


def collect_match(pid: int, start: int, end: int, flags: int, context: list[tuple[int, int, int]]) -> None:
    """A Hyperscan match handler: (pattern id, start, end) into the list `context`."""
    context.append((pid, start, end))


_END_THEN_ID = itemgetter(2, 0)  # of a match (pattern id, start, end); a C-level key


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
