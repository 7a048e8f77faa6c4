"""Raw-line prefilter: skip the adapters and detectors for JSONL lines that
no rule can match, judged on the raw bytes before any JSON is decoded.

Every text pattern and field rule contributes *anchors*: literals one of
which any match must contain. A line is a candidate when it contains an
anchor (case-insensitive), or when it holds anything that normalisation or
JSON decoding could turn into a match: non-ASCII bytes, `\\u` escapes, HTML
entities, or markup inside a word. When some pattern has no anchor, the
prefilter is off and every line is scanned.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import hyperscan as hs

from tos_lint.matcher import regex_anchors

if TYPE_CHECKING:
    from tos_lint.detect import RuleSet

# Raw-byte shapes that decoding or normalisation can turn into a match.
PASS_THROUGH = [
    rb"[\x80-\xff]",
    rb"\\u[0-9a-fA-F]{4}",
    rb"&#?[A-Za-z0-9]{1,31};",
    rb"[A-Za-z0-9][*`~]+[A-Za-z0-9]",
]


class LinePrefilter:
    def __init__(self, anchors: set[str]):
        self.anchors = sorted(anchors)
        patterns = [re.escape(a).encode() for a in self.anchors] + PASS_THROUGH
        self.db = hs.Database()
        self.db.compile(
            expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns),
            flags=[hs.HS_FLAG_CASELESS | hs.HS_FLAG_SINGLEMATCH] * len(patterns),
        )

    @classmethod
    def build(cls, ruleset: "RuleSet") -> "LinePrefilter | None":
        anchors = collect_anchors(ruleset)
        return cls(anchors) if anchors is not None else None

    def candidate_lines(self, block: bytes) -> set[int]:
        """Start offsets of the lines of `block` that may hold a hit."""
        found: set[int] = set()
        view = memoryview(block)
        pos, size = 0, len(block)
        hit: list[int] = []
        while pos < size:
            hit.clear()
            try:
                self.db.scan(view[pos:], match_event_handler=_first, context=hit)
            except hs.ScanTerminated:
                pass
            if not hit:
                break
            at = pos + hit[0]
            start = block.rfind(b"\n", 0, at - 1) + 1 if at > 0 else 0
            found.add(start)
            nl = block.find(b"\n", at - 1 if at > 0 else 0)
            pos = size if nl < 0 else nl + 1
        return found


def _first(pid: int, start: int, end: int, flags: int, context: list[int]) -> bool:
    context.append(end)
    return True  # stop: the rest of this line is a candidate anyway


def collect_anchors(ruleset: "RuleSet") -> set[str] | None:
    """Anchors of every pattern that can produce a hit, or None if some
    pattern has none (the prefilter is then off)."""
    anchors: set[str] = set()
    for pattern in ruleset.patterns:
        if pattern.role == "unless":
            continue  # an unless context only cancels; it never makes a hit
        found = regex_anchors(pattern.regex)
        if found.words is None:
            if found.non_ascii_only:
                continue
            return None
        anchors |= found.words
    for index in ruleset.field_rules:
        for item in ruleset.rules[index].items:
            key = item.key.rsplit("/", 1)[-1]
            if not key or not key.isascii():
                return None
            anchors.add(key.lower())
    return anchors
