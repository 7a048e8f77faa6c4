"""Raw-line prefilter: skip the adapters and detectors for JSONL lines that
no rule can match, judged on the raw bytes of the line.

Every pattern that can produce a hit is relaxed to its *line form* (JSON
escapes allowed wherever a character class may stand; no word
boundaries; optional underscores) and all run, in one Hyperscan pass,
over the raw line with markdown `*`, `` ` ``, `~~`, underscores, links'
brackets and addresses, and inline HTML tags removed. A match of the line form is a superset of a
match in the decoded, normalised segments, since each segment sits in
the line whole. A line's `\\uXXXX` escapes are decoded to the characters
they stand for (`decode_unicode_escapes`); a line with HTML entities, or
escapes that must stay escapes, always goes through (decoding may create
a match); a non-ASCII line is decoded and judged by its context-free
form (`normalize.context_free_form`), or goes through when it has none.
A field rule is judged by the string value it looks for (`"chatcmpl-`,
`"gpt-4...`), or by its quoted key where it wants no string (`exists`, a
number); with several items that must all hold, by the most telling one.
When some pattern cannot be used this way (a field key that cannot be
found in raw JSON), the prefilter is off and every line is scanned.

JSONL is judged a block of lines at a time (`candidate_lines`): one
Hyperscan pass over the whole block, in byte mode, whose matches mark
their lines, so a block of clean lines costs one call whatever its number
of lines. Its patterns are the line forms with
each non-ASCII character made a placeholder byte. The lines byte mode
cannot judge (non-ASCII, `\\u`, entities) are picked out by C-level tests
on each line and judged one by one, as above.
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Sequence
from weakref import WeakKeyDictionary

import hyperscan as hs

from tos_lint.adapters import DIRECTIVE_KEY
from tos_lint import keyword_proof
from tos_lint.matcher import TEXT_FLAGS, compile_database, compile_side_by_side, database_cached
from tos_lint.normalize import INLINE_TAG_NAMES, context_free_form
from tos_lint.packs import CONDITION_ROLES

if TYPE_CHECKING:
    from tos_lint.detect import RuleSet
    from tos_lint.packs import MatchItem

_ENTITY = re.compile(rb"&#?[A-Za-z0-9]{1,31};")


def _lines_to_judge_whole(block: bytes, lines: Sequence[bytes]) -> set[int]:
    """The lines that a cheap transform cannot judge, so `may_match` decodes
    them: a non-ASCII byte, a `\\u` escape, an HTML entity, where a
    markdown link may be (a block's markup goes without looking for them). Each is looked
    for in the whole block first, and only then line by line: C-level tests
    (`\\u`, which `bytes.find` seeks at 1 GB/s among JSON's many
    backslashes, by a Hyperscan literal search at 20), far faster than a
    pattern pass that restarts after each such line."""
    found: set[int] = set()
    if not block.isascii():
        found.update([i for i, line in enumerate(lines) if not line.isascii()])
    _first_matching_lines(_escape_or_link_db(), block, found)
    if b"&" in block:
        found.update([i for i, line in enumerate(lines) if b"&" in line and _ENTITY.search(line)])
    return found


@cache
def _escape_or_link_db() -> hs.Database:
    # case matters: `\U` is no escape in JSON
    return compile_database([r"\\u", _LINK_EDGE], hs.HS_FLAG_MULTILINE)


# Block mode is byte mode (a block may hold invalid UTF-8, which Hyperscan's
# UTF-8 mode must never see); `^` and `$` hold at every line's edges.
BLOCK_FLAGS = hs.HS_FLAG_CASELESS | hs.HS_FLAG_MULTILINE
# Line mode is UTF-8 text mode; one match is all a line needs.
LINE_FLAGS = TEXT_FLAGS | hs.HS_FLAG_SINGLEMATCH
# A smaller block is judged line by line, without loading the block
# database: a file of a few records should not pay for it.
MIN_BLOCK_BYTES = 64 << 10


class LinePrefilter:
    """`patterns` are judged on the line with markup removed (text, which is
    normalised before matching); `raw_patterns` on the line as it is (field
    values, which are matched as they are, underscores and all); `byte_forms`
    are the patterns as blocks are judged (None: blocks go line by line)."""

    def __init__(self, patterns: list[str], raw_patterns: list[str], byte_forms: list[str] | None):
        self.patterns = patterns
        self.raw_patterns = raw_patterns
        self._block_forms = byte_forms  # `block_forms(patterns)`

    @cached_property
    def db(self) -> hs.Database:
        return compile_database(self.patterns, LINE_FLAGS)

    @cached_property
    def raw_db(self) -> hs.Database | None:
        return compile_database(self.raw_patterns, LINE_FLAGS) if self.raw_patterns else None

    @cached_property
    def block_db(self) -> hs.Database | None:
        """The byte-mode database of `candidate_lines`, or None when some
        pattern has no safe byte form (then blocks go line by line)."""
        if not self._has_block_db:
            return None
        return compile_database(self._block_forms, BLOCK_FLAGS)  # type: ignore[arg-type]

    @property
    def _has_block_db(self) -> bool:
        return self._block_forms is not None and not (self.raw_patterns and self.raw_block_db is None)

    def compiled(self) -> bool:
        """Whether its two large databases are ready without compiling them
        (built in this process, or in the compile cache): compiling them
        costs the built-in packs about half a minute of CPU."""
        line_ready = "db" in self.__dict__ or database_cached(self.patterns, LINE_FLAGS)
        forms = self._block_forms
        block_ready = "block_db" in self.__dict__ or forms is None or database_cached(forms, BLOCK_FLAGS)
        return line_ready and block_ready

    def compile(self) -> None:
        """Build both large databases now (from the cache when there): once,
        before worker processes start and inherit them, rather than once in
        each; and both, so that the cache then serves a scan of any size.
        They take as long as each other: they compile side by side."""
        wanted = [("db", self.patterns, LINE_FLAGS)]
        if self._has_block_db:
            wanted.append(("block_db", self._block_forms, BLOCK_FLAGS))  # type: ignore[arg-type]
        wanted = [w for w in wanted if w[0] not in self.__dict__]
        for (name, _, _), db in zip(wanted, compile_side_by_side([(p, f) for _, p, f in wanted])):
            setattr(self, name, db)

    @cached_property
    def raw_block_db(self) -> hs.Database | None:
        forms = [byte_form(p) for p in self.raw_patterns]
        if not forms or any(f is None for f in forms):
            return None
        return compile_database(forms, BLOCK_FLAGS)  # type: ignore[arg-type]

    @classmethod
    def build(cls, ruleset: "RuleSet") -> "LinePrefilter | None":
        """The prefilter of `ruleset`, made once per rule set: each scan
        makes a new engine, and deriving the patterns and loading the
        databases should not be paid again."""
        if ruleset not in _BUILT:
            found = _cached_patterns(ruleset)
            _BUILT[ruleset] = cls(*found) if found is not None else None
        return _BUILT[ruleset]

    def may_match(self, line: bytes) -> bool:
        """False only when no rule can hit the record on this line."""
        if b"\\u" in line:
            if self.raw_db is not None and _any_match(self.raw_db, line):
                return True  # a field value as it is written
            decoded = decode_unicode_escapes(line)
            if decoded is None or b"\\u" in decoded:
                return True  # an escape that must stay one, or a text's own `\\u` that normalising decodes: scan it
            line = decoded  # judged as a line that was written with those characters
        if b"&" in line and _ENTITY.search(line):
            return True  # decoding may create a match: scan it
        text = None
        if not line.isascii():
            text = _utf8(line)
            if text is None:
                return True  # Hyperscan's UTF-8 mode must not see it: scan it
        if self.raw_db is not None and _any_match(self.raw_db, line):
            return True
        if text is not None:
            judged = context_free_form(text)
            if judged is None:
                return True  # normalisation may create a match: scan it
            line = judged.encode("utf-8")
        return _any_match(self.db, _strip_markup(line))

    def may_match_text(self, text: bytes) -> bool:
        """False only when no text rule can hit this segment, normalised and
        UTF-8 encoded as the match database reads it. The text is final: no
        markup to remove, nothing left to decode or fold. Where a pattern
        matches it, so does the pattern's line form (a relaxation of it:
        each character as written or escaped, edges dropped) or a keyword
        of its rule (in every match, as `rules test` proves)."""
        if not text.isascii() and _utf8(text) is None:
            return True  # a lone surrogate: Hyperscan's UTF-8 mode must not see it here
        return _any_match(self.db, text)

    def candidate_lines(self, block: bytes, lines: Sequence[bytes]) -> set[int] | None:
        """The 0-based indices of the lines of `block` (split at `\\n`: the
        reader has split it into `lines`) that may hold a hit: every line
        `may_match` keeps, and now and then one more (a match of the relaxed
        patterns across two lines). None when the block is to be judged
        line by line."""
        if len(block) < MIN_BLOCK_BYTES or self.block_db is None:
            return None
        found: set[int] = set()
        # markup removal keeps the newlines where they were: line numbers hold
        _matching_lines(self.block_db, _strip_markup(block, links=False), found)
        if self.raw_block_db is not None:
            _matching_lines(self.raw_block_db, block, found)
        found.update([i for i in _lines_to_judge_whole(block, lines) - found if self.may_match(lines[i])])
        return found


# A `\\uXXXX` escape (a surrogate pair as one) that is not itself escaped:
# the backslashes before it, if any, come in pairs.
_UNICODE_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})(?:\\u([dD][c-fC-F][0-9a-fA-F]{2}))?")


class _MustStayEscaped(Exception):
    pass


def decode_unicode_escapes(line: bytes) -> bytes | None:
    """`line` with each JSON `\\uXXXX` escape replaced by the UTF-8 bytes of
    its character: the line as a JSON writer that keeps non-ASCII as it is
    would have written it, which `may_match` judges like any non-ASCII
    line. Everything else stays as it is (other escapes, repeated keys,
    spacing). None when an escape must stay one, which a scan then decodes:
    a quote, a backslash or a control character (written raw, they would
    change the line's JSON), or a lone surrogate (no UTF-8 form)."""
    try:
        return _UNICODE_ESCAPE.sub(_escaped_character, line)
    except _MustStayEscaped:
        return None


def _escaped_character(match: "re.Match[bytes]") -> bytes:
    code = int(match[2], 16)
    if match[3] is not None and 0xD800 <= code <= 0xDBFF:
        code = 0x10000 + ((code - 0xD800) << 10) + (int(match[3], 16) - 0xDC00)
    elif match[3] is not None:
        raise _MustStayEscaped  # a low surrogate after something that is not a high one
    if code < 0x20 or code in (0x22, 0x5C) or 0xD800 <= code <= 0xDFFF:
        raise _MustStayEscaped
    return match[1] + chr(code).encode("utf-8")


def _matching_lines(db: hs.Database, text: bytes, found: set[int]) -> None:
    """Add to `found` the indices of the lines of `text` where a pattern of
    `db` matches. One pass over the whole block that keeps every match's
    end: matches of whole rule patterns are few, and one uninterrupted pass
    costs about two thirds of one that stops at each match and starts again
    on the next line. The ends are sorted: Hyperscan does not promise to
    report them in order."""
    ends: list[int] = []
    db.scan(text, match_event_handler=_collect_end, context=ends)
    line = at = 0
    for end in sorted(set(ends)):
        last = end - 1  # the match's last byte, on the line it marks
        line += _newlines(text, at, last)
        found.add(line)
        at = last


def _first_matching_lines(db: hs.Database, text: bytes, found: set[int]) -> None:
    """`_matching_lines` for a pattern that may match many times on one line
    (`\\u` in a line of escaped non-Latin text): a pass that stops at the
    first match and goes on from the next line."""
    view = memoryview(text)
    pos = line = 0
    while pos < len(text):
        first = _first_match(db, view[pos:])
        if first is None:
            break
        last = pos + first - 1  # the match's last byte, on the line it marks
        line += _newlines(text, pos, last)
        found.add(line)
        newline = text.find(b"\n", last)
        if newline < 0:
            break
        pos, line = newline + 1, line + 1  # go on from the next line


def _collect_end(pid: int, start: int, end: int, flags: int, context: list[int]) -> None:
    context.append(end)


def _any_match(db: hs.Database, line: bytes) -> bool:
    return _first_match(db, line) is not None


def _utf8(data: bytes) -> str | None:
    """`data` decoded, or None when it is not valid UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


_BUILT: "WeakKeyDictionary[RuleSet, LinePrefilter | None]" = WeakKeyDictionary()


# An inline tag (`normalize`'s) as raw JSON may write it: `/` and the space
# before its attributes may be escaped. Never across lines (a block's line
# numbers hold), and two never overlap: a tag holds no `<` or `>` but its own.
_RAW_INLINE_TAG = (r"<(?:\\?/)?" + INLINE_TAG_NAMES + r"(?:(?:[ \t\r\f\x0b]|\\[nrtf])[^<>\n]*)?(?:\\?/)?>")


@cache
def _inline_tag_db() -> hs.Database:
    return compile_database([_RAW_INLINE_TAG], hs.HS_FLAG_CASELESS | hs.HS_FLAG_SOM_LEFTMOST)


def _drop_inline_tags(data: bytes) -> bytes:
    """`data` without its inline tags."""
    return _cut(data, _inline_tags(data))


def _inline_tags(data: bytes) -> list[tuple[int, int]]:
    """The spans of the inline tags of `data`, in order, found by one
    Hyperscan pass (a regex substitution costs several times more)."""
    spans: list[tuple[int, int]] = []
    _inline_tag_db().scan(data, match_event_handler=_collect_span, context=spans)
    return sorted(spans)


def _collect_span(pid: int, start: int, end: int, flags: int, context: list[tuple[int, int]]) -> None:
    context.append((start, end))


def _cut(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    """`data` without `spans` (in order, apart)."""
    if not spans:
        return data
    kept = []
    at = 0
    for start, end in spans:
        kept.append(data[at:start])
        at = end
    kept.append(data[at:])
    return b"".join(kept)


# A markdown link (`normalize._LINK`) as raw JSON writes it: a quote or a
# slash in its text may be escaped, a slash in its address too. It holds
# no unescaped quote, so it never reaches past the JSON string it is in.
_RAW_LINK = re.compile(rb'\[((?:[^\[\]\\"\x00-\x1f]|\\["/])+)\]\((?:[^\s()\[\]<>"\\]|\\/)+\)')


# An underscore where it could make a tag or unmake one, once removed: right
# after `<`, or among the slashes and letters of a tag's name.
_UNDERSCORE_IN_TAG_HEAD = re.compile(rb"<[\\/a-zA-Z*`]*_")


def _strip_markup(data: bytes, links: bool = True) -> bytes:
    """What the text patterns do not see: `*`, `` ` ``, inline tags, links'
    brackets and addresses, `_`, `~~`, removed in the order normalisation
    removes them: tags before `_` (`<_b>` is no tag, and stays `<b>`). The
    tags are sought once `_` is gone, which changes none unless an `_`
    stands in a tag's head (a tag less its `_` is one still); there, and
    where a link may be (both rare), each step goes in turn. With `links`
    False, links are not looked for (a block's lines where one may be are
    judged whole)."""
    if links and _may_hold_a_link(data):
        return _strip_markup_in_order(data)
    stripped = _without_markup_bytes(data) if b"*" in data or b"`" in data or b"_" in data else data
    tags = _inline_tags(stripped) if b"<" in stripped else []
    if tags and b"_" in data and _UNDERSCORE_IN_TAG_HEAD.search(data):
        return _strip_markup_in_order(data)
    if tags:
        stripped = _cut(stripped, tags)
    return stripped.replace(b"~~", b"") if _has_double_tilde(stripped) else stripped


_MARKUP_BYTES = b"*`_"
_SAMPLE_BYTES = 64 << 10
_SPARSE_MARKUP = 0.01  # share of markup bytes under which `replace` beats `translate`


# Where `](` is, or may be once `*`, `` ` `` and tags are gone (as they are
# before links are sought): a `]` right before `(`, `*`, `` ` `` or `<`.
_LINK_EDGE = r"\][(*`<]"


def _may_hold_a_link(data: bytes) -> bool:
    """Whether a markdown link may be in `data`: one Hyperscan pass, some ten
    times faster than a search for each pair (`]` closes an array on every
    chat line)."""
    return _first_match(_link_edge_db(), data) is not None


@cache
def _link_edge_db() -> hs.Database:
    return compile_database([_LINK_EDGE], 0)


def _strip_markup_in_order(data: bytes) -> bytes:
    """`_strip_markup`, one step at a time in `normalize`'s order: `*` and
    `` ` ``, inline tags, links, `_`, `~~`."""
    text = data.translate(None, b"*`")
    if b"<" in text:
        text = _drop_inline_tags(text)
    if b"](" in text:
        text = _RAW_LINK.sub(rb"\1", text)
    return text.translate(None, b"_").replace(b"~~", b"")


def _without_markup_bytes(data: bytes) -> bytes:
    """`data` without `*`, `` ` `` and `_`. `translate` looks every byte up
    (about 1 GB/s whatever the text); `replace` hops from one occurrence to
    the next (memchr) and copies the runs between, so where these bytes are
    sparse, as in most prose, three `replace` passes take half the time or
    less, and where they are dense (code, tables), twice as long. Which one
    runs is judged from the first 64 KB."""
    sample = min(len(data), _SAMPLE_BYTES)
    found = sum(data.count(byte, 0, sample) for byte in (b"*", b"`", b"_"))
    if found >= _SPARSE_MARKUP * sample:
        return data.translate(None, _MARKUP_BYTES)
    return data.replace(b"*", b"").replace(b"`", b"").replace(b"_", b"")


def _has_double_tilde(data: bytes) -> bool:
    """Whether `~~` occurs. Single tildes are few: hopping from one to the
    next (memchr) is some twenty times faster than a two-byte search, which
    runs at about 1 GB/s."""
    at = data.find(b"~")
    while at >= 0:
        if data[at + 1: at + 2] == b"~":
            return True
        at = data.find(b"~", at + 2)  # the byte after this tilde is not one
    return False


def _newlines(data: bytes, start: int, stop: int) -> int:
    """Newlines in data[start:stop]. Found one by one with `find` (memchr),
    which with lines of a kilobyte or more is several times faster than
    `bytes.count`, which compares byte by byte."""
    n = 0
    at = data.find(b"\n", start, stop)
    while at >= 0:
        n += 1
        at = data.find(b"\n", at + 1, stop)
    return n


def _first_match(db: hs.Database, data: bytes | memoryview) -> int | None:
    """End offset of the first match reported in `data`, where the scan
    stops: any match, for a database of many patterns (Hyperscan does not
    promise their order); the first in `data`, for one literal."""
    found: list[int] = []
    try:
        db.scan(data, match_event_handler=_stop_at_first, context=found)
    except hs.ScanTerminated:
        pass
    return found[0] if found else None


def _stop_at_first(pid: int, start: int, end: int, flags: int, context: list[int]) -> bool:
    context.append(end)
    return True


# Escapes whose meaning in Hyperscan's byte mode differs from UTF-8 mode or
# that name code points (`\\x{...}`, `\\p{...}`, `\\N`, `\\X`, ...).
_MODE_ESCAPES = frozenset("pPXNoCQEgkRcKuL")


def byte_form(regex: str) -> str | None:
    r"""`regex` (a line form) for Hyperscan's byte mode, matching the same
    ASCII lines as it does in UTF-8 mode: each non-ASCII character becomes
    the placeholder byte `\x80`, which no ASCII line holds (a line with
    non-ASCII bytes is scanned whole anyway), or, where caselessly it may
    match ASCII (Turkish `ı` matches `I`), the placeholder or those ASCII
    forms. None when that would not hold: a control verb or an escape that
    depends on the mode, or such a character inside a class."""
    if "(*" in regex:
        return None
    out: list[str] = []
    i, n = 0, len(regex)
    class_end = 0  # index just past the class being copied
    while i < n:
        ch = regex[i]
        if ch == "\\" and i + 1 < n and regex[i + 1].isascii():
            if regex[i + 1] in _MODE_ESCAPES or regex.startswith("x{", i + 1):
                return None
            out.append(regex[i: i + 2])
            i += 2
            continue
        if ch == "[" and i >= class_end:
            class_end = _class_end(regex, i)
        if ch == "\\" and i + 1 < n:
            i += 1  # an escaped non-ASCII character is that character
            ch = regex[i]
        form = ch if ch.isascii() else _placeholder(ch, in_class=i < class_end)
        if form is None:
            return None
        out.append(form)
        i += 1
    return "".join(out)


def _placeholder(char: str, in_class: bool) -> str | None:
    """What a non-ASCII character becomes in a byte form: the placeholder,
    or with the ASCII forms it may match caselessly (none in a class)."""
    ascii_forms = sorted({v for v in (char.lower(), char.upper(), char.casefold()) if v.isascii()})
    if not ascii_forms:
        return r"\x80"
    if in_class:
        return None
    return "(?:" + "|".join([r"\x80"] + [re.escape(v) for v in ascii_forms]) + ")"


# In a raw JSON string, one decoded character may stand as a two-byte escape.
_ESCAPE_PAIR = r'\\[nrtbf"/\\]'


def line_form(regex: str, values: bool = False) -> str:
    r"""`regex` relaxed so that it matches the raw JSON line (with `*`, `` ` ``,
    `~~` and `_` removed) wherever the original matches a decoded, normalised
    segment: every character class, `.` and class escape also takes a
    two-byte JSON escape as one unit, quotes and slashes may be escaped,
    underscores are optional, and word boundaries and a segment's edges (`^`,
    `$`, `\A`, `\z`) are dropped: an escape's letter can touch a word, and a
    segment may be a slice of a JSON string (a turn of a flattened
    transcript). With `values` (field values: whole JSON strings, not
    normalised text), a value's edges sit next to a JSON quote, and only
    what can match a character JSON escapes takes an escape: Hyperscan then
    finds the literals it needs to be fast."""
    out: list[str] = []
    i, n = 0, len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\" and i + 1 < n:
            out.append(_escape_form(regex[i + 1], values))
            i += 2
        elif ch == "[":
            end = _class_end(regex, i)
            escapable = not values or _may_match_escaped(regex[i:end])
            out.append(f"(?:{regex[i:end]}|{_ESCAPE_PAIR})" if escapable else regex[i:end])
            i = end
        else:
            out.append(_VALUE_EDGES[ch] if values and ch in "^$" else _CHAR_FORMS.get(ch, ch))
            i += 1
    return "".join(out)


# A field value's edges (`^`, `$`, `\\A`, `\\z`) sit next to its JSON quotes; a
# text segment's are dropped (`_CHAR_FORMS`, `_escape_form`).
_VALUE_EDGES = {"^": '(?:^|")', "A": '(?:^|")', "$": '(?:$|")', "z": '(?:$|")', "Z": '(?:$|")'}
_CHAR_FORMS = {
    "^": "", "$": "", '"': r'\\?"', "/": r"\\?/", "_": "_?",
    ".": f"(?:.|{_ESCAPE_PAIR})",
    # control characters a pattern spells out, which raw JSON holds escaped
    "\n": r"(?:\n|\\n)", "\r": r"(?:\r|\\r)", "\t": r"(?:\t|\\t)", "\f": r"(?:\f|\\f)", "\b": r"(?:\x08|\\b)",
}


# What JSON writes as a two-byte escape (`\\u` escapes send a line whole).
_ESCAPED_CHARS = '\n\r\t\b\f"/\\'


def _may_match_escaped(char_class: str) -> bool:
    """Whether a character class may match a character that raw JSON holds
    as a two-byte escape (unreadable classes: assume so)."""
    try:
        compiled = re.compile(char_class, re.IGNORECASE)
    except re.error:
        return True
    return any(compiled.fullmatch(c) for c in _ESCAPED_CHARS)


def _escape_form(letter: str, values: bool = False) -> str:
    if values and letter in "AzZ":
        return _VALUE_EDGES[letter]
    if values and letter in "wd":
        return "\\" + letter  # in a value (not normalised text) a word character is no JSON escape
    if letter in "sSwWdD":
        return rf"(?:\{letter}|{_ESCAPE_PAIR})"
    if letter in "nrtf":  # the control character, or its JSON escape
        return rf"(?:\{letter}|\\{letter})"
    if letter in "bBAzZ":
        return ""
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


_KEY_MARK = "\x00key:"  # marks a form that only says the key is there (the least telling)


def _field_form(item: "MatchItem") -> str | None:
    """What a raw JSON line must hold for a field item to match: a string
    value as the item wants it (a JSON string value starts after a quote,
    which the line form of `^` allows; judged on the raw line, since values
    are matched as they are), else the quoted key (marked `_KEY_MARK`:
    judged with the text patterns). None when the key cannot be found in
    raw JSON."""
    if item.op in ("regex", "prefix", "equals") and isinstance(item.operand, str) and item.operand:
        regex = item.operand if item.op == "regex" else "^" + re.escape(item.operand) + ("$" if item.op == "equals" else "")
        if regex.startswith("^"):  # a string value starts just after its opening quote
            return '"' + line_form(regex[1:], values=True)
        return line_form(regex, values=True)
    key = item.key.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
    if not key or not key.isascii() or not key.isprintable():
        return None
    return _KEY_MARK + line_form(re.escape(f'"{key}"'))  # a raw JSON key is always quoted


def _cached_patterns(ruleset: "RuleSet") -> tuple[list[str], list[str], list[str] | None] | None:
    """`prefilter_patterns` and the text patterns' `block_forms`, from the
    compile cache when it has them: deriving the line forms takes some
    20 ms, and their byte forms as much again, a tenth of a small scan's
    start-up each. Keyed by what they are derived from: the rules' patterns,
    field items and keywords, and this module's own source (a change to the
    line forms is a new key)."""
    from tos_lint import cache

    field_items = [(ruleset.rules[i].mode, it.key, it.op, repr(it.operand)) for i in ruleset.field_rules
                   for it in ruleset.rules[i].items]
    keywords = [(r.id, r.keywords) for r in ruleset.rules if r.keywords]
    key = cache.cache_key("prefilter-patterns", _source_digest(), json.dumps(
        [[(p.role, p.regex, p.rule) for p in ruleset.patterns], field_items, keywords]))
    blob = cache.load(key)
    if blob is not None:
        stored = json.loads(blob)
        return (stored[0], stored[1], stored[2]) if stored is not None else None
    derived = prefilter_patterns(ruleset)
    found = (*derived, block_forms(derived[0])) if derived is not None else None
    cache.store(key, json.dumps(found).encode())
    return found


def block_forms(patterns: list[str]) -> list[str] | None:
    """The `byte_form` of each line form, or None when one has none."""
    forms = [byte_form(p) for p in patterns]
    return None if any(f is None for f in forms) else forms  # type: ignore[return-value]


def _matches_empty(form: str) -> bool:
    """Whether a line form can match the empty string, read by Python's own
    regex parser, or, where that cannot read it, by compiling it alone."""
    try:
        return bool(keyword_proof.sre_parse.parse(form).getwidth()[0] == 0)
    except (re.error, RecursionError, OverflowError):
        try:
            compile_database([form], LINE_FLAGS)
        except hs.error as exc:  # type: ignore[attr-defined]
            return "empty" in str(exc)
        return False


@cache
def _source_digest() -> str:
    """This module's source and that of the keywords' regex form."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(Path(keyword_proof.__file__).read_bytes())
    return digest.hexdigest()


# What stands in the raw line next to a word's edge in a segment: no ASCII
# letter or digit (underscores are stripped from the line; a non-ASCII
# character is no ASCII word character), a two-byte JSON escape (`\\n`), or
# a segment's edge: the line's, or a transcript marker that ends with a
# letter (Gemma's `<start_of_turn>model`, its underscores stripped or not).
_BEFORE_WORD = r'(?:^|[^a-z0-9]|\\[nrtbf"/\\]|<start_?of_?turn>(?:user|model|system))'
_AFTER_WORD = r'(?:$|[^a-z0-9])'
# The words of a keyword stand apart by any run of whitespace. Up to this
# many characters (or JSON escapes) the prefilter looks for the words
# together; Hyperscan then finds the last word and looks back a bounded
# way, where an unbounded run after a short first word ("le chat") wakes
# it at every "le" and costs five times as much.
_NEAR_GAP = 8


def keyword_form(keyword: str) -> str:
    """A rule keyword's line form; one written with `\\b` at an edge
    wants what stands there next to a word's edge (see `keyword_proof`)."""
    parsed = keyword_proof.parse_keyword(keyword)
    words = keyword_proof.escaped_words(parsed.text)
    together = ((_BEFORE_WORD if parsed.word_start else "") + line_form(rf"\s{{1,{_NEAR_GAP}}}".join(words))
                + (_AFTER_WORD if parsed.word_end else ""))
    if len(words) == 1:
        return together
    return "|".join([f"(?:{together})", *map(_beside_a_long_run, words, words[1:])])


def _beside_a_long_run(left: str, right: str) -> str:
    """Where two words of a keyword stand further apart, the longer of them
    beside the whitespace is in the line (a short word alone beside a run
    would cost as much as the unbounded run)."""
    run = rf"\s{{{_NEAR_GAP + 1}}}"
    return line_form(left + run if len(left) >= len(right) else run + right)


def prefilter_patterns(ruleset: "RuleSet") -> tuple[list[str], list[str]] | None:
    """The prefilter's text patterns and raw patterns (field values), or
    None if some rule makes it unusable."""
    # records carrying their own suppressions are always read, so that a
    # malformed directive is reported even where nothing else hits
    patterns: list[str] = [line_form(re.escape(f'"{DIRECTIVE_KEY}"'))]
    # a rule's keywords stand for its patterns (`rules test` proves that
    # every match holds one): a few literals instead of, say, a list of
    # openers in twenty languages that any sentence may start with
    patterns += [keyword_form(k) for rule in ruleset.rules for k in rule.keywords]
    for pattern in ruleset.patterns:
        if pattern.role in CONDITION_ROLES or ruleset.rules[pattern.rule].keywords:
            continue  # a condition only qualifies a match, never hits; keywords stand for the rule's patterns
        form = line_form(pattern.regex)
        if _matches_empty(form):
            return None  # it holds on every line: nothing to filter
        patterns.append(form)
    raw: set[str] = set()
    for index in ruleset.field_rules:
        rule = ruleset.rules[index]
        forms = [_field_form(item) for item in rule.items]
        if any(form is None for form in forms):
            return None
        if rule.mode == "all":  # every item must hold: the most telling one will do
            forms = [max(forms, key=lambda form: (not form.startswith(_KEY_MARK), len(form)))]  # type: ignore[arg-type]
        for form in forms:
            if form.startswith(_KEY_MARK):  # type: ignore[union-attr]
                patterns.append(form.removeprefix(_KEY_MARK))  # type: ignore[union-attr]
            else:
                raw.add(form)  # type: ignore[arg-type]
    # set order varies by process: keep the cache key stable
    return list(dict.fromkeys(patterns)), sorted(raw)
