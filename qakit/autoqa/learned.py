"""Categories learned from the team's own ratings, and how well they agree with the humans.

For a category the team rates by hand, a text model is trained on the reviewed conversations
(scikit-learn: TF-IDF of word 1-2-grams and character 2-5-grams -> logistic regression) and
checked by grouped cross-validation: every conversation is predicted by a model that never saw
it (folds grouped by conversation, so the messages of one conversation never straddle training
and test). Agreement with the humans is Cohen's kappa (quadratic-weighted for ordinal scales)
with a seeded bootstrap CI over conversations, beside the human-human agreement; only a
category whose automatic-human agreement reaches the human-human agreement (or a threshold the
user sets) qualifies for automatic scoring (:func:`qualification`).

- :class:`TextModel`: fit / predict on texts, abstaining (N/A) below ``min_confidence``.
- :func:`cross_validate`: out-of-fold automatic ratings next to the human ones.
- :func:`kappa_agreement`: kappa with a bootstrap CI per category.
- :func:`qualification`: which categories may be scored automatically, and why.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import schema as S
from .._public import public
from ..errors import ParameterError, UndefinedMetricWarning, check_choice, check_number
from ..intervals import MIN_N, as_by, check_level
from . import _text as T
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.model_selection import StratifiedGroupKFold
from ..calibration import cohen_kappa
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline
from threadpoolctl import threadpool_limits

WEIGHTS = (None, "linear", "quadratic")
#: texts transformed and predicted per batch (bounds the memory of the sparse feature matrices)
PREDICT_CHUNK = 20_000
AGGREGATES = ("min", "max", "mean")
SOURCE_MODEL = "model"
CONFIDENCE = "confidence"
FOLD = "fold"
N_ABSTAINED = "n_abstained"
COVERAGE = "coverage"
HUMAN_HUMAN_KAPPA = "human_human_kappa"
TARGET = "target"
QUALIFIES = "qualifies"
REASON = "reason"
WEIGHTS_COL = "weights"
GROUP = "group"
EVIDENCE = "evidence"
N_GROUPS = "n_groups"
N_NEEDED = "n_needed"
#: the evidence a new client can trust: every conversation predicted by a model that never saw its
#: group (client, team, month)
EVIDENCE_GROUPS = "leave-one-group-out"
EVIDENCE_KFOLD = "k-fold by conversation"
EVIDENCE_UNKNOWN = "not stated"
#: share of conversations a qualified model must score (abstentions count against it)
MIN_COVERAGE = 0.8
PREDICTION_COLUMNS = [S.CONVERSATION_ID, S.AGENT_ID, S.CATEGORY, T.HUMAN, T.AUTO, CONFIDENCE, FOLD, GROUP, EVIDENCE]
AGREEMENT_COLUMNS = [S.CATEGORY, WEIGHTS_COL, EVIDENCE, N_GROUPS, S.N, N_ABSTAINED, COVERAGE, T.KAPPA, S.CI_LOW,
                     S.CI_HIGH, S.SMALL_SAMPLE]


def _check_int(name, value, low):
    return int(check_number(name, value, low=low, integer=True))


def _check_confidence(value):
    return float(check_number("min_confidence", value, low=0, high=1, high_open=True))


def _words(texts) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Whitespace words of each text, lowercased: ``(doc, word, distinct)`` with ``doc`` / ``word``
    the text and distinct-word index of every word occurrence (as ``str.split()`` then
    ``str.lower()``: split in Arrow's C++ kernel, lowercased in Python once per distinct spelling,
    which keeps Python's context rules such as the Greek final sigma)."""

    arr = pa.array(texts, type=pa.large_string(), from_pandas=True)
    lists = pc.utf8_split_whitespace(arr)
    flat = pc.list_flatten(lists)
    doc = np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
    keep = np.asarray(pc.greater(pc.binary_length(flat), 0).to_numpy(zero_copy_only=False), dtype=bool)
    if not keep.all():  # Arrow yields "" before leading / after trailing whitespace; str.split() does not
        flat, doc = flat.filter(pa.array(keep)), doc[keep]
    enc = pc.dictionary_encode(flat)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    spellings = enc.dictionary.to_pylist()
    word_of_spelling, distinct = pd.factorize(pd.Series([w.lower() for w in spellings], dtype=object))
    word = word_of_spelling[np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    return doc, word, list(distinct)


def _char_wb_grams(words: list[str], ngram_range: tuple[int, int]):
    """Every ``char_wb`` n-gram of each word: ``(word_index, grams)`` (Arrow string array).

    As sklearn's ``_char_wb_ngrams``: the word padded with one space each side (length ``L``)
    gives all its n-grams for ``n = lo .. min(hi, L)``, and a padded word shorter than ``lo``
    gives itself once. Vectorised: words sorted by length, one Arrow slice per (n, offset) over
    the words long enough (a prefix of the sorted array).
    """

    lo, hi = ngram_range
    w = pa.array(words, type=pa.large_string())
    space = pa.scalar(" ", type=pa.large_string())
    padded = pc.binary_join_element_wise(space, w, space, pa.scalar("", type=pa.large_string()))
    length = np.asarray(pc.utf8_length(padded).to_numpy(zero_copy_only=False), dtype=np.int64)
    order = np.argsort(-length, kind="stable")
    padded_sorted = padded.take(pa.array(order))
    length_sorted = length[order]
    rows, grams = [], []
    short = np.flatnonzero(length < lo)
    if len(short):
        rows.append(short)
        grams.append(padded.take(pa.array(short)))
    for n in range(lo, hi + 1):
        for off in range(0, int(length_sorted[0]) - n + 1 if len(length_sorted) else 0):
            k = int(np.searchsorted(-length_sorted, -(off + n), side="right"))  # words with length >= off + n
            if k == 0:
                break
            rows.append(order[:k])
            grams.append(pc.utf8_slice_codeunits(padded_sorted.slice(0, k), off, off + n))
    if not rows:
        return np.array([], dtype=np.int64), pa.array([], type=pa.large_string())
    return np.concatenate(rows), pa.concat_arrays(grams)


class CharWbTfidf:
    """``TfidfVectorizer(analyzer="char_wb", min_df=..., sublinear_tf=True)``, computed through words.

    Character n-grams of ``char_wb`` never cross a word (whitespace-separated, padded with one space
    each side), so a document's n-gram counts are the sum over its words of each word's n-gram
    counts: ``D = W @ C`` with ``W`` (documents x distinct words) and ``C`` (distinct words x
    n-grams). Both are built without a Python loop over words: the texts are split in Arrow, each
    distinct word is lowercased once, and the n-grams of all distinct words are Arrow slices looked
    up in the vocabulary with a C++ hash (``index_in``). The result equals sklearn's (same
    vocabulary, ``min_df``, idf and l2 norm; checked in the tests).
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 2, dtype=np.float32):
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.dtype = dtype

    def _word_matrix(self, texts):

        doc, word, distinct = _words(texts)
        W = sparse.csr_matrix((np.ones(len(doc)), (doc, word)), shape=(len(texts), len(distinct)))
        return W, distinct

    def _gram_matrix(self, distinct, vocab):
        """``C`` (distinct words x ``vocab``), n-grams outside ``vocab`` dropped."""

        rows, grams = _char_wb_grams(distinct, self.ngram_range)
        col = pc.index_in(grams, value_set=vocab)
        ok = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool)
        col = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return sparse.csr_matrix((np.ones(int(ok.sum())), (rows[ok], col[ok])), shape=(len(distinct), len(vocab)))

    def _fit_counts(self, texts):

        W, distinct = self._word_matrix(list(texts))
        _, grams = _char_wb_grams(distinct, self.ngram_range)
        vocab = pc.unique(grams)
        vocab = vocab.take(pc.sort_indices(vocab))  # sklearn's order (code points = UTF-8 bytes)
        D = (W @ self._gram_matrix(distinct, vocab)).tocsr()
        df = np.asarray((D > 0).sum(axis=0)).ravel()
        keep = np.flatnonzero(df >= self.min_df)
        if not len(keep):
            raise ParameterError(f"no character n-gram occurs in {self.min_df} or more texts: too little text to learn from")
        self.vocabulary_ = vocab.take(pa.array(keep))
        return D[:, keep]

    def fit(self, texts, y=None):

        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(self._fit_counts(texts))
        return self

    def transform(self, texts):
        W, distinct = self._word_matrix(list(texts))
        D = (W @ self._gram_matrix(distinct, self.vocabulary_)).tocsr()
        return self.tfidf_.transform(D).astype(self.dtype)

    def fit_transform(self, texts, y=None):

        D = self._fit_counts(texts)  # counted once for fit and transform
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(D)
        return self.tfidf_.transform(D).astype(self.dtype)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.vocabulary_.to_pylist(), dtype=object)

    def get_params(self, deep=True):
        return {"ngram_range": self.ngram_range, "min_df": self.min_df, "dtype": self.dtype}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self


class TextModel:
    """TF-IDF (word 1-2-grams + character 2-5-grams within words) -> logistic regression.

    Parameters
    ----------
    min_confidence : float, default=0
        Predictions whose highest class probability is below this are N/A (abstention).
    char_ngrams : tuple of int or None, default=(2, 5)
        Character n-gram range (``None``: words only, faster on very large tables).
    C : float, default=1
        Inverse regularisation strength of the logistic regression.
    seed : int, default=0
        ``random_state`` of the solver (lbfgs is deterministic; kept for the rule "every random
        step takes a seed").

    Notes
    -----
    Classes are weighted ``n / (k * n_c)`` (``class_weight="balanced"``) so a rare "failed" rating
    is not drowned by the common one. A training set with a single class predicts that class
    with confidence 1 (and warns): there is nothing to learn.

    The solver runs on one thread (``threadpoolctl``): its OpenMP threads spinning against other
    processes on a busy 2-core machine made a 2,000-text fit 15x slower (3.3 s against 0.2 s,
    same iterations and coefficients); on texts of this size a second thread gains nothing.
    """

    def __init__(self, *, min_confidence: float = 0.0, char_ngrams: tuple[int, int] | None = (2, 5),
                 C: float = 1.0, seed: int = 0):
        self.min_confidence = _check_confidence(min_confidence)
        self.char_ngrams = char_ngrams
        self.C = C
        self.seed = seed
        self.pipeline_ = None
        self.constant_ = None

    def _pipeline(self):

        feats = [("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                          lowercase=True, dtype=np.float32))]
        if self.char_ngrams is not None:  # = TfidfVectorizer(analyzer="char_wb", min_df=2, sublinear_tf=True)
            feats.append(("char", CharWbTfidf(ngram_range=tuple(self.char_ngrams), min_df=2)))
        return make_pipeline(FeatureUnion(feats), LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced",
                                                                      random_state=self.seed))

    def fit(self, texts: Sequence[str], labels: Sequence[float]) -> "TextModel":
        y = np.asarray(labels, dtype=float)
        x = [str(t) for t in texts]
        if len(x) != len(y) or len(y) == 0:
            raise ParameterError(f"texts and labels must be non-empty and of equal length; got {len(x)} and {len(y)}")
        if np.isnan(y).any():
            raise ParameterError("labels must not be N/A (drop N/A ratings before fitting)")
        classes = np.unique(y)
        if len(classes) == 1:
            warnings.warn(f"only one class ({classes[0]:g}) in the training labels: the model predicts it always",
                          UndefinedMetricWarning, stacklevel=2)
            self.constant_, self.pipeline_ = float(classes[0]), None
            return self
        self.constant_ = None

        with threadpool_limits(limits=1):  # see Notes: OpenMP threads of the solver on a busy machine
            self.pipeline_ = self._pipeline().fit(x, y)
        return self

    def predict(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(ratings, confidence)``: the most probable class (NaN = abstained) and its probability."""
        x = [str(t) for t in texts]
        if self.constant_ is not None:
            return np.full(len(x), self.constant_), np.ones(len(x))
        if self.pipeline_ is None:
            raise ParameterError("the model is not fitted: call fit(texts, labels) first")
        if not x:
            return np.array([], dtype=float), np.array([], dtype=float)
        codes, uniq = pd.factorize(pd.Series(x, dtype=object))  # identical texts (macros) predicted once

        with threadpool_limits(limits=1):
            proba = np.concatenate([self.pipeline_.predict_proba(list(uniq[i:i + PREDICT_CHUNK]))
                                    for i in range(0, len(uniq), PREDICT_CHUNK)])[codes]  # bounded memory
        classes = self.pipeline_.classes_.astype(float)
        best = proba.argmax(axis=1)
        conf = proba[np.arange(len(x)), best]
        pred = classes[best]
        pred[conf < self.min_confidence] = np.nan
        return pred, conf


@public
def documents(messages: pd.DataFrame, *, roles: Sequence[str] = ("agent",), prepared: bool = False) -> pd.DataFrame:
    """One text per conversation: the messages of ``roles`` joined by newlines, in order.

    Returns ``conversation_id, agent_id, text`` (every conversation of ``messages``; ``""`` when
    none of its messages is of ``roles``). For model input only: never shown in a report.
    """
    for r in roles:
        check_choice("roles", r, S.AUTHOR_ROLES)
    msg = messages if prepared else T.prepare(messages)
    conv = T.conversation_table(msg)

    sel = msg[msg[S.AUTHOR_ROLE].isin(list(roles))]
    code = pd.Index(conv[S.CONVERSATION_ID]).get_indexer(sel[S.CONVERSATION_ID].astype("str"))
    order = np.argsort(code, kind="stable")  # already sorted after prepare: a no-op kept for safety
    offsets = np.concatenate([[0], np.cumsum(np.bincount(code, minlength=len(conv)))]).astype(np.int64)
    texts = pa.array(sel[S.TEXT].to_numpy(dtype=object)[order], type=pa.large_string(), from_pandas=True)
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), pc.fill_null(texts, "")),
                          pa.scalar("\n", type=pa.large_string()))
    return pd.DataFrame({S.CONVERSATION_ID: conv[S.CONVERSATION_ID], S.AGENT_ID: conv[S.AGENT_ID],
                         S.TEXT: pd.array(joined, dtype="str")})


def unlabelled(category: str, categories: Any) -> ParameterError:
    """The error :func:`cross_validate` raises when no conversation with messages has a human label
    of ``category``: the ratings have no row of it (``categories``: the categories they have), or
    none of a conversation with messages (or only N/A ones). One wording, for a caller that filtered
    the ratings first (the report, on its engine) and must say what the whole table would say."""
    cats = sorted(str(c) for c in categories)
    if category not in cats:
        return ParameterError(f"category {category!r} has no ratings; categories: {cats}")
    return ParameterError(f"no conversation rated on {category!r} has messages: nothing to learn from")


@public
def human_labels(ratings: pd.DataFrame, *, category: str) -> tuple[pd.Series, list[tuple[str, str, pd.Series]]]:
    """One human rating per conversation for ``category`` (validated ratings table).

    N/A ratings are left out; a conversation rated by several reviews takes the first review
    (by ``reviewed_at``, then ``review_id``). Both are returned as exclusion records.
    """
    r = S.validate(ratings, "ratings")
    r = r[r[S.CATEGORY].eq(category)]
    if r.empty:
        raise unlabelled(category, S.validate(ratings, "ratings")[S.CATEGORY].unique())
    ids = r[S.REVIEW_ID].astype("str") + " / " + category
    excl = [("human rating N/A: not a label", S.RATING, ids[r[S.RATING].isna()])]
    r = r[r[S.RATING].notna()]
    r = r.sort_values([S.CONVERSATION_ID, S.REVIEWED_AT, S.REVIEW_ID], kind="stable", na_position="last")
    later = r[S.CONVERSATION_ID].duplicated(keep="first")
    excl.append(("conversation reviewed more than once: the first review is the label", S.REVIEW_ID,
                 r.loc[later, S.REVIEW_ID].astype("str") + " / " + category))
    r = r[~later]
    return r.set_index(S.CONVERSATION_ID)[S.RATING], excl


def _conversation_groups(msg: pd.DataFrame, groups: str) -> pd.Series:
    """The group of each conversation: the first non-missing value of column ``groups``, or the
    UTC month (``YYYY-MM``) of its first message for ``groups="month"``."""
    if not isinstance(groups, str):
        raise ParameterError(f"groups must be a column name of messages or 'month'; got {groups!r}")
    if groups in msg.columns:
        v = msg[[S.CONVERSATION_ID, groups]].dropna(subset=[groups])
        v = v[v[groups].astype("str").str.strip().ne("")]
        return v.drop_duplicates(S.CONVERSATION_ID).set_index(S.CONVERSATION_ID)[groups].astype("str")
    if groups == "month":
        first = msg.groupby(S.CONVERSATION_ID, sort=False)[S.SENT_AT].min()
        month = first.dt.tz_convert("UTC").dt.strftime("%Y-%m")
        return month.where(first.notna()).astype("str")
    raise ParameterError(f"groups={groups!r} is not a column of messages (columns: {list(msg.columns)}) nor 'month'")


@public
def cross_validate(
    messages: pd.DataFrame,
    ratings: pd.DataFrame,
    *,
    category: str,
    n_splits: int = 5,
    seed: int = 0,
    min_confidence: float = 0.0,
    roles: Sequence[str] = ("agent",),
    turn_labels: pd.DataFrame | None = None,
    aggregate: str = "min",
    char_ngrams: tuple[int, int] | None = (2, 5),
    groups: str | None = None,
) -> pd.DataFrame:
    """Out-of-fold automatic ratings of ``category`` beside the human ratings: leave one group
    (client, team, month) out, or k folds of conversations.

    Parameters
    ----------
    messages : pandas.DataFrame
        The messages table.
    ratings : pandas.DataFrame
        Human ratings (long format); the conversation-level label of ``category``.
    category : str
    n_splits : int, default=5
        Folds of ``StratifiedGroupKFold`` (groups = conversations, shuffled with ``seed``).
    seed : int, default=0
    min_confidence : float, default=0
        Abstain (N/A) below this predicted probability.
    roles : tuple of str, default=("agent",)
        Whose messages the model reads.
    turn_labels : pandas.DataFrame, optional
        Message-level human labels (``message_id`` and a column named ``category``, e.g. MAIA's
        turn labels): the model is trained on single messages instead of whole conversations and
        its message predictions are combined per conversation with ``aggregate``; the folds stay
        grouped by conversation.
    aggregate : {"min", "max", "mean"}, default="min"
        How message predictions make the conversation rating (``"min"``: one failed message fails
        the conversation; ``"mean"`` is rounded to the nearest observed rating).
    char_ngrams : tuple of int or None, default=(2, 5)
    groups : str, optional
        Leave one group out: a column of ``messages`` naming each conversation's client, team,
        subset ... (its first non-missing value per conversation), or ``"month"`` (the UTC month of
        the conversation's first message, when ``messages`` has no ``month`` column). Every
        conversation is predicted by a model trained on the *other* groups only: the evidence
        :func:`qualification` asks for. Without ``groups``: ``n_splits`` folds of conversations,
        which says how the model does on new conversations of the *same* clients and months.

    Returns
    -------
    pandas.DataFrame
        ``conversation_id, agent_id, category, human, auto`` (NaN = abstained), ``confidence``,
        ``fold``, ``group`` (the held-out group; missing with k-fold), ``evidence``
        (``"leave-one-group-out"`` or ``"k-fold by conversation"``); one row per conversation with
        a human rating and messages. Left-out rows are itemised in :func:`qakit.schema.exclusions`.

    Notes
    -----
    No conversation is ever predicted by a model trained on any of its own messages. With
    ``groups``, none is predicted by a model that saw its group: a client's own wording, products
    and macros cannot leak into its evaluation, which is what a new client will face (on
    MAIA-DQE, k-fold kappa 0.34 for Understanding fell to 0.00 leaving a client out).

    Examples
    --------
    >>> m = pd.DataFrame({"conversation_id": [f"c{i}" for i in range(8) for _ in (0, 1)],
    ...     "message_id": [f"m{i}" for i in range(16)], "author_role": ["customer", "agent"] * 8,
    ...     "agent_id": [None, "a"] * 8, "sent_at": None, "client": [c for c in "AAAABBBB" for _ in (0, 1)],
    ...     "text": [t for i in range(8) for t in ("hi", ["thanks so much", "whatever"][i % 2])]})
    >>> r = pd.DataFrame({"review_id": [f"r{i}" for i in range(8)], "conversation_id": [f"c{i}" for i in range(8)],
    ...     "agent_id": "a", "reviewer_id": "qa", "reviewed_at": None, "category": "Tone",
    ...     "rating": [1.0, 0.0] * 4})
    >>> p = cross_validate(m, r, category="Tone", groups="client", char_ngrams=None)
    >>> p[["conversation_id", "group", "human", "auto", "evidence"]].head(3)
      conversation_id group  human  auto             evidence
    0              c0     A    1.0   1.0  leave-one-group-out
    1              c1     A    0.0   0.0  leave-one-group-out
    2              c2     A    1.0   1.0  leave-one-group-out
    """

    n_splits = _check_int("n_splits", n_splits, 2)
    min_confidence = _check_confidence(min_confidence)
    check_choice("aggregate", aggregate, AGGREGATES)
    msg = T.prepare(messages)
    labels, excl = human_labels(ratings, category=category)
    docs = documents(msg, roles=roles, prepared=True).set_index(S.CONVERSATION_ID)
    no_msg = labels.index.difference(docs.index)
    excl.append(("rated conversation without messages", S.CONVERSATION_ID, pd.Series(no_msg)))
    labels = labels[labels.index.isin(docs.index)]
    if labels.empty:
        raise unlabelled(category, [category])
    if turn_labels is not None:
        if not {S.MESSAGE_ID, category} <= set(turn_labels.columns):
            raise ParameterError(f"turn_labels needs columns 'message_id' and {category!r}; has {list(turn_labels.columns)}")
        tl = turn_labels[[S.MESSAGE_ID, category]].astype({S.MESSAGE_ID: "str"})
        units = msg[msg[S.AUTHOR_ROLE].isin(list(roles))][[S.CONVERSATION_ID, S.MESSAGE_ID, S.TEXT]]
        units = units.merge(tl, on=S.MESSAGE_ID, how="left")
        units = units[units[S.CONVERSATION_ID].isin(labels.index)]
        unit_y = pd.to_numeric(units[category], errors="coerce").to_numpy(dtype=float)
        unit_text = units[S.TEXT].to_numpy(dtype=object)
        unit_group = units[S.CONVERSATION_ID].to_numpy(dtype=object)
    else:
        unit_group = labels.index.to_numpy(dtype=object)
        unit_text = docs.loc[labels.index, S.TEXT].to_numpy(dtype=object)
        unit_y = labels.to_numpy(dtype=float)
    if groups is not None:
        group_of = _conversation_groups(msg, groups).reindex(labels.index)
        excl.append((f"no {groups!r} value: in no held-out group", groups, pd.Series(labels.index[group_of.isna()])))
        keep = group_of.notna().to_numpy()
        labels, group_of = labels[keep], group_of[keep]
        if turn_labels is not None:
            unit_keep = pd.Index(labels.index).get_indexer(unit_group) >= 0
            unit_group, unit_text, unit_y = unit_group[unit_keep], unit_text[unit_keep], unit_y[unit_keep]
        else:
            unit_group = labels.index.to_numpy(dtype=object)
            unit_text = docs.loc[labels.index, S.TEXT].to_numpy(dtype=object)
            unit_y = labels.to_numpy(dtype=float)
    conv_ids = labels.index.to_numpy(dtype=object)
    conv_code = pd.Index(conv_ids).get_indexer(unit_group)
    if groups is not None:
        fold_of_conv, names = pd.factorize(group_of.to_numpy(dtype=object), sort=True)
        k = len(names)
        if k < 2:
            raise ParameterError(f"groups={groups!r}: the rated conversations fall in {k} group(s) "
                                 f"({[str(n) for n in names]}); leaving one group out needs at least 2")
        group_col = np.asarray(names, dtype=object)[fold_of_conv]
        evidence = EVIDENCE_GROUPS
    else:  # folds over conversations, stratified by the conversation label
        k = min(n_splits, int(pd.Series(labels.to_numpy()).value_counts().max()), len(conv_ids))
        if k < 2:
            raise ParameterError(f"{category!r}: too few rated conversations ({len(conv_ids)}) for {n_splits}-fold cross-validation")
        if k < n_splits:
            warnings.warn(f"{category!r}: only {k} folds possible (largest class has {k} conversations)",
                          UndefinedMetricWarning, stacklevel=2)
        fold_of_conv = np.empty(len(conv_ids), dtype=int)
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            for f, (_, test) in enumerate(splitter.split(np.zeros(len(conv_ids)), labels.to_numpy(), groups=conv_ids)):
                fold_of_conv[test] = f
        group_col = np.full(len(conv_ids), None, dtype=object)
        evidence = EVIDENCE_KFOLD
    unit_fold = fold_of_conv[conv_code]
    pred = np.full(len(unit_y), np.nan)
    conf = np.full(len(unit_y), np.nan)
    for f in range(k):  # k model fits
        train = (unit_fold != f) & ~np.isnan(unit_y)
        test = unit_fold == f
        model = TextModel(min_confidence=0.0, char_ngrams=char_ngrams, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)  # a single-class fold predicts that class
            model.fit(unit_text[train], unit_y[train])
        pred[test], conf[test] = model.predict(unit_text[test])
    if turn_labels is not None:
        frame = pd.DataFrame({"_c": conv_code, "p": pred, "q": conf})
        g = frame.groupby("_c")
        if aggregate == "mean":
            values = np.unique(unit_y[~np.isnan(unit_y)])
            m = g["p"].mean()
            agg = pd.Series(values[np.abs(m.to_numpy()[:, None] - values[None, :]).argmin(axis=1)], index=m.index)
        else:
            agg = getattr(g["p"], aggregate)()
        auto = agg.reindex(np.arange(len(conv_ids))).to_numpy()
        confidence = g["q"].min().reindex(np.arange(len(conv_ids))).to_numpy()
    else:
        auto, confidence = pred, conf
    auto = np.where(confidence >= min_confidence, auto, np.nan)
    out = pd.DataFrame({
        S.CONVERSATION_ID: conv_ids.astype("str"),
        S.AGENT_ID: docs.loc[conv_ids, S.AGENT_ID].to_numpy(),
        S.CATEGORY: category, T.HUMAN: labels.to_numpy(dtype=float), T.AUTO: auto, CONFIDENCE: confidence,
        FOLD: fold_of_conv, GROUP: pd.array(group_col, dtype="str"), EVIDENCE: evidence,
    })
    for reason, column, ids in excl:
        S.add_exclusion(out, reason, column, ids)
    return out


def _kappa_many(a: np.ndarray, b: np.ndarray, V: int, weights: str | None) -> np.ndarray:
    """Kappa for each row of the code matrices ``a``, ``b`` (replicates x units, codes 0..V-1).

    ``p_o = sum w_ij p_ij``, ``p_e = sum w_ij p_i. p_.j``, ``kappa = (p_o - p_e) / (1 - p_e)`` with
    agreement weights ``w_ij`` = identity, ``1 - |i-j|/(V-1)`` or ``1 - (i-j)^2/(V-1)^2``.
    """
    B, n = a.shape
    idx = (np.arange(B)[:, None] * V * V + a * V + b).ravel()
    p = np.bincount(idx, minlength=B * V * V).reshape(B, V, V) / n
    d = np.abs(np.arange(V)[:, None] - np.arange(V)[None, :]) / max(V - 1, 1)
    w = np.eye(V) if weights is None else (1 - d if weights == "linear" else 1 - d**2)
    po = (p * w).sum(axis=(1, 2))
    pe = np.einsum("bi,ij,bj->b", p.sum(axis=2), w, p.sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pe < 1 - 1e-12, (po - pe) / (1 - pe), np.nan)


@public
def kappa_agreement(
    predictions: pd.DataFrame,
    *,
    weights: str | None | Mapping[str, str | None] = None,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Cohen's kappa between automatic and human ratings per category, with a bootstrap CI.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``category, human, auto`` per conversation (:func:`cross_validate`); abstentions
        (``auto`` N/A) are counted, not compared. Optional ``group`` (the held-out group) and
        ``evidence`` columns are used as described in Notes.
    weights : {None, "linear", "quadratic"} or mapping category -> weights, default=None
        Quadratic for ordinal scales (e.g. 1-5), None for binary / nominal ones.
    by : str or list of str, optional
        Also split by these columns of ``predictions`` (e.g. ``"group"``: the kappa of each
        held-out client).
    level : float, default=0.95
    n_resamples : int, default=2000
    seed : int, default=0

    Returns
    -------
    pandas.DataFrame
        ``*by, category, weights, evidence`` (how the predictions were made; ``"not stated"``
        without an ``evidence`` column), ``n_groups`` (held-out groups; 0 with k-fold), ``n``
        (conversations compared), ``n_abstained``, ``coverage`` (compared / (compared +
        abstained)), ``kappa``, ``ci_low``, ``ci_high`` (percentile bootstrap over
        conversations), ``small_sample`` (``n < 30``).

    Notes
    -----
    The point estimate is :func:`qakit.calibration.cohen_kappa` (values: the union of the
    ratings both sides used, in order). The CI resamples conversations with replacement
    ``n_resamples`` times (``numpy.random.default_rng(seed)``) and takes the
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the replicate kappas (undefined
    replicates, where one side is constant, are left out). With a ``group`` column the resampling
    is stratified: each held-out group keeps its number of conversations, so the interval
    describes conversation-to-conversation variation within these clients; how much another
    client differs shows in the per-group kappas (``by="group"``), not in this interval.

    Examples
    --------
    >>> p = pd.DataFrame({"category": "Tone", "human": [1, 1, 0, 0, 1, 1, 0, 1],
    ...                   "auto": [1, 1, 0, 1, 1, 1, 0, np.nan]})
    >>> k = kappa_agreement(p, n_resamples=200)
    >>> k[["category", "n", "n_abstained", "kappa"]]  # 7 pairs: po = 6/7, pe = 4/7*5/7 + 3/7*2/7 = 26/49
      category  n  n_abstained  kappa
    0     Tone  7            1  0.695652
    """

    level = check_level(level)
    n_resamples = _check_int("n_resamples", n_resamples, 100)
    seed = _check_int("seed", seed, 0)
    need = [S.CATEGORY, T.HUMAN, T.AUTO]
    if not isinstance(predictions, pd.DataFrame) or not set(need) <= set(predictions.columns):
        raise ParameterError(f"predictions must be a DataFrame with columns {need} (see cross_validate)")
    by = as_by(by)
    missing = [c for c in by if c not in predictions.columns]
    if missing:
        raise ParameterError(f"by: {missing} not in predictions (columns: {list(predictions.columns)})")
    rng = np.random.default_rng(seed)
    records = []
    for key, sub in predictions.groupby([*by, S.CATEGORY], sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        cat = key[-1]
        w = weights.get(cat) if isinstance(weights, Mapping) else weights
        check_choice("weights", w, WEIGHTS)
        h = pd.to_numeric(sub[T.HUMAN], errors="coerce").to_numpy(dtype=float)
        a = pd.to_numeric(sub[T.AUTO], errors="coerce").to_numpy(dtype=float)
        abst = int((~np.isnan(h) & np.isnan(a)).sum())
        both = ~np.isnan(h) & ~np.isnan(a)
        grp = (sub[GROUP].astype("object").where(sub[GROUP].notna(), None).to_numpy(dtype=object)
               if GROUP in sub.columns else np.full(len(sub), None, dtype=object))
        ev = pd.unique(sub[EVIDENCE].dropna().astype("str")) if EVIDENCE in sub.columns else []
        n_groups = len({g for g in grp if g is not None})
        h, a, grp = h[both], a[both], grp[both]
        n = len(h)
        rec = {**dict(zip(by, key[:-1])), S.CATEGORY: cat, WEIGHTS_COL: w,
               EVIDENCE: ev[0] if len(ev) == 1 else ("mixed" if len(ev) else EVIDENCE_UNKNOWN), N_GROUPS: n_groups,
               S.N: n, N_ABSTAINED: abst, COVERAGE: n / (n + abst) if n + abst else np.nan, T.KAPPA: np.nan,
               S.CI_LOW: np.nan, S.CI_HIGH: np.nan}
        if n:
            long = pd.DataFrame({S.REVIEW_ID: [f"h{i}" for i in range(n)] + [f"a{i}" for i in range(n)],
                                 S.CONVERSATION_ID: [f"u{i}" for i in range(n)] * 2,
                                 S.REVIEWER_ID: [T.HUMAN] * n + [T.AUTO] * n, S.CATEGORY: str(cat),
                                 S.RATING: np.concatenate([h, a])})
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always", UndefinedMetricWarning)
                k = cohen_kappa(long, reviewers=(T.HUMAN, T.AUTO), weights=w, level=level)
            rec[T.KAPPA] = float(k[T.KAPPA].iloc[0])
            values = np.union1d(h, a)
            hc, ac = np.searchsorted(values, h), np.searchsorted(values, a)
            draw = _stratified_draws(rng, grp, n_resamples)
            reps = _kappa_many(hc[draw], ac[draw], len(values), w)
            reps = reps[np.isfinite(reps)]
            if len(reps) >= 0.5 * n_resamples and np.isfinite(rec[T.KAPPA]):
                rec[S.CI_LOW], rec[S.CI_HIGH] = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
        if not np.isfinite(rec[T.KAPPA]):
            warnings.warn(f"kappa undefined for {cat!r} (no pairs, or both sides constant)", UndefinedMetricWarning,
                          stacklevel=2)
        records.append(rec)
    out = pd.DataFrame.from_records(records, columns=[*by, *AGREEMENT_COLUMNS[:-1]])
    out[S.SMALL_SAMPLE] = out[S.N] < MIN_N
    out.attrs.update(predictions.attrs)
    return out


def _stratified_draws(rng: np.random.Generator, groups: np.ndarray, n_resamples: int) -> np.ndarray:
    """Bootstrap row indices (``n_resamples x n``), resampled within each group (one group when
    none is given): each group keeps its size in every replicate."""
    n = len(groups)
    keys = pd.factorize(pd.Series(groups, dtype=object).fillna("\x00none"))[0]
    if keys.max(initial=0) == 0:
        return rng.integers(0, n, size=(n_resamples, n))
    cols = []
    for g in range(keys.max() + 1):  # a handful of held-out groups
        idx = np.flatnonzero(keys == g)
        cols.append(idx[rng.integers(0, len(idx), size=(n_resamples, len(idx)))])
    return np.concatenate(cols, axis=1)


@public
def qualification(
    agreement: pd.DataFrame,
    *,
    human_human: pd.DataFrame | Mapping[str, float] | None = None,
    threshold: float | None = None,
    min_n: int = MIN_N,
    min_coverage: float = MIN_COVERAGE,
    held_out: bool = True,
) -> pd.DataFrame:
    """Which categories qualify for automatic scoring, and why.

    Parameters
    ----------
    agreement : pandas.DataFrame
        :func:`kappa_agreement` output (its ``ci_low``, ``coverage`` and ``evidence``).
    human_human : DataFrame or mapping, optional
        Human-human kappa per category: a mapping, or a :func:`qakit.calibration.pairwise_kappa`
        / :func:`qakit.calibration.cohen_kappa` result (mean ``kappa`` over reviewer pairs).
    threshold : float, optional
        A kappa every category must reach instead (when given, it is the target).
    min_n : int, default=30
        Fewer compared conversations never qualify.
    min_coverage : float, default=0.8
        The share of conversations the model must score (it abstains on the rest): a model that
        abstains on 70 % and is right on the other 30 % does not qualify.
    held_out : bool, default=True
        Ask for leave-one-group-out evidence (:func:`cross_validate` with ``groups=``); with
        False, k-fold evidence is accepted (not recommended: it overstates what a new client gets).

    Returns
    -------
    pandas.DataFrame
        The agreement columns plus ``human_human_kappa``, ``target``, ``n_needed`` (for a
        category held back only by its interval: the conversations to compare for the lower
        bound to reach the target, if kappa and its spread stayed as measured), ``qualifies``
        (bool) and ``reason`` (every unmet condition, or why it qualifies).

    Notes
    -----
    ``qualifies = evidence is leave-one-group-out and n >= min_n and coverage >= min_coverage
    and ci_low >= target``: the gate is the interval's *lower bound*, not the point estimate. A
    model whose true kappa is 0.5 has a point estimate >= 0.6 in about 25-34 % of samples of 30
    conversations; its 95 % lower bound reaches 0.6 in at most about 2.5 %.
    ``target = threshold`` if given, else the human-human kappa; no target -> not qualified.
    ``n_needed = ceil(n * ((kappa - ci_low) / (kappa - target))^2)`` (the interval narrows as
    ``1 / sqrt(n)``), at least ``min_n``; N/A when the point estimate itself is below the target
    (no sample size lifts it).

    Examples
    --------
    >>> a = pd.DataFrame({"category": ["Tone", "Greeting", "Empathy"], "evidence": "leave-one-group-out",
    ...                   "n": [120, 120, 400], "coverage": 1.0, "kappa": [0.52, 0.81, 0.66],
    ...                   "ci_low": [0.40, 0.74, 0.58], "ci_high": [0.64, 0.88, 0.74]})
    >>> q = qualification(a, threshold=0.6)
    >>> q[["category", "qualifies", "n_needed"]]  # Empathy: ceil(400 * (0.08 / 0.06)^2) = 712
       category  qualifies  n_needed
    0      Tone      False       NaN
    1  Greeting       True       NaN
    2   Empathy     False     712.0
    """
    min_n = _check_int("min_n", min_n, 1)
    check_number("threshold", threshold, low=-1, high=1, none=True)
    check_number("min_coverage", min_coverage, low=0, high=1)
    if not isinstance(agreement, pd.DataFrame) or not {S.CATEGORY, S.N, T.KAPPA} <= set(agreement.columns):
        raise ParameterError("agreement must be a DataFrame with columns 'category', 'n', 'kappa' (kappa_agreement)")
    if isinstance(human_human, pd.DataFrame):
        if not {S.CATEGORY, T.KAPPA} <= set(human_human.columns):
            raise ParameterError("human_human must have columns 'category' and 'kappa' (e.g. calibration.pairwise_kappa)")
        hh = human_human.groupby(S.CATEGORY)[T.KAPPA].mean().to_dict()
    else:
        hh = dict(human_human or {})
    out = agreement.copy()
    for col, default in ((S.CI_LOW, np.nan), (S.CI_HIGH, np.nan), (COVERAGE, np.nan), (EVIDENCE, EVIDENCE_UNKNOWN)):
        if col not in out.columns:
            out[col] = default
    out[HUMAN_HUMAN_KAPPA] = out[S.CATEGORY].map(hh).astype("float64")
    out[TARGET] = float(threshold) if threshold is not None else out[HUMAN_HUMAN_KAPPA]
    what = "the threshold" if threshold is not None else "human-human agreement"
    reasons, ok, needed = [], [], []
    for row in out.to_dict("records"):  # one row per category
        k, t, n, lo, hi = row[T.KAPPA], row[TARGET], int(row[S.N]), row[S.CI_LOW], row[S.CI_HIGH]
        cov, ev = row[COVERAGE], str(row[EVIDENCE])
        fails = []
        if held_out and ev != EVIDENCE_GROUPS:
            fails.append(f"evidence is {ev}, not leave-one-group-out (cross_validate(groups=...)): "
                         "a new client may agree less")
        if n < min_n:
            fails.append(f"only {n} conversations compared (< {min_n})")
        if not (isinstance(cov, float) and np.isfinite(cov)) or cov < min_coverage:
            fails.append(f"coverage {cov:.0%} < {min_coverage:.0%} (the model abstained on the rest)"
                         if np.isfinite(cov) else "coverage unknown")
        if not np.isfinite(k):
            fails.append("kappa undefined")
        elif not np.isfinite(t):
            fails.append("no human-human agreement measured and no threshold set")
        elif not np.isfinite(lo):
            fails.append(f"kappa {k:.2f} has no interval")
        elif lo < t:
            fails.append(f"kappa {k:.2f} [{lo:.2f}, {hi:.2f}]: the lower bound is below {what} {t:.2f}"
                         + ("" if k >= t else " and so is the point estimate"))
        need = np.nan
        if fails and np.isfinite(k) and np.isfinite(t) and np.isfinite(lo) and k > t:
            need = float(max(min_n, int(np.ceil(n * ((k - lo) / (k - t)) ** 2 - 1e-9))))
        ok.append(not fails)
        needed.append(need)
        reasons.append("; ".join(fails) if fails else
                       f"kappa {k:.2f} [{lo:.2f}, {hi:.2f}]: the lower bound reaches {what} {t:.2f}, "
                       f"coverage {cov:.0%}, evidence {ev}")
    out[N_NEEDED] = np.asarray(needed, dtype="float64")
    out[QUALIFIES] = np.asarray(ok, dtype=bool)
    out[REASON] = reasons
    return out


__all__ = ["TextModel", "documents", "human_labels", "cross_validate", "kappa_agreement", "qualification"]
