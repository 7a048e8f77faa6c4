"""`--format junit`: JUnit XML for CI test reports (GitLab, Jenkins, Azure, ...).

CI UIs know tests, not findings, so the mapping is:

- one `<testsuite>` per file scanned (every file, so a clean file shows as
  passing rather than missing);
- one `<testcase>` per flagged record (classname = file, name = where the
  record is). It carries a `<failure>` when any of its findings has status
  `fail`; otherwise it passes, and its findings (status pass or review) are
  listed in `<system-out>` so nothing reported is lost;
- one `<testcase>` with an `<error>` per reported input problem
  (`tos-lint.input.*`), whatever its severity: an unreadable record is a test
  that could not run;
- a record (or input problem) whose findings are all baselined or suppressed
  is `<skipped>`; findings that configuration allows or ignores are left out;
- a file with no other test case gets one passing "scanned" case, because
  several CI parsers treat an empty suite as an error.
"""
from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TextIO

from tos_lint.model import Finding
from tos_lint.policy import INPUT_RULE_PREFIX, REPORTED, Outcome

if TYPE_CHECKING:
    from tos_lint.api import ScanResult
    from tos_lint.policy import Verdict

CASE_STATUSES = frozenset({"fail", "pass", "review", "baseline", "suppressed"})
# Characters XML 1.0 cannot carry at all, not even escaped; data files can
# hold them (a NUL in a snippet) and one would make the whole report unreadable.
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class _Case:
    """The outcomes of one record (or one input problem) in one file."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)


def render(result: "ScanResult", verdict: "Verdict", stream: TextIO) -> None:
    """Write the report a test case at a time, laid out as `ET.indent` lays
    out the whole tree. Two passes over the outcomes (which may be read from
    disk): the first counts what each suite's tag carries, the second writes
    the cases; neither holds a suite's cases."""
    layout = _Layout.of(verdict.outcomes, [r.path for r in result.files])
    records = {r.path: r.stats.records for r in result.files}
    root = ET.Element("testsuites", name="tos-lint")
    _set_counts(root, {key: sum(c[key] for c in layout.counts.values()) for key in COUNT_KEYS})
    root.set("time", f"{result.stats.seconds:.3f}")
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    if not layout.paths:
        stream.write(ET.tostring(root, encoding="unicode") + "\n")
        return
    stream.write(_start_tag(root))
    cases = _Peekable(layout.cases_in_turn(verdict.outcomes))
    for path in layout.paths:
        suite_cases = itertools.chain(cases.take_while(lambda item: item[0] == path),
                                      ((path, case) for case in layout.late.get(path, {}).values()))
        _write_suite(stream, path, (case for _, case in suite_cases), records.get(path, 0), layout.counts[path])
    stream.write("\n</testsuites>\n")


@dataclass
class _Layout:
    """Which suite each case goes to and what each suite counts: the first
    pass over the outcomes. A record's findings come together, in input
    order, and files one after the other: a run of outcomes of one record is
    a case. An outcome that comes after its file's turn (a file-wide
    finding added once all files were scanned) is held here, in `late`,
    and its case written last in its file's suite."""

    paths: list[str]  # the suites, in order: the files scanned, then any other path a finding names
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    late: dict[str, dict[str, _Case]] = field(default_factory=dict)

    @classmethod
    def of(cls, outcomes: Iterable[Outcome], files: list[str]) -> "_Layout":
        layout = cls(list(dict.fromkeys(files)))
        kinds: dict[str, Counter[str]] = {path: Counter() for path in layout.paths}
        for path, case in layout._cases(outcomes, first_pass=True):
            kinds[path][_Reported.of(case).kind] += 1
        for path, cases in layout.late.items():
            kinds[path].update(_Reported.of(case).kind for case in cases.values())
        layout.counts = {path: {"tests": max(sum(k.values()), 1), "failures": k["failure"], "errors": k["error"],
                                "skipped": k["skipped"]} for path, k in kinds.items()}
        return layout

    def cases_in_turn(self, outcomes: Iterable[Outcome]) -> Iterator[tuple[str, _Case]]:
        """The second pass: each case with its file, those held in `late` left out."""
        return self._cases(outcomes, first_pass=False)

    def _cases(self, outcomes: Iterable[Outcome], first_pass: bool) -> Iterator[tuple[str, _Case]]:
        # Both passes judge which outcomes are late alike: the paths the
        # first one adds take the same turns the second one finds them in.
        turn = {path: i for i, path in enumerate(self.paths)}
        now = -1  # the turn of the file being read
        case: _Case | None = None
        case_path = ""
        for o in outcomes:
            if o.status not in CASE_STATUSES:  # allowed or ignored by configuration: left out
                continue
            path, name = o.finding.location.path, _case_name(o.finding)
            if path not in turn:  # a path no file scanned has (first pass only)
                turn[path] = len(self.paths)
                self.paths.append(path)
            if turn[path] < now:
                if first_pass:
                    self.late.setdefault(path, {}).setdefault(name, _Case(name)).outcomes.append(o)
                continue
            now = turn[path]
            if case is None or (path, name) != (case_path, case.name):
                if case is not None:
                    yield case_path, case
                case, case_path = _Case(name), path
            case.outcomes.append(o)
        if case is not None:
            yield case_path, case


class _Peekable:
    """An iterator whose next item can be looked at before it is taken."""

    def __init__(self, items: Iterator[tuple[str, _Case]]):
        self._items = items
        self._next: tuple[str, _Case] | None = next(items, None)

    def take_while(self, wanted: Callable[[tuple[str, _Case]], bool]) -> Iterator[tuple[str, _Case]]:
        while self._next is not None and wanted(self._next):
            item, self._next = self._next, next(self._items, None)
            yield item


def _write_suite(stream: TextIO, path: str, cases: Iterator[_Case], records: int, counts: dict[str, int]) -> None:
    """One `<testsuite>`, its cases made and written one at a time."""
    suite = ET.Element("testsuite", name=_clean(path))
    _set_counts(suite, counts)
    stream.write(f"\n{_INDENT}{_start_tag(suite)}")
    properties = ET.Element("properties")
    properties.append(ET.Element("property", name="records", value=str(records)))
    first = next(cases, None)
    cases_made = ((_testcase(path, case) for case in itertools.chain([first], cases)) if first is not None
                  else iter([_scanned(path, records)]))
    for child in itertools.chain([properties], cases_made):
        ET.indent(child, space=_INDENT, level=2)
        stream.write(f"\n{_INDENT * 2}{ET.tostring(child, encoding='unicode')}")
    stream.write(f"\n{_INDENT}</testsuite>")


_INDENT = "  "
COUNT_KEYS = ("tests", "failures", "errors", "skipped")


def _start_tag(el: ET.Element) -> str:
    """`<tag attr="...">` as `ET.tostring` writes it (attribute values have
    `>` escaped, so the first one closes the tag)."""
    el.text = "-"  # with a text, the tag is written open, not as `<tag />`
    text = ET.tostring(el, encoding="unicode")
    el.text = None
    return text[:text.index(">") + 1]


def _scanned(path: str, records: int) -> ET.Element:
    """The passing case of a file with no other: several CI parsers treat an
    empty suite as an error."""
    return ET.Element("testcase", classname=_clean(path), name=f"scanned {records} records: no findings")


def _is_input(f: Finding) -> bool:
    return f.rule_id.startswith(INPUT_RULE_PREFIX)


def _case_name(f: Finding) -> str:
    loc = f.location
    where = f"line {loc.line}" if loc.line is not None else (f"record [{loc.index}]" if loc.index is not None else "file")
    if _is_input(f):
        return f"{where}: {f.rule_id}"
    return f"{where} (id {loc.record_id})" if loc.record_id else where


@dataclass
class _Reported:
    """A case's reported outcomes: input problems, failing, the others."""

    inputs: list[Outcome]
    failing: list[Outcome]
    shown: list[Outcome]

    @classmethod
    def of(cls, case: _Case) -> "_Reported":
        reported = [o for o in case.outcomes if o.status in REPORTED]
        return cls([o for o in reported if _is_input(o.finding)], [o for o in reported if o.status == "fail"],
                   [o for o in reported if o.status != "fail"])

    @property
    def kind(self) -> str:
        """The case's child: error, failure, system-out, or skipped when every
        finding of the record is baselined or suppressed."""
        return "error" if self.inputs else "failure" if self.failing else "system-out" if self.shown else "skipped"


def _set_counts(el: ET.Element, counts: dict[str, int]) -> None:
    for key in COUNT_KEYS:
        el.set(key, str(counts[key]))


def _testcase(path: str, case: _Case) -> ET.Element:
    el = ET.Element("testcase", classname=_clean(path), name=_clean(case.name))
    reported = _Reported.of(case)
    inputs, failing, shown = reported.inputs, reported.failing, reported.shown
    if reported.kind == "error":
        _child(el, "error", inputs[0].finding.message, inputs[0].finding.rule_id, _details(inputs))
    elif reported.kind == "failure":
        _child(el, "failure", _summary(failing), failing[0].finding.rule_id, _details(failing + shown))
    elif reported.kind == "system-out":
        ET.SubElement(el, "system-out").text = _clean(_details(shown))
    else:
        reasons = sorted({o.status + (f": {o.reason}" if o.reason else "") for o in case.outcomes})
        ET.SubElement(el, "skipped", message=_clean("; ".join(reasons)))
    return el


def _child(parent: ET.Element, tag: str, message: str, kind: str, body: str) -> None:
    child = ET.SubElement(parent, tag, message=_clean(message), type=_clean(kind))
    child.text = _clean(body)


def _summary(failing: list[Outcome]) -> str:
    rules = sorted({o.finding.rule_id for o in failing})
    return f"{len(failing)} failing finding(s): {', '.join(rules)}"


def _details(outcomes: list[Outcome]) -> str:
    return "\n".join(_line(o) for o in outcomes)


def _line(o: Outcome) -> str:
    f = o.finding
    head = f"[{o.status}] {f.severity.label} {f.rule_id} ({f.provider}): {f.message}"
    where = f"  at {f.location.display()} {f.location.pointer}".rstrip()
    snippet = f"\n  > {f.snippet}" if f.snippet else ""
    return f"{head}\n{where}{snippet}\n  fingerprint {f.fingerprint}"


def _clean(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)
