"""Display helpers: the one place where numbers are rounded, for notebooks and reports.

Computations never round; notebooks call :func:`table` on a result just before showing it, so
outputs are short, stable for nbval, and HTML-escaped (pandas escapes cell text in ``to_html``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

#: digits shown for each kind of column; anything else float gets ``DEFAULT_DIGITS``
DEFAULT_DIGITS = 1
DIGITS = {"r": 3, "p_value": 4, "p_adjusted": 4, "alpha": 3, "kappa": 3, "tau": 3, "pass_rate": 3, "beta": 3,
          "coef": 3, "steps": 2}
#: interval and standard-error columns take the precision of the statistic they belong to
FOLLOW = ("ci_low", "ci_high", "se")


def table(df: pd.DataFrame, *, digits: int | None = None, max_rows: int | None = 40) -> pd.DataFrame:
    """A display copy of ``df``: floats rounded, timestamps as dates, at most ``max_rows`` rows.

    Examples
    --------
    >>> table(pd.DataFrame({"agent_id": ["a"], "iqs": [83.3333], "p_value": [0.012345]}))
      agent_id   iqs  p_value
    0        a  83.3   0.0123
    """
    out = df.head(max_rows).copy() if max_rows else df.copy()
    stat_digits = [DIGITS[str(c)] for c in out.columns if str(c) in DIGITS and str(c) not in ("p_value", "p_adjusted", "pass_rate")]
    follow = max(stat_digits, default=DEFAULT_DIGITS)
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s.dtype):
            d = digits if digits is not None else follow if str(c).endswith(FOLLOW) else next(
                (v for k, v in DIGITS.items() if str(c) == k or str(c).endswith("_" + k)), DEFAULT_DIGITS)
            out[c] = s.round(d)
        elif isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            out[c] = s.dt.strftime("%Y-%m-%d")
    return out


def hash_ids(ids: pd.Series, *, salt: str = "qakit") -> pd.Series:
    """Pseudonymise ids (e.g. customer ids) with a salted SHA-256, first 12 hex digits.

    Examples
    --------
    >>> hash_ids(pd.Series(["cust-1", "cust-1", None])).tolist()[:2] == [hash_ids(pd.Series(["cust-1"])).iloc[0]] * 2
    True
    """
    uniq = pd.unique(ids.dropna().astype("str"))  # hash each distinct id once
    lookup = {v: hashlib.sha256(f"{salt}:{v}".encode()).hexdigest()[:12] for v in uniq}
    return ids.astype("str").map(lookup).where(ids.notna())
