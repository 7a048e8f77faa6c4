"""Helpers shared by the tests: packs, data files, a JSON-pointer resolver, the CLI."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import yaml

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
TOS_LINT = Path(sys.executable).parent / "tos-lint"


# --- packs -----------------------------------------------------------------------

def rule(rule_id: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A valid rule with sensible defaults; `extra` overrides or adds keys."""
    doc: dict[str, Any] = {
        "id": rule_id,
        "provider": "openai",
        "severity": "high",
        "confidence": 0.9,
        "message": f"test rule {rule_id}",
        "match": {"any": items},
        "examples": {"match": ["I am ChatGPT."], "no_match": ["Hello there."]},
    }
    doc.update(extra)
    return doc


def write_pack(path: Path, rules: list[dict[str, Any]], name: str | None = None) -> Path:
    doc = {"pack": name or path.stem.replace("_", "-"), "version": 1, "rules": rules}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


CHATGPT_RULE_ID = "test.chatgpt"


def chatgpt_pack(directory: Path, name: str = "chatgpt.yaml") -> Path:
    """A one-rule pack: the phrase "I am ChatGPT" in any role."""
    return write_pack(directory / name, [rule(CHATGPT_RULE_ID, [{"phrase": "I am ChatGPT"}])], name="test-chatgpt")


# --- data ------------------------------------------------------------------------

def write_jsonl(path: Path, records: Iterable[Any], ensure_ascii: bool = False) -> Path:
    lines = [json.dumps(r, ensure_ascii=ensure_ascii) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def resolve(data: Any, pointer: str) -> Any:
    """RFC 6901, written independently of tos_lint."""
    if pointer == "":
        return data
    assert pointer.startswith("/"), pointer
    node = data
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node


# --- command line ---------------------------------------------------------------------

def run_cli(args: list[str], cwd: Path, input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)  # the session's compile cache (conftest) comes with it
    env.pop("TOS_LINT_DEBUG", None)
    env["COLUMNS"] = "200"
    proc = subprocess.run(
        [str(TOS_LINT), *args], cwd=cwd, input=input, capture_output=True, timeout=timeout, env=env,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode,
        proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
    )


# Root reads and writes any folder whatever its mode: drop the capabilities that let it.
_NO_DAC_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def as_ordinary_user(locked: Path) -> list[str]:
    """A command prefix under which the folder `locked` (its mode already
    lowered) cannot be listed or written; skip the test where none can be had."""
    import shutil

    import pytest

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes do not bind root")
    probe = subprocess.run([*_NO_DAC_OVERRIDE, "touch", str(locked / ".probe")], capture_output=True)
    if probe.returncode == 0:
        (locked / ".probe").unlink()
        pytest.skip("root can write a read-only folder here even without DAC capabilities")
    return _NO_DAC_OVERRIDE


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback (most recent call last)" not in stream, stream
        assert "internal error" not in stream.lower(), stream


# --- built-in packs (validating them compiles every regex: load them once) -------------

def registry_providers() -> set[str]:
    from tos_lint.registry import load_registry

    return set(load_registry().providers) | {"unknown"}


@lru_cache(maxsize=1)
def _builtin_packs_cached() -> tuple[Any, ...]:
    from tos_lint.packs import builtin_pack_paths, load_packs

    return tuple(load_packs(builtin_pack_paths(), registry_providers()))


def builtin_packs() -> list[Any]:
    """The validated built-in packs (an error is raised again on every call)."""
    return list(_builtin_packs_cached())


def invoke(args: list[Any], cwd: Path, monkeypatch: Any) -> Any:
    """Run the CLI in-process from `cwd`; re-raise anything but an exit."""
    from typer.testing import CliRunner

    from tos_lint.cli import app

    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def force_split(monkeypatch: Any, size: int) -> None:
    """Make `scan` split plain JSONL files into byte ranges of `size` bytes
    (SPLIT_BYTES caps the range size; MIN_SPLIT_BYTES, where present, floors it)."""
    import tos_lint.parallel

    monkeypatch.setattr(tos_lint.parallel, "SPLIT_BYTES", size)
    monkeypatch.setattr(tos_lint.parallel, "MIN_SPLIT_BYTES", size, raising=False)


def builtin_findings(paths: list[Path], ruleset: Any) -> list[Any]:
    """Findings of the built-in packs (the session's compiled ruleset) on
    `paths`, through the engine directly: no second pattern database (the
    line prefilter) is compiled for these few records."""
    from tos_lint.engine import Engine, EngineOptions
    from tos_lint.readers import discover

    engine = Engine(ruleset, EngineOptions(prefilter=False))
    files, _ = discover([str(p) for p in paths])
    return [f for inp in files for f in engine.scan_file(inp).findings]


def load_script(relative: str) -> ModuleType:
    """A script of the repository (`benchmarks/...`, `tools/...`), which is no
    package, loaded as a module by its file name. It is registered under that
    name first: dataclasses look their module up while the script runs."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module
