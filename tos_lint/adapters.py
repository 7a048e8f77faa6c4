"""Record format adapters: a parsed JSON value in, text segments with roles out.

The format is detected per record, by its keys, so one file can mix shapes.
Each adapter returns `Segment`s with a JSON pointer to where the text sits.
An unknown shape still gets scanned: every string in it, with the role its
field's name gives, else `unknown`. So does the text a known format's adapter
does not read (`rest`, below): each string of a record is scanned once.
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
#
# An adapter yields the segments it reads and puts what else the record holds
# on `rest`, as (pointer, value, role): a value of a type it does not expect
# (a bare string among messages, `content` as an object, `output` as a list)
# or a field it does not read (`name`, `metadata`, a field beside `messages`).
# `adapt` scans every string in those, with the role a field's name on the way
# gives (`key_role`), else the role given (the turn's the value sits in, else
# `unknown`), but single tokens (`leftover`): each string of a record is read
# once, by the adapter or as left over. A record the adapter reads whole puts
# nothing there and costs no more.

Rest = list[tuple[str, Any, str]]
_CONTAINERS = (str, list, dict)
_ROLE_CONTENT = frozenset({"role", "content"})
_MESSAGE_KEYS = frozenset({*_ROLE_CONTENT, "tool_calls", "function_call"})
_PART_TEXT_KEYS = ("text", "content", "input_text", "output_text")
_PART_KEYS = frozenset({"type", *_PART_TEXT_KEYS})
# the `type` of a content part or block: names, read as the part's structure
_PART_TYPES = frozenset({
    "text", "input_text", "output_text", "image", "image_url", "input_image", "audio", "input_audio",
    "file", "input_file", "document", "video", "video_url", "refusal", "tool_use", "tool_result",
    "thinking", "redacted_thinking",
})
_EMPTY: frozenset[str] = frozenset()


def _left(rest: Rest, pointer: str, value: Any, role: str) -> None:
    """Leave a value the adapter does not read for the leftover scan: a
    list, an object, or a string that is text (see `_is_text`)."""
    if isinstance(value, str) and not _is_text(value):
        return
    if isinstance(value, _CONTAINERS):
        rest.append((pointer, value, role))


def _text_at(value: Any, pointer: str, role: str, rest: Rest) -> Iterator[Segment]:
    """A field that holds text: its segment when it is a string (an empty one
    has nothing to scan), else the value left over."""
    if isinstance(value, str):
        if value:
            yield Segment(role, pointer, value)
    else:
        _left(rest, pointer, value, role)


def _rest_of(node: dict[str, Any], pointer: str, read: frozenset[str], role: str, rest: Rest) -> None:
    """Leave the fields of `node` outside `read` for the leftover scan, each
    with the role its name gives, else `role`. (Callers on a hot path test
    `node.keys() <= read` first.)"""
    for key, value in node.items():
        if key not in read and key != DIRECTIVE_KEY:
            _left(rest, f"{pointer}/{_esc(str(key))}", value, key_role(str(key)) or role)


def _rest_top(d: dict[str, Any], read: frozenset[str], role: str, rest: Rest) -> None:
    """A record's top-level fields beyond `read`, for the leftover scan."""
    if not d.keys() <= read:
        _rest_of(d, "", read, role, rest)


def _unread_role(raw: Any, pointer: str, rest: Rest, role: str = "unknown") -> str:
    """`role`, for a turn whose role name stands for none; the name is left
    over (it may be text in the wrong place)."""
    if raw:
        _left(rest, pointer, raw, "unknown")
    return role


def _content(content: Any, role: str, pointer: str, rest: Rest) -> Iterator[Segment]:
    """OpenAI-style content: a string or a list of content parts."""
    if not isinstance(content, list):
        yield from _text_at(content, pointer, role, rest)
        return
    for i, part in enumerate(content):
        if isinstance(part, dict):
            for key in _PART_TEXT_KEYS:
                yield from _text_at(part.get(key), f"{pointer}/{i}/{key}", role, rest)
            _part_rest(part, f"{pointer}/{i}", _PART_KEYS, role, rest)
        else:
            yield from _text_at(part, f"{pointer}/{i}", role, rest)


def _part_rest(part: dict[str, Any], pointer: str, read: frozenset[str], role: str, rest: Rest) -> None:
    """A content part's or block's fields beyond `read`, and its `type` when
    that is no part type's name."""
    kind = part.get("type")
    if kind is not None and not (isinstance(kind, str) and kind in _PART_TYPES):
        _left(rest, f"{pointer}/type", kind, role)
    if not part.keys() <= read:
        _rest_of(part, pointer, read, role, rest)


def _messages(messages: Any, pointer: str, rest: Rest, base: str = "unknown") -> Iterator[Segment]:
    """A list of chat messages; `base`: the role of what is no message."""
    if not isinstance(messages, list):
        _left(rest, pointer, messages, base)
        return
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            _left(rest, f"{pointer}/{i}", msg, base)
            continue
        raw = msg.get("role", "")
        role = _CHAT_ROLES.get(str(raw).lower()) or _unread_role(raw, f"{pointer}/{i}/role", rest)
        yield from _content(msg.get("content"), role, f"{pointer}/{i}/content", rest)
        if not msg.keys() <= _ROLE_CONTENT:  # a bare message costs no more
            yield from _tool_calls(msg, role, f"{pointer}/{i}", rest)
            if not msg.keys() <= _MESSAGE_KEYS:
                _rest_of(msg, f"{pointer}/{i}", _MESSAGE_KEYS, role, rest)


_FUNCTION = frozenset({"function"})
_ARGUMENTS = frozenset({"arguments"})


def _tool_calls(msg: dict[str, Any], role: str, pointer: str, rest: Rest) -> Iterator[Segment]:
    calls = msg.get("tool_calls")
    if isinstance(calls, list):
        for j, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                yield from _arguments(fn, role, f"{pointer}/tool_calls/{j}/function", rest)
                _rest_of(call, f"{pointer}/tool_calls/{j}", _FUNCTION, role, rest)
            else:
                _left(rest, f"{pointer}/tool_calls/{j}", call, role)
    elif calls is not None:
        _left(rest, f"{pointer}/tool_calls", calls, role)
    fn = msg.get("function_call")
    if isinstance(fn, dict):
        yield from _arguments(fn, role, f"{pointer}/function_call", rest)
    elif fn is not None:
        _left(rest, f"{pointer}/function_call", fn, role)


def _arguments(fn: dict[str, Any], role: str, pointer: str, rest: Rest) -> Iterator[Segment]:
    """A function call's `arguments` string; its name and the rest are left over."""
    if isinstance(fn.get("arguments"), str):
        yield Segment(role, f"{pointer}/arguments", fn["arguments"])
        _rest_of(fn, pointer, _ARGUMENTS, role, rest)
    else:
        _rest_of(fn, pointer, _EMPTY, role, rest)


# the fields a ShareGPT turn is read from: its role name's, and its text's
_TURN_KEYS = {(who, text): frozenset({who, text}) for who in ("from", "role") for text in ("value", "content")}


def _sharegpt(turns: Any, pointer: str, rest: Rest, base: str = "unknown") -> Iterator[Segment]:
    if not isinstance(turns, list):
        _left(rest, pointer, turns, base)
        return
    for i, turn in enumerate(turns):
        if isinstance(turn, dict):
            yield from _sharegpt_turn(turn, f"{pointer}/{i}", rest)
        else:
            _left(rest, f"{pointer}/{i}", turn, base)


def _sharegpt_turn(turn: dict[str, Any], pointer: str, rest: Rest, default: str = "unknown") -> Iterator[Segment]:
    """One ShareGPT turn: its text, with the role its `from` (or `role`)
    names, else `default`."""
    who = "from" if "from" in turn else "role"
    raw = turn.get(who, "")
    role = _SHAREGPT_ROLES.get(str(raw).lower()) or _unread_role(raw, f"{pointer}/{who}", rest, default)
    key = "value" if "value" in turn else "content"
    yield from _text_at(turn.get(key), f"{pointer}/{key}", role, rest)
    if len(turn) > (who in turn) + (key in turn):  # a field besides the two read
        _rest_of(turn, pointer, _TURN_KEYS[who, key], role, rest)


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


def _text_or_messages(value: Any, pointer: str, role: str, rest: Rest) -> Iterator[Segment]:
    if isinstance(value, str):
        if value:
            yield from transcript_turns(value, pointer, role)
    elif isinstance(value, list):
        yield from _messages(value, pointer, rest, role)
    elif isinstance(value, dict):
        raw = value.get("role", "")
        turn_role = _CHAT_ROLES.get(str(raw)) or _unread_role(raw, f"{pointer}/role", rest, role)
        yield from _content(value.get("content"), turn_role, f"{pointer}/content", rest)
        _rest_of(value, pointer, _ROLE_CONTENT, turn_role, rest)


def _fields(data: dict[str, Any], roles: dict[str, str], rest: Rest) -> Iterator[Segment]:
    for key, role in roles.items():
        yield from _text_at(data.get(key), f"/{_esc(key)}", role, rest)


# --- adapters, tried in order --------------------------------------------------
# Each reads a record's fields (putting what it does not read on `rest`) and
# says which top-level fields it read: `adapt` leaves over the others.

_OPENAI_READ = frozenset({"messages", "system"})


def _openai_messages(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    if "system" in d:  # Anthropic and Bedrock requests
        yield from _text_or_messages(d["system"], "/system", "system", rest)
    yield from _messages(d["messages"], "/messages", rest)
    _rest_top(d, _OPENAI_READ, "unknown", rest)


_GEMINI_SYSTEM = ("systemInstruction", "system_instruction")
_GEMINI_READ = frozenset({"contents", *_GEMINI_SYSTEM})


def _gemini_contents(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    """Gemini requests and tuning data: `contents[].parts[].text`, role `model` for answers."""
    for key in _GEMINI_SYSTEM:
        if key in d:
            yield from _gemini_parts(d[key], "system", f"/{key}", rest)
    for i, content in enumerate(d["contents"]):
        if isinstance(content, dict):
            raw = content.get("role", "")
            role = _CHAT_ROLES.get(str(raw).lower()) or _unread_role(raw, f"/contents/{i}/role", rest)
            yield from _gemini_parts(content, role, f"/contents/{i}", rest)
        else:
            _left(rest, f"/contents/{i}", content, "unknown")
    _rest_top(d, _GEMINI_READ, "unknown", rest)


_PARTS = frozenset({"parts", "role"})
_TEXT = frozenset({"text"})


def _gemini_parts(content: Any, role: str, pointer: str, rest: Rest) -> Iterator[Segment]:
    """A Gemini content's parts (its role name is read by the caller)."""
    if not isinstance(content, dict):
        _left(rest, pointer, content, role)
        return
    parts = content.get("parts")
    if isinstance(parts, list):
        for j, part in enumerate(parts):
            if isinstance(part, dict):
                yield from _text_at(part.get("text"), f"{pointer}/parts/{j}/text", role, rest)
                _rest_of(part, f"{pointer}/parts/{j}", _TEXT, role, rest)
            else:
                _left(rest, f"{pointer}/parts/{j}", part, role)
    elif parts is not None:
        _left(rest, f"{pointer}/parts", parts, role)
    _rest_of(content, pointer, _PARTS, role, rest)


_SHAREGPT_READ = {key: frozenset({key, "chosen", "rejected"}) for key in ("conversations", "conversation")}


def _sharegpt_adapter(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    key = "conversations" if "conversations" in d else "conversation"
    yield from _sharegpt(d[key], f"/{key}", rest)
    for answer in ("chosen", "rejected"):  # preference pairs in ShareGPT form
        value = d.get(answer)
        if isinstance(value, dict):
            yield from _sharegpt_turn(value, f"/{answer}", rest, "assistant")
        elif isinstance(value, list):
            yield from _sharegpt(value, f"/{answer}", rest, "assistant")
        else:
            yield from _text_at(value, f"/{answer}", "assistant", rest)
    _rest_top(d, _SHAREGPT_READ[key], "unknown", rest)


_DPO_READ = frozenset({"prompt", "system", "chosen", "rejected"})


def _dpo(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    if "prompt" in d:
        yield from _text_or_messages(d["prompt"], "/prompt", "user", rest)
    yield from _text_at(d.get("system"), "/system", "system", rest)
    for key in ("chosen", "rejected"):
        if key in d:
            yield from _text_or_messages(d[key], f"/{key}", "assistant", rest)
    _rest_top(d, _DPO_READ, "unknown", rest)


_ALPACA_FIELDS = {"system": "system", "instruction": "user", "input": "user", "output": "assistant",
                  "response": "assistant"}
_ALPACA_READ = frozenset({*_ALPACA_FIELDS, "history"})


def _alpaca(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    yield from _fields(d, _ALPACA_FIELDS, rest)
    history = d.get("history")  # earlier turns as [question, answer] pairs
    if isinstance(history, list):
        for i, pair in enumerate(history):
            if isinstance(pair, list):
                for j, text in enumerate(pair):
                    if j < 2:
                        yield from _text_at(text, f"/history/{i}/{j}", ("user", "assistant")[j], rest)
                    else:  # a pair holds two: what follows is left over
                        _left(rest, f"/history/{i}/{j}", text, "unknown")
            else:
                _left(rest, f"/history/{i}", pair, "unknown")
    elif history is not None:
        _left(rest, "/history", history, "unknown")
    _rest_top(d, _ALPACA_READ, "unknown", rest)


_PROMPT_COMPLETION = frozenset({"prompt", "completion"})


def _prompt_completion(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    yield from _text_or_messages(d["prompt"], "/prompt", "user", rest)
    yield from _text_or_messages(d["completion"], "/completion", "assistant", rest)
    _rest_top(d, _PROMPT_COMPLETION, "unknown", rest)


_QA_FIELDS = {"question": "user", "query": "user", "answer": "assistant"}
_QA_READ = frozenset(_QA_FIELDS)


def _question_answer(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    yield from _fields(d, _QA_FIELDS, rest)
    _rest_top(d, _QA_READ, "unknown", rest)


_TURNS = frozenset({"turns"})
_FASTCHAT_READ = frozenset({"choices", "turns"})


def _fastchat(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    for i, choice in enumerate(d["choices"]):
        if isinstance(choice, dict) and isinstance(choice.get("turns"), list):
            for j, turn in enumerate(choice["turns"]):
                yield from _text_at(turn, f"/choices/{i}/turns/{j}", "assistant", rest)
            _rest_of(choice, f"/choices/{i}", _TURNS, "unknown", rest)
        else:
            _left(rest, f"/choices/{i}", choice, "assistant")
    turns = d.get("turns")
    if isinstance(turns, list):  # the question side of an MT-bench record
        for j, turn in enumerate(turns):
            yield from _text_at(turn, f"/turns/{j}", "user", rest)
    elif turns is not None:
        _left(rest, "/turns", turns, "user")
    _rest_top(d, _FASTCHAT_READ, "unknown", rest)


# a choice's fields read: its message (or delta, or text), and its logprobs,
# API envelope whose tokens are no text of their own
_CHOICE_READ = {key: frozenset({key, "logprobs"}) for key in ("message", "delta", "text")}
_LOGPROBS = frozenset({"logprobs"})
_CHOICES = frozenset({"choices"})


def _openai_response(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    for i, choice in enumerate(d["choices"]):
        if not isinstance(choice, dict):
            _left(rest, f"/choices/{i}", choice, "assistant")
            continue
        key = "message" if choice.get("message") else "delta"
        msg = choice.get(key)
        if isinstance(msg, dict):
            raw = msg.get("role", "assistant")
            role = _CHAT_ROLES.get(str(raw)) or _unread_role(raw, f"/choices/{i}/{key}/role", rest, "assistant")
            yield from _content(msg.get("content"), role, f"/choices/{i}/{key}/content", rest)
            yield from _tool_calls(msg, role, f"/choices/{i}/{key}", rest)
            _rest_of(msg, f"/choices/{i}/{key}", _MESSAGE_KEYS, role, rest)
            read = _CHOICE_READ[key]
        elif isinstance(choice.get("text"), str):
            yield Segment("assistant", f"/choices/{i}/text", choice["text"])
            read = _CHOICE_READ["text"]
        else:
            read = _LOGPROBS
        _rest_of(choice, f"/choices/{i}", read, "unknown", rest)
    _rest_top(d, _CHOICES, "unknown", rest)


_CONTENT = frozenset({"content"})
_BLOCK_KEYS = frozenset({"type", "text"})


def _anthropic_response(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    for i, block in enumerate(d["content"]):
        if isinstance(block, dict):
            yield from _text_at(block.get("text"), f"/content/{i}/text", "assistant", rest)
            _part_rest(block, f"/content/{i}", _BLOCK_KEYS, "assistant", rest)
        else:
            _left(rest, f"/content/{i}", block, "assistant")
    _rest_top(d, _CONTENT, "unknown", rest)


_CANDIDATES = frozenset({"candidates"})


def _gemini_response(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    for i, cand in enumerate(d["candidates"]):
        if isinstance(cand, dict):
            if "content" in cand:
                yield from _gemini_parts(cand["content"], "assistant", f"/candidates/{i}/content", rest)
            _rest_of(cand, f"/candidates/{i}", _CONTENT, "unknown", rest)
        else:
            _left(rest, f"/candidates/{i}", cand, "assistant")
    _rest_top(d, _CANDIDATES, "unknown", rest)


_COHERE_FIELDS = {"text": "assistant"}


def _cohere_response(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    yield from _fields(d, _COHERE_FIELDS, rest)
    _rest_top(d, _TEXT, "unknown", rest)


def _text(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    yield from _text_or_messages(d["text"], "/text", "unknown", rest)
    _rest_top(d, _TEXT, "unknown", rest)


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


def unknown_shape(data: Any, pointer: str = "", role: str = "unknown") -> Iterator[Segment]:
    """Every string anywhere in the value. Its role is the one the nearest
    enclosing field's name gives (`key_role`), else `role`."""
    stack: list[tuple[str, Any, str]] = [(pointer, data, role)]
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


# A string of one ASCII token: an id, a model name, a URL, a name such as
# `finish_reason: stop`. Left over by a known format, it is metadata (field
# rules read it where they look for one), not text; a template marker
# (`<|im_end|>`, `[INST]`) is no such token.
_METADATA_TOKEN = re.compile(r"[\w.,:;/@+=%?&#~!$*'()-]*", re.ASCII)


def _is_text(value: str) -> bool:
    """Whether a string is text rather than one metadata token (a name, an id, a number)."""
    return _METADATA_TOKEN.fullmatch(value) is None


# Fields that hold a turn's or a part's text, whatever its length ("Hi").
_TURN_TEXT_KEYS = frozenset({*_PART_TEXT_KEYS, "value", "message", "utterance", "body"})


def holds_text(segment: Segment) -> bool:
    """Whether a segment is text someone wrote, not metadata: a turn, a field
    whose name gives it a role (`output`, `prompt`) or holds a turn's text
    (`content`, `value`), or any other string of more than one token."""
    return (segment.role != "unknown" or _is_text(segment.text)
            or segment.pointer.rpartition("/")[2] in _TURN_TEXT_KEYS)


def leftover(value: Any, pointer: str, role: str) -> Iterator[Segment]:
    """The text in a value a known format's adapter does not read: every
    string in it (as `unknown_shape`) but single tokens."""
    for segment in unknown_shape(value, pointer, role):
        if _is_text(segment.text):
            yield segment


def _has_answer_field(d: dict[str, Any]) -> bool:
    return any(isinstance(v, (str, list, dict)) and key_role(str(k)) == "assistant" for k, v in d.items())


def _is_list(key: str) -> Callable[[dict[str, Any]], bool]:
    return lambda d: isinstance(d.get(key), list)


def _every_string(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    return unknown_shape(d)


Adapter = Callable[[dict[str, Any], Rest], Iterator[Segment]]

# Batch and pipeline files wrap each API request or response in an envelope:
# OpenAI Batch input `{"custom_id", "method", "url", "body": request}` and
# output `{"custom_id", "response": {"status_code", "body": response}}`,
# Anthropic Message Batches `{"custom_id", "params": request}` and results
# `{"custom_id", "result": {"type", "message": response}}`, Vertex AI batch
# prediction `{"request": request, "response": response}`. Paths to try, the
# deeper first where two start alike.
_ENVELOPE_PATHS = (("body",), ("params",), ("response", "body"), ("result", "message"), ("request",), ("response",))


def _envelope_parts(d: dict[str, Any]) -> list[tuple[str, dict[str, Any], Adapter]]:
    """The API objects an envelope wraps, each with its pointer and the
    adapter that reads it; none unless the record is such an envelope (it
    has a `custom_id`, or both a `request` and a `response`)."""
    if "custom_id" not in d and not ("request" in d and "response" in d):
        return []
    parts: list[tuple[str, dict[str, Any], Adapter]] = []
    taken: set[str] = set()
    for path in _ENVELOPE_PATHS:
        node: Any = d
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        adapter = _inner_adapter(node) if path[0] not in taken else None
        if adapter is not None:
            taken.add(path[0])
            parts.append(("/" + "/".join(_esc(k) for k in path), node, adapter))
    return parts


def _inner_adapter(node: Any) -> Adapter | None:
    """The adapter for a request or response an envelope holds: one of a
    known API shape (not the catch-all `text` and `fields` readers)."""
    if not isinstance(node, dict):
        return None
    return next((adapter for name, test, adapter in ADAPTERS
                 if name not in ("api-envelope", "text", "fields") and test(node)), None)


def _api_envelope(d: dict[str, Any], rest: Rest) -> Iterator[Segment]:
    """Each wrapped request and response read by its own adapter, at its
    pointer; the envelope's other fields (ids, status, errors) left over."""
    parts = _envelope_parts(d)
    for pointer, node, adapter in parts:
        for seg in _read(adapter, node):
            yield Segment(seg.role, pointer + seg.pointer, seg.text)
    read = {p.split("/")[1] for p, _, _ in parts}
    rest.extend((f"/{_esc(k)}", v, "unknown") for k, v in d.items()
                if _esc(k) not in read and not (isinstance(v, str) and not _is_text(v)))  # ids are not text

# (name, test, adapter): the first whose test passes reads the record.
ADAPTERS: list[tuple[str, Callable[[dict[str, Any]], bool], Adapter]] = [
    ("api-envelope", lambda d: bool(_envelope_parts(d)), _api_envelope),
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
    ("fields", _has_answer_field, _every_string),
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
            pointer = mapped_pointer(key)
            value = resolve_pointer(data, pointer)
            if isinstance(value, str):
                if value:
                    segments.append(Segment(role, pointer, value))
            elif value is not None:
                segments.extend(Segment(role, s.pointer, s.text) for s in unknown_shape(value, pointer))
    return segments


def mapped_pointer(key: str) -> str:
    """The JSON pointer a field-map key names: itself, or the top-level field."""
    return key if key.startswith("/") else f"/{_esc(key)}"


def top_level_field(key: str) -> str:
    """The top-level field a key or JSON pointer (`/a/b`) starts at."""
    return key[1:].split("/")[0].replace("~1", "/").replace("~0", "~") if key.startswith("/") else key


_BAD_ESCAPE = re.compile("~(?![01])")


def pointer_error(key: str) -> str | None:
    """What is wrong with a JSON pointer (a key starting with '/'), or None:
    RFC 6901 has two escapes only, `~0` for '~' and `~1` for '/'. Any other
    '~' would make the pointer name a field no record has, so the rule or
    field map would silently read nothing."""
    bad = _BAD_ESCAPE.search(key) if key.startswith("/") else None
    if bad is None:
        return None
    return (f"invalid JSON pointer {key!r}: {key[bad.start():bad.start() + 2]!r} is not an escape "
            "('~0' stands for '~', '~1' for '/')")


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
            return force, _read(_BY_NAME[force], data) if _safe_test(force, data) else list(unknown_shape(data))
        if force is None:
            for name, test, adapter in ADAPTERS:
                if test(data):
                    return name, _read(adapter, data)
    return "unknown", list(unknown_shape(data))


def _read(adapter: Adapter, data: dict[str, Any]) -> list[Segment]:
    """The adapter's segments, then the text in what it left over, less
    what that text copies from the segments (see `_uncopied`)."""
    rest: Rest = []
    segments = list(adapter(data, rest))
    if not rest:
        return segments
    read = _copies_to_find(segments)
    for pointer, value, role in rest:
        if isinstance(value, str):  # most often: one field's string, text already (`_left`)
            segments.extend(_uncopied(Segment(role, pointer, value), read))
        else:
            for segment in leftover(value, pointer, role):
                segments.extend(_uncopied(segment, read))
    return segments


# A string left over may render the fields the adapter read: alpaca-cleaned's
# `text` is "Below is an instruction ... ### Response:\n" and the `output`
# again. What it copies word for word was scanned already, at the field's own
# pointer, and would be reported twice; the rest of it is scanned. A text of
# one word is not looked for: it recurs by chance, and cut out of a sentence
# of the rendering's own ("I am" + "ChatGPT") it would break a phrase there.


def _copies_to_find(segments: list[Segment]) -> list[str]:
    """The texts read of two words or more, stripped, longest first (a long
    copy is claimed before a shorter text found inside it can split it)."""
    texts = {s.text.strip() for s in segments}
    return sorted((t for t in texts if len(t.split(maxsplit=1)) > 1), key=len, reverse=True)


def _uncopied(segment: Segment, read: list[str]) -> Iterator[Segment]:
    """`segment`, or, where it holds copies of texts in `read`, the pieces
    between them, each a slice of it at `pointer#offset` (as transcript turns are)."""
    text = segment.text
    spans = sorted(_copy_spans(text, read))
    if not spans:
        yield segment
        return
    start = 0
    for lo, hi in [*spans, (len(text), len(text))]:
        if text[start:lo].strip():
            yield Segment(segment.role, f"{segment.pointer}#{start}", text[start:lo])
        start = hi


def _copy_spans(text: str, read: list[str]) -> list[tuple[int, int]]:
    """Where `text` holds each text of `read` whole (its last such place: a
    rendering puts the fields after its preamble), bounded by no letter or
    digit on either side, without overlapping another copy."""
    spans: list[tuple[int, int]] = []
    for copy in read:
        end = len(text)
        while (at := text.rfind(copy, 0, end)) >= 0:
            span = (at, at + len(copy))
            if _word_bounded(text, *span) and not any(lo < span[1] and span[0] < hi for lo, hi in spans):
                spans.append(span)
                break
            end = span[1] - 1
    return spans


def _word_bounded(text: str, lo: int, hi: int) -> bool:
    return (lo == 0 or not text[lo - 1].isalnum()) and (hi == len(text) or not text[hi].isalnum())


def _safe_test(name: str, data: dict[str, Any]) -> bool:
    for n, test, _ in ADAPTERS:
        if n == name:
            return test(data)
    return False
