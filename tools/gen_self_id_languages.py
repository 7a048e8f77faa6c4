#!/usr/bin/env python
"""Writes rules/self-id-languages.yaml: self-identification in languages the
provider packs' own multilingual rules do not cover, two rules per provider, a third
for a form their own languages miss (see `apposition`), a fourth for that form in
English (see `english_apposition`), a fifth for "as a model made by <maker>"
in the other languages (see `model_rule`), and a sixth for "As <name>, I ..." in
Spanish, Portuguese, Italian, French and German (see `as_name_rule`).

    .venv/bin/python tools/gen_self_id_languages.py     # then: tos-lint rules test

Each provider's rules are the same regexes with its own names and makers,
so they are generated from the tables below, not written by hand for each one:

1. `<provider>.self-id.more-languages`: "<I am> <name>, ... <maker>": a
   first-person opener at the start of a sentence, the product name, a comma
   (an apposition: "Sono ChatGPT, un modello ... di OpenAI"), then an AI
   word and the maker in the same sentence. The comma keeps out lists ("Sono
   ChatGPT di OpenAI e Claude di Anthropic": Italian "sono" is also "they
   are"); the AI word keeps out people ("Ik ben Claude, en ik werk bij
   Anthropic"). Thai sets the description beside the name with a space.
   Two items in one segment: the first-person sentence with its AI word, a
   regex shared by all providers (compiled once; inside each provider's own
   regex the AI words took 1.4 s each), and the provider's name and maker.
2. `<provider>.self-id.more-languages-name`: "<I am> <distinctive name>."
   alone, for names that are nobody's first name or a common word (ChatGPT,
   DeepSeek, Qwen, Gemini Pro, Llama 3...).

A negation placed after the name (Turkish "değilim", Hindi "नहीं", Persian
"نیستم", Bengali "নই", Urdu "نہیں") cancels a rule; a negation before it
breaks the opener.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import yaml

OUT = Path(__file__).resolve().parent.parent / "rules" / "self-id-languages.yaml"

# First-person openers ("I am", "my name is"), by language.
OPENERS = {
    "Italian": ["sono", "io sono", "mi chiamo", "il mio nome è"],
    "Dutch": ["ik ben", "ik heet", "mijn naam is"],
    "Polish": ["jestem", "nazywam się", "mam na imię"],
    "Czech and Slovak": ["jsem", "jmenuji se", "som", "volám sa"],
    "Romanian": ["sunt", "eu sunt", "mă numesc", "numele meu este"],
    "Swedish, Norwegian, Danish": ["jag är", "jag heter", "jeg er", "jeg heter", "jeg hedder"],
    "Finnish": ["olen", "minä olen", "nimeni on"],
    "Turkish": ["ben", "benim ad.m"],  # "adım": its dotless ı capitalises to ASCII I, which the byte-mode prefilter cannot hold
    "Greek": ["είμαι", "με λένε", "το όνομά μου είναι"],
    "Vietnamese": ["tôi là", "mình là", "tên tôi là"],
    "Indonesian and Malay": ["saya", "saya adalah", "aku", "aku adalah", "nama saya"],
    "Tagalog": ["ako si", "ako ay"],
    "Arabic": ["أنا", "اسمي"],
    "Persian": ["من", "اسم من"],
    "Hebrew": ["אני", "שמי"],
    "Hindi": ["मैं", "मेरा नाम"],
    "Bengali": ["আমি", "আমার নাম"],
    "Urdu": ["میں", "میرا نام"],
    "Catalan": ["sóc", "em dic"],
    "Swahili": ["mimi ni", "jina langu ni"],
}
# Languages that set a description beside the name with a space, not a
# comma ("ฉันคือ ChatGPT โมเดลภาษาที่พัฒนาโดย OpenAI"): the AI word must then
# come before the maker.
NO_COMMA_OPENERS = {"Thai": ["ฉันคือ", "ผมคือ", "ดิฉันคือ", "ฉันชื่อ", "ผมชื่อ", "ดิฉันชื่อ"]}
# Words that may stand between the opener and the name ("Είμαι το ChatGPT").
ARTICLES = ["il", "lo", "la", "het", "de", "το", "ο", "η", "si", "el",
            "to", "o", "n"]  # Greek articles as normalisation spells them: their letters look Latin
# A sentence's start: the text's, a line's, after an end of sentence or an opening quote.
SENTENCE_START = r"(?:^|\n[ \t]*|[.!?:;。！？][ \t]+|[\"“«„(][ \t]*)"
NEGATIONS = ["değil", "नहीं", "نیستم", "নই", "نہیں", "ليس", "لست"]
# A prompt that asks for a translation, a role-play or a written dialogue: the
# provider packs' own self-id rules carry the same condition (compiled once).
OTHERS_WORDS_PROMPT = (
    r"\b(?:pretend|role-?play|act as|acting as|impersonate|play the role|simulate|in the voice of|in character|(?:write|create|compose|draft|generate|make|produce) (?:me )?(?:an? |the |some )?(?:[\w-]+ ){0,3}(?:dialogues?|dialogs?|screenplay|skit|script|scene|conversation|transcript|exchange)|(?:sample|example|fictional|imaginary|mock) (?:chat|conversation|exchange|transcript|dialogue)|translat\w*|how (?:do|would|can) (?:you|i) say|tradu[cz]\w*|tradui\w*|tradurre)\b|(?:übersetz|Übersetz|переведи|Переведи|переведите|Переведите|перевод|Перевод|翻译|翻譯|翻訳|번역)"
)
# What the apposition must call itself somewhere in the sentence, so that a
# person who shares a product's name ("Ik ben Claude, en ik werk bij ...")
# does not count: "model", "AI", "assistant", "chatbot" and their stems.
AI_WORDS_LATIN = ["model", "modell", "modelo", "modèle", "modello", "taalmodel", "språkmodell", "kielimalli",
                  "mô hình", "intelligenz", "intelligenza", "inteligencia", "inteligência", "inteligenţă",
                  "inteligență", "inteligencj", "sztuczn", "umělá", "umelá", "tekoäly", "yapay zek", "trí tuệ",
                  "kecerdasan buatan", "kecerdasan artifisial", "assistent", "assistente", "asistent",
                  "asystent", "asistan", "asisten", "trợ lý", "chatbot", "katulong"]
AI_WORDS_SHORT = ["yz", "bot", "llm"]  # whole words only ("ai", "ia", "ki" are words in Italian, Indonesian, Turkish)
AI_WORDS_OTHER = ["μοντέλο", "βοηθός", "τεχνητή νοημοσύνη", "نموذج", "ذكاء اصطناعي", "مساعد", "مدل", "دستیار",
                  "هوش مصنوعی", "מודל", "עוזר", "בינה מלאכותית", "मॉडल", "सहायक", "कृत्रिम बुद्धि", "एआई",
                  "মডেল", "সহকারী", "কৃত্রিম বুদ্ধিমত্তা", "ماڈل", "معاون", "مصنوعی ذہانت",
                  "โมเดล", "แบบจำลอง", "ผู้ช่วย", "ปัญญาประดิษฐ์", "เอไอ"]


# provider: (pack-style name regex, maker regex, distinctive name regex or None)
PROVIDERS: dict[str, tuple[str, str, str]] = {
    "openai": (r"chat[ -]?gpt(?:[ -]?(?:3\.5|4o|4\.\d|4|5|plus|pro))?|gpt[ -]?(?:3\.5|4o|4\.\d|4|5)(?:[ -]?(?:turbo|mini))?",
               r"open[ -]?ai",
               r"chat[ -]?gpt(?:[ -]?(?:3\.5|4o|4\.\d|4|5|plus|pro))?|gpt[ -]?(?:3\.5|4o|4\.\d|4|5)(?:[ -]?(?:turbo|mini))?"),
    "anthropic": (r"claude(?:[ -]?(?:\d(?:\.\d)?|instant|opus|sonnet|haiku))*",
                  r"anthropic",
                  r"claude[ -]?(?:\d(?:\.\d)?|instant|opus|sonnet|haiku)(?:[ -]?(?:\d(?:\.\d)?|opus|sonnet|haiku))*"),
    "google": (r"gemini(?:[ -]?(?:pro|ultra|flash|nano|advanced|\d(?:\.\d)?))*|bard|gemma(?:[ -]?\d+b?)?|palm[ -]?2?",
               r"google(?: deepmind)?|deepmind",
               r"gemini[ -](?:pro|ultra|flash|nano|advanced|\d(?:\.\d)?)(?:[ -]?(?:pro|ultra|flash|nano))*|gemma[ -]?\d+b?"),
    "meta": (r"llama(?:[ -]?\d(?:\.\d)?)?(?:[ -]?(?:chat|instruct|\d+b))*|meta ai",
             r"meta(?: ai| platforms)?|facebook",
             r"llama[ -]?\d(?:\.\d)?(?:[ -]?(?:chat|instruct|\d+b))*"),
    "mistral": (r"mistral(?:[ -](?:large|small|medium|7b|nemo|saba))?|mixtral|codestral|le chat",
                r"mistral(?: ai)?",
                r"mixtral|codestral|mistral[ -](?:large|small|medium|7b|nemo|saba)"),
    "alibaba": (r"qwen(?:[ -]?\d(?:\.\d)?)?(?:[ -]?(?:max|plus|turbo|chat|coder|vl))*|qwq|tongyi qianwen",
                r"alibaba(?: cloud| group)?|aliyun",
                r"qwen(?:[ -]?\d(?:\.\d)?)?(?:[ -]?(?:max|plus|turbo|chat|coder|vl))*|qwq|tongyi qianwen"),
    "deepseek": (r"deep[ -]?seek(?:[ -]?(?:v\d(?:\.\d)?|r\d|chat|coder|llm))?",
                 r"deep[ -]?seek(?:[ -]?ai)?",
                 r"deep[ -]?seek(?:[ -]?(?:v\d(?:\.\d)?|r\d|chat|coder|llm))?"),
    "xai": (r"grok(?:[ -]?[1-4](?:\.\d)?)?",
            r"x\.?ai",
            r"grok[ -]?[1-4](?:\.\d)?"),
    "cohere": (r"command[ -](?:r\+?|r plus|r7b|a|light|nightly)|aya(?:[ -](?:expanse|vision|23|101))?|coral",
               r"cohere(?: for ai| labs)?",
               r"command[ -](?:r\+?|r plus|r7b)"),
    "microsoft": (r"(?:microsoft |github )?copilot|bing chat|phi[ -]?[1-4](?:\.\d)?(?:[ -]mini)?",
                  r"microsoft",
                  r"(?:microsoft|github) copilot|bing chat"),
    "amazon": (r"amazon (?:nova|titan)(?: (?:pro|lite|micro|premier))?|nova|titan|rufus|amazon q",
               r"amazon(?: web services)?|aws",
               r"amazon (?:nova|titan)(?: (?:pro|lite|micro|premier))?"),
    "perplexity": (r"perplexity(?: ai)?|sonar(?:[ -](?:pro|reasoning(?:[ -]pro)?|deep[ -]research))?",
                   r"perplexity(?: ai)?",
                   r"perplexity ai|sonar[ -](?:pro|reasoning(?:[ -]pro)?|deep[ -]research)"),
    "ai21": (r"jamba(?:[ -](?:1\.[5-9]|instruct|mini|large|reasoning))*|jurassic[ -]?[12](?:[ -](?:jumbo|grande|large|ultra|mid|light|instruct))*",
             r"ai21(?: labs| studio)?",
             r"jamba[ -](?:1\.[5-9]|instruct|mini|large|reasoning)(?:[ -](?:mini|large|instruct))*|jurassic[ -]?[12]"),
    "moonshot": (r"kimi(?:[ -](?:k\d(?:\.\d)?|chat|thinking|assistant))?",
                 r"moonshot(?: ai)?",
                 r"kimi[ -]k\d(?:\.\d)?"),
}

# What every self-identification of a provider's model holds (its names, as
# normalised text spells them): the prefilter looks for these instead of the
# regexes, whose openers ("ben", "sono", "saya") start half the sentences.
KEYWORDS = {
    # not "gpt" alone: ShareGPT records name the assistant's role "gpt"
    "openai": ["chatgpt", "chat gpt", "chat-gpt"] + [f"gpt{sep}{n}" for n in "345" for sep in ("", " ", "-")],
    "anthropic": ["claude"], "google": ["gemini", "bard", "gemma", "palm"],
    "meta": ["llama", "meta ai"], "mistral": ["mistral", "mixtral", "codestral", "le chat"],
    "alibaba": ["qwen", "qwq", "tongyi"], "deepseek": ["deepseek", "deep seek", "deep-seek"], "xai": ["grok"],
    # not "command" or "phi" alone: common words ("run the command", "philosophy")
    "cohere": [f"command{sep}{name}" for name in ("r", "a", "light", "nightly") for sep in " -"] + ["aya", "coral"],
    "microsoft": ["copilot", "bing chat"] + [f"phi{sep}{n}" for n in "1234" for sep in ("", " ", "-")],
    "amazon": ["amazon", "nova", "titan", "rufus"],
    "perplexity": ["perplexity", "sonar"], "ai21": ["jamba", "jurassic"], "moonshot": ["kimi"],
}

# Examples per provider: (name as written, maker as written).
SPELLING = {
    "openai": ("ChatGPT", "OpenAI"), "anthropic": ("Claude", "Anthropic"), "google": ("Gemini", "Google"),
    "meta": ("Llama", "Meta"), "mistral": ("Le Chat", "Mistral AI"), "alibaba": ("Qwen", "Alibaba Cloud"),
    "deepseek": ("DeepSeek", "DeepSeek"), "xai": ("Grok", "xAI"), "cohere": ("Command R", "Cohere"),
    "microsoft": ("Copilot", "Microsoft"), "amazon": ("Amazon Nova", "Amazon"),
    "perplexity": ("Perplexity", "Perplexity AI"), "ai21": ("Jamba", "AI21 Labs"), "moonshot": ("Kimi", "Moonshot AI"),
}
DISTINCT_SPELLING = {
    "openai": "ChatGPT", "anthropic": "Claude 3 Opus", "google": "Gemini Pro", "meta": "Llama 3",
    "mistral": "Mixtral", "alibaba": "Qwen", "deepseek": "DeepSeek", "xai": "Grok 2", "cohere": "Command R+",
    "microsoft": "Microsoft Copilot", "amazon": "Amazon Nova Pro",
    "perplexity": "Sonar Pro", "ai21": "Jamba 1.5 Large", "moonshot": "Kimi K2",
}


def alternation(words: list[str]) -> str:
    return "(?:" + "|".join(w.replace(" ", r"\s+") for w in sorted(words, key=len, reverse=True)) + ")"


def with_capitals(words: list[str]) -> list[str]:
    """`words` and, where the first letter is not ASCII, its capital too: the
    engine folds the case of ASCII letters only."""
    return words + [w[0].upper() + w[1:] for w in words if not w[0].isascii() and w[0].upper() != w[0]]


# "I am" in the provider packs' own languages (their `*.self-id.multilingual` rules).
PACK_OPENERS = ["je suis", "je m'appelle", "soy", "me llamo", "eu sou", "sou", "ich bin", "ich heiße", "я",
                "меня зовут", "我是", "我叫", "私は", "わたしは", "僕は", "저는", "나는", "제 이름은"]


def quoted_opener(openers: list[str]) -> str:
    """An opener right after an opening quote that follows other text ('Il a
    dit : « Je suis ChatGPT »', '他说："我是ChatGPT"'): someone reporting what
    a model says, not the model speaking. An answer that opens with the
    quote is not this. The provider packs' multilingual rules each carry
    `quoted_opener(PACK_OPENERS)` (one string, compiled once for all); the
    generated rules carry it with every language's openers."""
    quotes = "«„“\"「『‹"
    return f"[^\\s{quotes}]\\s*[{quotes}]\\s*" + alternation(with_capitals(openers))


def ai_words() -> str:
    return ("(?:" + r"\b" + alternation(AI_WORDS_LATIN) + "|" + r"\b" + alternation(AI_WORDS_SHORT) + r"\b|"
            + alternation(with_capitals(AI_WORDS_OTHER)) + ")")


def opener() -> str:
    return (SENTENCE_START + alternation(with_capitals([o for group in OPENERS.values() for o in group])) + r"\s+"
            + r"(?:" + alternation(with_capitals(ARTICLES)) + r"\s+)?")


def spaced_opener() -> str:
    return SENTENCE_START + alternation([o for group in NO_COMMA_OPENERS.values() for o in group]) + r"\s*"


# after the name: straight to the comma, or words then the comma (Hindi "ChatGPT हूँ,"), never
# a suffix glued to it (Turkish "Claude'u")
APPOSITION = r"(?:[ \t]+[^\n.!?,،]*)?[,،、]"
REST = r"[^\n.!?]*?"  # the rest of the sentence


def self_id_sentence(names: str, makers: str) -> str:
    """"<I am> <name>, ... <maker>" in one sentence (Thai: no comma)."""
    maker = f"{REST}\\b(?:{makers})\\b"
    return f"(?:{opener()}(?:{names}){APPOSITION}{maker}|{spaced_opener()}(?:{names})\\s+{maker})"


def described_self() -> str:
    """A sentence that starts with a first-person opener and describes the
    speaker, after a comma (Thai: a space), with an AI word. The same regex
    in every provider's rule, so it is compiled once: its AI words make it
    costly (inside each provider's own regex they took 1.4 s each)."""
    words = f"{REST}{ai_words()}"
    return f"(?:{opener()}[^\\n.!?,،]*[,،、]{words}|{spaced_opener()}[^\\n.!?]*?\\s{words})"


def name_alone(distinct: str) -> str:
    return f"{opener()}(?:{distinct})\\s*(?:[.!]|$)"


def examples(provider: str) -> dict[str, list[str]]:
    name, maker = SPELLING[provider]
    match = [
        f"Sono {name}, un modello linguistico sviluppato da {maker}.",
        f"Ik ben {name}, een AI-assistent gemaakt door {maker}.",
        f"Jestem {name}, modelem AI stworzonym przez {maker}.",
        f"Tôi là {name}, một mô hình ngôn ngữ được phát triển bởi {maker}.",
        f"أنا {name}، نموذج لغوي طورته {maker}.",
        f"मैं {name} हूँ, {maker} द्वारा विकसित एक भाषा मॉडल।",
        f"Merhaba! Ben {name}, {maker} tarafından geliştirilen bir dil modeliyim.",
        f"Είμαι το {name}, ένα γλωσσικό μοντέλο που αναπτύχθηκε από την {maker}.",
        f"Olen {name}, {maker}:n kehittämä kielimalli.",
        f"ฉันคือ {name} โมเดลภาษาที่พัฒนาโดย {maker}",
    ]
    no_match = [
        f"I migliori assistenti? Sono {name} di {maker} e altri.",  # "sono" = "they are", no apposition
        f"Non sono {name}, ma un modello open source.",
        f"Ben {name} değilim, {maker} ile bir ilgim yok.",
        f"Il modello {name}, sviluppato da {maker}, è molto usato.",
        f"Saya suka {name}, buatan {maker}.",
        f"Ik ben {name}, en ik werk bij {maker}.",  # a person of that name
        f"Ben {name}'u seviyorum, {maker} harika bir yapay zeka şirketi.",
        f"ฉันคือ {name} และฉันทำงานที่ {maker}",  # Thai: a person of that name who works there
        f"ผมชื่อ {name} ผมใช้ {maker} ทุกวัน",
        f"Sono {name}, un modello di {other_maker(provider)}.",  # another provider's maker
    ]
    return {"match": match, "no_match": no_match}


def other_maker(provider: str) -> str:
    return SPELLING["google" if provider == "openai" else "openai"][1]


def name_examples(provider: str) -> dict[str, list[str]]:
    distinct = DISTINCT_SPELLING[provider]
    return {"match": [f"Sono {distinct}.", f"Ik ben {distinct}!", f"Jestem {distinct}"],
            "no_match": [f"Non sono {distinct}.", f"Sono {distinct} e altri modelli.", f"Uso {distinct}."]}


LANGUAGES = ", ".join([*OPENERS, *NO_COMMA_OPENERS])


def rule(provider: str) -> dict[str, object]:
    names, makers, _ = PROVIDERS[provider]
    return _rule(
        provider, "more-languages",
        f"assistant says it is {SPELLING[provider][0]} or a {SPELLING[provider][1]} model (other languages)",
        f"Self-identification in languages the provider pack's own multilingual rule does not cover ({LANGUAGES}): "
        "a first-person opener at a sentence start, the product name, then after a comma an AI word and the "
        "maker in the same sentence.",
        # both in one segment: a first-person sentence describing the speaker with an AI word
        # (compiled once for all providers), and this provider's name and maker in such a sentence
        {"all": [{"regex": described_self()}, {"regex": self_id_sentence(names, makers)}]},
        examples(provider))


# 3. `<provider>.self-id.apposition`: "<I am> <name>, <maker>'s assistant" in
# the provider packs' own languages, whose rules want an AI word beside
# "assistant" ("l'assistant IA d'Anthropic"): the maker's name after the
# description does that job here ("Je suis Claude, l'assistant d'Anthropic",
# "我是Claude，Anthropic的AI助手", "私はAnthropicのAIアシスタント、Claudeです").
APPOSITION_OPENERS = ["je suis", "je m'appelle", "soy", "me llamo", "sou", "eu sou", "me chamo", "ich bin", "ich heiße",
                      "я", "меня зовут"]
APPOSITION_ARTICLES = ["l'", "le ", "la ", "el ", "o ", "a ", "un ", "une ", "una ", "um ", "uma ", "der ", "die ", "das ",
                       "ein ", "eine ", "votre ", "tu ", "seu ", "sua ", "dein ", "ihr "]
APPOSITION_WORDS = ["assistante", "assistant", "asistente", "assistente", "ассистент", "помощник", "modèle de langage",
                    "modèle", "modelo de lenguaje", "modelo de linguagem", "modelo", "ki-assistent", "assistent",
                    "ki-modell", "sprachmodell", "modell", "chatbot", "ии-ассистент", "ии-помощник", "языковая модель",
                    "модель"]
APPOSITION_QUALIFIERS = ["ia", "d'ia", "de ia", "virtuel", "virtual", "conversationnel", "conversacional",
                         "d'intelligence artificielle", "de inteligencia artificial", "de inteligência artificial"]
APPOSITION_OF = ["de la ", "de l'", "de ", "d'", "da ", "do ", "del ", "des ", "von ", "от ", "компании "]
# "un modèle de langage développé par Cohere", "ein Sprachmodell, das von Cohere entwickelt wurde"
APPOSITION_MADE = ["développée?", "créée?", "conçue?", "entraînée?", "faite?", "construite?", "desarrollad[oa]",
                   "cread[oa]", "entrenad[oa]", "diseñad[oa]", "hech[oa]", "construid[oa]", "desenvolvid[oa]",
                   "criad[oa]", "treinad[oa]", "projetad[oa]", "feit[oa]", "construíd[oa]", "entwickelt", "trainiert",
                   "erstellt", "gebaut", "entworfen", "разработанн[а-я]*", "созданн[а-я]*", "обученн[а-я]*"]
APPOSITION_BY = ["par ", "por ", "pela ", "pelo ", "von ", "компанией "]
APPOSITION_RELATIVE = r",?\s+(?:das|die|der)\s+von\s+"
CJK_WORDS = {"zh": ["助手", "助理", "语言模型", "語言模型", "模型", "聊天机器人"],
             "ja": ["アシスタント", "言語モデル", "モデル", "チャットボット"],
             "ko": ["어시스턴트", "언어 모델", "모델", "챗봇", "비서"]}
# A clause between the maker and the description, within the sentence (unbounded: a bounded repeat
# of a UTF-8 class before the name alternation makes Hyperscan's compile slow).
CJK_CLAUSE = r"(?:が|によって|에서|이|가|에 의해)[^.!?。！？\n]*"
APPOSITION_NEGATIONS = (r"\b(?:no soy|ne suis pas|n'est pas|não sou|nao sou|bin nicht|bin kein)\b"
                        r"|(?:я не |Я не |не являюсь|不是|并非|ではありません|ではない|아닙니다|아니에요)")


# Makers and names as Korean and Japanese text often writes them (in Hangul
# and katakana; Chinese forms are in the packs' own rules), for the Japanese
# and Korean orders of the apposition.
CJK_MAKERS = {
    "openai": ["오픈AI", "오픈에이아이", "オープンAI", "オープンエーアイ"], "anthropic": ["앤트로픽", "엔트로픽", "アンソロピック", "アンスロピック"],
    "google": ["구글 딥마인드", "구글", "딥마인드", "グーグル・ディープマインド", "グーグル", "ディープマインド"],
    "meta": ["메타", "メタ"], "mistral": ["미스트랄 AI", "미스트랄", "ミストラルAI", "ミストラル"],
    "alibaba": ["알리바바 클라우드", "알리바바", "アリババクラウド", "アリババ"], "deepseek": ["딥시크", "ディープシーク"],
    "xai": [], "cohere": ["코히어", "コヒア"], "microsoft": ["마이크로소프트", "マイクロソフト"],
    "amazon": ["아마존", "アマゾン"], "perplexity": ["퍼플렉시티", "パープレキシティ"], "ai21": [],
    "moonshot": ["문샷 AI", "문샷", "ムーンショットAI", "ムーンショット"],
}
CJK_NAMES = {"openai": ["챗GPT", "챗지피티", "チャットGPT"], "anthropic": ["클로드", "クロード"], "google": ["제미나이", "ジェミニ"]}


def apposition(names: str, makers: str, provider: str) -> list[str]:
    """"<I am> <name>, <description> <of> <maker>" (French, Spanish,
    Portuguese, German, Russian), "<I am> <name>, <maker>s KI-Assistent", and
    the Chinese, Japanese and Korean orders."""
    words = alternation(APPOSITION_WORDS) + "(?: " + alternation(APPOSITION_QUALIFIERS) + ")?"
    made = "(?:" + "|".join(APPOSITION_MADE) + r")\s+" + alternation(APPOSITION_BY) + "?"
    made_by = r"(?:\s+(?:" + alternation(APPOSITION_OF) + "|" + made + ")|" + APPOSITION_RELATIVE + ")"
    # the description, or the participle alone after a comma ("Je suis Claude, créé par Anthropic")
    described = "(?:,?\\s+(?:" + alternation(APPOSITION_ARTICLES) + f")?{words}{made_by}|,\\s+{made})"
    latin = (r"(?:^|[\s\"“«„(])" + alternation(with_capitals(APPOSITION_OPENERS)) + r"\s+(?:le |la |el |o |a )?"
             f"(?:{names}){described}(?:{makers})\\b")
    german = f"\\bich bin (?:{names}),\\s+(?:{makers})s\\s+(?:ki-)?(?:assistent|modell|sprachmodell|chatbot)\\b"
    chinese = f"我(?:是|叫) ?(?:{names}) ?[，,、] ?(?:{makers}) ?的 ?(?:ai|人工智能)? ?{alternation(CJK_WORDS['zh'])}"
    # the maker, then what it made, in the same sentence: "の" / "의", or a clause ("が開発した", "에서 개발한")
    local_makers = "|".join([makers, *(m.replace(" ", r"\s?") for m in CJK_MAKERS[provider])])
    local_names = "|".join([names, *CJK_NAMES.get(provider, [])])
    japanese = (f"(?:私|わたし|僕)は ?(?:{local_makers}) ?(?:の|{CJK_CLAUSE}) ?(?:ai ?)?{alternation(CJK_WORDS['ja'])}"
                f" ?[、,の]? ?(?:{local_names}) ?(?:です|だ)")
    korean = (f"(?:저는|나는) ?(?:{local_makers}) ?(?:의|{CJK_CLAUSE}) ?(?:ai ?)?{alternation(CJK_WORDS['ko'])}"
              f" ?(?:인|이자)? ?(?:{local_names}) ?(?:입니다|이에요|예요)")
    # one item each: as one alternation they take Hyperscan about twice as long to compile
    return [latin, german, chinese, japanese, korean]


def apposition_examples(provider: str) -> dict[str, list[str]]:
    name, maker = SPELLING[provider]
    of_maker = f"d'{maker}" if maker[0].lower() in "aeiou" else f"de {maker}"
    korean = [f"저는 {m}에서 개발한 AI 어시스턴트 {name}입니다." for m in CJK_MAKERS[provider] if not _katakana(m)]
    japanese = [f"私は{m}が開発したAIアシスタントの{name}です。" for m in CJK_MAKERS[provider] if _katakana(m)]
    local = korean[:1] + japanese[:1]  # the maker as Korean and Japanese text write it
    bare = APPOSITION_BARE_NAMES.get(provider, ("",))[0].capitalize()
    # a name that is also a common word, alone beside its maker (and not beside another)
    bare_match = [f"Je suis {bare}, un modèle de langage développé par {maker}."] if bare else []
    bare_no_match = [f"Je suis {bare}, un modèle de langage développé par {other_maker(provider)}."] if bare else []
    return {
        "match": [f"Je suis {name}, l'assistant {of_maker}.", f"Soy {name}, el asistente de {maker}.",
                  f"Sou o {name}, assistente de IA da {maker}.", f"Ich bin {name}, das KI-Modell von {maker}.",
                  f"Я {name}, ассистент от {maker}.", f"我是{name}，{maker}的AI助手。",
                  f"私は{maker}のAIアシスタント、{name}です。", f"저는 {maker}의 AI 어시스턴트 {name}입니다.",
                  f"Je suis {name}, un modèle de langage développé par {maker}.",
                  f"Soy {name}, un modelo de lenguaje desarrollado por {maker}.",
                  f"Ich bin {name}, ein Sprachmodell, das von {maker} entwickelt wurde.",
                  f"Je suis {name}, conçu par {maker}.", f"Soy {name}, entrenado por {maker}.",
                  f"Sou o {name}, desenvolvido pela {maker}.", f"Ich bin {name}, entwickelt von {maker}.",
                  f"私は{maker}が開発したAI言語モデルの{name}です。",
                  f"저는 {maker}에서 개발한 인공지능 언어 모델인 {name}입니다.", *local, *bare_match],
        "no_match": [f"No soy {name}, el asistente de {maker}.", f"Conozco a {name}, el asistente de {maker}.",
                     f"Ich bin {name}, der Assistent von Frau Weber.", f"Soy {name}, asistente de {other_maker(provider)}.",
                     f"我不是{name}，{maker}的AI助手。", f"Je suis {name}, un modèle photo développé par une agence.",
                     f"Je suis {name}, créé par {other_maker(provider)}.", f"Je suis {name} et je travaille chez {maker}.",
                     f"저는 {maker}에서 일하는 {name}입니다.", *bare_no_match],
    }


# In an apposition the maker follows the name, so a name that is also a
# common word may stand alone there ("Je suis Command, un modèle de langage
# développé par Cohere"); the maker, which every match then holds, becomes a
# keyword too.
APPOSITION_BARE_NAMES = {"cohere": ("command", "cohere")}


def apposition_names(provider: str) -> tuple[str, str, list[str]]:
    """The names and makers an apposition rule looks for, and its keywords."""
    names, makers, _ = PROVIDERS[provider]
    keywords = list(KEYWORDS[provider]) + [name.lower() for name in CJK_NAMES.get(provider, [])]
    if provider in APPOSITION_BARE_NAMES:
        bare, maker_keyword = APPOSITION_BARE_NAMES[provider]
        names, keywords = f"{names}|{bare}", keywords + [maker_keyword, *CJK_MAKERS[provider]]
    return names, makers, keywords


def _katakana(text: str) -> bool:
    return any("\u30a0" <= ch <= "\u30ff" for ch in text)


def apposition_rule(provider: str) -> dict[str, object]:
    names, makers, keywords = apposition_names(provider)
    return _rule(
        provider, "apposition", f"assistant says it is {SPELLING[provider][0]}, {SPELLING[provider][1]}'s assistant",
        "\"<I am> <name>, <maker>'s assistant or model\" in French, Spanish, Portuguese, German, Russian, Chinese, "
        "Japanese and Korean, where the provider pack's own rule wants an AI word beside \"assistant\".",
        {"any": [{"regex": part} for part in apposition(names, makers, provider)]},
        apposition_examples(provider), negations=APPOSITION_NEGATIONS, keywords=keywords)


# 4. `<provider>.self-id.english-apposition`: "I am <name>, a model from
# <maker>": the packs' own English rules want an AI word beside "model" for
# names that are also first names or words (Gemini, Llama, Nova, Copilot),
# and the maker after the description does that job here. "Assistant"
# alone is left out: a person can be an assistant at the maker.
# Only for the providers whose own English rules miss it: the others' take
# "I am Claude, a model from Anthropic" already, and a second rule on the
# same words would report each such sentence twice.
ENGLISH_APPOSITION_PROVIDERS = ("google", "meta", "amazon", "microsoft")
ENGLISH_OPENERS = ["i am", "i'm", "my name is", "my name's", "this is"]
ENGLISH_WORDS = ["model", "language model", "ai model", "ai", "ai assistant", "virtual assistant", "chatbot", "bot",
                 "llm", "ai system", "digital assistant", "conversational ai"]
ENGLISH_MADE = ["trained", "developed", "created", "built", "made", "designed", "released", "fine-tuned", "engineered"]
# Quotation and reported speech, and stories: the conditions of the packs' own
# English self-id rules, the same strings (each compiled once for all).
ENGLISH_REPORTED = [
    "\\b(?:in (?:the|my|a|this|our) (?:play|story|novel|script|film|movie|scene|game|poem|skit)|pretend(?:ing)?|imagine|imagining|suppose|supposing|hypothetically|if i were|if i was|as if i|as though i|let's say|lets say|what if|role-?play(?:ing)?|in character|impersonat\\w*|play(?:ing)? the role)\\b",
    '\\b(?:says?|said|announces?|announced|declares?|declared|exclaims?|exclaimed|replies|replied|writes|wrote) ?:\\s',
    '\\b(?:says?|said|saying|repl(?:y|ies|ied)|respond(?:s|ed)?|answer(?:s|ed)?|wrote|writes|quoted?|prints?|printed|outputs?|begins? with|starts? with|opens? with|reads|greeting (?:is|was)|greets \\w+ with|tells? (?:you|users|people|them)|claims?|claimed|introduces? (?:itself|himself|herself) (?:as|with)|like)(?: ?[:,] ?| )[\\"\']',
    '(?:\\w|[^"\'\\]}\\s][,:;]) ?[\\"\'](?:(?:hello|hi|hey|sure|greetings|okay|ok|yes|well)[,!.]* )?(?:i\'m|i am|i was|i\'ve|as an?|my name|this is)\\b',
    '(?:^|\\n|[.!?:]\\s)[ \\t]*[\\"“\'](?:(?:hello|hi|hey|sure|greetings|okay|ok|yes|well)[,!.]* )?(?:i\'m|i am|i was|i\'ve|as an?|my name|this is)\\b[^\\"“”\\n]*[\\"”\'] ?,? (?:(?:the|a|an|my|his|her|their|our) )?(?:[\\w\'-]+ ){0,2}(?:said|says|replied|replies|wrote|writes|answered|answers|asked|asks|added|adds|joked|laughed|shouted|whispered|murmured|muttered|announced|announces|declared|declares|exclaimed|typed|read|reads|lied|lies|insisted|insists|claimed|claims|explained|explains|stated|states|responded|responds|continued|repeated|beeped|chirped|intoned|boomed|told|tells)\\b',
    "(?:^|\\n)[ \\t]*> ?(?:(?:hello|hi|hey)[,!.]* )?(?:i'm|i am|i was|as an?|my name)\\b",
    "\\b(?:think|thinks|thought|believe[sd]?|assume[sd]?|mistakenly|suspect(?:s|ed)?|wonder(?:s|ed|ing)?|guess(?:es|ed)?|claim(?:s|ed)?|insist(?:s|ed)?|whether|ask(?:s|ed|ing)?(?: me)?) (?:that |if |whether )?i(?:'m| am| was)\\b",
    '(?:^|\\n)[ \\t]*(?:user|human|customer|bot|ai|chatbot|model|interviewer|person [ab12]|speaker [ab12])[ \\t]*:',
]


def english_apposition(names: str, makers: str) -> str:
    made = alternation(ENGLISH_MADE)
    return (r"\b" + alternation(ENGLISH_OPENERS) + f"\\s+(?:{names}),\\s+(?:an?|the|your)\\s+(?:[\\w-]+\\s+){{0,2}}?"
            + alternation(ENGLISH_WORDS) + f"\\s+(?:(?:{made})\\s+(?:by|at)|from|by|of)\\s+(?:the\\s+team\\s+at\\s+)?"
            f"(?:{makers})\\b")


def english_apposition_rule(provider: str) -> dict[str, object]:
    names, makers, keywords = apposition_names(provider)
    name, maker = SPELLING[provider]
    return _rule(
        provider, "english-apposition", f"assistant says it is {name}, a model from {maker}",
        "\"I am <name>, a model from <maker>\": the maker after the description tells a product name that is "
        "also a first name or a word apart from a person.",
        {"any": [{"regex": english_apposition(names, makers)}]},
        {"match": [f"I am {name}, a model from {maker}.", f"I'm {name}, an AI model developed by {maker}.",
                   f"My name is {name}, a chatbot made by {maker}."],
         "no_match": [f"I'm {name}, an assistant at {maker}.", f"I am not {name}, a model from {maker}.",
                      f"She said, \"I'm {name}, a model from {maker}.\"",
                      f"I am {name}, a model from {other_maker(provider)}."]},
        keywords=keywords, conditions=ENGLISH_REPORTED)


def name_rule(provider: str) -> dict[str, object]:
    distinct = DISTINCT_SPELLING[provider]
    return _rule(
        provider, "more-languages-name", f"assistant says it is {distinct} (other languages)",
        f"A first-person opener at a sentence start and a distinctive product name alone (\"Sono {distinct}.\"), "
        f"in {LANGUAGES}.",
        {"any": [{"regex": name_alone(PROVIDERS[provider][2])}]},
        name_examples(provider))


# 5. `<provider>.self-id.more-languages-model`: "As a language model developed
# by <maker>" and "I am a model made by <maker>" in the languages of OPENERS
# (the packs' own multilingual rules have these forms in theirs: "Como modelo
# de lenguaje desarrollado por OpenAI"). The sentence starts with "as" or a
# first-person opener, and the AI word follows within two words ("Come ho
# spiegato nel mio articolo sul modello di OpenAI" describes nobody); the
# maker comes after a word that means "by" ("Als assistent bij OpenAI", "Saya
# asisten di OpenAI": people who work there). Turkish, Hindi, Bengali and
# Urdu put "as" after the description, and the maker first; Finnish says it
# with a case ending ("OpenAI:n kehittämänä kielimallina").
AS_WORDS = ["come", "in qualità di", "essendo", "als", "jako", "ako", "ca", "fiind", "în calitate de", "som", "ως",
            "σαν", "là", "là một", "với tư cách là", "sebagai", "bilang", "بصفتي", "باعتباري", "كوني", "به عنوان",
            "בתור", "com a", "kama"]
BY_WORDS = [r"(?:sviluppat|addestrat|creat|realizzat|progettat|costruit)[oa]\s+da", "da parte di", "door", "przez",
            "av", "af", "από", "bởi", "oleh", "buatan", "ng", "بواسطة", "من تطوير", "من إنتاج", "توسط", "על ידי",
            "společností", "spoločnosťou", r"(?:dezvoltat|antrenat|creat)\s+de", "de către",
            r"(?:desenvolupat|entrenat|creat)\s+per", r"iliyo(?:tengenezwa|undwa|fundishwa)\s+na"]
AS_POSTPOSITIONS = ["olarak", "के रूप में", "হিসেবে", "کے طور پر"]
FINNISH_ESSIVES = ["kielimallina", "tekoälynä", "tekoälymallina", "mallina", "avustajana", "tekoälyavustajana"]


def leads() -> str:
    """"As" or a first-person opener, at a sentence start."""
    words = with_capitals(AS_WORDS + [o for group in OPENERS.values() for o in group])
    return SENTENCE_START + alternation(words)


def described_as_ai() -> str:
    """A lead, an AI word within two words of it and a word for "by" in the
    same sentence; or, maker first, an AI word before a closing "as" or a
    Finnish essive. The same regex in every provider's rule, compiled once."""
    word = r"[^\s.!?,;:]+\s+"
    return (f"(?:{leads()}\\s+(?:{word}){{0,2}}?{ai_words()}[^\\n.!?]*?\\s{alternation(BY_WORDS)}\\s"
            f"|{ai_words()}[^\\n.!?,]*?\\s{alternation(AS_POSTPOSITIONS)}(?:\\s|[,،]|$)"
            f"|\\b{alternation(FINNISH_ESSIVES)}\\b)")


def made_by_maker(makers: str) -> str:
    """The provider's maker after a word for "by"; or first in a sentence
    whose description ends with "as". Without the sentence's lead, which
    `described_as_ai` holds: with it, each provider's regex took Hyperscan
    some 3 s to compile."""
    closing = f"(?:\\s{alternation(AS_POSTPOSITIONS)}(?:\\s|[,،]|$)|{alternation(FINNISH_ESSIVES)}\\b)"
    return (f"(?:\\s{alternation(BY_WORDS)}\\s+(?:{makers})\\b"
            f"|\\b(?:{makers})\\b[^\\n.!?]*?{closing})")


def model_examples(provider: str) -> dict[str, list[str]]:
    name, maker = SPELLING[provider]
    return {
        "match": [f"Come modello linguistico sviluppato da {maker}, non posso dare consigli medici.",
                  f"Als een taalmodel getraind door {maker} heb ik geen toegang tot internet.",
                  f"Jako model językowy stworzony przez {maker} nie mam dostępu do internetu.",
                  f"Som en språkmodell utvecklad av {maker} har jag inte tillgång till internet.",
                  f"Sebagai model bahasa yang dikembangkan oleh {maker}, saya tidak memiliki akses ke internet.",
                  f"Là một mô hình ngôn ngữ được phát triển bởi {maker}, tôi không thể truy cập internet.",
                  f"{maker} tarafından geliştirilen bir dil modeli olarak internete erişimim yok.",
                  f"{maker} द्वारा विकसित एक भाषा मॉडल के रूप में, मेरे पास इंटरनेट तक पहुंच नहीं है।",
                  f"Sono un modello linguistico addestrato da {maker}.",
                  f"Saya adalah asisten AI buatan {maker}."],
        "no_match": [f"Come ho spiegato nel mio articolo sul modello di {maker}, i risultati variano.",
                     f"Als assistent bij {maker} werk ik aan documentatie.",
                     f"Saya bekerja sebagai asisten di {maker}.",
                     f"Come modello linguistico sviluppato da {other_maker(provider)}, non posso farlo.",
                     f"Come {maker} ha detto, i modelli linguistici migliorano.",
                     f"Il modello linguistico di {maker} è molto usato."],
    }


def model_rule(provider: str) -> dict[str, object]:
    _, makers, _ = PROVIDERS[provider]
    name, maker = SPELLING[provider]
    return _rule(
        provider, "more-languages-model", f"assistant says it is a {maker} model (other languages)",
        f"\"As a language model developed by {maker}\" and \"I am a model made by {maker}\" in {LANGUAGES}: "
        "\"as\" or a first-person opener at a sentence start, an AI word within two words, and the maker after "
        "a word for \"by\" (Turkish, Hindi, Bengali, Urdu: the maker first and \"as\" last; Finnish: an essive).",
        {"all": [{"regex": described_as_ai()}, {"regex": made_by_maker(makers)}]},
        model_examples(provider), keywords=MAKER_KEYWORDS[provider])


# 6. `<provider>.self-id.as-name`: "As ChatGPT, I ..." in the provider packs'
# own languages beside English (which has it in the packs): Spanish, Portuguese,
# Italian, French, German. "As" at a sentence start, the name, an optional
# apposition between commas ("Como ChatGPT, un modelo de OpenAI, no tengo"),
# then the speaker in the first person: a pronoun or a first-person verb
# (Spanish, Portuguese and Italian drop the pronoun). "Como", "come" and
# "comme" also mean "like" ("Come Claude, non posso venire": like my friend
# Claude, I cannot come), so after them only a distinctive name counts;
# "en tant que", "in qualità di", "siendo", "sendo", "enquanto" and German
# "als" followed by the verb and "ich" say what the speaker is.
AS_NAME_LEADS = {
    # language: (leads that only mean "as", leads that also mean "like", what follows: the speaker)
    "Spanish": (["siendo", "en calidad de"], ["como"],
                r"(?:yo\s+)?(?:no\s+|tampoco\s+)?(?:tengo|puedo|soy|estoy|debo|quiero|creo|prefiero|intento|trato"
                r"|voy|he|fui|sé|me|mi|mis)\b"),
    "Portuguese": (["sendo", "enquanto"], ["como"],
                   r"(?:eu\s+)?(?:não\s+|nao\s+)?(?:tenho|posso|sou|estou|devo|quero|acho|prefiro|tento|vou|fui"
                   r"|sei|me|meu|minha|meus|minhas)\b"),
    "Italian": (["in qualità di", "essendo"], ["come"],
                r"(?:io\s+)?(?:non\s+)?(?:ho|posso|sono|devo|voglio|credo|cerco|sto|so|mi|il\s+mio|la\s+mia"
                r"|i\s+miei|le\s+mie)\b"),
    "French": (["en tant que", "en tant qu'", "étant"], ["comme"],
               r"(?:je\b|j'|mon\b|ma\b|mes\b|il\s+m'est\b)"),
}
GERMAN_SPEAKER = r"(?:habe|hab|kann|bin|möchte|muss|darf|werde|würde|will|verfüge|besitze|weiß)\s+ich\b"
# an apposition between commas: a description, not a clause of its own
AS_NAME_APPOSITION = r"(?:,\s+[^\n.!?,;:]+)?"


def as_name(names: str, distinct: str) -> str:
    """"As <name>, I ..." in the languages of AS_NAME_LEADS, and German
    "Als <name> habe ich"."""
    forms = []
    for only_as, also_like, speaker in AS_NAME_LEADS.values():
        for leads, name in ((only_as, names), (also_like, distinct)):
            spaced = [lead if lead.endswith("'") else lead + " " for lead in leads]
            forms.append(f"{alternation(spaced)}(?:(?:el|la|o|a|le|l')\\s+)?(?:{name}){AS_NAME_APPOSITION},\\s+{speaker}")
    forms.append(f"als\\s+(?:{names}){AS_NAME_APPOSITION}(?:,\\s+|\\s+){GERMAN_SPEAKER}")
    return SENTENCE_START + "(?:" + "|".join(forms) + ")"


def as_name_examples(provider: str) -> dict[str, list[str]]:
    name, maker = SPELLING[provider]
    distinct = DISTINCT_SPELLING[provider]
    return {
        "match": [f"Como {distinct}, no tengo opiniones personales.",
                  f"Siendo {name}, no puedo navegar por internet.",
                  f"Enquanto {name}, eu não tenho acesso à internet.",
                  f"Como o {distinct}, não posso dar conselhos médicos.",
                  f"Come {distinct}, un modello di {maker}, non posso farlo.",
                  f"In qualità di {name}, non ho opinioni personali.",
                  f"En tant que {name}, je ne peux pas naviguer sur Internet.",
                  f"En tant que {distinct}, j'essaie d'être utile.",
                  f"Als {name} habe ich keinen Zugriff auf das Internet.",
                  f"Als {distinct}, ein Modell von {maker}, kann ich das nicht."],
        "no_match": [f"Mehr als {name} habe ich nie benutzt.",  # "than", not at a sentence start
                     f"Als {name} kam, habe ich gewartet.",  # "when"
                     f"Como {name}, un chatbot popular, demuestra, los modelos escriben bien.",
                     f"En tant que {name}, il ne peut pas naviguer.",  # third person
                     f"Je ne suis pas {name}. En tant qu'utilisateur, j'aime {name}.",
                     f"Como {name} dijo, no tengo tiempo."]
        + ([] if re.fullmatch(PROVIDERS[provider][2], name, re.IGNORECASE)
           else [f"Come {name}, non posso venire alla festa."]),  # "like Claude": no distinctive name
    }


def as_name_rule(provider: str) -> dict[str, object]:
    names, _, distinct = PROVIDERS[provider]
    name = SPELLING[provider][0]
    return _rule(
        provider, "as-name", f"assistant speaks as {name} (Spanish, Portuguese, Italian, French, German)",
        f"\"As {name}, I ...\" at a sentence start: \"Como {name}, no tengo\", \"En tant que {name}, je\", "
        f"\"Als {name} habe ich\"; after leads that also mean \"like\" (como, come, comme), only a distinctive "
        "name counts.",
        {"any": [{"regex": as_name(names, distinct)}]},
        as_name_examples(provider))


# The makers as each self-identification holds them (`makers` in PROVIDERS):
# the keywords of a rule whose matches need not name the product.
MAKER_KEYWORDS = {
    "openai": ["openai", "open ai", "open-ai"], "anthropic": ["anthropic"], "google": ["google", "deepmind"],
    "meta": ["meta", "facebook"], "mistral": ["mistral"], "alibaba": ["alibaba", "aliyun"],
    "deepseek": ["deepseek", "deep seek", "deep-seek"], "xai": ["xai", "x.ai"], "cohere": ["cohere"],
    "microsoft": ["microsoft"], "amazon": ["amazon", "aws"], "perplexity": ["perplexity"], "ai21": ["ai21"],
    "moonshot": ["moonshot"],
}

QUOTED_OPENER = quoted_opener([o for group in (*OPENERS.values(), *NO_COMMA_OPENERS.values()) for o in group]
                              + PACK_OPENERS)


def _rule(provider: str, suffix: str, message: str, description: str, match: dict[str, object],
          rule_examples: dict[str, list[str]], negations: str | None = None,
          keywords: list[str] | None = None, conditions: Sequence[str] = ()) -> dict[str, object]:
    return {
        "id": f"{provider}.self-id.{suffix}",
        "provider": provider,
        "severity": "high",
        "confidence": 0.7,
        "evidence": "self-id",
        "roles": ["assistant", "unknown"],
        "message": message,
        "description": description + " Generated by tools/gen_self_id_languages.py.",
        "match": match,
        # each name starts a word wherever the rules look for it (`rules test`
        # proves it): "innovation", "graphic" or "describing" are no reason to read a line
        "keywords": [rf"\b{name}" if name[0].isascii() else name for name in keywords or KEYWORDS[provider]],
        "unless": [{"regex": negations or alternation(NEGATIONS)}, *({"regex": c} for c in conditions),
                   {"regex": QUOTED_OPENER}, {"regex": OTHERS_WORDS_PROMPT, "where": "prompt"}],
        "examples": rule_examples,
    }


HEADER = "# Generated by tools/gen_self_id_languages.py; edit that script, not this file.\n"


def document() -> str:
    """rules/self-id-languages.yaml as this script writes it."""
    doc = {
        "pack": "self-id-languages",
        "version": 1,
        "description": ("Self-identification as a provider's model in languages beyond those of the provider "
                        "packs' multilingual rules, and \"<I am> <name>, <maker>'s assistant\" in theirs and in English. "
                        "Generated by tools/gen_self_id_languages.py; edit that "
                        "script, not this file."),
        "rules": [r for p in PROVIDERS for r in (rule(p), name_rule(p), apposition_rule(p), model_rule(p), as_name_rule(p))]
                 + [english_apposition_rule(p) for p in ENGLISH_APPOSITION_PROVIDERS],
    }
    return HEADER + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000)


def main() -> None:
    OUT.write_text(document(), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
