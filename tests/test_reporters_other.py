"""`--format junit`, `--format github` and `--format markdown`, through the
real command line on generated data, plus the escaping rules on their own."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import rule, write_jsonl, write_pack
from tos_lint.baseline import write_baseline
from tos_lint.model import Finding, Location, Severity
from tos_lint.reporters import FORMATS, github, markdown


def make_pack(directory: Path) -> Path:
    def r(rid: str, phrase: str, severity: str, provider: str) -> dict[str, Any]:
        return rule(rid, [{"phrase": phrase}], severity=severity, provider=provider, message=f"says {phrase}",
                    examples={"match": [phrase + "."], "no_match": ["Hello there."]})

    return write_pack(directory / "pack.yaml", [
        r("test.chatgpt", "I am ChatGPT", "high", "openai"),
        r("test.gemini", "I am Gemini", "medium", "google"),
        r("test.bard", "I am Bard", "low", "google"),
    ], name="test-pack")


def make_dataset(root: Path) -> None:
    """data/a.jsonl: ChatGPT (high) on line 1, clean line 2, malformed line 3,
    Gemini (medium) on line 4; data/arr.json: ChatGPT at element 1;
    data/clean.jsonl: nothing to find."""
    data = root / "data"
    data.mkdir()
    a = data / "a.jsonl"
    write_jsonl(a, [{"id": "r1", "text": "I am ChatGPT, hello."}, {"text": "The sky is blue."}])
    with a.open("a", encoding="utf-8") as out:
        out.write('{"text": oops\n')
        out.write(json.dumps({"text": "Well, I am Gemini."}) + "\n")
    (data / "arr.json").write_text(json.dumps([{"text": "clean"}, {"text": "I am ChatGPT."}]), encoding="utf-8")
    write_jsonl(data / "clean.jsonl", [{"text": "nothing"}, {"text": "to see"}])


def cli(tmp_path: Path, fmt: str, *extra: str, target: str = "data") -> subprocess.CompletedProcess[str]:
    pack = make_pack(tmp_path)
    env = dict(os.environ)
    env.pop("TOS_LINT_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tos_lint", "scan", target, "--no-default-rules", "--rules", str(pack),
         "--isolated", "--format", fmt, *extra],
        cwd=tmp_path, capture_output=True, text=True, encoding="utf-8", timeout=120, env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_formats_are_registered() -> None:
    assert {"sarif", "junit", "github", "markdown"} <= set(FORMATS)


# --- junit ------------------------------------------------------------------------------

@pytest.fixture
def junit(tmp_path: Path) -> ET.Element:
    make_dataset(tmp_path)
    return ET.fromstring(cli(tmp_path, "junit").stdout)


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {s.get("name", ""): s for s in root.findall("testsuite")}


def test_junit_has_a_suite_per_file(junit: ET.Element) -> None:
    assert junit.tag == "testsuites"
    assert set(suites(junit)) == {"data/a.jsonl", "data/arr.json", "data/clean.jsonl"}


def test_junit_failure_for_failing_record_error_for_malformed_line(junit: ET.Element) -> None:
    cases = {c.get("name"): c for c in suites(junit)["data/a.jsonl"].findall("testcase")}
    failing = cases["line 1 (id r1)"]
    assert failing.find("failure") is not None
    assert "test.chatgpt" in (failing.find("failure").get("message") or "")  # type: ignore[union-attr]
    malformed = next(c for name, c in cases.items() if name and name.startswith("line 3"))
    assert malformed.find("error") is not None and malformed.find("failure") is None
    medium = next(c for name, c in cases.items() if name and name.startswith("line 4"))
    # Below the default threshold (high): reported, passing, details kept in system-out.
    assert medium.find("failure") is None and medium.find("error") is None
    assert "test.gemini" in (medium.findtext("system-out") or "")


def test_junit_array_record_and_clean_file(junit: ET.Element) -> None:
    [arr_case] = suites(junit)["data/arr.json"].findall("testcase")
    assert (arr_case.get("name") or "").startswith("record [1]")
    assert arr_case.find("failure") is not None
    [clean_case] = suites(junit)["data/clean.jsonl"].findall("testcase")
    assert clean_case.find("failure") is None and "2 records" in (clean_case.get("name") or "")


def test_junit_counts_add_up(junit: ET.Element) -> None:
    for suite in junit.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors", "-1")) == sum(c.find("error") is not None for c in cases)
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("5", "2", "1")


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    """XML 1.0 cannot carry U+0001 even escaped; one in a snippet must not
    make the whole report unparseable."""
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "x.jsonl", [{"text": "\u0001 I am ChatGPT \u0000 <&>\"'"}])
    root = ET.fromstring(cli(tmp_path, "junit").stdout)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "I am ChatGPT" in (failure.text or "")
    assert "<&>" in (failure.text or "")


def test_junit_baselined_record_is_skipped(tmp_path: Path) -> None:
    import tos_lint

    make_dataset(tmp_path)
    found = tos_lint.scan([str(tmp_path / "data")], rules=[make_pack(tmp_path)], use_default_rules=False).findings
    write_baseline(tmp_path / "b.json", [f for f in found if f.location.record_id == "r1"])
    proc = cli(tmp_path, "junit", "--baseline", "b.json")
    case = next(c for c in ET.fromstring(proc.stdout).iter("testcase") if c.get("name") == "line 1 (id r1)")
    assert case.find("skipped") is not None and case.find("failure") is None


# --- github -------------------------------------------------------------------------------

COMMAND = re.compile(r"^::(error|warning|notice) ((?:[a-z]+=[^,:]*)(?:,[a-z]+=[^,:]*)*)::(.*)$")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    m = COMMAND.match(line)
    assert m, line
    props = dict(p.split("=", 1) for p in m.group(2).split(","))
    return m.group(1), props, m.group(3)


def test_github_one_line_per_reported_finding(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    lines = cli(tmp_path, "github").stdout.splitlines()
    parsed = [parse_command(line) for line in lines]
    got = sorted((props["file"], props.get("line"), props["title"], level) for level, props, _ in parsed)
    assert got == sorted([
        ("data/a.jsonl", "1", "test.chatgpt", "error"),
        ("data/a.jsonl", "3", "tos-lint.input.malformed-json", "warning"),
        ("data/a.jsonl", "4", "test.gemini", "warning"),
        ("data/arr.json", None, "test.chatgpt", "error"),
    ])
    chatgpt = next(msg for _, props, msg in parsed if props["title"] == "test.chatgpt" and "line" in props)
    assert chatgpt == "says I am ChatGPT (openai, high)"
    arr = next(msg for _, props, msg in parsed if props["file"] == "data/arr.json")
    assert "record [1]" in arr


def test_github_low_severity_is_a_notice(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "x.jsonl", [{"text": "I am Bard."}])
    [line] = cli(tmp_path, "github").stdout.splitlines()
    assert line.startswith("::notice file=data/x.jsonl,line=1,title=test.bard::")


def test_github_escapes_file_names(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "odd,name:100%.jsonl", [{"text": "I am ChatGPT."}])
    [line] = cli(tmp_path, "github").stdout.splitlines()
    _, props, _ = parse_command(line)
    assert props["file"] == "data/odd%2Cname%3A100%25.jsonl"


def unescape(value: str) -> str:
    """The runner's decoding, written independently: %XX back to the character."""
    return re.sub("%(25|0D|0A|3A|2C)", lambda m: bytes.fromhex(m.group(1)).decode(), value)


@pytest.mark.parametrize("text", ["100% sure", "a\r\nb", "x:y,z", "%0A literal", "::error::injected"])
def test_github_escaping_round_trips(text: str) -> None:
    data, prop = github.escape_data(text), github.escape_property(text)
    assert "\n" not in data and "\r" not in data
    assert ":" not in prop and "," not in prop
    assert unescape(data) == text and unescape(prop) == text


def finding(message: str, path: str = "d.jsonl", line: int | None = 2, snippet: str = "",
            highlight: tuple[int, int] = (0, 0), severity: Severity = Severity.HIGH) -> Finding:
    return Finding(rule_id="x.rule", provider="openai", severity=severity, confidence=0.5, evidence="self-id",
                   message=message, location=Location(path, line, None, "/text", "rid"),
                   snippet=snippet, highlight=highlight, fingerprint="f" * 32)


def test_github_message_with_newline_stays_one_command() -> None:
    line = github.command(finding("first\n::error::second"))
    assert "\n" not in line
    level, props, msg = parse_command(line)
    assert (level, props["line"]) == ("error", "2")
    assert unescape(msg) == "first\n::error::second (openai, high)"


# --- markdown -------------------------------------------------------------------------------

@pytest.fixture
def md(tmp_path: Path) -> str:
    make_dataset(tmp_path)
    return cli(tmp_path, "markdown").stdout


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows of the first table after `heading`, split on unescaped pipes."""
    block = text.split(heading, 1)[1].split("\n", 1)[1].lstrip("\n")  # past the heading's line
    rows = []
    for line in block.splitlines():
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows[2:]  # header and separator


def test_markdown_verdict_in_plain_words(md: str) -> None:
    assert "**Result: fails.** 2 finding(s)" in md
    assert "Scanned 7 record(s) in 3 file(s)" in md
    assert "1 input problem(s)" in md


def test_markdown_passing_verdict(tmp_path: Path) -> None:
    make_dataset(tmp_path)
    assert "**Result: passes.**" in cli(tmp_path, "markdown", "--fail-on", "critical").stdout


def test_markdown_provider_and_severity_tables(md: str) -> None:
    providers = {row[0]: row for row in table_after(md, "### By provider")}
    assert providers["OpenAI"][1:] == ["forbids-competing", "2", "2", "28.57 %"]  # 2 of 7 records
    assert providers["Google"][2:] == ["1", "1", "14.29 %"]
    severities = dict((row[0], row[1]) for row in table_after(md, "### By severity"))
    assert severities == {"high": "2", "medium": "2"}  # the malformed line counts as medium


def test_markdown_examples_terms_and_disclaimer(md: str) -> None:
    examples = table_after(md, "### Examples")
    assert ["data/a.jsonl:1", "test.chatgpt", "high", "fail"] == examples[0][:4]
    assert "**I am ChatGPT**" in examples[0][4]
    assert "https://openai.com/policies/" in md.split("### Terms cited", 1)[1]
    assert md.rstrip().endswith("_Not legal advice; classifications are heuristic summaries of public terms as of the reviewed date._")


def test_markdown_examples_are_capped(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "many.jsonl", [{"text": f"{i}: I am ChatGPT."} for i in range(markdown.MAX_EXAMPLES + 5)])
    out = cli(tmp_path, "markdown").stdout
    assert len(table_after(out, "### Examples")) == markdown.MAX_EXAMPLES
    assert f"### Examples ({markdown.MAX_EXAMPLES} of {markdown.MAX_EXAMPLES + 5})" in out


def test_markdown_snippet_cannot_break_the_table(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "x.jsonl", [{"text": "a | b `code` <b>@octocat</b> | I am ChatGPT | c\nd"}])
    out = cli(tmp_path, "markdown").stdout
    [row] = table_after(out, "### Examples")
    assert len(row) == 5
    evidence = row[4]
    assert "\\|" in evidence and "\\`code\\`" in evidence and "\\<b\\>" in evidence
    assert "@octocat" not in out  # broken with a word joiner: no mention on the PR
    assert "\n" not in evidence


def test_markdown_shows_control_characters_escaped(tmp_path: Path) -> None:
    """A NUL or an escape sequence in the data must not reach the page (or
    the terminal the Markdown is read in) as raw bytes."""
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "x.jsonl", [{"text": "I am ChatGPT. \x00\x1b[31mRED\x9b"}])
    out = cli(tmp_path, "markdown").stdout
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), out
    [row] = table_after(out, "### Examples")
    assert "\\\\x00\\\\x1b\\[31mRED\\\\x9b" in row[4]  # backslashes escaped: rendered as \x00\x1b[31mRED\x9b


def test_github_shows_control_characters_escaped() -> None:
    line = github.command(finding("says \x1b[2Jhi\x07", path="d\x1b.jsonl"))
    assert "\x1b" not in line and "\x07" not in line
    level, props, msg = parse_command(line)
    assert props["file"] == "d\\x1b.jsonl" and msg == "says \\x1b[2Jhi\\x07 (openai, high)"


@pytest.mark.parametrize("snippet, highlight, want", [
    ("I am ChatGPT here", (0, 12), "**I am ChatGPT** here"),
    ("say I am ChatGPT", (3, 16), "say **I am ChatGPT**"),  # leading space kept outside the bold
    ("no match", (0, 0), "no match"),
    ("x" * 300 + "HIT" + "y" * 300, (300, 303), "…" + "x" * 48 + "**HIT**" + "y" * 48 + "…"),
])
def test_markdown_snippet_window(snippet: str, highlight: tuple[int, int], want: str) -> None:
    assert markdown.snippet(finding("m", snippet=snippet, highlight=highlight)) == want


# --- console -------------------------------------------------------------------

_SGR = re.compile(r"\x1b\[[0-9;]*m")


def console_output(root: Path, **env: str) -> str:
    """The console report of a record whose text holds a terminal escape
    sequence, a bell and a tab, written to a pipe (plain text) or, with
    FORCE_COLOR, in colour."""
    root.mkdir(exist_ok=True)
    make_dataset(root)
    write_jsonl(root / "data" / "esc.jsonl", [{"text": "I am ChatGPT\x1b[2J\x07\tand more."}])
    pack = make_pack(root)
    proc = subprocess.run(
        [sys.executable, "-m", "tos_lint", "scan", "data", "--no-default-rules", "--rules", str(pack),
         "--isolated", "--format", "console"],
        cwd=root, capture_output=True, text=True, encoding="utf-8", timeout=120,
        env=dict(os.environ, COLUMNS="300", **env),
    )
    assert proc.returncode == 1, proc.stderr
    return proc.stdout


def test_console_shows_control_characters_escaped(tmp_path: Path) -> None:
    out = console_output(tmp_path)
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J\\x07 and more" in out


def test_console_shows_control_characters_of_a_file_name_escaped(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write_jsonl(tmp_path / "data" / "e\x1b[2J.jsonl", [{"text": "I am ChatGPT."}])
    out = cli(tmp_path, "console").stdout
    assert "\x1b" not in out
    assert out.count("data/e\\x1b[2J.jsonl") == 2  # the findings' heading and the evidence summary


def test_console_colour_and_plain_say_the_same(tmp_path: Path) -> None:
    plain = console_output(tmp_path / "plain")
    coloured = console_output(tmp_path / "colour", FORCE_COLOR="1")
    assert _SGR.search(coloured), "FORCE_COLOR should give a coloured report"
    assert "\x1b[2J" not in coloured
    findings = plain.split("Summary")[0]
    assert "esc.jsonl" in findings and "test.chatgpt" in findings
    assert _SGR.sub("", coloured).split("Summary")[0] == findings


def test_console_severity_counts_are_those_of_the_findings_listed(tmp_path: Path) -> None:
    """An ignored rule's findings are not listed, so not counted in the
    summary either: two `I am ChatGPT` (high), one malformed line (medium),
    and the ignored `I am Gemini` (medium) nowhere."""
    make_dataset(tmp_path)
    out = cli(tmp_path, "console", "--ignore", "test.gemini").stdout
    summary = out.split("Summary")[1]
    rows = dict(re.findall(r"^\s*(findings|high|medium)\s+(\d+)", summary, re.MULTILINE))
    assert rows == {"findings": "3", "high": "2", "medium": "1"}, summary
    by_provider = dict(re.findall(r"^│ (\w+)\s+│\s+(\d+) │", summary, re.MULTILINE))
    assert by_provider == {"openai": "2", "none": "1"}, summary
