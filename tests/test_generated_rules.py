"""rules/self-id-languages.yaml is written by tools/gen_self_id_languages.py:
the file must be what the script writes now, and the conditions the script
copies from the provider packs (so that each is compiled once for all) must
still be the packs' own strings."""
from __future__ import annotations

from types import ModuleType

import yaml

from tests.helpers import REPO, load_script


def _generator() -> ModuleType:
    return load_script("tools/gen_self_id_languages.py")


def test_the_generated_pack_is_what_its_script_writes() -> None:
    written = (REPO / "rules" / "self-id-languages.yaml").read_text(encoding="utf-8")
    assert written == _generator().document(), "run: .venv/bin/python tools/gen_self_id_languages.py"


def test_the_conditions_the_script_shares_with_the_packs_are_their_strings() -> None:
    generator = _generator()
    pack = yaml.safe_load((REPO / "rules" / "openai.yaml").read_text(encoding="utf-8"))
    chatgpt = next(rule for rule in pack["rules"] if rule["id"] == "openai.self-id.chatgpt")
    in_pack = {condition["regex"] for condition in chatgpt["unless"] if "regex" in condition}
    assert set(generator.ENGLISH_REPORTED) <= in_pack
    assert generator.OTHERS_WORDS_PROMPT in in_pack


def test_every_multilingual_rule_of_the_packs_carries_the_quoted_speech_condition() -> None:
    """The packs' own multilingual rules hold the condition the script builds
    from their openers, as written: one string, compiled once for all."""
    condition = _generator().quoted_opener(_generator().PACK_OPENERS)
    rules = [rule for path in sorted((REPO / "rules").glob("*.yaml")) if path.name != "self-id-languages.yaml"
             for rule in (yaml.safe_load(path.read_text(encoding="utf-8")).get("rules") or [])
             if rule["id"].endswith(".self-id.multilingual")]
    assert len(rules) == 14
    for rule in rules:
        assert condition in {c.get("regex") for c in rule.get("unless", [])}, rule["id"]
