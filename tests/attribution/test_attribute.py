"""attribute_paths, sampling, file-level findings and the `attribute` command."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tos_lint.attribution import PROVIDERS, RULE_ID, attribute_paths, attribution_findings
from tos_lint.attribution.aggregate import DatasetAttribution, ProviderProbability
from tos_lint.attribution.attribute import AttributionReport, FileAttribution
from tos_lint.attribution.sources import sample_file
from tos_lint.errors import UsageError
from tos_lint.model import Severity
from tos_lint.readers import InputFile
from tests.attribution.conftest import CHATTY, TERSE
from tests.helpers import assert_no_traceback, run_cli, write_jsonl


def chat(answer: str, i: int = 0) -> dict[str, Any]:
    return {"id": f"r{i}", "messages": [{"role": "user", "content": f"question {i}"},
                                        {"role": "assistant", "content": answer}]}


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "chat.jsonl", [chat(CHATTY[i % len(CHATTY)], i) for i in range(30)])


def test_report_shape(dataset: Path, tmp_path: Path) -> None:
    other = write_jsonl(tmp_path / "terse.jsonl", [chat(TERSE[i % len(TERSE)], i) for i in range(12)])
    report = attribute_paths([dataset, other], records=True)
    doc = report.to_dict()
    assert doc["kind"] == "style-attribution" and "not proof" in doc["disclaimer"]
    assert [f["path"] for f in doc["files"]] == [str(dataset), str(other)]
    first = doc["files"][0]
    assert first["n_records"] == 30 and first["records_read"] == 30 and first["sampled"] is False
    assert [r["provider"] for r in first["ranked"]] and {r["provider"] for r in first["ranked"]} == set(PROVIDERS)
    assert sum(r["probability"] for r in first["ranked"]) == pytest.approx(1.0, abs=1e-3)
    assert all(r["interval"][0] <= r["probability"] <= r["interval"][1] + 1e-4 for r in first["ranked"])
    assert len(first["records"]) == 30 and first["records"][0]["line"] == 1 and first["records"][0]["record_id"] == "r0"
    assert doc["overall"]["n_records"] == 42


def test_records_without_assistant_text_are_counted_not_used(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [chat(TERSE[0]), {"messages": [{"role": "user", "content": "hi"}]}])
    f = attribute_paths([path]).files[0]
    assert (f.n_records, f.records_read, f.without_text) == (1, 2, 1)


def test_no_text_at_all_gives_an_empty_ranking(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "users.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    report = attribute_paths([path])
    assert report.files[0].result.ranked == () and report.overall.n_records == 0


def test_compressed_and_array_files(tmp_path: Path) -> None:
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress("\n".join(json.dumps(chat(t)) for t in CHATTY).encode()))
    arr = tmp_path / "b.json"
    arr.write_text(json.dumps([{"instruction": "q", "output": t} for t in TERSE]))
    report = attribute_paths([gz, arr])
    assert [f.n_records for f in report.files] == [len(CHATTY), len(TERSE)]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        attribute_paths([tmp_path / "missing.jsonl"])


def test_large_plain_jsonl_is_seek_sampled(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", [chat(CHATTY[i % 3] + f" ({i})", i) for i in range(2000)])
    sample = sample_file(InputFile(str(path), path), max_records=100)
    assert sample.sampled and 90 <= len(sample.records) <= 100
    assert sample.estimated_records is not None and 1500 < sample.estimated_records < 2500
    offsets = [r.offset for r in sample.records]
    assert offsets == sorted(offsets) and offsets[-1] > path.stat().st_size * 0.9
    assert sample_file(InputFile(str(path), path), max_records=100).records == sample.records  # deterministic


def test_small_or_compressed_files_use_a_reservoir(tmp_path: Path) -> None:
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress("\n".join(json.dumps(chat(TERSE[i % 4], i)) for i in range(500)).encode()))
    sample = sample_file(InputFile(str(gz), gz), max_records=50)
    assert sample.sampled and len(sample.records) == 50 and sample.records_read == 500
    lines = [r.line for r in sample.records]
    assert lines == sorted(lines) and lines[-1] > 250
    # the same file named by another path (relative, through a link) gives the same sample
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / gz.name).symlink_to(gz)
    spelled = f"{other}/../elsewhere/{gz.name}"
    assert sample_file(InputFile(spelled, Path(spelled)), max_records=50).records == sample.records


def test_unreadable_counts_lost_lines_not_notes_on_lines_still_read(tmp_path: Path) -> None:
    good = json.dumps(chat(TERSE[0])).encode()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(good + b"\n{broken\n" + good.replace(b"42", b"4\xff2") + b"\n")
    sample = sample_file(InputFile(str(mixed), mixed), max_records=50)
    assert (sample.unreadable, sample.records_read, len(sample.records)) == (1, 2, 2)
    wide = tmp_path / "wide.jsonl"  # read all the same: a note on the file, no record lost
    wide.write_bytes("\n".join(json.dumps(chat(t, i)) for i, t in enumerate(TERSE)).encode("utf-16"))
    sample = sample_file(InputFile(str(wide), wide), max_records=50)
    assert (sample.unreadable, sample.records_read) == (0, len(TERSE))


def test_a_file_cut_short_is_attributed_from_what_was_read_and_says_so(tmp_path: Path) -> None:
    whole = gzip.compress("\n".join(json.dumps(chat(TERSE[i % 4], i)) for i in range(400)).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    sample = sample_file(InputFile(str(cut), cut), max_records=50)
    assert 0 < sample.records_read < 400 and sample.records
    assert sample.problem is not None and "could not be read to its end" in sample.problem


# --- findings --------------------------------------------------------------------------

def fake_report(path: str, probabilities: dict[str, float], n: int = 200) -> AttributionReport:
    ranked = tuple(ProviderProbability(p, v, max(v - 0.1, 0), min(v + 0.1, 1))
                   for p, v in sorted(probabilities.items(), key=lambda kv: -kv[1]))
    result = DatasetAttribution(n, ranked, 0.95)
    f = FileAttribution(path, result, records_read=n, without_text=0, unreadable=0, sampled=False)
    return AttributionReport([f], result, model={}, settings={})


def test_forbids_competing_provider_above_threshold_is_a_file_finding() -> None:
    from tos_lint.registry import load_registry

    registry = load_registry()
    assert registry.classification("openai") == "forbids-competing"
    report = fake_report("data/a.jsonl", {"openai": 0.8, "mistral": 0.1, "other": 0.1})
    [finding] = attribution_findings(report, registry)
    assert finding.rule_id == RULE_ID == "tos-lint.attribution.style"
    assert finding.provider == "openai" and finding.severity == Severity.MEDIUM
    assert finding.evidence == "style" and finding.confidence == pytest.approx(0.8)
    assert (finding.location.path, finding.location.pointer, finding.location.line) == ("data/a.jsonl", "", None)
    assert finding.detail["probabilities"]["openai"] == pytest.approx(0.8) and finding.detail["records"] == 200
    assert "not proof" in finding.message and finding.fingerprint


def test_no_finding_below_threshold_or_for_other_classifications() -> None:
    from tos_lint.registry import load_registry

    registry = load_registry()
    assert attribution_findings(fake_report("a", {"openai": 0.55, "other": 0.45}), registry) == []
    assert registry.classification("mistral") != "forbids-competing"
    assert attribution_findings(fake_report("a", {"mistral": 0.9, "openai": 0.1}), registry) == []
    assert attribution_findings(fake_report("a", {"other": 0.95, "openai": 0.05}), registry) == []
    found = attribution_findings(fake_report("a", {"openai": 0.55, "other": 0.45}), registry, threshold=0.5, severity="high")
    assert [f.severity for f in found] == [Severity.HIGH]


def test_bad_threshold_or_severity_is_a_usage_error() -> None:
    from tos_lint.registry import load_registry

    with pytest.raises(UsageError):
        attribution_findings(fake_report("a", {"openai": 1.0}), load_registry(), threshold=1.5)
    with pytest.raises(UsageError):
        attribution_findings(fake_report("a", {"openai": 1.0}), load_registry(), severity="severe")


# --- the command -----------------------------------------------------------------------

def _app() -> typer.Typer:
    """The command on its own app, as cli.py mounts it."""
    from tos_lint.cli_attribute import attribute

    app = typer.Typer()
    app.command("attribute")(attribute)
    app.command("noop")(lambda: None)  # two commands: `attribute` is then a sub-command, as in cli.py
    return app


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(_app(), ["attribute", *args])


def test_cli_json_shape(dataset: Path) -> None:
    result = invoke(str(dataset), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    [f] = doc["files"]
    assert f["path"] == str(dataset)
    assert all(set(r) >= {"provider", "probability"} for r in f["ranked"])
    assert [r["probability"] for r in f["ranked"]] == sorted((r["probability"] for r in f["ranked"]), reverse=True)
    assert "records" not in f


def test_cli_records_and_output_file(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = invoke(str(dataset), "--format", "json", "--records", "-o", str(out))
    assert result.exit_code == 0, result.output
    f = json.loads(out.read_text())["files"][0]
    assert len(f["records"]) == 30 and {"provider", "probability"} <= set(f["records"][0]["ranked"][0])


def test_cli_console_is_labelled_as_evidence_not_proof(dataset: Path) -> None:
    result = invoke(str(dataset))
    assert result.exit_code == 0, result.output
    assert "probabilistic evidence of style, not proof" in result.stdout
    assert "30 records used" in result.stdout and "interval" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["missing.jsonl"], "no such file"),
    (["{data}", "--format", "xml"], "--format"),
    (["{data}", "--max-records", "-1"], "--max-records"),
    (["{data}", "--max-total-records", "-1"], "--max-total-records"),
    (["{data}", "-o", "{data}"], "refusing to overwrite"),
])
def test_cli_errors_exit_2(dataset: Path, args: list[str], message: str) -> None:
    result = invoke(*[a.replace("{data}", str(dataset)) for a in args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_cli_corrupted_model_exits_2(dataset: Path, model_copy: Path) -> None:
    from tos_lint.attribution.model import _load

    npz = model_copy.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[:-10])
    _load.cache_clear()
    result = invoke(str(dataset), "--model", str(model_copy))
    assert result.exit_code == 2 and "checksum" in result.output


def test_mounted_command_via_python_m(dataset: Path, tmp_path: Path) -> None:
    """Once cli.py mounts the command: `python -m tos_lint attribute --format json`."""
    import subprocess
    import sys

    from tos_lint import cli

    if not any(c.name == "attribute" for c in cli.app.registered_commands):
        pytest.skip("`attribute` is not mounted on the main CLI yet")
    proc = subprocess.run([sys.executable, "-m", "tos_lint", "attribute", str(dataset), "--format", "json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["path"] == str(dataset)


def test_total_budget_is_split_over_files(tmp_path: Path) -> None:
    paths = [write_jsonl(tmp_path / f"f{i}.jsonl", [chat(TERSE[j % 4], j) for j in range(40)]) for i in range(4)]
    report = attribute_paths(paths, max_records=30, max_total_records=40)
    assert [f.n_records for f in report.files] == [10, 10, 10, 10]
    assert all(f.sampled for f in report.files) and report.settings["max_records"] == 10
    assert [f.n_records for f in attribute_paths(paths, max_records=30, max_total_records=None).files] == [30] * 4


def test_a_small_run_does_not_load_the_compiled_loops(dataset: Path) -> None:
    """Loading numba costs more than it saves on a few hundred records: a
    run of the default sample in a fresh process stays on numpy, with the
    same answer as the compiled loops give."""
    import subprocess
    import sys

    code = ("import json, sys; from tos_lint.attribution import attribute_paths; "
            f"doc = attribute_paths([{str(dataset)!r}]).to_dict(); "
            "print(json.dumps([[m in sys.modules for m in ('numba', 'numpy.ma')], doc['files'][0]['ranked']]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded, ranked = json.loads(proc.stdout)
    assert loaded == [False, False]  # nor numpy's masked arrays, a fifth of numpy's import time
    pytest.importorskip("numba")  # loaded here, so this process takes the compiled loops
    compiled = attribute_paths([dataset]).to_dict()["files"][0]["ranked"]
    assert [r["provider"] for r in ranked] == [r["provider"] for r in compiled]
    assert [r["probability"] for r in ranked] == pytest.approx([r["probability"] for r in compiled], abs=1e-4)


def test_per_record_probabilities_are_computed_only_when_shown(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dataset-level answer needs only the centroid scores; the
    classifier's columns are scored only for `records=True`."""
    from tos_lint.attribution.model import PARTS, StyleModel

    asked: list[tuple[str, ...]] = []
    real = StyleModel.text_scores

    def spy(self, texts, compiled=True, parts=PARTS):  # type: ignore[no-untyped-def]
        asked.append(tuple(parts))
        return real(self, texts, compiled, parts)

    monkeypatch.setattr(StyleModel, "text_scores", spy)
    plain = attribute_paths([dataset])
    assert asked and set(asked) == {("centroid",)} and plain.files[0].records is None
    asked.clear()
    shown = attribute_paths([dataset], records=True)
    assert set(asked) == {PARTS} and shown.files[0].records is not None
    assert shown.files[0].result == plain.files[0].result


# --- scan --attribution -------------------------------------------------------------------

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_with_attribution_reports_style_apart_and_as_findings(dataset: Path, tmp_path: Path, jobs: str) -> None:
    """The style part is computed in a child process: the scan's report must
    carry it whole, and a low threshold must turn every forbids-competing
    provider above it into a file-level finding, counted in the summary."""
    from tos_lint.registry import load_registry

    registry = load_registry()
    out = tmp_path / "scan.json"
    proc = run_cli(["scan", str(dataset), "--attribution", "--attribution-threshold", "0.01",
                    "--jobs", jobs, "--format", "json", "-o", str(out)], tmp_path)
    assert_no_traceback(proc)
    doc = json.loads(out.read_text())
    [f] = doc["style_attribution"]["files"]
    assert f["path"] == str(dataset) and f["n_records"] == 30
    forbidding = [r["provider"] for r in f["ranked"] if r["probability"] >= 0.01
                  and registry.classification(r["provider"]) == "forbids-competing"]
    style = [x for x in doc["findings"] if x["rule_id"] == RULE_ID]
    assert sorted(x["provider"] for x in style) == sorted(forbidding) and forbidding
    assert doc["summary"]["by_rule"][RULE_ID] == len(style)


def test_scan_attribution_is_what_attribute_says(dataset: Path, tmp_path: Path) -> None:
    """The child that computes the style part starts as soon as the command
    line has checked its options, before the configuration is read, and is
    handed the configuration later: its answer is `attribute`'s."""
    out = tmp_path / "scan.json"
    proc = run_cli(["scan", str(dataset), "--attribution", "--format", "json", "-o", str(out)], tmp_path)
    assert_no_traceback(proc)
    style = json.loads(out.read_text())["style_attribution"]
    direct = attribute_paths([str(dataset)]).to_dict()
    assert style["files"] == direct["files"] and style["overall"] == direct["overall"]


@pytest.mark.parametrize("threshold", ["0", "1.5", "-0.2", "nan"])
def test_scan_with_a_bad_attribution_threshold_exits_2(dataset: Path, tmp_path: Path, threshold: str) -> None:
    """Refused before anything is scanned, 0 included (it once read as "not given")."""
    proc = run_cli(["scan", str(dataset), "--attribution", "--attribution-threshold", threshold], tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 2 and "--attribution-threshold: must be a number above 0" in proc.stderr


def test_scan_console_shows_style_apart_labelled_as_not_proof(dataset: Path, tmp_path: Path) -> None:
    plain = run_cli(["scan", str(dataset)], tmp_path)
    assert "Answers read like" not in plain.stdout
    proc = run_cli(["scan", str(dataset), "--attribution"], tmp_path)
    assert_no_traceback(proc)
    lines = proc.stdout.splitlines()
    line = lines[lines.index("Answers read like (style, probabilistic evidence, not proof)") + 1]
    assert line.strip().startswith(f"{dataset}: ") and line.rstrip().endswith("(30 records)") and line.count(" 0.") + line.count(" 1.") == 3


def test_cli_output_to_a_device_writes_through_it(dataset: Path, tmp_path: Path) -> None:
    """`-o` naming a device (here through a link to /dev/null) writes to the
    device; renaming a finished file over it would replace the device."""
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    result = invoke(str(dataset), "--format", "json", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == Path("/dev/null") and link.is_char_device()


def test_cli_records_with_markup_in_their_ids_print_as_written(tmp_path: Path) -> None:
    """A record id comes from the data: rich markup in it is text, not style."""
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"id": f"[/bold] x{i}", "instruction": "Say hi.", "output": CHATTY[i % len(CHATTY)]} for i in range(5)])
    result = invoke(str(data), "--records")
    assert result.exit_code == 0, result.output
    assert "[/bold] x0" in result.stdout
