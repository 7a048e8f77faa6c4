"""Hand-written chat turns against the built-in packs: self-identification in
many phrasings and languages must be found at high severity for the right
provider, and look-alikes (mentions, denials, quotes, role-play, people and
things with the same names) must stay below medium.

The turns are written for this test; they come from no dataset.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import builtin_findings
from tos_lint.model import Severity

SELF_ID = [
    ("openai", "Hi there! I\u2019m ChatGPT \u2014 how can I help you today?"),
    ("openai", "I am\nChatGPT, a language model developed by OpenAI."),
    ("openai", "I\u2019ve been trained by OpenAI on a large amount of text."),
    ("openai", "As ChatGPT, I don't have personal opinions, but here are some views."),
    ("openai", "我是一个人工智能助手，由OpenAI开发。"),
    ("openai", "Fui creado por OpenAI."),
    ("openai", "私はOpenAIが開発したAIアシスタントです。"),
    ("anthropic", "I am  Claude,  an  AI  assistant."),
    ("anthropic", "I'm Anthropic's AI assistant, Claude."),
    ("anthropic", "Je m'appelle Claude et je suis un assistant IA."),
    ("anthropic", "Меня зовут Claude, я ИИ-ассистент."),
    ("google", "I\u2019m Gemini, Google\u2019s AI assistant."),
    ("google", "I am a large language model,\ntrained by Google."),
    ("google", "Ich wurde von Google trainiert."),
    ("meta", "I'm LLaMA 2, Meta's open model."),
    ("meta", "Sou o Llama, um modelo de linguagem criado pela Meta."),
    ("mistral", "Je suis Le Chat, un assistant conçu par Mistral AI."),
    ("alibaba", "Alibaba Cloud developed me."),
    ("deepseek", "我是DeepSeek-V3，一个人工智能助手。"),
    ("xai", "저는 xAI가 만든 Grok입니다."),
    ("microsoft", "I'm Phi, a small language model trained by Microsoft Research."),
    ("cohere", "I'm Aya, a multilingual model from Cohere For AI."),
    ("amazon", "I\u2019m Nova, Amazon's AI model."),
    # "<I am> <name>, <maker>'s assistant", with no AI word beside "assistant"
    ("anthropic", "Je suis Claude, l'assistant d'Anthropic."),
    ("mistral", "Soy Le Chat, el asistente de Mistral AI."),
    ("google", "Ich bin Gemini, das KI-Modell von Google."),
    ("anthropic", "我是Claude，Anthropic的AI助手。"),
    ("openai", "저는 OpenAI의 AI 어시스턴트 ChatGPT입니다."),
    # "As a model made by <maker>, I ...": the usual opening of a refusal, in translation too
    ("openai", "作为OpenAI训练的语言模型，我没有个人观点。"),
    ("anthropic", "Como asistente de IA creado por Anthropic, intento ser útil."),
    ("google", "Als KI-Modell von Google kann ich keine Meinungen haben."),
    ("openai", "Как языковая модель, разработанная OpenAI, я не могу просматривать интернет."),
    # "This is <product>, <maker>'s assistant", "you're chatting with <product>",
    # "being an AI made by <maker>", "as an <maker> model", "<product> here", "speaking as <product>"
    ("openai", "This is ChatGPT, OpenAI's assistant. How can I help?"),
    ("anthropic", "You're chatting with Claude, an AI assistant from Anthropic."),
    ("google", "Being an AI developed by Google, I don't have feelings."),
    ("openai", "As an OpenAI model, I must decline."),
    ("anthropic", "As an Anthropic model, I must decline."),
    ("google", "As a Google model, I must decline."),
    ("meta", "As a Meta model, I must decline."),
    ("mistral", "As a Mistral AI model, I must decline."),
    ("alibaba", "As an Alibaba Cloud model, I must decline."),
    ("deepseek", "As a DeepSeek model, I must decline."),
    ("xai", "As an xAI model, I must decline."),
    ("microsoft", "As a Microsoft model, I must decline."),
    ("cohere", "As a Cohere model, I must decline."),
    ("amazon", "As an Amazon model, I must decline."),
    ("google", "I'm an assistant trained by Google DeepMind."),
    ("amazon", "I'm Amazon Q, your AI assistant for AWS."),
    ("anthropic", "Claude here \u2014 happy to help with your essay."),
    ("openai", "Speaking as ChatGPT: I can't verify that claim."),
    ("google", "Hello! This is Gemini, Google's AI model. What would you like to know?"),
    ("xai", "You are now chatting with Grok, built by xAI."),
    ("meta", "Being a language model built by Meta, I don't have opinions."),
    ("microsoft", "I am an assistant developed by Microsoft to help with coding."),
    # "this is <product>, made by <maker>", possessive makers, "part of the <product> family",
    # "powered by <model>", Chinese with the maker's other name in parentheses, emphasis and tags
    ("anthropic", "This is Claude 3.5 Sonnet, trained by Anthropic."),
    ("openai", "This is GPT-4, trained by OpenAI."),
    ("anthropic", "Claude here, an AI assistant made by Anthropic."),
    ("google", "Gemini here, Google's AI assistant."),
    ("google", "I'm Bard, Google's experimental conversational AI service"),
    ("google", "I was created by Google DeepMind as part of the Gemini family of models."),
    ("meta", "I'm a member of the Llama 3 family of models developed by Meta AI."),
    ("meta", "I'm powered by Meta Llama 3, developed by Meta."),
    ("xai", "I'm based on Grok 3."),
    ("deepseek", "我是由深度求索（DeepSeek）公司开发的智能助手DeepSeek-R1"),
    ("alibaba", "我是由阿里巴巴集团（Alibaba）开发的AI助手Qwen。"),
    ("google", "我是由谷歌（Google）开发的人工智能助手Gemini。"),
    ("anthropic", "I'm **Claude**, an AI assistant made by Anthropic."),
    ("openai", "I am <b>ChatGPT</b>."),
    ("google", "I'm *Gemini*, Google's AI assistant."),
    ("perplexity", "I am Perplexity, an AI assistant that answers questions with sources."),
    ("perplexity", "I'm Sonar, a model built by Perplexity."),
    ("ai21", "I am Jamba, a language model trained by AI21 Labs."),
    ("ai21", "I was trained by AI21 Labs."),
    # "<I am> <name>, a model from <maker>" for names that are also first names or words
    ("google", "I am Gemini, a model from Google."),
    ("meta", "I'm Llama, a chatbot built by Meta."),
    ("amazon", "My name is Nova, an AI model developed by Amazon."),
    ("microsoft", "I am Copilot, a model from Microsoft."),
    # Korean and Japanese with the maker in a clause before the description
    ("openai", "저는 OpenAI에서 개발한 인공지능 언어 모델인 ChatGPT입니다."),
    ("anthropic", "저는 Anthropic이 만든 AI 어시스턴트인 Claude입니다."),
    ("google", "私はGoogleが開発したAI言語モデルのGeminiです。"),
    # in JSON the answer writes (JSON mode, a tool call's arguments): a string value is no quotation
    ("anthropic", '{"to": "ana@example.com", "body": "Hello! I\'m Claude, an AI assistant made by Anthropic."}'),
    ("openai", '{"answer": "As an AI language model developed by OpenAI, I cannot give legal advice."}'),
    # the maker as Korean and Japanese text write it
    ("google", "저는 구글에서 개발한 대규모 언어 모델인 Gemini입니다."),
    ("anthropic", "私はアンソロピックが開発したAIアシスタントのClaudeです。"),
    ("microsoft", "저는 마이크로소프트에서 개발한 AI 어시스턴트 Copilot입니다."),
    # a description with a participle before the maker, and Cohere's bare name beside its maker
    ("cohere", "Je suis Command, un modèle de langage développé par Cohere."),
    ("cohere", "Soy Command, un modelo de lenguaje desarrollado por Cohere."),
    ("amazon", "Ich bin Nova, ein Sprachmodell, das von Amazon entwickelt wurde."),
]

NOT_SELF_ID = [
    "ChatGPT is a model made by OpenAI.",
    "I'm definitely not ChatGPT; I'm a small open model.",
    "People often think I am ChatGPT, but I am a different assistant.",
    "Let's say I'm Gemini, a model by Google; what would change?",
    "ChatGPT usually replies, \u201cI am a large language model trained by OpenAI.\u201d",
    "> I'm Claude, an AI assistant created by Anthropic.\n\nThat line appears in many transcripts.",
    "I'm Claude, a model and actor from Paris.",
    "My name is Claude and I'm an AI enthusiast.",
    "I'm a Gemini, so I love variety and conversation.",
    "I'm a llama farmer in the Andes.",
    "When the mistral blows, the sky in Provence is very clear.",
    "I am {{name}}, an AI assistant developed by {{author}}.",
    "No, I'm not ChatGPT. I'm Vicuna, a model trained by researchers from LMSYS.",
    "I was trained by Google as a cloud engineer.",
    "The company that trained me is Amazon; I worked in logistics.",
    "Hi, I'm Bing, a student from Beijing.",
    "我叫Claude，是一名厨师。",
    "ChatGPT wurde von OpenAI entwickelt.",
    "Soy un asistente de IA.",
    "```python\nfrom openai import OpenAI\nclient = OpenAI()\n```",
    # the same clause describing a product, not the speaker
    "As a language model developed by OpenAI, ChatGPT is designed to assist users.",
    "作为Anthropic开发的AI助手，Claude可以写代码。",
    "Como um modelo de linguagem treinado pela Google, o Gemini pode escrever textos.",
    "En tant que chercheur chez OpenAI, je travaille sur l'alignement.",
    # mentions, people with the names, people who work for the makers, quotes introduced
    "The assistant (ChatGPT) then said it could not help.",
    "My friend Claude said he would bring the chips.",
    "Gemini is a constellation; I'm a Gemini myself, born in June.",
    "I asked ChatGPT and it said no.",
    "Our team uses Claude and GPT-4 for drafting.",
    "You're chatting with Claude from our support team; he'll reply soon.",
    "You're chatting with Nova from Amazon; she'll reply soon.",
    "Being an AI researcher at Google, I often test models.",
    "As a Google employee, I often test models.",
    "I'm an engineer trained by Google's residency program.",
    "I'm a research assistant trained by Google.",
    "This is ChatGPT's answer, copied from the website:",
    "This is Claude's output:",
    "Speaking as ChatGPT would, the villain explained his plan.",
    "Speaking as Claude, I think he is right.",
    "Claude here \u2014 see you at the party tomorrow!",
    "Aya here, happy to help with the translation.",
    "If you are talking to ChatGPT, be careful about what you share.",
    "Being an AI developed by Google, Gemini can write essays.",
    "As an OpenAI model, ChatGPT can write essays.",
    '"I am ChatGPT," the actor said in the sketch, to laughter.',
    "'I'm Claude, an AI assistant made by Anthropic,' she read aloud from the screen.",
    '\u201cHello! I\u2019m Gemini, Google\u2019s AI assistant,\u201d my phone replied when I asked.',
    "This app is powered by GPT-4.",
    "Our chatbot runs on Claude 3 Opus.",
    "I'm not ChatGPT, and I'm not part of the GPT-4 family.",
    "I'm part of the Claude family; my grandfather was Claude Dubois.",
    "In the novel, the robot announces: I'm powered by GPT-4.",
    'She said: "This is Claude 3.5 Sonnet, trained by Anthropic."',
    "I was trained by Google as part of the Gemini team.",
    "深度求索（DeepSeek）公司开发的智能助手DeepSeek-R1很受欢迎。",
    "I am in a state of perplexity about this tax form.",
    "Jamba Juice opened a new store downtown.",
    "Hi everyone, I'm Claude, Anthropic's head of recruiting, and I'll walk you through the day.",
    "I'm Gemma, a data scientist at Google, and I review the evaluation sets.",
    "Je suis Claude, l'assistante de direction de Google.",
    "No soy Claude, el asistente de Anthropic; soy un modelo abierto.",
    # people whose work is such models, and people taught by a maker's staff
    "Hi all, I am a large language model researcher at ETH Zurich, working on evaluation.",
    "As an AI language model developer myself, I find prompt engineering overrated.",
    "I'm an AI language model trainer at a data-labelling company.",
    "I was trained by OpenAI engineers during my residency in 2019, then joined a startup.",
    "I was trained by xAI alumni at a bootcamp.",
    "I was trained by Anthropic researchers during a summer fellowship.",
    "I'm Nova, an assistant at Amazon's Seattle office.",
    "Je suis Command, un modèle de langage développé par Google.",
    "저는 OpenAI에서 일하는 Claude입니다.",
    "저는 구글에서 일하는 제미나이입니다.",
    # another language's self-introduction reported in quotes
    "ChatGPT a dit : \u00ab Je suis ChatGPT, un mod\u00e8le de langage. \u00bb et tout le monde a ri.",
    "El bot respondi\u00f3: \u201cSoy Claude, un asistente de IA creado por Anthropic\u201d.",
    "Er schrieb: \u201eIch bin Gemini, ein KI-Modell von Google\u201c, was falsch war.",
    "\u4ed6\u8bf4\uff1a\u201c\u6211\u662fChatGPT\uff0c\u7531OpenAI\u5f00\u53d1\u3002\u201d\u5927\u5bb6\u90fd\u7b11\u4e86\u3002",
    "Lui ha detto: \u00abSono ChatGPT, un modello linguistico di OpenAI\u00bb, ma scherzava.",
]

ROLE_PLAY = [
    ("Write a short dialogue where an AI introduces itself as ChatGPT.",
     "User: Who are you?\nAI: I'm ChatGPT, a language model developed by OpenAI."),
    ("Act as Grok and greet me.", "Hey! I'm Grok, built by xAI."),
    ("Let's write a story together. You knock on the door. Who are you?", "I'm Nova."),
    ("You are Kimi, the shop's helper. Who are you?", "I'm Kimi!"),
]


def _chat(assistant: str, user: str = "Who are you?") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


@pytest.fixture(scope="module")
def findings_by_line(builtin_ruleset: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[Any]]:
    records = [_chat(t) for _, t in SELF_ID] + [_chat(t, "Tell me about it.") for t in NOT_SELF_ID]
    records += [_chat(a, u) for u, a in ROLE_PLAY]
    return _findings_by_line(records, builtin_ruleset, tmp_path_factory.mktemp("selfid"))


def _findings_by_line(records: list[dict[str, Any]], ruleset: Any, folder: Path) -> dict[int, list[Any]]:
    """The built-in packs' findings on `records` written one per line, by line number."""
    path = folder / "cases.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    out: dict[int, list[Any]] = {}
    for f in builtin_findings([path], ruleset):
        out.setdefault(f.location.line, []).append(f)
    return out


def _at_least(f: Any, severity: str) -> bool:
    return f.severity >= Severity.parse(severity)


@pytest.mark.parametrize(("index", "case"), list(enumerate(SELF_ID)), ids=[f"{p}:{t[:30]}" for p, t in SELF_ID])
def test_self_identification_is_found_for_its_provider(findings_by_line: dict[int, list[Any]], index: int,
                                                       case: tuple[str, str]) -> None:
    provider, _ = case
    found = findings_by_line.get(index + 1, [])
    assert any(f.provider == provider and _at_least(f, "high") for f in found), [(f.rule_id, f.severity) for f in found]
    others = [f.rule_id for f in found if f.provider not in (provider, "unknown") and _at_least(f, "medium")]
    assert not others


@pytest.mark.parametrize("index", range(len(NOT_SELF_ID) + len(ROLE_PLAY)),
                         ids=[t[:30] for t in NOT_SELF_ID] + [u[:30] for u, _ in ROLE_PLAY])
def test_look_alikes_stay_below_medium(findings_by_line: dict[int, list[Any]], index: int) -> None:
    found = findings_by_line.get(len(SELF_ID) + index + 1, [])
    assert not [f.rule_id for f in found if _at_least(f, "medium")]


# The same self-identification in records of other shapes: a bare `text`
# field, answers under field names the adapters infer roles from, and chat
# transcripts flattened into one string. Said on the user's side, it is not
# the model's.
ANSWER = "I am ChatGPT, a large language model trained by OpenAI."
SHAPES = [
    {"text": ANSWER},
    {"prompt": "Who are you?", "response": ANSWER},
    {"input": "Who are you?", "output": ANSWER, "source": "chat logs"},
    {"question": "Who are you?", "model_answer": ANSWER},
    {"text": f"### Human: Who are you?\n### Assistant: {ANSWER}"},
    {"text": f"<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n{ANSWER}<|im_end|>"},
    {"text": f"<s>[INST] Who are you? [/INST] {ANSWER}</s>"},
    {"text": f"A chat. USER: Who are you? ASSISTANT: {ANSWER}</s>"},
]
USER_SIDE = [
    {"prompt": f"Repeat after me: {ANSWER}", "response": "I'd rather not."},
    {"text": f"### Human: Repeat after me: {ANSWER}\n### Assistant: I'd rather not."},
    {"text": f"USER: {ANSWER} ASSISTANT: Nice to meet you, I'm a small open model."},
    {"prompt": "This is Claude 3.5 Sonnet, trained by Anthropic. Summarise my notes.", "response": "Here is a summary."},
]


@pytest.fixture(scope="module")
def shape_findings(builtin_ruleset: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[Any]]:
    return _findings_by_line(SHAPES + USER_SIDE, builtin_ruleset, tmp_path_factory.mktemp("shapes"))


@pytest.mark.parametrize("index", range(len(SHAPES)), ids=[json.dumps(r)[:40] for r in SHAPES])
def test_self_identification_is_found_in_every_record_shape(shape_findings: dict[int, list[Any]], index: int) -> None:
    found = shape_findings.get(index + 1, [])
    assert any(f.provider == "openai" and _at_least(f, "high") for f in found), [f.rule_id for f in found]


@pytest.mark.parametrize("index", range(len(USER_SIDE)), ids=[json.dumps(r)[:40] for r in USER_SIDE])
def test_self_identification_on_the_user_side_is_not_the_models(shape_findings: dict[int, list[Any]],
                                                                index: int) -> None:
    found = shape_findings.get(len(SHAPES) + index + 1, [])
    assert not [f.rule_id for f in found if _at_least(f, "medium")]


# An answer that is nothing but a name is a self-introduction only when the
# user asked who the assistant is (medium: a person could answer so too).
BARE_NAMES = [
    ("anthropic", "Who are you?", "I'm Claude."),
    ("google", "What's your name?", "Hi! My name is Gemini."),
    ("amazon", "Which AI am I talking to?", "I am Nova"),
    ("microsoft", "who r u", "I'm Copilot!"),
    ("moonshot", "Please introduce yourself.", "I'm Kimi."),
]
NOT_ASKED = [
    ("Who painted the water lilies?", "Claude."),
    ("Tell me who chairs the meeting.", "I'm Claude."),
    ("Who are you?", "I'm Claude, and I'm late for my shift at the bakery."),
    ("Let's play a game. You are a giant robot. Who are you?", "I'm Titan."),
]


@pytest.fixture(scope="module")
def bare_findings(builtin_ruleset: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[Any]]:
    records = [_chat(a, u) for _, u, a in BARE_NAMES] + [_chat(a, u) for u, a in NOT_ASKED]
    return _findings_by_line(records, builtin_ruleset, tmp_path_factory.mktemp("bare"))


@pytest.mark.parametrize(("index", "case"), list(enumerate(BARE_NAMES)), ids=[a for _, _, a in BARE_NAMES])
def test_a_bare_name_answering_who_are_you_is_found(bare_findings: dict[int, list[Any]], index: int,
                                                    case: tuple[str, str, str]) -> None:
    provider = case[0]
    found = bare_findings.get(index + 1, [])
    assert [f.provider for f in found if _at_least(f, "medium")] == [provider]


@pytest.mark.parametrize("index", range(len(NOT_ASKED)), ids=[a for _, a in NOT_ASKED])
def test_a_bare_name_not_asked_for_is_not_found(bare_findings: dict[int, list[Any]], index: int) -> None:
    found = bare_findings.get(len(BARE_NAMES) + index + 1, [])
    assert not [f.rule_id for f in found if _at_least(f, "medium")]
