"""Rule-based automatic categories: deterministic, explainable, offline.

Each category is a list of phrases or regular expressions per language, searched in a window of
one author's messages (e.g. the agent's first two messages for a greeting). A conversation is
rated 1 when a phrase is found (the evidence is the message id and character span of the first
match, never the text), 0 when not, and N/A when it is not eligible (fewer than one customer
and one agent message, or fewer than 10 words: the vendors' rule).

Built-in categories (:data:`DEFAULT_RULES`, English, German and Portuguese phrase lists):
``Greeting``, ``Closing``, ``Apology / empathy``, ``Further help``, ``Thanks``. Custom
text-match and regex categories come from YAML (:func:`load_rules`)::

    categories:
      - name: Refund policy
        phrases: {en: [refund policy], de: [Rückerstattung*], pt: [reembolso]}
        author: agent          # agent | customer | any (bots never count as agents)
        window: any            # any | first | last
        messages: 2            # with first / last: how many of the author's messages
      - name: Ticket number
        regex: {any: ['#\\d{6,}']}
    include_defaults: true     # keep the built-in categories (default true)

Phrases match case-insensitively on whole words (``*`` at the end of a phrase allows any word
ending, spaces match any whitespace); texts and phrases are compared in Unicode NFC form, so a
macOS export in NFD matches too.

A scorecard YAML can carry the same definitions on the categories it scores, in an ``auto:``
block (:func:`rules_from_card`, ``detect(messages, card=card)``); the rating then lies on the
category's scale (``found`` / ``missing`` default to its best / worst value)::

    categories:
      - name: Opening
        weight: 1
        auto: Greeting                 # the built-in phrase lists
      - name: Refund policy explained
        weight: 2
        auto:
          phrases:
            en: [refund policy, money back]
            de: [Rückerstattung*, Geld zurück]
            pt: [reembolso, devolução do dinheiro]
          window: last                 # any | first | last
          messages: 3
      - name: No blame
        auto:
          phrases: {en: [your fault], de: [Ihre Schuld], pt: [culpa sua]}
          found: 0                     # rated 0 when a phrase is found, 1 when not
          missing: 1
      - name: Solution                 # no auto block: rated by humans only
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from .. import schema as S
from .._public import public
from ..errors import ScorecardError, check_keys
from . import _text as T

AUTHORS = ("agent", "customer", "any")
WINDOWS = ("any", "first", "last")
SOURCE_RULE = "rule"


@dataclass(frozen=True)
class Rule:
    """One rule-based category.

    Parameters
    ----------
    name : str
        Category name (as in the scorecard, if it is scored).
    phrases : mapping of language -> list of str
        Literal phrases (``*`` at the end = any word ending).
    regex : mapping of language -> list of str
        Python regular expressions (searched case-insensitively).
    author : {"agent", "customer", "any"}
    window : {"any", "first", "last"}
    messages : int
        With ``window`` first / last: how many of the author's messages are searched.
    found, missing : float
        The rating when a match is found / not found (default 1 / 0; ``found=0, missing=1`` for
        a category that should *not* occur, e.g. blame phrases).
    """

    name: str
    phrases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    regex: Mapping[str, Sequence[str]] = field(default_factory=dict)
    author: str = "agent"
    window: str = "any"
    messages: int = 2
    found: float = 1.0
    missing: float = 0.0

    def __post_init__(self):
        where = f"autoqa category {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScorecardError(f"an autoqa category needs a non-empty name; got {self.name!r}")
        if self.author not in AUTHORS:
            raise ScorecardError(f"{where}: author must be one of {AUTHORS}; got {self.author!r}")
        if self.window not in WINDOWS:
            raise ScorecardError(f"{where}: window must be one of {WINDOWS}; got {self.window!r}")
        if isinstance(self.messages, bool) or not isinstance(self.messages, int) or self.messages < 1:
            raise ScorecardError(f"{where}: messages must be an integer >= 1; got {self.messages!r}")
        for key, spec in (("phrases", self.phrases), ("regex", self.regex)):
            if not isinstance(spec, Mapping) or not all(
                    isinstance(v, (list, tuple)) and all(isinstance(p, str) and p.strip() for p in v)
                    for v in spec.values()):
                raise ScorecardError(f"{where}: {key} must map a language to a list of non-empty strings; "
                                     f"got {spec!r}")
        if not any(self.phrases.values()) and not any(self.regex.values()):
            raise ScorecardError(f"{where}: give at least one phrase or regex")
        for v in (self.found, self.missing):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ScorecardError(f"{where}: found / missing must be numbers; got {v!r}")
        self.pattern  # compile now: a bad regex is a ScorecardError at definition time

    @property
    def pattern(self) -> re.Pattern:
        """One compiled regex, a named group per language (``p0``/``r0`` ...: phrases / regexes of
        ``languages[0]`` ...)."""
        return _compile(self)

    @property
    def re2(self) -> str | None:
        """The phrases as one RE2 pattern (Arrow's regex engine, linear time, C++ speed) with a
        named group ``pre`` for the boundary before the phrase and ``p<i>`` per language;
        ``None`` for rules with custom regexes (searched with Python's ``re``). Word characters
        are letters, digits and ``_`` (``[\\pL\\pN_]``)."""
        if any(self.regex.values()):
            return None
        groups = []
        for i, lang in enumerate(self.languages):
            alts = []
            for p in self.phrases.get(lang, ()):
                q = T.normalise(p.strip())
                body = r"\s+".join(re.escape(w) for w in q.rstrip("*").split())
                alts.append(body + (r"[\pL\pN_]*" if q.endswith("*") else ""))
            if alts:
                groups.append(f"(?P<p{i}>{'|'.join(alts)})")
        return r"(?i)(?P<pre>^|[^\pL\pN_])(?:" + "|".join(groups) + r")(?:[^\pL\pN_]|$)"

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys([*self.phrases, *self.regex]))


def _phrase_regex(phrase: str) -> str:
    """A phrase as a regex body (no word boundaries: :func:`_compile` puts them around all phrases)."""
    p = T.normalise(phrase.strip())
    star = p.endswith("*")
    body = r"\s+".join(re.escape(w) for w in p.rstrip("*").split())
    return body + (r"\w*" if star else "")


_CACHE: dict[str, re.Pattern] = {}


def _compile(rule: Rule) -> re.Pattern:
    r"""``(?<!\w)(?:(?P<p0>phrases of language 0)|(?P<p1>...))(?!\w)|(?P<r0>regexes of language 0)|...``:
    one boundary check around all phrases (6x faster than one per phrase)."""
    key = repr((rule.languages, {k: list(v) for k, v in rule.phrases.items()}, {k: list(v) for k, v in rule.regex.items()}))
    if key in _CACHE:  # keyed by content (an id() key could be reused by a new rule)
        return _CACHE[key]
    phrase_groups, regex_groups = [], []
    for i, lang in enumerate(rule.languages):
        alts = [_phrase_regex(p) for p in rule.phrases.get(lang, ())]
        if alts:
            phrase_groups.append(f"(?P<p{i}>{'|'.join(alts)})")
        rx_alts = []
        for rx in rule.regex.get(lang, ()):
            try:
                re.compile(rx)
            except re.error as e:
                raise ScorecardError(f"autoqa category {rule.name!r}: regex {rx!r} ({lang}) does not compile: {e}") from None
            rx_alts.append(f"(?:{T.normalise(rx)})")
        if rx_alts:
            regex_groups.append(f"(?P<r{i}>{'|'.join(rx_alts)})")
    parts = ([r"(?<!\w)(?:" + "|".join(phrase_groups) + r")(?!\w)"] if phrase_groups else []) + regex_groups
    try:
        pat = re.compile("|".join(parts), re.IGNORECASE)
    except re.error as e:  # e.g. a user regex naming a group p0 / r0
        raise ScorecardError(f"autoqa category {rule.name!r}: its regexes do not combine: {e}") from None
    _CACHE[key] = pat
    return pat


#: built-in categories; English, German and Portuguese phrases
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("Greeting", window="first", messages=2, phrases={
        "en": ["hello", "hi", "hey", "good morning", "good afternoon", "good evening", "greetings", "welcome",
               "dear"],
        "de": ["hallo", "guten morgen", "guten tag", "guten abend", "moin", "servus", "grüß gott",
               "willkommen", "liebe", "lieber", "sehr geehrte*"],
        "pt": ["olá", "ola", "oi", "bom dia", "boa tarde", "boa noite", "bem-vindo", "bem-vinda",
               "seja bem-vindo", "prezado", "prezada", "caro cliente", "cara cliente"]}),
    Rule("Closing", window="last", messages=2, phrases={
        "en": ["have a nice day", "have a great day", "have a good day", "have a wonderful day",
               "have a good one", "have a nice weekend", "have a great weekend", "goodbye", "bye",
               "take care", "best regards", "kind regards", "all the best", "best wishes", "enjoy your day",
               "enjoy the rest of your day", "stay safe"],
        "de": ["schönen tag", "einen schönen tag", "schönes wochenende", "auf wiedersehen", "tschüss",
               "tschüs", "viele grüße", "freundliche grüße", "mit freundlichen grüßen", "beste grüße",
               "liebe grüße", "bleiben sie gesund", "alles gute"],
        "pt": ["tenha um bom dia", "tenha um ótimo dia", "tenha um excelente dia", "tenha uma boa tarde",
               "tenha uma ótima tarde", "tenha uma boa noite", "bom fim de semana", "ótimo fim de semana",
               "até logo", "até mais", "até breve", "tchau", "atenciosamente", "abraços", "um abraço",
               "cuide-se", "fique bem", "tudo de bom"]}),
    Rule("Apology / empathy", window="any", phrases={
        "en": ["sorry", "apologize", "apologise", "apologies", "my apologies", "i understand",
               "i can imagine", "i can understand", "must be frustrating", "i regret", "unfortunately",
               "i appreciate your patience", "thank you for your patience", "thanks for your patience",
               "inconvenience"],
        "de": ["entschuldigung", "entschuldigen sie", "entschuldige", "tut mir leid", "es tut mir leid",
               "bedaure", "bedauere", "leider", "ich verstehe", "verstehe ich", "kann ich verstehen",
               "ärgerlich", "unannehmlichkeiten", "danke für ihre geduld", "vielen dank für ihre geduld"],
        "pt": ["desculpe", "desculpa", "desculpas", "peço desculpas", "pedimos desculpas", "lamento",
               "lamentamos", "sinto muito", "infelizmente", "entendo", "compreendo", "imagino",
               "transtorno", "inconveniente", "agradeço a sua paciência", "obrigado pela paciência",
               "obrigada pela paciência"]}),
    Rule("Further help", window="last", messages=3, phrases={
        "en": ["anything else", "something else", "any other questions", "any further questions",
               "any more questions", "further assistance", "further help", "help you with anything",
               "assist you with anything", "let me know if", "let us know if", "feel free to",
               "don't hesitate", "do not hesitate", "happy to help", "glad to help", "here to help"],
        "de": ["sonst noch", "noch etwas", "weitere fragen", "noch fragen", "kann ich ihnen noch",
               "melden sie sich gerne", "melden sie sich jederzeit", "zögern sie nicht",
               "stehe ich ihnen gerne", "stehen wir ihnen gerne", "gerne zur verfügung", "helfe ihnen gerne",
               "helfen ihnen gerne"],
        "pt": ["algo mais", "mais alguma coisa", "mais alguma dúvida", "outra dúvida", "outras dúvidas",
               "qualquer dúvida", "à disposição", "a disposição", "posso ajudar em algo",
               "posso ajudar com mais", "não hesite", "estamos aqui para ajudar", "fico feliz em ajudar"]}),
    Rule("Thanks", window="any", phrases={
        "en": ["thank you", "thanks", "thank u", "thx", "many thanks", "appreciate", "grateful"],
        "de": ["danke", "vielen dank", "herzlichen dank", "dankeschön", "besten dank", "bedanke"],
        "pt": ["obrigado", "obrigada", "agradeço", "agradecemos", "muito obrigado", "muito obrigada",
               "valeu"]}),
)

_RULE_KEYS = {"name", "phrases", "regex", "author", "window", "messages", "found", "missing"}
_FILE_KEYS = {"categories", "include_defaults"}


@public
def rules_from_dict(spec: Mapping) -> list[Rule]:
    """Rules from the YAML structure (see the module docstring); unknown keys are errors."""
    if not isinstance(spec, Mapping):
        raise ScorecardError(f"autoqa rules must be a mapping with keys {sorted(_FILE_KEYS)}; got {type(spec).__name__}")
    check_keys("autoqa rules", spec, _FILE_KEYS, error=ScorecardError)
    cats = spec.get("categories", [])
    if not isinstance(cats, list):
        raise ScorecardError(f"autoqa 'categories' must be a list; got {type(cats).__name__}")
    out = list(DEFAULT_RULES) if spec.get("include_defaults", True) else []
    for i, c in enumerate(cats):
        if not isinstance(c, Mapping) or "name" not in c:
            raise ScorecardError(f"autoqa categories[{i}] must be a mapping with at least 'name'; got {c!r}")
        check_keys(f"autoqa category {c['name']!r}", c, _RULE_KEYS, error=ScorecardError)
        out.append(Rule(**{k: v for k, v in c.items()}))
    names = [r.name for r in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScorecardError(f"autoqa category name(s) defined twice: {dup}")
    return out


#: keys of a scorecard category's ``auto:`` block
AUTO_KEYS = ("builtin", "phrases", "regex", "author", "window", "messages", "found", "missing")


def _at(spec, key) -> str:
    """`` (line N)`` when ``spec`` came from the scorecard YAML loader (which records key lines)."""
    line = getattr(spec, "lines", {}).get(key)
    return f" (line {line})" if line else ""


def _plain(obj):
    """The spec as plain dicts / lists (for dumping; the loader's mappings carry line numbers)."""
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


@public
def rule_from_spec(name: str, spec, *, scale=None) -> Rule:
    """The :class:`Rule` of one scorecard category's ``auto:`` block.

    Parameters
    ----------
    name : str
        The scorecard category (the rule rates it).
    spec : mapping or str
        ``{phrases: {lang: [...]}, regex: {lang: [...]}, author, window, messages, found, missing}``
        or ``{builtin: Greeting}`` (a built-in category's phrase lists, its other keys
        overridable); a string is short for ``{builtin: <string>}``.
    scale : qakit.Scale, optional
        The category's scale: ``found`` / ``missing`` default to its best / worst value and must
        lie on it (default 1 / 0).

    Returns
    -------
    Rule

    Raises
    ------
    qakit.errors.ScorecardError
        Naming the category, the key and (for YAML loaded by :func:`qakit.load_scorecard`) its
        line; all problems of the block at once.

    Examples
    --------
    >>> r = rule_from_spec("Refund explained", {"phrases": {"en": ["refund policy"], "de": ["Rückerstattung*"],
    ...                                                    "pt": ["reembolso"]}, "window": "last"})
    >>> r.name, r.window, r.found, r.missing
    ('Refund explained', 'last', 1.0, 0.0)
    >>> rule_from_spec("Opening", "Greeting").phrases["de"][:2]
    ['hallo', 'guten morgen']
    """
    where = "auto"
    if isinstance(spec, str):
        spec = {"builtin": spec}
    if not isinstance(spec, Mapping):
        raise ScorecardError(f"category {name!r}: {where} must be a mapping with keys from {list(AUTO_KEYS)} or the name of a built-in "
                             f"category {[r.name for r in DEFAULT_RULES]}; got {spec!r}")
    problems = [f"{where}: unknown key {k!r}{_at(spec, k)}; allowed: {list(AUTO_KEYS)}"
                for k in spec if k not in AUTO_KEYS]
    fields: dict = {}
    if "builtin" in spec:
        b = spec["builtin"]
        base = {r.name.casefold(): r for r in DEFAULT_RULES}.get(str(b).strip().casefold())
        if base is None:
            problems.append(f"{where}.builtin{_at(spec, 'builtin')}: {b!r} is not a built-in category; "
                            f"choose from {[r.name for r in DEFAULT_RULES]}")
        else:
            fields = {k: getattr(base, k) for k in ("phrases", "regex", "author", "window", "messages")}
    for key, allowed in (("author", AUTHORS), ("window", WINDOWS)):
        if key in spec:
            if spec[key] not in allowed:
                problems.append(f"{where}.{key}{_at(spec, key)}: must be one of {list(allowed)}; got {spec[key]!r}")
            else:
                fields[key] = spec[key]
    if "messages" in spec:
        m = spec["messages"]
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            problems.append(f"{where}.messages{_at(spec, 'messages')}: must be an integer >= 1; got {m!r}")
        else:
            fields["messages"] = m
    for key in ("phrases", "regex"):
        if key not in spec:
            continue
        lists = spec[key]
        if not isinstance(lists, Mapping) or not lists:
            problems.append(f"{where}.{key}{_at(spec, key)}: must map a language code to a list of "
                            f"{'phrases' if key == 'phrases' else 'regular expressions'} "
                            f"(e.g. {{en: [...], de: [...], pt: [...]}}); got {_plain(lists)!r}")
            continue
        clean = {}
        for lang, items in lists.items():
            items = [items] if isinstance(items, str) else items
            if not isinstance(items, (list, tuple)) or not items or not all(isinstance(p, str) and p.strip() for p in items):
                problems.append(f"{where}.{key}.{lang}{_at(lists, lang)}: must be a non-empty list of non-empty "
                                f"strings; got {_plain(lists[lang])!r}")
                continue
            if key == "regex":
                for rx in items:
                    try:
                        re.compile(rx)
                    except re.error as e:
                        problems.append(f"{where}.regex.{lang}{_at(lists, lang)}: {rx!r} does not compile: {e}")
            clean[str(lang)] = list(items)
        fields[key] = clean
    if not problems and not any((fields.get("phrases") or {}).values()) and not any((fields.get("regex") or {}).values()):
        problems.append(f"{where}: give phrases, regex or builtin (phrase lists per language, e.g. "
                        "{phrases: {en: [...], de: [...], pt: [...]}})")
    bounds = {"found": 1.0 if scale is None else scale.max, "missing": 0.0 if scale is None else scale.min}
    for key in ("found", "missing"):
        v = spec.get(key, bounds[key])
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            problems.append(f"{where}.{key}{_at(spec, key)}: must be a number (a rating); got {v!r}")
        elif scale is not None and not scale.contains(np.array([v]))[0]:
            problems.append(f"{where}.{key}{_at(spec, key)}: {v!r} is not on the category's scale ({scale.describe()})")
        else:
            fields[key] = float(v)
    if problems:
        raise ScorecardError(f"category {name!r}: " + "; ".join(problems))
    try:
        return Rule(name=name, **fields)
    except ScorecardError as e:  # e.g. regexes that do not combine
        raise ScorecardError(f"category {name!r}: {where}: {e}") from None


@public
def rules_from_card(card, *, include_defaults: bool = False) -> list[Rule]:
    """The rules of a scorecard's categories that carry an ``auto:`` block.

    Parameters
    ----------
    card : qakit.Scorecard
    include_defaults : bool, default=False
        Add the built-in categories (:data:`DEFAULT_RULES`) the card does not name.

    Returns
    -------
    list of Rule
        One per ``auto:`` category, in card order, rating on the category's scale.

    Examples
    --------
    >>> import qakit
    >>> card = qakit.load_scorecard_text(\'\'\'
    ... categories:
    ...   - name: Opening
    ...     auto: Greeting
    ...   - name: Refund policy
    ...     scale: 5
    ...     auto:
    ...       phrases: {en: [refund policy], de: [Rückerstattung*], pt: [reembolso]}
    ...   - name: Solution
    ... \'\'\')
    >>> [(r.name, r.found, r.missing) for r in rules_from_card(card)]
    [('Opening', 1.0, 0.0), ('Refund policy', 5.0, 1.0)]
    """
    from ..scorecard.card import Scorecard

    if not isinstance(card, Scorecard):
        from ..errors import ParameterError
        raise ParameterError(f"card must be a qakit.Scorecard (load_scorecard); got {type(card).__name__}")
    out = [rule_from_spec(c.name, c.auto, scale=c.scale) for c in card.categories if c.auto is not None]
    if include_defaults:
        names = {c.name.casefold() for c in card.categories}
        out += [r for r in DEFAULT_RULES if r.name.casefold() not in names]
    if not out:
        from ..errors import ParameterError
        raise ParameterError(f"card {card.name!r} has no category with an 'auto:' block "
                             f"(categories: {card.category_names}); add one, or pass include_defaults=True")
    return out


@public
def auto_scorecard(rules: Sequence[Rule], *, card=None, learned: Sequence[str] = ()):
    """The scorecard that scores automatic ratings into the AQS.

    Parameters
    ----------
    rules : list of Rule
        The rules whose ratings are scored.
    card : qakit.Scorecard, optional
        The card the rules came from (:func:`rules_from_card`): its categories keep their scale,
        weight and critical flag, and the card its mode and pass threshold. Without it, one binary
        category of weight 1 per rule.
    learned : list of str, default=()
        Learned categories to add (binary, weight 1, unless the card has them).

    Returns
    -------
    qakit.Scorecard

    Examples
    --------
    >>> auto_scorecard(DEFAULT_RULES[:2], learned=["Understanding"]).category_names
    ['Greeting', 'Closing', 'Understanding']
    """
    from ..scorecard.card import Category, Scorecard

    names = [r.name for r in rules] + [n for n in learned if n not in {r.name for r in rules}]
    if card is None:
        return Scorecard([Category(n) for n in names], name="automatic categories")
    have = {c.name: c for c in card.categories}
    cats = [have.get(n) or Category(n) for n in names]
    used = {c.section for c in cats}
    sections = tuple(x for x in card.sections if x.name in used)
    if None in used or all(x.bonus for x in sections):  # a learned category has no section: score without them
        cats, sections = [replace(c, section=None) for c in cats], ()
    return Scorecard(cats, mode=card.mode, pass_threshold=card.pass_threshold, bands=card.bands, sections=sections,
                     sections_combine=card.sections_combine, name=f"{card.name} (automatic categories)",
                     version=card.version)


@public
def load_rules(source: str | Path) -> list[Rule]:
    """Rules from a YAML file path or YAML text (``yaml.safe_load``)."""
    text = Path(source).read_text(encoding="utf-8") if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))) else source
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScorecardError(f"autoqa rules are not valid YAML: {e}") from None
    return rules_from_dict(spec or {})


def _lang_group(m: re.Match) -> str:
    """The language group that matched (a user regex may contain groups of its own)."""
    return next(k for k, v in m.groupdict().items() if v is not None and k[0] in "pr" and k[1:].isdigit())


def _evidence(conv, mids, start, end, lang) -> pd.DataFrame:
    """First match per conversation (rows come in conversation order)."""
    return pd.DataFrame({"_c": conv, T.EVIDENCE_MESSAGE: mids, T.EVIDENCE_START: start, T.EVIDENCE_END: end,
                         T.EVIDENCE_LANGUAGE: lang}).drop_duplicates("_c")


def _search_python(rule: Rule, texts: np.ndarray, rows: np.ndarray, conv_codes, mids) -> pd.DataFrame:
    """``re.search`` of the rule's compiled pattern over the window's messages."""
    search = rule.pattern.search
    hits = [search(t) for t in texts[rows]]
    ok = np.fromiter((h is not None for h in hits), dtype=bool, count=len(hits))
    hit = [h for h in hits if h is not None]
    langs = rule.languages
    return _evidence(conv_codes[rows[ok]], mids[rows[ok]],
                     np.fromiter((h.start() for h in hit), dtype="int64", count=len(hit)),
                     np.fromiter((h.end() for h in hit), dtype="int64", count=len(hit)),
                     [langs[int(_lang_group(h)[1:])] for h in hit])


def _search_re2(rule: Rule, texts: pa.Array, rows: np.ndarray, conv_codes, mids) -> pd.DataFrame:
    """The rule's RE2 pattern over the window's messages with Arrow kernels: which match, the
    byte offset of the match, the boundary and phrase groups; byte offsets become character
    offsets (only non-ASCII texts need a conversion, done per matching text)."""
    pat = rule.re2
    sub = texts.take(pa.array(rows, type=pa.int64()))
    ok = np.asarray(pc.fill_null(pc.match_substring_regex(sub, pat), False).to_numpy(zero_copy_only=False), dtype=bool)
    hit_rows = rows[ok]
    if not len(hit_rows):
        return _evidence(np.array([], dtype=int), np.array([], dtype=object), np.array([], dtype="int64"),
                         np.array([], dtype="int64"), [])
    m = sub.filter(pa.array(ok))
    groups = pc.extract_regex(m, pat)
    offset = np.asarray(pc.find_substring_regex(m, pat).to_numpy(zero_copy_only=False), dtype="int64")
    pre_len = np.asarray(pc.binary_length(groups.field("pre")).to_numpy(zero_copy_only=False), dtype="int64")
    langs = rule.languages
    lang = np.empty(len(m), dtype=object)
    phrase_len = np.zeros(len(m), dtype="int64")
    for i, lg in enumerate(langs):  # a few languages
        name = f"p{i}"
        if name not in [groups.type.field(j).name for j in range(groups.type.num_fields)]:
            continue
        n = np.asarray(pc.binary_length(groups.field(name)).to_numpy(zero_copy_only=False), dtype="int64")
        take = (n > 0) & (phrase_len == 0)
        phrase_len[take] = n[take]
        lang[take] = lg
    start = offset + pre_len
    end = start + phrase_len
    ascii_ = np.asarray(pc.string_is_ascii(m).to_numpy(zero_copy_only=False), dtype=bool)
    if not ascii_.all():
        py = m.to_pylist()
        for j in np.flatnonzero(~ascii_):  # byte -> character offsets, matching non-ASCII texts only
            b = py[j].encode("utf-8")
            start[j] = len(b[:start[j]].decode("utf-8"))
            end[j] = len(b[:end[j]].decode("utf-8"))
    return _evidence(conv_codes[hit_rows], mids[hit_rows], start, end, list(lang))


def _window(msg: pd.DataFrame, rule: Rule) -> np.ndarray:
    role = msg[S.AUTHOR_ROLE]
    mask = (role.isin(["agent", "customer"]) if rule.author == "any" else role.eq(rule.author)).to_numpy(copy=True)
    if rule.window == "first":
        mask &= msg[T.SEQ_BY_ROLE].to_numpy() < rule.messages
    elif rule.window == "last":
        mask &= msg[T.SEQ_BY_ROLE_FROM_END].to_numpy() < rule.messages
    return mask


@public
def detect(messages: pd.DataFrame, *, rules: Sequence[Rule] | None = None, min_words: int = T.MIN_WORDS,
           prepared: bool = False, card=None) -> pd.DataFrame:
    """Rate every conversation on rule-based categories, with the evidence of each match.

    Parameters
    ----------
    messages : pandas.DataFrame
        The messages table (:data:`qakit.schema.MESSAGES`).
    rules : list of Rule, optional
        Default :data:`DEFAULT_RULES`; custom ones from :func:`load_rules`.
    card : qakit.Scorecard, optional
        Rate the card's categories that have an ``auto:`` block (:func:`rules_from_card`), on
        their scales; instead of ``rules``.
    min_words : int, default=10
        Eligibility: at least one customer and one agent message and this many words.
    prepared : bool, default=False
        ``messages`` already went through :func:`qakit.autoqa._text.prepare` (internal reuse).

    Returns
    -------
    pandas.DataFrame
        One row per conversation x category: ``conversation_id, agent_id, category, rating``
        (``found`` / ``missing`` of the rule, NaN = N/A: not eligible), ``eligible``,
        ``evidence_message_id``, ``evidence_start``, ``evidence_end`` (character span of the first
        match in the NFC text; -1 without a match), ``evidence_language`` (the phrase list that
        matched), ``source`` (``"rule"``). Ineligible conversations are itemised in
        :func:`qakit.schema.exclusions`.

    Notes
    -----
    Rating ``= found`` if any message in the rule's window matches, else ``missing``; N/A when
    ``n_customer >= 1 and n_agent >= 1 and n_words >= min_words`` fails. Matching: phrase
    categories run one RE2 pattern per category over all the window's messages in Arrow's C++
    kernels (:attr:`Rule.re2`); categories with custom regexes use Python's ``re`` per message.

    Examples
    --------
    >>> msgs = pd.DataFrame({"conversation_id": "c1", "message_id": ["m1", "m2", "m3"],
    ...     "author_role": ["customer", "agent", "customer"], "agent_id": [None, "a1", None],
    ...     "sent_at": ["2026-01-05 09:00", "2026-01-05 09:01", "2026-01-05 09:02"],
    ...     "text": ["My parcel never arrived.", "Hello Ana, sorry about that, I resent it today.",
    ...              "Great, thank you"]})
    >>> d = detect(msgs)
    >>> d[["category", "rating", "evidence_message_id", "evidence_start", "evidence_end"]]
                category  rating evidence_message_id  evidence_start  evidence_end
    0           Greeting     1.0                  m2               0             5
    1            Closing     0.0                 NaN              -1            -1
    2  Apology / empathy     1.0                  m2              11            16
    3       Further help     0.0                 NaN              -1            -1
    4             Thanks     0.0                 NaN              -1            -1
    """
    if card is not None:
        if rules is not None:
            from ..errors import ParameterError
            raise ParameterError("give rules or card, not both (a card's rules: rules_from_card(card))")
        rules = rules_from_card(card)
    rules = list(DEFAULT_RULES if rules is None else rules)
    if not rules or not all(isinstance(r, Rule) for r in rules):
        from ..errors import ParameterError
        raise ParameterError(f"rules must be a non-empty list of Rule (see load_rules); got {rules!r}")
    msg = messages if prepared else T.prepare(messages)
    conv = T.conversation_table(msg, min_words=min_words)
    conv_index = pd.Index(conv[S.CONVERSATION_ID])
    eligible = conv[T.ELIGIBLE].to_numpy()
    texts = msg[S.TEXT].to_numpy(dtype=object)
    texts_arrow = pa.array(msg[S.TEXT], type=pa.large_string(), from_pandas=True)
    if isinstance(texts_arrow, pa.ChunkedArray):
        texts_arrow = texts_arrow.combine_chunks()
    conv_codes = conv_index.get_indexer(msg[S.CONVERSATION_ID])
    mids = msg[S.MESSAGE_ID].to_numpy(dtype=object)
    parts = []
    for rule in rules:  # a handful of categories; the messages are searched by one compiled pattern each
        rows = np.flatnonzero(_window(msg, rule) & eligible[conv_codes])
        if rule.re2 is not None:
            first = _search_re2(rule, texts_arrow, rows, conv_codes, mids)
        else:
            first = _search_python(rule, texts, rows, conv_codes, mids)
        rating = np.where(eligible, float(rule.missing), np.nan)
        rating[first["_c"].to_numpy()] = float(rule.found)
        part = pd.DataFrame({
            S.CONVERSATION_ID: conv[S.CONVERSATION_ID].to_numpy(), S.AGENT_ID: conv[S.AGENT_ID].to_numpy(),
            S.CATEGORY: rule.name, S.RATING: rating, T.ELIGIBLE: eligible,
        })
        ev = first.set_index("_c").reindex(np.arange(len(conv)))
        part[T.EVIDENCE_MESSAGE] = ev[T.EVIDENCE_MESSAGE].astype("str").to_numpy()
        part[T.EVIDENCE_START] = ev[T.EVIDENCE_START].fillna(-1).astype("int64").to_numpy()
        part[T.EVIDENCE_END] = ev[T.EVIDENCE_END].fillna(-1).astype("int64").to_numpy()
        part[T.EVIDENCE_LANGUAGE] = ev[T.EVIDENCE_LANGUAGE].astype("str").to_numpy()
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out[T.SOURCE] = SOURCE_RULE
    S.add_exclusion(out, f"not eligible for automatic scoring (needs >= 1 customer and >= 1 agent message "
                         f"and >= {min_words} words): rated N/A", S.TEXT, conv.loc[~eligible, S.CONVERSATION_ID])
    S.add_adjustment(out, "no agent_id on any agent message: rated under agent 'unknown'", S.AGENT_ID,
                     conv.loc[conv[T.N_AGENT].gt(0) & conv[S.AGENT_ID].eq("unknown"), S.CONVERSATION_ID])
    return out


__all__ = ["DEFAULT_RULES", "Rule", "rules_from_dict", "load_rules", "rule_from_spec", "rules_from_card",
           "auto_scorecard", "detect"]
