"""The phrases a grep user would write for a regex: a set of literal strings
one of which every match of the regex contains.

`rg -F -f PHRASES` finds lines that hold any phrase. For it to stand in for
a pack of regexes, each regex must contribute phrases that are *required*
(every match of the regex holds one of them), or ripgrep would skip lines
the regex matches; and they should be as long as the regex allows, or
ripgrep would report lines the regex never could. A word taken from one
branch of an alternation (`assistant` out of `(?:ai|assistant|model)`) is
neither: required it is not, and in chat JSON it occurs on every line.

For each part of the parsed regex this computes its *exact* strings (every
string the part can match, when they are few and literal) and a *required*
set; a sequence joins neighbouring exact sets into longer strings, an
alternation unites its branches' sets, and an optional part contributes
nothing required. The set kept is the one whose shortest phrase is longest
(the most selective a grep user could write), in the way code search
indexes pick trigrams from a regex.
"""

from __future__ import annotations

from dataclasses import dataclass

try:
    import re._parser as sre_parse  # Python >= 3.11
    import re._constants as sre_constants
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]
    import sre_constants  # type: ignore[no-redef]

MIN_PHRASE = 4  # shorter phrases match nearly every line of chat text
MAX_SET = 16  # more alternatives than this: no longer a phrase list one writes by hand

Strings = frozenset[str]


@dataclass(frozen=True)
class Info:
    exact: Strings | None  # all strings the part matches, when few and literal
    required: Strings | None  # one of these is in every match; None: nothing required


def _score(phrases: Strings | None) -> int:
    """How selective a required set is: its shortest phrase's length."""
    if not phrases:
        return 0
    return min(len(p.strip()) for p in phrases)


def _better(a: Strings | None, b: Strings | None) -> Strings | None:
    if _score(b) > _score(a) or (_score(b) == _score(a) and b is not None and a is not None and len(b) < len(a)):
        return b
    return a


def required_phrases(regex: str, flags: int = 0) -> Strings:
    """Lower-cased phrases one of which every match of `regex` contains,
    each at least MIN_PHRASE characters; empty when the regex has none
    (ripgrep cannot stand in for it). Raises `re.error` for syntax `re`
    does not parse."""
    tree = sre_parse.parse(regex, flags)
    info = _sequence(list(tree))
    best = _better(info.required, info.exact)
    if best is None or _score(best) < MIN_PHRASE or any("\n" in p for p in best):
        return frozenset()
    return frozenset(p.strip() for p in best)


ZERO_WIDTH = Info(frozenset({""}), None)
UNKNOWN = Info(None, None)


def _sequence(items: list) -> Info:
    """A concatenation: runs of exact parts join into longer strings; the
    best required set is the best of the runs and of each part's own."""
    exact: Strings | None = frozenset({""})  # the whole sequence's exact strings
    run: Strings = frozenset({""})  # the current run of exact parts
    best: Strings | None = None
    for op, arg in items:
        part = _item(op, arg)
        if part.exact is not None and len(run) * len(part.exact) <= MAX_SET:
            run = frozenset(a + b for a in run for b in part.exact)
        else:
            best = _better(best, run)
            best = _better(best, part.required)
            best = _better(best, part.exact)
            run = frozenset({""})
            if part.exact is not None:
                run = part.exact
        if exact is not None:
            exact = frozenset(a + b for a in exact for b in part.exact) if part.exact is not None and \
                len(exact) * len(part.exact) <= MAX_SET else None
    best = _better(best, run)
    return Info(exact, best)


def _item(op, arg) -> Info:
    name = str(op)
    if name == "LITERAL":
        ch = chr(arg).lower()
        return Info(frozenset({ch}), None) if ch != "\n" else UNKNOWN
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return ZERO_WIDTH  # no characters of the match
    if name == "SUBPATTERN":
        return _sequence(list(arg[-1]))
    if name == "BRANCH":
        return _branch([_sequence(list(alt)) for alt in arg[1]])
    if name == "IN":
        return _class(arg)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return _repeat(*arg)
    return UNKNOWN


def _branch(alternatives: list[Info]) -> Info:
    exact: Strings | None = frozenset()
    required: Strings | None = frozenset()
    for alt in alternatives:
        exact = exact | alt.exact if exact is not None and alt.exact is not None else None
        own = _better(alt.required, alt.exact)
        required = required | own if required is not None and own is not None and _score(own) else None
    if exact is not None and len(exact) > MAX_SET:
        exact = None
    if required is not None and len(required) > MAX_SET:
        required = None
    return Info(exact, required)


def _class(arg) -> Info:
    """A character class: `\\s` (a grep user writes one space) or a few
    literal characters (`[ -]`)."""
    chars: set[str] = set()
    for op, value in arg:
        if str(op) == "CATEGORY" and value == sre_constants.CATEGORY_SPACE:
            chars.add(" ")
        elif str(op) == "LITERAL":
            ch = chr(value)
            chars.add(" " if ch.isspace() else ch.lower())
        else:
            return UNKNOWN
    return Info(frozenset(chars), None) if 0 < len(chars) <= 4 else UNKNOWN


def _repeat(low: int, high, sub) -> Info:
    inner = _sequence(list(sub))
    if inner.exact == frozenset({" "}):
        return Info(frozenset({" "}), None) if low >= 1 else Info(frozenset({"", " "}), None)
    if low == 0:
        if high == 1 and inner.exact is not None:
            return Info(inner.exact | {""}, None)
        return Info(None, None)
    if low == high == 1:
        return inner
    return Info(None, _better(inner.required, inner.exact))
