"""Fair group comparisons: teams, sites or vendors compared on one common contact mix.

A team can look better on blended IQS, AHT or service level while being worse in every channel,
because it handles more of the easy channel (Simpson's paradox).  :func:`compare_groups` puts each
group's raw figure beside its *directly standardised* one -- the figure the group would have with
the common channel mix -- and flags when the ranking changes, and when a raw difference between two
groups reverses in every channel.

The input is any row-level table with a group column (``team``, ``site``, ``vendor``), a stratum
column (``channel``, ``priority``, ``queue`` ...) and a value: review scores with the
conversation's channel (IQS), CSAT answers as 0/1 satisfied, handle times (AHT), calls as 0/1
answered within the threshold (service level).  The report builds those from the contract's
tables (:mod:`qakit.report.checks`).

References
----------
- Fleiss, J. L., Levin, B. & Paik, M. C. (2003). *Statistical Methods for Rates and Proportions*,
  3rd ed., ch. 19 (direct standardisation and its variance).
- Simpson, E. H. (1951). The interpretation of interaction in contingency tables. *JRSS B* 13(2).
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
import numpy as np
import pandas as pd
from scipy import stats

from . import schema as S
from ._public import public
from .errors import ParameterError, Problems, check_choice
from .intervals import MIN_N, check_level, pooled_moments
from .metrics import _groups as G
from .metrics import _source as B

RAW = "raw"
STANDARDISED = "standardised"
RAW_CI_LOW, RAW_CI_HIGH = "raw_ci_low", "raw_ci_high"
STD_SE = "std_se"
STD_CI_LOW, STD_CI_HIGH = "std_ci_low", "std_ci_high"
RANK_RAW, RANK_STD = "rank_raw", "rank_standardised"
RANK_CHANGED = "rank_changed"
REVERSED_AGAINST = "reversed_against"
N_STRATA = "n_strata"
GROUP = "group"
KINDS = ("mean", "rate")
COLUMNS = [GROUP, S.N, N_STRATA, RAW, RAW_CI_LOW, RAW_CI_HIGH, STANDARDISED, STD_SE, STD_CI_LOW, STD_CI_HIGH,
           RANK_RAW, RANK_STD, RANK_CHANGED, REVERSED_AGAINST, S.SMALL_SAMPLE]


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (group, stratum) of the kept rows (``group``, ``_stratum``, ``_v``): ``n``, ``mean`` and
    ``m2`` (the sum of squared deviations from the cell's mean; two-pass)."""
    g = frame.groupby([GROUP, "_stratum"], sort=True, observed=True)["_v"]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "var": g.var(ddof=1)}).reset_index()
    out["m2"] = np.where(out["n"] > 1, out["var"] * (out["n"] - 1), 0.0)
    return out.drop(columns="var")


def _cells_pandas(data: pd.DataFrame, group: str, value: str, strata: list[str], kind: str):
    """The checks of :func:`compare_groups` on a pandas table (all problems at once), then its cells
    (:func:`_cells`), the ids of the rows without a group, stratum or value, and a function giving the
    ids of the kept rows in given strata."""
    missing = [c for c in [group, value, *strata] if c not in data.columns]
    if missing:
        raise ParameterError(f"column(s) {missing} not in data; available: {sorted(map(str, data.columns))}")
    if data.empty:
        raise ParameterError("data has no rows: nothing to compare")
    v = pd.to_numeric(data[value], errors="coerce") if not pd.api.types.is_bool_dtype(data[value]) \
        else data[value].astype("float64")
    problems = Problems("data")
    vv = v.to_numpy(dtype=float, na_value=np.nan)
    problems.add(value, "not a finite number (inf)", np.isinf(vv), data[value])
    bad_text = data[value].notna().to_numpy() & np.isnan(vv)
    problems.add(value, "not a number", bad_text, data[value])
    if kind == "rate":
        problems.add(value, "a rate needs 0/1 (or True/False) values", ~np.isnan(vv) & ~np.isin(vv, [0.0, 1.0]),
                     data[value])
    bounds = S.contract_bounds(value)
    if bounds is not None:
        lo_b, hi_b = bounds
        if lo_b is not None:
            problems.add(value, f"below the minimum {lo_b:g} of the data contract", vv < lo_b, data[value])
        if hi_b is not None:
            problems.add(value, f"above the maximum {hi_b:g} of the data contract", vv > hi_b, data[value])
    for idc in ID_COLUMNS:
        if idc in data.columns:
            dup = data[idc].notna() & data[idc].duplicated(keep=False)
            problems.add(idc, "duplicated id: the same observation counted twice", dup.to_numpy(), data[idc])
            break
    problems.raise_if_any()
    frame = pd.DataFrame({GROUP: data[group].astype("str").str.strip(), "_v": vv})
    frame["_stratum"] = data[strata].astype("str").agg(" / ".join, axis=1) if len(strata) > 1 else \
        data[strata[0]].astype("str")
    gaps = frame[GROUP].isna() | data[group].isna().to_numpy() | data[strata].isna().any(axis=1).to_numpy() | \
        frame["_v"].isna()
    ids = pd.Series(data.index.astype("str"), index=data.index)
    for idc in ID_COLUMNS:
        if idc in data.columns:
            ids = data[idc].astype("str")
            break
    dropped_missing = ids[gaps.to_numpy()]
    frame = frame[~gaps.to_numpy()]
    ids = ids[~gaps.to_numpy()]
    return _cells(frame), dropped_missing, (lambda out: ids[frame["_stratum"].isin(out).to_numpy()])


#: the id columns that name a row of :func:`compare_groups`' data, first found first
ID_COLUMNS = (S.REVIEW_ID, S.CALL_ID, S.CONVERSATION_ID)


def _cells_on_engine(src: B.Source, group: str, value: str, strata: list[str], kind: str):
    """:func:`compare_groups`' cells of a table that lives on an engine: per (group, stratum) n, mean
    and sum of squared deviations computed there (only those, and the ids of the rows left out, come
    back). None when the pandas checks must name a problem (a value that is not a finite number in
    range, a rate not 0/1, a duplicated id, a missing column, no id column): the caller reads the
    table and runs them."""
    lf = B.as_lazy(B.native_frame(src))
    schema = lf.collect_schema()
    names = schema.names()
    idc = next((c for c in ID_COLUMNS if c in names), None)
    if idc is None or any(c not in names for c in [group, value, *strata]):
        return None
    dt = schema[value]
    if not (dt.is_numeric() or dt == nw.Boolean):
        return None
    x = nw.col(value).cast(nw.Float64)
    bad = ~x.is_null() & ~x.is_finite()
    if kind == "rate":
        bad = bad | (~x.is_null() & ~x.is_in([0.0, 1.0]))
    bounds = S.contract_bounds(value)
    if bounds is not None:
        lo_b, hi_b = bounds
        if lo_b is not None:
            bad = bad | (~x.is_null() & (x < lo_b))
        if hi_b is not None:
            bad = bad | (~x.is_null() & (x > hi_b))
    facts = B.collect(lf.select(bad.cast(nw.Int64).sum().alias("bad"), nw.len().alias("rows"),
                                nw.col(idc).count().alias("ids"), nw.col(idc).n_unique().alias("distinct"),
                                nw.col(idc).is_null().any().alias("null_id")))
    f = facts.iloc[0]
    distinct = int(f["distinct"]) - int(bool(f["null_id"]))  # (n_unique counts a missing id as a value)
    if int(f["bad"]) or int(f["rows"]) == 0 or distinct != int(f["ids"]):
        return None
    text = lambda c: nw.col(c).cast(nw.String)  # noqa: E731
    stratum = text(strata[0]) if len(strata) == 1 else nw.concat_str([text(c) for c in strata], separator=" / ")
    t = lf.with_columns(text(group).str.strip_chars().alias(GROUP), stratum.alias("_stratum"), x.alias("_v"),
                        text(idc).alias("__id"))
    gap = nw.col(GROUP).is_null() | nw.col("_v").is_null() | nw.any_horizontal(*[nw.col(c).is_null() for c in strata], ignore_nulls=True)
    kept = t.filter(~gap)
    cells = G.aggregate(kept, [GROUP, "_stratum"], {"n": G.n_rows(), "mean": G.agg("mean", nw.col("_v")),
                                                   "sd": G.agg("std", nw.col("_v"))})
    sd = pd.to_numeric(cells.pop("sd"), errors="coerce").to_numpy(dtype=float)
    cells["m2"] = np.where(cells["n"] > 1, sd ** 2 * (cells["n"] - 1), 0.0)
    cells[GROUP] = cells[GROUP].astype("str")
    cells["_stratum"] = cells["_stratum"].astype("str")
    dropped = B.collect(t.filter(gap).select("__id"))["__id"]

    def in_stratum(out: list[str]) -> pd.Series:
        return B.collect(kept.filter(nw.col("_stratum").is_in(list(out))).select("__id"))["__id"]
    return cells, dropped, in_stratum


@public
def compare_groups(
    data: pd.DataFrame,
    *,
    group: str,
    value: str,
    strata: str | Sequence[str] = S.CHANNEL,
    kind: str = "mean",
    higher_is_better: bool = True,
    level: float = 0.95,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Raw and directly standardised figures per group, with a flag when the ranking reverses.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation: a review score, a CSAT answer (0/1 satisfied), a handle time, a
        call (0/1 answered within the threshold) ...
    group : str
        The column compared: ``team``, ``site``, ``vendor`` ...
    value : str
        The numeric column averaged (``kind="mean"``) or a 0/1 column (``kind="rate"``).
    strata : str or list of str, default="channel"
        The mix that differs between groups (several columns: their combinations).
    kind : {"mean", "rate"}, default="mean"
        ``rate``: ``value`` is 0/1 (or boolean) and the variances are binomial.
    higher_is_better : bool, default=True
        Direction of the ranking (False for AHT, speed of answer).
    level : float, default=0.95
    min_n : int, default=30

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group``, ``n``, ``n_strata`` (strata the standardised figure uses),
        ``raw`` and ``raw_ci_low``/``raw_ci_high`` (the blended figure, t interval for means,
        normal (Wald) interval for rates), ``standardised``, ``std_se``,
        ``std_ci_low``/``std_ci_high``, ``rank_raw``, ``rank_standardised`` (1 = best),
        ``rank_changed``, ``reversed_against`` (groups that beat this one raw but lose to it in
        *every* common stratum, or the reverse -- Simpson's reversal; empty when none),
        ``small_sample`` (``n < min_n``).  Rows outside the common strata (a stratum some group has
        no observation in) and rows with a missing value, group or stratum are recorded in the
        exclusions.

    Notes
    -----
    Direct standardisation (Fleiss, Levin & Paik 2003, ch. 19): with ``W_s`` the share of stratum
    ``s`` in all groups' rows together (the common mix), a group's standardised figure is
    ``sum_s W_s m_gs`` (``m_gs`` its mean in stratum ``s``) and its variance ``sum_s W_s^2 v_gs /
    n_gs`` (``v_gs`` the within-cell variance; binomial ``m (1 - m)`` for rates; a cell of one
    observation borrows the stratum's pooled variance), ``W`` taken as fixed; normal interval.
    Only strata every group has observations in can be standardised; their ``W`` is renormalised.

    Examples
    --------
    >>> d = pd.DataFrame({"team": ["A"] * 5 + ["B"] * 5,
    ...                   "channel": ["chat"] * 4 + ["phone"] + ["chat"] + ["phone"] * 4,
    ...                   "iqs": [90, 90, 90, 90, 60, 92, 65, 65, 65, 65]})
    >>> r = compare_groups(d, group="team", value="iqs", min_n=0)  # mix: chat 5/10, phone 5/10
    >>> r[["group", "raw", "standardised", "rank_raw", "rank_standardised", "reversed_against"]]
      group   raw  standardised  rank_raw  rank_standardised reversed_against
    0     A  84.0          75.0         1                  2                B
    1     B  70.4          78.5         2                  1                A
    """
    check_choice("kind", kind, KINDS)
    level = check_level(level)
    strata = [strata] if isinstance(strata, str) else list(strata)
    src = B.resolve(data, None, what="data")
    got = _cells_on_engine(src, group, value, strata, kind) if src.engine != "pandas" else None
    if got is None:  # pandas (and an engine's table with a problem: named by the pandas checks below)
        if not isinstance(data, pd.DataFrame):
            data = B.to_pandas(src)
        cells, dropped_missing, in_stratum = _cells_pandas(data, group, value, strata, kind)
    else:
        cells, dropped_missing, in_stratum = got
    if cells.empty:
        raise ParameterError(f"no row has a {group}, a {' / '.join(strata)} and a {value}")
    groups = sorted(cells[GROUP].unique())
    present = cells.groupby("_stratum")[GROUP].nunique()
    common = present[present == len(groups)].index
    outside = sorted(set(cells["_stratum"]) - set(common))
    dropped_strata = in_stratum(outside) if outside else pd.Series([], dtype="str")
    # raw (all rows of the group)
    per = pooled_moments(cells, GROUP).reindex(groups)
    n, raw = per["n"], per["mean"]
    if kind == "rate":
        raw_var = raw * (1 - raw)
    else:
        raw_var = per["var"]
    z = stats.norm.ppf((1 + level) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "rate":
            raw_half = z * np.sqrt(raw_var / n)
        else:
            raw_half = stats.t.ppf((1 + level) / 2, n - 1) * np.sqrt(raw_var / n)
    # standardised on the common strata
    out_std = pd.Series(np.nan, index=groups)
    out_se = pd.Series(np.nan, index=groups)
    inner = cells[cells["_stratum"].isin(common)].set_index([GROUP, "_stratum"]).sort_index()
    if len(common):
        per_stratum = pooled_moments(inner.reset_index(), "_stratum")
        w = per_stratum["n"] / per_stratum["n"].sum()
        st = inner.index.get_level_values(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(inner["n"] > 1, inner["m2"] / (inner["n"] - 1), np.nan)
        if kind == "rate":
            inner["var"] = inner["mean"] * (1 - inner["mean"])
        else:
            inner["var"] = np.where(inner["n"] >= 2, var, st.map(per_stratum["var"]).to_numpy())
        inner["w"] = st.map(w).to_numpy()
        out_std = (inner["w"] * inner["mean"]).groupby(level=0).sum().reindex(groups)
        out_se = np.sqrt((inner["w"] ** 2 * inner["var"] / inner["n"]).groupby(level=0).sum(min_count=1)).reindex(groups)
    cells = inner if len(common) else None
    res = pd.DataFrame({GROUP: groups, S.N: n.to_numpy().astype("int64"), N_STRATA: len(common),
                        RAW: raw.to_numpy(), RAW_CI_LOW: (raw - raw_half).to_numpy(),
                        RAW_CI_HIGH: (raw + raw_half).to_numpy(), STANDARDISED: out_std.to_numpy(),
                        STD_SE: out_se.to_numpy()})
    res[STD_CI_LOW] = res[STANDARDISED] - z * res[STD_SE]
    res[STD_CI_HIGH] = res[STANDARDISED] + z * res[STD_SE]
    asc = not higher_is_better
    res[RANK_RAW] = res[RAW].rank(ascending=asc, method="min").astype("Int64")
    res[RANK_STD] = res[STANDARDISED].rank(ascending=asc, method="min").astype("Int64")
    res[RANK_CHANGED] = (res[RANK_RAW] != res[RANK_STD]).fillna(False).astype(bool)
    # Simpson: raw order of a pair opposite to its order in every common stratum
    rev: dict[str, list[str]] = {x: [] for x in groups}
    if cells is not None and len(groups) > 1:
        m = cells["mean"].unstack(level=1)
        for i, a in enumerate(groups):
            for b in groups[i + 1:]:
                d_raw = raw[a] - raw[b]
                d_st = (m.loc[a] - m.loc[b]).dropna()
                if d_raw != 0 and len(d_st) and (np.sign(d_st) == -np.sign(d_raw)).all():
                    rev[a].append(b)
                    rev[b].append(a)
    res[REVERSED_AGAINST] = pd.array([", ".join(rev[x]) for x in groups], dtype="str")
    res[S.SMALL_SAMPLE] = res[S.N] < min_n
    S.add_exclusion(res, f"row without a {group}, {' / '.join(strata)} or {value}", value, dropped_missing)
    S.add_exclusion(res, f"{' / '.join(strata)} not covered by every {group}: left out of the standardised "
                    "figure (kept in the raw one)", strata[0], dropped_strata)
    res.attrs.update(group=group, value=value, strata=strata, kind=kind, common_strata=list(common))
    return res[COLUMNS]


__all__ = ["compare_groups"]
