"""Files read whole before a run (configuration, rule pack, baseline,
allowlist, report, index) may name anything: a device, a FIFO, a path with
a NUL, JSON nested past any parser's stack. Each is one line naming the
option or file, exit 2, never an internal error or a memory blow-up."""
from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chatgpt_pack, invoke, write_jsonl
from tos_lint.wholefile import read_whole, same_version

ZERO = "/dev/zero"


@pytest.fixture()
def proj(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "d.jsonl", [{"text": "I am ChatGPT, a language model."}])
    chatgpt_pack(tmp_path, "pack.yaml")
    return tmp_path


def _usage_error(res: Any, message: str) -> None:
    assert res.exit_code == 2, res.output
    assert message in res.output, res.output
    assert "internal error" not in res.output and "Traceback" not in res.output


@pytest.mark.skipif(not os.path.exists(ZERO), reason="no /dev/zero here")
@pytest.mark.parametrize(("args", "message"), [
    (["scan", "d.jsonl", "--baseline", ZERO], f"--baseline {ZERO}: cannot read: a device, not a file"),
    (["scan", "d.jsonl", "--rules", ZERO], f"{ZERO}: cannot read: a device, not a file"),
    (["scan", "d.jsonl", "--config", ZERO], f"--config {ZERO}: cannot read: a device, not a file"),
    (["scan", "d.jsonl", "--allowlist", ZERO], f"{ZERO}: cannot read: a device, not a file"),
    (["scan", "d.jsonl", "--index", ZERO], f"{ZERO}: not a regular file"),
    (["rules", "validate", ZERO], f"{ZERO}: cannot read: a device, not a file"),
    (["verify", ZERO], f"{ZERO}: cannot read: a device, not a file"),
    (["report", ZERO], f"{ZERO}: cannot read: a device, not a file"),
])
def test_a_device_is_refused_not_read_forever(proj: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                             message: str) -> None:
    _usage_error(invoke(args, proj, monkeypatch), message)


def test_a_fifo_is_read_like_a_file(tmp_path: Path) -> None:
    """`--baseline <(git show main:baseline.json)` hands over a pipe."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the writer
        with open(fifo, "wb") as out:
            out.write(b'{"version": 1}')
        os._exit(0)
    assert read_whole(fifo) == b'{"version": 1}'
    os.waitpid(pid, 0)


def _fifo_of(tmp_path: Path, data: bytes) -> tuple[Path, int]:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    pid = os.fork()
    if pid == 0:  # the writer; a reader that stops early leaves it a broken pipe
        try:
            with open(fifo, "wb") as out:
                out.write(data)
        finally:
            os._exit(0)
    return fifo, pid


@pytest.mark.parametrize("limit, refused", [(3 << 20, False), ((5 << 19) - 1, True)])
def test_a_pipe_read_in_parts_stops_past_the_limit(tmp_path: Path, limit: int, refused: bool) -> None:
    data = bytes(range(256)) * (5 << 11)  # 2.5 MiB: three parts of at most 1 MiB
    fifo, pid = _fifo_of(tmp_path, data)
    try:
        if refused:
            with pytest.raises(OSError, match="more than such a file holds"):
                read_whole(fifo, limit=limit)
        else:
            assert read_whole(fifo, limit=limit) == data
    finally:
        os.waitpid(pid, 0)


def test_a_small_file_is_read_without_asking_for_the_limit(tmp_path: Path) -> None:
    """Python allocates what a read asks for before reading: asking for the
    4 GiB limit to read a rule pack fails on a machine that will not lend it."""
    (tmp_path / "small.yaml").write_bytes(b"pack: p\n" * 1000)
    tracemalloc.start()
    try:
        assert read_whole(tmp_path / "small.yaml") == b"pack: p\n" * 1000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak


def test_more_than_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 100)
    assert read_whole(tmp_path / "big", limit=100) == b"x" * 100
    with pytest.raises(OSError, match="more than such a file holds"):
        read_whole(tmp_path / "big", limit=99)


def test_a_nul_in_a_path_from_the_configuration(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "tos-lint.yaml").write_text('rules: ["a\\0b.yaml"]\n', encoding="utf-8")
    _usage_error(invoke(["scan", "d.jsonl"], proj, monkeypatch), "cannot read: the path holds a NUL byte")
    (proj / "tos-lint.yaml").write_text('baseline: "a\\0b.json"\n', encoding="utf-8")
    _usage_error(invoke(["scan", "d.jsonl"], proj, monkeypatch), "a\\x00b.json: cannot read: the path holds a NUL byte")


def test_a_baseline_nested_past_the_parsers_depth(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (proj / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    _usage_error(invoke(["scan", "d.jsonl", "--baseline", "deep.json"], proj, monkeypatch),
                 "--baseline deep.json: not valid JSON")


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_a_version_is_the_integer_itself(proj: Path, monkeypatch: pytest.MonkeyPatch, version: Any) -> None:
    assert not same_version(version, 1) and same_version(1, 1)
    (proj / "b.json").write_text(json.dumps({"tool": "tos-lint", "version": version, "findings": []}), encoding="utf-8")
    _usage_error(invoke(["scan", "d.jsonl", "--baseline", "b.json"], proj, monkeypatch), "format version")
    pack = (proj / "pack.yaml").read_text(encoding="utf-8")
    (proj / "pack.yaml").write_text(pack.replace("version: 1", f"version: {json.dumps(version)}", 1), encoding="utf-8")
    _usage_error(invoke(["rules", "validate", "pack.yaml"], proj, monkeypatch), "key 'version': must be 1")


def test_a_configuration_that_is_a_folder_or_has_an_unknown_stance(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _usage_error(invoke(["scan", "d.jsonl", "--config", "."], proj, monkeypatch),
                 "--config .: is a directory, not a configuration file")
    (proj / "c.yaml").write_text("providers: {openai: block}\n", encoding="utf-8")
    _usage_error(invoke(["scan", "d.jsonl", "--config", "c.yaml"], proj, monkeypatch),
                 "openai: 'block' is not a stance (expected one of forbid, review, allow)")


def test_index_shingle_sizes_out_of_range(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for option, n in (("--word-ngrams", "0"), ("--char-ngrams", "99")):
        _usage_error(invoke(["index", "build", "d.jsonl", "--provider", "openai", "-o", "x.idx", option, n], proj,
                            monkeypatch), f"{option}: must be from 1 to 32 ({n} given)")


def test_reports_that_lack_what_a_renderer_shows(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(["scan", "d.jsonl", "--rules", "pack.yaml", "--no-default-rules", "-f", "json", "-o", "r.json"],
                 proj, monkeypatch)
    assert res.exit_code == 1, res.output
    doc = json.loads((proj / "r.json").read_text(encoding="utf-8"))
    doc["findings"][0].pop("location")
    (proj / "noloc.json").write_text(json.dumps(doc), encoding="utf-8")
    _usage_error(invoke(["report", "noloc.json", "-f", "console"], proj, monkeypatch),
                 "findings[0]: key 'location.path': must be a non-empty string (got None)")
    doc = json.loads((proj / "r.json").read_text(encoding="utf-8"))
    doc["manifest"]["inputs"] = 5
    (proj / "inputs.json").write_text(json.dumps(doc), encoding="utf-8")
    _usage_error(invoke(["verify", "inputs.json"], proj, monkeypatch),
                 "manifest.inputs must be the list of input files the scan read")
