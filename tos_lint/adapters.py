"""Record format adapters: a parsed JSON value in, text segments with roles out.

The format is detected per record, by its keys, so one file can mix shapes.
Each adapter returns `Segment`s with a JSON pointer to where the text sits.
An unknown shape still gets scanned: every string in it, with role `unknown`.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Iterator

from tos_lint.model import Segment

ID_FIELDS = ("id", "_id", "uuid", "conversation_id", "question_id", "sample_id")
DIRECTIVE_KEY = "_tos_lint"  # reserved: suppressions inside a record, never scanned

_SHAREGPT_ROLES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
    "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "model": "assistant",
    "system": "system", "function_call": "assistant", "observation": "tool",
    "function": "tool", "tool": "tool",
}
_CHAT_ROLES = {
    "system": "system", "developer": "system", "user": "user", "human": "user",
    "assistant": "assistant", "model": "assistant", "bot": "assistant", "gpt": "assistant",
    "tool": "tool", "function": "tool", "ipython": "tool",
}


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def own_id(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in ID_FIELDS:
            value = data.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return str(value)
    return None


# --- building blocks ---------------------------------------------------------

def _content(content: Any, role: str, pointer: str) -> Iterator[Segment]:
    """OpenAI-style content: a string or a list of content parts."""
    if isinstance(content, str):
        if content:
            yield Segment(role, pointer, content)
    elif isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, str):
                yield Segment(role, f"{pointer}/{i}", part)
            elif isinstance(part, dict):
                for key in ("text", "content", "input_text", "output_text"):
                    if isinstance(part.get(key), str):
                        yield Segment(role, f"{pointer}/{i}/{key}", part[key])


def _messages(messages: Any, pointer: str, role_key: str = "role", text_key: str = "content") -> Iterator[Segment]:
    if not isinstance(messages, list):
        return
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            continue
        role = _CHAT_ROLES.get(str(msg.get(role_key, "")).lower(), "unknown")
        yield from _content(msg.get(text_key), role, f"{pointer}/{i}/{text_key}")
        yield from _tool_calls(msg, role, f"{pointer}/{i}")


def _tool_calls(msg: dict[str, Any], role: str, pointer: str) -> Iterator[Segment]:
    calls = msg.get("tool_calls")
    if isinstance(calls, list):
        for j, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                yield Segment(role, f"{pointer}/tool_calls/{j}/function/arguments", fn["arguments"])
    fn = msg.get("function_call")
    if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
        yield Segment(role, f"{pointer}/function_call/arguments", fn["arguments"])


def _sharegpt(turns: Any, pointer: str) -> Iterator[Segment]:
    if not isinstance(turns, list):
        return
    for i, turn in enumerate(turns):
        if isinstance(turn, dict):
            role = _SHAREGPT_ROLES.get(str(turn.get("from", turn.get("role", ""))).lower(), "unknown")
            key = "value" if "value" in turn else "content"
            if isinstance(turn.get(key), str):
                yield Segment(role, f"{pointer}/{i}/{key}", turn[key])


# Chat transcripts flattened into one string, one style each: a substring
# every such transcript holds (a cheap test before the regex), a regex whose
# group 1 names the turn's role, and what each name means. A string is read
# as a transcript of a style only when that style marks both a user (or
# system) turn and an assistant turn: one stray "User:" is not a transcript.
_TRANSCRIPT_STYLES: list[tuple[str, re.Pattern[str], dict[str, str]]] = [
    ("<|im_start|>", re.compile(r"<\|im_start\|>[ \t]*(system|user|assistant|tool)\b[^\n]*\n?"), {}),  # ChatML
    ("<|start_header_id|>", re.compile(r"<\|start_header_id\|>(system|user|assistant|ipython|tool)"
                                       r"<\|end_header_id\|>\s*"), {"ipython": "tool"}),  # Llama 3
    ("<start_of_turn>", re.compile(r"<start_of_turn>(user|model|system)\n?"), {"model": "assistant"}),  # Gemma
    ("<|", re.compile(r"<\|(system|user|assistant)\|>\n?"), {}),  # Zephyr, Phi-3, Tulu
    ("[/INST]", re.compile(r"(?:<s>)?[ \t]*\[(INST|/INST)\][ \t]*\n?"),
     {"inst": "user", "/inst": "assistant"}),  # Llama 2, Mistral
    (":", re.compile(r"(?:^|\n\n)(Human|Assistant|H|A):[ ]?"), {"human": "user", "h": "user", "a": "assistant"}),  # Anthropic
    # labelled lines: "User: ...", "### Assistant:", "**Human:**", "### Response:" (Alpaca prompts)
    (":", re.compile(r"(?:^|\n)[ \t]*(?:#{1,4}[ \t]*|\*\*)?(Human|User|Assistant|System|GPT|ChatGPT|AI|Bot|Model|"
                     r"Instruction|Input|Response|Question|Answer|HUMAN|USER|ASSISTANT|SYSTEM|BOT|"
                     r"INSTRUCTION|INPUT|RESPONSE|QUESTION|ANSWER)(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*\n?"),
     {"human": "user", "instruction": "user", "input": "user", "question": "user", "gpt": "assistant",
      "chatgpt": "assistant", "ai": "assistant", "bot": "assistant", "model": "assistant",
      "response": "assistant", "answer": "assistant"}),
    # Vicuna: "USER: ... ASSISTANT: ..." on one line, turns ended by </s>
    ("ASSISTANT:", re.compile(r"(?:^|(?<=\s)|(?<=</s>))(USER|ASSISTANT|SYSTEM):[ \t]*"), {}),
]


def _turn_role(name: str, names: dict[str, str]) -> str:
    """The role a style's turn name stands for (names are matched caselessly)."""
    name = name.lower()
    return names.get(name, name if name in ("system", "user", "assistant", "tool") else "unknown")


def _transcript_marks(text: str) -> tuple[list[re.Match[str]], dict[str, str]] | None:
    """The turn markers of the first style that marks both sides, or None."""
    for sign, style, names in _TRANSCRIPT_STYLES:
        if sign not in text:
            continue
        marks = list(style.finditer(text))
        roles = {_turn_role(m.group(1), names) for m in marks}
        if "assistant" in roles and roles & {"user", "system"}:
            return marks, names
    return None


def transcript_turns(text: str, pointer: str, role: str = "unknown") -> Iterator[Segment]:
    """A string as segments: one with `role`, or, for a flattened chat
    transcript (`\\n\\nHuman: ... \\n\\nAssistant: ...`, ChatML, `[INST]`,
    `USER:`/`ASSISTANT:` and the others in `_TRANSCRIPT_STYLES`), its turns
    with their roles. Offsets stay valid: each segment is a slice of the
    original string, and the pointer names the string, with the slice's
    offset after a `#`. The markers are segments of their own (role
    `unknown`), so template rules still see them and the turns' text is the
    model's or the user's alone."""
    found = _transcript_marks(text)
    if found is None:
        yield Segment(role, pointer, text)
        return
    marks, names = found
    if marks[0].start() > 0:
        yield Segment("unknown", f"{pointer}#0", text[: marks[0].start()])
    for m, nxt in zip(marks, marks[1:] + [None]):
        yield Segment("unknown", f"{pointer}#{m.start()}", m.group(0))
        end = nxt.start() if nxt else len(text)
        if end > m.end():
            yield Segment(_turn_role(m.group(1), names), f"{pointer}#{m.end()}", text[m.end():end])


def _text_or_messages(value: Any, pointer: str, role: str) -> Iterator[Segment]:
    if isinstance(value, str):
        if value:
            yield from transcript_turns(value, pointer, role)
    elif isinstance(value, list):
        yield from _messages(value, pointer)
    elif isinstance(value, dict):
        yield from _content(value.get("content"), _CHAT_ROLES.get(str(value.get("role", "")), role), f"{pointer}/content")


def _fields(data: dict[str, Any], roles: dict[str, str]) -> Iterator[Segment]:
    for key, role in roles.items():
        value = data.get(key)
        if isinstance(value, str) and value:
            yield Segment(role, f"/{_esc(key)}", value)


# --- adapters, tried in order --------------------------------------------------

def _openai_messages(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _text_or_messages(d.get("system"), "/system", "system")  # Anthropic and Bedrock requests
    yield from _messages(d["messages"], "/messages")


def _gemini_contents(d: dict[str, Any]) -> Iterator[Segment]:
    """Gemini requests and tuning data: `contents[].parts[].text`, role `model` for answers."""
    for key in ("systemInstruction", "system_instruction"):
        yield from _gemini_parts(d.get(key), "system", f"/{key}")
    for i, content in enumerate(d["contents"]):
        role = str(content.get("role", "")) if isinstance(content, dict) else ""
        yield from _gemini_parts(content, _CHAT_ROLES.get(role.lower(), "unknown"), f"/contents/{i}")


def _gemini_parts(content: Any, role: str, pointer: str) -> Iterator[Segment]:
    parts = content.get("parts") if isinstance(content, dict) else None
    for j, part in enumerate(parts if isinstance(parts, list) else []):
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]:
            yield Segment(role, f"{pointer}/parts/{j}/text", part["text"])


def _sharegpt_adapter(d: dict[str, Any]) -> Iterator[Segment]:
    key = "conversations" if "conversations" in d else "conversation"
    yield from _sharegpt(d[key], f"/{key}")
    for answer in ("chosen", "rejected"):  # preference pairs in ShareGPT form
        value = d.get(answer)
        if isinstance(value, dict):
            role = _SHAREGPT_ROLES.get(str(value.get("from", value.get("role", ""))).lower(), "assistant")
            text_key = "value" if "value" in value else "content"
            if isinstance(value.get(text_key), str):
                yield Segment(role, f"/{answer}/{text_key}", value[text_key])
        elif isinstance(value, list):
            yield from _sharegpt(value, f"/{answer}")
        elif isinstance(value, str) and value:
            yield Segment("assistant", f"/{answer}", value)


def _dpo(d: dict[str, Any]) -> Iterator[Segment]:
    if "prompt" in d:
        yield from _text_or_messages(d["prompt"], "/prompt", "user")
    if isinstance(d.get("system"), str):
        yield Segment("system", "/system", d["system"])
    for key in ("chosen", "rejected"):
        if key in d:
            yield from _text_or_messages(d[key], f"/{key}", "assistant")


def _alpaca(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _fields(d, {"system": "system", "instruction": "user", "input": "user",
                           "output": "assistant", "response": "assistant"})
    history = d.get("history")  # earlier turns as [question, answer] pairs
    for i, pair in enumerate(history if isinstance(history, list) else []):
        if isinstance(pair, list):
            for j, (role, text) in enumerate(zip(("user", "assistant"), pair)):
                if isinstance(text, str) and text:
                    yield Segment(role, f"/history/{i}/{j}", text)


def _prompt_completion(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _text_or_messages(d["prompt"], "/prompt", "user")
    yield from _text_or_messages(d["completion"], "/completion", "assistant")


def _question_answer(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _fields(d, {"question": "user", "query": "user", "answer": "assistant"})


def _fastchat(d: dict[str, Any]) -> Iterator[Segment]:
    for i, choice in enumerate(d["choices"]):
        if isinstance(choice, dict) and isinstance(choice.get("turns"), list):
            for j, turn in enumerate(choice["turns"]):
                if isinstance(turn, str):
                    yield Segment("assistant", f"/choices/{i}/turns/{j}", turn)
    turns = d.get("turns")
    if isinstance(turns, list):  # the question side of an MT-bench record
        for j, turn in enumerate(turns):
            if isinstance(turn, str):
                yield Segment("user", f"/turns/{j}", turn)


def _openai_response(d: dict[str, Any]) -> Iterator[Segment]:
    for i, choice in enumerate(d["choices"]):
        if not isinstance(choice, dict):
            continue
        msg = choice.get("message") or choice.get("delta")
        if isinstance(msg, dict):
            role = _CHAT_ROLES.get(str(msg.get("role", "assistant")), "assistant")
            key = "message" if "message" in choice else "delta"
            yield from _content(msg.get("content"), role, f"/choices/{i}/{key}/content")
            yield from _tool_calls(msg, role, f"/choices/{i}/{key}")
        elif isinstance(choice.get("text"), str):
            yield Segment("assistant", f"/choices/{i}/text", choice["text"])


def _anthropic_response(d: dict[str, Any]) -> Iterator[Segment]:
    for i, block in enumerate(d["content"]):
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            yield Segment("assistant", f"/content/{i}/text", block["text"])


def _gemini_response(d: dict[str, Any]) -> Iterator[Segment]:
    for i, cand in enumerate(d["candidates"]):
        yield from _gemini_parts(cand.get("content") if isinstance(cand, dict) else None, "assistant",
                                 f"/candidates/{i}/content")


def _cohere_response(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _fields(d, {"text": "assistant"})


def _text(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _text_or_messages(d["text"], "/text", "unknown")


# For records of no known shape: words in a field's name that say whose text
# it holds. The last such word of the name decides ("model_response" is an
# answer, "user_input" a prompt, "response_text" an answer).
_KEY_WORD_ROLES = {
    **dict.fromkeys(("output", "outputs", "response", "responses", "answer", "answers", "completion",
                     "completions", "reply", "replies", "target", "targets", "generation", "generations",
                     "generated", "prediction", "predictions", "chosen", "rejected", "assistant", "gpt",
                     "bot", "chatbot"), "assistant"),
    **dict.fromkeys(("prompt", "prompts", "instruction", "instructions", "input", "inputs", "question",
                     "questions", "query", "queries", "human", "user", "request"), "user"),
}
_SYSTEM_KEYS = frozenset({"system", "system_prompt", "system_message", "systemprompt", "sys_prompt"})
_KEY_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


@lru_cache(maxsize=4096)  # field names recur in every record of a file
def key_role(key: str) -> str | None:
    """The role a field's name gives its text, or None when it says nothing."""
    if key.lower() in _SYSTEM_KEYS:
        return "system"
    for word in reversed(_KEY_WORDS.findall(key)):
        role = _KEY_WORD_ROLES.get(word.lower())
        if role is not None:
            return role
    return None


def unknown_shape(data: Any, pointer: str = "") -> Iterator[Segment]:
    """Every string anywhere in the value. Its role is the one the nearest
    enclosing field's name gives (`key_role`), else `unknown`."""
    stack: list[tuple[str, Any, str]] = [(pointer, data, "unknown")]
    while stack:
        ptr, node, role = stack.pop()
        if isinstance(node, str):
            if node:
                yield Segment(role, ptr, node)
        elif isinstance(node, dict):
            stack.extend(
                (f"{ptr}/{_esc(str(k))}", v, key_role(str(k)) or role)
                for k, v in reversed(list(node.items())) if k != DIRECTIVE_KEY
            )
        elif isinstance(node, list):
            stack.extend((f"{ptr}/{i}", v, role) for i, v in reversed(list(enumerate(node))))


def _has_answer_field(d: dict[str, Any]) -> bool:
    return any(isinstance(v, (str, list, dict)) and key_role(str(k)) == "assistant" for k, v in d.items())


def _is_list(key: str) -> Callable[[dict[str, Any]], bool]:
    return lambda d: isinstance(d.get(key), list)


Adapter = Callable[[dict[str, Any]], Iterator[Segment]]

# (name, test, adapter): the first whose test passes reads the record.
ADAPTERS: list[tuple[str, Callable[[dict[str, Any]], bool], Adapter]] = [
    ("openai-messages", _is_list("messages"), _openai_messages),
    ("sharegpt", lambda d: isinstance(d.get("conversations", d.get("conversation")), list), _sharegpt_adapter),
    ("openai-response", lambda d: isinstance(d.get("choices"), list) and any(
        isinstance(c, dict) and ("message" in c or "delta" in c or "text" in c) for c in d["choices"]), _openai_response),
    ("fastchat", lambda d: isinstance(d.get("choices"), list), _fastchat),
    ("anthropic-response", lambda d: isinstance(d.get("content"), list) and (
        d.get("type") == "message" or d.get("role") == "assistant"), _anthropic_response),
    ("gemini-response", _is_list("candidates"), _gemini_response),
    ("gemini-contents", _is_list("contents"), _gemini_contents),
    ("dpo", lambda d: "chosen" in d or "rejected" in d, _dpo),
    ("alpaca", lambda d: "instruction" in d and ("output" in d or "response" in d), _alpaca),
    ("prompt-completion", lambda d: "prompt" in d and "completion" in d, _prompt_completion),
    ("question-answer", lambda d: ("question" in d or "query" in d) and "answer" in d, _question_answer),
    ("cohere-response", lambda d: "generation_id" in d and isinstance(d.get("text"), str), _cohere_response),
    ("text", lambda d: isinstance(d.get("text"), str), _text),
    # any other shape with a field named for answers: every string, roles from field names
    ("fields", _has_answer_field, unknown_shape),
]
FORMATS = [name for name, _, _ in ADAPTERS] + ["unknown"]
_BY_NAME = {name: adapter for name, _, adapter in ADAPTERS}


def mapped(data: Any, field_map: dict[str, list[str]]) -> list[Segment]:
    """Segments from configured fields: role -> keys or JSON pointers."""
    segments: list[Segment] = []
    if not isinstance(data, dict):
        return segments
    for role, keys in field_map.items():
        for key in keys:
            pointer = key if key.startswith("/") else f"/{_esc(key)}"
            value = resolve_pointer(data, pointer)
            if isinstance(value, str):
                if value:
                    segments.append(Segment(role, pointer, value))
            elif value is not None:
                segments.extend(Segment(role, s.pointer, s.text) for s in unknown_shape(value, pointer))
    return segments


def top_level_field(key: str) -> str:
    """The top-level field a key or JSON pointer (`/a/b`) starts at."""
    return key[1:].split("/")[0].replace("~1", "/").replace("~0", "~") if key.startswith("/") else key


def resolve_pointer(data: Any, pointer: str, missing: Any = None) -> Any:
    """The value at an RFC 6901 JSON pointer, or `missing`."""
    node = data
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return missing
    return node


def adapt(data: Any, force: str | None = None, field_map: dict[str, list[str]] | None = None) -> tuple[str, list[Segment]]:
    """Detect the record's format (or use `force` or `field_map`) and return its segments."""
    if field_map:
        return "mapped", mapped(data, field_map)
    if isinstance(data, dict):
        if force is not None and force != "unknown":
            return force, list(_BY_NAME[force](data)) if _safe_test(force, data) else list(unknown_shape(data))
        if force is None:
            for name, test, adapter in ADAPTERS:
                if test(data):
                    return name, list(adapter(data))
    return "unknown", list(unknown_shape(data))


def _safe_test(name: str, data: dict[str, Any]) -> bool:
    for n, test, _ in ADAPTERS:
        if n == name:
            return test(data)
    return False
