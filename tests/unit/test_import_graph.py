"""The package's import graph: no cycles, and no module imports from a layer above its own.

Every ``import`` of ``regwatch`` anywhere in a module counts, including the ones inside
functions (a deferred import hides a cycle from Python, not from a reader). A new
module must be given a layer in ``LAYERS`` before this test passes.
"""

from __future__ import annotations

import ast
import functools
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "regwatch"

# Lowest first: the package follows the data (ingest -> transform / validate -> alerts ->
# reporting), with the records every step writes (``ledger/``) below the steps and the
# tools built on whole runs (pipeline, audit, demo, cli) above them. A layer names
# top-level modules and subpackages (a subpackage's modules all share its layer). A module
# may import from its own layer (if that makes no cycle, of modules or of subpackages) or
# any layer below; never from a layer above.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    # Pure leaves: settings, bytes on disk, the input contract, the maths the dbt Python
    # models call, the rule-pack parser, the severity vocabulary.
    (
        "foundation",
        frozenset({"config", "files", "contract", "apr", "installments", "screening", "rules", "severity"}),
    ),
    ("storage", frozenset({"warehouse"})),
    # Manifests, archive, run ids, carried results, snapshot, consistency, run lock.
    ("run records", frozenset({"ledger"})),
    # The delivery: extracted from the platform's database (extract) or landed as files, then loaded.
    ("ingest", frozenset({"extract", "ingest"})),
    ("transform and validate", frozenset({"transform", "validate", "_gx_duckdb", "spark"})),
    ("alerts", frozenset({"alerts"})),
    ("reporting", frozenset({"reporting"})),
    ("orchestration", frozenset({"pipeline"})),
    ("audit", frozenset({"audit", "rebuild"})),
    # The synthetic platform and the scoring of rules against its truth.
    ("demo", frozenset({"demo"})),
    ("interface", frozenset({"cli"})),
)

# Import arrows that still close a cycle, each with the reason it is not fixed yet.
# Empty is the goal; an entry whose arrow has gone must be removed (the test says so).
KNOWN_CYCLE_ARROWS: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, modules: set[str]) -> set[str]:
    """The regwatch modules ``module`` imports (package-relative dotted names)."""
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("regwatch.")]
            targets.update(name.removeprefix("regwatch.") for name in names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                stem = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module == "regwatch" or (node.module or "").startswith("regwatch."):
                stem = node.module.removeprefix("regwatch").removeprefix(".") if node.module else ""
            else:
                continue
            for alias in node.names:
                candidate = f"{stem}.{alias.name}" if stem else alias.name
                targets.add(candidate if candidate in modules else stem)
    return {t for t in targets if t and t != module}


@functools.cache
def _graph() -> dict[str, set[str]]:
    """Parsed once for the file's five tests (each reads it, none changes it)."""
    modules = _modules()
    names = set(modules)
    return {name: _imports(name, path, names) for name, path in modules.items() if name}


def _layer(module: str) -> int:
    for index, (_, members) in enumerate(LAYERS):
        parts = module.split(".")
        if any(".".join(parts[:n]) in members for n in range(len(parts), 0, -1)):
            return index
    raise KeyError(module)


def test_the_walker_sees_deferred_and_relative_imports(tmp_path: Path) -> None:
    source = "from regwatch import a\nimport regwatch.b\n\ndef f():\n    from regwatch.c import name\n    from . import d\n"
    path = tmp_path / "x.py"
    path.write_text(source)
    assert _imports("x", path, {"a", "b", "c", "d", "x"}) == {"a", "b", "c", "d"}


def test_every_module_has_a_layer() -> None:
    missing = []
    for module in _graph():
        try:
            _layer(module)
        except KeyError:
            missing.append(module)
    assert not missing, f"give these modules a layer in LAYERS: {missing}"


def test_no_module_imports_from_a_layer_above() -> None:
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_cycles_between_subpackages() -> None:
    """Collapsed to top-level names (``ledger.runs`` -> ``ledger``), the graph is still acyclic:
    a subpackage is one box on the architecture page, with arrows one way only."""
    collapsed: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        top = module.split(".")[0]
        collapsed.setdefault(top, set()).update(t.split(".")[0] for t in targets if t.split(".")[0] != top)
    try:
        tuple(graphlib.TopologicalSorter(collapsed).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle between subpackages: {' -> '.join(error.args[1])}")


def test_subpackages_exist_as_laid_out() -> None:
    """The layers name real modules or subpackages (a renamed one must be renamed here too)."""
    tops = {module.split(".")[0] for module in _graph()}
    named = set().union(*(members for _, members in LAYERS))
    assert named == tops, (
        f"in LAYERS only: {sorted(named - tops)}; in the package only: {sorted(tops - named)}"
    )


def test_no_import_cycles() -> None:
    graph = _graph()
    present = {(m, t) for m, targets in graph.items() for t in targets}
    stale = sorted(arrow for arrow in KNOWN_CYCLE_ARROWS if arrow not in present)
    assert not stale, f"these arrows are gone: remove them from KNOWN_CYCLE_ARROWS: {stale}"
    pruned = {m: {t for t in targets if (m, t) not in KNOWN_CYCLE_ARROWS} for m, targets in graph.items()}
    try:
        tuple(graphlib.TopologicalSorter(pruned).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")
