"""Build the dbt project as of a business date, in-process through ``dbtRunner``.

In-process saves dbt's ~4 s start-up on every call after the first. dbt writes its
target and logs under ``var/dbt/``, never into the repository, and gets the
warehouse path through ``REGWATCH_WAREHOUSE`` (read by ``dbt_project/profiles.yml``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from regwatch.config import Settings


class TransformError(RuntimeError):
    """dbt failed; the message names the first failing node."""


@dataclass(frozen=True)
class TransformResult:
    business_date: date
    nodes: int
    models: int
    tests: int
    seeds: int
    seconds: float


def build(
    business_date: date,
    settings: Settings,
    apr_convention: str = "cn_irr",
    pack_parameters: Mapping[str, Any] | None = None,
    reporting_currency: str | None = None,
) -> TransformResult:
    """``dbt build`` (seeds, models, tests) as of ``business_date``, APRs in the pack's convention.

    ``pack_parameters`` (name -> value) reach the models as the dbt var ``pack``,
    read with the ``pack_param(name)`` macro: a window or threshold that shapes a
    feature model is policy, so it lives in the rule pack, never in the SQL. None means
    the parameters of the settings' pack (``checks/<settings.pack>/_pack.yml``).
    ``reporting_currency`` (the pack's ``currency``) reaches them as the dbt var
    ``reporting_currency``: the unit loan-side money is converted to and disclosed in.
    None means the settings' pack's currency.
    """
    from dbt.cli.main import dbtRunner

    if pack_parameters is None or reporting_currency is None:
        from regwatch.rules import load_pack

        pack = load_pack(settings.pack_dir)
        if pack_parameters is None:
            pack_parameters = {name: p.value for name, p in pack.parameters.items()}
        if reporting_currency is None:
            reporting_currency = pack.currency

    started = time.perf_counter()
    target = settings.dbt_target_dir
    args = [
        "build",
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(target),
        "--log-path",
        str(settings.var_dir / "dbt" / "logs"),
        "--vars",
        json.dumps(
            {
                "business_date": business_date.isoformat(),
                "apr_convention": apr_convention,
                "reporting_currency": reporting_currency,
                "pack": dict(sorted(pack_parameters.items())),
            },
            default=str,
        ),
        # The dbt unit tests (models/**/_*__unit_tests.yml) test the SQL on fixed rows, not the
        # date's data: tests/unit/test_dbt_unit_tests.py runs them; a day's build skips them.
        "--exclude-resource-type",
        "unit_test",
        "--quiet",
        "--log-level",
        "none",
        "--log-level-file",
        "info",
        "--no-use-colors",
        "--no-partial-parse",
    ]
    previous = os.environ.get("REGWATCH_WAREHOUSE")
    os.environ["REGWATCH_WAREHOUSE"] = str(settings.warehouse_path)
    try:
        result = dbtRunner().invoke(args)
    finally:
        if previous is None:
            os.environ.pop("REGWATCH_WAREHOUSE", None)
        else:
            os.environ["REGWATCH_WAREHOUSE"] = previous
    if result.exception is not None:
        raise TransformError(f"dbt could not run: {_one_line(str(result.exception))}")
    counts = {"model": 0, "test": 0, "seed": 0}
    failures: list[str] = []
    node_results: Any = result.result or []
    for node_result in node_results:
        node: Any = node_result.node
        kind = str(node.resource_type)
        counts[kind] = counts.get(kind, 0) + 1
        if str(node_result.status) in {"error", "fail", "runtime error"}:
            failures.append(f"{kind} {node.name}: {_one_line(str(node_result.message))}")
    if failures or not result.success:
        first = failures[0] if failures else "see var/dbt/logs/dbt.log"
        more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
        raise TransformError(f"dbt build for {business_date} failed: {first}{more}")
    return TransformResult(
        business_date,
        sum(counts.values()),
        counts["model"],
        counts["test"],
        counts["seed"],
        round(time.perf_counter() - started, 3),
    )


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3])[:400] if lines else "no message"
