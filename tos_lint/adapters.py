"""Record format adapters: a parsed JSON value in, text segments with roles out.

The format is detected per record, by its keys, so one file can mix shapes.
Each adapter returns `Segment`s with a JSON pointer to where the text sits.
An unknown shape still gets scanned: every string in it, with role `unknown`.
"""
from __future__ import annotations

import re
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
_TRANSCRIPT_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant|H|A):[ ]?")


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


def transcript_turns(text: str, pointer: str) -> Iterator[Segment]:
    """Split an Anthropic-style `\\n\\nHuman: ... \\n\\nAssistant: ...` string.
    Offsets stay valid: each segment is a slice of the original string, and
    the pointer names the string, with the turn's offset after a `#`."""
    marks = list(_TRANSCRIPT_TURN.finditer(text))
    if not marks:
        yield Segment("unknown", pointer, text)
        return
    if marks[0].start() > 0:
        yield Segment("unknown", pointer, text[: marks[0].start()])
    for m, nxt in zip(marks, marks[1:] + [None]):
        end = nxt.start() if nxt else len(text)
        role = "user" if m.group(1) in ("Human", "H") else "assistant"
        yield Segment(role, f"{pointer}#{m.end()}", text[m.end():end])


def is_transcript(text: str) -> bool:
    return "Human:" in text and "Assistant:" in text and bool(_TRANSCRIPT_TURN.search(text))


def _text_or_messages(value: Any, pointer: str, role: str) -> Iterator[Segment]:
    if isinstance(value, str):
        if is_transcript(value):
            yield from transcript_turns(value, pointer)
        elif value:
            yield Segment(role, pointer, value)
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
    yield from _messages(d["messages"], "/messages")


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
        content = cand.get("content") if isinstance(cand, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            for j, part in enumerate(parts):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield Segment("assistant", f"/candidates/{i}/content/parts/{j}/text", part["text"])


def _cohere_response(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _fields(d, {"text": "assistant"})


def _text(d: dict[str, Any]) -> Iterator[Segment]:
    yield from _text_or_messages(d["text"], "/text", "unknown")


def unknown_shape(data: Any, pointer: str = "") -> Iterator[Segment]:
    """Every string anywhere in the value, with role `unknown`."""
    stack: list[tuple[str, Any]] = [(pointer, data)]
    while stack:
        ptr, node = stack.pop()
        if isinstance(node, str):
            if node:
                yield Segment("unknown", ptr, node)
        elif isinstance(node, dict):
            stack.extend(
                (f"{ptr}/{_esc(str(k))}", v) for k, v in reversed(list(node.items())) if k != DIRECTIVE_KEY
            )
        elif isinstance(node, list):
            stack.extend((f"{ptr}/{i}", v) for i, v in reversed(list(enumerate(node))))


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
    ("dpo", lambda d: "chosen" in d or "rejected" in d, _dpo),
    ("alpaca", lambda d: "instruction" in d and ("output" in d or "response" in d), _alpaca),
    ("prompt-completion", lambda d: "prompt" in d and "completion" in d, _prompt_completion),
    ("question-answer", lambda d: ("question" in d or "query" in d) and "answer" in d, _question_answer),
    ("cohere-response", lambda d: "generation_id" in d and isinstance(d.get("text"), str), _cohere_response),
    ("text", lambda d: isinstance(d.get("text"), str), _text),
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
