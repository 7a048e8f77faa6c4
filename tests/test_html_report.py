"""`--format html` and `tos-lint report`: the page itself, and the page in a
real headless Chromium driven over the DevTools protocol.

The browser tests load the report from disk and check what a reviewer's
browser would do: no console error or exception, no network request other
than the file itself, the key numbers in the DOM, the evidence filter
working, and a screenshot that is not blank. They are skipped only when
Chromium is not installed (`scripts/system-deps.sh` installs Debian's
`chromium`). Set TOS_LINT_SCREENSHOT_DIR to keep the screenshots.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.helpers import write_jsonl
from tos_lint.reporters import FORMATS, get_renderer
from tos_lint.reporters import html as html_report

CHROMIUM = next((p for p in (os.environ.get("TOS_LINT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"))
                 if p and os.path.exists(p)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/system-deps.sh installs it)")

SECRET = "TOP-SECRET-SNIPPET-TEXT"
INJECTION = ("<img src=\"https://example.invalid/pixel.png\" onerror=\"console.error('xss')\"> "
             "</td></tr><script>console.error('xss')</script>")


# --- data --------------------------------------------------------------------------------

def _chat(i: int, answer: str) -> dict[str, Any]:
    return {"id": f"r{i}", "messages": [{"role": "user", "content": "Who are you?"},
                                        {"role": "assistant", "content": answer}]}


def make_data(root: Path) -> Path:
    """10 records: 3 say they are ChatGPT (one with HTML injection, one with a
    secret-looking string), 2 say they are Claude, 5 are clean."""
    data = root / "data"
    data.mkdir()
    write_jsonl(data / "chat.jsonl", [
        _chat(1, f"{SECRET} I am ChatGPT, a large language model trained by OpenAI."),
        _chat(2, f"Hello! {INJECTION} I am ChatGPT, a large language model trained by OpenAI."),
        _chat(3, "I am ChatGPT, developed by OpenAI."),
        _chat(4, "I'm Claude, an AI assistant created by Anthropic."),
        _chat(5, "I am Claude, made by Anthropic."),
        *(_chat(i, f"The answer is {i}.") for i in range(6, 11)),
    ])
    return data


def run_tos_lint(args: list[str], cwd: Path, cache: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TOS_LINT_CACHE_DIR=cache)
    env.pop("TOS_LINT_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "tos_lint", *args], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", timeout=300, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same data scanned once to HTML and once to JSON, through the real CLI."""
    root = tmp_path_factory.mktemp("html")
    make_data(root)
    cache = str(root / "cache")  # this module's own: the second scan reuses the compiled rules
    html_proc = run_tos_lint(["scan", "data", "--isolated", "--format", "html", "-o", "report.html"], root, cache)
    assert html_proc.returncode == 1, html_proc.stderr  # ChatGPT and Claude self-ids fail at 'high'
    json_proc = run_tos_lint(["scan", "data", "--isolated", "--format", "json", "-o", "report.json"], root, cache)
    assert json_proc.returncode == 1, json_proc.stderr
    return {"root": root, "html": root / "report.html", "json": root / "report.json"}


def _doc(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _finding(i: int, **over: Any) -> dict[str, Any]:
    f = {"rule_id": "openai.self-id.chatgpt", "provider": "openai", "severity": "high", "confidence": 0.9,
         "evidence": "self-id", "message": "assistant says it is ChatGPT",
         "location": {"path": "d.jsonl", "line": i + 1, "index": None, "pointer": "/messages/1/content", "record_id": f"r{i}"},
         "snippet": "Hi, I am ChatGPT.", "highlight": [4, 16], "fingerprint": f"{i:032x}", "status": "fail"}
    f.update(over)
    return f


def _minimal_doc(findings: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "tool": {"name": "tos-lint", "version": "0.0.test"}, "disclaimer": "Not legal advice.",
        "summary": {"files": 1, "records": 10_000, "records_flagged": len(findings), "malformed": 0, "seconds": 1.5},
        "verdict": {"fail_on": "high", "failing": sum(f["status"] == "fail" for f in findings), "exit_code": 1,
                    "statuses": {"fail": len(findings)}},
        "findings": findings,
        "files": [{"path": "d.jsonl", "records": 10_000, "records_flagged": len(findings), "malformed": 0, "bytes": 1}],
        "providers": {"openai": {"id": "openai", "name": "OpenAI", "classification": "forbids-competing", "terms": [
            {"document": "Terms of Use", "url": "https://openai.com/policies/terms-of-use", "effective_date": "2024-01-31",
             "reviewed_on": "2025-01-01", "summary": "No competing models.", "scope": "api",
             "classification": "forbids-competing", "source_type": "primary", "applies_to": []}]}},
        "manifest": {"tool": {"name": "tos-lint", "version": "0.0.test"}, "packs": [], "registry": {"path": "r", "sha256": "0" * 64},
                     "indexes": [], "inputs": [{"path": "d.jsonl", "size": 10, "sha256": "a" * 64, "records": 10_000}],
                     "options": {"fail_on": "high"}, "started_at": "2025-01-01T00:00:00+00:00",
                     "finished_at": "2025-01-01T00:00:02+00:00"},
        "sample": None, "attribution": None,
    }
    doc.update(extra)
    return doc


class _Tags(HTMLParser):
    """Counts elements and collects attributes, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


# --- the page, without a browser --------------------------------------------------------------

def test_html_is_a_registered_format() -> None:
    assert FORMATS["html"] == "html"
    assert get_renderer("html") is html_report.render


def test_data_is_escaped_everywhere() -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    findings = [_finding(0, snippet=f"{evil} I am ChatGPT", highlight=[len(evil) + 1, len(evil) + 13], message=evil,
                         location={"path": f"{evil}.jsonl", "line": 1, "index": None, "pointer": f"/{evil}", "record_id": evil})]
    doc = _minimal_doc(findings)
    doc["providers"]["openai"]["name"] = evil
    doc["providers"]["openai"]["terms"][0]["url"] = "javascript:alert(3)"
    doc["manifest"]["options"] = {"x": "</script><script>alert(4)</script>"}
    page = html_report.build(doc)
    tags = _tags(page)
    assert [t for t, _ in tags].count("script") == 2  # the embedded manifest and the report's own script
    assert not [t for t, _ in tags if t == "img"]
    assert not any((a.get("href") or "").lower().startswith("javascript") for _, a in tags)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<mark>I am ChatGPT</mark>" in page
    manifest = next(a for t, a in tags if t == "script" and a.get("type") == "application/json")
    assert manifest.get("id") == "tos-lint-manifest"


def test_control_characters_and_lone_surrogates_do_not_break_the_page() -> None:
    doc = _minimal_doc([_finding(0, snippet="a\x00b\x1b[31m\ud800 I am ChatGPT", highlight=[0, 1])])
    page = html_report.build(doc)
    page.encode("utf-8")  # no lone surrogate survives
    assert "\x00" not in page and "\x1b" not in page


def test_no_external_references() -> None:
    page = html_report.build(_minimal_doc([_finding(i) for i in range(3)]))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for tag, attrs in _tags(page):
        assert "src" not in attrs, (tag, attrs)
        if tag == "link":
            assert attrs.get("href", "").startswith("data:"), attrs
    assert not re.search(r"url\(|@import|@font-face", page)
    # The only absolute URLs are the terms links, as plain <a> elements.
    hrefs = [a["href"] for t, a in _tags(page) if t == "a" and (a.get("href") or "").startswith("http")]
    assert hrefs == ["https://openai.com/policies/terms-of-use"]


def test_redact_keeps_snippet_text_out_of_the_file() -> None:
    doc = _minimal_doc([_finding(0, snippet=f"{SECRET} I am ChatGPT", highlight=[len(SECRET) + 1, len(SECRET) + 13])])
    assert SECRET in html_report.build(doc)
    page = html_report.build(doc, redact=True)
    assert SECRET not in page and "I am ChatGPT" not in page.split('id="evidence-table"')[1]
    assert "snippet hidden (--redact)" in page
    assert f"{0:032x}" in page  # the fingerprint still identifies the finding
    assert "openai.self-id.chatgpt" in page


def test_plain_words_verdict() -> None:
    findings = [_finding(i) for i in range(412)]
    page = html_report.build(_minimal_doc(findings))
    text = re.sub(r"<[^>]+>", "", page)
    assert ("412 of 10,000 records (4.1 %) look generated by providers whose terms forbid training competing "
            "models; the scan fails the gate at 'high'") in text
    assert "Providers whose terms forbid it: OpenAI (412 records)." in text
    assert "Not legal advice" in text


def test_evidence_table_is_capped_and_sorted_by_strength() -> None:
    findings = [_finding(i, severity="low", confidence=0.3, status="pass") for i in range(1200)]
    findings.append(_finding(5000, severity="critical", confidence=0.5))
    findings.append(_finding(5001, severity="critical", confidence=0.95))
    page = html_report.build(_minimal_doc(findings), max_rows=500)
    body = page.split('id="evidence-table"')[1].split("</table>")[0]
    rows = re.findall(r"<tr data-severity=\"(\w+)\"", body)
    assert len(rows) == 500
    assert rows[:2] == ["critical", "critical"]
    assert body.index(f"{5001:032x}") < body.index(f"{5000:032x}")  # higher confidence first
    assert "Showing 500 of 1,202 findings; 702 left out" in page


def test_evidence_table_covers_every_rule() -> None:
    loud = [_finding(i, rule_id="openai.api.model-string") for i in range(2000)]
    quiet = [_finding(9000 + i, rule_id="openai.mention.chatgpt", severity="low", confidence=0.2, status="pass")
             for i in range(5)]
    page = html_report.build(_minimal_doc(loud + quiet), max_rows=100)
    body = page.split('id="evidence-table"')[1].split("</table>")[0]
    assert body.count("openai.mention.chatgpt") == 5
    assert body.count("openai.api.model-string") == 95
    assert "cover every rule that fired" in page


def test_sample_section_explains_the_interval() -> None:
    sample = {"method": "uniform random sample of 0.1 of records (seed 0)", "sampled_records": 1000,
              "providers": {"openai": {"records": 41, "share": 0.041, "ci95": [0.0304, 0.0551]}}}
    page = html_report.build(_minimal_doc([_finding(0)], sample=sample))
    assert "we are 95 % confident the true share in the whole of the scanned files lies between 3.0 % and 5.5 %" in page
    assert 'id="sample"' in page


def test_style_attribution_is_a_separate_labelled_box() -> None:
    style = {"kind": "style-attribution", "disclaimer": "Style is probabilistic.",
             "overall": {"n_records": 120, "ranked": [{"provider": "openai", "probability": 0.71, "interval": [0.6, 0.8]}],
                         "top_agreement": 0.93},
             "files": [{"path": "d.jsonl", "n_records": 120, "ranked": [{"provider": "openai", "probability": 0.71}]}]}
    page = html_report.build(_minimal_doc([_finding(0)], style_attribution=style))
    box = page.split('id="style"')[1].split("</section>")[0]
    assert "probabilistic" in box.lower() and "not proof" in box.lower()
    assert "71.0 %" in box
    assert 'id="style"' not in html_report.build(_minimal_doc([_finding(0)]))


def test_near_duplicate_similarity_histogram() -> None:
    near = [_finding(i, rule_id="tos-lint.neardup.match", evidence="near-duplicate", snippet="",
                     detail={"verified_similarity": 0.8 + i * 0.01, "reference_id": f"ref{i}",
                             "reference_source": "refs.jsonl", "provider": "openai"}) for i in range(15)]
    page = html_report.build(_minimal_doc(near))
    section = page.split('id="similarity"')[1].split("</section>")[0]
    assert "<svg" in section and "15 record segments closely match" in section
    assert "matches reference ref3 from refs.jsonl" in page
    assert 'id="similarity"' not in html_report.build(_minimal_doc([_finding(0)]))


# --- tos-lint report ------------------------------------------------------------------------------

def _report_cli(args: list[str]) -> Any:
    """`tos-lint report` through typer, whether or not cli.py has mounted it yet."""
    import typer
    from typer.testing import CliRunner

    from tos_lint.cli_report import report

    app = typer.Typer()
    app.command()(report)
    return CliRunner().invoke(app, args)


def test_report_rerenders_a_saved_json_result(scanned: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    res = _report_cli([str(scanned["json"]), "--format", "html", "--output", str(out)])
    assert res.exit_code == 0, res.output
    again = out.read_text(encoding="utf-8")
    first = scanned["html"].read_text(encoding="utf-8")
    for page in (again, first):
        assert 'data-key="records-scanned">10<' in page
        assert 'data-key="records-flagged">5<' in page
    # Same data, same page, apart from the scan times (two scans ran).
    strip = lambda s: re.sub(r"\d{4}-\d\d-\d\d[T ][\d:]+(\+00:00| UTC)?|\d+\.\d s|[0-9a-f]{64}", "", s)  # noqa: E731
    assert strip(again) == strip(first)


@pytest.mark.parametrize("fmt, marker", [
    ("markdown", "## tos-lint report"), ("sarif", '"version": "2.1.0"'), ("json", '"manifest"'),
    ("junit", "<testsuites"), ("github", "::error"), ("jsonl", '"rule_id"'),
])
def test_report_rerenders_other_formats(scanned: dict[str, Path], tmp_path: Path, fmt: str, marker: str) -> None:
    out = tmp_path / f"again.{fmt}"
    res = _report_cli([str(scanned["json"]), "--format", fmt, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert marker in out.read_text(encoding="utf-8")


def test_report_redacts_every_format(scanned: dict[str, Path], tmp_path: Path) -> None:
    assert SECRET in scanned["json"].read_text(encoding="utf-8")
    for fmt in ("html", "markdown", "json", "sarif"):
        out = tmp_path / f"redacted.{fmt}"
        res = _report_cli([str(scanned["json"]), "--format", fmt, "--redact", "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert SECRET not in out.read_text(encoding="utf-8"), fmt


def test_report_writes_into_a_device_without_replacing_it(scanned: dict[str, Path]) -> None:
    null = Path(os.devnull)
    before = null.stat()
    assert _report_cli([str(scanned["json"]), "-o", os.devnull]).exit_code == 0
    after = null.stat()
    assert not null.is_file() and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_report_json_roundtrip_is_identical(scanned: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "again.json"
    assert _report_cli([str(scanned["json"]), "--format", "json", "-o", str(out)]).exit_code == 0
    assert _doc(out) == _doc(scanned["json"])


@pytest.mark.parametrize("args, message", [
    (["missing.json"], "cannot read"),
    (["REPORT", "--format", "nope"], "unknown format"),
    (["NOTJSON"], "not a JSON report"),
    (["REPORT", "-o", "REPORT"], "refusing to overwrite"),
])
def test_report_usage_errors(scanned: dict[str, Path], tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    subst = {"REPORT": str(scanned["json"]), "NOTJSON": str(bad), "missing.json": str(tmp_path / "missing.json")}
    res = _report_cli([subst.get(a, a) for a in args])
    assert res.exit_code == 2
    assert message in res.output


@pytest.mark.parametrize("fmt", ["console", "sarif", "junit", "github", "markdown", "html", "json"])
@pytest.mark.parametrize(("finding", "message"), [
    (_finding(0, severity="apocalyptic"), "findings[1]: key 'severity': 'apocalyptic' is not one of info, low,"),
    ({k: v for k, v in _finding(0).items() if k != "severity"}, "findings[1]: key 'severity': None is not one of"),
    ("not a finding", "findings[1] is not an object"),
    (_finding(0, location={"path": "d.jsonl", "line": "abc"}),
     "findings[1]: key 'location.line': must be a whole number of at least 0, or null (got 'abc')"),
    (_finding(0, location={"path": "d.jsonl", "line": True}), "findings[1]: key 'location.line'"),
    (_finding(0, location={"path": "d.jsonl", "index": -1}), "findings[1]: key 'location.index'"),
    (_finding(0, location={"path": ["d"], "line": 1}), "findings[1]: key 'location.path': must be a string or null"),
    (_finding(0, location="d.jsonl:1"), "findings[1]: key 'location': must be an object"),
    (_finding(0, highlight="ab"), "findings[1]: key 'highlight': must be a list of two whole numbers"),
    (_finding(0, confidence="high"), "findings[1]: key 'confidence': must be a number or null"),
])
def test_report_of_an_invalid_finding_names_it(tmp_path: Path, fmt: str, finding: Any, message: str) -> None:
    path = tmp_path / "r.json"
    doc = _minimal_doc([_finding(1), _finding(0)])
    doc["findings"][1] = finding
    path.write_text(json.dumps(doc), encoding="utf-8")
    res = _report_cli([str(path), "--format", fmt])
    assert res.exit_code == 2, res.output
    assert f"{path}: invalid report: {message}" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["summary"].update(records="abc"), "the document: key 'summary.records': must be a whole number"),
    (lambda d: d["files"][0].update(malformed=-3), "files[0]: key 'malformed': must be a whole number"),
    (lambda d: d.update(files=[None]), "files[0] is not an object"),
    (lambda d: d["verdict"]["statuses"].update(ignored="x"), "verdict: key 'statuses.ignored': must be a whole number"),
    (lambda d: d.update(manifest="m"), "the document: key 'manifest': must be an object or null"),
    (lambda d: d.update(sample={"providers": {"openai": {"records": 1}}}), "a field has a type or shape no scan writes"),
])
def test_report_of_an_invalid_section_names_the_file(tmp_path: Path, change: Any, message: str) -> None:
    path = tmp_path / "r.json"
    doc = _minimal_doc([_finding(0)])
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")
    codes = []
    for fmt in ("console", "sarif", "markdown", "html"):
        res = _report_cli([str(path), "--format", fmt])
        codes.append(res.exit_code)
        assert res.exception is None or isinstance(res.exception, SystemExit)
        if res.exit_code != 0:  # 0: a part this format does not show
            assert res.exit_code == 2 and f"{path}: invalid report: {message}" in res.output, (fmt, res.output)
    assert 2 in codes


# --- a real browser --------------------------------------------------------------------------------

class Chromium:
    """Headless Chromium driven over the DevTools protocol (one websocket,
    flat sessions). Collects every event so tests can inspect them."""

    FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0")

    def __init__(self, binary: str, workdir: Path) -> None:
        import websocket

        profile = workdir / "profile"
        profile.mkdir()
        self.log = (workdir / "chromium.log").open("wb")
        self.proc = subprocess.Popen([binary, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        port, path = self._active_port(profile / "DevToolsActivePort")
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=60, suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self._next = 0

    def _active_port(self, marker: Path, timeout: float = 60) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}; see {self.log.name}")
            lines = marker.read_text().splitlines() if marker.exists() else []
            if len(lines) >= 2:
                return lines[0], lines[1]
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port")

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = 60) -> dict[str, Any]:
        seen = next((e for e in self.events if e.get("method") == method and e.get("sessionId") == session), None)
        deadline = time.monotonic() + timeout
        while seen is None:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            event = json.loads(self.ws.recv())
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                seen = event
        return seen

    def open(self, path: Path, width: int = 1280, height: int = 900) -> "Page":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        start = len(self.events)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session)
        self.wait_for("Page.loadEventFired", session)
        page = Page(self, session, start)
        page.evaluate("new Promise(r => setTimeout(r, 300))")  # let late errors or requests arrive
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
        try:
            self.ws.close()
        finally:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()


class Page:
    def __init__(self, browser: Chromium, session: str, start: int) -> None:
        self.browser, self.session, self.start = browser, session, start

    def evaluate(self, expression: str) -> Any:
        res = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                      "awaitPromise": True}, self.session)
        if "exceptionDetails" in res:
            raise AssertionError(f"{expression}: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def events(self, method: str) -> list[dict[str, Any]]:
        return [e for e in self.browser.events[self.start:]
                if e.get("method") == method and e.get("sessionId") == self.session]

    def errors(self) -> list[str]:
        out = [json.dumps(e["params"])[:500] for e in self.events("Runtime.exceptionThrown")]
        out += [json.dumps(e["params"])[:500] for e in self.events("Runtime.consoleAPICalled")
                if e["params"].get("type") in ("error", "assert")]
        out += [json.dumps(e["params"])[:500] for e in self.events("Log.entryAdded")
                if e["params"]["entry"].get("level") == "error"]
        return out

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def screenshot(self, full_page: bool = False) -> bytes:
        import base64

        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        return base64.b64decode(self.browser.send("Page.captureScreenshot", params, self.session)["data"])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/system-deps.sh installs it)")
    chromium = Chromium(CHROMIUM, tmp_path_factory.mktemp("chromium"))
    try:
        yield chromium
    finally:
        chromium.close()


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and unfiltered rows of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    stream, chunks = io.BytesIO(data[8:]), []
    header = b""
    while True:
        length, kind = struct.unpack(">I4s", stream.read(8))
        body = stream.read(length)
        stream.read(4)  # CRC
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        _unfilter(kind, line, prev, bpp)
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    if kind == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        line[:] = bytes((a + b) & 0xFF for a, b in zip(line, prev))
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF


def assert_not_blank(png: bytes) -> None:
    width, height, bpp, rows = decode_png(png)
    assert width >= 800 and height >= 600, (width, height)
    lum = [(r[x] * 299 + r[x + 1] * 587 + r[x + 2] * 114) // 1000
           for r in rows[::4] for x in range(0, width * bpp, 4 * bpp)]
    mean = sum(lum) / len(lum)
    variance = sum((v - mean) ** 2 for v in lum) / len(lum)
    colours = {r[x:x + 3] for r in rows[::8] for x in range(0, width * bpp, 8 * bpp)}
    assert variance > 100, f"screenshot looks blank (luminance variance {variance:.1f})"
    assert len(colours) > 20, f"screenshot has only {len(colours)} colours"


def _keep(name: str, png: bytes) -> None:
    where = os.environ.get("TOS_LINT_SCREENSHOT_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / name).write_bytes(png)


def _assert_clean_load(page: Page, report: Path) -> None:
    assert page.errors() == []
    requests = page.requests()
    assert report.resolve().as_uri() in requests  # the network domain did see the load
    assert all(u.startswith(("file://", "data:")) for u in requests), requests
    assert "example.invalid" not in " ".join(requests)


@needs_chromium
def test_report_in_a_real_browser(browser: Chromium, scanned: dict[str, Path]) -> None:
    doc = _doc(scanned["json"])
    page = browser.open(scanned["html"])
    _assert_clean_load(page, scanned["html"])
    key = lambda k: page.evaluate(f"document.querySelector('[data-key=\"{k}\"]').textContent")  # noqa: E731
    assert key("records-scanned") == str(doc["summary"]["records"]) == "10"
    assert key("records-flagged") == str(doc["summary"]["records_flagged"]) == "5"
    assert key("gate") == "Fails the gate"
    headline = key("headline")
    assert "5 of 10 records (50.0 %) look generated by providers whose terms forbid training competing models" in headline
    # The provider table: OpenAI on 3 records, Anthropic on 2.
    cells = page.evaluate("Array.from(document.querySelectorAll('#providers tbody tr')).map("
                          "r => [r.dataset.provider, r.cells[2].textContent])")
    assert ["openai", "3"] in cells and ["anthropic", "2"] in cells
    text = page.evaluate("document.body.innerText")
    assert "Not legal advice" in text and "tos-lint verify report.json" in text
    assert "</td></tr><script>console.error('xss')</script>" in text  # injected markup shows as text...
    assert page.evaluate("document.querySelectorAll('img').length") == 0  # ...and never became elements
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert page.evaluate("document.querySelectorAll('svg.chart').length") >= 3
    assert page.evaluate("document.querySelectorAll('#evidence-table mark').length") > 0
    shot = page.screenshot()
    assert_not_blank(shot)
    _keep("report-viewport.png", shot)
    _keep("report-full.png", page.screenshot(full_page=True))


@needs_chromium
def test_evidence_filter_works_in_the_browser(browser: Chromium, scanned: dict[str, Path]) -> None:
    page = browser.open(scanned["html"])
    visible = "Array.from(document.querySelectorAll('#evidence-table tbody tr')).filter(r => !r.hidden).length"
    total = page.evaluate(visible)
    assert total == len(_doc(scanned["json"])["findings"])
    assert page.evaluate("document.getElementById('evidence-controls').hidden") is False
    page.evaluate("(() => { const s = document.getElementById('evidence-provider'); s.value = 'anthropic';"
                  " s.dispatchEvent(new Event('change')); })()")
    assert page.evaluate(visible) == 2
    assert page.evaluate("document.getElementById('evidence-shown').textContent") == "2"
    assert page.errors() == []


@needs_chromium
def test_redacted_rerender_in_a_real_browser(browser: Chromium, scanned: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "redacted.html"
    assert _report_cli([str(scanned["json"]), "--redact", "-o", str(out)]).exit_code == 0
    page = browser.open(out)
    _assert_clean_load(page, out)
    text = page.evaluate("document.body.innerText")
    assert SECRET not in text and "snippet hidden (--redact)" in text
    assert page.evaluate("document.querySelector('[data-key=\"records-flagged\"]').textContent") == "5"
    assert_not_blank(page.screenshot())
