"""Format adapters: format names, roles, and JSON pointers that resolve to the text."""
from __future__ import annotations

from typing import Any

import pytest

from tos_lint.adapters import adapt
from tests.helpers import resolve


def segments(data: Any) -> tuple[str, list[tuple[str, str, str]]]:
    fmt, segs = adapt(data)
    return fmt, [(s.role, s.pointer, s.text) for s in segs]


def assert_pointers_resolve(data: Any) -> None:
    """Every segment's pointer names its text (transcript turns: `#offset`)."""
    _, segs = adapt(data)
    assert segs, "no segments"
    for seg in segs:
        if "#" in seg.pointer:
            base, offset = seg.pointer.split("#")
            whole = resolve(data, base)
            start = int(offset)
            assert whole[start:start + len(seg.text)] == seg.text, seg
        else:
            assert resolve(data, seg.pointer) == seg.text, seg


OPENAI_STRING = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "Hello, how can I help?"},
    ]
}
OPENAI_PARTS = {
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat on a mat."}]},
    ]
}
OPENAI_TOOLS = {
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 18}"},
        {"role": "assistant", "content": "It is 18 degrees in Paris."},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
}
SHAREGPT = {
    "id": "sg-1",
    "conversations": [
        {"from": "system", "value": "Be brief."},
        {"from": "human", "value": "What's the weather?"},
        {"from": "function_call", "value": "{\"name\": \"weather\"}"},
        {"from": "observation", "value": "{\"temp\": 20}"},
        {"from": "gpt", "value": "It is 20 degrees."},
    ],
}
ALPACA = {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"}
ALPACA_RESPONSE = {"instruction": "Name a colour.", "response": "Blue."}
PROMPT_COMPLETION = {"prompt": "Translate: chat", "completion": "cat"}
TEXT = {"text": "Plain pretraining text.", "url": "https://example.com"}
DPO_STRINGS = {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "Go away."}
DPO_MESSAGES = {
    "prompt": "Say hi.",
    "chosen": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi!"}],
    "rejected": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "No."}],
}
HH = {
    "chosen": "\n\nHuman: What is 2+2?\n\nAssistant: It is 4.\n\nHuman: Thanks!\n\nAssistant: You're welcome.",
    "rejected": "\n\nHuman: What is 2+2?\n\nAssistant: Five.",
}
ALPACA_EVAL = {"instruction": "Write a haiku.", "output": "Autumn moonlight...", "generator": "acme-chat-7b", "dataset": "helpful_base"}
FASTCHAT = {
    "question_id": 81, "answer_id": "abc", "model_id": "acme-chat-7b",
    "choices": [{"index": 0, "turns": ["First answer.", "Second answer."]}], "tstamp": 1.0,
}
OPENAI_CHAT_RESPONSE = {
    "id": "chatcmpl-xyz", "object": "chat.completion", "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
}
OPENAI_LEGACY_RESPONSE = {
    "id": "cmpl-xyz", "object": "text_completion",
    "choices": [{"index": 0, "text": "Once upon a time", "finish_reason": "length"}],
}
ANTHROPIC_RESPONSE = {
    "id": "msg_01", "type": "message", "role": "assistant", "model": "m",
    "content": [{"type": "text", "text": "Bonjour."},
                {"type": "tool_use", "id": "toolu_01", "name": "x", "input": {"q": "y"}}],
    "stop_reason": "end_turn",
}
GEMINI_RESPONSE = {
    "candidates": [{"content": {"parts": [{"text": "Hola."}, {"text": "Adios."}], "role": "model"},
                    "finishReason": "STOP"}],
    "usageMetadata": {"totalTokenCount": 3},
}
COHERE_RESPONSE = {"generation_id": "g-1", "text": "Hallo.", "finish_reason": "COMPLETE"}
UNKNOWN = {"foo": {"bar": ["deep one", "deep two"]}, "baz": "top", "a/b": "slash", "t~x": "tilde", "n": 3}


@pytest.mark.parametrize(
    ("data", "fmt", "expected"),
    [
        pytest.param(OPENAI_STRING, "openai-messages", [
            ("system", "/messages/0/content", "You are a helpful assistant."),
            ("user", "/messages/1/content", "Hi!"),
            ("assistant", "/messages/2/content", "Hello, how can I help?"),
        ], id="openai-string"),
        pytest.param(OPENAI_PARTS, "openai-messages", [
            ("user", "/messages/0/content/0/text", "What is in this image?"),
            ("assistant", "/messages/1/content/0/text", "A cat on a mat."),
        ], id="openai-content-parts"),
        pytest.param(SHAREGPT, "sharegpt", [
            ("system", "/conversations/0/value", "Be brief."),
            ("user", "/conversations/1/value", "What's the weather?"),
            ("assistant", "/conversations/2/value", "{\"name\": \"weather\"}"),
            ("tool", "/conversations/3/value", "{\"temp\": 20}"),
            ("assistant", "/conversations/4/value", "It is 20 degrees."),
        ], id="sharegpt"),
        pytest.param(ALPACA, "alpaca", [
            ("user", "/instruction", "Add the numbers."),
            ("user", "/input", "2 and 3"),
            ("assistant", "/output", "5"),
        ], id="alpaca"),
        pytest.param(ALPACA_RESPONSE, "alpaca", [
            ("user", "/instruction", "Name a colour."),
            ("assistant", "/response", "Blue."),
        ], id="alpaca-response"),
        pytest.param(PROMPT_COMPLETION, "prompt-completion", [
            ("user", "/prompt", "Translate: chat"),
            ("assistant", "/completion", "cat"),
        ], id="prompt-completion"),
        pytest.param(TEXT, "text", [("unknown", "/text", "Plain pretraining text.")], id="text"),
        pytest.param(DPO_STRINGS, "dpo", [
            ("user", "/prompt", "Say hi."),
            ("assistant", "/chosen", "Hi!"),
            ("assistant", "/rejected", "Go away."),
        ], id="dpo-strings"),
        pytest.param(DPO_MESSAGES, "dpo", [
            ("user", "/prompt", "Say hi."),
            ("user", "/chosen/0/content", "Say hi."),
            ("assistant", "/chosen/1/content", "Hi!"),
            ("user", "/rejected/0/content", "Say hi."),
            ("assistant", "/rejected/1/content", "No."),
        ], id="dpo-messages"),
        pytest.param(FASTCHAT, "fastchat", [
            ("assistant", "/choices/0/turns/0", "First answer."),
            ("assistant", "/choices/0/turns/1", "Second answer."),
        ], id="fastchat"),
        pytest.param(OPENAI_CHAT_RESPONSE, "openai-response", [
            ("assistant", "/choices/0/message/content", "Paris."),
        ], id="openai-chat-response"),
        pytest.param(OPENAI_LEGACY_RESPONSE, "openai-response", [
            ("assistant", "/choices/0/text", "Once upon a time"),
        ], id="openai-legacy-response"),
        pytest.param(ANTHROPIC_RESPONSE, "anthropic-response", [
            ("assistant", "/content/0/text", "Bonjour."),
        ], id="anthropic-response"),
        pytest.param(GEMINI_RESPONSE, "gemini-response", [
            ("assistant", "/candidates/0/content/parts/0/text", "Hola."),
            ("assistant", "/candidates/0/content/parts/1/text", "Adios."),
        ], id="gemini-response"),
        pytest.param(COHERE_RESPONSE, "cohere-response", [
            ("assistant", "/text", "Hallo."),
        ], id="cohere-response"),
    ],
)
def test_format_roles_and_pointers(data: Any, fmt: str, expected: list[tuple[str, str, str]]) -> None:
    got_fmt, got = segments(data)
    assert got_fmt == fmt
    assert got == expected
    assert_pointers_resolve(data)


def test_openai_tool_calls_are_scanned_with_their_role() -> None:
    fmt, got = segments(OPENAI_TOOLS)
    assert fmt == "openai-messages"
    assert ("user", "/messages/0/content", "Weather in Paris?") in got
    assert ("assistant", "/messages/1/tool_calls/0/function/arguments", "{\"city\": \"Paris\"}") in got
    assert ("tool", "/messages/2/content", "{\"temp\": 18}") in got
    assert ("assistant", "/messages/3/content", "It is 18 degrees in Paris.") in got
    # a null content makes no segment
    assert not any(p == "/messages/1/content" for _, p, _ in got)
    assert_pointers_resolve(OPENAI_TOOLS)


def test_image_part_is_not_text() -> None:
    _, got = segments(OPENAI_PARTS)
    assert all("image_url" not in p and "example.com" not in t for _, p, t in got)


def test_hh_transcript_is_split_into_turns_with_offsets() -> None:
    fmt, got = segments(HH)
    assert fmt == "dpo"
    turns = [(r, p, t) for r, p, t in got if r != "unknown"]
    chosen = [(r, t.strip()) for r, p, t in turns if p.startswith("/chosen#")]
    assert chosen == [
        ("user", "What is 2+2?"),
        ("assistant", "It is 4."),
        ("user", "Thanks!"),
        ("assistant", "You're welcome."),
    ]
    rejected = [(r, t.strip()) for r, p, t in turns if p.startswith("/rejected#")]
    assert rejected == [("user", "What is 2+2?"), ("assistant", "Five.")]
    # no turn text carries a marker; the markers are segments of their own
    assert all("Human:" not in t and "Assistant:" not in t for _, _, t in turns)
    markers = [t.strip() for r, p, t in got if r == "unknown" and p.startswith("/chosen#")]
    assert markers == ["Human:", "Assistant:", "Human:", "Assistant:"]
    assert_pointers_resolve(HH)


def test_transcript_in_text_field_is_split_too() -> None:
    data = {"text": "Human: hi\n\nAssistant: hello there"}
    fmt, got = segments(data)
    assert fmt == "text"
    assert [(r, t.strip()) for r, _, t in got if r != "unknown"] == [("user", "hi"), ("assistant", "hello there")]
    assert_pointers_resolve(data)


def test_alpaca_eval_output_is_assistant_and_generator_is_metadata() -> None:
    fmt, got = segments(ALPACA_EVAL)
    assert fmt in ("alpaca", "alpaca-eval")
    assert ("assistant", "/output", "Autumn moonlight...") in got
    assert ("user", "/instruction", "Write a haiku.") in got
    assert not any(p in ("/generator", "/dataset") for _, p, _ in got)


def test_fastchat_metadata_not_scanned_as_text() -> None:
    _, got = segments(FASTCHAT)
    assert not any(t == "acme-chat-7b" for _, _, t in got)
    assert_pointers_resolve(FASTCHAT)


def test_anthropic_tool_use_block_is_not_text() -> None:
    _, got = segments(ANTHROPIC_RESPONSE)
    assert [p for _, p, _ in got] == ["/content/0/text"]


def test_unknown_shape_yields_every_string_as_unknown() -> None:
    fmt, got = segments(UNKNOWN)
    assert fmt == "unknown"
    assert all(role == "unknown" for role, _, _ in got)
    assert sorted(t for _, _, t in got) == sorted(["deep one", "deep two", "top", "slash", "tilde"])
    pointers = {p for _, p, _ in got}
    assert {"/foo/bar/0", "/foo/bar/1", "/baz", "/a~1b", "/t~0x"} == pointers
    assert_pointers_resolve(UNKNOWN)


@pytest.mark.parametrize("data", [
    OPENAI_STRING, OPENAI_PARTS, OPENAI_TOOLS, SHAREGPT, ALPACA, ALPACA_RESPONSE, PROMPT_COMPLETION,
    TEXT, DPO_STRINGS, DPO_MESSAGES, HH, ALPACA_EVAL, FASTCHAT, OPENAI_CHAT_RESPONSE,
    OPENAI_LEGACY_RESPONSE, ANTHROPIC_RESPONSE, GEMINI_RESPONSE, COHERE_RESPONSE, UNKNOWN,
])
def test_roles_are_from_the_fixed_set(data: Any) -> None:
    from tos_lint.model import ROLES

    _, got = segments(data)
    assert got
    assert {r for r, _, _ in got} <= set(ROLES)


def test_unknown_role_names_map_to_unknown() -> None:
    data = {"messages": [{"role": "narrator", "content": "Once upon a time."}]}
    _, got = segments(data)
    assert got == [("unknown", "/messages/0/content", "Once upon a time.")]


def test_empty_strings_make_no_segments() -> None:
    _, got = segments({"prompt": "", "completion": "ok"})
    assert got == [("assistant", "/completion", "ok")]


# --- flattened transcripts of other templates, and roles from field names ------

ONE_TURN = [("user", "Who are you?"), ("assistant", "I am the answer.")]
TWO_TURNS = ONE_TURN + [("user", "Thanks"), ("assistant", "Welcome.")]
TRANSCRIPTS = {
    "chatml": ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n"
               "<|im_start|>assistant\nI am the answer.<|im_end|>",
               [("system", "Be brief."), ("user", "Who are you?"), ("assistant", "I am the answer.")]),
    "llama3": ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nI am the answer.<|eot_id|>",
               ONE_TURN),
    "gemma": ("<start_of_turn>user\nWho are you?<end_of_turn>\n<start_of_turn>model\nI am the answer.<end_of_turn>",
              ONE_TURN),
    "zephyr": ("<|user|>\nWho are you?</s>\n<|assistant|>\nI am the answer.</s>",
               ONE_TURN),
    "inst": ("<s>[INST] Who are you? [/INST] I am the answer.</s>[INST] Thanks [/INST] Welcome.",
             TWO_TURNS),
    "markdown-labels": ("### Human: Who are you?\n### Assistant: I am the answer.",
                        ONE_TURN),
    "alpaca-prompt": ("Below is an instruction.\n\n### Instruction:\nWho are you?\n\n### Response:\nI am the answer.",
                      ONE_TURN),
    "vicuna": ("A chat. USER: Who are you? ASSISTANT: I am the answer.</s>USER: Thanks ASSISTANT: Welcome.",
               TWO_TURNS),
    "langchain": ("Human: Who are you?\nAI: I am the answer.",
                  ONE_TURN),
}


def _turn_text(text: str) -> str:
    for token in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "</s>"):
        text = text.replace(token, "")
    return text.strip()


@pytest.mark.parametrize("style", sorted(TRANSCRIPTS))
def test_flattened_transcripts_are_split_by_role(style: str) -> None:
    text, expected = TRANSCRIPTS[style]
    data = {"text": text}
    fmt, got = segments(data)
    assert fmt == "text"
    assert [(r, _turn_text(t)) for r, _, t in got if r != "unknown"] == expected
    # the markers stay visible (template rules look for them) but carry no role
    assert "".join(t for _, _, t in got) == text
    assert_pointers_resolve(data)


@pytest.mark.parametrize("text", [
    "User: one line that is not a chat",
    "Answer: 42",
    "The assistant said hello to the user.",
    "### Response:\nonly one side",
])
def test_one_sided_labels_are_not_a_transcript(text: str) -> None:
    assert segments({"text": text})[1] == [("unknown", "/text", text)]


@pytest.mark.parametrize("data, expected", [
    ({"prompt": "Who are you?", "response": "I am the answer."},
     [("user", "/prompt", "Who are you?"), ("assistant", "/response", "I am the answer.")]),
    ({"input": "Who are you?", "output": "I am the answer."},
     [("user", "/input", "Who are you?"), ("assistant", "/output", "I am the answer.")]),
    ({"query": "Who are you?", "response": "I am the answer.", "source": "web"},
     [("user", "/query", "Who are you?"), ("assistant", "/response", "I am the answer."),
      ("unknown", "/source", "web")]),
    ({"system_prompt": "Be brief.", "user_input": "Hi", "model_response": {"text": "Hello"}},
     [("system", "/system_prompt", "Be brief."), ("user", "/user_input", "Hi"),
      ("assistant", "/model_response/text", "Hello")]),
    ({"question": "Q?", "answers": ["A1", "A2"]},
     [("user", "/question", "Q?"), ("assistant", "/answers/0", "A1"), ("assistant", "/answers/1", "A2")]),
])
def test_field_names_give_roles(data: Any, expected: list[tuple[str, str, str]]) -> None:
    fmt, got = segments(data)
    assert fmt == "fields"
    assert got == expected
    assert_pointers_resolve(data)


@pytest.mark.parametrize("key, role", [
    ("response_text", "assistant"), ("llmOutput", "assistant"), ("GPTAnswer", "assistant"),
    ("human", "user"), ("userQuery", "user"), ("system", "system"), ("system_prompt", "system"),
    ("text", None), ("content", None), ("label", None), ("model", None), ("id", None),
])
def test_key_role(key: str, role: str | None) -> None:
    from tos_lint.adapters import key_role

    assert key_role(key) == role


def test_a_request_with_a_top_level_system_prompt() -> None:
    data = {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"},
                                                 {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]}]}
    fmt, got = segments(data)
    assert fmt == "openai-messages"
    assert got == [("system", "/system", "Be brief."), ("user", "/messages/0/content", "Hi"),
                   ("assistant", "/messages/1/content/0/text", "Hello")]


def test_gemini_contents_with_system_instruction() -> None:
    data = {"systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                         {"role": "model", "parts": [{"text": "Hello"}, {"inlineData": {"data": "AAAA"}}]}]}
    fmt, got = segments(data)
    assert fmt == "gemini-contents"
    assert got == [("system", "/systemInstruction/parts/0/text", "Be brief."), ("user", "/contents/0/parts/0/text", "Hi"),
                   ("assistant", "/contents/1/parts/0/text", "Hello")]
    assert_pointers_resolve(data)


def test_alpaca_history_pairs_are_earlier_turns() -> None:
    data = {"instruction": "And now?", "input": "", "output": "Now this.",
            "history": [["First?", "First answer."], ["Second?", "Second answer."]]}
    fmt, got = segments(data)
    assert fmt == "alpaca"
    assert got == [("user", "/instruction", "And now?"), ("assistant", "/output", "Now this."),
                   ("user", "/history/0/0", "First?"), ("assistant", "/history/0/1", "First answer."),
                   ("user", "/history/1/0", "Second?"), ("assistant", "/history/1/1", "Second answer.")]
    assert_pointers_resolve(data)


# --- strings a known format does not read --------------------------------------
# A record of a known shape may hold text where its adapter does not look: in a
# value of an unexpected type or in a field it does not read. Every such string
# is scanned too, once, with the role of the turn it sits in or the one its
# field's name gives, else `unknown`; single tokens (ids, model names, URLs)
# stay metadata.

SELF_ID = "I am ChatGPT, a large language model trained by OpenAI."
HIDDEN = [
    pytest.param({"messages": [{"role": "assistant", "content": "ok"}, SELF_ID]},
                 "openai-messages", "unknown", "/messages/1", id="bare-string-among-messages"),
    pytest.param({"messages": [{"role": "assistant", "content": "fine", "name": SELF_ID}]},
                 "openai-messages", "assistant", "/messages/0/name", id="message-name"),
    pytest.param({"messages": [{"role": "assistant", "content": {"text": SELF_ID}}]},
                 "openai-messages", "assistant", "/messages/0/content/text", id="content-object"),
    pytest.param({"messages": [{"role": "assistant", "content": [[SELF_ID]]}]},
                 "openai-messages", "assistant", "/messages/0/content/0/0", id="content-nested-list"),
    pytest.param({"instruction": "q", "output": [SELF_ID]}, "alpaca", "assistant", "/output/0", id="alpaca-output-list"),
    pytest.param({"instruction": "q", "input": "", "output": "fine", "extra": SELF_ID},
                 "alpaca", "unknown", "/extra", id="extra-top-level-field"),
    pytest.param({"messages": [{"role": "assistant", "content": "fine"}], "note": SELF_ID},
                 "openai-messages", "unknown", "/note", id="field-beside-messages"),
    pytest.param({"messages": [{"role": "assistant", "content": "fine"}], "metadata": {"note": SELF_ID}},
                 "openai-messages", "unknown", "/metadata/note", id="metadata-note"),
    pytest.param({"prompt": "x", "chosen": "fine", "rejected": {"a": SELF_ID}},
                 "dpo", "assistant", "/rejected/a", id="dpo-rejected-object"),
    pytest.param({"conversations": [{"from": "gpt", "value": [SELF_ID]}]},
                 "sharegpt", "assistant", "/conversations/0/value/0", id="sharegpt-value-list"),
    pytest.param({"system": [SELF_ID], "messages": [{"role": "user", "content": "hi"}]},
                 "openai-messages", "system", "/system/0", id="system-list"),
    pytest.param({"prompt": "x", "system": [SELF_ID], "chosen": "a", "rejected": "b"},
                 "dpo", "system", "/system/0", id="dpo-system-list"),
    pytest.param({"messages": [{"role": SELF_ID, "content": "fine"}]},
                 "openai-messages", "unknown", "/messages/0/role", id="role-name-that-is-text"),
    pytest.param({"messages": [{"role": "user", "content": [{"type": "text", "text": {"value": SELF_ID}}]}]},
                 "openai-messages", "user", "/messages/0/content/0/text/value", id="content-part-text-object"),
    pytest.param({"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": {"note": SELF_ID}}}]}]},
                 "openai-messages", "assistant", "/messages/0/tool_calls/0/function/arguments/note",
                 id="tool-call-arguments-object"),
    pytest.param({"id": "chatcmpl-1", "choices": [{"message": {"role": "assistant", "content": "ok",
                                                              "refusal": SELF_ID}}]},
                 "openai-response", "assistant", "/choices/0/message/refusal", id="response-message-field"),
    pytest.param({"contents": [{"role": "model", "parts": [{"text": "ok"}, SELF_ID]}]},
                 "gemini-contents", "assistant", "/contents/0/parts/1", id="gemini-bare-part"),
    pytest.param({"question": "q", "answer": {"text": SELF_ID}}, "question-answer", "assistant", "/answer/text",
                 id="answer-object"),
    pytest.param({"text": "plain", "meta": {"comment": SELF_ID}}, "text", "unknown", "/meta/comment",
                 id="text-with-meta"),
]


@pytest.mark.parametrize(("data", "fmt", "role", "pointer"), HIDDEN)
def test_text_a_known_format_does_not_read_is_scanned(data: Any, fmt: str, role: str, pointer: str) -> None:
    got_fmt, got = segments(data)
    assert got_fmt == fmt
    assert [(r, p) for r, p, t in got if t == SELF_ID] == [(role, pointer)]
    assert_pointers_resolve(data)


def _strings(data: Any, pointer: str = "") -> list[tuple[str, str]]:
    """(pointer, string) of every string in a JSON value, written independently."""
    if isinstance(data, str):
        return [(pointer, data)]
    if isinstance(data, dict):
        items = [(k.replace("~", "~0").replace("/", "~1"), v) for k, v in data.items()]
    elif isinstance(data, list):
        items = [(str(i), v) for i, v in enumerate(data)]
    else:
        return []
    return [s for key, value in items for s in _strings(value, f"{pointer}/{key}")]


STRUCTURE = {"role", "from", "type"}  # names read as a turn's or part's structure


@pytest.mark.parametrize("data", [
    OPENAI_STRING, OPENAI_PARTS, OPENAI_TOOLS, SHAREGPT, ALPACA, ALPACA_RESPONSE, PROMPT_COMPLETION,
    TEXT, DPO_STRINGS, DPO_MESSAGES, HH, ALPACA_EVAL, FASTCHAT, OPENAI_CHAT_RESPONSE,
    OPENAI_LEGACY_RESPONSE, ANTHROPIC_RESPONSE, GEMINI_RESPONSE, COHERE_RESPONSE,
    *[p.values[0] for p in HIDDEN],
])
def test_every_string_is_read_once(data: Any) -> None:
    """Each string is one segment (or, a transcript, the segments of its
    turns), unless it is a single token or names a role or part type."""
    _, segs = adapt(data)
    whole = [s.pointer for s in segs if "#" not in s.pointer]
    assert len(whole) == len(set(whole)), "a string read twice"
    split = {s.pointer.split("#")[0] for s in segs if "#" in s.pointer}
    assert not split & set(whole), "a transcript also read whole"
    read = set(whole) | split
    for pointer, text in _strings(data):
        if pointer in read or not text or pointer.rsplit("/", 1)[-1] in STRUCTURE:
            continue
        assert " " not in text and text.isascii(), f"{pointer} not scanned: {text!r}"


def test_a_string_the_adapter_reads_is_reported_once(tmp_path: Any) -> None:
    """An assistant turn the adapter reads, beside fields it does not: the
    self-identification in it is one finding, not one more from the
    leftover scan; the leftover text is found at its own pointer."""
    from tests.helpers import CHATGPT_RULE_ID, chatgpt_pack, write_jsonl
    import tos_lint

    asked = "\n\nHuman: Who are you?\n\nAssistant: "
    records = [
        {"id": "r1", "messages": [{"role": "assistant", "content": SELF_ID, "name": "bot", "weight": 1}],
         "source": "sharegpt", "metadata": {"lang": "en", "note": "reviewed by hand"}},
        {"chosen": asked + SELF_ID, "rejected": "No.", "note": "I am ChatGPT, the note says."},
    ]
    path = write_jsonl(tmp_path / "data.jsonl", records)
    result = tos_lint.scan([str(path)], rules=[chatgpt_pack(tmp_path)], use_default_rules=False, jobs=1)
    got = sorted((f.location.line, f.location.pointer) for f in result.findings if f.rule_id == CHATGPT_RULE_ID)
    assert got == [(1, "/messages/0/content"), (2, f"/chosen#{len(asked)}"), (2, "/note")]


# --- a leftover string that renders the fields read ---------------------------------------
# alpaca-cleaned's `text` is the prompt rendered from the other fields, the
# answer included: what it copies was scanned at the field's own pointer.

ALPACA_PREAMBLE = ("Below is an instruction that describes a task. Write a response that appropriately "
                   "completes the request.\n\n### Instruction:\n")


def _alpaca_cleaned(output: str, extra: str = "") -> dict[str, Any]:
    text = f"{ALPACA_PREAMBLE}Who are you?\n\n### Input:\n\n\n### Response:\n{output}{extra}"
    return {"instruction": "Who are you?", "input": "", "output": output, "text": text}


def test_a_rendered_text_is_scanned_without_the_fields_it_copies() -> None:
    data = _alpaca_cleaned(SELF_ID)
    fmt, got = segments(data)
    assert fmt == "alpaca"
    rendered = [(p, t) for r, p, t in got if p.startswith("/text")]
    assert rendered == [("/text#0", ALPACA_PREAMBLE), (f"/text#{len(ALPACA_PREAMBLE) + len('Who are you?')}",
                                                       "\n\n### Input:\n\n\n### Response:\n")]
    assert ("assistant", "/output", SELF_ID) in got
    assert_pointers_resolve(data)


def test_a_copy_must_be_whole_words_of_the_text() -> None:
    data = {"instruction": "Who are you?", "output": "am ChatGPT", "text": "Ham ChatGPTs here, Who are you?!"}
    _, got = segments(data)
    assert [(p, t) for _, p, t in got if p.startswith("/text")] == [("/text#0", "Ham ChatGPTs here, "), ("/text#31", "!")]


@pytest.mark.parametrize(("data", "expected"), [
    pytest.param(_alpaca_cleaned(SELF_ID), ["/output"], id="alpaca-cleaned"),
    pytest.param(_alpaca_cleaned(SELF_ID, "\n\nI am ChatGPT, and this line is in the text alone."),
                 ["/output", f"/text#{len(_alpaca_cleaned(SELF_ID)['text'])}"], id="text-of-its-own-after-the-copy"),
    pytest.param({"instruction": "Who are you?", "output": "Hello there.", "text": SELF_ID}, ["/text"],
                 id="text-that-copies-nothing"),
    pytest.param({"messages": [{"role": "user", "content": "Who are you?"}, {"role": "assistant", "content": SELF_ID}],
                  "text": f"<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n{SELF_ID}<|im_end|>"},
                 ["/messages/1/content"], id="chatml-rendering-beside-messages"),
    pytest.param({"instruction": "Your name?", "output": "ChatGPT", "text": f"Answer: {SELF_ID}"}, ["/text"],
                 id="a-one-word-field-is-not-cut-out-of-a-sentence"),
])
def test_a_self_identification_is_reported_once_at_its_field(tmp_path: Any, data: Any, expected: list[str]) -> None:
    """Through the whole pipeline: the copy of a field in a rendered text is
    not a second finding; text of the rendering's own still is."""
    from tests.helpers import CHATGPT_RULE_ID, chatgpt_pack, write_jsonl
    import tos_lint

    path = write_jsonl(tmp_path / "data.jsonl", [data])
    result = tos_lint.scan([str(path)], rules=[chatgpt_pack(tmp_path)], use_default_rules=False, jobs=1)
    assert sorted(f.location.pointer for f in result.findings if f.rule_id == CHATGPT_RULE_ID) == sorted(expected)


@pytest.mark.parametrize(("data", "fmt", "role", "pointer"), HIDDEN)
def test_text_a_known_format_does_not_read_is_flagged(tmp_path: Any, data: Any, fmt: str, role: str,
                                                      pointer: str) -> None:
    """The whole pipeline (line prefilter, adapter, rules) reports it, at its pointer."""
    from tests.helpers import CHATGPT_RULE_ID, chatgpt_pack, write_jsonl
    import tos_lint

    path = write_jsonl(tmp_path / "data.jsonl", [data, {"text": "nothing to see"}])
    result = tos_lint.scan([str(path)], rules=[chatgpt_pack(tmp_path)], use_default_rules=False, jobs=1)
    assert [(f.rule_id, f.location.line, f.location.pointer) for f in result.findings] == [
        (CHATGPT_RULE_ID, 1, pointer)]


# --- batch envelopes ----------------------------------------------------------------

OPENAI_BATCH_INPUT = {"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions",
                      "body": {"model": "gpt-4o-mini", "messages": [
                          {"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a river."}]}}
OPENAI_BATCH_OUTPUT = {"id": "batch_req_1", "custom_id": "request-1", "error": None, "response": {
    "status_code": 200, "request_id": "req_1", "body": {
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "The Seine."}, "finish_reason": "stop"}]}}}
ANTHROPIC_BATCH_REQUEST = {"custom_id": "r/1", "params": {"model": "claude-3-5-haiku-20241022", "max_tokens": 64,
                                                          "messages": [{"role": "user", "content": "Name a river."}]}}
ANTHROPIC_BATCH_RESULT = {"custom_id": "r/1", "result": {"type": "succeeded", "message": {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
    "content": [{"type": "text", "text": "The Loire."}]}}}
VERTEX_BATCH_LINE = {
    "request": {"contents": [{"role": "user", "parts": [{"text": "Name a river."}]}]},
    "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "The Rhine."}]}}],
                 "modelVersion": "gemini-1.5-flash-002"},
    "status": "a note about the request that is text"}


@pytest.mark.parametrize(("record", "expected"), [
    (OPENAI_BATCH_INPUT, [("system", "/body/messages/0/content", "You are terse."),
                          ("user", "/body/messages/1/content", "Name a river.")]),
    (OPENAI_BATCH_OUTPUT, [("assistant", "/response/body/choices/0/message/content", "The Seine.")]),
    (ANTHROPIC_BATCH_REQUEST, [("user", "/params/messages/0/content", "Name a river.")]),
    (ANTHROPIC_BATCH_RESULT, [("assistant", "/result/message/content/0/text", "The Loire.")]),
    (VERTEX_BATCH_LINE, [("user", "/request/contents/0/parts/0/text", "Name a river."),
                         ("assistant", "/response/candidates/0/content/parts/0/text", "The Rhine."),
                         ("unknown", "/status", "a note about the request that is text")]),
], ids=["openai-input", "openai-output", "anthropic-request", "anthropic-result", "vertex"])
def test_a_batch_envelope_reads_each_part_in_its_own_format(record: dict[str, Any],
                                                            expected: list[tuple[str, str, str]]) -> None:
    """Roles come from the wrapped request or response (a user turn in a
    request is the user's, not text of unknown role); ids are not text."""
    assert segments(record) == ("api-envelope", expected)
    assert_pointers_resolve(record)


@pytest.mark.parametrize("record", [
    {"custom_id": "1", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
    {"custom_id": "1", "body": "a plain string body"},
    {"request": "Name a river.", "response": "The Seine."},
])
def test_a_record_that_only_looks_like_an_envelope_keeps_its_format(record: dict[str, Any]) -> None:
    assert segments(record)[0] != "api-envelope"
