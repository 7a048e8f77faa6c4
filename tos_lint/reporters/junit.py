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

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

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
    root = document(result, verdict)
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")


def document(result: "ScanResult", verdict: "Verdict") -> ET.Element:
    by_file = _cases_by_file(verdict.outcomes)
    root = ET.Element("testsuites", name="tos-lint")
    paths = [r.path for r in result.files] + [p for p in by_file if p not in {r.path for r in result.files}]
    records = {r.path: r.stats.records for r in result.files}
    for path in paths:
        root.append(_suite(path, by_file.get(path, {}), records.get(path, 0)))
    _sum_counts(root, root.findall("testsuite"))
    root.set("time", f"{result.stats.seconds:.3f}")
    return root


def _cases_by_file(outcomes: list[Outcome]) -> dict[str, dict[str, _Case]]:
    """Group outcomes by file, then by record; each input problem is its own case."""
    by_file: dict[str, dict[str, _Case]] = {}
    for o in outcomes:
        if o.status not in CASE_STATUSES:  # allowed or ignored by configuration
            continue
        name = _case_name(o.finding)
        case = by_file.setdefault(o.finding.location.path, {}).setdefault(name, _Case(name))
        case.outcomes.append(o)
    return by_file


def _is_input(f: Finding) -> bool:
    return f.rule_id.startswith(INPUT_RULE_PREFIX)


def _case_name(f: Finding) -> str:
    loc = f.location
    where = f"line {loc.line}" if loc.line is not None else (f"record [{loc.index}]" if loc.index is not None else "file")
    if _is_input(f):
        return f"{where}: {f.rule_id}"
    return f"{where} (id {loc.record_id})" if loc.record_id else where


def _suite(path: str, cases: dict[str, _Case], records: int) -> ET.Element:
    suite = ET.Element("testsuite", name=_clean(path))
    ET.SubElement(suite, "properties").append(ET.Element("property", name="records", value=str(records)))
    for case in cases.values():
        suite.append(_testcase(path, case))
    if not cases:
        ET.SubElement(suite, "testcase", classname=_clean(path), name=f"scanned {records} records: no findings")
    _sum_counts(suite, suite.findall("testcase"))
    return suite


def _testcase(path: str, case: _Case) -> ET.Element:
    el = ET.Element("testcase", classname=_clean(path), name=_clean(case.name))
    reported = [o for o in case.outcomes if o.status in REPORTED]
    inputs = [o for o in reported if _is_input(o.finding)]
    failing = [o for o in reported if o.status == "fail"]
    shown = [o for o in reported if o.status != "fail"]
    if inputs:
        _child(el, "error", inputs[0].finding.message, inputs[0].finding.rule_id, _details(inputs))
    elif failing:
        _child(el, "failure", _summary(failing), failing[0].finding.rule_id, _details(failing + shown))
    elif shown:
        ET.SubElement(el, "system-out").text = _clean(_details(shown))
    else:  # every finding of the record is baselined or suppressed
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


def _sum_counts(el: ET.Element, children: list[ET.Element]) -> None:
    """Set tests/failures/errors/skipped on a suite (from its cases) or on the
    root (from its suites)."""
    if el.tag == "testsuite":
        counts = {
            "tests": len(children),
            "failures": sum(1 for c in children if c.find("failure") is not None),
            "errors": sum(1 for c in children if c.find("error") is not None),
            "skipped": sum(1 for c in children if c.find("skipped") is not None),
        }
    else:
        counts = {k: sum(int(c.get(k, "0")) for c in children) for k in ("tests", "failures", "errors", "skipped")}
    for key, value in counts.items():
        el.set(key, str(value))


def _clean(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)
