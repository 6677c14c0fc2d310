"""Rule-based automatic categories: deterministic, explainable, offline, linear time.

Each category is a list of phrases or regular expressions per language, searched in a window of
one author's messages (e.g. the opening of the agent's first message for a greeting). A
conversation is rated 1 when a phrase is found (the evidence is the message id and character span
of the first match, never the text), 0 when not, and N/A when it is not eligible (fewer than one
customer and one agent message, or fewer than 10 words: the vendors' rule).

Built-in categories (:data:`DEFAULT_RULES`; phrase banks in English, German, Portuguese, Spanish
and French, measured on hand-labelled real conversations in ``docs/guide/autoqa.md``):

- ``Greeting``: a salutation at the start of the agent's first message (``@mentions`` skipped);
- ``Closing``: a farewell or good wish in the agent's last two messages;
- ``Apology``: sorry / apologise / regret;
- ``Empathy``: the customer's feelings acknowledged ("I understand how frustrating", "sorry to
  hear"); a restatement ("I understand that you want to cancel") is not empathy;
- ``Further help``: an offer of more help or an invitation to come back, in the agent's last three
  messages ("happy to help" as an opener is not one);
- ``Thanks``.

``Apology / empathy`` (the two together, the old built-in) stays available by name
(:data:`BUILTIN_RULES`). Custom text-match and regex categories come from YAML
(:func:`load_rules`)::

    categories:
      - name: Refund policy
        phrases: {en: [refund policy], de: [Rückerstattung*], pt: [reembolso]}
        author: agent          # agent | customer | any (bots never count as agents)
        window: any            # any | first | last
        messages: 2            # with first / last: how many of the author's messages
        at: any                # any | start | end: where in the message
        within: 60             # with at start / end: how many characters from it
      - name: Ticket number
        regex: {any: ['#\\d{6,}']}
    include_defaults: true     # keep the built-in categories (default true)

Phrases match case-insensitively on whole words (``*`` at the end of a word allows any word
ending, spaces match any whitespace); texts and phrases are compared in Unicode NFC form, so a
macOS export in NFD matches too. Regexes are RE2 syntax (Google's linear-time engine, inside
``pyarrow``): matching time grows linearly with the text whatever the pattern, and no message is
searched beyond ``max_chars`` characters (:func:`detect`), which bounds the time per message.
RE2 has no look-around or back-references, and its ``\\w``, ``\\b``, ``\\d`` are ASCII: write
``\\pL`` for any letter.

A scorecard YAML can carry the same definitions on the categories it scores, in an ``auto:``
block (:mod:`qakit.scorecard.auto` checks it; :func:`rules_from_card`, ``detect(messages,
card=card)``); the rating then lies on the category's scale (``found`` / ``missing`` default to
its best / worst value)::

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

import functools
import itertools
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
from ..errors import ParameterError, ScorecardError, check_keys
from ..intervals import wilson_ci
from ..scorecard.auto import AUTHORS, MAX_WITHIN, POSITIONS, WINDOWS, check_auto, is_learned, regex_problem
from ..scorecard.card import Category, Scorecard
from . import _text as T

SOURCE_RULE = "rule"
#: no message is searched beyond this many characters (RE2 is linear in the text: this bounds the
#: time per message); longer messages are itemised as adjustments of :func:`detect`'s result
MAX_CHARS = 100_000
_W = r"[\pL\pN_]"  # a word character (letters and digits of every script)
#: a word ending after ``word*``: ASCII word characters or any non-ASCII character (a loop over the
#: full Unicode letter class blows up RE2's DFA: 50x slower on a long phrase list)
_WORD_END = r"[0-9A-Za-z_\x{80}-\x{10FFFF}]*"
_NW = r"[^\pL\pN_]"
#: what may come before a greeting at the start of a message: spaces, punctuation, @mentions
_LEAD = r"[\s\pP\pS]*(?:[@\x{FF20}][\pL\pN_.]+[\s\pP\pS]*)*"


@dataclass(frozen=True)
class Rule:
    """One rule-based category.

    Parameters
    ----------
    name : str
        Category name (as in the scorecard, if it is scored).
    phrases : mapping of language -> list of str
        Literal phrases (``*`` at the end of a word = any word ending).
    regex : mapping of language -> list of str
        RE2 regular expressions (searched case-insensitively; linear time).
    author : {"agent", "customer", "any"}
    window : {"any", "first", "last"}
    messages : int
        With ``window`` first / last: how many of the author's messages are searched.
    at : {"any", "start", "end"}
        Where in a message the match must be: anywhere, beginning within ``within`` characters
        of its start (after leading spaces, punctuation and ``@mentions``), or ending within
        ``within`` characters of its end.
    within : int
        Characters from the start / end (0-1000).
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
    at: str = "any"
    within: int = 60

    def __post_init__(self):
        where = f"autoqa category {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ScorecardError(f"an autoqa category needs a non-empty name; got {self.name!r}")
        for key, allowed in (("author", AUTHORS), ("window", WINDOWS), ("at", POSITIONS)):
            if getattr(self, key) not in allowed:
                raise ScorecardError(f"{where}: {key} must be one of {list(allowed)}; got {getattr(self, key)!r}")
        for key, low, high in (("messages", 1, None), ("within", 0, MAX_WITHIN)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
                raise ScorecardError(f"{where}: {key} must be an integer >= {low}"
                                     + (f" and <= {high}" if high else "") + f"; got {v!r}")
        for key, spec in (("phrases", self.phrases), ("regex", self.regex)):
            if not isinstance(spec, Mapping) or not all(
                    isinstance(v, (list, tuple)) and all(isinstance(p, str) and p.strip() for p in v)
                    for v in spec.values()):
                raise ScorecardError(f"{where}: {key} must map a language to a list of non-empty strings; "
                                     f"got {spec!r}")
        if not any(self.phrases.values()) and not any(self.regex.values()):
            raise ScorecardError(f"{where}: give at least one phrase or regex")
        for lang, items in self.regex.items():
            for rx in items:
                why = regex_problem(T.normalise(rx))
                if why:
                    raise ScorecardError(f"{where}: regex {rx!r} ({lang}) is refused: {why}")
        for v in (self.found, self.missing):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ScorecardError(f"{where}: found / missing must be numbers; got {v!r}")
        why = regex_problem(self.re2)  # the combined pattern (a user regex may name a group like ours)
        if why:
            raise ScorecardError(f"{where}: its phrases and regexes do not combine: {why}")

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys([*self.phrases, *self.regex]))

    @property
    def re2(self) -> str:
        """The rule as one RE2 pattern: named groups ``qpre`` / ``qpre2`` (what comes before the
        phrase / regex match), ``qp<i>`` / ``qr<i>`` per language (``languages[i]``)."""
        return _pattern(self.at, self.within, tuple((lang, tuple(self.phrases.get(lang, ())),
                                                     tuple(self.regex.get(lang, ()))) for lang in self.languages))


_CHOICE = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")


def _words_body(text: str) -> str:
    """Words as an RE2 body: escaped, spaces = any whitespace, ``word*`` = any word ending."""
    return r"\s+".join(re.escape(w[:-1]) + _WORD_END if w.endswith("*") and len(w) > 1 else re.escape(w)
                       for w in text.split())


def _phrase_body(phrase: str) -> str:
    """A phrase as an RE2 body. ``[a|b c|]`` is one of several words or word groups (an empty
    choice makes the group optional): ``have a [nice|great] [day|weekend]``."""
    text = T.normalise(phrase.strip())
    out, pos, first = [], 0, True
    for m in [*_CHOICE.finditer(text), None]:
        lit = text[pos:m.start() if m else len(text)]
        if lit.strip():
            out.append(("" if first else r"\s+") + _words_body(lit))
            first = False
        if m is None:
            break
        alts = [a.strip() for a in m.group(1).split("|")]
        body = "(?:" + "|".join(_words_body(a) for a in sorted({a for a in alts if a}, key=lambda a: (-len(a), a))) + ")"
        if "" in alts:
            out.append(f"(?:{body}\\s+)?" if first else f"(?:\\s+{body})?")
        else:
            out.append(body if first else r"\s+" + body)
            first = False
        pos = m.end()
    return "".join(out)


def _no_captures(rx: str) -> str:
    """``rx`` with its unnamed groups made non-capturing (Arrow's regex extraction refuses unnamed
    groups; named ones are kept): ``(a+)+`` -> ``(?:a+)+``; escapes and character classes are left
    alone.

    Examples
    --------
    >>> _no_captures(r"(a+)+\\(x\\)[(]")
    '(?:a+)+\\\\(x\\\\)[(]'
    """
    out, i, in_class = [], 0, False
    while i < len(rx):
        c = rx[i]
        if c == "\\":
            out.append(rx[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if rx[i + 1:i + 2] == "]" or rx[i + 1:i + 3] == "^]":  # a ] first in the class is literal
                n = 2 if rx[i + 1] == "]" else 3
                out.append(rx[i:i + n])
                i += n
                continue
        elif c == "(" and rx[i + 1:i + 2] != "?":
            out.append("(?:")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _pattern(at: str, within: int, langs: tuple) -> str:
    phrase_groups, regex_groups = [], []
    for i, (_, phrases, regexes) in enumerate(langs):
        if phrases:  # longest first: the evidence covers the whole phrase
            alts = sorted({_phrase_body(p) for p in phrases}, key=lambda b: (-len(b), b))
            phrase_groups.append(f"(?P<qp{i}>{'|'.join(alts)})")
        if regexes:
            regex_groups.append(f"(?P<qr{i}>{'|'.join(f'(?:{_no_captures(T.normalise(r))})' for r in regexes)})")
    ph = "(?:" + "|".join(phrase_groups) + ")" if phrase_groups else None
    rx = "(?:" + "|".join(regex_groups) + ")" if regex_groups else None
    near = f"(?s:.){{0,{within}}}"
    parts = []
    if at == "any":
        if ph:
            parts.append(f"(?P<qpre>^|{_NW}){ph}(?:{_NW}|$)")
        if rx:
            parts.append(rx)
    elif at == "start":
        if ph:
            parts.append(f"^(?P<qpre>{_LEAD}(?:{near}?{_NW})??){ph}(?:{_NW}|$)")
        if rx:
            parts.append(f"^(?P<qpre2>{_LEAD}{near}?){rx}")
    else:  # end
        if ph:
            parts.append(f"(?P<qpre>^|{_NW}){ph}(?:{_NW}{near}|)$")
        if rx:
            parts.append(f"{rx}{near}$")
    return "(?i)" + "|".join(parts)


def _words(*parts: Sequence[str]) -> list[str]:
    """One phrase choosing a word (group) from each part: ``_words(["have a"], ["nice", "good"], ["day"])``
    is ``["have a [nice|good] day"]`` (an empty choice makes the part optional)."""
    return [" ".join(p[0] if len(p) == 1 else f"[{'|'.join(p)}]" for p in parts)]


_EN_WISH_ADJ = ["nice", "great", "good", "wonderful", "lovely", "fantastic", "fab", "awesome", "blessed", "safe",
                "happy", "pleasant", "super", "splendid", "terrific", "brilliant", "beautiful", "relaxing", "fun",
                "amazing", "excellent", "fabulous", "restful", "spooktacular", "spook-tacular", "productive"]
_EN_WISH_NOUN = ["day", "evening", "night", "weekend", "week", "one", "time", "trip", "flight", "journey",
                 "holiday", "holidays", "halloween", "thanksgiving", "christmas", "afternoon", "morning",
                 "rest of your day", "rest of the day", "rest of your evening", "rest of your week", "rest of your weekend",
                 "stay", "meal", "game", "show", "birthday", "vacation", "break", "season"]

_PT_WISH_ADJ = ["bom", "boa", "ótimo", "ótima", "excelente", "lindo", "linda", "maravilhoso", "maravilhosa", "feliz",
                "abençoado", "abençoada", "tranquilo", "tranquila", "seguro", "segura"]
_PT_WISH_NOUN = ["dia", "tarde", "noite", "semana", "fim de semana", "final de semana", "resto de dia", "resto do dia",
                 "resto de semana", "descanso", "feriado", "viagem"]
_ES_WISH_NOUN = ["día", "dia", "tarde", "noche", "fin de semana", "semana", "viaje", "resto del día"]

#: built-in categories by name (``auto: <name>`` in a scorecard); see the module docstring
_GREETING = Rule("Greeting", window="first", messages=1, at="start", within=40, phrases={
    "en": ["hello", "hi", "hey", "hiya", "howdy", "good morning", "good afternoon", "good evening", "good day",
           "greetings", "welcome", "dear"],
    "de": ["hallo", "hi", "hey", "guten morgen", "guten tag", "guten abend", "moin", "servus", "grüß gott",
           "grüezi", "willkommen", "herzlich willkommen", "liebe", "lieber", "sehr geehrte*"],
    "pt": ["olá", "ola", "oi", "bom dia", "boa tarde", "boa noite", "bem-vind*", "seja bem-vind*", "prezad*",
           "caro cliente", "cara cliente", "querid*"],
    "es": ["hola", "buenos días", "buenos dias", "buen día", "buen dia", "buenas tardes", "buenas noches", "buenas",
           "bienvenid*", "estimad*", "querid*"],
    "fr": ["bonjour", "bonsoir", "salut", "coucou", "bienvenue", "cher", "chère", "madame", "monsieur"]})

_CLOSING = Rule("Closing", window="last", messages=2, phrases={
    "en": [*_words(["have a", "have an", "enjoy a", "wishing you a", "wish you a"], _EN_WISH_ADJ, _EN_WISH_NOUN),
           *_words(["enjoy your", "enjoy the"], [*_EN_WISH_ADJ, ""], _EN_WISH_NOUN),
           "have a good one", "enjoy the rest of*", "enjoy your*", "enjoy", "goodbye", "good bye", "bye", "bye bye",
           "take care", "best regards", "kind regards", "warm regards", "warmest regards", "regards",
           "all the best", "best wishes", "warm wishes", "stay safe", "stay well", "be safe", "safe travels",
           "travel safe", "happy travels", "happy flying", "happy gaming", "happy holidays", "happy halloween",
           "happy thanksgiving", "happy friday", "happy weekend", "happy shopping", "happy listening",
           "happy streaming", "happy reading", "happy watching", "happy birthday", "merry christmas",
           "good night", "goodnight", "have fun", "see you soon", "see you again", "see you next time",
           "see you onboard", "see you on board", "see you there", "see you later", "see you then", "see ya",
           "hope to see you*", "look forward to seeing you", "look forward to welcoming you",
           "looking forward to seeing you", "looking forward to welcoming you", "talk soon", "talk to you soon",
           "speak soon", "until next time", "cheers"],
    "de": [*_words(["einen", ""], ["schönen", "tollen", "wunderschönen", "angenehmen", "erholsamen",
                                   "sonnigen", "entspannten", "gesegneten"],
                   ["tag", "abend", "sonntag", "feierabend", "nachmittag", "start in die woche", "vormittag"]),
           *_words(["ein", ""], ["schönes", "tolles", "erholsames", "angenehmes", "gutes", "frohes"],
                   ["wochenende", "fest", "neues jahr"]),
           *_words(["eine"], ["schöne", "tolle", "gute", "angenehme", "erholsame"], ["woche", "zeit", "reise", "nacht"]),
           "auf wiedersehen", "auf wiederhören", "tschüss", "tschüs", "ciao", "bis bald", "bis zum nächsten mal",
           "bis dann", "viele grüße", "freundliche grüße", "mit freundlichen grüßen", "beste grüße", "liebe grüße",
           "herzliche grüße", "schöne grüße", "bleiben sie gesund", "bleiben sie sicher", "bleib gesund",
           "alles gute", "frohe feiertage", "frohe weihnachten", "frohe ostern", "gute nacht", "viel spaß",
           "viel freude", "gute reise", "ich wünsche ihnen", "wünsche ihnen", "wir wünschen ihnen",
           "gleichfalls", "schönen tag noch", "einen schönen tag noch"],
    "pt": [*_words(["tenha um", "tenha uma", "desejo um", "desejo uma", "desejamos um", "desejamos uma"],
                   [*_PT_WISH_ADJ, ""], _PT_WISH_NOUN),
           *_words(["um", "uma"], _PT_WISH_ADJ, _PT_WISH_NOUN),
           *_words([a for a in _PT_WISH_ADJ if a not in ("bom", "boa")], _PT_WISH_NOUN), "até logo", "até mais", "até breve", "até a próxima", "até à próxima",
           "tchau", "adeus", "atenciosamente", "abraços", "um abraço", "abraço", "cuide-se", "se cuide",
           "fique bem", "fique seguro", "fique segura", "fique em segurança", "tudo de bom", "boas festas",
           "feliz natal", "feliz ano novo", "bom fim de semana", "ótimo fim de semana", "bom descanso",
           "para você também", "pra você também", "igualmente"],
    "es": [*_words(["que tengas", "que tenga", "que tengan", "ten", "tenga", "te deseo", "le deseo", "les deseo"],
                   ["un", "una"], ["buen", "buena", "excelente", "lindo", "linda", "feliz", "bonito", "bonita", ""],
                   _ES_WISH_NOUN),
           *_words(["feliz", "excelente", "lindo", "bonito", "linda", "bonita"], _ES_WISH_NOUN),
           "buen fin de semana", "buena semana", "buen viaje",
           "hasta luego", "hasta pronto", "hasta la próxima", "adiós", "adios", "chao", "saludos", "un saludo",
           "un abrazo", "cuídate", "cuídese", "cuidate", "atentamente", "cordialmente", "que disfrutes",
           "que disfrute", "disfruta", "felices fiestas", "feliz navidad", "igualmente"],
    "fr": ["bonne journée", "bonne soirée", "bonne fin de journée", "bonne fin de soirée", "bon week-end",
           "bon weekend", "bonne semaine", "bonne nuit", "bonne continuation", "bonne fin de semaine",
           "bon voyage", "bonne année", "belle journée", "belle soirée", "au revoir", "à bientôt", "a bientot",
           "à la prochaine", "à plus", "cordialement", "bien cordialement", "bien à vous", "amicalement",
           "prenez soin de vous", "bonnes fêtes", "joyeux noël", "de même", "vous aussi"]})

_APOLOGY = {
    "en": ["sorry", "apologize", "apologise", "apologizing", "apologising", "apologies", "apology",
           "my apologies", "our apologies", "i regret", "we regret", "regret any", "regret the", "please excuse",
           "pardon the", "excuse the"],
    "de": ["entschuldig*", "tut mir leid", "tut uns leid", "tut mir sehr leid", "tut uns sehr leid", "bedaure*",
           "bedauern", "verzeihung", "verzeihen sie", "sorry"],
    "pt": ["desculp*", "peço desculpas", "pedimos desculpas", "lamento", "lamentamos", "sinto muito",
           "sentimos muito", "perdão", "perdoe", "lamento muito"],
    "es": ["lo siento", "lo sentimos", "disculp*", "perdón", "perdon", "perdona", "perdone", "lamentamos",
           "lamento", "sentimos las molestias", "siento mucho", "sentimos mucho"],
    "fr": ["désolé*", "desole*", "excuse*", "pardon", "navré*", "navre*", "regrett*"]}
_EN_FEEL = ["frustrated", "upset", "disappointed", "annoyed", "worried", "concerned", "angry", "unhappy", "stressed",
            "inconvenienced", "confused", "anxious"]
_EMPATHY = {
    "en": [*_words(["i", "we", "i can", "we can", "i completely", "we completely", "i totally", "we totally", "i fully",
                    "we fully", "i definitely", "we definitely", "i absolutely", "we absolutely", "i do", "we do",
                    "i certainly", "we certainly", "i can certainly", "we can certainly", "i can definitely",
                    "i can totally", "i can completely"],
                   ["understand"],
                   ["how", "why", "your frustration", "the frustration", "your concern", "your concerns",
                    "your disappointment", "your situation", "your feelings", "the inconvenience", "how frustrating",
                    "that this is", "this is frustrating", "this must",
                    "the concern", "the urgency",
                    *[f"that you're {f}" for f in _EN_FEEL], *[f"that you are {f}" for f in _EN_FEEL],
                    *[f"you're {f}" for f in _EN_FEEL], *[f"you are {f}" for f in _EN_FEEL]]),
           "i can see how", "i can see why", "we can see how", "we can see why", "i can imagine", "i can only imagine", "we can imagine", "we can only imagine", "i imagine",
           "must be frustrating", "must have been frustrating", "must be so frustrating", "must be annoying",
           "must be difficult", "must be hard", "must be stressful", "must have been frustrating",
           "must have been difficult", "must have been annoying", "that must be",
           "how frustrating", "so frustrating", "is frustrating", "be frustrating", "was frustrating",
           "understandably", "understandable", "i hear you", "we hear you", "sorry to hear", "sad to hear",
           "sorry to see", "hate to hear", "hate to see", "not what we like to hear", "not what we want to hear",
           "not what we want", "i feel your", "we feel your", "i know how", "we know how", "i know that feeling",
           "we'd be frustrated", "we would be frustrated", "i'd be frustrated", "i would be frustrated",
           "that's not good", "that is not good", "not the experience", "not the kind of experience",
           "never want", "totally get", "completely get"],
    "de": ["ich verstehe ihre", "ich verstehe ihren", "ich verstehe das", "ich verstehe vollkommen",
           "ich verstehe sehr gut", "ich verstehe gut", "ich verstehe absolut", "verstehe ich", "verstehen wir",
           "ich kann verstehen", "ich kann gut verstehen", "kann ich verstehen", "kann ich gut verstehen",
           "wir verstehen ihre", "ich verstehe, wie", "ich verstehe, warum", "ich verstehe, dass das",
           "ich verstehe, dass dies", "ich verstehe, dass es", "nachvollziehen", "nachvollziehbar",
           "ich kann mir vorstellen", "kann mir vorstellen", "ich kann mir denken", "ärgerlich", "frustrierend",
           "ihre frustration", "ihren ärger", "ihre enttäuschung", "ihre sorge", "leid zu hören", "leid, zu hören",
           "leid, das zu hören", "traurig zu hören", "das klingt ärgerlich", "das ist natürlich ärgerlich",
           *[f"ich verstehe, dass sie {f} sind" for f in ("verärgert", "frustriert", "enttäuscht", "besorgt", "verwirrt")]],
    "pt": ["entendo a sua", "entendo sua", "entendo o quanto", "entendo como", "entendo perfeitamente",
           "entendo completamente", "entendo totalmente", "entendo a situação", "entendo que isso",
           "entendo que isto", "entendo que é", "entendo a frustração", "entendo sua frustração",
           "compreendo a sua", "compreendo sua", "compreendo o quanto", "compreendo como", "compreendo perfeitamente",
           "compreendo totalmente", "compreendo que isso", "imagino o quanto", "imagino como", "posso imaginar",
           "consigo imaginar", "deve ser frustrante", "frustrante", "sua frustração", "a frustração",
           "lamento saber", "lamento muito saber", "sinto muito saber", "sinto muito em saber", "triste saber",
           "lamento ouvir", "sinto muito ouvir", "que chato", "chato isso", "é chato",
           *[f"entendo que você esteja {f}" for f in ("frustrado", "frustrada", "chateado", "chateada", "preocupado",
                                                       "preocupada", "irritado", "irritada")]],
    "es": ["entiendo tu", "entiendo su", "entiendo lo", "entiendo cómo", "entiendo como", "entiendo perfectamente",
           "entiendo completamente", "comprendo tu", "comprendo su", "comprendo lo", "comprendo cómo",
           "comprendo perfectamente", "me imagino", "puedo imaginar", "qué frustrante", "que frustrante",
           "es frustrante", "tu frustración", "su frustración", "lamento escuchar", "lamento saber",
           "siento escuchar", "sentimos escuchar", "lamentamos escuchar", "lamentamos saber", "qué pena", "que pena"],
    "fr": ["je comprends votre", "je comprends ta", "je comprends tout à fait", "je comprends parfaitement",
           "je comprends bien", "je comprends que cela", "je comprends que ce", "nous comprenons votre",
           "je conçois", "j'imagine", "je peux imaginer", "frustrant", "votre frustration", "votre mécontentement",
           "navré d'apprendre", "désolé d'apprendre", "désolée d'apprendre", "triste d'apprendre"]}
_APOLOGY_RULE = Rule("Apology", phrases=_APOLOGY)
_EMPATHY_RULE = Rule("Empathy", phrases=_EMPATHY)
_IF_NEEDED_EN = _words(["if you"], ["have", "need", "require", "run into", "still have", "still need", "experience",
                                    "encounter", "come across", "notice", "see"],
                       ["any", "anything", "any other", "any more", "any further", "more", "further", "other",
                        "additional", "help", "assistance", "support", "us", "a hand", "something", "trouble",
                        "problems", "issues", "questions", "concerns"])
_FURTHER = Rule("Further help", window="last", messages=3, phrases={
    "en": ["anything else", "something else", "anything further", "anything more", "any other question*",
           "any further question*", "any more question*", "any additional question*", "any other issue*",
           "any other concern*", "any further concern*", "any other problem*", "further assistance",
           "further help", "further concern*", "further question*", "further support", "further issue*",
           "additional help", "additional assistance", "additional question*", "other questions",
           "help you with anything", "assist you with anything", "help with anything", "assist with anything",
           *_IF_NEEDED_EN, "if there's anything", "if there is anything", "if we can help", "if we can assist",
           "if i can help", "if i can assist", "if we can be of", "if i can be of", "if anything else",
           "if the issue persists", "if the problem persists", "if this persists", "if it persists",
           "if it happens again", "if this happens again", "if the issue continues", "if the problem continues",
           "if it continues", "if it still", "if that doesn't help", "if this doesn't help", "if that does not help",
           "if you're still", "if you are still",
           "don't hesitate", "do not hesitate", "dont hesitate", "never hesitate",
           *_words(["feel free to"], ["reach out", "reach back", "contact", "message", "dm", "ask", "get in touch",
                                      "write", "tweet", "reply", "get back", "let us know", "let me know",
                                      "come back", "drop", "send us", "hit us", "chat", "call", "give us",
                                      "follow up", "contact us", "pop back"]),
           "reach out again", "reach back out", "reach out anytime", "reach out any time", "reach out to us anytime",
           "get back to us", "here if you need", "here whenever you need", "here for you if", "here if anything",
           "we're always here", "we are always here", "always here for you", "here 24/7", "we're here 24/7",
           "happy to help further", "glad to help further", "happy to help with anything",
           "glad to help with anything"],
    "de": ["sonst noch", "noch etwas", "noch irgendetwas", "irgendetwas anderes", "etwas anderes",
           "irgendwas anderes", "weitere fragen", "noch fragen", "weiteren fragen", "andere fragen",
           "weitere probleme", "weitere anliegen", "weiteres anliegen", "noch ein anliegen", "weitere hilfe",
           "kann ich ihnen noch", "kann ich noch", "darf ich ihnen noch", "melden sie sich gerne",
           "melden sie sich jederzeit", "melden sie sich einfach", "melden sie sich bitte", "zögern sie nicht",
           "wenden sie sich gerne", "wenden sie sich jederzeit", "kontaktieren sie uns gerne", "erneut zu kontaktieren",
           "erneut kontaktieren", "wieder zu kontaktieren", "wieder kontaktieren", "erneut an uns",
           "stehe ich ihnen gerne", "stehen wir ihnen gerne", "gerne zur verfügung", "jederzeit zur verfügung",
           "weiterhin zur verfügung", "lassen sie es mich wissen", "lassen sie es uns wissen",
           "lassen sie uns wissen, wenn", "lassen sie mich wissen, wenn", "wenn sie weitere", "wenn sie noch",
           "falls sie weitere", "falls sie noch", "sollten sie weitere", "sollten sie noch", "falls es weitere",
           "wenn das problem weiterhin", "falls das problem weiterhin", "wenn es nichts anderes gibt",
           "unterstütze ich sie weiterhin", "helfen ihnen gerne weiter, wenn", "bei weiteren"],
    "pt": ["algo mais", "mais alguma coisa", "mais alguma dúvida", "alguma outra dúvida", "outra dúvida",
           "outras dúvidas", "outra pergunta", "outras perguntas", "mais alguma pergunta", "mais algum assunto",
           "mais alguma questão", "outro assunto", "qualquer dúvida", "qualquer outra", "qualquer coisa",
           "à disposição", "a disposição", "à sua disposição", "posso ajudar em algo", "posso ajudar com mais",
           "posso te ajudar com mais", "posso ajudá-lo com mais", "posso ajudá-la com mais", "em que possa ajudar",
           "em que eu possa ajudar", "em que posso ajudar mais", "não hesite", "entre em contato conosco",
           "entrar em contato conosco", "entre em contato novamente", "volte a entrar em contato",
           "volte a nos contatar", "fale conosco", "estamos sempre aqui", "estamos aqui se precisar",
           "se tiver mais", "se tiver outra", "se tiver outras", "se tiver alguma", "se você tiver",
           "se precisar", "caso precise", "caso tenha", "caso você tenha", "se houver algo",
           "se houver mais", "se o problema persistir", "caso o problema persista", "me avise se"],
    "es": ["algo más", "algo mas", "alguna otra", "otra consulta", "otra pregunta", "más preguntas",
           "mas preguntas", "alguna duda", "cualquier duda", "cualquier consulta", "cualquier otra", "no dudes",
           "no dude", "no dudéis", "a tu disposición", "a su disposición", "a tu disposicion", "a su disposicion",
           "si necesitas", "si necesita", "si tienes", "si tiene", "puedo ayudarte con algo", "en qué más",
           "en que mas", "vuelve a escribirnos", "vuelva a escribirnos", "escríbenos de nuevo",
           "aquí estamos", "estamos aquí para lo que"],
    "fr": ["autre chose", "autre question", "autres questions", "d'autres questions", "des questions",
           "n'hésitez pas", "n'hesitez pas", "à votre disposition", "a votre disposition", "si vous avez besoin",
           "si besoin", "puis-je vous aider", "autre demande", "revenez vers nous", "reviens vers nous",
           "si vous avez d'autres", "si le problème persiste", "recontactez-nous", "nous restons disponibles"]})
_THANKS = Rule("Thanks", phrases={
    "en": ["thank you", "thanks", "thank u", "thx", "many thanks", "appreciate", "appreciated", "grateful",
           "thankful", "ty"],
    "de": ["danke*", "vielen dank", "herzlichen dank", "besten dank", "bedanke*", "ich danke", "wir danken"],
    "pt": ["obrigad*", "agradeç*", "agradecemos", "agradecid*", "agradece*", "valeu", "grato", "grata"],
    "es": ["gracias", "agradezco", "agradecemos", "agradecid*", "agradece*"],
    "fr": ["merci", "remercie*", "remercions"]})

#: the built-in categories :func:`detect` rates by default
DEFAULT_RULES: tuple[Rule, ...] = (_GREETING, _CLOSING, _APOLOGY_RULE, _EMPATHY_RULE, _FURTHER, _THANKS)
#: every built-in rule by name (a scorecard's ``auto: <name>``), the default ones and
#: ``Apology / empathy`` (the two together: the built-in of qakit before 0.2)
BUILTIN_RULES: dict[str, Rule] = {r.name: r for r in DEFAULT_RULES} | {
    "Apology / empathy": Rule("Apology / empathy", phrases={
        lang: [*_APOLOGY.get(lang, ()), *_EMPATHY.get(lang, ())] for lang in dict.fromkeys([*_APOLOGY, *_EMPATHY])})}

_RULE_KEYS = {"name", "phrases", "regex", "author", "window", "messages", "found", "missing", "at", "within"}
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


@public
def rule_from_spec(name: str, spec, *, scale=None) -> Rule:
    """The :class:`Rule` of one scorecard category's ``auto:`` block.

    Parameters
    ----------
    name : str
        The scorecard category (the rule rates it).
    spec : mapping or str
        ``{phrases: {lang: [...]}, regex: {lang: [...]}, author, window, messages, at, within,
        found, missing}`` or ``{builtin: Greeting}`` (a built-in rule's phrase lists, its other
        keys overridable); a string is short for ``{builtin: <string>}``. Checked by
        :func:`qakit.scorecard.auto.check_auto`.
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
    ['hallo', 'hi']
    """
    spec = check_auto(name, spec, scale=scale)
    if is_learned(spec):
        raise ScorecardError(f"category {name!r}: auto: learned is a learned category, not a rule "
                             "(qakit.autoqa.cross_validate / learned_ratings score it)")
    if isinstance(spec, str):
        spec = {"builtin": spec}
    fields: dict = {}
    if "builtin" in spec:
        base = BUILTIN_RULES[spec["builtin"]]
        fields = {k: getattr(base, k) for k in ("phrases", "regex", "author", "window", "messages", "at", "within")}
    fields.update({k: v for k, v in spec.items() if k != "builtin"})
    fields.setdefault("found", 1.0 if scale is None else float(scale.max))
    fields.setdefault("missing", 0.0 if scale is None else float(scale.min))
    try:
        return Rule(name=name, **fields)
    except ScorecardError as e:  # e.g. regexes that do not combine
        raise ScorecardError(f"category {name!r}: auto: {e}") from None


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
    if not isinstance(card, Scorecard):
        raise ParameterError(f"card must be a qakit.Scorecard (load_scorecard); got {type(card).__name__}")
    out = [rule_from_spec(c.name, c.auto, scale=c.scale) for c in card.categories
           if c.auto is not None and not is_learned(c.auto)]
    if include_defaults:
        names = {c.name.casefold() for c in card.categories}
        out += [r for r in DEFAULT_RULES if r.name.casefold() not in names]
    if not out:
        raise ParameterError(f"card {card.name!r} has no category with an 'auto:' block "
                             f"(categories: {card.category_names}); add one, or pass include_defaults=True")
    return out


def has_auto(card) -> bool:
    """Whether ``card`` (a :class:`qakit.Scorecard` or None) has a rule category (an ``auto:`` block
    that is not ``learned``)."""
    return isinstance(card, Scorecard) and any(c.auto is not None and not is_learned(c.auto) for c in card.categories)


def learned_specs(card) -> dict[str, dict]:
    """The card's learned categories: name -> ``{"groups": ..., "threshold": ...}`` (as given)."""
    if not isinstance(card, Scorecard):
        return {}
    return {c.name: ({} if c.auto == "learned" else {k: v for k, v in c.auto.items() if k != "learned"})
            for c in card.categories if c.auto is not None and is_learned(c.auto)}


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


def _evidence(conv, mids, start, end, lang) -> pd.DataFrame:
    """First match per conversation (rows come in conversation order)."""
    return pd.DataFrame({"_c": conv, T.EVIDENCE_MESSAGE: mids, T.EVIDENCE_START: start, T.EVIDENCE_END: end,
                         T.EVIDENCE_LANGUAGE: lang}).drop_duplicates("_c")


def _lengths(groups: pa.StructArray, name: str) -> np.ndarray:
    """Byte length of a named group per row (0 where it did not take part)."""
    names = [groups.type.field(j).name for j in range(groups.type.num_fields)]
    if name not in names:
        return np.zeros(len(groups), dtype="int64")
    return np.asarray(pc.fill_null(pc.binary_length(groups.field(name)), 0).to_numpy(zero_copy_only=False), dtype="int64")


def _search(rule: Rule, texts: pa.Array, rows: np.ndarray, conv_codes, mids) -> pd.DataFrame:
    """The rule's RE2 pattern over the window's messages with Arrow kernels (linear time): which
    match, the byte offset of the match, the groups before it and of each language; byte offsets
    become character offsets (only non-ASCII texts need a conversion, done per matching text)."""
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
    pre_len = _lengths(groups, "qpre") + _lengths(groups, "qpre2")
    lang = np.empty(len(m), dtype=object)
    match_len = np.zeros(len(m), dtype="int64")
    for i, lg in enumerate(rule.languages):  # a few languages
        for kind in ("qp", "qr"):
            n = _lengths(groups, f"{kind}{i}")
            take = (n > 0) & (match_len == 0)
            match_len[take] = n[take]
            lang[take] = lg
    start = offset + pre_len
    end = start + match_len
    ascii_ = np.asarray(pc.string_is_ascii(m).to_numpy(zero_copy_only=False), dtype=bool)
    if not ascii_.all():
        py = m.to_pylist()
        for j in np.flatnonzero(~ascii_):  # byte -> character offsets, matching non-ASCII texts only
            b = py[j].encode("utf-8")
            start[j] = len(b[:start[j]].decode("utf-8", errors="ignore"))
            end[j] = len(b[:end[j]].decode("utf-8", errors="ignore"))
    return _evidence(conv_codes[hit_rows], mids[hit_rows], start, end, list(lang))


def _window(msg: pd.DataFrame, rule: Rule) -> np.ndarray:
    role = msg[S.AUTHOR_ROLE]
    mask = (role.isin(["agent", "customer"]) if rule.author == "any" else role.eq(rule.author)).to_numpy(copy=True)
    if rule.window == "first":
        mask &= msg[T.SEQ_BY_ROLE].to_numpy() < rule.messages
    elif rule.window == "last":
        mask &= msg[T.SEQ_BY_ROLE_FROM_END].to_numpy() < rule.messages
    return mask


def _check_rules(rules, card) -> list[Rule]:
    if card is not None:
        if rules is not None:
            raise ParameterError("give rules or card, not both (a card's rules: rules_from_card(card))")
        rules = rules_from_card(card)
    rules = list(DEFAULT_RULES if rules is None else rules)
    if not rules or not all(isinstance(r, Rule) for r in rules):
        raise ParameterError(f"rules must be a non-empty list of Rule (see load_rules); got {rules!r}")
    names = [r.name for r in rules]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"rules name the same category twice: {dup}")
    return rules


@public
def detect(messages: pd.DataFrame, *, rules: Sequence[Rule] | None = None, card=None, min_words: int = T.MIN_WORDS,
           max_chars: int = MAX_CHARS, prepared: bool = False) -> pd.DataFrame:
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
    max_chars : int, default=100_000
        Search at most this many characters of each message (its start): the time bound per
        message. Longer messages are itemised in :func:`qakit.schema.adjustments`.
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
    Rating ``= found`` if any message in the rule's window matches (at the rule's position in the
    message), else ``missing``; N/A when ``n_customer >= 1 and n_agent >= 1 and n_words >=
    min_words`` fails. Matching: one RE2 pattern per category over all the window's messages in
    Arrow's C++ kernels (:attr:`Rule.re2`): time linear in the text, whatever the pattern.

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
    0      Greeting     1.0                  m2               0             5
    1       Closing     0.0                 NaN              -1            -1
    2       Apology     1.0                  m2              11            16
    3       Empathy     0.0                 NaN              -1            -1
    4  Further help     0.0                 NaN              -1            -1
    5        Thanks     0.0                 NaN              -1            -1
    """
    rules = _check_rules(rules, card)
    if isinstance(max_chars, bool) or not isinstance(max_chars, (int, np.integer)) or max_chars < 1:
        raise ParameterError(f"max_chars must be an integer >= 1; got {max_chars!r}")
    msg = messages if prepared else T.prepare(messages)
    conv = T.conversation_table(msg, min_words=min_words)
    conv_index = pd.Index(conv[S.CONVERSATION_ID])
    eligible = conv[T.ELIGIBLE].to_numpy()
    texts_arrow = pa.array(msg[S.TEXT], type=pa.large_string(), from_pandas=True)
    if isinstance(texts_arrow, pa.ChunkedArray):
        texts_arrow = texts_arrow.combine_chunks()
    texts_arrow = pc.fill_null(texts_arrow, "")
    long = np.asarray(pc.greater(pc.utf8_length(texts_arrow), int(max_chars)).to_numpy(zero_copy_only=False), dtype=bool)
    if long.any():
        texts_arrow = pc.utf8_slice_codeunits(texts_arrow, 0, int(max_chars))
    conv_codes = conv_index.get_indexer(msg[S.CONVERSATION_ID])
    mids = msg[S.MESSAGE_ID].to_numpy(dtype=object)
    parts = []
    for rule in rules:  # a handful of categories; the messages are searched by one compiled pattern each
        rows = np.flatnonzero(_window(msg, rule) & eligible[conv_codes])
        first = _search(rule, texts_arrow, rows, conv_codes, mids)
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
    S.add_adjustment(out, f"message longer than {max_chars:,} characters: only its first {max_chars:,} were "
                          "searched (the time bound per message)", S.TEXT, msg.loc[long, S.MESSAGE_ID])
    return out


MEASURE = "measure"
VALUE = "value"
N_HITS = "k"
PRECISION = "precision"
RECALL = "recall"
LABEL = "label"


@public
def rule_accuracy(detections: pd.DataFrame, labels: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Precision and recall of rule-based categories against labels a person gave, with Wilson CIs.

    Parameters
    ----------
    detections : pandas.DataFrame
        :func:`detect` output (``conversation_id, category, eligible, evidence_start``).
    labels : pandas.DataFrame
        ``conversation_id, category, label`` (1 = the category is present in the conversation, 0
        = absent; as a person reads the conversation, by the category's definition).
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        One row per category and measure (``precision``, ``recall``): ``category, measure, n``
        (the denominator: conversations the rule flagged / labelled present), ``k`` (of those,
        labelled present / flagged), ``value = k / n``, ``ci_low``, ``ci_high`` (Wilson score
        interval, :func:`qakit.intervals.wilson_ci`; NaN when ``n = 0``). Labelled conversations
        the detections do not have or rated N/A (not eligible) are itemised in
        :func:`qakit.schema.exclusions`.

    Notes
    -----
    A conversation is *flagged* when the rule found a match (``evidence_start >= 0``, whatever
    rating ``found`` gives). ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``.

    Examples
    --------
    >>> d = pd.DataFrame({"conversation_id": ["a", "b", "c", "d"], "category": "Greeting", "eligible": True,
    ...                   "evidence_start": [0, 3, -1, -1]})
    >>> y = pd.DataFrame({"conversation_id": ["a", "b", "c", "d"], "category": "Greeting", "label": [1, 0, 1, 0]})
    >>> rule_accuracy(d, y)[["category", "measure", "n", "k", "value"]]  # TP a, FP b, FN c
       category    measure  n  k  value
    0  Greeting  precision  2  1    0.5
    1  Greeting     recall  2  1    0.5
    """
    need_d = [S.CONVERSATION_ID, S.CATEGORY, T.ELIGIBLE, T.EVIDENCE_START]
    need_l = [S.CONVERSATION_ID, S.CATEGORY, LABEL]
    for name, frame, need in (("detections", detections, need_d), ("labels", labels, need_l)):
        if not isinstance(frame, pd.DataFrame) or not set(need) <= set(frame.columns):
            raise ParameterError(f"{name} must be a DataFrame with columns {need}")
    y = labels[need_l].astype({S.CONVERSATION_ID: "str", S.CATEGORY: "str"})
    lab = pd.to_numeric(y[LABEL], errors="coerce")
    bad = lab.notna() & ~lab.isin([0, 1]) | lab.isna()
    if bad.any():
        raise ParameterError(f"labels.label must be 0 or 1; got {y.loc[bad, LABEL].head(5).tolist()} for conversations "
                             f"{y.loc[bad, S.CONVERSATION_ID].head(5).tolist()}")
    y = y.assign(**{LABEL: lab.astype(int)})
    d = detections[need_d].astype({S.CONVERSATION_ID: "str", S.CATEGORY: "str"})
    j = y.merge(d, on=[S.CONVERSATION_ID, S.CATEGORY], how="left", indicator=True)
    missing = j["_merge"].eq("left_only").to_numpy()
    ineligible = ~missing & ~j[T.ELIGIBLE].fillna(False).astype(bool).to_numpy()
    use = j[~missing & ~ineligible]
    flagged = use[T.EVIDENCE_START].to_numpy() >= 0
    present = use[LABEL].to_numpy() == 1
    rows = []
    for cat in pd.unique(use[S.CATEGORY]):  # a handful of categories
        m = use[S.CATEGORY].to_numpy() == cat
        tp = int((m & flagged & present).sum())
        for measure, n in ((PRECISION, int((m & flagged).sum())), (RECALL, int((m & present).sum()))):
            lo, hi = wilson_ci(np.array([tp]), np.array([n]), level=level)
            rows.append({S.CATEGORY: cat, MEASURE: measure, S.N: n, N_HITS: tp, VALUE: tp / n if n else np.nan,
                         S.CI_LOW: float(lo[0]), S.CI_HIGH: float(hi[0])})
    out = pd.DataFrame(rows, columns=[S.CATEGORY, MEASURE, S.N, N_HITS, VALUE, S.CI_LOW, S.CI_HIGH])
    S.add_exclusion(out, "labelled conversation not in the detections", S.CONVERSATION_ID,
                    j.loc[missing, S.CONVERSATION_ID].drop_duplicates())
    S.add_exclusion(out, "labelled conversation not eligible for automatic scoring (rated N/A)", S.CONVERSATION_ID,
                    j.loc[ineligible, S.CONVERSATION_ID].drop_duplicates())
    return out


__all__ = ["DEFAULT_RULES", "BUILTIN_RULES", "MAX_CHARS", "Rule", "rules_from_dict", "load_rules", "rule_from_spec",
           "rules_from_card", "auto_scorecard", "detect", "rule_accuracy"]
