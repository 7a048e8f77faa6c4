"""Text normalisation shared by every text rule.

Two entry points produce the same text:

* `normalize(text)` is the fast one, used on every segment of every record.
  ASCII text without markup characters is returned as is (the common case),
  everything else goes through C-level `str.translate` / `unicodedata` calls.
* `normalize_mapped(text)` also returns, for each character of the result,
  the index of the original character it came from. It is slow and only runs
  on segments that already have a hit, so that snippets show original text.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache
from importlib import resources
from itertools import accumulate, chain
from typing import Callable, Iterable, Iterator

# Invisible format characters that can hide inside a word: soft hyphen, zero
# width space/joiners, bidi marks and isolates, word joiner, BOM, tag chars.
_INVISIBLE = (
    [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0]
    + list(range(0x200B, 0x2010))
    + list(range(0x202A, 0x202F))
    + list(range(0x2060, 0x2070))
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0000, 0xE0080))
)
_QUOTES = {
    0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'", 0x2032: "'", 0x00B4: "'",
    0x201C: '"', 0x201D: '"', 0x201E: '"', 0x201F: '"', 0x2033: '"', 0x00AB: '"', 0x00BB: '"',
}
_MARKDOWN_CHARS = {ord("*"): None, ord("`"): None}
_TABLE_ASCII = dict(_MARKDOWN_CHARS)
_TABLE_UNICODE = {**{cp: None for cp in _INVISIBLE}, **_QUOTES}
_TABLE_FULL = {**_TABLE_UNICODE, **_MARKDOWN_CHARS}

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A JSON `\uXXXX` escape left in the text itself (double-encoded JSON): a
# surrogate pair is one character; a lone surrogate is left as it is.
_ESCAPE = r"\\u(?:[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(?![dD][89a-fA-F])[0-9a-fA-F]{4})"
# Entities and escapes, decoded in one pass (never twice: `&amp;#67;` is `&#67;`).
_CODED = re.compile(_ENTITY.pattern + "|" + _ESCAPE)
_EDGE_UNDERSCORES = re.compile(r"(?<![A-Za-z0-9])_+(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])_+(?![A-Za-z0-9])")
_STRIKE = re.compile(r"~~")
# An inline HTML tag that only styles the words it wraps (`<b>`, `</strong>`,
# `<span class="x">`). Block tags, which stand between words, stay; so does
# `<s>`, which is also a model's start-of-sequence token.
INLINE_TAG_NAMES = r"(?:b|strong|i|em|u|mark|span|font|small|big|tt|code|kbd|samp|var|ins|del|strike|a)"
_INLINE_TAG = re.compile(rf"</?(?i:{INLINE_TAG_NAMES})(?:[ \t\n\r\f\x0b][^<>]*)?/?>", re.ASCII)
_MARKDOWN = re.compile(r"[*`]+")  # what _TABLE_ASCII deletes
# A markdown inline link (`[ChatGPT](https://chat.openai.com)`): its text
# stays, its brackets and address go. Both on one line, the text without
# brackets, backslashes or control characters, the address without white
# space, quotes, brackets or parentheses (ASCII classes: the raw-line
# prefilter reads links in raw JSON bytes alike, `prefilter._RAW_LINK`).
_LINK = re.compile(r"\[(?P<keep>[^\[\]\\\x00-\x1f]+)\]\([^\s()\[\]<>\"\\]+\)", re.ASCII)
_WORD_SPLIT = re.compile(r"([^\W\d_]+)")  # words: runs of letters, kept by `split`
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")  # what each character of a `_WORD_SPLIT` word is
_CONFUSABLE_SCRIPTS = ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC")


def normalize(text: str) -> str:
    """Normalise `text` for matching (see docs/rules.md, "Normalisation")."""
    if text.isascii():
        if not _has_markup(text):
            return text
        return _normalize_ascii(text)
    if "&" in text or "\\" in text:
        text = _CODED.sub(_decode, text)
    return _normalize_decoded(text)


def context_free_form(text: str) -> str | None:
    """`text` with each non-ASCII character replaced by what `normalize`
    makes of it wherever it stands (most stay; curly quotes, full-width forms
    and invisible characters become ASCII or nothing), or None where some
    result depends on what surrounds it: an entity or escape to decode, a
    combining mark, a look-alike letter, a case to fold. Normalising the
    text, or any piece of it, then changes the returned form only as it
    changes ASCII text (markup and case): a raw-line check can judge it as
    it judges ASCII (see `tos_lint.prefilter`)."""
    if ("&" in text or "\\u" in text) and _CODED.search(text):  # what _CODED needs, found at C speed
        return None
    table: dict[int, str] = {}
    for ch in _non_ascii_chars(text):
        form = _char_form(ch)
        if form is None:
            return None
        if form != ch:
            table[ord(ch)] = form
    mapped = text
    for code, form in table.items():  # a form holds no character that maps: any order will do
        mapped = mapped.replace(chr(code), form)  # a few C-level passes (`translate` is per character)
    # The forms taken one character at a time are the whole text's form
    # unless something composes across characters: then they are not NFKC.
    return mapped if unicodedata.is_normalized("NFKC", mapped) else None


_ASCII_BYTES = bytes(range(128))


def _non_ascii_chars(text: str) -> set[str]:
    """The distinct non-ASCII characters of `text`. ASCII bytes are deleted
    from its UTF-8 form at C speed, and only what is left is decoded and
    put in a set: `set(text)` hashes every character, some 100 µs on a
    record of a few thousand."""
    encoded = text.encode("utf-8", "surrogatepass")
    return set(encoded.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))


@lru_cache(maxsize=4096)
def _char_form(ch: str) -> str | None:
    """What `_normalize_decoded` makes of `ch` (markup aside), when that does
    not depend on the characters around it; else None."""
    if unicodedata.combining(ch) or ch in _confusable_chars():
        return None
    form = unicodedata.normalize("NFKC", ch).translate(_TABLE_UNICODE)
    if any(unicodedata.combining(c) or c in _confusable_chars() or (not c.isascii() and c.lower() != c) for c in form):
        return None
    return form


def _normalize_decoded(text: str) -> str:
    """The steps after decoding entities and escapes, for non-ASCII text."""
    text = _delete_and_replace(unicodedata.normalize("NFKC", text))
    text = _fold_homoglyphs(text).lower()
    return _strip_tags_and_marks(text)


_TABLE_FULL_CHARS = frozenset(map(chr, _TABLE_FULL))


def _delete_and_replace(text: str) -> str:
    """`text.translate(_TABLE_FULL)`, by one C-level `replace` per table
    character that occurs: `translate` looks every character up in the
    dict, three times slower on text of a few thousand characters. The
    same result, since no replacement is itself in the table."""
    for ch in _TABLE_FULL_CHARS.intersection(text):
        text = text.replace(ch, _TABLE_FULL[ord(ch)] or "")
    return text


def _has_markup(text: str) -> bool:
    return "&" in text or "*" in text or "`" in text or "_" in text or "~" in text or "\\" in text or "<" in text \
        or "](" in text


def _normalize_ascii(text: str) -> str:
    if "&" in text or "\\" in text:
        text = _CODED.sub(_decode, text)
        if not text.isascii():
            return _normalize_decoded(text)
    if "*" in text or "`" in text:
        text = text.translate(_TABLE_ASCII)
    return _strip_tags_and_marks(text)


def _strip_tags_and_marks(text: str) -> str:
    """Inline tags, links' brackets and addresses, struck-through marks and
    edge underscores removed (a link first: `_[ChatGPT](url)_` is `ChatGPT`)."""
    if "<" in text:
        text = _INLINE_TAG.sub("", text)
    if "](" in text:
        text = _LINK.sub(r"\g<keep>", text)
    if "~" in text:
        text = _STRIKE.sub("", text)
    if "_" in text:
        text = _EDGE_UNDERSCORES.sub("", text)
    return text


def _decode(m: re.Match[str]) -> str:
    return _decode_coded(m.group(0))


def _decode_coded(coded: str) -> str:
    """One entity or JSON escape (or surrogate pair of escapes), decoded."""
    if coded[0] == "&":
        return html.unescape(coded)
    if len(coded) == 12:  # a surrogate pair
        high, low = int(coded[2:6], 16), int(coded[8:12], 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return chr(int(coded[2:6], 16))


@lru_cache(maxsize=1)
def confusable_table() -> dict[int, str]:
    """Letters of other scripts that imitate a Latin letter, from the Unicode
    confusables data shipped by the `confusable_homoglyphs` package."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_bytes()
    )
    table: dict[int, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or not unicodedata.name(char, "").startswith(_CONFUSABLE_SCRIPTS):
            continue
        latin = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalpha()]
        if latin:
            table[ord(char)] = latin[0]
    table.update(_small_capitals())
    table.update({ord(k): v for k, v in _GREEK_LOWER.items()})
    return table


# Greek lower-case letters that read as a Latin letter in running text but
# that the confusables data pairs with other Greek or IPA letters only.
_GREEK_LOWER = {"τ": "t", "κ": "k", "χ": "x", "ω": "w", "η": "n", "ε": "e"}
_SMALL_CAPITAL = "LATIN LETTER SMALL CAPITAL "


def _small_capitals() -> dict[int, str]:
    """Latin small capitals (`ᴄʜᴀᴛ`) as their letter: NFKC keeps them, and the
    confusables data pairs them with other small capitals, not with ASCII."""
    out: dict[int, str] = {}
    for cp in range(0x0250, 0xAB70):  # IPA extensions to Latin Extended-E: every small capital there is
        name = unicodedata.name(chr(cp), "")
        if name.startswith(_SMALL_CAPITAL) and len(name) == len(_SMALL_CAPITAL) + 1:
            out[cp] = name[-1].lower()
    return out


@lru_cache(maxsize=1)
def _confusable_chars() -> frozenset[str]:
    return frozenset(map(chr, confusable_table()))


def _fold_homoglyphs(text: str) -> str:
    """Replace letters of other scripts that imitate Latin ones, one letter
    for one letter: inside a word that mixes them with Latin letters
    (`ChatGРТ`), and in a word written wholly in look-alikes that stands next
    to a Latin word (a Cyrillic `І` in `І am`, `СНАТ GPT`). Other words of
    other scripts are left alone: real Russian or Greek text is untouched."""
    # The word walk costs some 150 µs a segment of English with a Russian
    # sentence in it, and there changes nothing: it only runs where it will.
    return _fold_homoglyph_words(text) if _may_fold(text) else text


def _may_fold(text: str) -> bool:
    """Whether `_fold_homoglyph_words` changes `text` (exactly so)."""
    latin = _ASCII_LETTER.search(text)
    if latin is None:
        return False  # no Latin letters: nothing is imitating them
    look_alike = _look_alike().search(text)
    if look_alike is None:
        return False  # no look-alike in a word (accents, CJK, emoji)
    return _has_fold_site(text, latin.start(), look_alike.start())


def _fold_homoglyph_words(text: str) -> str:
    """The word walk of `_fold_homoglyphs`, unchanged, without the check in
    front of it: folds each word that holds a Latin letter, and each word
    wholly of look-alikes next to one. Kept apart so that tests can hold the
    check to it."""
    table = confusable_table()
    parts = _WORD_SPLIT.split(text)  # text between words, then each word and what follows it
    words = parts[1::2]
    folded = False
    # Only words with non-ASCII letters can change: most words are skipped
    # with one C-level test, and neighbours are looked at only for the others.
    for i in [i for i, word in enumerate(words) if not word.isascii()]:
        word = words[i]
        if not _has_latin(word):
            beside_latin = (i > 0 and _has_latin(words[i - 1])) or (i + 1 < len(words) and _has_latin(words[i + 1]))
            if not beside_latin or not all(ord(ch) in table for ch in word):
                continue
        parts[2 * i + 1] = _fold_word(word, table)
        folded = True
    return "".join(parts) if folded else text


def _has_fold_site(text: str, first_latin: int, first_look_alike: int) -> bool:
    """Whether `_fold_homoglyph_words` changes `text`, found at C speed. A
    word changes only where it holds a look-alike (`_fold_word` changes
    nothing else), and a Latin letter too, or is wholly of look-alikes with a
    Latin letter in the word before or after it. The patterns look forward
    only (a lookbehind has a fixed width): searched in the text and in the
    text reversed, they find "before" as well. They start at the kind of
    letter that spans less text, and only where that kind occurs: at the
    look-alikes of one Russian sentence in English, at the Latin letters of
    a few English words in Russian."""
    rev = text[::-1]
    last = len(text) - 1
    last_latin = last - _first_start(_ASCII_LETTER, rev)
    last_look_alike = last - _first_start(_look_alike(), rev)
    if last_look_alike - first_look_alike <= last_latin - first_latin:
        site, first, final = _site_from_look_alike(), first_look_alike, last_look_alike
    else:
        site, first, final = _site_from_latin(), first_latin, last_latin
    return _site_within(site, text, first, final) or _site_within(site, rev, last - final, last - first)


def _first_start(pattern: re.Pattern[str], text: str) -> int:
    """Where `pattern` first matches in `text`, which the caller knows holds a match."""
    found = pattern.search(text)
    return found.start() if found else len(text)


# How far a fold site found from a letter can reach: the rest of its word,
# the non-letters after it and the next word.
_SITE_REACH = re.compile(r"[^\W\d_]*[\W\d_]*[^\W\d_]*")


def _site_within(site: re.Pattern[str], text: str, first: int, final: int) -> bool:
    """Whether `site` matches from `first` to `final`, the first and last
    characters it can start at: the text before is not scanned, nor the text
    after beyond where a match starting at `final` can reach."""
    return site.search(text, first, _SITE_REACH.match(text, final + 1).end()) is not None


@lru_cache(maxsize=1)
def _look_alike_class() -> str:
    """The look-alikes that can be in a word, as the body of a `[...]` class.
    The table's few symbols (Greek musical notation) are in no word."""
    return _char_class(ch for ch in _confusable_chars() if _LETTER.fullmatch(ch))


def _char_class(chars: Iterable[str]) -> str:
    """The body of a `[...]` class matching `chars`, each as a `\\UXXXXXXXX`
    escape: no character of the table can then end or negate the class."""
    return "".join(f"\\U{ord(ch):08x}" for ch in sorted(chars))


@lru_cache(maxsize=1)
def _look_alike() -> re.Pattern[str]:
    return re.compile(f"[{_look_alike_class()}]")


# The sites below are exact, not a guess, and linear: a start scans only to
# the next letter of its own kind, or from the first or last one of its word,
# so no character is scanned from more than a few starts. A pattern that
# opens with one class is searched at C speed between its starts.
@lru_cache(maxsize=1)
def _site_from_look_alike() -> re.Pattern[str]:
    """A fold site seen from a look-alike: a Latin letter later in its word,
    or its word wholly of look-alikes and a Latin letter in the next word."""
    look = _look_alike_class()
    return re.compile(
        rf"[{look}](?:[^\W\d_A-Za-z{look}]*[A-Za-z]"  # from the last look-alike before the Latin letter
        rf"|(?<![^\W\d_][{look}])[{look}]*[\W\d_]+[^\W\d_A-Za-z]*[A-Za-z])"  # from the first letter of the word
    )


@lru_cache(maxsize=1)
def _site_from_latin() -> re.Pattern[str]:
    """A fold site seen from a Latin letter: a look-alike later in its word,
    or a next word wholly of look-alikes."""
    look = _look_alike_class()
    return re.compile(
        rf"[A-Za-z](?:[^\W\d_A-Za-z{look}]*[{look}]"  # from the last Latin letter before the look-alike
        rf"|[^\W\d_A-Za-z]*[\W\d_]+[{look}]+(?![^\W\d_]))"  # from the last Latin letter of the word
    )


def _has_latin(word: str) -> bool:
    return word.isascii() or _ASCII_LETTER.search(word) is not None


def _fold_word(word: str, table: dict[int, str]) -> str:
    """`word` with its look-alikes replaced. The confusables data maps a
    vertical stroke (Greek `Ι`, Cyrillic `І`, `Ӏ`) to `l` only; read as `I`
    unless a lower-case letter follows (`OpenΑΙ` is `OpenAI`, `CӀaude` is `Claude`)."""
    folded = word.translate(table)
    if "l" not in folded:
        return folded
    chars = list(folded)
    for k, ch in enumerate(word):
        if table.get(ord(ch)) == "l" and ch != "\u029f":  # a small capital L is an l
            chars[k] = "l" if k + 1 < len(word) and word[k + 1].islower() else "I"
    return "".join(chars)


def normalize_mapped(text: str) -> tuple[str, list[int]]:
    """Normalise like `normalize` and map each output character to the index
    of the original character (or entity) it came from."""
    if _uncoded_ascii(text):
        return _ascii_mapped(text)
    chars: list[str] = []
    index: list[int] = []
    decoded_ascii = True  # `normalize` takes its non-ASCII path after entity decoding
    for start, unit, plain in _pieces(text):
        if plain:  # only markup can go: map the run in bulk
            chars.append(unit.translate(_TABLE_ASCII))
            index.extend(chain.from_iterable(range(start + a, start + b) for a, b in _runs_outside(unit, _MARKDOWN)))
            continue
        unit = _decode_unit(unit)
        decoded_ascii = decoded_ascii and unit.isascii()
        out = unit.translate(_TABLE_ASCII) if unit.isascii() else unicodedata.normalize("NFKC", unit).translate(_TABLE_FULL)
        chars.extend(out)
        index.extend([start] * len(out))
    joined = "".join(chars)
    if not decoded_ascii:
        joined = _fold_homoglyphs(joined)  # one letter for one letter: the map holds
        joined, index = _lower_with_map(joined, index)
    joined, index = _drop_with_map(joined, index, _INLINE_TAG)
    joined, index = _drop_with_map(joined, index, _LINK)
    joined, index = _drop_with_map(joined, index, _STRIKE)
    return _drop_with_map(joined, index, _EDGE_UNDERSCORES)


def _uncoded_ascii(text: str) -> bool:
    """ASCII with no entity or escape in it: each unit is one character,
    and the maps take their fast path."""
    return text.isascii() and "&" not in text and "\\" not in text


def _ascii_mapped(text: str) -> tuple[str, list[int]]:
    joined, original = _ascii_positions(text)
    return joined, [original(i) for i in range(len(joined))]


def _ascii_positions(text: str) -> tuple[str, Callable[[int], int]]:
    """The common case of `normalize_mapped`, without the per-character unit
    walk: plain ASCII only loses markup characters, inline tags, links'
    brackets and addresses, struck-through marks and edge underscores. The map is a function, not a list: a hit needs
    two positions of a text of thousands of characters."""
    stages: list[Callable[[int], int]] = []
    joined = text
    for dropped, needs in ((_MARKDOWN, ("*", "`")), (_INLINE_TAG, ("<",)), (_LINK, ("](",)), (_STRIKE, ("~",)),
                           (_EDGE_UNDERSCORES, ("_",))):
        # the substring test first: a pattern that opens with a lookbehind is
        # tried at every position, some 30 µs on a long text
        if any(c in joined for c in needs) and dropped.search(joined):
            runs = _runs_outside(joined, dropped)
            stages.append(_run_positions(runs))
            joined = "".join(joined[a:b] for a, b in runs)

    def original(i: int) -> int:
        for stage in reversed(stages):
            i = stage(i)
        return i

    return joined, original


def _run_positions(runs: list[tuple[int, int]]) -> Callable[[int], int]:
    """Map an index of the runs put end to end to its index in the text the
    runs were cut from."""
    starts = [a for a, _ in runs]
    offsets = list(accumulate((b - a for a, b in runs), initial=0))  # where each run begins once joined

    def original(i: int) -> int:
        j = bisect_right(offsets, i, hi=len(runs)) - 1  # the last run that begins at or before i (never an empty one)
        return starts[j] + i - offsets[j]

    return original


def original_span(text: str, normalized: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of `text` whose normalised form is normalized[start:end]
    (`normalized` being what `normalize` made of `text`), or None in the
    rare case where `normalize_mapped` does not reproduce `normalized`."""
    joined, original = _positions(text)
    if joined != normalized or not joined:
        return None
    o_start = original(min(start, len(joined) - 1))
    return o_start, unit_end(text, original(end - 1)) if end > 0 else o_start


@lru_cache(maxsize=16)
def _positions(text: str) -> tuple[str, Callable[[int], int]]:
    """What `normalize_mapped` makes of `text`, and its map as a function:
    remembered for the last few texts, since a segment with several hits
    maps each of them, and the map costs more than the rest of a hit."""
    if _uncoded_ascii(text):
        return _ascii_positions(text)
    joined, index = normalize_mapped(text)
    return joined, index.__getitem__


def _runs_outside(text: str, dropped: re.Pattern[str]) -> list[tuple[int, int]]:
    """The (start, end) runs of `text` between the matches of `dropped`,
    save a match's `keep` group when the pattern has one (a link's text):
    what is dropped is sparse, so maps are built a run at a time, not a
    character at a time."""
    keeps = "keep" in dropped.groupindex
    runs: list[tuple[int, int]] = []
    last = 0
    for m in dropped.finditer(text):
        runs.append((last, m.start()))
        if keeps:
            runs.append(m.span("keep"))
        last = m.end()
    runs.append((last, len(text)))
    return runs


# ASCII other than `&` and `\\`: characters that stand for themselves alone.
_PLAIN_RUN = re.compile(r"[\x00-\x25\x27-\x5b\x5d-\x7f]+")


def _pieces(text: str) -> Iterator[tuple[int, str, bool]]:
    """Split text into entities, escapes and characters, each with the
    combining marks that follow it, written plainly or coded (`e&#769;`):
    NFKC composes them together. Runs of plain ASCII come whole, marked
    True (all but their last character, which a mark may follow)."""
    i, n = 0, len(text)
    while i < n:
        run = _PLAIN_RUN.match(text, i)
        end = run.end() - 1 if run else i
        if end > i:
            yield i, text[i:end], True
            i = end
            continue
        j = unit_end(text, i)
        yield i, text[i:j], False
        i = j


def unit_end(text: str, i: int) -> int:
    """End of the unit that starts at `i`: the character, entity or JSON
    escape there with the combining marks that follow it. `normalize_mapped`
    maps each output character to the start of its unit; a match that ends
    on a unit ends in the original text at `unit_end(text, index[end - 1])`."""
    n = len(text)
    m = _CODED.match(text, i) if text[i] in "&\\" else None
    j = m.end() if m else i + 1
    while j < n:
        if unicodedata.combining(text[j]):
            j += 1
            continue
        mark = _CODED.match(text, j) if text[j] in "&\\" else None
        if mark is None or not all(unicodedata.combining(c) for c in _decode_coded(mark.group(0))):
            break
        j = mark.end()
    return j


def _decode_unit(unit: str) -> str:
    return _CODED.sub(_decode, unit) if "&" in unit or "\\" in unit else unit


def _lower_with_map(chars: str, index: list[int]) -> tuple[str, list[int]]:
    """Lower-case as `normalize` does, keeping the map in step: when no
    character grows, the whole text at once (as `str.lower`, final sigma
    included); else one character at a time (`İ` becomes two)."""
    lowered = chars.lower()
    if len(lowered) == len(chars):
        return lowered, index
    out: list[str] = []
    mapped: list[int] = []
    for ch, i in zip(chars, index):
        low = ch.lower()
        out.append(low)
        mapped.extend([i] * len(low))
    return "".join(out), mapped


def _drop_with_map(chars: str, index: list[int], pattern: re.Pattern[str]) -> tuple[str, list[int]]:
    """Remove what `pattern` matches, keeping the map in step."""
    if not pattern.search(chars):
        return chars, index
    runs = _runs_outside(chars, pattern)
    return "".join(chars[a:b] for a, b in runs), list(chain.from_iterable(index[a:b] for a, b in runs))
