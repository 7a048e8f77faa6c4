"""Measure rule packs on labelled data: `tos-lint rules eval --labels LABELS.yaml`.

A *labels file* says what each data file is. It is YAML:

```yaml
version: 1                      # optional
root: ../data                   # optional: where the paths below start
                                # (relative to this file; default: this file's folder)
labels:
  chats/gpt4-*.jsonl: {provider: openai}
  chats/claude.jsonl: {provider: anthropic, note: "exported from our Claude logs"}
  chats/old-davinci.jsonl: {provider: openai, fingerprints: false}
  human/: human                 # a folder: every data file in it, recursively
  negatives/*.json: hard-negative
  misc/*.jsonl: unlabelled
  misc/distilled.jsonl: {label: unlabelled, note: "fine-tuned on GPT output"}
```

Keys are paths, folders or globs (`*`, `?`, `[...]`, `**`), relative to
`root`. Values are `human`, `hard-negative`, `unlabelled`, or a mapping with
either `provider: <id>` (an id of the provider registry) or `label: <one of
the three>`, plus an optional `note` and, for providers, `fingerprints:
false` (the provider's output in that file is known to carry no textual
fingerprint, so attribution is not expected). When several keys match a
file, the last one wins. A key that matches no file is an error. Every
error names the labels file and the key.

What is measured (all counts are *records*, not findings: a rule that fires
three times in one record counts once):

* per rule: records hit on data labelled with the rule's provider ("right
  provider"), on other providers' data ("other provider"), on human and on
  hard-negative data, and on unlabelled data. **Precision** is right-provider
  hits divided by all hits on labelled data (provider + human +
  hard-negative; unlabelled data is left out). For rules whose provider is
  `unknown` (generic boilerplate), a hit on *any* provider's data is right:
  they claim "some model wrote this", not which one.
* per file: records, records flagged (by their most severe finding), the top
  rules and the dataset-level attribution (`tos_lint.attribution_evidence`),
  checked against the label.
* overall: the share of human records flagged at >= medium, the number of
  hard-negative records flagged at >= medium, and how many provider files
  are attributed to the right provider.

Files that cannot be read (e.g. formats without a reader yet) are listed with
their input problem and 0 records; they never stop the evaluation.
"""
from __future__ import annotations

import glob
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from tos_lint.attribution_evidence import FileAttribution, ScanAttribution, attribute_scan, is_evidence, record_key
from tos_lint.errors import UsageError
from tos_lint.model import Finding, Severity
from tos_lint.readers import COMPRESSION_EXTS, JSON_EXTS, OTHER_DATA_EXTS, discover
from tos_lint.yamlsafe import load_yaml

LABEL_KINDS = ("provider", "human", "hard-negative", "unlabelled")
PLAIN_LABELS = ("human", "hard-negative", "unlabelled")
LABELS_VERSION = 1
_TOP_KEYS = ("version", "root", "labels")
_ENTRY_KEYS = ("provider", "label", "note", "fingerprints")
_GLOB_CHARS = set("*?[")
# "Flagged" in the overall figures means a finding at or above this severity.
FLAG_AT = Severity.MEDIUM
# Goals (the project's, and a sensible default for anyone's pack).
GOAL_HUMAN_SHARE = 0.001  # at most 0.1 % of human records flagged at >= medium
GOAL_HARD_NEGATIVES = 0  # no hard-negative record flagged at >= medium
TOP_RULES = 3

# Verdicts of a provider file's attribution against its label.
# "right"/"wrong": a confident attribution (attribution_evidence.CONFIDENT);
# "(weak)": the best-supported provider, but not confidently.
RIGHT, RIGHT_WEAK, WRONG, WRONG_WEAK = "right", "right (weak)", "wrong", "wrong (weak)"
UNATTRIBUTED, NOT_SCANNED = "unattributed", "not scanned"
VERDICTS = (RIGHT, RIGHT_WEAK, WRONG, WRONG_WEAK, UNATTRIBUTED, NOT_SCANNED)


# --- labels -----------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    kind: str  # provider | human | hard-negative | unlabelled
    provider: str | None = None
    note: str = ""
    fingerprints: bool = True  # provider data: whether attribution is expected
    key: str = ""  # the labels-file key that gave this label

    def display(self) -> str:
        return f"provider: {self.provider}" if self.kind == "provider" else self.kind

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "key": self.key}
        if self.provider:
            out["provider"] = self.provider
            out["fingerprints"] = self.fingerprints
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class LabelledFile:
    path: Path  # on disk
    shown: str  # relative to the labels root, for reports
    label: Label


@dataclass
class Labels:
    path: Path
    root: Path
    entries: list[tuple[str, Label]]
    files: list[LabelledFile]


def load_labels(path: str | Path, *, root: str | Path | None = None,
                providers: Iterable[str] | None = None) -> Labels:
    """Read, validate and expand a labels file. `root` overrides the file's
    own `root`; `providers` are the valid provider ids (default: the registry's).
    Raises `UsageError` naming the file and key of every problem found."""
    path = Path(path)
    if providers is None:
        from tos_lint.registry import load_registry

        providers = load_registry().providers
    valid = sorted(set(providers) - {"unknown", "none"})
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read labels file: {exc.strerror or exc}") from None
    try:
        doc = load_yaml(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict) or "labels" not in doc:
        raise UsageError(f"{path}: a labels file must be a mapping with a 'labels' mapping of path or glob -> label")
    errors: list[str] = []

    def error(key: str, message: str) -> None:
        errors.append(f"{path}: key {key!r}: {message}")

    for key in doc:
        if key not in _TOP_KEYS:
            error(str(key), f"unknown key (expected one of {', '.join(_TOP_KEYS)})")
    if "version" in doc and doc["version"] != LABELS_VERSION:
        error("version", f"must be {LABELS_VERSION}")
    base = path.resolve().parent
    if root is not None:
        root_dir = Path(root).resolve()
        if not root_dir.is_dir():
            raise UsageError(f"{root}: labels root is not a folder")
    elif doc.get("root") is not None:
        if not isinstance(doc["root"], str) or not doc["root"].strip():
            error("root", "must be a folder path (relative to the labels file)")
            root_dir = base
        else:
            root_dir = (base / doc["root"]).resolve()
            if not root_dir.is_dir():
                error("root", f"{root_dir} is not a folder")
    else:
        root_dir = base
    block = doc.get("labels")
    if not isinstance(block, dict) or not block:
        error("labels", "must be a non-empty mapping of path or glob -> label")
        block = {}
    entries: list[tuple[str, Label]] = []
    for key, value in block.items():
        if not isinstance(key, str) or not key.strip():
            error(str(key), "a key must be a non-empty path or glob")
            continue
        label = _parse_label(key, value, valid, error)
        if label is not None:
            entries.append((key, label))
    if errors:
        raise UsageError("\n".join(errors))
    files = _expand(entries, root_dir, error)
    if errors:
        raise UsageError("\n".join(errors))
    return Labels(path, root_dir, entries, files)


def _parse_label(key: str, value: Any, providers: list[str], error: Any) -> Label | None:
    expected = "expected 'human', 'hard-negative', 'unlabelled' or a mapping {provider: ID}"
    if isinstance(value, str):
        if value in PLAIN_LABELS:
            return Label(value, key=key)
        if value == "provider":
            error(key, "'provider' needs an id: write {provider: ID}")
        else:
            error(key, f"unknown label {value!r} ({expected})")
        return None
    if not isinstance(value, dict):
        error(key, f"must be a label ({expected})")
        return None
    ok = True
    for k in value:
        if k not in _ENTRY_KEYS:
            error(f"{key}.{k}", f"unknown key (expected one of {', '.join(_ENTRY_KEYS)})")
            ok = False
    has_provider, has_label = "provider" in value, "label" in value
    if has_provider == has_label:
        error(key, "must have exactly one of 'provider' and 'label'")
        return None
    note = value.get("note", "")
    if not isinstance(note, str):
        error(f"{key}.note", "must be a string")
        ok = False
    fingerprints = value.get("fingerprints", True)
    if not isinstance(fingerprints, bool):
        error(f"{key}.fingerprints", "must be true or false")
        ok = False
    if has_label:
        if "fingerprints" in value:
            error(f"{key}.fingerprints", "only applies to provider labels")
            ok = False
        if value["label"] not in PLAIN_LABELS:
            error(f"{key}.label", f"unknown label {value['label']!r} (expected one of {', '.join(PLAIN_LABELS)})")
            return None
        return Label(value["label"], note=note if isinstance(note, str) else "", key=key) if ok else None
    provider = value["provider"]
    if provider in ("unknown", "none"):
        error(f"{key}.provider", f"{provider!r} is not a provider label; use 'unlabelled' for data of unknown origin")
        return None
    if not isinstance(provider, str) or provider not in providers:
        error(f"{key}.provider", f"unknown provider {provider!r} (expected one of {', '.join(providers)}; see `tos-lint providers`)")
        return None
    if not ok:
        return None
    return Label("provider", provider, note, fingerprints, key)


def _is_data_name(name: str) -> bool:
    lower = name.lower()
    for ext in COMPRESSION_EXTS:
        if lower.endswith(ext):
            lower = lower[: -len(ext)]
            break
    return lower.endswith(JSON_EXTS) or lower.endswith(OTHER_DATA_EXTS)


def _expand(entries: list[tuple[str, Label]], root: Path, error: Any) -> list[LabelledFile]:
    chosen: dict[Path, LabelledFile] = {}
    for key, label in entries:
        pattern = root / key
        matches: list[Path] = []
        if _GLOB_CHARS & set(key):
            for hit in sorted(glob.glob(str(pattern), recursive=True)):
                p = Path(hit)
                if p.is_dir():
                    matches.extend(_data_files(p))
                elif not p.name.startswith(".") and _is_data_name(p.name):
                    matches.append(p)
        elif pattern.is_dir():
            matches.extend(_data_files(pattern))
        elif pattern.exists():
            matches.append(pattern)
        if not matches:
            error(key, f"matches no file under {root}")
            continue
        for p in matches:
            resolved = p.resolve()
            chosen.pop(resolved, None)  # the last key wins
            chosen[resolved] = LabelledFile(p, _shown(p, root), label)
    return sorted(chosen.values(), key=lambda f: f.shown)


def _data_files(folder: Path) -> list[Path]:
    files, _ = discover([str(folder)])
    for f in files:
        if f.problem is not None:  # labelled data that cannot be read would skew every figure
            raise UsageError(f"{f.path}: {f.problem.message}")
    return [f.fs_path for f in files if f.fs_path is not None]


def _shown(p: Path, root: Path) -> str:
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(p)


# --- results --------------------------------------------------------------------------

@dataclass
class RuleStats:
    rule_id: str
    provider: str
    severity: str
    evidence: str
    pack: str
    findings: int = 0
    right_provider: int = 0  # records of data labelled with this rule's provider (any provider for `unknown` rules)
    other_provider: int = 0  # records of data labelled with another provider
    other_by_provider: Counter[str] = field(default_factory=Counter)
    human: int = 0
    hard_negative: int = 0
    unlabelled: int = 0

    @property
    def labelled_hits(self) -> int:
        return self.right_provider + self.other_provider + self.human + self.hard_negative

    @property
    def hits(self) -> int:
        return self.labelled_hits + self.unlabelled

    @property
    def false_positives(self) -> int:
        return self.other_provider + self.human + self.hard_negative

    @property
    def precision(self) -> float | None:
        return self.right_provider / self.labelled_hits if self.labelled_hits else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id, "provider": self.provider, "severity": self.severity,
            "evidence": self.evidence, "pack": self.pack, "findings": self.findings,
            "records": {
                "right_provider": self.right_provider, "other_provider": self.other_provider,
                "other_provider_by_label": dict(sorted(self.other_by_provider.items())),
                "human": self.human, "hard_negative": self.hard_negative,
                "unlabelled": self.unlabelled, "labelled": self.labelled_hits, "all": self.hits,
            },
            "false_positives": self.false_positives,
            "precision": None if self.precision is None else round(self.precision, 4),
        }


@dataclass
class FileEval:
    path: str
    label: Label
    records: int
    flagged: int = 0  # records with any finding (input problems aside)
    by_max_severity: Counter[str] = field(default_factory=Counter)  # records by their most severe finding
    top_rules: list[tuple[str, int]] = field(default_factory=list)
    attribution: FileAttribution | None = None
    right_provider_records: int = 0  # records with evidence for the labelled provider
    input_issues: list[str] = field(default_factory=list)

    def flagged_at(self, severity: Severity) -> int:
        return sum(n for s, n in self.by_max_severity.items() if Severity.parse(s) >= severity)

    @property
    def scanned(self) -> bool:
        return self.records > 0 or not self.input_issues

    @property
    def verdict(self) -> str | None:
        """For provider files: the attribution against the label."""
        if self.label.kind != "provider":
            return None
        if not self.scanned:
            return NOT_SCANNED
        primary = self.attribution.primary if self.attribution else None
        if primary is None:
            return UNATTRIBUTED
        confident = self.attribution.confident  # type: ignore[union-attr]
        if primary == self.label.provider:
            return RIGHT if confident else RIGHT_WEAK
        return WRONG if confident else WRONG_WEAK

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "label": self.label.to_dict(), "records": self.records,
            "flagged": self.flagged,
            "flagged_by_max_severity": {s.label: self.by_max_severity.get(s.label, 0) for s in Severity},
            "flagged_at_least_medium": self.flagged_at(Severity.MEDIUM),
            "flagged_at_least_high": self.flagged_at(Severity.HIGH),
            "top_rules": [{"rule_id": r, "records": n} for r, n in self.top_rules],
            "right_provider_records": self.right_provider_records if self.label.kind == "provider" else None,
            "attribution": self.attribution.to_dict() if self.attribution else None,
            "verdict": self.verdict,
            "input_issues": self.input_issues,
        }


@dataclass
class Goal:
    name: str
    target: str
    value: str
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "value": self.value, "met": self.met}


@dataclass
class Overall:
    records: int = 0
    human_records: int = 0
    human_flagged: int = 0  # at >= FLAG_AT
    hard_negative_records: int = 0
    hard_negative_flagged: int = 0
    provider_records: int = 0
    provider_records_right: int = 0  # with evidence for the labelled provider
    provider_files: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)  # right / wrong / unattributed / not scanned
    expected_files: int = 0  # provider files with fingerprints, scanned
    expected_right: int = 0
    not_scanned: list[str] = field(default_factory=list)

    @property
    def human_share(self) -> float | None:
        return self.human_flagged / self.human_records if self.human_records else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records, "flag_at": FLAG_AT.label,
            "human": {"records": self.human_records, "flagged": self.human_flagged,
                      "share": None if self.human_share is None else round(self.human_share, 6)},
            "hard_negative": {"records": self.hard_negative_records, "flagged": self.hard_negative_flagged},
            "provider": {
                "records": self.provider_records, "records_with_right_provider_evidence": self.provider_records_right,
                "files": self.provider_files, "verdicts": dict(sorted(self.verdicts.items())),
                "files_with_fingerprints": self.expected_files, "files_with_fingerprints_right": self.expected_right,
            },
            "not_scanned": self.not_scanned,
        }


@dataclass
class Evaluation:
    labels: Labels
    rules: list[RuleStats]
    files: list[FileEval]
    overall: Overall
    attribution: ScanAttribution
    text_only: bool = False
    ignored: tuple[str, ...] = ()
    packs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def goals(self) -> list[Goal]:
        o = self.overall
        share = o.human_share
        goals = [
            Goal(f"human records flagged at >= {FLAG_AT.label}", f"<= {GOAL_HUMAN_SHARE:.1%}",
                 "no human data" if share is None else f"{share:.3%} ({o.human_flagged} of {o.human_records})",
                 share is None or share <= GOAL_HUMAN_SHARE),
            Goal(f"hard-negative records flagged at >= {FLAG_AT.label}", str(GOAL_HARD_NEGATIVES),
                 "no hard-negative data" if not o.hard_negative_records else f"{o.hard_negative_flagged} of {o.hard_negative_records}",
                 o.hard_negative_flagged <= GOAL_HARD_NEGATIVES),
            Goal("provider files with fingerprints confidently attributed to their provider", "all",
                 f"{o.expected_right} of {o.expected_files}", o.expected_right == o.expected_files),
            Goal("provider files confidently attributed to another provider", "0",
                 str(o.verdicts.get(WRONG, 0)), not o.verdicts.get(WRONG, 0)),
        ]
        return goals

    def to_dict(self) -> dict[str, Any]:
        from tos_lint import __version__

        return {
            "tos_lint_version": __version__,
            "labels": str(self.labels.path), "root": str(self.labels.root),
            "text_only": self.text_only, "ignored_rules": list(self.ignored), "packs": self.packs,
            "definitions": {
                "hits": "records (not findings) with at least one finding of the rule",
                "precision": "right-provider hits / hits on labelled data (provider + human + hard-negative); "
                             "for provider 'unknown' rules any provider's data counts as right",
                "flagged": f"a record's most severe finding is at or above '{FLAG_AT.label}'",
            },
            "overall": self.overall.to_dict(),
            "goals": [g.to_dict() for g in self.goals()],
            "rules": [r.to_dict() for r in self.rules],
            "files": [f.to_dict() for f in self.files],
            "attribution_overall": self.attribution.overall.to_dict(),
            "seconds": round(self.seconds, 3),
        }


# --- evaluation ----------------------------------------------------------------------

def evaluate(
    labels: Labels | str | Path,
    *,
    rules: Sequence[str | Path] = (),
    use_default_rules: bool = True,
    ignore: Sequence[str] = (),
    text_only: bool = False,
    root: str | Path | None = None,
    registry: Any = None,
    ruleset: Any = None,
) -> Evaluation:
    """Scan every labelled file and measure each rule against the labels.

    `ignore` drops rules by id or dotted prefix; `text_only` drops rules that
    match record fields (provenance metadata such as a `generator` column), to
    measure what the text alone gives away."""
    import time

    from tos_lint.api import load_ruleset, scan
    from tos_lint.detect import RuleSet
    from tos_lint.policy import rule_matches
    from tos_lint.registry import load_registry

    started = time.perf_counter()
    registry = registry or load_registry()
    if not isinstance(labels, Labels):
        labels = load_labels(labels, root=root, providers=registry.providers)
    ruleset = ruleset or load_ruleset(rules, use_default_rules, registry)
    if ignore or text_only:
        kept_packs = [
            replace(p, rules=[r for r in p.rules
                              if not any(rule_matches(r.id, i) for i in ignore)
                              and not (text_only and r.is_field_rule)])
            for p in ruleset.packs
        ]
        ruleset = RuleSet([p for p in kept_packs if p.rules])
    if not ruleset.rules:
        raise UsageError("no rules to evaluate (check --rules, --no-default-rules and --ignore)")
    result = scan([str(f.path) for f in labels.files], ruleset=ruleset, registry=registry)
    by_path = {str(f.path): f for f in labels.files}
    evaluation = _measure(labels, ruleset.rules, result.files, by_path, _by_path(result.findings))
    evaluation.text_only = text_only
    evaluation.ignored = tuple(ignore)
    evaluation.packs = [p.path for p in ruleset.packs]
    evaluation.seconds = time.perf_counter() - started
    return evaluation


def _by_path(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        out[f.location.path].append(f)
    return out


def _measure(labels: Labels, rules: list[Any], file_results: list[Any], by_path: dict[str, LabelledFile],
             findings: Mapping[str, list[Finding]]) -> Evaluation:
    stats = {r.id: RuleStats(r.id, r.provider, r.severity.label, r.evidence, r.pack) for r in rules}
    files: list[FileEval] = []
    overall = Overall()
    all_findings: list[Finding] = []
    records_per_file: dict[str, int] = {}
    for fr in file_results:
        lf = by_path[fr.path]
        label = lf.label
        evidence = [f for f in findings.get(fr.path, ()) if is_evidence(f)]
        issues = _input_issues([f for f in findings.get(fr.path, ()) if not is_evidence(f)])
        # Re-home findings on the shown path so the attribution speaks of it.
        evidence = [replace(f, location=replace(f.location, path=lf.shown)) for f in evidence]
        all_findings.extend(evidence)
        records_per_file[lf.shown] = fr.stats.records
        fe = FileEval(lf.shown, label, fr.stats.records, input_issues=issues)
        worst: dict[tuple[Any, ...], Severity] = {}
        rule_records: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        for f in evidence:
            key = record_key(f)
            worst[key] = max(worst.get(key, Severity.INFO), f.severity)
            rule_records[f.rule_id].add(key)
            if f.rule_id in stats:
                stats[f.rule_id].findings += 1
        right_keys = {record_key(f) for f in evidence if label.kind == "provider" and f.provider == label.provider}
        fe.right_provider_records = len(right_keys)
        fe.flagged = len(worst)
        fe.by_max_severity = Counter(s.label for s in worst.values())
        fe.top_rules = sorted(((r, len(k)) for r, k in rule_records.items()), key=lambda kv: (-kv[1], kv[0]))[:TOP_RULES]
        for rule_id, keys in rule_records.items():
            rs = stats.get(rule_id)
            if rs is None:  # a finding from outside the rule packs (e.g. near-duplicates)
                rs = stats[rule_id] = RuleStats(rule_id, evidence_provider(evidence, rule_id), "-", "-", "-")
            _count(rs, label, len(keys))
        files.append(fe)
        _tally(overall, fe)
    attribution = attribute_scan(all_findings, records_per_file, overall_label="(all labelled files)")
    for fe, fa in zip(files, attribution.files):
        fe.attribution = fa
        if fe.label.kind == "provider":
            verdict = fe.verdict or UNATTRIBUTED
            overall.verdicts[verdict] += 1
            if fe.label.fingerprints and fe.scanned:
                overall.expected_files += 1
                overall.expected_right += verdict == RIGHT
    rule_list = sorted(stats.values(), key=lambda r: (-r.false_positives, -r.hits, r.rule_id))
    return Evaluation(labels, rule_list, files, overall, attribution)


def _input_issues(findings: list[Finding]) -> list[str]:
    """Input problems of a file, one line per kind: "malformed-json (3 records): ..."."""
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for f in findings:
        code = f.rule_id.rsplit(".", 1)[-1]
        counts[code] += 1
        first.setdefault(code, f.message)
    return [f"{code}{f' (x{n})' if n > 1 else ''}: {first[code]}" for code, n in counts.items()]


def evidence_provider(findings: list[Finding], rule_id: str) -> str:
    return next((f.provider for f in findings if f.rule_id == rule_id), "unknown")


def _count(rs: RuleStats, label: Label, records: int) -> None:
    if label.kind == "human":
        rs.human += records
    elif label.kind == "hard-negative":
        rs.hard_negative += records
    elif label.kind == "unlabelled":
        rs.unlabelled += records
    elif rs.provider == "unknown" or rs.provider == label.provider:
        rs.right_provider += records
    else:
        rs.other_provider += records
        rs.other_by_provider[label.provider or "?"] += records


def _tally(overall: Overall, fe: FileEval) -> None:
    overall.records += fe.records
    if not fe.scanned:
        overall.not_scanned.append(f"{fe.path} ({'; '.join(fe.input_issues)})")
    flagged = fe.flagged_at(FLAG_AT)
    if fe.label.kind == "human":
        overall.human_records += fe.records
        overall.human_flagged += flagged
    elif fe.label.kind == "hard-negative":
        overall.hard_negative_records += fe.records
        overall.hard_negative_flagged += flagged
    elif fe.label.kind == "provider":
        overall.provider_files += 1
        overall.provider_records += fe.records
        overall.provider_records_right += fe.right_provider_records


def worst_rules(evaluation: Evaluation, limit: int = 15) -> list[RuleStats]:
    """Rules with false positives (human, hard-negative or another provider's
    data), most first; ties broken by severity."""
    order = {s.label: s for s in Severity}
    bad = [r for r in evaluation.rules if r.false_positives]
    bad.sort(key=lambda r: (-(r.human + r.hard_negative), -r.false_positives,
                            -(order[r.severity] if r.severity in order else 0), r.rule_id))
    return bad[:limit]
