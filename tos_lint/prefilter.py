"""Raw-line prefilter: skip the adapters and detectors for JSONL lines that
no rule can match, judged on the raw bytes of the line.

Every pattern that can produce a hit is relaxed to its *line form* (JSON
escapes allowed wherever a character class may stand; no word boundaries;
optional underscores) and all run, in one Hyperscan pass, over the raw line
with markdown `*`, `` ` ``, `~~` and underscores removed. A match of the line form is a
superset of a match in the decoded, normalised segments, since each
segment sits in the line whole. A line
that holds anything a cheap transform cannot reproduce (non-ASCII bytes,
`\\u` escapes, HTML entities) always goes through; so does a record with a
key that a field rule looks for. When some pattern cannot be used this way
(a field key that cannot be found in raw JSON), the prefilter is off and
every line is scanned.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import hyperscan as hs

from tos_lint.adapters import DIRECTIVE_KEY
from tos_lint.matcher import TEXT_FLAGS, compile_database

if TYPE_CHECKING:
    from tos_lint.detect import RuleSet

_ENTITY = re.compile(rb"&#?[A-Za-z0-9]{1,31};")


class LinePrefilter:
    def __init__(self, patterns: list[str]):
        self.db = compile_database(patterns, TEXT_FLAGS | hs.HS_FLAG_SINGLEMATCH)

    @classmethod
    def build(cls, ruleset: "RuleSet") -> "LinePrefilter | None":
        patterns = prefilter_patterns(ruleset)
        return cls(patterns) if patterns is not None else None

    def may_match(self, line: bytes) -> bool:
        """False only when no rule can hit the record on this line."""
        if not line.isascii() or b"\\u" in line or (b"&" in line and _ENTITY.search(line)):
            return True  # decoding or normalisation may create a match: scan it
        if b"*" in line or b"`" in line or b"~" in line or b"_" in line:
            line = line.translate(None, b"*`_").replace(b"~~", b"")
        found: list[int] = []
        try:
            self.db.scan(line, match_event_handler=_stop, context=found)
        except hs.ScanTerminated:
            pass
        return bool(found)


def _stop(pid: int, start: int, end: int, flags: int, context: list[int]) -> bool:
    context.append(pid)
    return True  # one hit is enough


# In a raw JSON string, one decoded character may stand as a two-byte escape.
_ESCAPE_PAIR = r'\\[nrtbf"/\\]'


def line_form(regex: str) -> str:
    r"""`regex` relaxed so that it matches the raw JSON line (with `*`, `` ` ``,
    `~~` and `_` removed) wherever the original matches a decoded, normalised
    segment: every character class, `.` and class escape also takes a
    two-byte JSON escape as one unit, quotes and slashes may be escaped,
    underscores are optional, word boundaries are dropped (an escape's letter
    can touch the word), and a segment's edges (`^`, `$`, `\A`, `\z`) sit
    next to a JSON quote."""
    out: list[str] = []
    i, n = 0, len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\" and i + 1 < n:
            out.append(_escape_form(regex[i + 1]))
            i += 2
        elif ch == "[":
            end = _class_end(regex, i)
            out.append(f"(?:{regex[i:end]}|{_ESCAPE_PAIR})")
            i = end
        else:
            out.append(_CHAR_FORMS.get(ch, ch))
            i += 1
    return "".join(out)


_CHAR_FORMS = {
    "^": '(?:^|")', "$": '(?:$|")', '"': r'\\?"', "/": r"\\?/", "_": "_?",
    ".": f"(?:.|{_ESCAPE_PAIR})",
}


def _escape_form(letter: str) -> str:
    if letter in "sSwWdD":
        return rf"(?:\{letter}|{_ESCAPE_PAIR})"
    if letter in "bB":
        return ""
    if letter in "AzZ":
        return '(?:^|")' if letter == "A" else '(?:$|")'
    if letter in '"/':
        return rf"\\?{letter}"
    if letter == "\\":
        return r"\\\\?"
    if letter == "_":
        return "_?"
    return "\\" + letter


def _class_end(regex: str, start: int) -> int:
    """Index just past the character class that opens at `start`."""
    i = start + 1
    if regex[i: i + 1] == "^":
        i += 1
    if regex[i: i + 1] == "]":
        i += 1  # a `]` first in a class is a literal
    while i < len(regex) and regex[i] != "]":
        i += 2 if regex[i] == "\\" else 1
    return i + 1


def prefilter_patterns(ruleset: "RuleSet") -> list[str] | None:
    """The prefilter's patterns, or None if some rule makes it unusable."""
    # records carrying their own suppressions are always read, so that a
    # malformed directive is reported even where nothing else hits
    patterns: list[str] = [line_form(re.escape(f'"{DIRECTIVE_KEY}"'))]
    for pattern in ruleset.patterns:
        if pattern.role == "unless":
            continue  # an unless context only cancels; it never makes a hit
        patterns.append(line_form(pattern.regex))
    for index in ruleset.field_rules:
        rule = ruleset.rules[index]
        keys = {item.key.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~") for item in rule.items}
        if rule.mode == "all":  # every key must be there: the longest (likely rarest) one will do
            keys = {max(sorted(keys), key=len)}
        for key in sorted(keys):  # set order varies by process: keep the cache key stable
            if not key or not key.isascii() or not key.isprintable():
                return None
            patterns.append(line_form(re.escape(f'"{key}"')))  # a raw JSON key is always quoted
    return patterns
