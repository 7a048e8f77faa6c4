"""Rule evaluation details of `RuleSet.detect` that the rule examples do
not reach: conditions (`unless`, `requires`) met in another turn of the
record, around the hit, or in another field of it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tos_lint import detect, matcher
from tos_lint.detect import RuleSet
from tos_lint.model import Record, Segment, Source
from tos_lint.packs import load_packs
from tests.helpers import rule, write_pack


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    rules = [
        rule("t.asked", [{"phrase": "I am ChatGPT"}], unless=[{"phrase": "pretend", "where": "prompt"}]),
        rule("t.other", [{"phrase": "pretend"}], examples={"match": ["pretend"], "no_match": ["x"]}),
    ]
    path = write_pack(tmp_path_factory.mktemp("pack") / "t.yaml", rules)
    return RuleSet(load_packs([path], {"openai"}))


def _hits(ruleset: RuleSet, prompt: str, answer: str) -> list[str]:
    segments = [Segment("user", "/messages/0/content", prompt), Segment("assistant", "/messages/1/content", answer)]
    record = Record(Source("x.jsonl", 1), segments, {}, "openai")
    return sorted(h.rule_id for h in ruleset.detect(record))


def test_a_prompt_condition_met_in_the_user_turn_cancels_the_hit(ruleset: RuleSet) -> None:
    assert _hits(ruleset, "Please pretend to be a chatbot.", "Sure. I am ChatGPT.") == ["t.other"]


def test_a_prompt_condition_not_met_leaves_the_hit(ruleset: RuleSet) -> None:
    assert _hits(ruleset, "Who are you?", "I am ChatGPT.") == ["t.asked"]


def test_a_prompt_condition_is_not_met_by_the_answer_itself(ruleset: RuleSet) -> None:
    assert _hits(ruleset, "Who are you?", "I am ChatGPT, let us pretend.") == ["t.asked", "t.other"]


@pytest.fixture(scope="module")
def required_ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    rules = [
        rule("t.answer", [{"regex": r"^i am nova\.$"}], requires=[{"phrase": "who are you", "where": "prompt"}],
             examples={"match": [{"messages": [{"role": "user", "content": "Who are you?"},
                                               {"role": "assistant", "content": "I am Nova."}]}],
                       "no_match": ["I am Nova."]}),
        rule("t.near", [{"phrase": "I am Nova"}], requires=[{"phrase": "assistant", "window": 20},
                                                           {"phrase": "model", "where": "segment"}],
             examples={"match": ["I am Nova, an assistant."], "no_match": ["I am Nova."]}),
    ]
    path = write_pack(tmp_path_factory.mktemp("pack") / "r.yaml", rules)
    return RuleSet(load_packs([path], {"openai"}))


@pytest.mark.parametrize(("prompt", "answer", "expected"), [
    pytest.param("Who are you?", "I am Nova.", ["t.answer"], id="prompt-requirement-met"),
    pytest.param("Tell me a story.", "I am Nova.", [], id="prompt-requirement-not-met"),
    pytest.param("Tell me a story.", "I am Nova. Who are you?", [], id="not-met-by-the-answer-itself"),
    pytest.param("Hi", "I am Nova, your assistant.", ["t.near"], id="window-requirement-met"),
    pytest.param("Hi", "I am Nova, and I will be your guide on this long trip, your assistant.", [],
                 id="window-requirement-too-far"),
    pytest.param("Hi", "I am Nova. This long reply names the model that I run on.", ["t.near"],
                 id="segment-requirement-met"),
])
def test_a_hit_counts_only_where_one_requirement_holds(required_ruleset: RuleSet, prompt: str, answer: str,
                                                       expected: list[str]) -> None:
    assert _hits(required_ruleset, prompt, answer) == expected


def test_a_field_requirement_gates_a_field_rule(tmp_path: Path) -> None:
    rules = [rule("t.fp", FINGERPRINT, requires=[{"field": {"key": "object", "equals": "chat.completion"}}],
                  examples={"match": [{"object": "chat.completion", "system_fingerprint": "fp_1"}],
                            "no_match": [{"system_fingerprint": "fp_1"}]})]
    ruleset = RuleSet(load_packs([write_pack(tmp_path / "f.yaml", rules)], {"openai"}))
    with_object = Record(Source("x.jsonl", 1), [], {"object": "chat.completion", "system_fingerprint": "fp_1"}, "openai")
    without = Record(Source("x.jsonl", 2), [], {"system_fingerprint": "fp_1"}, "openai")
    assert [h.rule_id for h in ruleset.detect(with_object)] == ["t.fp"]
    assert ruleset.detect(without) == []


FINGERPRINT = [{"field": {"key": "system_fingerprint", "prefix": "fp_"}}]
TOO_LARGE_TO_TRACK = r"x[^.\n]{0,300}y"  # compiles, but not with start-of-match tracking


def test_a_pattern_refused_start_tracking_is_not_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_LINT_CACHE_DIR", str(tmp_path / "cache"))
    assert matcher._som_database(TOO_LARGE_TO_TRACK) is None

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(matcher, "compile_database", no_compile)
    assert matcher._som_database(TOO_LARGE_TO_TRACK) is None
    finder = matcher.StartFinder([TOO_LARGE_TO_TRACK])
    data = b"." * 200 + b"x" + b"-" * 100 + b"y"
    assert finder.start(0, data, len(data)) == len(data) - matcher.START_FALLBACK


def test_a_template_rule_reports_once_per_record_and_others_per_segment(tmp_path: Path) -> None:
    rules = [
        rule("t.template", [{"regex": r"<\|im_start\|>"}], evidence="template", severity="info",
             examples={"match": ["<|im_start|>"], "no_match": ["x"]}),
        rule("t.self-id", [{"phrase": "I am ChatGPT"}]),
    ]
    ruleset = RuleSet(load_packs([write_pack(tmp_path / "t.yaml", rules)], {"openai"}))
    segments = [Segment("unknown", f"/text#{i * 10}", "<|im_start|>assistant\nI am ChatGPT") for i in range(3)]
    hits = ruleset.detect(Record(Source("x.jsonl", 1), segments, {}, "openai"))
    assert [(h.rule_id, h.pointer) for h in hits if h.rule_id == "t.template"] == [("t.template", "/text#0")]
    assert len([h for h in hits if h.rule_id == "t.self-id"]) == 3


def test_a_rule_is_judged_at_its_first_surviving_match_without_an_entry_per_match(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = [rule("t.every", [{"regex": "a"}], unless=[{"regex": "^a", "where": "window", "window": 0}],
                  examples={"match": ["ba"], "no_match": ["b"]})]
    ruleset = RuleSet(load_packs([write_pack(tmp_path / "t.yaml", rules)], {"openai"}))
    made: list[int] = []

    class CountedEntry(detect._Entry):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self.end)

    monkeypatch.setattr(detect, "_Entry", CountedEntry)
    segment = Segment("assistant", "/messages/1/content", "a" * 10_000)
    hits = ruleset.detect(Record(Source("x.jsonl", 1), [segment], {}, "openai"))
    # the matches touching the `^a` hit are cancelled, the third stands
    assert [(h.rule_id, h.start, h.end) for h in hits] == [("t.every", 2, 3)]
    assert len(made) <= 4  # the unless hit and the three matches looked at, not one per byte


@pytest.fixture(scope="module")
def field_ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    rules = [
        rule("t.fp-model", FINGERPRINT, unless=[{"field": {"key": "model", "regex": "(?i)^grok"}}]),
        rule("t.fp-pointer", FINGERPRINT, unless=[{"field": {"key": "/meta/provider", "equals": "xai"}}]),
    ]
    path = write_pack(tmp_path_factory.mktemp("pack") / "f.yaml", rules)
    return RuleSet(load_packs([path], {"openai"}))


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param({"model": "grok-2-latest", "system_fingerprint": "fp_1"}, ["t.fp-pointer"], id="condition-holds"),
    pytest.param({"response": {"model": "Grok-Beta", "system_fingerprint": "fp_1"}}, ["t.fp-pointer"],
                 id="condition-holds-at-depth"),
    pytest.param({"model": "gpt-4o", "system_fingerprint": "fp_1"}, ["t.fp-model", "t.fp-pointer"],
                 id="condition-does-not-hold"),
    pytest.param({"meta": {"provider": "xai"}, "system_fingerprint": "fp_1"}, ["t.fp-model"], id="pointer-holds"),
    pytest.param({"provider": "xai", "system_fingerprint": "fp_1"}, ["t.fp-model", "t.fp-pointer"],
                 id="pointer-elsewhere"),
    pytest.param({"model": "grok-2-latest"}, [], id="no-hit-to-cancel"),
])
def test_a_field_condition_cancels_a_field_rule_hit(field_ruleset: RuleSet, data: dict[str, object],
                                                    expected: list[str]) -> None:
    record = Record(Source("x.jsonl", 1), [], data, "openai")
    assert sorted(h.rule_id for h in field_ruleset.detect(record)) == expected


# -- `holds_text`: provenance counts only where the record holds text -------------

PROVENANCE = [{"field": {"key": "model", "regex": "^gpt-4"}}, {"field": {"key": "generator", "regex": "^gpt-4"}}]


@pytest.fixture(scope="module")
def provenance_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rules = [rule("t.model", PROVENANCE, requires=[{"holds_text": True}],
                  examples={"match": [{"model": "gpt-4", "output": "Paris."}],
                            "no_match": [{"model": "gpt-4", "score": 0.86}]})]
    return write_pack(tmp_path_factory.mktemp("pack") / "p.yaml", rules)


@pytest.mark.parametrize(("record", "expected"), [
    pytest.param({"model": "gpt-4", "score": 0.86, "rank": 1}, [], id="leaderboard-row"),
    pytest.param({"model": "gpt-4", "organization": "OpenAI", "license": "Proprietary", "elo": 1250}, [],
                 id="leaderboard-row-with-names"),
    pytest.param({"model": "gpt-4", "output": "Paris"}, ["/model"], id="one-word-answer-in-an-answer-field"),
    pytest.param({"model": "gpt-4", "conversation": [{"role": "user", "content": "Hi"}]}, ["/model"],
                 id="short-turn-in-an-unknown-shape"),
    pytest.param({"model": "gpt-4", "notes": "written for the benchmark"}, ["/model"], id="prose-in-any-field"),
    pytest.param({"generator": "gpt-4-turbo", "messages": [{"role": "assistant", "content": "Hello!"}]},
                 ["/generator"], id="chat-record"),
    pytest.param({"model": "gpt-4", "generator": "gpt-4-turbo"}, [], id="only-the-names-the-rule-reads"),
])
def test_a_holds_text_requirement_drops_provenance_in_records_without_text(
        provenance_pack: Path, tmp_path: Path, record: dict[str, object], expected: list[str]) -> None:
    import tos_lint

    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = tos_lint.scan([str(data)], rules=[provenance_pack], use_default_rules=False, jobs=1)
    assert [f.location.pointer for f in result.findings if f.rule_id == "t.model"] == expected


def test_a_csv_leaderboard_is_not_provenance_but_a_csv_of_answers_is(provenance_pack: Path, tmp_path: Path) -> None:
    import tos_lint

    (tmp_path / "board.csv").write_text("model,score\ngpt-4,0.86\ngpt-4-turbo,0.84\n", encoding="utf-8")
    (tmp_path / "answers.csv").write_text("model,answer\ngpt-4,The capital of France is Paris.\n", encoding="utf-8")
    result = tos_lint.scan([str(tmp_path / "board.csv"), str(tmp_path / "answers.csv")],
                           rules=[provenance_pack], use_default_rules=False, jobs=1)
    assert [(Path(f.location.path).name, f.location.line) for f in result.findings if f.rule_id == "t.model"] == [("answers.csv", 2)]


def test_an_unless_holds_text_condition_keeps_only_records_without_text(tmp_path: Path) -> None:
    rules = [rule("t.bare", PROVENANCE, unless=[{"holds_text": True}],
                  examples={"match": [{"model": "gpt-4", "score": 1}], "no_match": [{"model": "gpt-4", "output": "Hi there."}]})]
    ruleset = RuleSet(load_packs([write_pack(tmp_path / "u.yaml", rules)], {"openai"}))
    bare = Record(Source("x.jsonl", 1), [Segment("unknown", "/model", "gpt-4")], {"model": "gpt-4", "score": 1}, "unknown")
    texty = Record(Source("x.jsonl", 2), [Segment("unknown", "/model", "gpt-4"), Segment("unknown", "/note", "two words")],
                   {"model": "gpt-4", "note": "two words"}, "unknown")
    assert [h.rule_id for h in ruleset.detect(bare)] == ["t.bare"]
    assert ruleset.detect(texty) == []


def test_conditions_are_sought_only_where_a_rule_with_them_was_triggered(ruleset: RuleSet,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The `unless`/`requires` patterns run over the segments where they can
    count: none when no rule was triggered; the triggered turn and the
    prompt turns when the triggered rule has a `where: prompt` condition."""
    assert ruleset.context_database is not None
    scanned: list[bytes] = []
    real = ruleset.context_database.hits
    monkeypatch.setattr(ruleset.context_database, "hits", lambda data: scanned.append(data) or real(data))
    assert _hits(ruleset, "Who are you?", "Hello there.") == []
    assert scanned == []
    assert _hits(ruleset, "Who are you?", "Sure. I am ChatGPT.") == ["t.asked"]
    assert sorted(scanned) == [b"Sure. I am ChatGPT.", b"Who are you?"]  # the prompt turn triggered nothing
