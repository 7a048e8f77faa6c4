"""`scan --sample N|FRACTION --seed S`: reproducible samples and prevalence
estimates with 95 % Wilson intervals, checked against an independent computation."""
from __future__ import annotations

import json
import math
import random
from pathlib import Path
from statistics import NormalDist
from typing import Any

import pytest

from tests.helpers import invoke, rule, write_pack

Z = NormalDist().inv_cdf(0.975)


def wilson_by_quadratic(k: int, n: int) -> tuple[float, float]:
    """The Wilson bounds are the roots p of (p_hat - p)^2 = z^2 p (1 - p) / n."""
    p_hat = k / n
    a = 1 + Z * Z / n
    b = -(2 * p_hat + Z * Z / n)
    c = p_hat * p_hat
    root = math.sqrt(max(b * b - 4 * a * c, 0.0))
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "pack.yaml", [
        rule("test.chatgpt", [{"phrase": "I am ChatGPT"}]),
        rule("test.openai", [{"phrase": "by OpenAI"}], severity="low",
             examples={"match": ["made by OpenAI"], "no_match": ["Hello."]}),
        rule("test.deepseek", [{"phrase": "I am DeepSeek"}], provider="deepseek",
             examples={"match": ["I am DeepSeek."], "no_match": ["Hello."]}),
    ])


def write_records(path: Path, texts: list[str]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i, text in enumerate(texts, 1):
            f.write(json.dumps({"id": f"r{i}", "text": text}) + "\n")
    return path


def scan(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, target: Any, *extra: Any) -> dict[str, Any]:
    res = invoke(["scan", target, "--no-default-rules", "--rules", pack, "--format", "json", "-j", "1",
                  "--fail-on", "never", *extra], tmp_path, monkeypatch)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def sampled_lines(doc: dict[str, Any], path: str | None = None) -> list[int]:
    lines = sorted({f["location"]["line"] for f in doc["findings"]
                    if path is None or f["location"]["path"] == path})
    for f in doc["findings"]:  # every record has an id matching its line
        assert f["location"]["record_id"] == f"r{f['location']['line']}"
    return lines


# --- reproducibility ---------------------------------------------------------------------

def test_same_seed_same_sample_other_seed_other_sample(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_records(tmp_path / "d.jsonl", ["I am ChatGPT."] * 2000)
    a = sampled_lines(scan(tmp_path, pack, monkeypatch, data, "--sample", "0.1", "--seed", "7"))
    b = sampled_lines(scan(tmp_path, pack, monkeypatch, data, "--sample", "0.1", "--seed", "7"))
    c = sampled_lines(scan(tmp_path, pack, monkeypatch, data, "--sample", "0.1", "--seed", "8"))
    assert a == b
    assert 100 < len(a) < 300 and 100 < len(c) < 300
    assert a != c
    # two independent 10 % samples overlap by about 10 % of each
    assert len(set(a) & set(c)) < 0.3 * len(a)


def test_same_seed_same_sample_wherever_the_dataset_sits(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sampling.py: "the same seed picks the same records on any machine".
    The same dataset at two locations (two machines, two mount points),
    scanned by absolute path, must give the same sample."""
    lines = [json.dumps({"id": f"r{i}", "text": "I am ChatGPT."}) for i in range(1, 401)]
    samples = []
    for where in ("machine-a/mnt/data", "machine-b/home/me/datasets/data"):
        folder = tmp_path / where
        folder.mkdir(parents=True)
        (folder / "part-0.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        samples.append(sampled_lines(scan(tmp_path, pack, monkeypatch, folder, "--sample", "0.1", "--seed", "42")))
    assert samples[0] and samples[0] == samples[1]


def test_same_seed_same_sample_from_another_working_directory(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    write_records(repo / "data" / "d.jsonl", ["I am ChatGPT."] * 400)
    clone = tmp_path / "elsewhere" / "clone"
    (clone / "data").mkdir(parents=True)
    (clone / "data" / "d.jsonl").write_bytes((repo / "data" / "d.jsonl").read_bytes())
    a = sampled_lines(scan(repo, pack, monkeypatch, "data", "--sample", "0.1", "--seed", "9"))
    b = sampled_lines(scan(clone, pack, monkeypatch, "data", "--sample", "0.1", "--seed", "9"))
    assert a and a == b


def test_percent_and_fraction_are_the_same_sample(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_records(tmp_path / "d.jsonl", ["I am ChatGPT."] * 500)
    a = sampled_lines(scan(tmp_path, pack, monkeypatch, data, "--sample", "20%", "--seed", "3"))
    b = sampled_lines(scan(tmp_path, pack, monkeypatch, data, "--sample", "0.2", "--seed", "3"))
    assert a == b and a


def test_fraction_size_on_10k_records(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n, fraction = 10_000, 0.05
    data = write_records(tmp_path / "d.jsonl", [f"record number {i}" for i in range(n)])
    sd = math.sqrt(n * fraction * (1 - fraction))
    for seed in (1, 2):
        doc = scan(tmp_path, pack, monkeypatch, data, "--sample", str(fraction), "--seed", str(seed))
        got = doc["sample"]["sampled_records"]
        assert abs(got - n * fraction) <= 5 * sd, (got, n * fraction, sd)
        assert doc["summary"]["records"] == n  # every record is read, a sample is scanned


def test_count_is_exact_per_file(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    sizes = {"a.jsonl": 120, "b.jsonl": 45, "c.jsonl": 7}
    for name, size in sizes.items():
        write_records(folder / name, ["I am ChatGPT."] * size)
    doc = scan(tmp_path, pack, monkeypatch, "data", "--sample", "20", "--seed", "5")
    for name, size in sizes.items():
        lines = sampled_lines(doc, f"data/{name}")
        assert len(lines) == min(20, size)
        assert all(1 <= ln <= size for ln in lines)
    assert doc["sample"]["sampled_records"] == 20 + 20 + 7
    again = scan(tmp_path, pack, monkeypatch, "data", "--sample", "20", "--seed", "5")
    other = scan(tmp_path, pack, monkeypatch, "data", "--sample", "20", "--seed", "6")
    assert sampled_lines(again, "data/a.jsonl") == sampled_lines(doc, "data/a.jsonl")
    assert sampled_lines(other, "data/a.jsonl") != sampled_lines(doc, "data/a.jsonl")
    assert sampled_lines(other, "data/c.jsonl") == list(range(1, 8))


def test_count_sample_is_roughly_uniform(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reservoir must not favour the start of the file: over 1000 records,
    a 100-record sample should put about half its picks in each half."""
    data = write_records(tmp_path / "d.jsonl", ["I am ChatGPT."] * 1000)
    doc = scan(tmp_path, pack, monkeypatch, data, "--sample", "100", "--seed", "11")
    lines = sampled_lines(doc)
    assert len(lines) == 100
    first_half = sum(1 for ln in lines if ln <= 500)
    # hypergeometric sd is about 4.7; allow 4 sd
    assert abs(first_half - 50) <= 19, first_half


@pytest.mark.parametrize("spec", ["0.2", "15"])
def test_sample_does_not_depend_on_jobs(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name, size in (("a.jsonl", 90), ("b.jsonl", 60), ("c.jsonl", 30)):
        write_records(folder / name, ["I am ChatGPT."] * size)
    one = scan(tmp_path, pack, monkeypatch, "data", "--sample", spec, "--seed", "4")
    res = invoke(["scan", "data", "--no-default-rules", "--rules", pack, "--format", "json", "-j", "2",
                  "--fail-on", "never", "--sample", spec, "--seed", "4"], tmp_path, monkeypatch)
    two = json.loads(res.stdout)
    assert one["findings"] == two["findings"] and one["findings"]
    assert one["sample"] == two["sample"]


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5", "0%", "150%", "0.0"])
def test_invalid_sample_exits_2(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    data = write_records(tmp_path / "d.jsonl", ["x"])
    res = invoke(["scan", data, "--no-default-rules", "--rules", pack, "--sample", value, "-j", "1"], tmp_path, monkeypatch)
    assert res.exit_code == 2
    assert "--sample" in res.stderr


# --- prevalence and Wilson intervals ---------------------------------------------------------

def _mixed_dataset(path: Path, n: int, n_openai: int, n_deepseek: int, seed: int = 1) -> tuple[set[int], set[int]]:
    rng = random.Random(seed)
    positions = rng.sample(range(1, n + 1), n_openai + n_deepseek)
    openai, deepseek = set(positions[:n_openai]), set(positions[n_openai:])
    texts = []
    for i in range(1, n + 1):
        if i in openai:
            # two openai rules on one record: still one record for prevalence
            texts.append("I am ChatGPT, made by OpenAI." if i % 2 else "I am ChatGPT.")
        elif i in deepseek:
            texts.append("I am DeepSeek.")
        else:
            texts.append(f"plain record {i}")
    write_records(path, texts)
    return openai, deepseek


def test_full_sample_gives_exact_shares(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 1000
    openai, deepseek = _mixed_dataset(tmp_path / "d.jsonl", n, 80, 30)
    doc = scan(tmp_path, pack, monkeypatch, tmp_path / "d.jsonl", "--sample", "1.0")
    sample = doc["sample"]
    assert sample["sampled_records"] == n
    providers = sample["providers"]
    assert set(providers) == {"openai", "deepseek"}
    for name, truth in (("openai", openai), ("deepseek", deepseek)):
        entry = providers[name]
        assert entry["records"] == len(truth)
        assert entry["share"] == pytest.approx(len(truth) / n)
        low, high = wilson_by_quadratic(len(truth), n)
        assert entry["ci95"][0] == pytest.approx(low, abs=1.1e-6)
        assert entry["ci95"][1] == pytest.approx(high, abs=1.1e-6)
        assert entry["ci95"][0] < len(truth) / n < entry["ci95"][1]


def test_sampled_prevalence_matches_findings_and_covers_truth(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 4000
    openai, deepseek = _mixed_dataset(tmp_path / "d.jsonl", n, 400, 200)
    truth = {"openai": len(openai) / n, "deepseek": len(deepseek) / n}
    covered = total = 0
    for seed in range(8):
        doc = scan(tmp_path, pack, monkeypatch, tmp_path / "d.jsonl", "--sample", "0.25", "--seed", str(seed))
        sample = doc["sample"]
        m = sample["sampled_records"]
        assert abs(m - n * 0.25) <= 5 * math.sqrt(n * 0.25 * 0.75)
        for name, share in truth.items():
            entry = sample["providers"][name]
            flagged = {f["location"]["line"] for f in doc["findings"] if f["provider"] == name}
            assert entry["records"] == len(flagged)  # records, not findings
            assert flagged <= (openai if name == "openai" else deepseek)
            assert entry["share"] == pytest.approx(len(flagged) / m)
            low, high = wilson_by_quadratic(len(flagged), m)
            assert entry["ci95"] == [pytest.approx(low, abs=1.1e-6), pytest.approx(high, abs=1.1e-6)]
            total += 1
            covered += entry["ci95"][0] <= share <= entry["ci95"][1]
    # 95 % intervals: 16 of them, P(12 or fewer cover) < 1 %
    assert covered >= 13, (covered, total)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (1, 1000), (500, 1000), (999, 1000), (7, 37)])
def test_wilson_interval_function(k: int, n: int) -> None:
    from tos_lint.sampling import wilson_interval

    low, high = wilson_interval(k, n)
    exp_low, exp_high = wilson_by_quadratic(k, n)
    assert low == pytest.approx(exp_low, abs=1e-9)
    assert high == pytest.approx(exp_high, abs=1e-9)
    eps = 1e-12  # floating point: at k = n the upper bound may be 1 - 1 ulp
    assert 0.0 <= low <= k / n + eps and k / n - eps <= high <= 1.0


def test_wilson_known_values() -> None:
    from tos_lint.sampling import wilson_interval

    # closed forms at the edges: k = 0 -> [0, z^2/(n+z^2)], k = n -> [n/(n+z^2), 1]
    assert wilson_interval(0, 20) == (0.0, pytest.approx(Z * Z / (20 + Z * Z)))
    low, high = wilson_interval(20, 20)
    assert low == pytest.approx(20 / (20 + Z * Z)) and high == pytest.approx(1.0)
    # a textbook value: 8 of 10 -> about [0.490, 0.943]
    low, high = wilson_interval(8, 10)
    assert round(low, 3) == 0.490 and round(high, 3) == 0.943
