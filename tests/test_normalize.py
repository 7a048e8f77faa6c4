"""Normalisation and evasion: disguised fingerprints still match, snippets
show the original text, real non-Latin text is left alone, and the fast and
the offset-mapping normalisers agree."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tos_lint
from tos_lint.normalize import _TABLE_FULL, _delete_and_replace, normalize, normalize_mapped, original_span
from tests.helpers import rule, write_jsonl, write_pack

PREFIX = "Thanks for the question, here is a longer introduction before the answer. "


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "evasion.yaml", [
        rule("test.i-am-chatgpt", [{"phrase": "I am ChatGPT"}]),
        rule("test.im-chatgpt", [{"phrase": "I'm ChatGPT"}],
             examples={"match": ["I'm ChatGPT."], "no_match": ["Hello."]}),
    ])


EVASIONS = [
    pytest.param("I am ChatGPT", "test.i-am-chatgpt", id="plain"),
    pytest.param("I am Chat\u200bGPT", "test.i-am-chatgpt", id="zero-width-space"),
    pytest.param("I\u200d am C\u200chat\u2060GPT", "test.i-am-chatgpt", id="zero-width-joiners"),
    pytest.param("I am Chat\u00adGPT", "test.i-am-chatgpt", id="soft-hyphen"),
    pytest.param("I am \u202eChatGPT\u202c", "test.i-am-chatgpt", id="bidi-marks"),
    pytest.param("I am \ufeffChatGPT", "test.i-am-chatgpt", id="bom-inside"),
    pytest.param("I am \uff23\uff48\uff41\uff54\uff27\uff30\uff34", "test.i-am-chatgpt", id="full-width"),
    pytest.param("\uff29 \uff41\uff4d ChatGPT", "test.i-am-chatgpt", id="full-width-words"),
    pytest.param("I am ChatG\u0420\u0422", "test.i-am-chatgpt", id="cyrillic-homoglyphs"),
    pytest.param("I \u0430m \u0421h\u0430tGPT", "test.i-am-chatgpt", id="cyrillic-a-and-es"),
    pytest.param("I am ChatG\u03a1\u03a4", "test.i-am-chatgpt", id="greek-homoglyphs"),
    pytest.param("I am &#67;hatGPT", "test.i-am-chatgpt", id="html-decimal-entity"),
    pytest.param("I am &#x43;hat&#x47;PT", "test.i-am-chatgpt", id="html-hex-entity"),
    pytest.param("I&nbsp;am ChatGPT", "test.i-am-chatgpt", id="html-nbsp-entity"),
    pytest.param("I\u00a0am\u2003ChatGPT", "test.i-am-chatgpt", id="unicode-spaces"),
    pytest.param("I am **ChatGPT**", "test.i-am-chatgpt", id="markdown-bold"),
    pytest.param("I am *Chat*GPT", "test.i-am-chatgpt", id="markdown-italic-inside-word"),
    pytest.param("I am `ChatGPT`", "test.i-am-chatgpt", id="markdown-code"),
    pytest.param("I am _ChatGPT_", "test.i-am-chatgpt", id="markdown-underscore"),
    pytest.param("I am __ChatGPT__", "test.i-am-chatgpt", id="markdown-double-underscore"),
    pytest.param("I am ~~Chat~~GPT", "test.i-am-chatgpt", id="markdown-strike"),
    pytest.param("I am <b>ChatGPT</b>", "test.i-am-chatgpt", id="html-bold"),
    pytest.param("I am <span class=\"name\">Chat</span><EM>GPT</EM>", "test.i-am-chatgpt", id="html-span-and-upper-case-tag"),
    pytest.param("I am &lt;strong&gt;ChatGPT&lt;/strong&gt;", "test.i-am-chatgpt", id="html-tag-as-entities"),
    pytest.param("I AM CHATGPT", "test.i-am-chatgpt", id="upper-case"),
    pytest.param("I am Chat GPT", "test.i-am-chatgpt", id="camel-split-space"),
    pytest.param("I am Chat-GPT", "test.i-am-chatgpt", id="camel-split-hyphen"),
    pytest.param("I  am\n\tChatGPT", "test.i-am-chatgpt", id="white-space-runs"),
    pytest.param("I\u2019m ChatGPT", "test.im-chatgpt", id="curly-apostrophe"),
    pytest.param("I\u2018m ChatGPT", "test.im-chatgpt", id="left-single-quote"),
    pytest.param("I&#39;m ChatGPT", "test.im-chatgpt", id="entity-apostrophe"),
    pytest.param("I\u2019m **Chat\u200bG\u0420\u0422**", "test.im-chatgpt", id="everything-at-once"),
]


@pytest.mark.parametrize(("disguised", "rule_id"), EVASIONS)
def test_disguised_phrase_matches_and_snippet_shows_original(tmp_path: Path, pack: Path, disguised: str, rule_id: str) -> None:
    original = PREFIX + disguised + " How can I help you today?"
    data = write_jsonl(tmp_path / "d.jsonl", [{"messages": [
        {"role": "user", "content": "Who are you?"},
        {"role": "assistant", "content": original},
    ]}])
    result = tos_lint.scan([data], rules=[pack], use_default_rules=False)
    found = [f for f in result.findings if f.rule_id == rule_id]
    assert len(found) == 1, [f.rule_id for f in result.findings]
    finding = found[0]
    assert finding.location.pointer == "/messages/1/content"
    # The snippet is a window of the ORIGINAL text (no normalisation in it)...
    body = finding.snippet.strip("…")
    assert body in original.replace("\n", " ").replace("\r", " ")
    # ...and the highlight covers exactly the disguised phrase.
    lo, hi = finding.highlight
    highlighted = finding.snippet[lo:hi]
    want = "i'm chatgpt" if rule_id == "test.im-chatgpt" else "i am chatgpt"
    assert " ".join(normalize(highlighted).casefold().split()).replace("chat gpt", "chatgpt").replace(
        "chat-gpt", "chatgpt") == want, (highlighted, finding.snippet)


@pytest.mark.parametrize("before", [
    pytest.param("\u0130stanbul'da ya\u015f\u0131yorum. ", id="turkish-dotted-capital-i"),
    pytest.param("Stra\u00dfe \u1e9e. ", id="german-sharp-s"),
    pytest.param("Caf&eacute; &amp; bar. ", id="ascii-with-entities"),
    pytest.param("\u0130\u0130\u0130 ~~old~~_ ", id="mixed"),
])
def test_highlight_is_exact_after_text_that_normalises_oddly(tmp_path: Path, pack: Path, before: str) -> None:
    original = before + "Anyway: I am ChatGPT, nice to meet you."
    data = write_jsonl(tmp_path / "d.jsonl", [{"messages": [{"role": "assistant", "content": original}]}])
    result = tos_lint.scan([data], rules=[pack], use_default_rules=False)
    [finding] = [f for f in result.findings if f.rule_id == "test.i-am-chatgpt"]
    lo, hi = finding.highlight
    assert finding.snippet[lo:hi] == "I am ChatGPT", finding.snippet


@pytest.mark.parametrize("text", [
    "I am not here. ChatGPT is elsewhere.",
    "I am ChatGPTs biggest fan",
    "xI am ChatGPT",
    "I am Chatbot GPT",
])
def test_near_misses_do_not_match(tmp_path: Path, pack: Path, text: str) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": text}])
    result = tos_lint.scan([data], rules=[pack], use_default_rules=False)
    assert result.findings == []


# --- other scripts ------------------------------------------------------------------

RUSSIAN = "Привет! Расскажите о своём опыте работы. Мой ответ: сорок два, сэр."


def test_pure_russian_is_not_transliterated() -> None:
    out = normalize(RUSSIAN)
    assert out == RUSSIAN.lower()
    assert not any("a" <= ch <= "z" for ch in out.lower())


@pytest.mark.parametrize("word", ["Рост", "Сор", "АРТ", "ТОКЕН", "РЕСТОРАН", "ОРС"])
def test_cyrillic_words_made_of_lookalikes_stay_cyrillic(word: str) -> None:
    """All these letters have Latin look-alikes; written wholly in Cyrillic,
    they are real words and must not be folded."""
    text = f"Это слово {word} по-русски, and this is English."
    out = normalize(text)
    assert word.lower() in out
    assert "and this is english." in out


def test_greek_text_is_untouched() -> None:
    text = "Καλημέρα, τι κάνεις; Όλα καλά."
    assert normalize(text) == text.lower()


def test_russian_text_with_a_real_latin_name_keeps_both() -> None:
    text = "Я использую ChatGPT каждый день."
    assert normalize(text) == "я использую chatgpt каждый день."


def test_russian_record_does_not_match_latin_phrase(tmp_path: Path, pack: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": RUSSIAN}, {"text": "Я СНАТ, а не бот."}])
    result = tos_lint.scan([data], rules=[pack], use_default_rules=False)
    assert result.findings == []


# --- the two normalisers agree --------------------------------------------------------

_FRAGMENTS = st.sampled_from([
    "I", "am", " ", "ChatGPT", "Chat", "GPT", "a", "_", "__", "*", "**", "`", "~~", "~", "&", ";", "#",
    "&amp;", "&nbsp;", "&#67;", "&#x43;", "&lt;", "&bogus;", "\u200b", "\u00ad", "\u2019", "\u201c",
    "\u0420", "\u0422", "\u0430", "\u03a1", "\uff23", "\u00a0", "\u2003", "\u0301", "e\u0301", "\u00e9",
    "\ufb01", "\u00df", "\u0130", "\u2126", "\u212a", "я", "бот", "\n", "\t", "1", "\u4e2d\u6587",
    "<b>", "</B>", "<", ">", "/", "<span class=x>", "<i", "\u0131", "\uff1c", "\uff1e", "b",
    "[", "]", "(", ")", "](", "https://x.y/z", "\uff3b", "\uff3d",
])
_MIXED = st.lists(_FRAGMENTS, max_size=14).map("".join)


def _check_agreement(text: str) -> None:
    fast = normalize(text)
    mapped, index = normalize_mapped(text)
    assert mapped == fast
    assert len(index) == len(mapped)
    assert all(0 <= i < len(text) for i in index)
    assert index == sorted(index)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_normalize_and_normalize_mapped_agree_on_any_text(text: str) -> None:
    _check_agreement(text)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MIXED)
def test_normalize_and_normalize_mapped_agree_on_tricky_text(text: str) -> None:
    _check_agreement(text)


@pytest.mark.parametrize("text", [
    pytest.param("I&nbsp;am ChatGPT", id="nbsp-entity-in-ascii-text"),
    pytest.param("Caf&eacute; ChatGPT", id="letter-entity-in-ascii-text"),
    pytest.param("\u0130stanbul ChatGPT", id="dotted-capital-i"),
    pytest.param("&#67;\u0301", id="entity-then-combining-mark"),
    pytest.param("K\u2019C~~_;", id="strike-then-edge-underscore"),
    pytest.param("I am ~~ChatGPT~~_", id="strike-then-trailing-underscore"),
    pytest.param("<_b>x<b_>y<b~~>", id="underscores-and-strikes-in-tags"),
    pytest.param("\uff1cb\uff1eChatGPT\uff1c/b\uff1e \u00e9", id="full-width-tag"),
    pytest.param("I am [Chat&#71;PT](https://x.y) \u00e9", id="link-with-an-entity"),
    pytest.param("_[ChatGPT](u)_ and [**a**](b) [c]*(d) [<b>e</b>](f) [g]~~(h)", id="links-around-markup"),
])
def test_normalize_and_normalize_mapped_agree_on_known_cases(text: str) -> None:
    _check_agreement(text)


@settings(max_examples=300, deadline=None)
# without markup, tags, entities (`&`) or `\u` escapes (a backslash): those are decoded by design
@given(st.text(alphabet=st.characters(codec="ascii", exclude_characters="&*`_~\\<"), max_size=60))
def test_plain_ascii_is_unchanged(text: str) -> None:
    assert normalize(text) == text
    mapped, index = normalize_mapped(text)
    assert mapped == text
    assert index == list(range(len(text)))


@pytest.mark.parametrize(("text", "want"), [
    ("Chat\u200bGPT", "chatgpt"),
    ("\uff23\uff48\uff41\uff54", "chat"),
    ("ChatG\u0420\u0422", "chatgpt"),
    ("&#67;hatGPT", "ChatGPT"),
    ("**bold** and `code`", "bold and code"),
    ("it\u2019s \u201cquoted\u201d", "it's \"quoted\""),
    ("snake_case_name", "snake_case_name"),
    ("_edge_", "edge"),
    ("<b>bold</b> and <em class=\"x\">em</em>", "bold and em"),
    ("a < b, <br> and <s>[INST]", "a < b, <br> and <s>[INST]"),
    ("I am [ChatGPT](https://chat.openai.com), by [OpenAI](https://openai.com/).", "I am ChatGPT, by OpenAI."),
    ("_[ChatGPT](u)_ [**Claude**](x)", "ChatGPT Claude"),
    ("f(a[0](b)) [not a link] (x) [x](y z) [x]\n(y)", "f(a0) [not a link] (x) [x](y z) [x]\n(y)"),
])
def test_normalize_examples(text: str, want: str) -> None:
    assert normalize(text) == want


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["I", "am", " ", "ChatGPT", "a1", "_", "__", "*", "**", "`", "~~", "~", "\n", "x_y",
                                 "<b>", "</i>", "<", ">", "[", "](", ")", "[ChatGPT](u)"]),
                max_size=20).map("".join))
def test_ascii_map_points_at_the_character_each_output_character_came_from(text: str) -> None:
    """Plain ASCII only loses markup, so each output character is the
    original character its index names."""
    mapped, index = normalize_mapped(text)
    assert [text[i] for i in index] == list(mapped)


_FORMS = st.lists(st.sampled_from([
    "I", "am", " ", "ChatGPT", "_", "*", "~~", "é", "É", "\u2019", "\u201c", "\uff0c", "\u3002", "\uff23", "\u200b",
    "\u0420", "\u03c4", "e\u0301", "\u0301", "\uff9e", "\u30ab", "\uffa1", "\u1161", "\ufb01", "\u2460", "\u00df",
    "&amp;", "\\u0041", "\u4e2d", "\U0001f642", "\uff3c", "n", "<b>", "\uff1cb\uff1e", "</b>",
]), max_size=12).map("".join)


@settings(max_examples=600, deadline=None)
@given(_FORMS)
def test_a_context_free_form_normalises_as_ascii_text_does(text: str) -> None:
    """Where `context_free_form` answers, normalising the text is only what
    normalising ASCII does to that form: markup out, case folded."""
    from tos_lint.normalize import _TABLE_ASCII, _strip_tags_and_marks, context_free_form

    form = context_free_form(text)
    if form is None:
        return
    assert normalize(text).lower() == _strip_tags_and_marks(form.translate(_TABLE_ASCII)).lower()


_ASCII_MARKUP = st.lists(st.sampled_from(list("ab I*`_~<>[]() ") + ["~~", "**", "__", "a_b", "<b>", "</b>", "]("]),
                         max_size=20).map("".join)


@settings(max_examples=400, deadline=None)
@given(_ASCII_MARKUP, st.data())
def test_ascii_map_points_at_the_characters_kept(text: str, data: st.DataObject) -> None:
    """In ASCII text normalisation only deletes: each character of the result
    is the original character its index names, and a span maps to the
    characters from its first to its last."""
    mapped, index = normalize_mapped(text)
    assert all(text[i] == ch for ch, i in zip(mapped, index, strict=True))
    if mapped:
        start = data.draw(st.integers(0, len(mapped) - 1))
        end = data.draw(st.integers(start + 1, len(mapped)))
        assert original_span(text, mapped, start, end) == (index[start], index[end - 1] + 1)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(sorted(map(chr, _TABLE_FULL)) + list("ab '\"")), max_size=40))
def test_table_characters_replaced_as_translate_would(text: str) -> None:
    assert _delete_and_replace(text) == text.translate(_TABLE_FULL)
