"""Watch-list screening: name normalisation and fuzzy matching of parties against a list (pure).

Names reach a platform in every spelling: another case, punctuation, accents or
pinyin tone marks dropped or added, family name first or last, a hyphen in a given
name or not ("Bao-Shan", "Bao Shan", "Baoshan"), another romanisation ("Mohammed" /
"Muhammad", "Hsu" / "Xu", "al-Qaddafi" / "Gaddafi"), a middle name or patronymic
written or left out. :func:`normalise` removes what carries no identity (case,
diacritics, punctuation, word order); :func:`canonical_tokens` also maps the
romanisation variants of :data:`TRANSLITERATIONS` to one spelling and drops the
Arabic article.

The score of two names (:func:`score`, 0 to 100) aligns their *words*, not their
letters: each word of one name is paired with at most one word of the other
(greedily, most similar pair first), a pair counting only when the two words are
alike (``fuzz.ratio`` at least :data:`TOKEN_MIN_SIMILARITY`); the score is the
matched letters, weighted by each pair's similarity, over all letters of both names
(``fuzz.ratio``'s formula with words as the units). So ``Hana Li`` never meets
``KHAN, Ali`` through the letters the two share once spaces are removed. Spacing
variants are met by joining adjacent words of one name (never of both at once):
``Bao Shan Ouyang`` = ``Baoshan Ouyang``. When every word of the shorter name is
matched (two words at least), the other name's extra words weigh half: a middle name
or patronymic (``BATARFI, Khaled Saeed`` vs ``BATARFI, Khalid``) lowers the score
into the review band instead of below it.

:func:`screen_names` scores each *distinct* name once, set-based: the words of every
name and list entry are compared with each other at once with rapidfuzz
(``process.cdist``, C++), an upper bound computed from the word pairs that agree
discards the pairs that cannot reach the floor, and only the remaining pairs are
aligned. :func:`screen` and :func:`screen_frame` join the hits back to the parties
and rank the candidates of each party by name score, then agreement of date of
birth, then of country: those two never make a name match, they order the
candidates a compliance officer reviews (a namesake with another birth date sorts
below the listed person).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

if TYPE_CHECKING:
    import pandas as pd

FloatMatrix = npt.NDArray[np.float64]

_NOT_WORD = re.compile(r"[^0-9a-z]+")

#: Two words are paired only from this similarity (``fuzz.ratio`` / 100): one
#: letter off in a word of 4 (``Wang`` / ``Wong``) or of 6 (``Khalid`` / ``Khaled``).
TOKEN_MIN_SIMILARITY = 0.75
#: A joined word (spacing variants: ``Bao Shan`` / ``Baoshan``) pairs only from this similarity:
#: joining is for the same letters spaced otherwise, not a word grown by another (``bin Yusuf`` / ``Yusuf``).
JOINED_MIN_SIMILARITY = 0.85
#: Words shorter than this pair only when equal: one letter makes another short name (Li / Lin, Ma / Mai).
SHORT_WORD = 4
#: The syllables of Hanyu Pinyin (tone marks and the u-umlaut folded away). Two different
#: syllables are two different characters: ``Chen`` / ``Cheng``, ``Fang`` / ``Feng`` never pair,
#: however alike their letters (names romanised from Chinese are written syllable by syllable).
PINYIN_SYLLABLES = frozenset(
    """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang
    cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan
    chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia
    dian diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fo
    fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han
    hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie
    jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan
    kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu lo long
    lou lu luan lue lun luo lv ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo
    mou mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan
    nue nuo nv o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian
    qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua
    ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi
    shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang
    tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo
    wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying
    yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei
    zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun
    zuo
    """.split()  # noqa: SIM905 -- the inventory reads as a table
)
#: The weight of an extra word that is an East Slavic patronymic (Sergeyevich, Ivanovna):
#: lists routinely leave the patronymic out.
PATRONYMIC_WEIGHT = 0.25
_PATRONYMIC = re.compile(r"(?:ovich|evich|ovych|ich|ovna|evna|ichna)$")
#: The weight of the extra words of the longer name when every word of the shorter one is matched.
EXTRA_WORD_WEIGHT = 0.5
#: Names of more words than this are joined one run of adjacent words at a time (not every composition).
_MAX_JOINED_WORDS = 5

# Letters that carry no combining mark to drop (NFKD leaves them whole).
_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae", "Æ": "AE", "ı": "i"}
)

#: Romanisation variants mapped to one spelling, per family (canonical: variants). Kept
#: small on purpose: only spellings that are the same name, never a similar one. Sources:
#:
#: - Arabic given names and the Qaddafi family name: the spellings the UN Security
#:   Council Consolidated List and OFAC's SDN list themselves give as "a.k.a." of one
#:   listed person (e.g. QADHAFI, Muammar Muhammed Abu Minyar: Gaddafi, Kadhafi,
#:   Qadhafi, Qaddafi; the many MUHAMMAD / MOHAMMED / MOHAMED entries), i.e. the
#:   transcriptions of ISO 233 / BGN-PCGN 1956, French usage (ou, Kadhafi) and Egyptian
#:   pronunciation (Mohamed, Abdel).
#: - Chinese surnames in Wade-Giles (Taiwan, older and overseas documents) and pinyin:
#:   the Library of Congress Pinyin Conversion Project table (2000) for the common
#:   surnames whose Wade-Giles spelling differs. Where the Wade-Giles spelling is also a
#:   pinyin syllable (Chang, Chou, Chao, Chu: another surname in pinyin), the two become
#:   one for screening: a candidate to review, which a differing given name keeps below
#:   the match threshold. Tone marks (Zhāng Wěi) are diacritics, folded away anyway.
TRANSLITERATIONS: dict[str, tuple[str, ...]] = {
    # Arabic (UN / OFAC a.k.a. spellings)
    "muhammad": ("mohammed", "mohammad", "mohamed", "mohamad", "muhammed", "muhamad", "mohammod", "mouhamed"),
    "ahmad": ("ahmed",),
    "mahmud": ("mahmoud", "mahmood"),
    "husayn": ("hussein", "hussain", "husain", "husein", "hossein", "houssein"),
    "hasan": ("hassan",),
    "yusuf": ("youssef", "yousef", "yusef", "yousuf", "youssouf"),
    "khalid": ("khaled",),
    "said": ("saeed", "saied", "sayed", "sayyid"),
    "umar": ("omar",),
    "usama": ("osama",),
    "uthman": ("othman", "osman", "usman"),
    "abd": ("abdul", "abdel", "abdal", "abdoul"),
    "qadir": ("kader", "kadir", "qader", "kadr"),
    "qaddafi": ("gaddafi", "kadhafi", "gadhafi", "qadhafi", "kadafi", "qadhdhafi", "gadafi"),
    # Chinese surnames, Wade-Giles -> pinyin (Library of Congress conversion table)
    "zhang": ("chang",),
    "xu": ("hsu",),
    "zhou": ("chou",),
    "zhao": ("chao",),
    "zhu": ("chu",),
    "jiang": ("chiang",),
    "zhong": ("chung",),
    "guo": ("kuo",),
    "xie": ("hsieh",),
    "xiao": ("hsiao",),
    "cai": ("tsai",),
    "cao": ("tsao",),
    "zeng": ("tseng",),
    "qiu": ("chiu",),
    "gao": ("kao",),
}
_CANONICAL = {variant: canonical for canonical, variants in TRANSLITERATIONS.items() for variant in variants}
#: The Arabic definite article written as a word of its own (al-Masri, el-Sayed): no identity.
PARTICLES = frozenset({"al", "el"})
#: "Abd" written with the article attached (Abdul-Rahman, Abdelaziz): the prefix is "abd".
_ABD_PREFIX = re.compile(r"^abd(?:ul|el|al|oul)(?=[a-z]{3})")


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


def _canonical_word(word: str) -> str:
    rest = _ABD_PREFIX.sub("", word)
    if rest != word:  # Abdelkader = Abd al-Qadir: the article dropped, the rest mapped on its own
        return "abd" + _CANONICAL.get(rest, rest)
    return _CANONICAL.get(word, word)


def canonical_tokens(name: str) -> tuple[str, ...]:
    """The words of a name as they are compared, in the name's order.

    Folded (:func:`normalise`'s case and diacritics), romanisation variants mapped
    (:data:`TRANSLITERATIONS`), the article dropped (:data:`PARTICLES`) unless the
    name is nothing else: ``"Abdel-Rahman al-Qadhafi"`` -> ``("abd", "rahman", "qaddafi")``.
    """
    words = [_canonical_word(w) for w in _tokens(_fold(name))]
    kept = [w for w in words if w not in PARTICLES]
    return tuple(kept or words)


def _joined_forms(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The name with adjacent words joined, every way (order kept); the name itself first."""
    n = len(words)
    if n < 2:
        return [words]
    if n > _MAX_JOINED_WORDS:  # one run of adjacent words joined (L. L. C. = LLC), not every composition
        spans = {
            (*words[:i], "".join(words[i:j]), *words[j:]) for i in range(n - 1) for j in range(i + 2, n + 1)
        }
        return [words, *sorted(spans - {words})]
    forms = [words]
    for kept in range(n - 1):
        for cuts in combinations(range(1, n), kept):  # keep some of the n - 1 word boundaries, not all
            bounds = (0, *cuts, n)
            forms.append(tuple("".join(words[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)))
    return [forms[0], *sorted(set(forms[1:]) - {forms[0]})]


def _align(a: tuple[str, ...], b: tuple[str, ...], sim: dict[tuple[str, str], float]) -> float:
    """Word alignment score of two word lists (0-100); ``sim`` holds the word pairs that agree."""
    total = sum(map(len, a)) + sum(map(len, b))
    if not total:
        return 0.0
    pairs = sorted(
        (
            (-s, -(len(x) + len(y)), min(x, y), max(x, y), i, j)
            for i, x in enumerate(a)
            for j, y in enumerate(b)
            if (s := sim.get((x, y), 0.0)) > 0.0
        )
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    credit = 0.0
    for neg_s, neg_len, _, _, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        credit += -neg_s * -neg_len
    denominator = float(total)
    if len(used_a) >= 2 and (len(used_a) == len(a) or len(used_b) == len(b)):
        extra = [x for i, x in enumerate(a) if i not in used_a] + [
            y for j, y in enumerate(b) if j not in used_b
        ]
        for word in extra:
            weight = PATRONYMIC_WEIGHT if _PATRONYMIC.search(word) and len(word) > 6 else EXTRA_WORD_WEIGHT
            denominator -= (1.0 - weight) * len(word)
    return min(100.0, 100.0 * credit / denominator)


def _pair_score(
    a_forms: list[tuple[str, ...]],
    b_forms: list[tuple[str, ...]],
    sim: dict[tuple[str, str], float],
    joined_agree: bool = True,
) -> float:
    """Best alignment of one name's forms against the other's words, and the reverse (never both joined).

    A joined form is tried only when one of its joined words agrees with a word of the
    other name (``joined_agree`` False: none does): otherwise it aligns no better than
    the name's own words.
    """
    a, b = a_forms[0], b_forms[0]
    best = _align(a, b, sim)
    if not joined_agree:
        return best
    return max(
        [best, *_joined_alignments(a_forms, b, sim), *_joined_alignments(b_forms, a, sim, reverse=True)]
    )


def _joined_alignments(
    forms: list[tuple[str, ...]],
    other: tuple[str, ...],
    sim: dict[tuple[str, str], float],
    reverse: bool = False,
) -> Iterator[float]:
    """The alignments of one name's joined forms (``forms[1:]``) against the other name's words.

    Only a form with a joined word that is not one of the name's own words and agrees with
    a word of ``other`` is aligned. ``reverse``: the forms are the second name's (``sim``
    and :func:`_align` take the first name's word first).
    """
    own = set(forms[0])
    useful = {
        x
        for form in forms[1:]
        for x in form
        if x not in own and any(((y, x) if reverse else (x, y)) in sim for y in other)
    }
    for form in forms[1:]:
        if useful.intersection(form):
            yield _align(other, form, sim) if reverse else _align(form, other, sim)


def _word_similarities(
    left: Sequence[str], right: Sequence[str], workers: int = 1, joined: frozenset[str] = frozenset()
) -> dict[tuple[str, str], float]:
    """Every (left word, right word) pair at least :data:`TOKEN_MIN_SIMILARITY` alike, vectorised.

    A pair with a ``joined`` word (or any pair, when ``joined`` is everything on one side:
    see :func:`score_pairs`) needs :data:`JOINED_MIN_SIMILARITY`.
    """
    found: dict[tuple[str, str], float] = {}
    if not left or not right:
        return found
    cutoff = TOKEN_MIN_SIMILARITY * 100.0
    chunk = max(1, 4_000_000 // len(right))
    for start in range(0, len(left), chunk):
        rows = left[start : start + chunk]
        matrix = process.cdist(
            rows, right, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.float64, workers=workers
        )
        for i, j in zip(*np.nonzero(matrix >= cutoff), strict=True):
            x, y = rows[int(i)], right[int(j)]
            if _agree(x, y, float(matrix[i, j]), x in joined or y in joined):
                found[(x, y)] = float(matrix[i, j]) / 100.0
    return found


def _agree(x: str, y: str, ratio: float, joined: bool) -> bool:
    """Whether two words at ``fuzz.ratio`` ``ratio`` pair (see the thresholds above)."""
    if ratio < (JOINED_MIN_SIMILARITY if joined else TOKEN_MIN_SIMILARITY) * 100.0:
        return False
    return x == y or (
        min(len(x), len(y)) >= SHORT_WORD and not (x in PINYIN_SYLLABLES and y in PINYIN_SYLLABLES)
    )


def score_pairs(
    names: Sequence[str], listed: Sequence[str], min_score: float, workers: int = 1
) -> list[tuple[int, int, float]]:
    """``(row in names, row in listed, score)`` of every pair scoring at least ``min_score`` (and above 0).

    Set-based: the words of all names are compared with those of all listed names at
    once (a joined word only with the other side's own words); a pair is aligned
    only when the words that agree could lift it to ``min_score``: an upper bound
    that counts, per side, the letters of its agreeing words (at most the name's
    letters), the unmatched letters at the lowest weight. Sorted by name row, then
    listed row.
    """
    import pandas as pd

    left = [_joined_forms(canonical_tokens(n)) for n in names]
    right = [_joined_forms(canonical_tokens(n)) for n in listed]
    left_own = sorted({w for forms in left for w in forms[0]})
    right_own = sorted({w for forms in right for w in forms[0]})
    left_all = sorted({w for forms in left for form in forms for w in form})
    right_joined = sorted({w for forms in right for form in forms[1:] for w in form} - set(right_own))
    sim = _word_similarities(left_all, right_own, workers, frozenset(left_all) - frozenset(left_own))
    sim.update(_word_similarities(left_own, right_joined, workers, frozenset(right_joined)))
    if not sim:
        return []
    lw_index = {w: k for k, w in enumerate(left_all)}
    right_all = sorted(set(right_own) | set(right_joined))
    rw_index = {w: k for k, w in enumerate(right_all)}

    def incidence(forms_of: list[list[tuple[str, ...]]], index: dict[str, int], name: str) -> pd.DataFrame:
        rows, words, joined_word = [], [], []
        for r, forms in enumerate(forms_of):
            own = set(forms[0])
            for w in sorted({w for form in forms for w in form}):
                rows.append(r)
                words.append(index[w])
                joined_word.append(w not in own)
        return pd.DataFrame(
            {
                name: np.asarray(rows, np.int64),
                name + "w": np.asarray(words, np.int64),
                name + "_joined": np.asarray(joined_word, bool),
            }
        )

    hits = pd.DataFrame(
        {
            "aw": np.asarray([lw_index[x] for x, _ in sim], np.int64),
            "bw": np.asarray([rw_index[y] for _, y in sim], np.int64),
            "sim": np.asarray(list(sim.values()), np.float64),
        }
    )
    left_len = np.asarray([len(w) for w in left_all], np.float64)
    right_len = np.asarray([len(w) for w in right_all], np.float64)
    joined = (
        incidence(left, lw_index, "a").merge(hits, on="aw").merge(incidence(right, rw_index, "b"), on="bw")
    )
    # Per side: each agreeing word's letters at its best similarity, at most the name's letters.
    # Grouped with numpy on one integer key per (name, listed name[, word]): sort, first of each run.
    pair = joined["a"].to_numpy() * len(right) + joined["b"].to_numpy()
    sims = joined["sim"].to_numpy()
    pairs = np.unique(pair)

    def side(words: npt.NDArray[np.int64], n_words: int, lengths: FloatMatrix) -> FloatMatrix:
        key = pair * n_words + words
        order = np.lexsort((-sims, key))  # by key, the best similarity first
        ordered = key[order]
        first = order[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
        part = np.zeros(len(pairs), np.float64)
        np.add.at(part, np.searchsorted(pairs, pair[first]), sims[first] * lengths[words[first]])
        return part

    part_a = side(joined["aw"].to_numpy(), len(left_all), left_len)
    part_b = side(joined["bw"].to_numpy(), len(right_all), right_len)
    any_joined = np.zeros(len(pairs), np.int64)
    flag = (joined["a_joined"].to_numpy() | joined["b_joined"].to_numpy()).astype(np.int64)
    np.maximum.at(any_joined, np.searchsorted(pairs, pair), flag)
    length_a = np.asarray([sum(map(len, f[0])) for f in left], np.float64)
    length_b = np.asarray([sum(map(len, f[0])) for f in right], np.float64)
    rows_a, rows_b = pairs // len(right), pairs % len(right)
    total = length_a[rows_a] + length_b[rows_b]
    credit = np.minimum(part_a, length_a[rows_a]) + np.minimum(part_b, length_b[rows_b])
    # score = credit / (total - (1 - w) * unmatched), w >= PATRONYMIC_WEIGHT, unmatched = total - matched letters.
    upper = 100.0 * credit / (total - (1.0 - PATRONYMIC_WEIGHT) * (total - credit))
    keep = upper >= min_score - 1e-9
    out: list[tuple[int, int, float]] = []
    flags = (any_joined[keep] > 0).tolist()
    for i, j, flag in zip(rows_a[keep].tolist(), rows_b[keep].tolist(), flags, strict=True):
        value = _pair_score(left[i], right[j], sim, flag)
        if value > 0.0 and value >= min_score:
            out.append((i, j, value))
    return out


def score_matrix(names: Sequence[str], listed: Sequence[str], workers: int = 1) -> FloatMatrix:
    """Scores of every name against every listed name (rows: ``names``), dense; pairs with no agreeing word score 0."""
    matrix = np.zeros((len(names), len(listed)), np.float64)
    for i, j, value in score_pairs(names, listed, 0.0, workers):
        matrix[i, j] = value
    return matrix


def score(a: str, b: str) -> float:
    """Similarity of two names, 0 to 100 (see the module's description); :func:`score_pairs`'s value for one pair."""
    a_forms, b_forms = _joined_forms(canonical_tokens(a)), _joined_forms(canonical_tokens(b))
    a_own, b_own = set(a_forms[0]), set(b_forms[0])
    a_all = {w for form in a_forms for w in form}
    b_joined = {w for form in b_forms[1:] for w in form} - b_own
    sim: dict[tuple[str, str], float] = {}
    for x, y in [*((x, y) for x in a_all for y in b_own), *((x, y) for x in a_own for y in b_joined)]:
        ratio = fuzz.ratio(x, y)
        if _agree(x, y, ratio, x not in a_own or y not in b_own):
            sim[(x, y)] = ratio / 100.0
    if not sim:
        return 0.0
    return _pair_score(a_forms, b_forms, sim)


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


@dataclass(frozen=True)
class NameHit:
    """A distinct screened name near a list entry: its best-scoring name or alias (primary on ties)."""

    name_row: int  # position in the screened names
    entry_row: int  # position in the list entries
    variant: int  # 0: the entry's primary name, else 1 + the alias's position
    name_score: float  # rounded to 2 decimals


def screen_names(
    names: Sequence[str], entries: Sequence[ListEntry], min_score: float, workers: int = 1
) -> list[NameHit]:
    """Every (name, list entry) whose best name or alias scores at least ``min_score``, by name then entry.

    Score each *distinct* name once (callers dedupe): the work grows with the
    number of distinct names, not with the parties carrying them.
    """
    variants: list[str] = []
    owner: list[tuple[int, int]] = []  # (entry row, variant within the entry)
    for e, entry in enumerate(entries):
        for v, name in enumerate(entry.names):
            variants.append(name)
            owner.append((e, v))
    if not names or not variants:
        return []
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for i, k, value in score_pairs(names, variants, min_score, workers):
        e, v = owner[k]
        key = (i, e)
        if key not in best or value > best[key][0]:  # variants come in order: the primary name wins ties
            best[key] = (value, v)
    return [NameHit(i, e, v, round(value, 2)) for (i, e), (value, v) in sorted(best.items())]


def screen(
    parties: Sequence[Party], entries: Sequence[ListEntry], min_score: float, workers: int = 1
) -> list[Match]:
    """Every (party, list entry) whose best name or alias scores at least ``min_score``.

    Candidates of one party are ranked by name score (higher first), then date of
    birth agreement, then country agreement (match, unknown, mismatch), then list id,
    so the order is total and the result the same on every run.
    """
    if not parties or not entries:
        return []
    # Many parties share a name (a customer's accounts, a counterparty paid often): score each once.
    distinct = sorted({p.name for p in parties})
    hits_of: dict[str, list[NameHit]] = {}
    for hit in screen_names(distinct, entries, min_score, workers):
        hits_of.setdefault(distinct[hit.name_row], []).append(hit)
    matches: list[Match] = []
    for party in parties:
        hits = hits_of.get(party.name)
        if not hits:
            continue
        candidates = []
        for hit in hits:
            entry = entries[hit.entry_row]
            candidates.append(
                (
                    entry,
                    entry.names[hit.variant],
                    hit.variant != 0,
                    hit.name_score,
                    _agreement(party.date_of_birth, entry.date_of_birth),
                    _agreement(party.country, entry.country),
                )
            )
        candidates.sort(key=lambda c: (-c[3], _AGREEMENT_ORDER[c[4]], _AGREEMENT_ORDER[c[5]], c[0].list_id))
        for rank, (entry, matched, is_alias, value, dob, country) in enumerate(candidates, start=1):
            matches.append(Match(party.key, entry.list_id, matched, is_alias, value, dob, country, rank))
    return matches


def name_hits(
    names: Sequence[str], entries: Sequence[ListEntry], min_score: float, workers: int = 1
) -> pd.DataFrame:
    """:func:`screen_names` as a table: one row per (distinct name, list entry) at least ``min_score``.

    Columns ``screened_name``, ``list_id``, ``matched_name`` (the entry's best-scoring name
    or alias, the primary on ties), ``is_alias``, ``name_score`` (2 decimals); by name,
    then entry. ``names`` are scored as given (callers pass each distinct name once, sorted):
    what the dbt model ``int_watchlist_names_scored`` stores, and what
    ``int_watchlist_matches_scored`` joins to the parties in SQL (agreements, ranks).
    """
    import pandas as pd

    hits = screen_names(names, entries, min_score, workers)
    return pd.DataFrame(
        {
            "screened_name": pd.Series([names[h.name_row] for h in hits], dtype=object),
            "list_id": pd.Series([entries[h.entry_row].list_id for h in hits], dtype=object),
            "matched_name": pd.Series([entries[h.entry_row].names[h.variant] for h in hits], dtype=object),
            "is_alias": np.asarray([h.variant != 0 for h in hits], bool),
            "name_score": np.asarray([h.name_score for h in hits], np.float64),
        }
    )


def screen_frame(
    parties: pd.DataFrame, entries: Sequence[ListEntry], min_score: float, workers: int = 1
) -> pd.DataFrame:
    """:func:`screen` set-based, for a table of parties (one row each, any number of rows).

    ``parties`` has ``screened_name``, ``date_of_birth`` (date, timestamp or null) and
    ``country``. Distinct names are scored once (:func:`screen_names`); the hits are
    joined back to the parties and the agreements and ranks computed column-wise.
    Returns one row per (party, entry): ``party_row`` (position in ``parties``),
    ``list_id``, ``matched_name``, ``is_alias``, ``name_score``, ``dob_agreement``,
    ``country_agreement``, ``match_rank``, ordered by party row then rank: the rows
    and order :func:`screen` gives.
    """
    import pandas as pd

    columns = {
        "party_row": "int64",
        "list_id": object,
        "matched_name": object,
        "is_alias": bool,
        "name_score": "float64",
        "dob_agreement": object,
        "country_agreement": object,
        "match_rank": "int64",
    }
    empty = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})
    if not len(parties) or not entries:
        return empty
    names = parties["screened_name"].astype(str).to_numpy()
    distinct = sorted(set(names.tolist()))
    found = name_hits(distinct, entries, min_score, workers)
    if not len(found):
        return empty
    by_id = {e.list_id: e for e in entries}
    found["listed_dob"] = pd.to_datetime(pd.Series([by_id[i].date_of_birth for i in found["list_id"]]))
    found["listed_country"] = pd.Series([by_id[i].country for i in found["list_id"]], dtype=object)
    left = pd.DataFrame(
        {
            "party_row": np.arange(len(parties), dtype=np.int64),
            "screened_name": names,
            "dob": pd.to_datetime(parties["date_of_birth"].reset_index(drop=True)),
            "country": parties["country"].reset_index(drop=True).astype(object),
        }
    )
    rows = left.merge(found, on="screened_name", how="inner")

    def agreement(a: pd.Series, b: pd.Series) -> pd.Series:
        unknown = a.isna() | b.isna() | (a == "") | (b == "")
        if a.dtype == object:
            same = a.astype(str).str.strip().str.upper() == b.astype(str).str.strip().str.upper()
        else:
            same = a == b
        return pd.Series(np.where(unknown, "unknown", np.where(same, "match", "mismatch")), dtype=object)

    rows["dob_agreement"] = agreement(rows["dob"], rows["listed_dob"]).to_numpy()
    rows["country_agreement"] = agreement(rows["country"], rows["listed_country"]).to_numpy()
    order = {k: v for k, v in _AGREEMENT_ORDER.items()}
    rows["_score"] = -rows["name_score"]
    rows["_dob"] = rows["dob_agreement"].map(order)
    rows["_country"] = rows["country_agreement"].map(order)
    rows = rows.sort_values(["party_row", "_score", "_dob", "_country", "list_id"], kind="mergesort")
    rows["match_rank"] = rows.groupby("party_row").cumcount().astype("int64") + 1
    return rows[list(columns)].reset_index(drop=True).astype(columns)
