"""Automatic scoring checked against MAIA-DQE's human labels (real support chats, CC BY 4.0).

Reproduce the numbers of ``docs/guide/autoqa.md`` (about two minutes on 2 cores)::

    .venv/bin/python -m qakit.autoqa.maia                   # leave one client (subset) out
    .venv/bin/python -m qakit.autoqa.maia --groups none     # 5-fold by dialogue (what a known client gets)
    .venv/bin/python -m qakit.autoqa.maia --train de_client_02 pt_br_client_02 --test NEW_SUBSET

Human labels at the conversation level (:func:`qakit.realdata.load_maia`): ``Politeness`` and
``Understanding`` = 1 when every labelled agent turn was polite / understood, ``Task success``
1-5. Rule-based categories are compared with the human Politeness as they are (a conversation
with a greeting / thanks / ... is "polite"); learned ones are trained on part of the dialogues and
predicted on the rest: by default every client (subset) is predicted by a model trained on the
other clients only (leave one client out, the evidence :func:`qakit.autoqa.qualification` asks
for); with ``groups=None``, folds grouped by dialogue (the shared subsets repeat 43 dialogues: they
are de-duplicated by id first, so a dialogue can never be in training and test).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import schema as S
from .._public import public
from ..errors import UndefinedMetricWarning
from . import _text as T
from .learned import AGREEMENT_COLUMNS, GROUP, cross_validate, kappa_agreement
from .output import learned_ratings
from .rules import DEFAULT_RULES, detect
from ..realdata import MAIA_SUBSETS, load_maia

METHOD = "method"
PREDICTOR = "predictor"
EVALUATION = "evaluation"
TEXT_SIDE = "text"
POLITE_MARKERS = "any politeness marker"
#: (human category, kappa weights, model trained on turn labels?)
LEARNED = (("Politeness", None, True), ("Understanding", None, True), ("Politeness", None, False),
           ("Understanding", None, False), ("Task success", "quadratic", False))
RESULT_COLUMNS = [METHOD, PREDICTOR, TEXT_SIDE, EVALUATION, GROUP, *AGREEMENT_COLUMNS]


def _rule_rows(data: dict, text: str, evaluation: str, *, level, n_resamples, seed, conversations=None) -> list[pd.DataFrame]:
    msg = data["messages"]
    human = data["ratings"]
    human = human[human[S.CATEGORY].eq("Politeness")].set_index(S.CONVERSATION_ID)[S.RATING]
    d = detect(msg)
    wide = d.pivot(index=S.CONVERSATION_ID, columns=S.CATEGORY, values=S.RATING)
    wide[POLITE_MARKERS] = wide[[r.name for r in DEFAULT_RULES]].max(axis=1, skipna=False)
    if conversations is not None:
        wide = wide[wide.index.isin(conversations)]
    rows = []
    for name in [POLITE_MARKERS, *[r.name for r in DEFAULT_RULES]]:
        p = pd.DataFrame({S.CATEGORY: "Politeness", T.HUMAN: human.reindex(wide.index).to_numpy(),
                          T.AUTO: wide[name].to_numpy()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            k = kappa_agreement(p, level=level, n_resamples=n_resamples, seed=seed)
        rows.append(k.assign(**{METHOD: "rule", PREDICTOR: name, TEXT_SIDE: text, EVALUATION: evaluation}))
    return rows


@public
def evaluate_maia(path=None, *, train: Sequence[str] | None = None, test: Sequence[str] | None = None,
                  groups: str | None = "subset", n_splits: int = 5, seed: int = 0, level: float = 0.95,
                  n_resamples: int = 2000) -> pd.DataFrame:
    """Kappa of rule-based and learned categories against MAIA-DQE's human labels.

    Parameters
    ----------
    path : str or Path, optional
        The ``maia-dqe`` folder or the shared-data folder (default ``$QAKIT_SHARED_DATA`` or
        ``../shared/data``).
    train : list of str, optional
        Subsets to learn from (default: the shared ones, :data:`qakit.realdata.MAIA_SUBSETS`).
    test : list of str, optional
        Held-out subsets: learned models are trained on all of ``train`` and evaluated here.
        Without ``test``: cross-validation on ``train``, leaving one ``groups`` value out.
    groups : str or None, default="subset"
        The held-out unit of the cross-validation (``"subset"``: one client; ``None``:
        ``n_splits`` folds grouped by dialogue). With groups, one row per held-out group follows
        each pooled row.
    n_splits, seed, level, n_resamples
        Cross-validation folds, the one seed (folds, bootstrap), CI level, bootstrap resamples.

    Returns
    -------
    pandas.DataFrame
        ``method`` (``rule`` / ``model``), ``predictor`` (the rule, or the model and what it
        was trained on), ``text`` (``english`` / ``original``), ``evaluation``, ``group`` (the
        held-out group of a per-group row; missing on pooled rows), then the
        :func:`qakit.autoqa.learned.kappa_agreement` columns (``category`` = the human label).
    """

    train = list(train or MAIA_SUBSETS)
    parts = []
    if test is None:
        ev = f"leave one {groups} out" if groups else f"{n_splits}-fold CV grouped by dialogue"
        for text in ("english", "original"):
            data = load_maia(path, subsets=train, text=text)
            parts += _rule_rows(data, text, "all dialogues (rules are not trained)", level=level,
                                n_resamples=n_resamples, seed=seed)
        data = load_maia(path, subsets=train, text="english")
        for cat, w, turns in LEARNED:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                p = cross_validate(data["messages"], data["ratings"], category=cat, n_splits=n_splits, seed=seed,
                                   turn_labels=data["turn_labels"] if turns else None, groups=groups)
                k = kappa_agreement(p, weights=w, level=level, n_resamples=n_resamples, seed=seed)
                if groups:
                    k = pd.concat([k, kappa_agreement(p, weights=w, by=GROUP, level=level, n_resamples=n_resamples,
                                                      seed=seed)], ignore_index=True)
            what = "TF-IDF+LR on agent turns, min per dialogue" if turns else "TF-IDF+LR on whole dialogues"
            parts.append(k.assign(**{METHOD: "model", PREDICTOR: what, TEXT_SIDE: "english", EVALUATION: ev}))
    else:
        ev = f"trained on {'+'.join(train)}, tested on {'+'.join(test)}"
        tr = load_maia(path, subsets=train, text="english")
        te_all = {text: load_maia(path, subsets=list(test), text=text) for text in ("english", "original")}
        seen = set(tr["dialogues"][S.CONVERSATION_ID])
        te_ids = set(te_all["english"]["dialogues"][S.CONVERSATION_ID]) - seen  # a dialogue in both: not tested
        for text, data in te_all.items():
            parts += _rule_rows(data, text, ev, level=level, n_resamples=n_resamples, seed=seed, conversations=te_ids)
        te = te_all["english"]
        msgs = pd.concat([tr["messages"], te["messages"][te["messages"][S.CONVERSATION_ID].isin(te_ids)]],
                         ignore_index=True)
        for cat, w, turns in LEARNED:
            r = learned_ratings(msgs, tr["ratings"], category=cat, seed=seed,
                                turn_labels=tr["turn_labels"] if turns else None, min_words=0)
            r = r[r[S.CONVERSATION_ID].isin(te_ids)]
            human = te["ratings"][te["ratings"][S.CATEGORY].eq(cat)].set_index(S.CONVERSATION_ID)[S.RATING]
            p = pd.DataFrame({S.CATEGORY: cat, T.HUMAN: human.reindex(r[S.CONVERSATION_ID]).to_numpy(),
                              T.AUTO: r[S.RATING].to_numpy()})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                k = kappa_agreement(p, weights=w, level=level, n_resamples=n_resamples, seed=seed)
            what = "TF-IDF+LR on agent turns, min per dialogue" if turns else "TF-IDF+LR on whole dialogues"
            parts.append(k.assign(**{METHOD: "model", PREDICTOR: what, TEXT_SIDE: "english", EVALUATION: ev}))
    out = pd.concat(parts, ignore_index=True)
    if GROUP not in out.columns:
        out[GROUP] = None
    out[GROUP] = out[GROUP].astype("object").where(out[GROUP].notna(), None)
    return out[RESULT_COLUMNS]


def _markdown(df: pd.DataFrame) -> str:
    """Display only: rounded to 2 decimals, one markdown row per result."""
    cols = [METHOD, PREDICTOR, TEXT_SIDE, GROUP, S.CATEGORY, "weights", S.N, "coverage", T.KAPPA, S.CI_LOW, S.CI_HIGH]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df[cols].itertuples(index=False):
        cells = [f"{v:.2f}" if isinstance(v, float) else ("-" if v is None or v != v else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m qakit.autoqa.maia", description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", help="maia-dqe folder or shared-data folder")
    ap.add_argument("--train", nargs="+", help="subsets to learn from (default: the shared ones)")
    ap.add_argument("--test", nargs="+", help="held-out subsets (default: grouped cross-validation)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-splits", type=int, default=5)
    ap.add_argument("--groups", default="subset", help="held-out unit: a messages column, 'month', or 'none' (k-fold)")
    ap.add_argument("--out", help="also write the full table as CSV here")
    a = ap.parse_args(argv)
    res = evaluate_maia(a.path, train=a.train, test=a.test, n_splits=a.n_splits, seed=a.seed,
                        groups=None if a.groups == "none" else a.groups)
    print(f"evaluation: {res[EVALUATION].iloc[-1]}; rules: {res[EVALUATION].iloc[0]}")
    print(_markdown(res))
    if a.out:
        res.to_csv(a.out, index=False)
    return 0



__all__ = ["evaluate_maia"]
