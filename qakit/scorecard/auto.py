"""The ``auto:`` block of a scorecard category, as plain validated data.

A category can say how it is scored automatically::

    - name: Opening
      auto: Greeting                     # a built-in rule of qakit.autoqa
    - name: Refund policy explained
      auto:
        phrases: {en: [refund polic*], de: [Rückerstattung*], pt: [reembolso]}
        regex: {any: ['#\\d{6,}']}        # RE2 syntax: linear time, no backtracking
    - name: Tone
      auto: learned                       # learned from the reviewers' ratings; scored only if it
                                          # qualifies (leave one month out; groups: <messages column>)
        window: last                      # any | first | last (of the author's messages)
        messages: 3
        at: any                           # any | start | end (of the message)
        within: 60                        # with at: start / end, characters from it

The card checks the block when it is built (every problem at once, naming the category, the key and
its YAML line) and keeps it as plain dicts and lists; :mod:`qakit.autoqa` interprets it
(:func:`qakit.autoqa.rules.rule_from_spec`). This module imports nothing from :mod:`qakit.autoqa`
(which imports the scorecard), so there is no import cycle.

Custom regexes are compiled by RE2 (Google's linear-time engine, the one inside ``pyarrow``):
matching time grows linearly with the text, whatever the pattern, so a pattern such as ``(a+)+$``
cannot hang a run. Syntax RE2 does not have (look-around, back-references) and patterns that match
the empty string (they would match every message) are refused here with a
:class:`~qakit.errors.ScorecardError` naming the category and the pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._public import public
from ..errors import ScorecardError

#: keys of an ``auto:`` block
AUTO_KEYS = ("builtin", "phrases", "regex", "author", "window", "messages", "at", "within", "found", "missing",
             "learned", "groups", "threshold")
#: keys of a learned category's block (``auto: learned`` or ``auto: {learned: true, groups: team}``)
LEARNED_KEYS = ("learned", "groups", "threshold")
AUTHORS = ("agent", "customer", "any")
WINDOWS = ("any", "first", "last")
POSITIONS = ("any", "start", "end")
#: the built-in rules of :mod:`qakit.autoqa.rules` (``auto: Greeting``); ``tests/test_autoqa_rules.py``
#: checks that this list and ``qakit.autoqa.rules.BUILTIN_RULES`` name the same rules
BUILTIN_NAMES = ("Greeting", "Closing", "Apology", "Empathy", "Further help", "Thanks", "Apology / empathy")
#: the longest ``within`` (RE2 counts repetitions up to 1000)
MAX_WITHIN = 1000


def at_line(spec: Any, key: Any) -> str:
    """`` (line N)`` when ``spec`` came from the scorecard YAML loader (which records key lines)."""
    line = getattr(spec, "lines", {}).get(key)
    return f" (line {line})" if line else ""


def plain(obj: Any) -> Any:
    """The spec as plain dicts / lists (for dumping; the loader's mappings carry line numbers)."""
    if isinstance(obj, Mapping):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


@public
def regex_problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern`` (or why it is useless), or None when it is fine.

    Examples
    --------
    >>> regex_problem("#\\\\d{6,}") is None
    True
    >>> regex_problem("(?<=order )\\\\d+")
    'RE2 (the linear-time engine) does not accept it: invalid perl operator: (?<='
    >>> regex_problem("x*")
    'it matches the empty string, so it would match every message'
    """
    try:
        hit = pc.match_substring_regex(pa.array([""], type=pa.large_string()), pattern).to_pylist()[0]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        msg = str(e).removeprefix("Invalid regular expression: ")
        return f"RE2 (the linear-time engine) does not accept it: {msg}"
    if hit:
        return "it matches the empty string, so it would match every message"
    return None


@public
def check_auto(name: str, spec: Any, *, scale=None) -> dict | str:
    """Check one category's ``auto:`` block; return it as plain data.

    Parameters
    ----------
    name : str
        The category.
    spec : mapping or str
        The block; a string is short for ``{builtin: <string>}``.
    scale : qakit.Scale, optional
        The category's scale: ``found`` / ``missing`` must lie on it.

    Returns
    -------
    dict or str
        The block as plain dicts and lists; the short form stays a string (the built-in's name).

    Raises
    ------
    qakit.errors.ScorecardError
        Every problem of the block at once, naming the category, the key and (YAML from
        :func:`qakit.load_scorecard`) its line.

    Examples
    --------
    >>> check_auto("Opening", "greeting")
    'Greeting'
    >>> check_auto("Opening", {"builtin": "Greeting", "messages": 2})
    {'builtin': 'Greeting', 'messages': 2}
    >>> check_auto("Ticket", {"regex": {"any": ["(a+)+$", "(?<!x)y"]}})
    Traceback (most recent call last):
    ...
    qakit.errors.ScorecardError: category 'Ticket': auto.regex.any: '(?<!x)y' is refused: RE2 (the linear-time engine) does not accept it: invalid perl operator: (?<!
    """
    where = "auto"
    if isinstance(spec, str) and spec.strip().casefold() == "learned":
        return "learned"
    if isinstance(spec, str):
        return check_auto(name, {"builtin": spec}, scale=scale)["builtin"]
    if not isinstance(spec, Mapping):
        raise ScorecardError(f"category {name!r}: {where} must be a mapping with keys from {list(AUTO_KEYS)} or the "
                             f"name of a built-in rule {list(BUILTIN_NAMES)}; got {spec!r}")
    problems = [f"{where}: unknown key {k!r}{at_line(spec, k)}; allowed: {list(AUTO_KEYS)}"
                for k in spec if k not in AUTO_KEYS]
    if spec.get("learned") is not None or "groups" in spec or "threshold" in spec:
        return _check_learned(name, spec, problems)
    out: dict = {}
    if "builtin" in spec:
        b = spec["builtin"]
        match = {n.casefold(): n for n in BUILTIN_NAMES}.get(str(b).strip().casefold())
        if match is None:
            problems.append(f"{where}.builtin{at_line(spec, 'builtin')}: {b!r} is not a built-in rule; "
                            f"choose from {list(BUILTIN_NAMES)}")
        else:
            out["builtin"] = match
    for key, allowed in (("author", AUTHORS), ("window", WINDOWS), ("at", POSITIONS)):
        if key in spec:
            if spec[key] not in allowed:
                problems.append(f"{where}.{key}{at_line(spec, key)}: must be one of {list(allowed)}; got {spec[key]!r}")
            else:
                out[key] = spec[key]
    for key, low, high in (("messages", 1, None), ("within", 0, MAX_WITHIN)):
        if key in spec:
            m = spec[key]
            if isinstance(m, bool) or not isinstance(m, int) or m < low or (high is not None and m > high):
                problems.append(f"{where}.{key}{at_line(spec, key)}: must be an integer >= {low}"
                                + (f" and <= {high}" if high is not None else "") + f"; got {m!r}")
            else:
                out[key] = m
    for key in ("phrases", "regex"):
        if key not in spec:
            continue
        lists = spec[key]
        if not isinstance(lists, Mapping) or not lists:
            problems.append(f"{where}.{key}{at_line(spec, key)}: must map a language code to a list of "
                            f"{'phrases' if key == 'phrases' else 'regular expressions'} "
                            f"(e.g. {{en: [...], de: [...], pt: [...]}}); got {plain(lists)!r}")
            continue
        clean = {}
        for lang, items in lists.items():
            items = [items] if isinstance(items, str) else items
            if not isinstance(items, (list, tuple)) or not items or not all(isinstance(p, str) and p.strip() for p in items):
                problems.append(f"{where}.{key}.{lang}{at_line(lists, lang)}: must be a non-empty list of non-empty "
                                f"strings; got {plain(lists[lang])!r}")
                continue
            if key == "regex":
                for rx in items:
                    why = regex_problem(rx)
                    if why:
                        problems.append(f"{where}.regex.{lang}{at_line(lists, lang)}: {rx!r} is refused: {why}")
            clean[str(lang)] = list(items)
        out[key] = clean
    if not problems and "builtin" not in out and not any(out.get("phrases", {}).values()) \
            and not any(out.get("regex", {}).values()):
        problems.append(f"{where}: give phrases, regex or builtin (phrase lists per language, e.g. "
                        "{phrases: {en: [...], de: [...], pt: [...]}})")
    for key in ("found", "missing"):
        if key not in spec:
            continue
        v = spec[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            problems.append(f"{where}.{key}{at_line(spec, key)}: must be a number (a rating); got {v!r}")
        elif scale is not None and not scale.contains(np.array([v]))[0]:
            problems.append(f"{where}.{key}{at_line(spec, key)}: {v!r} is not on the category's scale ({scale.describe()})")
        else:
            out[key] = float(v)
    if problems:
        raise ScorecardError(f"category {name!r}: " + "; ".join(problems))
    return out


def _check_learned(name: str, spec: Any, problems: list[str]) -> dict:
    """A learned category's block: ``learned: true``, optional ``groups`` (a messages column or
    ``month``: the held-out unit of the evidence) and ``threshold`` (the kappa its interval's lower
    bound must reach)."""
    where = "auto"
    if spec.get("learned") is not True:
        problems.append(f"{where}.learned{at_line(spec, 'learned')}: must be true for a learned category "
                        f"(groups and threshold belong to it); got {spec.get('learned')!r}")
    mixed = [k for k in spec if k in AUTO_KEYS and k not in LEARNED_KEYS]
    if mixed:
        problems.append(f"{where}: a learned category takes only {list(LEARNED_KEYS)}; remove {mixed}")
    out: dict = {"learned": True}
    if "groups" in spec:
        g = spec["groups"]
        if not isinstance(g, str) or not g.strip():
            problems.append(f"{where}.groups{at_line(spec, 'groups')}: must be a messages column name or 'month'; got {g!r}")
        else:
            out["groups"] = g.strip()
    if "threshold" in spec:
        t = spec["threshold"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not -1 <= t <= 1:
            problems.append(f"{where}.threshold{at_line(spec, 'threshold')}: must be a kappa in -1..1; got {t!r}")
        else:
            out["threshold"] = float(t)
    if problems:
        raise ScorecardError(f"category {name!r}: " + "; ".join(problems))
    return out


@public
def is_learned(auto: Any) -> bool:
    """Whether a checked ``auto:`` block asks for a learned category."""
    return auto == "learned" or (isinstance(auto, Mapping) and auto.get("learned") is True)


__all__ = ["AUTO_KEYS", "AUTHORS", "WINDOWS", "POSITIONS", "BUILTIN_NAMES", "LEARNED_KEYS", "check_auto", "is_learned",
           "regex_problem"]
