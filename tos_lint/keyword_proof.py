"""Whether every match of a regex holds one of a rule's keywords.

A rule's `keywords` stand for its patterns in the raw-line prefilter: a
line that holds none of them is never read, so a pattern that can match
without one would lose findings without a sign. `tos-lint rules test`
proves, for each pattern, that this cannot happen, reading the pattern
with Python's own regex parser:

- a *run* is a stretch of the pattern whose every spelling can be listed:
  literals, small character classes, zero-width assertions (`\\b`, `^`),
  optional or alternative stretches of those. The run holds a keyword when
  each of its spellings does;
- a sequence holds a keyword when one of its runs does, or one of its
  required elements (a group, a repeat of at least one);
- alternatives hold one when each of them does.

A space in a keyword stands for any run of whitespace, where the
prefilter looks for it as it does in the proof: `le\\s+chat` holds the
keyword "le chat". The proof is sound but not complete: a pattern it
cannot read is reported as not proven.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

try:  # the modules' names since Python 3.11 (the prefilter reads regexes with this parser too)
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

_C = sre_constants
# Past this many spellings a run ends where it stands: listing them costs
# more than it proves.
MAX_SPELLINGS = 512
MAX_CLASS = 8
_REPEATS = tuple(getattr(_C, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_C, name))
_SPACE_RUN = re.compile(r"\s+")


def keyword_regex(keyword: str) -> str:
    """The regex a keyword stands for: its words, separated by any run of
    whitespace (matched case-insensitively)."""
    return r"\s+".join(re.escape(word) for word in keyword.split())


@lru_cache(maxsize=None)
def keyword_searcher(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One regex that finds any of `keywords` in a text."""
    return re.compile("|".join(keyword_regex(k) for k in keywords), re.IGNORECASE)


def always_holds_keyword(regex: str, keywords: Sequence[str]) -> bool:
    """True when every text `regex` matches (case-insensitively) holds one
    of `keywords`; False when that is not proven."""
    words = tuple(" ".join(k.lower().split()) for k in keywords if k.strip())
    if not words:
        return False
    try:
        parsed = sre_parse.parse(regex, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return False
    return _sequence_holds(list(parsed), words)


def _sequence_holds(items: list[tuple], words: tuple[str, ...]) -> bool:
    spellings: set[str] = {""}
    run: list[tuple] = []  # the elements the spellings spell
    for item in items:
        tails = _spellings([item])
        if tails is None:  # the run ends here
            if _each_holds(spellings, words) or _element_holds(item, words, run):
                return True
            spellings, run = {""}, []
        elif len(spellings) * len(tails) <= MAX_SPELLINGS:
            spellings, run = {head + tail for head in spellings for tail in tails}, run + [item]
        else:  # too many spellings: go on with the longest end of the run that has few enough
            if _each_holds(spellings, words):
                return True
            run, spellings = _fitting_end(run + [item])
    return _each_holds(spellings, words)


def _fitting_end(run: list[tuple]) -> tuple[list[tuple], set[str]]:
    """The longest end of `run` whose spellings can be listed (its last
    element alone always can)."""
    for start in range(1, len(run)):
        spellings = _spellings(run[start:])
        if spellings is not None:
            return run[start:], spellings
    raise AssertionError("the run's last element has spellings")


def _each_holds(spellings: set[str], words: tuple[str, ...]) -> bool:
    # a spelling's " " stands for a run of whitespace, as a keyword's does
    return all(any(word in _SPACE_RUN.sub(" ", spelling) for word in words) for spelling in spellings)


def _element_holds(item: tuple, words: tuple[str, ...], run: list[tuple]) -> bool:
    """Whether a required element that is not part of a run holds a
    keyword, alone or, for alternatives, each with the `run` before it
    (the regex parser moves a prefix the alternatives share out of them:
    `ali(?:baba|yun)` for `alibaba|aliyun`)."""
    op, av = item
    if op is _C.SUBPATTERN:
        body = list(av[-1])
        if len(body) == 1 and body[0][0] is _C.BRANCH:
            return _element_holds(body[0], words, run)
        return _sequence_holds(body, words)
    if op is _C.BRANCH:
        return all(_sequence_holds(run + list(branch), words) for branch in av[1])
    if op in _REPEATS and av[0] >= 1:
        return _sequence_holds(list(av[2]), words)
    return False


def _spellings(items: list[tuple]) -> set[str] | None:
    """Every text a sequence of elements can match (lower case), or None
    when that is not a short list."""
    out = {""}
    for op, av in items:
        tails = _item_spellings(op, av)
        if tails is None or len(out) * len(tails) > MAX_SPELLINGS:
            return None
        out = {head + tail for head in out for tail in tails}
    return out


def _item_spellings(op: object, av: object) -> set[str] | None:
    if _is_space(op, av):
        return {" "}
    if op in _REPEATS and av[2] and len(av[2]) == 1 and _is_space(*av[2][0]):  # type: ignore[index]
        return {" "} if av[0] >= 1 else {"", " "}  # type: ignore[index]
    if op is _C.LITERAL:
        return {chr(av).lower()}  # type: ignore[arg-type]
    if op is _C.AT:
        return {""}  # zero width
    if op is _C.IN:
        return _class_spellings(av)  # type: ignore[arg-type]
    if op is _C.SUBPATTERN:
        return _spellings(list(av[-1]))  # type: ignore[index]
    if op is _C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:  # type: ignore[index]
            part = _spellings(list(branch))
            if part is None:
                return None
            out |= part
        return out if len(out) <= MAX_SPELLINGS else None
    if op in _REPEATS and av[0] == 0 and av[1] == 1:  # type: ignore[index]
        body = _spellings(list(av[2]))  # type: ignore[index]
        return None if body is None else body | {""}
    return None


def _class_spellings(members: list[tuple]) -> set[str] | None:
    chars: set[str] = set()
    for op, av in members:
        if op is _C.LITERAL:
            chars.add(chr(av).lower())
        elif op is _C.RANGE and av[1] - av[0] < MAX_CLASS:
            chars.update(chr(c).lower() for c in range(av[0], av[1] + 1))
        else:  # a negation, a category (\w, \s), a wide range
            return None
    return chars if len(chars) <= MAX_CLASS else None


def _is_space(op: object, av: object) -> bool:
    """Whether an element matches whitespace only: `\\s`, a space, a class
    of such (`[ \\t]`)."""
    if op is _C.LITERAL:
        return chr(av).isspace()  # type: ignore[arg-type]
    if op is _C.IN:
        return bool(av) and all(  # type: ignore[arg-type]
            (o is _C.LITERAL and chr(a).isspace()) or (o is _C.CATEGORY and a is _C.CATEGORY_SPACE)
            for o, a in av)  # type: ignore[union-attr]
    return False
