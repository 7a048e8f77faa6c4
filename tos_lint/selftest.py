"""`tos-lint rules test`: run every rule's own match / no-match examples."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from tos_lint.adapters import adapt, own_id
from tos_lint.detect import RuleSet, match_patterns
from tos_lint.keyword_proof import always_holds_keyword, keyword_searcher
from tos_lint.model import Record, Segment, Source
from tos_lint.normalize import normalize
from tos_lint.packs import Pack, Rule


@dataclass(frozen=True)
class ExampleResult:
    pack: str
    rule_id: str
    kind: str  # match | no_match
    position: int
    example: Any
    passed: bool
    hit_rules: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.rule_id}:{self.kind}[{self.position}]"


def example_record(rule: Rule, example: Any) -> Record:
    """A string example is one segment with the rule's first role; a mapping
    is a whole record, read by the same adapters as a scan."""
    if isinstance(example, str):
        role = rule.roles[0] if rule.roles else "assistant"
        return Record(Source("<example>"), [Segment(role, "/text", example)], {"text": example}, "example")
    fmt, segments = adapt(example)
    return Record(Source("<example>"), segments, example, fmt, own_id(example))


def run_pack_examples(pack: Pack, ruleset: RuleSet | None = None) -> Iterator[ExampleResult]:
    """Each rule's examples, and for a rule with keywords, the proof that
    every match holds one (kind "keywords", `example` the patterns not
    proven)."""
    ruleset = ruleset or RuleSet([pack])
    for rule in pack.rules:
        if rule.keywords:
            unproven = unproven_keyword_patterns(rule)
            yield ExampleResult(pack.name, rule.id, "keywords", 0, unproven, not unproven, ())
        for kind, examples in (("match", rule.examples_match), ("no_match", rule.examples_no_match)):
            for i, example in enumerate(examples):
                record = example_record(rule, example)
                hits = tuple(sorted({h.rule_id for h in ruleset.detect(record)}))
                matched = rule.id in hits
                passed = matched == (kind == "match") and (kind == "no_match" or _holds_a_keyword(rule, record))
                yield ExampleResult(pack.name, rule.id, kind, i, example, passed, hits)


def _holds_a_keyword(rule: Rule, record: Record) -> bool:
    """Whether a match example holds one of the rule's keywords (if it has
    any): the raw-line prefilter would skip a line that holds none."""
    if not rule.keywords:
        return True
    text = " ".join(normalize(seg.text) for seg in record.segments)
    return keyword_searcher(rule.keywords).search(text) is not None


def unproven_keyword_patterns(rule: Rule) -> list[str]:
    """The patterns of `rule` that may match a text holding none of its
    keywords (see `tos_lint.keyword_proof`). For a rule whose items must
    all hold, one item proven is enough."""
    unproven: dict[int, list[str]] = {i: [] for i in range(len(rule.items))}
    for item, _role, regex in match_patterns(rule):
        if not always_holds_keyword(regex, rule.keywords):
            unproven[item].append(regex)
    if rule.mode == "all" and any(not patterns for patterns in unproven.values()):
        return []
    return [regex for patterns in unproven.values() for regex in patterns]
