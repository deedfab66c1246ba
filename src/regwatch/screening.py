"""Watch-list screening: name normalisation and fuzzy matching of parties against a list (pure).

Names reach a platform in every spelling: another case, punctuation, accents
dropped or added, family name first or last, a hyphen in a given name or not
("Bao-Shan", "Bao Shan", "Baoshan"). :func:`normalise` removes what carries no
identity (case, diacritics, punctuation, word order); :func:`name_forms` keeps
three comparable forms of a name so that each kind of variant meets its own form;
:func:`score_matrix` scores every screened name against every listed name and
alias at once with rapidfuzz (``process.cdist``, C++), the best form winning.
:func:`screen` ranks the candidates of each party by name score, then agreement
of date of birth, then of country: those two never make a name match, they order
the candidates a compliance officer reviews (a namesake with another birth date
sorts below the listed person).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

FloatMatrix = npt.NDArray[np.float64]

_JOINERS = re.compile(r"[\-\u2010\u2011\u2012\u2013\u2014'\u2019`\u00b7.]")  # hyphens, apostrophes, dots
_NOT_WORD = re.compile(r"[^0-9a-z]+")
#: The forms of a name compared with each other (see :func:`name_forms`).
FORMS = ("tokens", "joined_tokens", "compact")


# Letters that carry no combining mark to drop (NFKD leaves them whole).
_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae", "Æ": "AE", "ı": "i"}
)


def _fold(text: str) -> str:
    """Compatibility-decompose, drop combining marks (diacritics), case-fold."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(_LETTERS).casefold()


def _tokens(text: str) -> list[str]:
    return [t for t in _NOT_WORD.split(text) if t]


def normalise(name: str) -> str:
    """Case, diacritics, punctuation and word order removed: ``"Ouyang, Bao-Shan"`` -> ``"bao ouyang shan"``.

    Idempotent: a normalised name normalises to itself.
    """
    return " ".join(sorted(_tokens(_fold(name))))


def name_forms(name: str) -> tuple[str, str, str]:
    """Three forms of a name, compared form by form.

    ``tokens``: :func:`normalise` (punctuation separates words, order ignored);
    ``joined_tokens``: hyphens and apostrophes join instead (``Bao-Shan`` = ``Baoshan``),
    order ignored; ``compact``: every separator removed, order kept (``Bao Shan Ouyang``
    = ``Baoshan Ouyang``).
    """
    folded = _fold(name)
    tokens = " ".join(sorted(_tokens(folded)))
    joined = " ".join(sorted(_tokens(_JOINERS.sub("", folded))))
    compact = "".join(_tokens(folded))
    return tokens, joined, compact


def score(a: str, b: str) -> float:
    """Similarity of two names, 0 to 100: the best of the three forms compared pairwise."""
    return float(score_matrix([a], [b])[0, 0])


def score_matrix(names: Sequence[str], listed: Sequence[str], workers: int = 1) -> FloatMatrix:
    """Scores of every name against every listed name (rows: ``names``), vectorised.

    Each form is scored with ``fuzz.ratio`` on already sorted tokens (that is
    ``token_sort_ratio`` without re-sorting) by ``process.cdist``; the element-wise
    maximum over the forms is the score.
    """
    if not len(names) or not len(listed):
        return np.zeros((len(names), len(listed)), np.float64)
    left = [name_forms(n) for n in names]
    right = [name_forms(n) for n in listed]
    best = np.zeros((len(names), len(listed)), np.float64)
    for k in range(len(FORMS)):
        matrix = process.cdist(
            [f[k] for f in left], [f[k] for f in right], scorer=fuzz.ratio, dtype=np.float64, workers=workers
        )
        np.maximum(best, matrix, out=best)
    return best


@dataclass(frozen=True)
class ListEntry:
    """One listed party of a watch-list delivery."""

    list_id: str
    name: str
    aliases: tuple[str, ...] = ()
    date_of_birth: date | None = None
    country: str | None = None
    list_name: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The primary name, then every alias (empty aliases dropped)."""
        return (self.name, *(a for a in self.aliases if a.strip()))


@dataclass(frozen=True)
class Party:
    """A screened party: a customer or a counterparty, with what is known of it."""

    key: str
    name: str
    date_of_birth: date | None = None
    country: str | None = None


@dataclass(frozen=True)
class Match:
    party_key: str
    list_id: str
    matched_name: str  # the listed name or alias that scored best
    is_alias: bool
    name_score: float
    dob_agreement: str  # match | mismatch | unknown
    country_agreement: str  # match | mismatch | unknown
    rank: int  # 1 = the best candidate of the party


def parse_aliases(text: str | None) -> tuple[str, ...]:
    """The ``;``-separated aliases of a list row, trimmed, empty ones dropped."""
    if not text:
        return ()
    return tuple(a.strip() for a in text.split(";") if a.strip())


def _agreement(a: object, b: object) -> str:
    if a is None or b is None or a == "" or b == "":
        return "unknown"
    if isinstance(a, str) and isinstance(b, str):
        return "match" if a.strip().upper() == b.strip().upper() else "mismatch"
    return "match" if a == b else "mismatch"


_AGREEMENT_ORDER = {"match": 0, "unknown": 1, "mismatch": 2}


def screen(
    parties: Sequence[Party], entries: Sequence[ListEntry], min_score: float, workers: int = 1
) -> list[Match]:
    """Every (party, list entry) whose best name or alias scores at least ``min_score``.

    Candidates of one party are ranked by name score (higher first), then date of
    birth agreement, then country agreement (match, unknown, mismatch), then list id,
    so the order is total and the result the same on every run.
    """
    variants: list[str] = []
    owner: list[int] = []
    first: list[int] = []  # the primary name's variant index, per entry
    for e, entry in enumerate(entries):
        first.append(len(variants))
        for name in entry.names:
            variants.append(name)
            owner.append(e)
    if not parties or not variants:
        return []
    # Many parties share a name (a customer's accounts, a counterparty paid often): score each once.
    distinct = sorted({p.name for p in parties})
    row_of = {name: i for i, name in enumerate(distinct)}
    scores = score_matrix(distinct, variants, workers)
    owner_array = np.asarray(owner, np.int64)
    matches: list[Match] = []
    for party in parties:
        row = scores[row_of[party.name]]
        hits = np.flatnonzero(row >= min_score)
        if not len(hits):
            continue
        best: dict[int, int] = {}  # entry -> variant with the highest score (primary name on ties)
        for v in hits.tolist():
            e = int(owner_array[v])
            if e not in best or row[v] > row[best[e]]:
                best[e] = v
        candidates = []
        for e, v in best.items():
            entry = entries[e]
            candidates.append(
                (
                    entry,
                    variants[v],
                    v != first[e],
                    round(float(row[v]), 2),
                    _agreement(party.date_of_birth, entry.date_of_birth),
                    _agreement(party.country, entry.country),
                )
            )
        candidates.sort(key=lambda c: (-c[3], _AGREEMENT_ORDER[c[4]], _AGREEMENT_ORDER[c[5]], c[0].list_id))
        for rank, (entry, matched, is_alias, value, dob, country) in enumerate(candidates, start=1):
            matches.append(Match(party.key, entry.list_id, matched, is_alias, value, dob, country, rank))
    return matches
