"""The wheel ships the built-in packs and the provider registry.

The build runs on a copy of the project in a temporary folder, so that it
leaves no `build/` or `*.egg-info` behind in the working tree.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO

_SKIP = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__",
                               "tests", "sample_data", "benchmarks")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "tos-lint"
    shutil.copytree(REPO, src, ignore=_SKIP)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [built] = list(out.glob("tos_lint-*.whl"))
    return built


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_contains_the_registry(wheel: Path) -> None:
    assert "tos_lint/builtin_rules/providers.yaml" in _names(wheel)


def test_wheel_contains_every_pack_from_rules(wheel: Path) -> None:
    packs = sorted(p.name for p in (REPO / "rules").iterdir() if p.suffix in (".yaml", ".yml"))
    assert "providers.yaml" in packs and len(packs) > 1
    names = _names(wheel)
    missing = [p for p in packs if f"tos_lint/builtin_rules/{p}" not in names]
    assert missing == []


def test_wheel_packs_are_byte_identical(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for path in (REPO / "rules").glob("*.yaml"):
            assert zf.read(f"tos_lint/builtin_rules/{path.name}") == path.read_bytes(), path.name


def test_wheel_contains_the_package_and_entry_point(wheel: Path) -> None:
    names = _names(wheel)
    assert "tos_lint/__init__.py" in names
    assert "tos_lint/cli.py" in names
    assert any(n.startswith("tos_lint/reporters/") for n in names)
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(entry_points).decode()
    assert "tos-lint = tos_lint.cli:main" in text


def test_wheel_has_no_tests_or_sample_data(wheel: Path) -> None:
    assert not [n for n in _names(wheel) if n.startswith(("tests/", "sample_data/"))]


def test_wheel_contains_every_module_of_the_package(wheel: Path) -> None:
    modules = sorted(
        p.relative_to(REPO).as_posix() for p in (REPO / "tos_lint").rglob("*.py") if "__pycache__" not in p.parts
    )
    names = _names(wheel)
    missing = [m for m in modules if m not in names]
    assert missing == []
