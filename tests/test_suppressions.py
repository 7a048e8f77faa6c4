"""Allowlists, waivers and in-record `_tos_lint` directives."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import invoke, rule, write_jsonl, write_pack


PAST = (date.today() - timedelta(days=30)).isoformat()
FUTURE = (date.today() + timedelta(days=365)).isoformat()


@pytest.fixture()
def proj(tmp_path: Path) -> Path:
    write_pack(tmp_path / "pack.yaml", [
        rule("test.chatgpt", [{"phrase": "I am ChatGPT"}]),
        rule("test.claude", [{"phrase": "I am Claude"}], provider="anthropic",
             examples={"match": ["I am Claude."], "no_match": ["Hello."]}),
    ])
    data = tmp_path / "data"
    (data / "legacy").mkdir(parents=True)
    (data / "new").mkdir()
    write_jsonl(data / "legacy" / "old.jsonl", [{"text": "I am ChatGPT, from the old set."}, {"text": "clean"}])
    write_jsonl(data / "new" / "fresh.jsonl", [{"text": "clean"}, {"text": "I am ChatGPT, from the new set."},
                                                {"text": "I am Claude, also new."}])
    return tmp_path


def scan(proj: Path, monkeypatch: pytest.MonkeyPatch, *extra: Any, target: str = "data") -> tuple[int, dict[str, Any]]:
    res = invoke(["scan", target, "--no-default-rules", "--rules", proj / "pack.yaml", "--format", "json", "-j", "1",
                  *extra], proj, monkeypatch)
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def write_entries(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "entries": entries}, sort_keys=False), encoding="utf-8")
    return path


def where(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in doc["findings"]]


def fingerprint_of(doc: dict[str, Any], path: str, rule_id: str) -> str:
    (fp,) = [f["fingerprint"] for f in doc["findings"] if f["location"]["path"] == path and f["rule_id"] == rule_id]
    return fp


# --- allowlists ------------------------------------------------------------------------

def test_allowlist_by_fingerprint(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, doc = scan(proj, monkeypatch)
    assert code == 1 and len(doc["findings"]) == 3
    fp = fingerprint_of(doc, "data/legacy/old.jsonl", "test.chatgpt")
    allow = write_entries(proj / "allow.yaml", [{"fingerprint": fp, "reason": "licensed from the provider"}])
    code, doc = scan(proj, monkeypatch, "--allowlist", allow)
    assert code == 1
    assert where(doc) == [("test.chatgpt", "data/new/fresh.jsonl", 2), ("test.claude", "data/new/fresh.jsonl", 3)]
    assert doc["verdict"]["statuses"]["suppressed"] == 1
    assert doc["verdict"]["unused_suppressions"] == []


def test_fingerprint_allowlist_follows_a_moved_record(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, doc = scan(proj, monkeypatch)
    fps = [{"fingerprint": f["fingerprint"], "reason": "reviewed"} for f in doc["findings"]]
    allow = write_entries(proj / "allow.yaml", fps)
    # move every record: reverse one file, and move the old record into the new file
    write_jsonl(proj / "data" / "legacy" / "old.jsonl", [{"text": "clean"}])
    write_jsonl(proj / "data" / "new" / "fresh.jsonl", [
        {"text": "I am Claude, also new."}, {"text": "clean"}, {"text": "I am ChatGPT, from the new set."},
        {"text": "I am ChatGPT, from the old set."}])
    code, doc = scan(proj, monkeypatch, "--allowlist", allow)
    assert code == 0
    assert doc["findings"] == []
    assert doc["verdict"]["statuses"]["suppressed"] == 3


def test_allowlist_by_rule_and_path_glob(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allow = write_entries(proj / "allow.yaml", [
        {"rule": "test.chatgpt", "paths": ["data/legacy/*"], "reason": "legacy set, approved"}])
    code, doc = scan(proj, monkeypatch, "--allowlist", allow)
    assert code == 1
    assert where(doc) == [("test.chatgpt", "data/new/fresh.jsonl", 2), ("test.claude", "data/new/fresh.jsonl", 3)]
    assert doc["verdict"]["statuses"]["suppressed"] == 1


def test_allowlist_rule_prefix_without_paths_covers_everywhere(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allow = write_entries(proj / "allow.yaml", [{"rule": "test", "reason": "all test rules accepted"}])
    code, doc = scan(proj, monkeypatch, "--allowlist", allow)
    assert code == 0
    assert doc["verdict"]["statuses"]["suppressed"] == 3


def test_allowlist_rule_prefix_is_whole_dotted_parts(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allow = write_entries(proj / "allow.yaml", [{"rule": "test.chat", "reason": "typo"}])
    code, doc = scan(proj, monkeypatch, "--allowlist", allow)
    assert code == 1
    assert doc["verdict"]["statuses"]["suppressed"] == 0
    assert [u["rule"] for u in doc["verdict"]["unused_suppressions"]] == ["test.chat"]


def test_allowlist_from_config_with_paths_relative_to_it(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "policy").mkdir()
    write_entries(proj / "policy" / "allow.yaml", [{"rule": "test.claude", "reason": "anthropic data licensed"}])
    (proj / "tos-lint.yaml").write_text("allowlist: [policy/allow.yaml]\n", encoding="utf-8")
    extra = write_entries(proj / "extra.yaml", [{"rule": "test.chatgpt", "paths": ["data/new/*"], "reason": "ok"}])
    _, doc = scan(proj, monkeypatch)
    assert where(doc) == [("test.chatgpt", "data/legacy/old.jsonl", 1), ("test.chatgpt", "data/new/fresh.jsonl", 2)]
    _, doc = scan(proj, monkeypatch, "--allowlist", extra)  # adds to the file's list
    assert where(doc) == [("test.chatgpt", "data/legacy/old.jsonl", 1)]


def test_unused_suppressions_are_listed(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale_fp = "0" * 32
    allow = write_entries(proj / "allow.yaml", [
        {"fingerprint": stale_fp, "reason": "record deleted long ago"},
        {"rule": "test.claude", "reason": "used"},
        {"rule": "test.chatgpt", "paths": ["data/archive/*"], "reason": "no such folder"},
    ])
    code, doc = scan(proj, monkeypatch, "--allowlist", allow)
    unused = doc["verdict"]["unused_suppressions"]
    assert sorted((u["fingerprint"] or "", u["rule"] or "") for u in unused) == [("", "test.chatgpt"), (stale_fp, "")]
    assert all("allow.yaml" in u["source"] for u in unused)
    assert code == 1


@pytest.mark.parametrize(("entry", "message"), [
    ({"fingerprint": "ab" * 16}, "reason"),
    ({"fingerprint": "ab" * 16, "rule": "test", "reason": "x"}, "fingerprint"),
    ({"reason": "neither"}, "fingerprint"),
    ({"rule": "test", "reason": "x", "line": 3}, "line"),
    ({"fingerprint": "ab" * 16, "paths": ["a/*"], "reason": "x"}, "paths"),
    ({"rule": "test", "reason": ""}, "reason"),
    ({"rule": "test", "reason": "x", "expires": "next week"}, "expires"),
])
def test_invalid_entries_exit_2(proj: Path, monkeypatch: pytest.MonkeyPatch, entry: dict[str, Any], message: str) -> None:
    allow = write_entries(proj / "allow.yaml", [entry])
    res = invoke(["scan", "data", "--no-default-rules", "--rules", proj / "pack.yaml", "--allowlist", allow, "-j", "1"],
                 proj, monkeypatch)
    assert res.exit_code == 2
    assert "allow.yaml" in res.stderr and message in res.stderr


@pytest.mark.parametrize("text", ["entries: []\n", "version: 2\nentries: []\n", "version: 1\nentries: {}\n",
                                  "version: 1\nentries: []\nextra: 1\n", "- just a list\n"])
def test_invalid_allowlist_file_exits_2(proj: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    (proj / "allow.yaml").write_text(text, encoding="utf-8")
    res = invoke(["scan", "data", "--no-default-rules", "--rules", proj / "pack.yaml", "--allowlist", "allow.yaml",
                  "-j", "1"], proj, monkeypatch)
    assert res.exit_code == 2
    assert "allow.yaml" in res.stderr


# --- waivers ---------------------------------------------------------------------------

@pytest.mark.parametrize("entry", [
    {"rule": "test.chatgpt", "reason": "x", "expires": FUTURE},
    {"rule": "test.chatgpt", "reason": "x", "reviewer": "legal@example.com"},
    {"rule": "test.chatgpt", "reason": "x"},
])
def test_waivers_need_reviewer_and_expiry(proj: Path, monkeypatch: pytest.MonkeyPatch, entry: dict[str, Any]) -> None:
    waivers = write_entries(proj / "waivers.yaml", [entry])
    res = invoke(["scan", "data", "--no-default-rules", "--rules", proj / "pack.yaml", "--waivers", waivers, "-j", "1"],
                 proj, monkeypatch)
    assert res.exit_code == 2
    assert "waivers.yaml" in res.stderr
    # the same entry is a valid allowlist entry
    assert scan(proj, monkeypatch, "--allowlist", waivers)[1]["verdict"]["statuses"]["suppressed"] == 2


def test_active_waiver_suppresses_and_is_listed(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waivers = write_entries(proj / "waivers.yaml", [
        {"rule": "test", "reason": "under negotiation", "reviewer": "legal@example.com", "expires": FUTURE}])
    code, doc = scan(proj, monkeypatch, "--waivers", waivers)
    assert code == 0
    assert doc["verdict"]["statuses"]["suppressed"] == 3
    assert [(w["reviewer"], w["expires"]) for w in doc["verdict"]["active_waivers"]] == [("legal@example.com", FUTURE)]
    assert doc["verdict"]["expired_suppressions"] == []


def test_expired_waiver_stops_suppressing_and_is_reported(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waivers = write_entries(proj / "waivers.yaml", [
        {"rule": "test.chatgpt", "reason": "was fine last year", "reviewer": "legal@example.com", "expires": PAST},
        {"rule": "test.claude", "reason": "still fine", "reviewer": "legal@example.com", "expires": FUTURE},
    ])
    code, doc = scan(proj, monkeypatch, "--waivers", waivers)
    assert code == 1
    assert where(doc) == [("test.chatgpt", "data/legacy/old.jsonl", 1), ("test.chatgpt", "data/new/fresh.jsonl", 2)]
    expired = doc["verdict"]["expired_suppressions"]
    assert [(e["rule"], e["expires"], e["reviewer"], e["reason"]) for e in expired] == [
        ("test.chatgpt", PAST, "legal@example.com", "was fine last year")]
    assert [w["rule"] for w in doc["verdict"]["active_waivers"]] == ["test.claude"]


def test_waiver_expiring_today_still_applies(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waivers = write_entries(proj / "waivers.yaml", [
        {"rule": "test", "reason": "last day", "reviewer": "me", "expires": date.today().isoformat()}])
    code, doc = scan(proj, monkeypatch, "--waivers", waivers)
    assert code == 0
    assert doc["verdict"]["expired_suppressions"] == []


def test_expired_allowlist_entry_with_expiry_also_stops(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    allow = write_entries(proj / "allow.yaml", [{"rule": "test", "reason": "temporary", "expires": PAST}])
    code, doc = scan(proj, monkeypatch, "--allowlist", allow)
    assert code == 1
    assert len(doc["verdict"]["expired_suppressions"]) == 1


# --- in-record directives --------------------------------------------------------------

def test_in_record_ignore(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(proj / "d.jsonl", [
        {"text": "I am ChatGPT, quoted in a study.", "_tos_lint": {"ignore": ["test.chatgpt"], "reason": "quoted"}},
        {"text": "I am ChatGPT, not covered."},
        {"text": "I am ChatGPT and I am Claude.", "_tos_lint": {"ignore": ["test.claude"], "reason": "licensed"}},
    ])
    code, doc = scan(proj, monkeypatch, target="d.jsonl")
    assert code == 1
    assert where(doc) == [("test.chatgpt", "d.jsonl", 2), ("test.chatgpt", "d.jsonl", 3)]
    assert doc["verdict"]["statuses"]["suppressed"] == 2


def test_in_record_ignore_by_prefix_whole_parts(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(proj / "d.jsonl", [
        {"text": "I am ChatGPT.", "_tos_lint": {"ignore": ["test"], "reason": "all"}},
        {"text": "I am ChatGPT.", "_tos_lint": {"ignore": ["tes"], "reason": "not a whole part"}},
    ])
    code, doc = scan(proj, monkeypatch, target="d.jsonl")
    assert code == 1
    assert where(doc) == [("test.chatgpt", "d.jsonl", 2)]


def test_directive_field_itself_is_not_scanned(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(proj / "d.jsonl", [
        {"text": "A clean record.", "_tos_lint": {"ignore": ["test.claude"], "reason": "I am ChatGPT said the vendor"}},
        {"_tos_lint": {"ignore": [], "reason": "I am ChatGPT"}, "notes": ["fine"]},
    ])
    code, doc = scan(proj, monkeypatch, target="d.jsonl")
    assert code == 0
    assert doc["findings"] == []
    assert sum(doc["verdict"]["statuses"].values()) == 0
    assert doc["summary"]["records"] == 2


@pytest.mark.parametrize("directive", [
    {"ignore": "test.chatgpt", "reason": "a string, not a list"},
    {"ignore": [1, 2], "reason": "not strings"},
    "test.chatgpt",
    ["test.chatgpt"],
])
def test_malformed_directive_is_reported_and_not_applied(proj: Path, monkeypatch: pytest.MonkeyPatch, directive: Any) -> None:
    write_jsonl(proj / "d.jsonl", [{"text": "clean"}, {"text": "I am ChatGPT.", "_tos_lint": directive}])
    code, doc = scan(proj, monkeypatch, target="d.jsonl")
    assert code == 1
    got = sorted(where(doc))
    assert got == [("test.chatgpt", "d.jsonl", 2), ("tos-lint.input.bad-directive", "d.jsonl", 2)]
    assert doc["verdict"]["statuses"]["suppressed"] == 0


def test_malformed_directive_on_a_record_without_findings_is_reported(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken directive should be reported when it is written, not only
    once the record first gets a finding (when it then fails to suppress it)."""
    write_jsonl(proj / "d.jsonl", [{"text": "clean"}, {"text": "also clean", "_tos_lint": {"ignore": "test.chatgpt"}}])
    _, doc = scan(proj, monkeypatch, target="d.jsonl")
    assert where(doc) == [("tos-lint.input.bad-directive", "d.jsonl", 2)]


def test_directive_does_not_leak_to_other_records(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(proj / "d.jsonl", [
        {"text": "I am ChatGPT.", "_tos_lint": {"ignore": ["test"], "reason": "ok"}},
        {"text": "I am ChatGPT."},
        {"text": "I am Claude."},
    ])
    _, doc = scan(proj, monkeypatch, target="d.jsonl")
    assert where(doc) == [("test.chatgpt", "d.jsonl", 2), ("test.claude", "d.jsonl", 3)]


@pytest.mark.parametrize(("expires", "expired"), [
    (f"{FUTURE}T10:00:00Z", False),
    (f"{FUTURE} 10:00:00+02:00", False),
    (f"{FUTURE}T10:00:00", False),  # no timezone: UTC, as YAML reads it
    (f"'{FUTURE}T10:00:00Z'", False),  # quoted: the same, from text
    (f"{PAST}T23:59:59-05:00", True),
    ((datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), True),  # earlier today
])
def test_waiver_expiry_with_a_time_is_compared_as_a_moment(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                           expires: str, expired: bool) -> None:
    (proj / "waivers.yaml").write_text(f"version: 1\nentries:\n  - rule: test.chatgpt\n    reason: x\n"
                                       f"    reviewer: me\n    expires: {expires}\n", encoding="utf-8")
    _, doc = scan(proj, monkeypatch, "--waivers", "waivers.yaml")
    assert len(doc["verdict"]["expired_suppressions"]) == int(expired)
    assert (doc["verdict"]["statuses"]["suppressed"] > 0) is not expired
    if not expired:
        assert doc["verdict"]["active_waivers"][0]["expires"].startswith(f"{FUTURE}T")


def test_waiver_expiry_of_another_type_exits_2_naming_file_and_key(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "waivers.yaml").write_text("version: 1\nentries:\n  - rule: test.chatgpt\n    reason: x\n"
                                       "    reviewer: me\n    expires: 20270101\n", encoding="utf-8")
    res = invoke(["scan", "data", "--no-default-rules", "--rules", proj / "pack.yaml", "--waivers", "waivers.yaml"],
                 proj, monkeypatch)
    assert res.exit_code == 2
    assert "waivers.yaml: entries[0]: key 'expires': must be a date" in res.stderr and "20270101" in res.stderr
