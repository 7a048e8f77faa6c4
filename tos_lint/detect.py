"""Detectors: one record in, hits out. They know nothing of severity or output.

`RuleSet` compiles the text rules of every pack into two Hyperscan
databases (matches and fuzzy prefilter words in one, `unless` and
`requires` contexts in the other, run only where a rule was triggered) and
the field rules into a small key index, so a record costs one automaton
pass per text segment plus one walk of its keys, however many rules are
loaded.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import hyperscan as hs

from tos_lint.adapters import holds_text, resolve_pointer
from tos_lint.matcher import PatternDatabases, Scannable, StartFinder, collect_match, compile_database, phrase_to_regex
from tos_lint.model import PROMPT_ROLES, Hit, Record, Segment
from tos_lint.normalize import normalize, original_span
from tos_lint.packs import CONDITION_ROLES, Condition, MatchItem, Pack, Rule, builtin_pack_paths



@dataclass(frozen=True)
class _Pattern:
    rule: int  # index into RuleSet.rules
    role: str  # match | fuzzy | unless | requires
    item: int  # index of the item within its block
    regex: str


@dataclass
class _Entry:
    """One pattern hit in a segment: byte end, and start once it is needed."""

    pattern: _Pattern
    pid: int
    end: int
    start: int | None = None


@dataclass
class _SegmentHits:
    segment: Segment
    normalized: str
    encoded: bytes
    hits: list[tuple[int, int, int]]  # (pattern id, byte start, byte end)


class RuleSet:
    """The compiled form of a list of packs."""

    def __init__(self, packs: list[Pack]):
        self.packs = packs
        self.rules: list[Rule] = [r for p in packs for r in p.rules]
        self.by_id = {r.id: r for r in self.rules}
        self.patterns = self._collect_patterns()
        # Match patterns run over every text segment; the `unless` and
        # `requires` contexts only where a rule was triggered (and over the
        # prompt turns, for `where: prompt`): they are few, but broad ones
        # ("not ... <name>") that cost as much to run as all the rest.
        triggers = [pid for pid, p in enumerate(self.patterns) if p.role not in CONDITION_ROLES]
        contexts = [pid for pid, p in enumerate(self.patterns) if p.role in CONDITION_ROLES]
        rule_paths = [pack.path for pack in packs for _ in pack.rules]
        groups = _compile_groups(self.patterns, [pids for pids in (triggers, contexts) if pids], rule_paths)
        self.database = groups[0] if triggers else None
        self.context_database = groups[-1] if contexts else None
        self.starts = StartFinder([p.regex for p in self.patterns])
        self.field_rules = [i for i, r in enumerate(self.rules) if r.is_field_rule]
        # Match items and conditions alike are looked up in the record.
        field_items = [it for i in self.field_rules
                       for it in self.rules[i].items + self.rules[i].field_conditions + self.rules[i].field_requirements]
        self.field_keys = {it.key for it in field_items if not it.key.startswith("/")}
        # A field rule with only key items (no pointers) cannot hit a record
        # that has none of its keys: most records skip most field rules. Its
        # conditions only qualify a match, so their keys do not count here.
        self._rule_keys = {i: frozenset(it.key for it in self.rules[i].items) for i in self.field_rules
                           if not any(it.key.startswith("/") for it in self.rules[i].items)}
        # Pattern ids of each rule's `unless` and `requires` conditions
        # placed `where: prompt`, by (rule, block).
        self._prompt_conditions: dict[tuple[int, str], frozenset[int]] = defaultdict(frozenset)
        for pid, pat in enumerate(self.patterns):
            if pat.role in CONDITION_ROLES and self.rules[pat.rule].conditions(pat.role)[pat.item].where == "prompt":
                self._prompt_conditions[pat.rule, pat.role] |= {pid}
        self._field_regex = _FieldRegexes(field_items)
        self._has_conditions = [bool(r.unless or r.requires) for r in self.rules]

    def load_databases(self) -> None:
        """Read the compiled patterns from the cache now, not when a text
        first needs them (see `matcher.CachedDatabase`)."""
        for group in (self.database, self.context_database):
            if group is not None:
                group.database.load()

    def _collect_patterns(self) -> list[_Pattern]:
        out: list[_Pattern] = []
        for r_index, rule in enumerate(self.rules):
            if rule.is_field_rule:
                continue
            out += [_Pattern(r_index, role, i, regex) for i, role, regex in match_patterns(rule)]
            for role in CONDITION_ROLES:
                out += [_Pattern(r_index, role, i, _item_regex(cond.kind, cond.value))
                        for i, cond in enumerate(rule.conditions(role))]
        return out

    # -- detection -------------------------------------------------------------

    def detect(self, record: Record, may_hit: Callable[[bytes], bool] | None = None) -> list[Hit]:
        """The record's hits. `may_hit`, when given, is a cheap test of a
        normalised segment (UTF-8) that is False only where no match pattern
        can hit it (`LinePrefilter.may_match_text`): the segments it clears
        skip the match database, which costs some ten times as much."""
        hits: list[Hit] = []
        if self.database is not None:
            hits.extend(self._text_hits(record, may_hit))
        if self.field_rules and isinstance(record.data, (dict, list)):
            hits.extend(self._field_hits(record))
        return hits

    def _text_hits(self, record: Record, may_hit: Callable[[bytes], bool] | None) -> Iterator[Hit]:
        scanned = [self._scan(seg, may_hit) for seg in record.segments]
        triggered = [s for s in scanned if s.hits]
        if not triggered:
            return
        self._add_context_hits(scanned, triggered)
        prompt_hits = {p for s in scanned if s.segment.role in PROMPT_ROLES for p, _, _ in s.hits}
        # A chat template is a property of the record, not of each place its
        # tokens appear (a transcript has a marker per turn): reported once.
        templates_seen: set[str] = set()
        for seg in triggered:
            for hit in self._segment_rule_hits(seg, prompt_hits):
                if self.by_id[hit.rule_id].evidence == "template":
                    if hit.rule_id in templates_seen:
                        continue
                    templates_seen.add(hit.rule_id)
                yield hit

    def _scan(self, segment: Segment, may_hit: Callable[[bytes], bool] | None) -> _SegmentHits:
        """The segment normalised, with the hits of the match patterns."""
        normalized = normalize(segment.text)
        encoded = normalized.encode("utf-8", "surrogatepass")
        assert self.database is not None
        hits = self.database.hits(encoded) if may_hit is None or may_hit(encoded) else []
        return _SegmentHits(segment, normalized, encoded, hits)

    def _add_context_hits(self, scanned: list[_SegmentHits], triggered: list[_SegmentHits]) -> None:
        """Add the condition patterns' hits to the segments where they can
        count: those where a rule with conditions was triggered, and the
        prompt turns when such a rule has a `where: prompt` condition. Each
        segment's hits stay by end, the matches first."""
        if self.context_database is None:
            return
        rules = [{self.patterns[pid].rule for pid, _, _ in seg.hits} for seg in triggered]
        wanted = [seg for seg, ids in zip(triggered, rules) if any(self._has_conditions[r] for r in ids)]
        if any(self._prompt_conditions.get((r, role)) for ids in rules for r in ids for role in CONDITION_ROLES):
            wanted += [seg for seg in scanned if seg.segment.role in PROMPT_ROLES and seg not in wanted]
        for seg in wanted:
            seg.hits = seg.hits + self.context_database.hits(seg.encoded)

    def _segment_rule_hits(self, seg: _SegmentHits, prompt_hits: set[int]) -> Iterator[Hit]:
        # The segment's hits stay tuples, grouped by rule: a rule is judged at
        # its first match that survives its conditions, so an entry object is
        # made only for the matches looked at (a pattern that matches at every
        # byte of a long text would otherwise cost one object per byte).
        by_rule: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        triggered: set[int] = set()  # rules with a match or fuzzy hit, not only condition contexts
        for hit in seg.hits:
            pattern = self.patterns[hit[0]]
            by_rule[pattern.rule].append(hit)
            if pattern.role not in CONDITION_ROLES:
                triggered.add(pattern.rule)
        for r_index, found in by_rule.items():
            rule = self.rules[r_index]
            if r_index not in triggered or rule.roles and seg.segment.role not in rule.roles:
                continue
            hit = self._evaluate(rule, r_index, seg, found, prompt_hits)
            if hit is not None:
                yield hit

    def _evaluate(self, rule: Rule, r_index: int, seg: _SegmentHits,
                  found: list[tuple[int, int, int]], prompt_hits: set[int]) -> Hit | None:
        """The rule's hit in the segment, given its pattern hits `found`
        there (by end): at the first match no condition rules out."""
        if self._in_prompt(r_index, "unless", prompt_hits):
            return None
        fuzzy = self._fuzzy_matches(rule, r_index, seg, found)
        matched = [h for h in found if self.patterns[h[0]].role == "match"]
        if not matched and not fuzzy:
            return None
        if rule.mode == "all" and {self.patterns[h[0]].item for h in matched} | {e.pattern.item for e in fuzzy} \
                != set(range(len(rule.items))):
            return None
        unless = self._entries(found, "unless") if rule.unless else []
        # a requirement the prompt meets holds for every match; else each match needs one of its own
        required = None if not rule.requires or self._in_prompt(r_index, "requires", prompt_hits) \
            else self._entries(found, "requires")
        for entry in self._in_order(matched, fuzzy):
            if self._holds(rule.unless, entry, unless, seg):
                continue
            if required is not None and not self._holds(rule.requires, entry, required, seg):
                continue
            return self._make_hit(rule, seg, self._start(entry, seg), entry.end)
        return None

    def _entries(self, found: list[tuple[int, int, int]], role: str) -> list[_Entry]:
        return [_Entry(self.patterns[pid], pid, end) for pid, _, end in found if self.patterns[pid].role == role]

    def _in_order(self, matched: list[tuple[int, int, int]], fuzzy: list[_Entry]) -> Iterator[_Entry]:
        """The match entries by end, each made when it is reached (`matched`
        is in that order already; fuzzy matches, few, are sorted in)."""
        entries = (_Entry(self.patterns[pid], pid, end) for pid, _, end in matched)
        if not fuzzy:
            return entries
        return iter(sorted([*entries, *fuzzy], key=lambda e: e.end))

    def _in_prompt(self, r_index: int, role: str, prompt_hits: set[int]) -> bool:
        """A `where: prompt` condition of the rule's `role` block that a
        user/system turn meets."""
        pids = self._prompt_conditions.get((r_index, role))
        return pids is not None and not pids.isdisjoint(prompt_hits)

    def _holds(self, conditions: tuple[Condition, ...], entry: _Entry, found: list[_Entry], seg: _SegmentHits) -> bool:
        """Whether one of `conditions` placed in the segment or around the
        hit `entry` holds, given the condition hits `found` in its segment."""
        for u in found:
            cond = conditions[u.pattern.item]
            if cond.where == "segment":
                return True
            if cond.where == "window" and u.end >= self._start(entry, seg) - cond.window \
                    and self._start(u, seg) <= entry.end + cond.window:
                return True
        return False

    def _start(self, entry: _Entry, seg: _SegmentHits) -> int:
        """Where a hit starts: found only for the few hits that need it, since
        the main pass reports ends alone (see matcher.StartFinder)."""
        if entry.start is None:
            entry.start = self.starts.start(entry.pid, seg.encoded, entry.end)
        return entry.start

    def _fuzzy_matches(self, rule: Rule, r_index: int, seg: _SegmentHits,
                       found: list[tuple[int, int, int]]) -> list[_Entry]:
        items = {self.patterns[pid].item for pid, _, _ in found if self.patterns[pid].role == "fuzzy"}
        if not items:
            return []
        from rapidfuzz import fuzz

        out = []
        for item_index in items:
            item = rule.items[item_index]
            target = normalize(item.value).lower()
            result = fuzz.partial_ratio_alignment(target, seg.normalized.lower(), score_cutoff=item.min_ratio)
            if result is not None:
                start = len(seg.normalized[: result.dest_start].encode("utf-8", "surrogatepass"))
                end = len(seg.normalized[: result.dest_end].encode("utf-8", "surrogatepass"))
                out.append(_Entry(_Pattern(r_index, "match", item_index, ""), -1, end, start))
        return out

    def _make_hit(self, rule: Rule, seg: _SegmentHits, b_start: int, b_end: int) -> Hit:
        text = seg.segment.text
        start = len(seg.encoded[:b_start].decode("utf-8", "ignore"))
        end = len(seg.encoded[:b_end].decode("utf-8", "ignore"))
        if seg.normalized != text:
            start, end = _original_span(text, seg.normalized, start, end)
        return Hit(rule_id=rule.id, pointer=seg.segment.pointer, start=start, end=end,
                   matched=text[start:end])

    # -- field rules -------------------------------------------------------------

    def _field_hits(self, record: Record) -> Iterator[Hit]:
        data = record.data
        found = _index_fields(data, self.field_keys)
        for r_index in self.field_rules:
            keys = self._rule_keys.get(r_index)
            if keys is not None and keys.isdisjoint(found):
                continue
            rule = self.rules[r_index]
            pointer = self._field_rule_pointer(rule, data, found)
            if pointer is None or self._record_holds(rule, "unless", record, pointer, found):
                continue
            if rule.requires and not self._record_holds(rule, "requires", record, pointer, found):
                continue
            value = resolve_pointer(data, pointer)
            yield Hit(rule_id=rule.id, pointer=pointer, matched=_short(value), detail={"field": pointer})

    def _record_holds(self, rule: Rule, block: str, record: Record, pointer: str,
                      found: dict[str, list[tuple[str, Any]]]) -> bool:
        """One of a field rule's `block` conditions met by the record hit at `pointer`."""
        items = rule.field_requirements if block == "requires" else rule.field_conditions
        wanted = rule.text_blocks.get(block)
        return (wanted is not None and _holds_text(record, pointer, wanted == "output")) \
            or self._any_field_holds(items, record.data, found)

    def _field_rule_pointer(self, rule: Rule, data: Any, found: dict[str, list[tuple[str, Any]]]) -> str | None:
        """Where a field rule hits (its first matching item), or None."""
        pointers = [self._field_item_pointer(item, data, found) for item in rule.items]
        hit_pointers = [p for p in pointers if p is not None]
        if not hit_pointers or (rule.mode == "all" and len(hit_pointers) != len(pointers)):
            return None
        return hit_pointers[0]

    def _any_field_holds(self, conditions: tuple[MatchItem, ...], data: Any,
                         found: dict[str, list[tuple[str, Any]]]) -> bool:
        """One of the field `conditions` met anywhere in the record."""
        return any(self._field_item_pointer(cond, data, found) is not None for cond in conditions)

    def _field_item_pointer(self, item: MatchItem, data: Any, found: dict[str, list[tuple[str, Any]]]) -> str | None:
        if item.key.startswith("/"):
            value = resolve_pointer(data, item.key, missing=_MISSING)
            candidates = [] if value is _MISSING else [(item.key, value)]
        else:
            candidates = found.get(item.key, [])
        for pointer, value in candidates:
            if self._field_value_matches(item, value):
                return pointer
        return None

    def _field_value_matches(self, item: MatchItem, value: Any) -> bool:
        if item.op == "exists":
            return True
        if item.op == "equals":
            return value == item.operand and type(value) is type(item.operand) or (
                isinstance(value, str) and isinstance(item.operand, str) and value == item.operand
            )
        if not isinstance(value, str):
            return False
        if item.op == "prefix":
            return value.startswith(item.operand)
        return self._field_regex.matches(item, value)


def _holds_text(record: Record, pointer: str, output: bool = False) -> bool:
    """Whether the record holds text (`adapters.holds_text`) besides the
    field at `pointer`; with `output`, text outside user and system turns.
    A leaderboard row names a model without holding anything that model
    wrote; an API request holds only what was sent to it."""
    return any(seg.pointer != pointer and holds_text(seg) and not (output and seg.role in PROMPT_ROLES)
               for seg in record.segments)


def _item_regex(kind: str, value: str) -> str:
    return phrase_to_regex(value) if kind == "phrase" else value


def match_patterns(rule: Rule) -> list[tuple[int, str, str]]:
    """(item index, role, regex) for each match item of a text rule: a
    phrase or regex is its own pattern ("match"); a fuzzy item is looked
    for where one of its prefilter words is, and those are its patterns
    ("fuzzy")."""
    out: list[tuple[int, str, str]] = []
    for i, item in enumerate(rule.items):
        if item.kind == "fuzzy":
            out += [(i, "fuzzy", phrase_to_regex(word)) for word in item.prefilter]
        else:
            out.append((i, "match", _item_regex(item.kind, item.value)))
    return out


def _builtin_prefix(patterns: list[_Pattern], rule_paths: list[str]) -> int:
    """How many distinct regexes, in order of first use, lead the list from
    the built-in packs (`rule_paths`: each rule's pack): the part of the
    database that edits to one's own packs leave alone."""
    builtin = {str(path) for path in builtin_pack_paths()}
    seen: set[str] = set()
    for pattern in patterns:
        if pattern.regex in seen:
            continue
        if rule_paths[pattern.rule] not in builtin:
            break
        seen.add(pattern.regex)
    return len(seen)


class _PatternGroup:
    """Some of a rule set's patterns in one `PatternDatabases`. Rules share
    conditions (the same `unless` list recurs across packs) and names:
    each distinct regex is compiled once, and its match goes to every
    pattern that has it. Compile time grows faster than the pattern count."""

    def __init__(self, database: PatternDatabases, pattern_ids: list[tuple[int, ...]]):
        self.database = database
        self.pattern_ids = pattern_ids  # by regex id: the pattern ids that have that regex

    @property
    def parts(self) -> list[tuple[Scannable, int]]:
        return self.database.parts

    def hits(self, encoded: bytes) -> list[tuple[int, int, int]]:
        """(pattern id, byte start, byte end) of every match, by end."""
        return [(pid, start, end) for regex_id, start, end in self.database.scan(encoded)
                for pid in self.pattern_ids[regex_id]]


def _compile_groups(patterns: list[_Pattern], groups: list[list[int]], rule_paths: list[str]) -> list[_PatternGroup]:
    """Each group of pattern ids as a `_PatternGroup`, all compiled side by side."""
    distinct = [list(dict.fromkeys(patterns[pid].regex for pid in pids)) for pids in groups]
    stable = [_builtin_prefix([patterns[pid] for pid in pids], rule_paths) for pids in groups]
    databases = PatternDatabases.side_by_side(list(zip(distinct, stable)))
    return [_PatternGroup(database, _pattern_ids_by_regex(patterns, pids, regexes))
            for database, pids, regexes in zip(databases, groups, distinct)]


def _pattern_ids_by_regex(patterns: list[_Pattern], pids: list[int], distinct: list[str]) -> list[tuple[int, ...]]:
    """For each of `distinct`, the ids among `pids` of the patterns with that regex."""
    where: dict[str, list[int]] = {regex: [] for regex in distinct}
    for pid in pids:
        where[patterns[pid].regex].append(pid)
    return [tuple(where[regex]) for regex in distinct]


def _original_span(text: str, normalized: str, start: int, end: int) -> tuple[int, int]:
    """Map a span of the normalised text back onto the original text."""
    span = original_span(text, normalized, start, end)
    return span if span is not None else (0, min(len(text), end))  # rare divergence: the head of the text


class _FieldRegexes:
    """Field regexes, compiled once into a Hyperscan database (linear time)."""

    def __init__(self, items: list[MatchItem]):
        # one pattern per distinct regex: packs look for one model name under many keys
        regexes = list(dict.fromkeys(it.operand for it in items if it.op == "regex"))
        number = {regex: n for n, regex in enumerate(regexes)}
        self.ids = {id(it): number[it.operand] for it in items if it.op == "regex"}
        self.db = compile_database(regexes, hs.HS_FLAG_UTF8 | hs.HS_FLAG_SINGLEMATCH) if regexes else None

    def matches(self, item: MatchItem, value: str) -> bool:
        assert self.db is not None
        found: list[tuple[int, int, int]] = []
        self.db.scan(value.encode("utf-8", "surrogatepass"), match_event_handler=collect_match, context=found)
        want = self.ids[id(item)]
        return any(pid == want for pid, _, _ in found)


_MISSING = object()


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _index_fields(data: Any, keys: set[str]) -> dict[str, list[tuple[str, Any]]]:
    """Pointer and value of every occurrence of `keys` at any depth."""
    found: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                child = f"{pointer}/{_escape(str(k))}"
                if k in keys:
                    found[k].append((child, v))
                if isinstance(v, (dict, list)):
                    stack.append((child, v))
        elif isinstance(node, list):
            stack.extend((f"{pointer}/{i}", v) for i, v in enumerate(node) if isinstance(v, (dict, list)))
    for occurrences in found.values():
        occurrences.sort(key=lambda o: o[0])
    return found


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:200]
