"""Cost KPIs, each defined once: cost per contact, and each customer's support cost against their
value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import ParameterError
from ..ops import attach_customers
from . import _groups as G
from ._contract import Table
from .times import CONV_TIMES, HOURS_PER_S

COST_PER_CONTACT = "cost_per_contact"
CASES, COST, RATIO = "cases", "cost", "cost_value_ratio"
COSTS_MORE = "costs_more_than_value"


def _contacts(t: Table) -> Any:
    return nw.col(S.CONTACTS).fill_null(1.0) if t.has(S.CONTACTS) else nw.lit(1.0)


def cost_per_contact(t: Table, *, cost_per_hour: float | None, total_cost: float | None, by: Sequence[str],
                     period: str | None) -> pd.DataFrame:
    """Cost per contact: handle time x cost per hour summed per group over its contacts, or a total
    cost spread evenly over all contacts. See :func:`qakit.kpis.cost_per_contact`."""
    keys = list(by)
    G.check_keys(t, keys)
    lf, pkeys = G.with_period(t.lf, t.engine, period, S.CREATED_AT, t.columns)
    keys = keys + pkeys
    lf = lf.with_columns(_contacts(t).alias("__contacts"))
    aggs = {"__n": G.agg("sum", nw.col("__contacts"))}
    if cost_per_hour is not None:
        if not t.has(S.HANDLE_TIME_S):
            raise ParameterError(f"cost_per_hour needs a {S.HANDLE_TIME_S!r} column")
        aggs[COST] = G.agg("sum", nw.col(S.HANDLE_TIME_S) * HOURS_PER_S * cost_per_hour)
    res = G.aggregate(lf, keys, aggs, period=period)
    n = pd.to_numeric(res["__n"]).to_numpy(dtype=float)
    if cost_per_hour is None:
        total = float(G.aggregate(lf, [], {"__all": G.agg("sum", nw.col("__contacts"))})["__all"].iloc[0])
        res[COST] = total_cost * n / total
    out = res[keys].copy()
    out[S.N] = n.astype("int64")
    out[COST_PER_CONTACT] = pd.to_numeric(res[COST]).to_numpy(dtype=float) / out[S.N].to_numpy()
    out[COST] = pd.to_numeric(res[COST]).to_numpy(dtype=float)
    adjust = [(nw.col(S.CONTACTS).is_null(), "no contacts value: counted as 1 contact", S.CONTACTS)] \
        if t.has(S.CONTACTS) else []
    reasons = [(nw.col(S.HANDLE_TIME_S).is_null(), "no handle time: cost counted as 0", S.HANDLE_TIME_S)] \
        if cost_per_hour is not None else []
    G.itemise(out, lf, S.CONVERSATION_ID, reasons, adjust=adjust)
    return G.partial(out, t, period, S.CREATED_AT, CONV_TIMES)


def customer_cost_value(t: Table | None, *, cost_per_contact: float, value_column: str,
                        customers: pd.DataFrame | None) -> pd.DataFrame:
    """Cases, contacts and cost per customer against their value (largest value given), sorted by
    cost/value descending. See :func:`qakit.kpis.customer_cost_value`."""
    if t is not None:
        if not t.has(value_column) and customers is None:
            raise ParameterError(f"customer_cost_value needs a {value_column!r} column in conversations")
        v = nw.col(value_column) if t.has(value_column) else nw.lit(None).cast(nw.Float64)
        lf = t.lf.with_columns(_contacts(t).alias("__contacts"), v.cast(nw.Float64).alias("__v"))
        res = G.aggregate(lf, [S.CUSTOMER_ID], {CASES: G.n_rows(), S.CONTACTS: G.agg("sum", nw.col("__contacts")),
                                                 value_column: G.agg("max", nw.col("__v")),
                                                 "__vmin": G.agg("min", nw.col("__v"))})
        res[CASES] = pd.to_numeric(res[CASES]).astype("int64")
        res[S.CONTACTS] = pd.to_numeric(res[S.CONTACTS]).astype(float)
        res[value_column] = pd.to_numeric(res[value_column], errors="coerce").astype(float)
        spread_ids = res.loc[res[value_column].notna() & (res[value_column] != pd.to_numeric(res["__vmin"])),
                             S.CUSTOMER_ID]
        res = res.drop(columns="__vmin")
        res[S.CUSTOMER_ID] = res[S.CUSTOMER_ID].astype("str")
    else:
        lf = None
        res = pd.DataFrame({S.CUSTOMER_ID: pd.Series(dtype="str"), CASES: pd.Series(dtype="int64"),
                            S.CONTACTS: pd.Series(dtype=float), value_column: pd.Series(dtype=float)})
        spread_ids = pd.Series(dtype="str")
    if customers is not None:  # customers with zero contacts count too (issue 14)
        res = attach_customers(res, customers, value_column=value_column, counts=[CASES, S.CONTACTS])
    res[COST] = res[S.CONTACTS] * float(cost_per_contact)
    with np.errstate(invalid="ignore", divide="ignore"):
        res[RATIO] = res[COST] / res[value_column]
    res[COSTS_MORE] = (res[COST] > res[value_column]).where(res[value_column].notna(), False).astype(bool)
    res = res.sort_values([RATIO, S.CUSTOMER_ID], ascending=[False, True], na_position="last").reset_index(drop=True)
    res[CASES] = res[CASES].astype("int64")
    S.add_exclusion(res, "customer without a value: ratio not computed", value_column,
                    res.loc[res[value_column].isna(), S.CUSTOMER_ID])
    if t is not None and t.has(S.CONTACTS):
        G.itemise(res, lf, S.CONVERSATION_ID, [],
                  adjust=[(nw.col(S.CONTACTS).is_null(), "no contacts value: counted as 1 contact", S.CONTACTS)])
    S.add_adjustment(res, f"{value_column} differs between the customer's conversations: the largest is used",
                     value_column, sorted(spread_ids.astype("str")))
    return res[[S.CUSTOMER_ID, CASES, S.CONTACTS, COST, value_column, RATIO, COSTS_MORE]]
