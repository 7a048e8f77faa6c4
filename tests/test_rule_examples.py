"""Every example of every built-in rule, one pytest item each.

`pytest -k openai.self-id.chatgpt` runs the examples of one rule and
`pytest -k openai.` those of a pack, like `tos-lint rules test`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from tos_lint.packs import Pack, builtin_pack_paths
from tos_lint.selftest import ExampleResult, run_pack_examples
from tests.helpers import builtin_packs, registry_providers


def _load_builtin() -> list[Pack]:
    return builtin_packs()


def _params() -> list[Any]:
    try:
        packs = _load_builtin()
    except Exception as exc:  # noqa: BLE001 - reported by the one item below
        return [pytest.param(None, None, None, None, repr(exc), id="builtin-packs-do-not-load")]
    params = []
    for pack in packs:
        for rule in pack.rules:
            for kind, examples in (("match", rule.examples_match), ("no_match", rule.examples_no_match)):
                for i in range(len(examples)):
                    params.append(pytest.param(pack.path, rule.id, kind, i, None, id=f"{rule.id}:{kind}[{i}]"))
    return params


@lru_cache(maxsize=None)
def _results(pack_path: str) -> dict[str, ExampleResult]:
    [pack] = [p for p in _load_builtin() if p.path == pack_path]
    return {r.name: r for r in run_pack_examples(pack)}


@pytest.mark.parametrize(("pack_path", "rule_id", "kind", "position", "load_error"), _params())
def test_rule_example(pack_path: str | None, rule_id: str | None, kind: str | None, position: int | None,
                      load_error: str | None) -> None:
    assert load_error is None, f"the built-in packs do not load: {load_error}"
    assert pack_path is not None
    name = f"{rule_id}:{kind}[{position}]"
    result = _results(pack_path)[name]
    want = "a hit" if kind == "match" else "no hit"
    assert result.passed, (
        f"{Path(pack_path).name}: {name}: expected {want} of {rule_id}; "
        f"rules that hit: {list(result.hit_rules) or 'none'}; example: {result.example!r}"
    )


def test_builtin_packs_load() -> None:
    packs = _load_builtin()
    assert packs, "no built-in packs"
    names = [p.name for p in packs]
    assert len(names) == len(set(names))
    assert sum(len(p.rules) for p in packs) > 0
    ids = [r.id for p in packs for r in p.rules]
    assert len(ids) == len(set(ids))


def test_builtin_packs_compile_into_one_ruleset(builtin_ruleset: Any) -> None:
    assert builtin_ruleset.rules
    assert {r.id for r in builtin_ruleset.rules} == {r.id for p in _load_builtin() for r in p.rules}


def test_every_builtin_rule_has_match_and_no_match_examples() -> None:
    missing = [
        r.id for p in _load_builtin() for r in p.rules
        if len(r.examples_match) < 1 or len(r.examples_no_match) < 1
    ]
    assert missing == []


def test_every_builtin_rule_provider_is_in_the_registry() -> None:
    providers = registry_providers()
    unknown = sorted({r.provider for p in _load_builtin() for r in p.rules} - providers)
    assert unknown == []


def test_builtin_pack_paths_exclude_the_registry() -> None:
    paths = builtin_pack_paths()
    assert paths
    assert all(p.suffix in (".yaml", ".yml") for p in paths)
    assert "providers.yaml" not in {p.name for p in paths}
