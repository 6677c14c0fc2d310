"""The report's statistician's checks: reviewer agreement (AC1), survey response and its bounds, fair
group comparisons and the staffing check -- each a small section, shown only when the data supports it.

:func:`prepare_checks` runs once, before the report's "left out" list is drawn: it finds the optional
``calibration`` and ``staffing`` tables next to the report's data, and for every check the data cannot
support adds ONE line to that list (``data.missing``) instead of an empty box.  The section functions
then return a table (or nothing when their check was left out).

The numbers come from :mod:`qakit.calibration`, :mod:`qakit.surveys`, :mod:`qakit.compare` and
:mod:`qakit.staffing`; this module only arranges and formats them.  It reads the report's data object
by its attributes (``ratings``, ``conversations``, ``surveys``, ``scores``, ``calls``, ``card``,
``start``, ``end``, ``source``, ``missing``) and imports none of the report modules.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from .. import calibration as C
from .. import datasets
from .. import compare as CMP
from .. import schema as S
from .. import staffing as ST
from .. import surveys as SV
from ..errors import DataValidationError
from ..metrics import _source as B
from .common import HTML, quiet
from .data import ReportData, count_where, engine_columns, engine_distinct, engine_lazy, engine_table, table_columns
from .display import Table, pretty

#: one line per check the data cannot support (shown in the report's "left out" list)
MISSING_EFFECT = {
    "calibration": "no calibration ratings (several reviewers on the same conversations): reviewer agreement "
                   "(AC1, alpha, kappa) is left out (add calibration.parquet or calibration.csv)",
    "survey invitations": "the surveys list answers only (no unanswered invitation, i.e. no row with an empty "
                          "score): the response rate and the non-response bounds are left out",
    "comparison groups": "no two teams, sites or vendors with a common channel: the fair group comparison is "
                         "left out",
    "staffing": "no staffing table (agents per interval): the staffing check (Erlang C predicted against "
                "measured service level) is left out (add staffing.parquet or staffing.csv)",
}
#: the response rate below which the report spells out the worst / best case
LOW_RESPONSE = 0.5
THRESHOLD_S = 20  # service level: answered within 20 s (the report's convention)
GROUP_COLUMNS = (S.VENDOR, S.SITE, S.TEAM)


NOTHING = HTML("", "")


def _has(data: Any, name: str) -> bool:
    if isinstance(data, ReportData):  # (a table read in place on the engine is present, not read)
        return data.has(name)
    t = getattr(data, name, None)
    return isinstance(t, pd.DataFrame) and len(t) > 0


def _folder(data: Any) -> Path | None:
    src = getattr(data, "source", "")
    if src in ("sample", "bundled sample data"):
        return datasets.sample_data_dir()
    p = Path(str(src))
    return p if p.is_dir() else (p.parent if p.is_file() else None)


def _read_optional(folder: Path | None, name: str) -> pd.DataFrame | None:
    if folder is None:
        return None
    for ext in (".parquet", ".csv"):
        p = folder / f"{name}{ext}"
        if p.is_file():
            return pd.read_parquet(p) if ext == ".parquet" else pd.read_csv(p)
    return None


def _in_period(ts: pd.Series, data: Any) -> pd.Series:
    keep = pd.Series(True, index=ts.index)
    if getattr(data, "start", None) is not None:
        keep &= ts >= data.start
    if getattr(data, "end", None) is not None:
        keep &= ts <= data.end
    return keep.fillna(False).astype(bool)


def _group_column(data: Any) -> str | None:
    """vendor, else site, else team: the first with two or more groups in the conversations."""
    if not _has(data, "conversations"):
        return None
    cols = table_columns(data, "conversations") if isinstance(data, ReportData) else list(data.conversations.columns)
    if S.CHANNEL not in cols or not set(GROUP_COLUMNS) & set(cols):
        return None  # (no group column: no rows read)
    # the distinct (channel, group) pairs: a group-by on the engine when the conversations are read
    # in place there (the table is not read for this)
    conv = (engine_distinct(data, "conversations", [S.CHANNEL, *GROUP_COLUMNS]) if isinstance(data, ReportData)
            else data.conversations)
    for col in GROUP_COLUMNS:
        if col in conv.columns and conv[col].nunique(dropna=True) >= 2:
            shared = conv.groupby(S.CHANNEL)[col].nunique()
            if (shared >= 2).any():
                return col
    return None


def prepare_checks(data: Any) -> None:
    """Find the optional calibration and staffing tables, decide which checks the data supports, and
    list the others once in ``data.missing`` (the report's "left out" list).  Call it after
    :func:`qakit.report.data.load_optional_tables` and before the left-out cell.

    Attaches ``data.checks`` (a dict: ``calibration``, ``staffing`` tables or None, ``group`` the
    comparison column or None, ``invitations`` whether unanswered surveys are listed).

    Raises
    ------
    DataValidationError
        A calibration or staffing file that breaks its contract (the file named).
    """
    folder = _folder(data)
    cal = _read_optional(folder, "calibration")
    if cal is not None:
        try:
            cal, problems = S.check(cal, C.CALIBRATION_RATINGS)
            problems.raise_if_any()
        except DataValidationError as e:
            f = e.failures.copy()
            f["table"] = "calibration"
            raise DataValidationError(f) from None
        if cal.groupby(S.CONVERSATION_ID)[S.REVIEWER_ID].nunique().max() < 2:
            cal = None
    staff = _read_optional(folder, "staffing")
    if staff is not None:
        try:
            staff = S.validate(staff, ST.STAFFING)
        except DataValidationError as e:
            f = e.failures.copy()
            f["table"] = "staffing"
            raise DataValidationError(f) from None
        staff = staff[_in_period(staff[ST.INTERVAL_START], data)].reset_index(drop=True)
    calls = getattr(data, "calls", None)
    calls_ok = isinstance(calls, pd.DataFrame) and len(calls) > 0 and {S.SPEED_OF_ANSWER_S, S.HANDLE_TIME_S} <= set(
        calls.columns)
    sv = _has(data, "surveys")
    # (an unanswered CSAT invitation: counted on the engine when the surveys are read in place there)
    unanswered = (nw.col(S.KIND) == "csat") & nw.col(S.SCORE).is_null()
    invitations = sv and _has(data, "conversations") and (
        count_where(data, "surveys", unanswered) > 0 if isinstance(data, ReportData)
        else bool((data.surveys[S.KIND].eq("csat") & data.surveys[S.SCORE].isna()).any()))
    data.checks = {"calibration": cal, "staffing": staff if (staff is not None and len(staff) and calls_ok) else None,
                   "group": _group_column(data), "invitations": invitations}
    for key, ok in (("calibration", cal is not None), ("survey invitations", invitations or not sv),
                    ("comparison groups", data.checks["group"] is not None or not _has(data, "conversations")),
                    ("staffing", data.checks["staffing"] is not None or not calls_ok)):
        if ok:
            data.missing.pop(key, None)
        else:
            data.missing[key] = MISSING_EFFECT[key]


def _checks(data: Any) -> dict:
    if not hasattr(data, "checks"):
        prepare_checks(data)
    return data.checks


def _pct(v: float, digits: int = 1) -> str:
    return "" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f}"


def _num(v: float, digits: int = 2) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _ci(lo: str, hi: str) -> str:
    return f"{lo}\u00a0–\u00a0{hi}" if lo and hi else ""


# --- 1. reviewer agreement -------------------------------------------------------------------------
def _agreement_rows(res: pd.DataFrame, *, alpha_ci: bool = False) -> pd.DataFrame:
    rows = []
    for r in res.itertuples(index=False):
        row = {"Category": r.category, "Units": f"{r.n_units:,}", "Agreement (%)": _pct(r.agreement_rate),
               "Gwet's AC": _num(r.gwet_ac), "95 % CI": _ci(_num(r.ac_ci_low), _num(r.ac_ci_high)),
               "Alpha": _num(r.alpha)}
        if alpha_ci:
            row["Alpha 95 % CI"] = _ci(_num(r.ci_low), _num(r.ci_high))
        row.update({"Fleiss' kappa": _num(r.fleiss_kappa),
                    "Most common rating": f"{r.top_value:g} ({_pct(r.top_value_share, 0)} %)"
                    if np.isfinite(r.top_value) else "",
                    "Verdict": (r.verdict + (" (few units)" if r.small_sample else ""))
                    if isinstance(r.verdict, str) else ""})
        rows.append(row)
    return pd.DataFrame(rows)


def agreement_table(ratings: pd.DataFrame, *, card: Any = None, metric: str = "ordinal", seed: int = 0,
                    n_resamples: int = 999) -> Table:
    """The calibration notebook's agreement table: :func:`qakit.calibration.agreement` formatted for
    people (AC with its interval, alpha with its bootstrap interval, kappa, prevalence, verdict)."""
    res = quiet(C.agreement, ratings, card=card, metric=metric, seed=seed, n_resamples=n_resamples)
    weights = res.attrs.get("ac_weights")
    kind = "AC1" if weights is None else f"AC2 ({weights} weights; AC1 on binary categories)"
    return Table(_agreement_rows(res, alpha_ci=True),
                 caption=f"Gwet's AC is {kind}; alpha is {metric}. Verdict: {res['verdict_on'].iloc[0]}, from "
                         "the interval; fewer than 30 units are marked.")


def agreement_section(data: Any) -> Table | HTML:
    """Per category: percent agreement, Gwet's AC1/AC2 with its interval, alpha, Fleiss' kappa, the share
    of the most common rating, and the verdict read from AC's interval."""
    cal = _checks(data)["calibration"]
    if cal is None:
        return NOTHING
    card = getattr(data, "card", None)
    try:
        res = quiet(C.agreement, cal, card=card, n_resamples=0)
    except DataValidationError:  # a calibration file rated on another card
        res = quiet(C.agreement, cal, n_resamples=0)
    return _agreement_section(res, cal)


def _agreement_section(res: pd.DataFrame, cal: pd.DataFrame) -> Table:
    rows = _agreement_rows(res)
    weights = res.attrs.get("ac_weights")
    kind = "AC1" if weights is None else f"AC2 ({weights} weights)"
    cap = (f"Calibration set: {cal[S.CONVERSATION_ID].nunique():,} conversations, {cal[S.REVIEWER_ID].nunique()} "
           f"reviewers. Gwet's AC is {kind}. The verdict reads AC's interval on the Landis-Koch bands "
           "(Gwet 2014 benchmarking: the best band reached with 95 % probability), not its point estimate; "
           "fewer than 30 units are marked. "
           "Where one rating dominates, kappa and alpha fall even when reviewers agree: compare agreement "
           "and the most common rating's share before recalibrating a team.")
    return Table(rows, caption=cap)


# --- 2. survey response -------------------------------------------------------------------------------
def survey_response_section(data: Any) -> Table | HTML:
    """Response rate by channel, CSAT of the respondents beside CSAT raked to the contact mix, the
    IQS-CSAT correlation both ways, and the worst/best case when few customers answered."""
    if not _checks(data)["invitations"]:
        return NOTHING
    sv, conv = data.surveys, data.conversations
    scale = getattr(data, "csat_scale", None)
    rr = quiet(SV.response_rate, sv, by=S.CHANNEL, conversations=conv, min_n=0)
    total = quiet(SV.response_rate, sv, min_n=0).iloc[0]
    w = quiet(SV.weighted_csat, sv, conv, scale=scale).set_index(SV.ESTIMATE)
    b = quiet(SV.csat_bounds, sv, scale=scale).iloc[0]
    rows = [{"Measure": f"Response rate, {r.channel}", "Value": f"{_pct(r.response_rate)} %",
             "95 % CI": _ci(_pct(r.ci_low), _pct(r.ci_high)), "n": f"{r.n:,} asked"} for r in rr.itertuples()]
    rows.append({"Measure": "Response rate, all", "Value": f"{_pct(total[SV.RESPONSE_RATE])} %",
                 "95 % CI": _ci(_pct(total[S.CI_LOW]), _pct(total[S.CI_HIGH])), "n": f"{int(total[S.N]):,} asked"})
    for name, label in ((SV.UNWEIGHTED, "CSAT, respondents as they are"), (SV.RAKED, "CSAT, raked to the contact mix")):
        r = w.loc[name]
        rows.append({"Measure": label, "Value": f"{r[SV.CSAT]:.1f} %",
                     "95 % CI": _ci(f"{r[S.CI_LOW]:.1f}", f"{r[S.CI_HIGH]:.1f}"),
                     "n": f"{int(r[S.N]):,} answers (effective {r[SV.N_EFFECTIVE]:,.0f})"})
    rows.append({"Measure": "CSAT if every non-respondent was dissatisfied / satisfied",
                 "Value": f"{b[SV.BOUND_LOW]:.1f} – {b[SV.BOUND_HIGH]:.1f} %", "95 % CI": "",
                 "n": f"{int(b[SV.N_SENT]):,} asked"})
    if _has(data, "scores"):
        try:
            corr = quiet(SV.weighted_iqs_csat, engine_table(data, "scores"), sv, conv, scale=scale,
                         min_n=0).set_index(SV.ESTIMATE)
            for name, label in ((SV.UNWEIGHTED, "IQS-CSAT correlation (r), unweighted"),
                                (SV.RAKED, "IQS-CSAT correlation (r), raked")):
                r = corr.loc[name]
                rows.append({"Measure": label, "Value": _num(r[SV.R]), "95 % CI": _ci(_num(r[S.CI_LOW]), _num(r[S.CI_HIGH])),
                             "n": f"{int(r[S.N]):,} reviewed conversations with an answer"})
        except (ValueError, KeyError):  # fewer than 3 reviewed answers: the correlation rows are left out
            pass
    margins = w.attrs.get("margins", list(SV.MARGINS))
    cap = (f"Raking weights the answers so that their {' x '.join(margins)} mix equals all contacts'; it "
           "corrects non-response that runs through that mix, not customers who skip the survey because "
           "they are unhappy. The worst/best case needs no assumption at all.")
    sentence = SV.bounds_sentence(b, low_rate=LOW_RESPONSE)
    out = Table(pd.DataFrame(rows), caption=cap)
    if not sentence:
        return out
    return HTML(f'<p class="qakit-verdict">{html.escape(sentence)}</p>' + out._repr_html_(),
                sentence + "\n" + repr(out))


# --- 3. fair group comparison ------------------------------------------------------------------------------
def _comparison_inputs(data: Any, group: str) -> list[tuple[str, pd.DataFrame, str, str, bool, str]]:
    """(label, frame, value, kind, higher_is_better, strata) per metric the data has. A frame is a
    relation on DuckDB when the engine holds its rows (the review scores it keeps joined to the
    conversations there; the conversations the loader left in place): :func:`qakit.compare.compare_groups`
    then counts its cells there, and neither table is read into pandas."""
    keep = [S.CONVERSATION_ID, S.CHANNEL, group]
    engine = isinstance(data, ReportData)
    conv_lazy = engine_lazy(data, "conversations", keep + [S.HANDLE_TIME_S]) if engine else None
    sc_lazy = engine_lazy(data, "scores", [S.REVIEW_ID, S.CONVERSATION_ID, S.IQS]) if engine else None
    sv_lazy = engine_lazy(data, "surveys", [S.CONVERSATION_ID, S.KIND, S.SCORE]) if engine else None
    key = nw.col(S.CONVERSATION_ID).cast(nw.String)  # (joined as text, as the pandas merges compare them)

    def with_groups(lf: nw.LazyFrame) -> Any:
        """``lf``'s rows joined (inner, on the engine) to their conversation's channel and group."""
        right = (conv_lazy.select(*keep) if conv_lazy is not None
                 else B.lazy_frame(data.conversations[keep], "duckdb", B.duckdb_connection()))
        return lf.with_columns(key).join(right.with_columns(key), on=S.CONVERSATION_ID, how="inner").to_native()

    out = []
    if _has(data, "scores"):
        if sc_lazy is not None:  # (an inner join on the engine, as the merge below)
            sc = with_groups(sc_lazy.filter(~nw.col(S.IQS).is_null()))
        else:
            sc = data.scores[[S.REVIEW_ID, S.CONVERSATION_ID, S.IQS]].dropna(subset=[S.IQS])
            sc = sc.merge(data.conversations[keep], on=S.CONVERSATION_ID, how="inner")
        out.append(("IQS", sc, S.IQS, "mean", True, S.CHANNEL))
    if _has(data, "surveys"):
        scale = getattr(data, "csat_scale", None)
        sat_from = scale.satisfied_from if scale is not None else 4.0
        if sv_lazy is not None:  # (read in place: the answers joined to their conversations there)
            cs = with_groups(sv_lazy.filter((nw.col(S.KIND) == "csat") & ~nw.col(S.SCORE).is_null())
                             .select(S.CONVERSATION_ID, (nw.col(S.SCORE) >= sat_from).cast(nw.Float64).alias("satisfied")))
        else:
            cs = data.surveys[data.surveys[S.KIND].eq("csat") & data.surveys[S.SCORE].notna()]
            cs = cs.assign(satisfied=(cs[S.SCORE] >= sat_from).astype(float))[[S.CONVERSATION_ID, "satisfied"]]
            # (the answered conversations' columns only: from the engine when it holds the conversations)
            conv = (engine_columns(data, "conversations", keep, ids=cs[S.CONVERSATION_ID]) if engine
                    else data.conversations[keep])
            cs = cs.astype({S.CONVERSATION_ID: "str"}).merge(conv.astype({S.CONVERSATION_ID: "str"}),
                                                            on=S.CONVERSATION_ID, how="inner")
        out.append(("CSAT (satisfied)", cs, "satisfied", "rate", True, S.CHANNEL))
    if S.HANDLE_TIME_S in (table_columns(data, "conversations") if engine else data.conversations.columns):
        aht = (conv_lazy.select(*keep, S.HANDLE_TIME_S).to_native() if conv_lazy is not None
               else data.conversations[keep + [S.HANDLE_TIME_S]])
        out.append(("AHT (s)", aht, S.HANDLE_TIME_S, "mean", False, S.CHANNEL))
    calls = getattr(data, "calls", None)
    if isinstance(calls, pd.DataFrame) and len(calls) and group in calls.columns and S.SPEED_OF_ANSWER_S in calls.columns:
        c = calls[calls[group].notna()]
        ans = c[S.ANSWERED].fillna(False).astype(bool)
        ok = ~(ans & c[S.SPEED_OF_ANSWER_S].isna())
        c = c[ok].assign(within=(ans & (c[S.SPEED_OF_ANSWER_S] <= THRESHOLD_S)).astype(float)[ok],
                         hour=c[S.CREATED_AT].dt.hour.astype("str")[ok])
        if c[group].nunique() >= 2:
            out.append(("Service level (answered calls)", c[[S.CALL_ID, group, "hour", "within"]], "within", "rate",
                        True, "hour"))
    return out


def fair_comparison_section(data: Any) -> Table | HTML:
    """Per team, site or vendor: each metric raw and on the common channel mix, with the rank change and
    Simpson reversals flagged."""
    group = _checks(data)["group"]
    if group is None:
        return NOTHING
    rows = []
    flips = []
    for label, frame, value, kind, better, strata in _comparison_inputs(data, group):
        try:
            res = quiet(CMP.compare_groups, frame, group=group, value=value, strata=strata, kind=kind,
                         higher_is_better=better, min_n=0)
        except ValueError:
            continue
        scale = 100.0 if kind == "rate" else 1.0
        digits = 0 if value == S.HANDLE_TIME_S else 1
        for r in res.itertuples(index=False):
            fmt = (lambda v: "" if not np.isfinite(v) else f"{scale * v:,.{digits}f}")
            rows.append({"Metric": label, group.capitalize(): r.group, "n": f"{r.n:,}", "Raw": fmt(r.raw),
                         "On the common mix": fmt(r.standardised),
                         "95 % CI": _ci(fmt(r.std_ci_low), fmt(r.std_ci_high)),
                         "Rank raw → mix": f"{r.rank_raw} → {r.rank_standardised}" if pd.notna(r.rank_standardised)
                         else "", "Reverses in every stratum against": r.reversed_against or ""})
            if r.reversed_against:
                flips.append(f"{label}: {r.group} vs {r.reversed_against}")
    if not rows:
        return NOTHING
    cap = (f"Each {group}'s figure as measured (raw) and as it would be with the channel mix of all {group}s "
           "together (direct standardisation; service level by hour of day). A rank that changes means the "
           "blended figure owes part of its lead to the mix of work. ")
    cap += ("Simpson reversals (one group ahead blended but behind in every channel): " + "; ".join(dict.fromkeys(flips))
            + ".") if flips else "No Simpson reversal: no blended lead that turns around in every channel."
    return Table(pd.DataFrame(rows), caption=cap)


# --- 4. staffing check ---------------------------------------------------------------------------------------
def staffing_section(data: Any) -> Table | HTML:
    """Erlang C predicted service level from the staffing beside the measured one, by week."""
    staff = _checks(data)["staffing"]
    if staff is None:
        return NOTHING
    res = quiet(ST.staffing_check, data.calls, staff, aht="overall", min_n=0)
    res = res[res[S.N] > 0]
    if res.empty:
        return NOTHING
    need = quiet(ST.required_agents, pd.DataFrame({ST.ARRIVALS: res[S.N].astype(float), ST.AHT_S: res[ST.AHT_S]}))
    short = res[ST.AGENTS].to_numpy() < need[ST.REQUIRED].to_numpy()
    res = res.assign(_week=res[ST.INTERVAL_START].dt.tz_localize(None).dt.to_period("W").dt.start_time,
                     _ok=res[ST.OBSERVED] * res[S.N], _pred=res[ST.PREDICTED].fillna(0) * res[S.N], _short=short)
    rows = []
    for week, g in res.groupby("_week", sort=True):
        n = int(g[S.N].sum())
        obs, pred = g["_ok"].sum() / n, g["_pred"].sum() / n
        rows.append({"Week of": f"{week:%d %b %Y}", "Calls": f"{n:,}", "Agents (mean)": f"{g[ST.AGENTS].mean():.1f}",
                     "Predicted service level (%)": _pct(pred), "Measured (%)": _pct(obs),
                     "Gap (points)": f"{100 * (obs - pred):+.1f}",
                     "Intervals below the 80/20 staffing": f"{int(g['_short'].sum())} of {len(g)}",
                     "Prediction outside measured interval": f"{int(g[ST.OUTSIDE].sum())} of {len(g)}"})
    frac = int(res[ST.FRACTIONAL].sum())
    cap = (f"Erlang C per half hour from the calls offered, the overall handle time ({res[ST.AHT_S].iloc[0]:.0f} s) "
           f"and the agents staffed; service level = answered within {THRESHOLD_S} s of all calls offered, "
           "weighted by calls. Erlang assumes agents always available and callers who never hang up: a "
           "measured level that stays below the prediction points at breaks, after-call work or routing. "
           f"'Below the 80/20 staffing': fewer agents than Erlang C requires for the calls that came. "
           + (f"{frac} intervals had a fractional number of agents: their prediction mixes the two whole numbers."
              if frac else ""))
    return Table(pd.DataFrame(rows), caption=cap)


# --- the calibration notebook's optional tables ----------------------------------------------------------
def alignment_table(ratings: pd.DataFrame, *, card: Any, benchmark: str) -> Table | HTML:
    """:func:`qakit.calibration.benchmark_alignment` for the calibration notebook, or one line saying why
    the data cannot give it (no card, no such benchmark reviewer)."""

    if card is None:
        return HTML("<p class='qakit-note'>Alignment needs the scorecard (each criterion's scale and points).</p>",
                    "Alignment needs the scorecard (each criterion's scale and points).")
    if not benchmark or benchmark not in set(ratings[S.REVIEWER_ID].astype("str")):
        text = f"No benchmark grader {benchmark!r} in these ratings: set the benchmark parameter to one of its reviewers."
        return HTML(f"<p class='qakit-note'>{html.escape(text)}</p>", text)
    return pretty(C.benchmark_alignment(ratings, benchmark=benchmark, card=card))  # styled like the report


def drift_table(ratings: pd.DataFrame, *, card: Any = None) -> Table | HTML:
    """:func:`qakit.calibration.reviewer_drift` on the card's k-point categories (all without a card), or
    one line when the ratings carry no ``reviewed_at``."""
    if S.REVIEWED_AT not in ratings.columns or ratings[S.REVIEWED_AT].isna().all():
        text = "Drift needs reviewed_at (when each rating was given); these ratings have none."
        return HTML(f"<p class='qakit-note'>{html.escape(text)}</p>", text)
    cats = None
    if card is not None:
        cats = [c.name for c in card.categories if len(c.scale.values or ()) > 2] or None
    res = quiet(C.reviewer_drift, ratings, categories=cats)
    rows = [{"Reviewer": r.reviewer_id, "Ratings": f"{r.n:,}", "Weeks": f"{r.n_periods}",
             "Bias, first week": _num(r.bias_first_period), "Bias, last week": _num(r.bias_last_period),
             "Trend (steps / week)": _num(r.trend_steps_per_week, 3),
             "95 % CI": _ci(_num(r.ci_low, 3), _num(r.ci_high, 3)),
             "Drifting": "yes" if (r.ci_low > 0 or r.ci_high < 0) else "no"} for r in res.itertuples(index=False)]
    what = ", ".join(cats) if cats else "all categories"
    return Table(pd.DataFrame(rows), caption=f"Deviation from the other reviewers in rating steps ({what}); "
                                             "trend = least-squares slope per week, interval clustered by conversation.")


__all__: list[str] = []  # report cells, not analysis functions (see the section functions above)
