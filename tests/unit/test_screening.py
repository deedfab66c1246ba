"""regwatch.screening: normalisation, scores and ranking, with property tests."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from regwatch.screening import (
    ListEntry,
    Party,
    name_forms,
    normalise,
    parse_aliases,
    score,
    score_matrix,
    screen,
)

# Letters with and without marks, separators real lists carry.
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéüñçøłÅÖÉ", min_size=1, max_size=9)
_NAME_WORDS = st.lists(_WORD, min_size=1, max_size=4)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ouyang, Bao-Shan", "bao ouyang shan"),
        ("  WANG   fang ", "fang wang"),
        ("José Muñoz Peña", "jose munoz pena"),
        ("Mustafa Kemal Aydın", "aydin kemal mustafa"),
        ("Søren Łukasz", "lukasz soren"),
        ("O'Brien", "brien o"),
        ("Ｗａｎｇ Ｆａｎｇ", "fang wang"),  # full-width letters (NFKD)
        ("", ""),
    ],
)
def test_normalise_removes_case_punctuation_diacritics_and_order(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_three_forms_each_catch_one_kind_of_variant() -> None:
    assert name_forms("Bao-Shan Ouyang") == ("bao ouyang shan", "baoshan ouyang", "baoshanouyang")
    assert score("Bao-Shan Ouyang", "Ouyang Baoshan") == 100  # hyphen joins: joined_tokens form
    assert score("Bao Shan Ouyang", "Baoshan Ouyang") == 100  # spacing, same order: compact form
    assert score("Karim Al-Masri", "Karim al Masri") == 100  # hyphen separates: tokens form


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("Dmitri Volkonsky", "Dmitry Volkonsky", 90, 95),  # one letter
        ("Leila Farahani", "Leila Faraji", 80, 90),  # another person
        ("Wang Fang", "Wang Feng", 85, 90),
        ("Golden Crescent Trading LLC", "Golden Crescent Trading Co. Ltd.", 80, 90),
        ("Zhang Wei", "Omar Abdi", 0, 40),
    ],
)
def test_scores_of_spelling_variants_and_of_other_people(a: str, b: str, low: float, high: float) -> None:
    assert low <= score(a, b) < high


def test_score_is_rapidfuzz_token_sort_ratio_on_the_folded_name() -> None:
    # The tokens form is rapidfuzz's own token_sort_ratio on the case- and accent-folded name.
    assert score("Tariq Bin Suleiman", "Suleiman Tarik Bin") >= fuzz.token_sort_ratio(
        "tariq bin suleiman", "suleiman tarik bin"
    )


@given(_NAME_WORDS)
def test_normalise_is_idempotent(words: list[str]) -> None:
    once = normalise(" ".join(words))
    assert normalise(once) == once


@given(_NAME_WORDS, st.randoms(use_true_random=False))
def test_word_order_does_not_change_the_score(words: list[str], random: object) -> None:
    shuffled = list(words)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert score(" ".join(words), " ".join(shuffled)) == 100


@given(_NAME_WORDS)
def test_an_exact_name_scores_100_whatever_its_case_and_marks(words: list[str]) -> None:
    name = " ".join(words)
    assert score(name, name) == 100
    assert score(name, name.upper()) == 100
    assert score(name, normalise(name)) == 100


@given(_NAME_WORDS, _NAME_WORDS)
def test_scores_are_symmetric_and_bounded(a: list[str], b: list[str]) -> None:
    left, right = " ".join(a), " ".join(b)
    assert score(left, right) == score(right, left)
    assert 0 <= score(left, right) <= 100


def test_matrix_equals_pairwise_scores() -> None:
    names = ["Ouyang Baoshan", "Wang Fang", "Jose Munoz Pena", ""]
    listed = ["José Muñoz Peña", "Baoshan OUYANG", "Abu Yusuf"]
    matrix = score_matrix(names, listed)
    assert matrix.shape == (4, 3)
    for i, a in enumerate(names):
        for j, b in enumerate(listed):
            assert matrix[i, j] == score(a, b)
    assert score_matrix([], listed).shape == (0, 3)


def test_aliases_are_split_on_semicolons() -> None:
    assert parse_aliases(" Abu Yusuf; K. Masri ;;") == ("Abu Yusuf", "K. Masri")
    assert parse_aliases(None) == () and parse_aliases("") == ()


_ENTRIES = [
    ListEntry("WL-1", "Karim Al-Masri", ("Abu Yusuf",), date(1970, 3, 1), "SY", "UN"),
    ListEntry("WL-2", "Karim Al Masri", (), date(1981, 5, 5), "EG", "PBOC"),
    ListEntry("WL-3", "Leila Farahani", (), None, "IR", "UN"),
]


def test_screen_matches_aliases_and_ranks_by_birth_date_then_country() -> None:
    parties = [
        Party("C1", "KARIM al-masri", date(1981, 5, 5), "CN"),
        Party("C2", "Abu Yusuf", None, "SY"),
        Party("C3", "Leila Faraji", None, "IR"),
    ]
    matches = screen(parties, _ENTRIES, 90)
    c1 = [m for m in matches if m.party_key == "C1"]
    # Both Karims score 100: the one born the same day ranks first.
    assert [(m.list_id, m.rank, m.dob_agreement) for m in c1] == [
        ("WL-2", 1, "match"),
        ("WL-1", 2, "mismatch"),
    ]
    c2 = [m for m in matches if m.party_key == "C2"]
    assert [(m.list_id, m.matched_name, m.is_alias, m.name_score, m.country_agreement) for m in c2] == [
        ("WL-1", "Abu Yusuf", True, 100.0, "match")
    ]
    assert not [m for m in matches if m.party_key == "C3"]  # 84.6 < 90
    assert [m.list_id for m in screen(parties[2:], _ENTRIES, 80)] == ["WL-3"]


def test_screen_without_a_list_or_parties_finds_nothing() -> None:
    assert screen([Party("C1", "Abu Yusuf")], [], 90) == []
    assert screen([], _ENTRIES, 90) == []
