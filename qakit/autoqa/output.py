"""Automatic ratings as ratings, the AQS kept apart from the IQS, and risk flags for sampling.

- :func:`learned_ratings`: score every conversation with a model trained on the team's ratings.
- :func:`auto_ratings`: rule and model results in the long ratings format (``reviewer_id =
  "auto"``, a ``source`` column), ready for :meth:`qakit.Scorecard.score`.
- :func:`aqs_score`: the Automatic Quality Score per group (the scorecard engine on automatic
  ratings only; mixing in human ratings is refused).
- :func:`aqs_vs_iqs`: AQS and IQS per agent side by side, each with its CI.
- :func:`risk_signals` / :func:`sample_for_review`: automatic flags (long conversations, many
  replies, escalation words, negative customer sentiment) as the size measure of
  :func:`qakit.sampling.sample_risk_based`, so humans review the risky conversations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from .. import schema as S
from .._public import public
from ..errors import ParameterError, check_choice
from ..intervals import MIN_N, as_by, check_level
from ..metrics import _source as B
from . import _text as T
from .learned import AGGREGATES, CONFIDENCE, SOURCE_MODEL, TextModel, documents, human_labels
from .rules import Rule
from ..scorecard import iqs_score
from .rules import detect
from .lexicon import SENTIMENT
from ..sampling import sample_risk_based

MEASURE = "measure"
VALUE = "score"
N_REVIEWS = "n"
LONG_CONVERSATION = "long_conversation"
MANY_REPLIES = "many_replies"
ESCALATION = "escalation_words"
NEGATIVE_SENTIMENT = "negative_sentiment"
AUTO_FAILED = "auto_failed"
RISK = "risk"
RISK_WEIGHTS = {LONG_CONVERSATION: 1.0, MANY_REPLIES: 1.0, ESCALATION: 2.0, NEGATIVE_SENTIMENT: 2.0, AUTO_FAILED: 2.0}

#: customer phrases that signal an escalation (risk flag, not a quality category)
ESCALATION_RULE = Rule("Escalation", author="customer", window="any", phrases={
    "en": ["manager", "supervisor", "complaint", "complain", "lawyer", "legal action", "cancel my",
           "unacceptable", "ridiculous", "worst", "never again", "report you", "escalate"],
    "de": ["vorgesetzten", "vorgesetzte", "beschwerde", "beschweren", "anwalt", "rechtliche schritte",
           "kündigen", "kündigung", "inakzeptabel", "unverschämt", "frechheit", "nie wieder"],
    "pt": ["gerente", "supervisor", "reclamação", "reclamar", "procon", "advogado", "processar",
           "cancelar", "inaceitável", "absurdo", "ridículo", "nunca mais", "reclame aqui"]})


@public
def learned_ratings(
    messages: pd.DataFrame,
    ratings: pd.DataFrame,
    *,
    category: str,
    min_confidence: float = 0.0,
    seed: int = 0,
    roles: Sequence[str] = ("agent",),
    turn_labels: pd.DataFrame | None = None,
    aggregate: str = "min",
    char_ngrams: tuple[int, int] | None = (2, 5),
    min_words: int = T.MIN_WORDS,
    prepared: bool = False,
) -> pd.DataFrame:
    """Rate every conversation of ``messages`` on ``category`` with a model trained on the humans.

    Trains one :class:`~qakit.autoqa.learned.TextModel` on all conversations (or, with
    ``turn_labels``, messages) the humans rated, then predicts every eligible conversation.
    Check first with :func:`~qakit.autoqa.learned.cross_validate` and
    :func:`~qakit.autoqa.learned.qualification` whether the category may be scored this way.

    ``prepared=True``: ``messages`` already went through the internal ordering step (as in
    :func:`qakit.autoqa.detect`), so it is not validated twice.

    Returns
    -------
    pandas.DataFrame
        ``conversation_id, agent_id, category, rating`` (NaN = abstained or not eligible),
        ``eligible``, ``confidence``, ``source`` (``"model"``); ineligible and abstained
        conversations are itemised.

    Notes
    -----
    Conversations the model was trained on get in-sample predictions (optimistic); the
    agreement to quote is the cross-validated one.
    """
    check_choice("aggregate", aggregate, AGGREGATES)
    msg = messages if prepared else T.prepare(messages)
    conv = T.conversation_table(msg, min_words=min_words)
    labels, label_exclusions = human_labels(ratings, category=category)
    docs = documents(msg, roles=roles, prepared=True).set_index(S.CONVERSATION_ID)
    model = TextModel(min_confidence=min_confidence, char_ngrams=char_ngrams, seed=seed)
    eligible = conv[T.ELIGIBLE].to_numpy()
    ids = conv[S.CONVERSATION_ID].to_numpy(dtype=object)
    rating = np.full(len(conv), np.nan)
    conf = np.full(len(conv), np.nan)
    if turn_labels is None:
        train = labels[labels.index.isin(docs.index)]
        if train.empty:
            raise ParameterError(f"no conversation rated on {category!r} is in messages: nothing to learn from")
        model.fit(docs.loc[train.index, S.TEXT].to_numpy(dtype=object), train.to_numpy(dtype=float))
        rating[eligible], conf[eligible] = model.predict(docs.loc[ids[eligible], S.TEXT].to_numpy(dtype=object))
    else:
        if not {S.MESSAGE_ID, category} <= set(turn_labels.columns):
            raise ParameterError(f"turn_labels needs columns 'message_id' and {category!r}")
        units = msg[msg[S.AUTHOR_ROLE].isin(list(roles))][[S.CONVERSATION_ID, S.MESSAGE_ID, S.TEXT]]
        y = units[S.MESSAGE_ID].map(turn_labels.astype({S.MESSAGE_ID: "str"}).set_index(S.MESSAGE_ID)[category])
        y = pd.to_numeric(y, errors="coerce")
        lab = y.notna().to_numpy()
        model.fit(units.loc[lab, S.TEXT].to_numpy(dtype=object), y[lab].to_numpy(dtype=float))
        p, q = model.predict(units[S.TEXT].to_numpy(dtype=object))
        frame = pd.DataFrame({S.CONVERSATION_ID: units[S.CONVERSATION_ID].to_numpy(), "p": p, "q": q})
        g = frame.groupby(S.CONVERSATION_ID, sort=False)
        if aggregate == "mean":
            values = np.unique(y[lab])
            m = g["p"].mean()
            agg = pd.Series(values[np.abs(m.to_numpy()[:, None] - values[None, :]).argmin(axis=1)], index=m.index)
        else:
            agg = getattr(g["p"], aggregate)()
        rating = np.where(eligible, agg.reindex(ids).to_numpy(dtype=float), np.nan)
        conf = np.where(eligible, g["q"].min().reindex(ids).to_numpy(dtype=float), np.nan)
    abstained = eligible & np.isnan(rating)
    out = pd.DataFrame({S.CONVERSATION_ID: ids.astype("str"), S.AGENT_ID: conv[S.AGENT_ID].to_numpy(),
                        S.CATEGORY: category, S.RATING: rating, T.ELIGIBLE: eligible, CONFIDENCE: conf,
                        T.SOURCE: SOURCE_MODEL})
    S.add_exclusion(out, f"not eligible for automatic scoring (needs >= 1 customer and >= 1 agent message "
                         f"and >= {min_words} words): rated N/A", S.TEXT, ids[~eligible])
    S.add_exclusion(out, f"model abstained (confidence < {model.min_confidence:g}): rated N/A", S.RATING,
                    ids[abstained])
    for reason, column, excluded in label_exclusions:  # human ratings the model could not learn from
        S.add_exclusion(out, f"training label: {reason}", column, excluded)
    return out


@public
def auto_ratings(*results: pd.DataFrame, reviewed_at=None) -> pd.DataFrame:
    """Automatic results (:func:`qakit.autoqa.detect`, :func:`learned_ratings`) as one ratings table.

    Parameters
    ----------
    *results : pandas.DataFrame
        Each with ``conversation_id, agent_id, category, rating, source``.
    reviewed_at : timestamp-like, optional
        Stamped on every row (default: missing).

    Returns
    -------
    pandas.DataFrame
        The ratings contract, validated: ``review_id = "auto:<conversation_id>"``,
        ``conversation_id, agent_id``, ``reviewer_id = "auto"``, ``reviewed_at``, ``category``,
        ``rating`` (NaN = N/A), plus ``source`` (``"rule"`` / ``"model"``). Exclusion records
        of the inputs are kept.

    Examples
    --------
    >>> d = pd.DataFrame({"conversation_id": ["c1", "c2"], "agent_id": "a1", "category": "Greeting",
    ...                   "rating": [1.0, float("nan")], "source": "rule"})
    >>> auto_ratings(d)[["review_id", "reviewer_id", "category", "rating", "source"]]
      review_id reviewer_id  category  rating source
    0   auto:c1        auto  Greeting     1.0   rule
    1   auto:c2        auto  Greeting     NaN   rule
    """
    if not results:
        raise ParameterError("auto_ratings needs at least one result of detect() or learned_ratings()")
    need = [S.CONVERSATION_ID, S.AGENT_ID, S.CATEGORY, S.RATING, T.SOURCE]
    for i, r in enumerate(results):
        if not isinstance(r, pd.DataFrame) or not set(need) <= set(r.columns):
            raise ParameterError(f"result {i} must be a DataFrame with columns {need}")
    both = pd.concat([r[need] for r in results], ignore_index=True)
    out = pd.DataFrame({
        S.REVIEW_ID: "auto:" + both[S.CONVERSATION_ID].astype("str"),
        S.CONVERSATION_ID: both[S.CONVERSATION_ID], S.AGENT_ID: both[S.AGENT_ID],
        S.REVIEWER_ID: T.AUTO_REVIEWER,
        S.REVIEWED_AT: pd.Series(pd.NaT if reviewed_at is None else pd.Timestamp(reviewed_at), index=both.index),
        S.CATEGORY: both[S.CATEGORY], S.RATING: both[S.RATING].astype("float64"), T.SOURCE: both[T.SOURCE],
    })
    out = S.validate(out, "ratings")  # a category rated twice (rule and model) is a duplicate key: refused
    return S.carry_records(out, *results)


def _check_auto(ratings: pd.DataFrame) -> None:
    if not isinstance(ratings, pd.DataFrame) or S.REVIEWER_ID not in ratings.columns:
        raise ParameterError("auto ratings must be a DataFrame from auto_ratings()")
    human = ratings[S.REVIEWER_ID].astype("str").ne(T.AUTO_REVIEWER)
    if human.any():
        raise ParameterError(
            f"AQS is computed from automatic ratings only (reviewer_id {T.AUTO_REVIEWER!r}); got {int(human.sum())} "
            f"human rating(s), e.g. review ids {ratings.loc[human, S.REVIEW_ID].astype('str').head(5).tolist()}: "
            "AQS and IQS are never mixed")


@public
def aqs_score(auto: pd.DataFrame, card, *, by: str | Sequence[str] | None = None, level: float = 0.95,
              min_n: int = MIN_N) -> pd.DataFrame:
    """AQS (Automatic Quality Score): the scorecard engine on automatic ratings only.

    Parameters
    ----------
    auto : pandas.DataFrame
        :func:`auto_ratings` output (every ``reviewer_id`` must be ``"auto"``).
    card : qakit.Scorecard
        A card whose categories are the automatic ones (rule and/or learned).
    by : str or list of str, optional
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        ``*by, n, aqs, ci_low, ci_high, pass_rate, n_excluded, small_sample`` as
        :func:`qakit.iqs_score`, with ``iqs`` renamed ``aqs``.

    Notes
    -----
    Review score per conversation exactly as the IQS (``card.score``), ``AQS = mean`` of the
    conversations' scores, Student-t CI. All-N/A conversations (not eligible) are excluded and
    itemised.

    Examples
    --------
    >>> import qakit
    >>> card = qakit.Scorecard([qakit.Category("Greeting"), qakit.Category("Thanks")])
    >>> d = pd.DataFrame({"conversation_id": ["c1", "c1", "c2", "c2"], "agent_id": "a1",
    ...                   "category": ["Greeting", "Thanks"] * 2, "rating": [1.0, 0, 1, 1], "source": "rule"})
    >>> aqs_score(auto_ratings(d), card)[["n", "aqs"]]  # (50 + 100) / 2
       n   aqs
    0  2  75.0
    """

    _check_auto(auto)
    level = check_level(level)
    scores = card.score(auto.drop(columns=[T.SOURCE], errors="ignore"))
    out = iqs_score(scores, by=by, level=level, min_n=min_n).rename(columns={S.IQS: T.AQS})
    return S.carry_records(out, scores, auto)


#: how many review ids an error names (the rest are counted)
_SHOWN_IDS = 5


def _refuse_auto_reviewer(human, what: str) -> None:
    """Refuse a human side (ratings or review scores, on any engine) holding reviewer ``"auto"``: on
    pandas from the frame, elsewhere by a query where the table lives (the first review ids of such
    rows, then their count), never by reading the table. Without a ``reviewer_id`` column: nothing to check."""
    if isinstance(human, pd.DataFrame):
        if S.REVIEWER_ID not in human.columns:
            return
        auto = human[S.REVIEWER_ID].astype("str").eq(T.AUTO_REVIEWER)
        n = int(auto.sum())
        ids = (sorted(human.loc[auto, S.REVIEW_ID].astype("str").unique())[:_SHOWN_IDS]
               if n and S.REVIEW_ID in human.columns else [])
    else:
        lf = B.as_lazy(B.native_frame(B.resolve(human, None, what=what)))
        names = lf.collect_schema().names()
        if S.REVIEWER_ID not in names:
            return
        hit = lf.filter(nw.col(S.REVIEWER_ID).cast(nw.String) == T.AUTO_REVIEWER)
        ids = (B.collect(hit.select(nw.col(S.REVIEW_ID).cast(nw.String).alias("__id")).unique().sort("__id")
                         .head(_SHOWN_IDS))["__id"].tolist() if S.REVIEW_ID in names else [])
        if not ids and S.REVIEW_ID in names:  # (the usual case: one query, nothing found)
            return
        n = int(B.collect(hit.select(nw.len().alias("__n")))["__n"].iloc[0])
    if n:
        named = f", e.g. review ids {ids}" if ids else ""
        raise ParameterError(f"human {what} contain reviewer_id {T.AUTO_REVIEWER!r} ({n} row(s){named}): pass "
                             "automatic ratings as `auto` only; AQS and IQS are never mixed")


@public
def aqs_vs_iqs(auto: pd.DataFrame, human: Any = None, *, card=None, auto_card=None, scores: Any = None,
               by: str | Sequence[str] = S.AGENT_ID, level: float = 0.95, min_n: int = MIN_N) -> pd.DataFrame:
    """AQS and IQS per group (default per agent), one row per group and measure, each with its CI.

    Parameters
    ----------
    auto : pandas.DataFrame
        Automatic ratings (:func:`auto_ratings`).
    human : DataFrame (pandas or Polars), Parquet file or folder, DuckDB relation, optional
        Human ratings (long format; no ``"auto"`` reviewer: refused, on every engine), scored with
        ``card`` where they are (on an engine only the per-group statistics leave it). Give
        ``human`` or ``scores``, not both.
    card : qakit.Scorecard, optional
        The card of the human reviews (IQS); needed with ``human``.
    auto_card : qakit.Scorecard, optional
        The card of the automatic categories (AQS); default ``card``.
    scores : DataFrame (pandas or Polars), Parquet file or folder, DuckDB relation, optional
        The human reviews already scored (:func:`qakit.scorecard.score_reviews` or
        :func:`qakit.scorecard.engine.store_reviews` output, on any engine): the IQS side is
        :func:`qakit.iqs_score` of them, computed where they are. A ``reviewer_id`` ``"auto"`` is refused.
    by : str or list of str, default="agent_id"
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        ``*by, measure`` (``"aqs"`` / ``"iqs"``), ``n`` (conversations scored), ``score``,
        ``ci_low``, ``ci_high``, ``small_sample``. AQS usually rests on every conversation, IQS on
        the reviewed sample: compare the intervals, not only the points.

    Raises
    ------
    ParameterError
        Both or neither of ``human`` and ``scores``; ``human`` without ``card``; neither ``card``
        nor ``auto_card``; a human rating or score by reviewer ``"auto"`` (their count and first
        review ids named); human ratings in ``auto``.

    Notes
    -----
    Both sides are the same statistic of the same scorecard engine: per group ``score = sum(review
    score) / n`` over the scored reviews (automatic: one per conversation), CI ``score +/-
    t_{(1+level)/2, n-1} sd / sqrt(n)`` (:func:`aqs_score`, :func:`qakit.iqs_score`).

    Examples
    --------
    >>> import qakit
    >>> d = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "agent_id": ["a1", "a1", "a2"],
    ...                   "category": "Greeting", "rating": [1.0, 0.0, 1.0], "source": "rule"})
    >>> scores = pd.DataFrame({"review_id": ["r1", "r2", "r3"], "agent_id": ["a1", "a1", "a2"],
    ...                        "reviewer_id": "qa", "iqs": [90.0, 70.0, 40.0],
    ...                        "passed": pd.array([True, False, False], dtype="boolean")})
    >>> greeting = qakit.Scorecard([qakit.Category("Greeting")])
    >>> aqs_vs_iqs(auto_ratings(d), scores=scores, auto_card=greeting, min_n=0)[["agent_id", "measure", "n", "score"]]
      agent_id measure  n  score
    0       a1     aqs  2   50.0
    1       a1     iqs  2   80.0
    2       a2     aqs  1  100.0
    3       a2     iqs  1   40.0
    """

    _check_auto(auto)
    if (human is None) == (scores is None):
        raise ParameterError("give the human side once: `human` (ratings, scored with `card`) or `scores` (review "
                             f"scores, e.g. score_reviews output); got {'both' if scores is not None else 'neither'}")
    if human is not None and card is None:
        raise ParameterError("card is needed to score the human ratings (`human`); or pass their review scores as "
                             "`scores`")
    if (auto_card or card) is None:
        raise ParameterError("auto_card (the card of the automatic categories) is needed; default: card")
    _refuse_auto_reviewer(human if scores is None else scores, "ratings" if scores is None else "scores")
    by = as_by(by)
    a = aqs_score(auto, auto_card or card, by=by, level=level, min_n=min_n).rename(columns={T.AQS: VALUE})
    h = (iqs_score(scores, by=by, level=level, min_n=min_n) if scores is not None
         else iqs_score(human, card=card, by=by, level=level, min_n=min_n)).rename(columns={S.IQS: VALUE})
    cols = [*by, MEASURE, S.N, VALUE, S.CI_LOW, S.CI_HIGH, S.SMALL_SAMPLE]
    out = pd.concat([a.assign(**{MEASURE: T.AQS}), h.assign(**{MEASURE: S.IQS})], ignore_index=True)[cols]
    out = out.sort_values([*by, MEASURE], kind="stable").reset_index(drop=True)
    return S.carry_records(out, a, h)


@public
def risk_signals(
    messages: pd.DataFrame,
    *,
    sentiment: pd.DataFrame | None = None,
    top_share: float = 0.10,
    negative_below: float = -0.05,
    weights: Mapping[str, float] | None = None,
    escalation: Rule = ESCALATION_RULE,
    auto: pd.DataFrame | None = None,
    card=None,
) -> pd.DataFrame:
    """Automatic risk flags per conversation, and a risk score for risk-based review sampling.

    Parameters
    ----------
    messages : pandas.DataFrame
    sentiment : pandas.DataFrame, optional
        :func:`qakit.autoqa.lexicon.customer_sentiment` output; its ``sentiment`` below
        ``negative_below`` flags the conversation (missing sentiment: no flag).
    top_share : float, default=0.10
        "Long" / "many replies" = in the top ``top_share`` of the conversations' message / agent
        message counts.
    negative_below : float, default=-0.05
        VADER's documented cut-off for negative text (compound <= -0.05).
    weights : mapping, optional
        Override :data:`RISK_WEIGHTS`.
    escalation : Rule
        Customer phrases that flag an escalation (default :data:`ESCALATION_RULE`, en/de/pt).
    auto, card : pandas.DataFrame and qakit.Scorecard, optional
        Automatic ratings (:func:`auto_ratings`) and the card that scores them: a conversation
        whose automatic score does not pass ``card.pass_threshold`` (the same engine as the IQS)
        is flagged ``auto_failed``. Give both or neither.

    Returns
    -------
    pandas.DataFrame
        ``conversation_id, n_messages, n_agent_messages, long_conversation, many_replies,
        escalation_words, negative_sentiment, auto_failed, risk`` with ``risk = 1 + sum(weight *
        flag)`` (>= 1, so every conversation stays reviewable).

    Examples
    --------
    >>> m = pd.DataFrame({"conversation_id": ["c1", "c1", "c2", "c2"], "message_id": ["1", "2", "3", "4"],
    ...     "author_role": ["customer", "agent"] * 2, "agent_id": [None, "a", None, "a"], "sent_at": None,
    ...     "text": ["I want to speak to your manager now", "Of course", "Where is it?", "On its way"]})
    >>> risk_signals(m)[["conversation_id", "escalation_words", "risk"]]
      conversation_id  escalation_words  risk
    0              c1              True   3.0
    1              c2             False   1.0
    """

    if not (isinstance(top_share, (int, float)) and 0 < top_share < 1):
        raise ParameterError(f"top_share must be strictly between 0 and 1; got {top_share!r}")
    w = dict(RISK_WEIGHTS)
    unknown = sorted(set(weights or {}) - set(w))
    if unknown:
        raise ParameterError(f"unknown risk weight(s) {unknown}; allowed: {sorted(w)}")
    w.update(weights or {})
    if (auto is None) != (card is None):
        raise ParameterError("give auto (automatic ratings) and card (the card that scores them) together")
    msg = T.prepare(messages)
    conv = T.conversation_table(msg, min_words=0)
    q = 1 - top_share
    n_msg, n_agent = conv[T.N_MESSAGES], conv[T.N_AGENT]
    esc = detect(msg, rules=[escalation], prepared=True, min_words=0)
    esc = esc.set_index(S.CONVERSATION_ID)[S.RATING].reindex(conv[S.CONVERSATION_ID])
    out = pd.DataFrame({
        S.CONVERSATION_ID: conv[S.CONVERSATION_ID], T.N_MESSAGES: n_msg, T.N_AGENT: n_agent,
        LONG_CONVERSATION: (n_msg > n_msg.quantile(q)).to_numpy(),
        MANY_REPLIES: (n_agent > n_agent.quantile(q)).to_numpy(),
        ESCALATION: esc.eq(escalation.found).to_numpy(),
        NEGATIVE_SENTIMENT: False,
    })
    if sentiment is not None:
        s = sentiment.set_index(S.CONVERSATION_ID)[SENTIMENT].reindex(out[S.CONVERSATION_ID])
        out[NEGATIVE_SENTIMENT] = (s < negative_below).fillna(False).to_numpy(dtype=bool)
    out[AUTO_FAILED] = False
    if auto is not None:
        _check_auto(auto)
        scores = card.score(auto.drop(columns=[T.SOURCE], errors="ignore"))
        failed = scores.loc[~scores[S.PASSED].astype(bool) & scores[S.IQS].notna(), S.CONVERSATION_ID]
        out[AUTO_FAILED] = out[S.CONVERSATION_ID].isin(set(failed.astype("str"))).to_numpy()
    flags = [LONG_CONVERSATION, MANY_REPLIES, ESCALATION, NEGATIVE_SENTIMENT, AUTO_FAILED]
    out[RISK] = 1.0 + sum(w[f] * out[f].to_numpy(dtype=float) for f in flags)
    return out


@public
def sample_for_review(messages: pd.DataFrame, *, n: int, seed: int, sentiment: pd.DataFrame | None = None,
                      method: str = "systematic", **signal_options) -> pd.DataFrame:
    """Pick ``n`` conversations for human review, oversampling automatic risk flags.

    :func:`risk_signals` gives the size measure of :func:`qakit.sampling.sample_risk_based`
    (``pi_i = min(1, c * risk_i)``, ``sum(pi) = n``); the result has the flags plus
    ``inclusion_prob`` and ``weight`` for :func:`qakit.sampling.weighted_iqs`.
    """

    sig = risk_signals(messages, sentiment=sentiment, **signal_options)
    return sample_risk_based(sig, n=n, seed=seed, risk=RISK, method=method)


__all__ = ["ESCALATION_RULE", "learned_ratings", "auto_ratings", "aqs_score", "aqs_vs_iqs", "risk_signals",
           "sample_for_review"]
