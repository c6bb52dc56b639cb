"""Turning text (a learner's message or a course passage) into search terms.

The same function reads both sides, so whatever a learner types meets the course's words in the same
form:

* words are Unicode-folded (NFKC, case-folded, accents dropped only after the word is cut out, so
  "créer" stays one word, "creer", instead of "cr" + "er");
* English words are stemmed with the Snowball stemmer (``snowballstemmer``: the standard algorithm,
  pure Python, no data download, and stemmers for other languages exist should a course need one);
* code keeps its meaning: operators (``*``, ``@``, ``%``, ``**``, ``//``), calls (``find()`` is
  ``find``),
  negative indexes and slices (``[-1]``, ``[::2]``, ``M[1,:]``), sizes like ``2D`` and dotted names
  (``np.linalg.inv``) become terms of their own, plus the plain words a course uses for them.

Typo tolerance lives with the index (it needs the course's vocabulary): see ``retrieval.py``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")

#: English function words plus the conversational filler learners wrap questions in.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each few for from further had has have having he her here hers herself him
    himself his how i if in into is isn it its itself just let lets me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which who whom why will with
    won would you your yours yourself yourselves explain explaining explained tell show please
    thanks thank want wanted know learn understand help mean means meant really actually
    something anything thing things way ways okay ok hey hi hello sure maybe like need needs
    trying try does work works working use using used good bad better best right wrong question
    questions answer give example examples again kind bit lot lots still even much many confused
    confusing confuse twice weird strange problem problems issue issues trouble happen happens
    happened see seems seem getting keep keeps write writing make making do doing done go going
    say said difference different without whats what's im i'm ive i've dont don't get got
    sorry dumb stupid silly so well um uh yeah yes think thought guess sort kinda pretty
    notebook lecture lectures professor teacher course tutorial part parts section sections cell
    cells able instead anyway already though says look looking looked come came
    """.split()  # noqa: SIM905 - a word list reads better as text
)

#: Words learners use for the words courses use (after stemming).
SYNONYMS = {
    "dict": "dictionari",
    "func": "function",
    "fn": "function",
    "arg": "argument",
    "param": "paramet",
    "kwarg": "keyword",
    "indic": "index",
    "iter": "loop",
    "iterat": "loop",
    "traceback": "error",
    "except": "error",
    "exception": "error",
    "arr": "array",
    "ndarray": "array",
    "str": "string",
    "char": "charact",
    "len": "length",
    "elem": "element",
    "np": "numpi",
    "star": "op:*",
    "pick": "select",
    "boolean": "bool",
    "multidimension": "dimens",
    "multipl": "multipli",
    "matric": "matrix",
    "asterisk": "op:*",
    "numpy": "numpi",
}

#: Code that means something, with the plain words a course uses for it. Order matters: longer
#: operators first.
_CODE_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\*\*"), ("op:**", "power")),
    (re.compile(r"//"), ("op://", "integ", "divis")),
    (re.compile(r"(?<![*/])\*(?![*])"), ("op:*", "multipli")),
    (re.compile(r"(?<=[\w)\] ])@(?=[ \w(])"), ("op:@", "matrix", "multipli", "dot")),
    (re.compile(r"(?<![\w%])%(?=[ \w(.])"), ("op:%",)),
    (re.compile(r"==|!="), ("op:==", "compar", "equal")),
    (re.compile(r"\+="), ("op:+=",)),
    (re.compile(r"\[\s*-\s*\d+\s*:?\s*\]?"), ("idx:neg", "neg", "index", "end")),
    (re.compile(r"\[[^\[\]\n]*:[^\[\]\n]*\]"), ("idx:slice", "slice")),
    # A number in exponential notation (``1.4e6``, ``1e-3``).
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][-+]?\d+\b"), ("num:exp", "exponenti", "notat")),
    # A name indexed by a number (``nums[1]``): reading one item by its position.
    (re.compile(r"(?<=[\w)\]])\[\s*\d+\s*\]"), ("idx:pos", "index")),
    # Only after a name or a closing bracket: ``M[1, 2]`` is indexing, ``[1, 2]`` is a list.
    (re.compile(r"(?<=[\w)\]])\[[^\[\]\n:]*,[^\[\]\n]*\]"), ("idx:multi", "index")),
    (re.compile(r"\b[1-9]\s?-?d\b", re.IGNORECASE), ("dimens",)),
    (re.compile(r"(?<![\w.])\.T\b"), ("transpos",)),
)

_WORD_RE = re.compile(r"(?<![\w])[^\W\d_][\w]*", re.UNICODE)


def fold(word: str) -> str:
    """Case- and accent-folded form of one word (accents dropped after the word is cut out)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def normal(word: str) -> str | None:
    """The search term for one folded word, or None for a stop word or a single letter."""
    if len(word) < 2 or word in STOP_WORDS:
        return None
    if word in SYNONYMS:
        return SYNONYMS[word]
    stemmed = str(_STEMMER.stemWord(word))
    return SYNONYMS.get(stemmed, stemmed)


def words(text: str) -> list[str]:
    """Folded words of a text, whole (accented letters included), in order."""
    return [fold(w) for w in _WORD_RE.findall(unicodedata.normalize("NFKC", text))]


def code_terms(text: str, *, meanings: bool = True) -> list[str]:
    """Terms for the code in a text: operators, indexing and sizes. ``meanings`` adds the plain
    words a course uses for them (a learner's "*" meets the course's "multiply"); a course's own
    code gets the operator terms only, or every ``m*10`` would be about multiplying."""
    found: list[str] = []
    for pattern, meaning in _CODE_PATTERNS:
        count = len(pattern.findall(text))
        if count:
            found.extend((meaning if meanings else meaning[:1]) * count)
    return found


def tokenize(text: str, *, meanings: bool = True) -> list[str]:
    """Search terms of a text: stemmed content words (snake_case and dotted names also give their
    parts: ``my_list`` -> list) and the code terms of :func:`code_terms`."""
    out: list[str] = []
    for raw in words(text):
        parts = [raw]
        if "_" in raw:
            parts.extend(p for p in raw.split("_") if p)
        for part in parts:
            term = normal(part)
            if term is not None:
                out.append(term)
    out.extend(code_terms(text, meanings=meanings))
    return out


def markdown_terms(text: str) -> list[str]:
    """:func:`tokenize` for a course's Markdown: operators count only inside code spans (``**`` in
    prose is bold, not a power)."""
    spans = " ".join(re.findall(r"`([^`\n]+)`", text))
    return tokenize(re.sub(r"`[^`\n]+`", " ", text).replace("*", " "), meanings=False) + tokenize(
        spans, meanings=False
    )


_FRAGMENT_RE = re.compile(r"[A-Za-z_][\w.]*\[[^\]\n]+\]|[A-Za-z_][\w.]*\([^)\n]*\)")


def code_fragments(text: str) -> list[str]:
    """Pieces of code a message quotes (``M[1,:]``, ``s.find("a")``), without spaces: a cell that
    holds one verbatim is about exactly that."""
    return [re.sub(r"\s+", "", f) for f in _FRAGMENT_RE.findall(text) if len(f) >= 4]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -------------------------------------------------------------------------------------------------
# Another language

#: Frequent function words of the languages learners most often write in instead of English. Two
#: or more of them (and more than English ones) in a message mean it is not English.
_LANGUAGE_WORDS = {
    "Spanish": "el la los las de del que como cómo qué uso usar en un una es por para con se hace funciona "
    "bucle tengo puedo",
    "French": "le la les des du que comment est une un pour avec dans je tu il ce quoi faire créer tableau "
    "pourquoi",
    "German": "der die das und ist wie mit ich nicht ein eine zu was warum bei funktioniert listen oder auf",
    "Portuguese": "o a os as de do da que como uso em um uma é para com não funciona isso você eu faço "
    "posso lista",
    "Italian": "il lo la gli le di che come uso un una è per con non funziona perché",
}
_LANGUAGE_SETS = {name: frozenset(text.split()) for name, text in _LANGUAGE_WORDS.items()}
_ENGLISH_WORDS = frozenset("the is are how what do does i a to of in and with it this that why can".split())  # noqa: SIM905


#: What a message in a language the function words cannot tell apart is said to be in.
ANOTHER_LANGUAGE = "another language"
#: Letters and marks that only some of the languages use: strong evidence, worth two words.
_LANGUAGE_MARKS = {
    "Spanish": "ñ¿¡",
    "Portuguese": "ãõ",
    "German": "ßäöü",
    "French": "èêëœ",
    "Italian": "ìò",
}


def detect_language(text: str) -> str | None:
    """The language of a message when it is clearly not English: its name when the evidence
    names one language clearly (its function words and letters, ahead of every other language),
    else :data:`ANOTHER_LANGUAGE`; None for English.

    Why no detector library: learner messages are a few words long, where statistical detectors
    guess (Spanish for Portuguese), and the accurate one (``lingua``) installs 96 MB; a wrong name
    is worse than an honest "another language"."""
    tokens = [w.casefold() for w in re.findall(r"[^\W\d_]+", text)]
    if not tokens:
        return None
    english = sum(t in _ENGLISH_WORDS for t in tokens)
    lowered = text.casefold()
    scores = {
        language: sum(t in vocabulary for t in tokens)
        + 2 * sum(mark in lowered for mark in _LANGUAGE_MARKS.get(language, ""))
        for language, vocabulary in _LANGUAGE_SETS.items()
    }
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    (best, score), runner_up = ranked[0], ranked[1][1]
    if score < 2 or score <= english:
        return None
    return best if score - runner_up >= 2 else ANOTHER_LANGUAGE


def strip_language_words(text: str, language: str | None) -> str:
    """The message without the function words of ``language``: what is left are its content and
    code terms, which a course in English may share."""
    vocabulary = _LANGUAGE_SETS.get(language or "", frozenset())
    return re.sub(r"[^\W\d_]+", lambda m: " " if m.group(0).casefold() in vocabulary else m.group(0), text)
