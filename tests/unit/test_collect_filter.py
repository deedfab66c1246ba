"""A test module that ``-m`` deselects whole is not imported (tests/collect_filter.py), and only such a one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collect_filter import deselects_module, ignored, module_marks
from tests.conftest import REPO_ROOT

FAST = "not integration and not e2e"


@pytest.mark.parametrize(
    ("line", "marks"),
    [
        ("pytestmark = pytest.mark.integration", {"integration"}),
        ("pytestmark = [pytest.mark.e2e, pytest.mark.slow]", {"e2e", "slow"}),
        ("pytestmark = (pytest.mark.e2e, pytest.mark.skipif(True, reason='x'))", {"e2e", "skipif"}),
        ("pytestmark = [\n    pytest.mark.e2e,\n    pytest.mark.slow,  # long\n]", {"e2e", "slow"}),
    ],
)
def test_a_pytestmark_of_marks_gives_their_names(line: str, marks: set[str]) -> None:
    assert module_marks(f'"""Doc."""\n\nimport pytest\n\n{line}\n\n\ndef test_x() -> None: ...\n') == marks


@pytest.mark.parametrize(
    "source",
    [
        "def test_x() -> None: ...\n",  # no module mark
        "pytestmark = [\n" + "    pytest.mark.e2e,\n" * 10 + "]\n",  # over more than ten lines: not read
        "pytestmark = [pytest.mark.e2e, MORE]\n",
        "pytestmark = MARKS\n",  # computed
        "pytestmark = pytest.mark.e2e\npytestmark = pytest.mark.slow\n",  # set twice
        "pytestmark = other.mark.e2e\n",
    ],
)
def test_anything_else_is_not_read(source: str) -> None:
    assert module_marks(source) is None


@pytest.mark.parametrize(
    ("markexpr", "marks", "deselected"),
    [
        (FAST, {"integration"}, True),
        (FAST, {"e2e", "slow"}, True),
        (FAST, {"slow"}, False),
        (FAST, set(), False),
        ("integration", {"integration"}, False),
        ("not spark", {"spark", "e2e", "slow"}, True),
        # a test of the module may add `slow`: the module must be collected
        ("slow and not spark", {"integration"}, False),
        ("slow and not spark", {"spark"}, True),
        ("not (integration or e2e)", {"e2e"}, True),
        ("integration(engine='spark')", {"e2e"}, False),  # matched on arguments: not decided
    ],
)
def test_a_module_is_deselected_only_when_no_test_of_it_can_match(
    markexpr: str, marks: set[str], deselected: bool
) -> None:
    assert deselects_module(markexpr, frozenset(marks)) is deselected


def test_make_test_fast_imports_no_integration_or_e2e_module_and_every_other() -> None:
    tests = REPO_ROOT / "tests"
    unit = sorted((tests / "unit").glob("test_*.py"))
    others = sorted(p for d in ("integration", "e2e") for p in (tests / d).glob("test_*.py"))
    assert unit and others
    # a module of tests/integration or tests/e2e that is imported would also run its unmarked tests
    assert [p.name for p in others if not ignored(p, FAST)] == []
    unmarked = [p for p in unit if not (module_marks(p.read_text()) or set()) & {"integration", "e2e"}]
    assert len(unmarked) > 40
    assert [p.name for p in unmarked if ignored(p, FAST)] == []
    assert not any(ignored(p, "") for p in others), "without -m every module is collected"


def test_an_unreadable_or_non_test_file_is_collected(tmp_path: Path) -> None:
    helper = tmp_path / "helpers.py"
    helper.write_text("pytestmark = pytest.mark.integration\n")
    assert not ignored(helper, FAST)
    assert not ignored(tmp_path / "test_missing.py", FAST)
