"""Test modules that ``-m`` deselects whole are not imported at all.

pytest imports every test module before ``-m`` deselects its tests: under ``make test-fast``
(``-m "not integration and not e2e"``) each worker imported, assert-rewrote and (on a clean
clone) compiled the ~40 integration, e2e and spark modules and what they import (the extract
drivers, pyarrow: about 1 CPU-s a worker) to deselect every test in them. A module whose
``pytestmark`` is a plain list of marks gives every one of its tests those marks (a test can
add marks, never remove one), so when the expression is false for those marks together with
any combination of the other names it mentions, no test of the module can be selected and the
module need not be imported. Anything this cannot read for certain (no ``pytestmark`` line, a
computed one, marks with arguments in the expression) is collected as before.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

from _pytest.mark.expression import Expression

_PYTESTMARK = re.compile(r"^pytestmark\s*=[^=].*$", re.MULTILINE)
_NAME = re.compile(r"[A-Za-z_][\w.:+-]*")
_CALLED = re.compile(r"([A-Za-z_][\w.:+-]*)\s*\(")
_KEYWORDS = {"and", "or", "not"}


def module_marks(source: str) -> frozenset[str] | None:
    """The mark names a module's ``pytestmark = pytest.mark.x`` (or a list or tuple of such, over
    up to ten lines) gives all its tests; None when there is no such statement or it is anything else."""
    found = list(_PYTESTMARK.finditer(source))
    if len(found) != 1:
        return None
    lines = source[found[0].start() :].splitlines()
    value = None
    for count in range(1, min(len(lines), 10) + 1):
        try:
            value = ast.parse("\n".join(lines[:count]).split("=", 1)[1].strip(), mode="eval").body
            break
        except SyntaxError:
            continue
    if value is None:
        return None
    items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
    names = set()
    for item in items:
        node = item.func if isinstance(item, ast.Call) else item
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark"
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "pytest"
        ):
            return None
        names.add(node.attr)
    return frozenset(names)


def deselects_module(markexpr: str, marks: frozenset[str]) -> bool:
    """Whether ``-m markexpr`` is false for every test carrying ``marks`` (whatever marks it adds)."""
    if any(name not in _KEYWORDS for name in _CALLED.findall(markexpr)):
        return False  # marks matched on their arguments (``-m "mark(x=1)"``): not decided here
    try:
        expression = Expression.compile(markexpr)
    except SyntaxError:
        return False  # pytest reports it
    others = sorted(set(_NAME.findall(markexpr)) - _KEYWORDS - marks)
    for count in range(len(others) + 1):
        for added in itertools.combinations(others, count):
            present = marks | set(added)
            if expression.evaluate(lambda name, /, present=present, **kwargs: name in present):
                return False
    return True


def ignored(path: Path, markexpr: str) -> bool:
    """Whether the test module at ``path`` holds no test ``-m markexpr`` can select."""
    if not markexpr or path.suffix != ".py" or not path.name.startswith("test_"):
        return False
    try:
        marks = module_marks(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False
    return marks is not None and deselects_module(markexpr, marks)
