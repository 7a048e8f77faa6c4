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
keyword "le chat". A keyword written with `\\b` at an edge (`\\bmeta\\b`,
`\\bphi`) must stand there at a word's edge: the character beside it is
not an ASCII letter, digit or underscore, or it is the text's edge. The
proof then wants that character spelled in the pattern (a space, a quote,
`\\b`, `^`), so that "Meta" may stand for a pattern that names Meta
while "metadata" and "metaphor" are no reason to read a line. The proof
is sound but not complete: a pattern it cannot read is reported as not
proven.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple, Sequence

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
EDGE = "\\b"  # written at a keyword's start or end: it stands at a word's edge there
# In a spelling: a zero-width word boundary or text edge (`\b`, `^`, `$`).
_MARK = "\x00"
_EDGE_ASSERTIONS = frozenset(getattr(_C, name) for name in (
    "AT_BOUNDARY", "AT_UNI_BOUNDARY", "AT_LOC_BOUNDARY", "AT_BEGINNING", "AT_BEGINNING_LINE",
    "AT_BEGINNING_STRING", "AT_END", "AT_END_LINE", "AT_END_STRING") if hasattr(_C, name))
_WORD_CHAR = "a-z0-9_"  # ASCII, as the rules' `\w` and `\b` are
_WORD = re.compile(f"[{_WORD_CHAR}]", re.IGNORECASE)


class Keyword(NamedTuple):
    """A keyword as the proof and the prefilter read it: its words joined
    by single spaces (lower case), and whether each edge must be a word's."""

    text: str
    word_start: bool
    word_end: bool


def parse_keyword(keyword: str) -> Keyword:
    text = keyword.strip()
    word_start, word_end = text.startswith(EDGE), text.endswith(EDGE) and len(text) > len(EDGE)
    text = text[len(EDGE) if word_start else 0: len(text) - len(EDGE) if word_end else len(text)]
    return Keyword(" ".join(text.lower().split()), word_start, word_end)


def keyword_problem(keyword: str) -> str | None:
    """Why a keyword as written in a pack cannot be used, or None."""
    parsed = parse_keyword(keyword)
    if not parsed.text:
        return f"'{keyword}' holds no word"
    if "\\" in parsed.text:
        return f"'{keyword}': a backslash may only be `\\b` at its start or end"
    for wanted, char in ((parsed.word_start, parsed.text[0]), (parsed.word_end, parsed.text[-1])):
        if wanted and not (char.isascii() and char.isalnum()):
            return f"'{keyword}': next to `\\b` must stand an ASCII letter or digit"
    return None


def escaped_words(text: str) -> list[str]:
    """A keyword's words, each escaped for a regex."""
    return [re.escape(word) for word in text.split()]


def words_regex(text: str) -> str:
    """A keyword's words, separated by any run of whitespace."""
    return r"\s+".join(escaped_words(text))


def keyword_regex(keyword: str) -> str:
    """The regex a keyword stands for (matched case-insensitively): its
    words, with ASCII word boundaries where it has `\\b`."""
    parsed = parse_keyword(keyword)
    edge = r"(?a:\b)"
    return (edge if parsed.word_start else "") + words_regex(parsed.text) + (edge if parsed.word_end else "")


@lru_cache(maxsize=None)
def keyword_searcher(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One regex that finds any of `keywords` in a text."""
    return re.compile("|".join(keyword_regex(k) for k in keywords), re.IGNORECASE)


def always_holds_keyword(regex: str, keywords: Sequence[str]) -> bool:
    """True when every text `regex` matches (case-insensitively) holds one
    of `keywords`; False when that is not proven."""
    words = tuple(_word_finder(parsed) for parsed in map(parse_keyword, keywords) if parsed.text)
    if not words:
        return False
    try:
        parsed = sre_parse.parse(regex, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        return False
    return _sequence_holds(list(parsed), words)


def _sequence_holds(items: list[tuple], words: tuple[re.Pattern[str], ...]) -> bool:
    spellings: set[str] = {""}
    run: list[tuple] = []  # the elements the spellings spell
    for item in items:
        tails = _spellings([item])
        if tails is None:  # the run ends here
            if _each_holds(spellings, words) or _element_holds(item, words, run):
                return True
            spellings, run = _context_after([item]), []
        elif len(spellings) * len(tails) <= MAX_SPELLINGS:
            spellings, run = {head + tail for head in spellings for tail in tails}, run + [item]
        else:  # too many spellings: go on with the longest end of the run that has few enough
            if _each_holds(spellings, words):
                return True
            run, spellings = _fitting_end(run + [item])
    return _each_holds(spellings, words)


def _fitting_end(run: list[tuple]) -> tuple[list[tuple], set[str]]:
    """The longest end of `run` whose spellings can be listed (its last
    element alone always can), each after what is known of the elements
    left out."""
    for start in range(1, len(run)):
        spellings = _spellings(run[start:])
        if spellings is not None:
            return run[start:], {head + tail for head in _context_after(run[:start]) for tail in spellings}
    raise AssertionError("the run's last element has spellings")


def _context_after(items: list[tuple]) -> set[str]:
    """How a run that starts after `items` begins its spellings: with a
    space, standing for any character that is no word character, when every
    text `items` match ends in one (a keyword spelled next may then start a
    word: `(?:against|per)\\s+meta`); else with nothing known."""
    return {" "} if _ends_in_non_word(items) else {""}


def _ends_in_non_word(items: list[tuple]) -> bool:
    """Whether every text the sequence matches ends in a character that is
    no ASCII word character (False when that is not known)."""
    for op, av in reversed(items):
        if op is _C.AT:
            continue  # zero width: the character before it ends the text
        if op in _REPEATS and av[0] == 0:  # type: ignore[index]
            if not _ends_in_non_word(list(av[2])):  # type: ignore[index]
                return False
            continue  # it may be absent: what comes before must end so too
        if op is _C.SUBPATTERN:
            return _ends_in_non_word(list(av[-1]))  # type: ignore[index]
        if op is _C.BRANCH:
            return all(_ends_in_non_word(list(branch)) for branch in av[1])  # type: ignore[index]
        if op in _REPEATS:
            return _ends_in_non_word(list(av[2]))  # type: ignore[index]
        return _is_non_word(op, av)
    return False  # it may match nothing


def _is_non_word(op: object, av: object) -> bool:
    """Whether a one-character element (a literal, a class or a member of
    one) only matches characters that are no ASCII word character."""
    if op is _C.IN:
        return bool(av) and av[0][0] is not _C.NEGATE and all(_is_non_word(o, a) for o, a in av)  # type: ignore[index,union-attr]
    if op is _C.LITERAL:
        return not _WORD.match(chr(av))  # type: ignore[arg-type]
    if op is _C.RANGE:
        return not any(_WORD.match(chr(c)) for c in range(av[0], min(av[1], 127) + 1))  # type: ignore[index]
    return op is _C.CATEGORY and av in (_C.CATEGORY_SPACE, _C.CATEGORY_NOT_WORD)


def _word_finder(keyword: Keyword) -> re.Pattern[str]:
    """Finds `keyword` in a spelling: where it must be at a word's edge,
    beside a mark, or a character spelled there that is no word character
    (at the spelling's end, what stands there is not known)."""
    before = f"(?:{_MARK}|(?<=[^{_WORD_CHAR}{_MARK}]))" if keyword.word_start else ""
    after = f"(?:{_MARK}|(?=[^{_WORD_CHAR}{_MARK}]))" if keyword.word_end else ""
    inner = f"{_MARK}*".join(map(re.escape, keyword.text))  # `bing\b\s+chat` spells a mark inside
    return re.compile(before + inner + after)


def _each_holds(spellings: set[str], words: tuple[re.Pattern[str], ...]) -> bool:
    return all(_holds(spelling, words) for spelling in spellings)


def _holds(spelling: str, words: tuple[re.Pattern[str], ...]) -> bool:
    # a spelling's " " stands for a run of whitespace, as a keyword's does
    spelling = _SPACE_RUN.sub(" ", spelling)
    return any(word.search(spelling) for word in words)


def _element_holds(item: tuple, words: tuple[re.Pattern[str], ...], run: list[tuple]) -> bool:
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
        return {_MARK if av in _EDGE_ASSERTIONS else ""}  # zero width
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
