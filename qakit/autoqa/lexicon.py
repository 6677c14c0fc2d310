"""Lexicon features from offline word lists that ship inside well-kept packages.

- :func:`readability`: Flesch reading ease of the agent's text in its language (English: Flesch
  1948; German: Amstad 1978; Portuguese: Martins et al. 1996), syllables from ``pyphen``'s
  hyphenation dictionaries (LibreOffice's, shipped in the wheel).
- :func:`spelling`: share of the agent's words that are not in ``pyspellchecker``'s word list of
  the language (word-frequency lists shipped in the wheel; English, German, Portuguese, ...).
- :func:`customer_sentiment`: VADER (Hutto & Gilbert 2014, ``vaderSentiment``; its lexicon ships
  in the wheel) compound score of the customer's last messages. English only.

Nothing is downloaded at run time. A language a lexicon does not cover gives N/A, itemised in
:func:`qakit.schema.exclusions` (never an English score of German text). Messages without a
``language`` are read in ``assume_language`` (default English) and itemised as such.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from .. import schema as S
from .._public import public
from ..errors import ParameterError, check_choice
from . import _text as T
import pyphen
from spellchecker import SpellChecker
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

READABILITY = "reading_ease"
SENTENCES = "n_sentences"
SYLLABLES = "n_syllables"
N_CHECKED = "n_words_checked"
N_UNKNOWN = "n_unknown_words"
UNKNOWN_RATE = "unknown_word_rate"
SENTIMENT = "sentiment"
N_SCORED = "n_messages_scored"

#: Flesch reading ease per language: ``a - b * words/sentence - c * syllables/word``
FLESCH = {"en": (206.835, 1.015, 84.6), "de": (180.0, 1.0, 58.5), "pt": (248.835, 1.015, 84.6)}
_HYPHEN_LANG = {"en": "en_US", "de": "de_DE", "pt": "pt_BR"}
_SPELL_LANG = ("en", "de", "pt", "es", "fr", "it", "nl", "ru", "ar", "lv", "eu", "fa")
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
#: urls, @mentions, #placeholders#, tokens with digits (codes), runs of more than 45 letters (not words).
#: Each alternative is linear in the text: a token with digits is matched from its start only
#: (``(?<!\S)``; ``\S*\d\S*`` alone backtracks quadratically on a long token without digits)
_SKIP = re.compile(r"(?:https?://|www\.)\S+|[@#]\S+|(?<!\S)\S*\d\S*|[^\W\d_]{46,}")
#: characters of one message read by readability and spelling (the time bound per message)
MAX_CHARS = 100_000
#: characters of one customer message scored by VADER (its time grows with the square of the length:
#: 0.4 s for 10,000 characters, 63 s for 100,000 on this machine)
SENTIMENT_MAX_CHARS = 5_000
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n+")


def _languages(msg: pd.DataFrame, assume: str | None) -> tuple[pd.Series, pd.Series]:
    """Base language code per message (``pt-BR`` -> ``pt``; ``assume`` where the ``language``
    column is absent, missing or blank) and the mask of messages whose language was assumed.

    Examples
    --------
    >>> m = pd.DataFrame({"language": ["pt-BR", " DE_at", "", None]})
    >>> lang, assumed = _languages(m, "en")
    >>> lang.tolist(), assumed.tolist()
    (['pt', 'de', 'en', 'en'], [False, False, True, True])
    """
    if S.LANGUAGE not in msg.columns:
        missing = pd.Series(True, index=msg.index)
        return pd.Series(assume, index=msg.index, dtype="str"), missing
    raw = msg[S.LANGUAGE]
    text = raw.astype("object").where(raw.notna(), None)
    missing = pd.Series([not isinstance(v, str) or not v.strip() for v in text], index=msg.index)  # few distinct values
    codes = {v: re.split(r"[-_]", v.strip().lower())[0] for v in pd.unique(text[~missing])}
    base = pd.Series([codes.get(v) if not m else assume for v, m in zip(text, missing)], index=msg.index, dtype="str")
    return base, missing


def _agent_text(messages, roles, assume_language):
    msg = T.prepare(messages)
    lang, missing = _languages(msg, assume_language)
    sel = msg[S.AUTHOR_ROLE].isin(list(roles)).to_numpy()
    assumed = msg[S.MESSAGE_ID][missing.to_numpy() & sel]
    long = sel & msg[S.TEXT].str.len().gt(MAX_CHARS).to_numpy()
    if long.any():
        msg = msg.assign(**{S.TEXT: msg[S.TEXT].str.slice(0, MAX_CHARS)})
    return msg, lang, assumed, sel, msg.loc[long, S.MESSAGE_ID]


@lru_cache(maxsize=8)
def _hyphenator(lang: str):
    return pyphen.Pyphen(lang=_HYPHEN_LANG[lang])


@lru_cache(maxsize=8)
def _dictionary(lang: str) -> frozenset:
    return frozenset(SpellChecker(language=lang).word_frequency.dictionary)


def _syllables(words: pd.Series, lang: str) -> np.ndarray:
    """Syllables per word = hyphenation points + 1 (pyphen), computed once per distinct word."""
    h = _hyphenator(lang)
    uniq = pd.unique(words)
    counts = {w: len(h.positions(w)) + 1 for w in uniq}
    return words.map(counts).to_numpy(dtype=float)


@public
def readability(messages: pd.DataFrame, *, roles=("agent",), assume_language: str | None = "en") -> pd.DataFrame:
    """Flesch reading ease of each conversation's ``roles`` text, in its language.

    Parameters
    ----------
    messages : pandas.DataFrame
    roles : tuple of str, default=("agent",)
    assume_language : str or None, default="en"
        Language of messages without ``language`` (None: such messages are N/A).

    Returns
    -------
    pandas.DataFrame
        ``conversation_id, language, n_words, n_sentences, n_syllables, reading_ease``
        (higher = easier; NaN for a language without a formula or no words). A conversation in
        several languages is scored per language (one row each).

    Notes
    -----
    ``reading_ease = a - b * (words / sentences) - c * (syllables / words)`` with ``(a, b, c)`` =
    (206.835, 1.015, 84.6) English, (180, 1, 58.5) German (Amstad), (248.835, 1.015, 84.6)
    Portuguese (Martins et al.). Words: runs of letters; sentences: ``.``, ``!``, ``?`` runs and
    line breaks (at least 1 per message with words); syllables: pyphen hyphenation points + 1,
    an approximation (dictionary hyphenation never splits some syllables, e.g. single letters).

    Examples
    --------
    >>> m = pd.DataFrame({"conversation_id": "c1", "message_id": ["1", "2"], "author_role": ["customer", "agent"],
    ...     "agent_id": [None, "a"], "sent_at": None, "text": ["Hi", "The cat sat on the mat."]})
    >>> readability(m)[["n_words", "n_sentences", "n_syllables", "reading_ease"]]  # 206.835 - 1.015*6 - 84.6*1
       n_words  n_sentences  n_syllables  reading_ease
    0        6            1          6.0       116.145
    """
    msg, lang, assumed, sel, cut = _agent_text(messages, roles, assume_language)
    sub = msg.loc[sel, [S.CONVERSATION_ID, S.MESSAGE_ID, S.TEXT]].assign(_lang=lang[sel].to_numpy())
    clean = sub[S.TEXT].str.replace(_SKIP, " ", regex=True)
    words = clean.str.findall(_WORD)
    n_words = words.str.len()
    n_sent = clean.str.count(_SENTENCE_END.pattern)
    n_sent = np.where(n_words > 0, np.maximum(n_sent, 1), 0)
    long = pd.DataFrame({"_i": np.repeat(np.arange(len(sub)), n_words.to_numpy()),
                         "w": np.concatenate([np.asarray(x, dtype=object) for x in words] or [np.array([], dtype=object)])})
    syl = np.zeros(len(sub))
    lang_of_word = sub["_lang"].to_numpy(dtype=object)[long["_i"].to_numpy()]
    for lg in FLESCH:  # three languages
        m = lang_of_word == lg
        if m.any():
            s = _syllables(long.loc[m, "w"].str.lower(), lg)
            syl += np.bincount(long.loc[m, "_i"].to_numpy(), weights=s, minlength=len(sub))
    per = pd.DataFrame({S.CONVERSATION_ID: sub[S.CONVERSATION_ID].to_numpy(), S.LANGUAGE: sub["_lang"].to_numpy(),
                        T.N_WORDS: n_words.to_numpy(), SENTENCES: n_sent, SYLLABLES: syl})
    out = per.groupby([S.CONVERSATION_ID, S.LANGUAGE], sort=False, dropna=False).sum().reset_index()
    coef = out[S.LANGUAGE].map(FLESCH)
    ok = coef.notna() & out[T.N_WORDS].gt(0)
    a, b, c = (np.array([x[i] if isinstance(x, tuple) else np.nan for x in coef]) for i in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        ease = a - b * out[T.N_WORDS] / out[SENTENCES] - c * out[SYLLABLES] / out[T.N_WORDS]
    out[READABILITY] = np.where(ok, ease, np.nan)
    out[T.N_WORDS] = out[T.N_WORDS].astype("int64")
    out[SENTENCES] = out[SENTENCES].astype("int64")
    no_formula = out.loc[coef.isna(), S.CONVERSATION_ID]
    S.add_exclusion(out, f"no readability formula for the language (have {sorted(FLESCH)}): N/A", S.LANGUAGE,
                    no_formula)
    S.add_exclusion(out, "no words in the text: N/A", S.TEXT, out.loc[coef.notna() & ~ok, S.CONVERSATION_ID])
    _note_assumed(out, assumed, assume_language, cut)
    return out


def _note_assumed(out, assumed, assume_language, cut=(), limit=MAX_CHARS):
    if assume_language is not None and len(assumed):
        S.add_adjustment(out, f"message without language: read as {assume_language!r}", S.LANGUAGE, assumed)
    if len(cut):
        S.add_adjustment(out, f"message longer than {limit:,} characters: only its first {limit:,} were read",
                         S.TEXT, cut)


@public
def spelling(messages: pd.DataFrame, *, roles=("agent",), assume_language: str | None = "en") -> pd.DataFrame:
    """Share of each conversation's ``roles`` words missing from the language's word list.

    Returns
    -------
    pandas.DataFrame
        ``conversation_id, language, n_words_checked, n_unknown_words, unknown_word_rate``.

    Notes
    -----
    ``unknown_word_rate = unknown / checked``. Checked words are lower-cased runs of letters
    (apostrophes and hyphens inside kept) of two or more letters; URLs, @mentions,
    ``#PLACEHOLDERS#`` and tokens with digits are skipped. An unknown word is often a
    misspelling but may be a product or person name: read the rate as a signal, not a count of
    errors.

    Examples
    --------
    >>> m = pd.DataFrame({"conversation_id": "c1", "message_id": ["1", "2"], "author_role": ["customer", "agent"],
    ...     "agent_id": [None, "a"], "sent_at": None, "text": ["Hi", "We have recieved your ordr today"]})
    >>> spelling(m)[["n_words_checked", "n_unknown_words", "unknown_word_rate"]]  # recieved, ordr
       n_words_checked  n_unknown_words  unknown_word_rate
    0                6                2           0.333333
    """
    msg, lang, assumed, sel, cut = _agent_text(messages, roles, assume_language)
    sub = msg.loc[sel, [S.CONVERSATION_ID, S.TEXT]].assign(_lang=lang[sel].to_numpy())
    words = sub[S.TEXT].str.replace(_SKIP, " ", regex=True).str.lower().str.findall(_WORD)
    n = words.str.len().to_numpy()
    long = pd.DataFrame({S.CONVERSATION_ID: np.repeat(sub[S.CONVERSATION_ID].to_numpy(), n),
                         S.LANGUAGE: np.repeat(sub["_lang"].to_numpy(dtype=object), n),
                         "w": np.concatenate([np.asarray(x, dtype=object) for x in words] or [np.array([], dtype=object)])})
    long = long[long["w"].str.len() >= 2]
    unknown = np.zeros(len(long), dtype=bool)
    supported = long[S.LANGUAGE].isin(_SPELL_LANG).to_numpy()
    for lg in pd.unique(long.loc[supported, S.LANGUAGE]):
        m = (long[S.LANGUAGE] == lg).to_numpy()
        codes, uniq = pd.factorize(long.loc[m, "w"])  # one set look-up per distinct word
        words_known = _dictionary(lg)
        known = np.fromiter((u in words_known for u in uniq), dtype=bool, count=len(uniq))
        unknown[m] = ~known[codes]
    long = long.assign(_u=unknown, _s=supported)
    out = long.groupby([S.CONVERSATION_ID, S.LANGUAGE], sort=False).agg(
        n_words_checked=("_s", "size"), n_unknown_words=("_u", "sum"), _s=("_s", "first")).reset_index()
    out[UNKNOWN_RATE] = np.where(out["_s"], out[N_UNKNOWN] / out[N_CHECKED], np.nan)
    out[N_UNKNOWN] = np.where(out["_s"], out[N_UNKNOWN], 0).astype("int64")
    S.add_exclusion(out, f"no word list for the language (have {list(_SPELL_LANG)}): N/A", S.LANGUAGE,
                    out.loc[~out["_s"], S.CONVERSATION_ID])
    out = out.drop(columns="_s")
    _note_assumed(out, assumed, assume_language, cut)
    return out


@lru_cache(maxsize=1)
def _vader():
    return SentimentIntensityAnalyzer()


@public
def customer_sentiment(messages: pd.DataFrame, *, last: int = 2, assume_language: str | None = "en") -> pd.DataFrame:
    """Sentiment of each conversation's last ``last`` customer messages (VADER, English only).

    Returns
    -------
    pandas.DataFrame
        ``conversation_id, n_messages_scored, sentiment`` (mean VADER compound score of the
        scored messages, -1 very negative .. +1 very positive; NaN when none could be scored).

    Notes
    -----
    VADER's compound score normalises the summed valences ``x`` of the words as
    ``x / sqrt(x^2 + 15)``; Hutto & Gilbert treat ``<= -0.05`` as negative, ``>= 0.05`` positive.
    Non-English customer messages are not scored (itemised): translate them first (MAIA-DQE ships
    English translations: ``qakit.realdata.load_maia(text="english")``). VADER's time grows with the
    square of a text's length, so only the first :data:`SENTIMENT_MAX_CHARS` characters of a
    message are scored (itemised as adjustments).

    Examples
    --------
    >>> m = pd.DataFrame({"conversation_id": "c1", "message_id": ["1", "2"], "author_role": ["customer", "agent"],
    ...     "agent_id": [None, "a"], "sent_at": None, "text": ["This is terrible.", "Sorry!"]})
    >>> round(float(customer_sentiment(m)["sentiment"].iloc[0]), 4)  # VADER: terrible = -2.1 -> -2.1 / sqrt(2.1^2 + 15)
    -0.4767
    """
    if isinstance(last, bool) or not isinstance(last, int) or last < 1:
        raise ParameterError(f"last must be an integer >= 1; got {last!r}")
    msg = T.prepare(messages)
    conv = msg[S.CONVERSATION_ID].drop_duplicates()
    cust = msg[msg[S.AUTHOR_ROLE].eq("customer") & (msg[T.SEQ_BY_ROLE_FROM_END] < last)]
    lang, missing = _languages(cust, assume_language)
    english = lang.eq("en").fillna(False).to_numpy(dtype=bool)
    analyser = _vader()
    score = np.full(len(cust), np.nan)
    texts = cust[S.TEXT].to_numpy(dtype=object)
    cut = np.zeros(len(cust), dtype=bool)
    for i in np.flatnonzero(english & (cust[T.N_WORDS].to_numpy() > 0)):  # VADER scores one text at a time
        cut[i] = len(texts[i]) > SENTIMENT_MAX_CHARS
        score[i] = analyser.polarity_scores(texts[i][:SENTIMENT_MAX_CHARS])["compound"]
    per = pd.DataFrame({S.CONVERSATION_ID: cust[S.CONVERSATION_ID].to_numpy(), "s": score})
    g = per.groupby(S.CONVERSATION_ID, sort=False)["s"]
    out = pd.DataFrame({S.CONVERSATION_ID: conv.to_numpy()})
    out[N_SCORED] = g.count().reindex(out[S.CONVERSATION_ID]).fillna(0).astype("int64").to_numpy()
    out[SENTIMENT] = g.mean().reindex(out[S.CONVERSATION_ID]).to_numpy()
    S.add_exclusion(out, "customer message not in English: no sentiment (VADER is English only)", S.LANGUAGE,
                    cust.loc[~english, S.MESSAGE_ID])
    S.add_exclusion(out, "conversation without a scorable customer message: sentiment N/A", S.TEXT,
                    out.loc[out[N_SCORED].eq(0), S.CONVERSATION_ID])
    _note_assumed(out, cust.loc[missing.to_numpy(), S.MESSAGE_ID], assume_language, cust.loc[cut, S.MESSAGE_ID],
                  SENTIMENT_MAX_CHARS)
    return out


__all__ = ["readability", "spelling", "customer_sentiment"]
