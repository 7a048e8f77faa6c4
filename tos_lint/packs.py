"""Rule packs: YAML files of rules, loaded and validated once, up front.

Every error names the pack file, the rule id and the key at fault; all errors
of a load are collected and raised together (`PackErrors`, exit code 2).
The schema is documented in docs/rules.md.
"""
from __future__ import annotations

import hashlib
import re
from functools import cached_property
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml

from tos_lint.adapters import pointer_error
from tos_lint.errors import PackError, PackErrors
from tos_lint.keyword_proof import keyword_problem
from tos_lint.model import ROLES, Severity
from tos_lint.wholefile import read_whole, same_version
from tos_lint.yamlsafe import compose_yaml, load_yaml_cached

SCHEMA_VERSION = 1
EVIDENCE_KINDS = ("self-id", "api-artifact", "boilerplate", "template", "mention", "style")
TEXT_KINDS = ("phrase", "regex", "fuzzy")
CONDITION_WHERE = ("window", "segment", "prompt")
_RECORD_CONDITIONS = ("field", "holds_text")  # conditions on the whole record: field rules only
CONDITION_ROLES = ("unless", "requires")  # the blocks of conditions that qualify a rule's matches
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_PACK_KEYS = {"pack", "version", "description", "rules"}
_RULE_KEYS = {
    "id", "provider", "severity", "confidence", "evidence", "message", "description",
    "roles", "match", "unless", "requires", "examples", "tags", "keywords",
}
_REQUIRED = ("id", "provider", "severity", "confidence", "message", "match", "examples")


@dataclass(frozen=True)
class MatchItem:
    kind: str  # phrase | regex | fuzzy | field
    value: str = ""  # phrase text, regex, fuzzy text
    min_ratio: float = 90.0  # fuzzy
    prefilter: tuple[str, ...] = ()  # fuzzy
    key: str = ""  # field: key name or JSON pointer
    op: str = ""  # field: equals | prefix | regex | exists
    operand: Any = None


@dataclass(frozen=True)
class Condition:
    """An `unless` or `requires` condition: a phrase or regex looked for
    around a text hit (`where`), or a field looked up in the record."""

    kind: str  # phrase | regex | field | holds_text
    value: str = ""  # phrase text, regex; holds_text: "any" or "output"
    where: str = "window"
    window: int = 60
    field_item: MatchItem | None = None  # field: the condition, as a field match item


@dataclass(frozen=True)
class Rule:
    id: str
    provider: str
    severity: Severity
    confidence: float
    message: str
    mode: str  # any | all
    items: tuple[MatchItem, ...]
    evidence: str = "mention"
    description: str = ""
    roles: tuple[str, ...] = ()
    unless: tuple[Condition, ...] = ()
    # Conditions one of which must hold for a hit to count (none: always).
    requires: tuple[Condition, ...] = ()
    examples_match: tuple[Any, ...] = ()
    examples_no_match: tuple[Any, ...] = ()
    tags: tuple[str, ...] = ()
    pack: str = ""
    # Lower-case words one of which every text the rule matches holds: the
    # raw-line prefilter looks for them instead of the rule's patterns.
    keywords: tuple[str, ...] = ()

    @property
    def is_field_rule(self) -> bool:
        return self.items[0].kind == "field"

    def conditions(self, block: str) -> tuple[Condition, ...]:
        """The conditions of the `block` named, one of CONDITION_ROLES."""
        return self.requires if block == "requires" else self.unless

    # A field rule is judged once per record it may hit: its field
    # conditions are worked out once, not at each record.
    @cached_property
    def field_conditions(self) -> tuple[MatchItem, ...]:
        return _field_items(self.unless)

    @cached_property
    def field_requirements(self) -> tuple[MatchItem, ...]:
        return _field_items(self.requires)

    @cached_property
    def text_blocks(self) -> dict[str, str]:
        """The blocks (of CONDITION_ROLES) that hold a `holds_text` condition,
        each with what it wants: "any" text besides the matched field, or
        text that is no prompt ("output")."""
        return {b: c.value for b in CONDITION_ROLES for c in self.conditions(b) if c.kind == "holds_text"}


def _field_items(conditions: tuple[Condition, ...]) -> tuple[MatchItem, ...]:
    return tuple(c.field_item for c in conditions if c.field_item is not None)


@dataclass
class Pack:
    name: str
    path: str
    sha256: str
    description: str = ""
    rules: list[Rule] = field(default_factory=list)


def builtin_pack_paths() -> list[Path]:
    root = resources.files("tos_lint.builtin_rules")
    return sorted(
        Path(str(p)) for p in root.iterdir()
        if p.name.endswith((".yaml", ".yml")) and p.name != "providers.yaml"
    )


def pack_paths(rule_paths: Iterable[str | Path], use_default_rules: bool) -> list[str | Path]:
    """The packs a run reads, in order: the built-in ones (unless turned
    off), then the user's."""
    return [*(builtin_pack_paths() if use_default_rules else ()), *rule_paths]


def load_packs(paths: Iterable[str | Path], providers: set[str] | None = None,
               check_regexes: bool = True) -> list[Pack]:
    """Load and validate packs; raise `PackErrors` with every problem found.

    `check_regexes=False` skips compiling each regex on its own, for packs
    whose compiled database came from the cache (so they compiled before)."""
    packs: list[Pack] = []
    errors: list[PackError] = []
    for path in paths:
        try:
            packs.append(load_pack(path, providers, check_regexes))
        except PackErrors as exc:
            errors.extend(exc.errors)
    errors.extend(_cross_pack_errors(packs))
    if errors:
        raise PackErrors(errors)
    return packs


def _cross_pack_errors(packs: list[Pack]) -> list[PackError]:
    errors: list[PackError] = []
    seen_rules: dict[str, str] = {}
    seen_packs: dict[str, str] = {}
    for pack in packs:
        if pack.name in seen_packs:
            errors.append(PackError(pack.path, f"pack name {pack.name!r} is also used by {seen_packs[pack.name]}", key="pack"))
        seen_packs.setdefault(pack.name, pack.path)
        for rule in pack.rules:
            if rule.id in seen_rules and seen_rules[rule.id] != pack.path:
                errors.append(PackError(pack.path, f"duplicate rule id, also defined in {seen_rules[rule.id]}", rule.id, "id"))
            seen_rules.setdefault(rule.id, pack.path)
    return errors


def load_pack(path: str | Path, providers: set[str] | None = None, check_regexes: bool = True) -> Pack:
    path_str = str(path)
    try:
        raw = read_whole(path)
    except OSError as exc:
        raise PackErrors([PackError(path_str, f"cannot read: {exc.strerror or exc}")]) from None
    try:
        doc = load_yaml_cached(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        rule_id, key = _rule_at(raw, mark.line) if mark is not None else (None, None)
        raise PackErrors([PackError(path_str, f"invalid YAML: {_yaml_reason(exc)}", rule_id, key)]) from None
    return _build_pack(doc, path_str, hashlib.sha256(raw).hexdigest(), providers, check_regexes)


def _rule_at(raw: bytes, line: int) -> tuple[str | None, str | None]:
    """The id of the rule, and the key, at a 0-based line of a pack, found
    on the YAML node tree (which is built without constructing values, so
    it exists even when loading failed)."""
    try:
        root = compose_yaml(raw)
    except yaml.YAMLError:
        return None, None
    rules = _mapping_get(root, "rules")
    if not isinstance(rules, yaml.SequenceNode):
        return None, None
    for rule in rules.value:
        if isinstance(rule, yaml.MappingNode) and rule.start_mark.line <= line <= rule.end_mark.line:
            id_node = _mapping_get(rule, "id")
            key = _key_at(rule, line)
            return (str(id_node.value) if isinstance(id_node, yaml.ScalarNode) else None), key
    return None, None


def _mapping_get(node: object, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v  # type: ignore[no-any-return]
    return None


def _key_at(node: yaml.MappingNode, line: int) -> str | None:
    """The key (dotted path) whose entry spans `line` in a mapping."""
    for k, v in node.value:
        if k.start_mark.line == line:
            return str(k.value)
        if v.start_mark.line <= line <= v.end_mark.line and isinstance(v, yaml.MappingNode):
            inner = _key_at(v, line)
            return f"{k.value}.{inner}" if inner else str(k.value)
    return None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def _build_pack(doc: Any, path: str, digest: str, providers: set[str] | None, check_regexes: bool) -> Pack:
    errors: list[PackError] = []
    if not isinstance(doc, dict):
        raise PackErrors([PackError(path, "a pack must be a mapping with keys 'pack', 'version' and 'rules'")])
    for key in sorted(set(doc) - _PACK_KEYS, key=str):
        errors.append(PackError(path, f"unknown key (expected one of {', '.join(sorted(_PACK_KEYS))})", key=str(key)))
    name = doc.get("pack")
    if not isinstance(name, str) or not name:
        errors.append(PackError(path, "must be a non-empty string", key="pack"))
        name = Path(path).stem
    if not same_version(doc.get("version"), SCHEMA_VERSION):
        errors.append(PackError(path, f"must be {SCHEMA_VERSION}", key="version"))
    rules_doc = doc.get("rules")
    if not isinstance(rules_doc, list):
        errors.append(PackError(path, "must be a list of rules", key="rules"))
        rules_doc = []
    pack = Pack(name=name, path=path, sha256=digest, description=str(doc.get("description") or ""))
    seen: set[str] = set()
    for i, rule_doc in enumerate(rules_doc):
        try:
            rule = _build_rule(rule_doc, i, name, path, providers, check_regexes)
        except PackErrors as exc:
            errors.extend(exc.errors)
            continue
        if rule.id in seen:
            errors.append(PackError(path, "duplicate rule id in this pack", rule.id, "id"))
        seen.add(rule.id)
        pack.rules.append(rule)
    if errors:
        raise PackErrors(errors)
    return pack


class _RuleChecker:
    """Collects the errors of one rule, each with file, rule id and key."""

    def __init__(self, path: str, rule_id: str, check_regexes: bool = True):
        self.path = path
        self.rule_id = rule_id
        self.check_regexes = check_regexes
        self.errors: list[PackError] = []

    def regex_error(self, key: str, pattern: str) -> bool:
        """Record why `pattern` cannot be used, if it cannot; True if so."""
        message = regex_problem(pattern) if self.check_regexes else None
        if message:
            self.error(key, message)
        return message is not None

    def error(self, key: str, message: str) -> None:
        self.errors.append(PackError(self.path, message, self.rule_id, key))

    def string(self, doc: dict[str, Any], key: str, required: bool = True) -> str:
        value = doc.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(key, "must be a non-empty string")
            return ""
        return value

    def string_list(self, doc: dict[str, Any], key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = doc.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(key, "must be a list of strings")
            return ()
        if allowed:
            for v in value:
                if v not in allowed:
                    self.error(key, f"unknown value {v!r} (expected one of {', '.join(allowed)})")
        return tuple(value)


def _build_rule(doc: Any, position: int, pack: str, path: str, providers: set[str] | None,
                check_regexes: bool = True) -> Rule:
    if not isinstance(doc, dict):
        raise PackErrors([PackError(path, "must be a mapping", f"#{position}", "rules")])
    rule_id = doc.get("id") if isinstance(doc.get("id"), str) else f"#{position}"
    check = _RuleChecker(path, rule_id, check_regexes)
    for key in sorted(set(doc) - _RULE_KEYS, key=str):
        check.error(str(key), f"unknown key (expected one of {', '.join(sorted(_RULE_KEYS))})")
    for key in _REQUIRED:
        if key not in doc:
            check.error(key, "is required")
    if "id" in doc and not (isinstance(doc["id"], str) and _RULE_ID.match(doc["id"])):
        check.error("id", "must match [a-z0-9][a-z0-9._-]*")
    provider = check.string(doc, "provider") if "provider" in doc else ""
    if provider and providers is not None and provider not in providers:
        check.error("provider", f"unknown provider {provider!r} (see `tos-lint providers`)")
    severity = _severity(doc, check)
    confidence = doc.get("confidence", 0.5)
    if "confidence" in doc and (isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1):
        check.error("confidence", "must be a number from 0 to 1")
        confidence = 0.5
    evidence = doc.get("evidence", "mention")
    if evidence not in EVIDENCE_KINDS:
        check.error("evidence", f"must be one of {', '.join(EVIDENCE_KINDS)}")
    roles = check.string_list(doc, "roles", ROLES)
    mode, items = _match_block(doc.get("match"), check) if "match" in doc else ("any", ())
    field_rule = items[0].kind == "field" if items else None
    unless = _condition_block(doc, "unless", check, field_rule)
    requires = _condition_block(doc, "requires", check, field_rule)
    ex_match, ex_no = _examples(doc.get("examples"), check) if "examples" in doc else ((), ())
    message = check.string(doc, "message") if "message" in doc else ""
    tags = check.string_list(doc, "tags")
    keywords = _keywords(doc, check, items)
    if check.errors:
        raise PackErrors(check.errors)
    return Rule(
        id=rule_id, provider=provider, severity=severity, confidence=float(confidence),
        message=message, mode=mode, items=items, evidence=evidence,
        description=str(doc.get("description") or ""), roles=roles, unless=unless, requires=requires,
        examples_match=ex_match, examples_no_match=ex_no, tags=tags, pack=pack, keywords=keywords,
    )


def _keywords(doc: dict[str, Any], check: _RuleChecker, items: tuple[MatchItem, ...]) -> tuple[str, ...]:
    """`keywords`: a non-empty list of non-blank strings, on a text rule,
    kept lower-cased."""
    if "keywords" not in doc:
        return ()
    value = doc["keywords"]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        check.error("keywords", "must be a non-empty list of non-blank strings")
        return ()
    if items and items[0].kind == "field":
        check.error("keywords", "not allowed on a field rule (its values are looked for as they are)")
    for problem in filter(None, map(keyword_problem, value)):
        check.error("keywords", problem)
    return tuple(v.strip().lower() for v in value)


def _severity(doc: dict[str, Any], check: _RuleChecker) -> Severity:
    try:
        return Severity.parse(str(doc.get("severity", "info")))
    except ValueError as exc:
        check.error("severity", str(exc))
        return Severity.INFO


def _match_block(block: Any, check: _RuleChecker) -> tuple[str, tuple[MatchItem, ...]]:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in ("any", "all"):
        check.error("match", "must be a mapping with exactly one key, 'any' or 'all', holding a list")
        return "any", ()
    mode, raw_items = next(iter(block.items()))
    if not isinstance(raw_items, list) or not raw_items:
        check.error(f"match.{mode}", "must be a non-empty list")
        return mode, ()
    items = tuple(
        item for i, raw in enumerate(raw_items)
        if (item := _match_item(raw, f"match.{mode}[{i}]", check)) is not None
    )
    kinds = {"field" if it.kind == "field" else "text" for it in items}
    if len(kinds) > 1:
        check.error(f"match.{mode}", "mixes field items with text items; use two rules")
    return mode, items


def _single_key(raw: Any, key: str, allowed: tuple[str, ...], check: _RuleChecker) -> tuple[str, Any] | None:
    kinds = [k for k in allowed if isinstance(raw, dict) and k in raw]
    if len(kinds) != 1:
        check.error(key, f"must have exactly one of {', '.join(allowed)}")
        return None
    return kinds[0], raw[kinds[0]]


def _match_item(raw: Any, key: str, check: _RuleChecker) -> MatchItem | None:
    found = _single_key(raw, key, ("phrase", "regex", "fuzzy", "field"), check)
    if found is None:
        return None
    kind, value = found
    extra = set(raw) - {kind}
    if extra:
        check.error(key, f"unexpected keys {sorted(extra)}")
    if kind in ("phrase", "regex"):
        return MatchItem(kind=kind, value=value) if _text_value(kind, value, key, check) else None
    if kind == "fuzzy":
        return _fuzzy_item(value, f"{key}.fuzzy", check)
    return _field_item(value, f"{key}.field", check)


def _fuzzy_item(value: Any, key: str, check: _RuleChecker) -> MatchItem | None:
    if not isinstance(value, dict) or not isinstance(value.get("text"), str) or not value["text"].strip():
        check.error(key, "must be a mapping with a non-empty 'text'")
        return None
    unknown = set(value) - {"text", "min_ratio", "prefilter"}
    if unknown:
        check.error(key, f"unknown keys {sorted(unknown)}")
    ratio = value.get("min_ratio", 90)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 50 <= ratio <= 100:
        check.error(f"{key}.min_ratio", "must be a number from 50 to 100")
        ratio = 90
    prefilter = value.get("prefilter")
    if prefilter is None:
        words = sorted(set(re.findall(r"\w{3,}", value["text"].lower())), key=len, reverse=True)
        prefilter = words[:2] or [value["text"].strip().lower()]
    elif not isinstance(prefilter, list) or not prefilter or not all(isinstance(p, str) and p.strip() for p in prefilter):
        check.error(f"{key}.prefilter", "must be a non-empty list of strings")
        prefilter = []
    return MatchItem(kind="fuzzy", value=value["text"], min_ratio=float(ratio), prefilter=tuple(prefilter))


_FIELD_OPS = ("equals", "prefix", "regex", "exists")


def _field_item(value: Any, key: str, check: _RuleChecker) -> MatchItem | None:
    if not isinstance(value, dict) or not isinstance(value.get("key"), str) or not value["key"]:
        check.error(key, "must be a mapping with a non-empty 'key'")
        return None
    if (problem := pointer_error(value["key"])) is not None:
        check.error(f"{key}.key", problem)
    ops = [op for op in _FIELD_OPS if op in value]
    unknown = set(value) - {"key", *_FIELD_OPS}
    if unknown:
        check.error(key, f"unknown keys {sorted(unknown)}")
    if len(ops) != 1:
        check.error(key, f"must have exactly one of {', '.join(_FIELD_OPS)}")
        return None
    op = ops[0]
    operand = value[op]
    if op == "exists" and operand is not True:
        check.error(f"{key}.exists", "must be true")
    if op in ("prefix", "regex") and (not isinstance(operand, str) or not operand):
        check.error(f"{key}.{op}", "must be a non-empty string")
        return None
    if op == "regex" and check.regex_error(f"{key}.regex", operand):
        return None
    if op == "equals" and not isinstance(operand, (str, int, float, bool)):
        check.error(f"{key}.equals", "must be a string, number or boolean")
    return MatchItem(kind="field", key=value["key"], op=op, operand=operand)


def _condition_block(doc: dict[str, Any], block_key: str, check: _RuleChecker,
                     field_rule: bool | None) -> tuple[Condition, ...]:
    """The `unless` or `requires` conditions; `field_rule` is None when the
    rule's own kind is unknown (its `match` did not validate), which leaves
    kinds unchecked."""
    block = doc.get(block_key)
    if block is None:
        return ()
    if not isinstance(block, list) or (block_key == "requires" and not block):
        check.error(block_key, "must be a list" if block_key == "unless" else "must be a non-empty list")
        return ()
    items = (_condition_item(raw, block_key, f"{block_key}[{i}]", check, field_rule) for i, raw in enumerate(block))
    return tuple(item for item in items if item is not None)


def _condition_item(raw: Any, block_key: str, key: str, check: _RuleChecker,
                    field_rule: bool | None) -> Condition | None:
    found = _single_key(raw, key, ("phrase", "regex", "field", "holds_text"), check)
    if found is None:
        return None
    kind, value = found
    # A field rule's hit has no text around it to test, and a text rule's hit
    # is judged within its segment: each rule takes conditions of its own kind.
    if field_rule is not None and (kind in _RECORD_CONDITIONS) != field_rule:
        rule_kind, wanted = ("field", "field or holds_text") if field_rule else ("text", "phrase or regex")
        check.error(block_key, f"a {rule_kind} rule takes only {wanted} conditions ({key} is a {kind} condition)")
        return None
    unknown = set(raw) - {kind, "where", "window"}
    if unknown:
        check.error(key, f"unknown keys {sorted(unknown)}")
    if kind == "field":
        return _field_condition(raw, value, key, check)
    if kind == "holds_text":
        return _holds_text_condition(raw, value, key, check)
    return _text_condition(raw, kind, value, key, check)


def _field_condition(raw: dict[str, Any], value: Any, key: str, check: _RuleChecker) -> Condition | None:
    """Written and checked exactly as a `field:` match item. It holds on the
    whole record, so the text placement keys mean nothing for it."""
    _no_placement(raw, key, check)
    item = _field_item(value, f"{key}.field", check)
    return Condition(kind="field", field_item=item) if item is not None else None


def _holds_text_condition(raw: dict[str, Any], value: Any, key: str, check: _RuleChecker) -> Condition | None:
    """`holds_text: true`: a field rule's hit counts (`requires`) or not
    (`unless`) by whether the record holds any text beside the field matched;
    `holds_text: output`: text outside user and system turns (an API
    request holds only those: nothing the model wrote)."""
    _no_placement(raw, key, check)
    if value is not True and value != "output":
        check.error(f"{key}.holds_text", "must be true or output")
        return None
    return Condition(kind="holds_text", value="any" if value is True else "output")


def _no_placement(raw: dict[str, Any], key: str, check: _RuleChecker) -> None:
    for placement in ("where", "window"):
        if placement in raw:
            check.error(f"{key}.{placement}", "not allowed on a field condition (it holds on the whole record)")


def _text_condition(raw: dict[str, Any], kind: str, value: Any, key: str, check: _RuleChecker) -> Condition | None:
    where = raw.get("where", "window")
    if where not in CONDITION_WHERE:
        check.error(f"{key}.where", f"must be one of {', '.join(CONDITION_WHERE)}")
    window = raw.get("window", 60)
    if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= 10_000:
        check.error(f"{key}.window", "must be a whole number from 0 to 10000")
        window = 60
    if not _text_value(kind, value, key, check):
        return None
    return Condition(kind=kind, value=value, where=where, window=window)


def _text_value(kind: str, value: Any, key: str, check: _RuleChecker) -> bool:
    """Whether a `phrase:` or `regex:` value is usable: a non-empty string,
    and one the linear-time engine accepts, a phrase as the regex it
    stands for (else an error)."""
    if not isinstance(value, str) or not value.strip():
        check.error(f"{key}.{kind}", "must be a non-empty string")
        return False
    if kind == "phrase":
        # a phrase is compiled as the regex it stands for: one the engine
        # refuses (too long, or matching nothing but the empty text) is named here
        from tos_lint.matcher import phrase_to_regex

        return not check.regex_error(f"{key}.phrase", phrase_to_regex(value))
    return not check.regex_error(f"{key}.regex", value)


def _examples(block: Any, check: _RuleChecker) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    if not isinstance(block, dict):
        check.error("examples", "must be a mapping with 'match' and 'no_match' lists")
        return (), ()
    unknown = set(block) - {"match", "no_match"}
    if unknown:
        check.error("examples", f"unknown keys {sorted(unknown)}")
    out = []
    for key in ("match", "no_match"):
        value = block.get(key)
        if not isinstance(value, list) or not value:
            check.error(f"examples.{key}", "must be a non-empty list")
            out.append(())
            continue
        for i, example in enumerate(value):
            if not isinstance(example, (str, dict)) or (isinstance(example, str) and not example.strip()):
                check.error(f"examples.{key}[{i}]", "must be a non-empty string or a record mapping")
        out.append(tuple(value))
    return out[0], out[1]


def regex_problem(pattern: str) -> str | None:
    """Why a user regex cannot be used, or None. Checked one by one so that
    the error names the rule and key; the engine compiles them together."""
    from tos_lint.matcher import compile_check

    return compile_check(pattern)
