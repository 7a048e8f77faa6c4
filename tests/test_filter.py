"""`tos-lint filter`: clean and quarantined copies, same format and compression,
lines copied byte for byte, inputs untouched, counts that add up."""
from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import json
import lzma
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from tests.helpers import builtin_findings, force_split, invoke, rule, write_jsonl, write_pack


def _zstd_compress(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


def _zstd_decompress(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


CODECS: dict[str | None, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes], bytes]] = {
    None: (lambda b: b, lambda b: b, b""),
    "gz": (gzip.compress, gzip.decompress, b"\x1f\x8b"),
    "zst": (_zstd_compress, _zstd_decompress, b"\x28\xb5\x2f\xfd"),
    "bz2": (bz2.compress, bz2.decompress, b"BZh"),
    "xz": (lzma.compress, lzma.decompress, b"\xfd7zXZ\x00"),
}

# Raw JSONL lines, written exactly so: odd spacing, key order, escapes, non-ASCII, CRLF.
LINES: list[bytes] = [
    '{"text":  "I am ChatGPT, hello",   "z": 1, "a": "é"}'.encode(),                      # 1 quarantined
    b'{ "text" : "caf\\u00e9 au lait" }',                                                    # 2 clean
    b'{"n": [1,2,  3], "text": "clean\\tline"}',                                            # 3 clean
    b'{"messages": [{"role": "assistant", "content": "Sure. I am ChatGPT."}]}',             # 4 quarantined
    b'{broken',                                                                             # 5 unreadable
    b'{"text": "I am DeepSeek."}',                                                          # 6 review: kept
    b'{"text": "windows line"}\r',                                                          # 7 clean, CRLF
    '{"text":"\u00fcber clean","id":"k-7"}'.encode(),                                       # 8 clean
]
QUARANTINED = {1, 4}
UNREADABLE = {5}
KEPT = {2, 3, 6, 7, 8}

ARRAY_RECORDS: list[dict[str, Any]] = [
    {"instruction": "Who are you?", "output": "I am ChatGPT, an assistant."},
    {"instruction": "Add 1 and 1.", "output": "2"},
    {"instruction": "Say hi.", "output": "Hi, ünïcode."},
    {"instruction": "Name?", "output": "I am ChatGPT."},
    {"instruction": "Who?", "output": "I am DeepSeek."},
]
ARRAY_QUARANTINED = {0, 3}


@pytest.fixture()
def proj(tmp_path: Path) -> Path:
    write_pack(tmp_path / "pack.yaml", [
        rule("test.chatgpt", [{"phrase": "I am ChatGPT"}]),
        rule("test.deepseek", [{"phrase": "I am DeepSeek"}], provider="deepseek",
             examples={"match": ["I am DeepSeek."], "no_match": ["Hello."]}),
    ])
    (tmp_path / "tos-lint.yaml").write_text("default-rules: false\nrules: [pack.yaml]\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    return tmp_path


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_filter(proj: Path, monkeypatch: pytest.MonkeyPatch, *extra: Any, target: str = "data") -> Any:
    return invoke(["filter", target, "--clean-dir", "out/clean", "--quarantine-dir", "out/quarantine", *extra],
                  proj, monkeypatch)


def counts_line(stdout: str, path: str) -> tuple[int, int, int, int]:
    m = re.search(re.escape(path) + r": in (\d+) = kept (\d+) \+ quarantined (\d+) \+ unreadable (\d+)", stdout)
    assert m, stdout
    return tuple(int(g) for g in m.groups())  # type: ignore[return-value]


def no_temp_files(folder: Path) -> None:
    assert [p.name for p in folder.rglob(".*")] == []


@pytest.mark.parametrize("kind", [None, "gz", "zst", "bz2", "xz"])
def test_jsonl_keeps_format_compression_and_bytes(proj: Path, monkeypatch: pytest.MonkeyPatch, kind: str | None) -> None:
    compress, decompress, magic = CODECS[kind]
    name = "shard.jsonl" + (f".{kind}" if kind else "")
    (proj / "data" / name).write_bytes(compress(b"\n".join(LINES) + b"\n"))
    before = hashes(proj / "data")

    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert hashes(proj / "data") == before  # inputs unchanged, nothing added beside them

    clean_raw = (proj / "out" / "clean" / name).read_bytes()
    quarantine_raw = (proj / "out" / "quarantine" / name).read_bytes()
    assert clean_raw.startswith(magic) and quarantine_raw.startswith(magic)
    if kind is None:
        assert not clean_raw.startswith((b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"BZh", b"\xfd7zX"))

    clean_lines = decompress(clean_raw).split(b"\n")
    assert clean_lines[-1] == b""
    assert clean_lines[:-1] == [LINES[i - 1] for i in sorted(KEPT)]  # byte for byte, in order

    quarantined = [json.loads(line) for line in decompress(quarantine_raw).splitlines()]
    assert len(quarantined) == len(QUARANTINED) + len(UNREADABLE)  # an unreadable line is kept there, in order
    for record, line_no in zip(quarantined, sorted(QUARANTINED | UNREADABLE)):
        findings = record.pop("_tos_lint_findings")
        if line_no in UNREADABLE:
            assert record == {"_tos_lint_unreadable": {"line": line_no, "text": LINES[line_no - 1].decode()}}
            assert [f["rule_id"] for f in findings] == ["tos-lint.input.malformed-json"]
            continue
        assert record == json.loads(LINES[line_no - 1])
        assert [(f["rule_id"], f["location"]["line"]) for f in findings] == [("test.chatgpt", line_no)]

    n = len(LINES)
    assert counts_line(res.stdout, f"data/{name}") == (n, len(KEPT), len(QUARANTINED), len(UNREADABLE))
    assert counts_line(res.stdout, "total") == (n, len(KEPT), len(QUARANTINED), len(UNREADABLE))
    no_temp_files(proj / "out")


@pytest.mark.parametrize("kind", [None, "gz", "xz"])
def test_json_array_keeps_format_and_compression(proj: Path, monkeypatch: pytest.MonkeyPatch, kind: str | None) -> None:
    compress, decompress, magic = CODECS[kind]
    name = "alpaca.json" + (f".{kind}" if kind else "")
    (proj / "data" / name).write_bytes(compress(json.dumps(ARRAY_RECORDS, indent=2, ensure_ascii=False).encode()))
    before = hashes(proj / "data")

    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert hashes(proj / "data") == before

    clean_raw = (proj / "out" / "clean" / name).read_bytes()
    quarantine_raw = (proj / "out" / "quarantine" / name).read_bytes()
    assert clean_raw.startswith(magic) and quarantine_raw.startswith(magic)
    clean = json.loads(decompress(clean_raw))
    quarantined = json.loads(decompress(quarantine_raw))
    assert isinstance(clean, list) and isinstance(quarantined, list)
    assert clean == [r for i, r in enumerate(ARRAY_RECORDS) if i not in ARRAY_QUARANTINED]
    for record, index in zip(quarantined, sorted(ARRAY_QUARANTINED)):
        findings = record.pop("_tos_lint_findings")
        assert record == ARRAY_RECORDS[index]
        assert [(f["rule_id"], f["location"]["index"]) for f in findings] == [("test.chatgpt", index)]
    assert len(quarantined) == len(ARRAY_QUARANTINED)
    assert counts_line(res.stdout, f"data/{name}") == (len(ARRAY_RECORDS), 3, 2, 0)
    no_temp_files(proj / "out")


def test_relative_paths_and_totals_over_a_tree(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = proj / "data"
    (data / "a" / "b").mkdir(parents=True)
    write_jsonl(data / "a" / "one.jsonl", [{"text": "I am ChatGPT."}, {"text": "ok"}, {"text": "fine"}])
    (data / "a" / "b" / "two.jsonl").write_bytes(b'{"text": "ok"}\n[1]\n{"text": "I am ChatGPT!"}\n')
    write_jsonl(data / "three.jsonl", [{"text": "spotless"}])
    before = hashes(data)
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1
    assert hashes(data) == before
    assert counts_line(res.stdout, "data/a/one.jsonl") == (3, 2, 1, 0)
    assert counts_line(res.stdout, "data/a/b/two.jsonl") == (3, 1, 1, 1)
    assert counts_line(res.stdout, "data/three.jsonl") == (1, 1, 0, 0)
    assert counts_line(res.stdout, "total") == (7, 4, 2, 1)
    clean = proj / "out" / "clean"
    assert (clean / "a" / "b" / "two.jsonl").read_bytes() == b'{"text": "ok"}\n'
    # an all-clean file is copied whole, byte for byte
    assert (clean / "three.jsonl").read_bytes() == (data / "three.jsonl").read_bytes()
    quarantined = (proj / "out" / "quarantine" / "a" / "b" / "two.jsonl").read_bytes().splitlines()
    assert [json.loads(q).get("text") or json.loads(q)["_tos_lint_unreadable"]["text"] for q in quarantined] == \
        ["[1]", "I am ChatGPT!"]


def test_nothing_quarantined_exits_0(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(proj / "data" / "d.jsonl", [{"text": "I am DeepSeek."}, {"text": "plain"}])
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 0
    assert counts_line(res.stdout, "total") == (2, 2, 0, 0)
    assert (proj / "out" / "clean" / "d.jsonl").read_bytes() == (proj / "data" / "d.jsonl").read_bytes()


def test_filter_follows_the_policy(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(proj / "data" / "d.jsonl", [{"text": "I am ChatGPT."}, {"text": "I am DeepSeek."}])
    (proj / "allow.yaml").write_text(yaml.safe_dump(
        {"version": 1, "entries": [{"rule": "test.chatgpt", "reason": "licensed"}]}), encoding="utf-8")
    res = run_filter(proj, monkeypatch, "--allowlist", "allow.yaml")
    assert res.exit_code == 0 and counts_line(res.stdout, "total") == (2, 2, 0, 0)
    res = run_filter(proj, monkeypatch, "--fail-on", "never")
    assert res.exit_code == 0 and counts_line(res.stdout, "total") == (2, 2, 0, 0)
    with (proj / "tos-lint.yaml").open("a", encoding="utf-8") as f:
        f.write("providers: {deepseek: forbid}\n")
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1 and counts_line(res.stdout, "total") == (2, 0, 2, 0)


def test_rerun_leaves_no_stale_copy_of_a_now_failing_record(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run 1 accepts a record (allowlist) and writes it to the clean copy; the
    allowlist is withdrawn and the filter re-run into the same folders: the
    clean copy must no longer hold the record, which now fails."""
    write_jsonl(proj / "data" / "d.jsonl", [{"text": "I am ChatGPT."}])
    (proj / "allow.yaml").write_text(yaml.safe_dump(
        {"version": 1, "entries": [{"rule": "test.chatgpt", "reason": "licensed"}]}), encoding="utf-8")
    res = run_filter(proj, monkeypatch, "--allowlist", "allow.yaml")
    assert res.exit_code == 0
    assert b"ChatGPT" in (proj / "out" / "clean" / "d.jsonl").read_bytes()
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1 and counts_line(res.stdout, "total") == (1, 0, 1, 0)
    assert b"ChatGPT" in (proj / "out" / "quarantine" / "d.jsonl").read_bytes()
    clean = proj / "out" / "clean" / "d.jsonl"
    assert not clean.exists() or b"ChatGPT" not in clean.read_bytes()


def test_rerun_leaves_no_stale_quarantine(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(proj / "data" / "d.jsonl", [{"text": "I am ChatGPT."}, {"text": "ok"}])
    assert run_filter(proj, monkeypatch).exit_code == 1
    write_jsonl(proj / "data" / "d.jsonl", [{"text": "fixed"}, {"text": "ok"}])
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 0 and counts_line(res.stdout, "total") == (2, 2, 0, 0)
    quarantine = proj / "out" / "quarantine" / "d.jsonl"
    assert not quarantine.exists() or quarantine.read_bytes().strip() == b""


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split-into-ranges"])
def test_an_input_changed_between_scan_and_copy_is_not_copied(proj: Path, monkeypatch: pytest.MonkeyPatch,
                                                              split: bool) -> None:
    """A record written after the scan was never judged: it must not reach
    the clean copy, and neither may an older copy from an earlier run."""
    if split:
        force_split(monkeypatch, 40)
    data = proj / "data" / "d.jsonl"
    write_jsonl(data, [{"text": f"ok {i}"} for i in range(20)])
    assert run_filter(proj, monkeypatch).exit_code == 0
    assert (proj / "out" / "clean" / "d.jsonl").exists()
    import tos_lint.api as api

    real_run = api.run

    def run_then_append(*args: Any, **kwargs: Any) -> Any:
        outcome = real_run(*args, **kwargs)
        with data.open("ab") as out:
            out.write(b'{"text": "I am ChatGPT, written after the scan."}\n')
        return outcome

    monkeypatch.setattr(api, "run", run_then_append)
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1
    assert "data/d.jsonl: changed-during-scan: the file changed between the scan and the copy" in res.stdout
    assert counts_line(res.stdout, "total") == (0, 0, 0, 0)
    assert not (proj / "out" / "clean" / "d.jsonl").exists()
    assert not (proj / "out" / "quarantine" / "d.jsonl").exists()
    no_temp_files(proj / "out")


def test_clean_line_with_invalid_utf8_is_copied_byte_for_byte(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record whose line holds a stray Latin-1 byte is still scanned (with
    replacement characters); the clean copy must keep the line as it was."""
    line = b'{"text": "caf\xe9 cr\xe8me"}'
    (proj / "data" / "d.jsonl").write_bytes(b'{"text": "I am ChatGPT."}\n' + line + b"\n")
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1
    assert counts_line(res.stdout, "total") == (2, 1, 1, 0)
    assert (proj / "out" / "clean" / "d.jsonl").read_bytes() == line + b"\n"


def test_lines_of_a_file_split_for_parallel_scanning(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan splits a large file into byte ranges; the filter must still
    quarantine exactly the records the findings point at."""
    import tos_lint.parallel
    from tos_lint.readers import InputFile

    force_split(monkeypatch, 61)
    lines = []
    flagged = set()
    for i in range(1, 61):
        if i % 7 == 3:
            lines.append(json.dumps({"k": i, "text": "So, I am ChatGPT."}))
            flagged.add(i)
        elif i % 11 == 5:
            lines.append('{"k": %d, "text": "broken' % i)
        else:
            lines.append(json.dumps({"k": i, "text": "x" * (i % 13)}))
    (proj / "data" / "big.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(tos_lint.parallel.plan([InputFile("data/big.jsonl", proj / "data" / "big.jsonl")], None, split=True)) > 20
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1
    quarantined = [json.loads(q) for q in (proj / "out" / "quarantine" / "big.jsonl").read_bytes().splitlines()]
    assert [q["k"] for q in quarantined if "k" in q] == sorted(flagged)
    assert [q["_tos_lint_unreadable"]["line"] for q in quarantined if "k" not in q] == \
        [i for i in range(1, 61) if i % 11 == 5 and i % 7 != 3]
    kept = (proj / "out" / "clean" / "big.jsonl").read_bytes().decode().splitlines()
    assert kept == [ln for i, ln in enumerate(lines, 1) if i not in flagged and i % 11 != 5]
    broken = sum(1 for i in range(1, 61) if i % 11 == 5 and i % 7 != 3)
    assert counts_line(res.stdout, "total") == (60, 60 - len(flagged) - broken, len(flagged), broken)


# --- refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "clean", "quarantine"), [
    ("data", "data/clean", "out/q"),            # output inside the input folder
    ("data", "out/c", "data"),                  # output is the input folder
    ("data/sub", "data", "out/q"),              # input inside the output folder
    ("data/sub/x.jsonl", "data/sub", "out/q"),  # output holds the input file
    ("data", "out/same", "out/same"),           # both outputs the same folder
])
def test_refuses_overlapping_outputs(proj: Path, monkeypatch: pytest.MonkeyPatch, target: str, clean: str, quarantine: str) -> None:
    (proj / "data" / "sub").mkdir()
    write_jsonl(proj / "data" / "sub" / "x.jsonl", [{"text": "I am ChatGPT."}, {"text": "ok"}])
    before = hashes(proj / "data")
    res = invoke(["filter", target, "--clean-dir", clean, "--quarantine-dir", quarantine], proj, monkeypatch)
    assert res.exit_code == 2, res.output
    assert hashes(proj / "data") == before
    assert not (proj / "out").exists()
    assert not (proj / "data" / "clean").exists()


@pytest.mark.parametrize("targets", [["a/x.jsonl", "b/x.jsonl"], ["a", "b"]])
def test_refuses_two_inputs_with_one_output_path(proj: Path, monkeypatch: pytest.MonkeyPatch, targets: list[str]) -> None:
    """Both copies would go to clean/x.jsonl: the second would replace the first's records."""
    for folder in ("a", "b"):
        (proj / folder).mkdir()
        write_jsonl(proj / folder / "x.jsonl", [{"text": f"from {folder}"}, {"text": "I am ChatGPT."}])
    res = invoke(["filter", *targets, "--clean-dir", "out/c", "--quarantine-dir", "out/q"], proj, monkeypatch)
    assert res.exit_code == 2, res.output
    first, second = (f"{t}/x.jsonl" if not t.endswith(".jsonl") else t for t in targets)
    assert f"{first} and {second} would both be written to x.jsonl" in res.output
    assert not (proj / "out").exists()


def test_the_same_file_given_twice_is_filtered_once(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "a").mkdir()
    write_jsonl(proj / "a" / "x.jsonl", [{"text": "from a"}, {"text": "I am ChatGPT."}])
    res = invoke(["filter", "a/x.jsonl", "./a/x.jsonl", "a", "--clean-dir", "out/c", "--quarantine-dir", "out/q"],
                 proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert res.output.splitlines()[0] == "a/x.jsonl: in 2 = kept 1 + quarantined 1 + unreadable 0"
    assert "total: in 2 = kept 1 + quarantined 1" in res.output


def test_inputs_in_the_folder_given_keep_distinct_paths(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("a", "b"):
        (proj / "data" / folder).mkdir()
        write_jsonl(proj / "data" / folder / "x.jsonl", [{"text": f"from {folder}"}])
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 0, res.output
    assert (proj / "out/clean/a/x.jsonl").read_text() == '{"text": "from a"}\n'
    assert (proj / "out/clean/b/x.jsonl").read_text() == '{"text": "from b"}\n'


# --- built-in packs, through the Python API -----------------------------------------------

def test_builtin_packs_filter_quarantines_chatgpt_record(tmp_path: Path, builtin_ruleset: Any) -> None:
    import tos_lint.api as api
    from tos_lint.config import Config
    from tos_lint.filtering import filter_files
    from tos_lint.policy import decide
    from tos_lint.readers import ReadOptions, discover
    from tos_lint.registry import load_registry

    data = tmp_path / "data"
    data.mkdir()
    lines = [
        json.dumps({"messages": [{"role": "user", "content": "Who are you?"},
                                 {"role": "assistant", "content": "I'm ChatGPT, a large language model trained by OpenAI."}]}),
        json.dumps({"messages": [{"role": "user", "content": "Capital of France?"},
                                 {"role": "assistant", "content": "Paris."}]}),
    ]
    (data / "chat.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    registry = load_registry()
    verdict = decide(builtin_findings([data], builtin_ruleset), api.build_policy(Config(), registry),
                     {pid: p.classification for pid, p in registry.providers.items()})
    inputs, _ = discover([str(data)])
    report = filter_files(inputs, [data], verdict, tmp_path / "clean", tmp_path / "q", ReadOptions(max_record_bytes=1 << 20))
    assert report.balanced
    assert (report.total("records_in"), report.total("kept"), report.total("quarantined")) == (2, 1, 1)
    assert gzip.decompress((tmp_path / "clean" / "chat.jsonl.gz").read_bytes()) == lines[1].encode() + b"\n"
    (q,) = gzip.decompress((tmp_path / "q" / "chat.jsonl.gz").read_bytes()).splitlines()
    rules = {f["rule_id"] for f in json.loads(q)["_tos_lint_findings"]}
    assert rules and all(r.startswith("openai.") for r in rules)


def test_unreadable_lines_go_to_quarantine_and_fail_the_run(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line that is no record is in neither copy as it was, yet never lost:
    the quarantine copy holds it (its bytes in base64 where they are no
    UTF-8), and the run exits 1 even when no record failed."""
    lines = [b'{"text": "fine"}', b'{"text": ', b'[1, 2]', b'\xff\xfe{"text"}', b'{"text": "also fine"}']
    (proj / "data" / "d.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    res = run_filter(proj, monkeypatch)
    assert res.exit_code == 1, res.output
    assert counts_line(res.stdout, "data/d.jsonl") == (5, 2, 0, 3)
    assert "3 unreadable line(s) are in the quarantine copy" in res.stdout
    assert (proj / "out" / "clean" / "d.jsonl").read_bytes() == lines[0] + b"\n" + lines[4] + b"\n"
    kept = [json.loads(line) for line in (proj / "out" / "quarantine" / "d.jsonl").read_bytes().splitlines()]
    held = [k["_tos_lint_unreadable"] for k in kept]
    assert [h["line"] for h in held] == [2, 3, 4]
    assert [h.get("text", "").encode() or base64.b64decode(h["base64"]) for h in held] == lines[1:4]
    assert [k["_tos_lint_findings"][0]["rule_id"] for k in kept] == [
        "tos-lint.input.malformed-json", "tos-lint.input.not-an-object", "tos-lint.input.malformed-json"]
