"""The periodic filing package: disclosure indicators of a month or a quarter, as of its end.

CBRC [2017] No. 113 art. 10 asks an online lending intermediary to disclose, every
month, its operating indicators as of the previous month end; the seeds add quarterly
items (bad-debt rate, real annualised rate, partner list). The indicators come from
``reporting.rpt_disclosure_indicators`` (dbt), which keeps the rows of every business
date run for the month and the quarter containing it; the filing of a period is built
from the rows of its closing business date (its last weekday), so filing the same
period again - even after later dates were run - gives the same bytes.

A period whose end lies after the last business date run is not closed: the filing is
refused, unless asked for as *provisional*, which files the indicators as of the last
business date run in the period and says so on every output, in a folder of its own.

Outputs under ``var/reports/filings/<period>/``: ``disclosure_indicators.html`` and
``.pdf`` (the same HTML, WeasyPrint), ``.json`` (validated against
``reports/filing_disclosure.schema.json`` before it is written), ``.csv``, and the two
charts as SVG (``overdue_rate_trend.svg``, ``apr_distribution.svg``).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regwatch import warehouse
from regwatch.config import Settings
from regwatch.reporting import charts
from regwatch.reporting.csv_cells import csv_bytes

if TYPE_CHECKING:
    from regwatch.rules import RulePack

SCHEMA_FILE = "filing_disclosure.schema.json"
SCHEMA_ID = "https://regwatch.dev/schemas/filing_disclosure/v1"
REPORT_NAME = "disclosure_indicators"
TEMPLATE = "filing_disclosure.html.j2"
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})|Q(?P<quarter>[1-4]))$")
#: Headline items shown first (page 1 of the PDF), in the guideline's order.
HEADLINE = (
    "cumulative_loan_amount",
    "cumulative_loan_count",
    "outstanding_principal",
    "outstanding_loan_count",
    "outstanding_interest",
    "cumulative_lender_count",
    "cumulative_borrower_count",
    "period_lender_count",
    "period_borrower_count",
    "top10_borrower_share",
    "largest_borrower_share",
    "related_party_outstanding_principal",
    "related_party_loan_count",
    "overdue_amount",
    "overdue_loan_count",
    "overdue_90_plus_amount",
    "overdue_90_plus_loan_count",
    "compensated_amount",
    "compensated_payment_count",
    "project_overdue_rate",
    "amount_overdue_rate",
    "bad_debt_rate",
    "cumulative_loss_rate",
    "cumulative_loss_rate_net",
    "real_apr_weighted_mean",
)
#: The CN guideline whose layout the filing follows (its citation, mapped by the pack).
GUIDELINE = "CBRC [2017] No. 113 art. 10"
TREND_RATES = ("project_overdue_rate", "amount_overdue_rate", "bad_debt_rate")
#: The rates whose numerator and denominator are pack parameters, printed with their
#: definitions (REGULATION.md: the bad-debt rate a stock ratio, the loss rates flows).
DEFINED_RATES = (*TREND_RATES, "cumulative_loss_rate", "cumulative_loss_rate_net")
CAP_LABELS = {
    "court_cap_rate": "court cap",
    "comprehensive_cap_rate": "24% level",
    "void_line_rate": "36% void line",
}


class FilingError(ValueError):
    """A filing cannot be made: a malformed period, a period not closed (or never run), a rule
    pack that cannot be found, or a sealed filing it would write over."""


@dataclass(frozen=True)
class Period:
    """A disclosure period: a month (``2025-06``) or a quarter (``2025Q2``)."""

    period_id: str
    kind: str
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip())
        if match is None:
            raise FilingError(f"period {text!r} is neither a month (YYYY-MM) nor a quarter (YYYYQn)")
        year = int(match["year"])
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise FilingError(f"period {text!r}: month {month} does not exist")
            first, months, kind, pid = month, 1, "month", f"{year}-{month:02d}"
        else:
            quarter = int(match["quarter"])
            first, months, kind, pid = 3 * quarter - 2, 3, "quarter", f"{year}Q{quarter}"
        after = first + months
        end = date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1).toordinal() - 1
        return cls(pid, kind, date(year, first, 1), date.fromordinal(end))


def closing_business_date(period: Period) -> date:
    """The period's last weekday: the business date whose run closes it."""
    day = period.end
    while day.weekday() >= 5:
        day = date.fromordinal(day.toordinal() - 1)
    return day


def folder_for(settings: Settings, period_id: str, provisional: bool = False) -> Path:
    return settings.reports_dir / "filings" / (f"{period_id}_provisional" if provisional else period_id)


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _as_of(con: Any, period: Period, provisional: bool) -> tuple[date, bool]:
    """The business date the filing is as of, and whether it closes the period."""
    runs = con.execute(
        "SELECT business_date, bool_or(is_period_closed) FROM reporting.rpt_disclosure_indicators "
        "WHERE period_id = ? GROUP BY business_date ORDER BY business_date",
        [period.period_id],
    ).fetchall()
    if not runs:
        raise FilingError(
            f"no business date of period {period.period_id} ({period.start} .. {period.end}) has been run"
        )
    closed = [day for day, is_closed in runs if is_closed]
    if closed:
        return max(closed), True
    last = max(day for day, _ in runs)
    if not provisional:
        raise FilingError(
            f"period {period.period_id} is not closed: it ends {period.end} (closing business date "
            f"{closing_business_date(period)}) and the last business date run in it is {last}; run through "
            f"{closing_business_date(period)}, or file it provisionally as of {last} with --provisional"
        )
    return last, False


#: Units of the indicators that are not money; any other unit is a currency code (the
#: pack's reporting currency, rpt_disclosure_indicators), printed as money to the cent.
NON_MONEY_UNITS = frozenset({"count", "rate", "ratio_term"})


def is_money(unit: str) -> bool:
    """True for an amount's unit: a currency code, the pack's reporting currency."""
    return unit not in NON_MONEY_UNITS


def _number(value: Decimal | None, unit: str) -> str | None:
    """Decimals as exact strings: money to the cent, counts whole, rates to 8 places."""
    if value is None:
        return None
    if is_money(unit):
        return f"{value:.2f}"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "ratio_term":  # a rate's numerator or denominator: a count, an amount or a sum of rates
        return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.8f}".rstrip("0")
    return f"{value:.8f}"


def filing_context(
    settings: Settings, period: Period, provisional: bool = False, pack: RulePack | None = None
) -> dict[str, Any]:
    """Everything a filing shows, read from the warehouse (no rendering).

    ``pack`` is the rule pack the run of the as-of date recorded (default: found by
    :func:`recorded_pack`), never the one the environment names.
    """
    from regwatch.ledger.runs import run_info

    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        as_of, closed = _as_of(con, period, provisional)
        indicators = _rows(
            con,
            "SELECT indicator_id, indicator_group, breakdown_key, label, unit, value, numerator_value, "
            "denominator_value, definition, numerator_definition, denominator_definition "
            "FROM reporting.rpt_disclosure_indicators WHERE period_id = ? AND business_date = ? "
            "ORDER BY sort_order, indicator_id, breakdown_key",
            [period.period_id, as_of],
        )
        trend = _rows(
            con,
            "SELECT business_date, indicator_id, value FROM reporting.rpt_disclosure_indicators "
            "WHERE period_id = ? AND business_date <= ? AND indicator_id IN (?, ?, ?) "
            "ORDER BY business_date, indicator_id",
            [period.period_id, as_of, *TREND_RATES],
        )
    info = run_info(as_of, settings)
    if pack is None:
        pack, _ = recorded_pack(settings, as_of)
    for item in indicators:
        item["value_text"] = _number(item["value"], item["unit"])
        for key in ("numerator_value", "denominator_value"):
            unit = item["unit"] if item["unit"] != "rate" else "ratio_term"
            item[key + "_text"] = _number(item[key], unit)
    totals = {i["indicator_id"]: i for i in indicators if i["breakdown_key"] == "total"}
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in indicators:
        groups.setdefault(item["indicator_group"], []).append(item)
    # The legal basis the filing is made under comes from the pack (issue 15 point 9: the us
    # filing cited PBOC and CBRC); a pack without the parameter files under the CN guideline.
    basis = pack.parameters.get("disclosure_legal_basis")
    citations = basis.value if basis is not None and isinstance(basis.value, dict) else {}
    definitions = {
        name: {"value": pack.parameters[name].value, "source": " ".join(pack.parameters[name].source.split())}
        for name in DEFINED_RATES
        if name in pack.parameters
    }
    return {
        "report_title": f"Disclosure indicators {period.period_id}"
        + ("" if closed else f" (PROVISIONAL, as of {as_of})"),
        "business_date": as_of.isoformat(),
        "period": period,
        "as_of": as_of,
        "is_final": closed,
        "run": info.__dict__,
        "pack_parameters": definitions,
        "legal_basis": str(citations.get(GUIDELINE, GUIDELINE)),
        "indicators": indicators,
        "headline": [totals[name] for name in HEADLINE if name in totals],
        "groups": groups,
        "trend": trend,
        "pii_masked": not settings.unmask_pii,
        "reporting_currency": pack.currency,
    }


def _trend_chart(context: dict[str, Any]) -> str:
    days = sorted({row["business_date"] for row in context["trend"]})
    values = {(row["business_date"], row["indicator_id"]): row["value"] for row in context["trend"]}
    names = {i["indicator_id"]: i["label"] for i in context["headline"]}
    series = [
        charts.Series(
            names.get(rate, rate),
            [float(values[(d, rate)]) if values.get((d, rate)) is not None else None for d in days],
        )
        for rate in TREND_RATES
    ]
    return charts.line_chart(
        f"Overdue rates, {context['period'].period_id} (each business date run)",
        [d.isoformat()[5:] for d in days],
        series,
        value_format=lambda v: f"{v:.2%}",
    )


def _apr_chart(context: dict[str, Any]) -> str:
    bins = [i for i in context["groups"].get("real_apr", []) if i["indicator_id"] == "real_apr_distribution"]
    caps = [i for i in context["groups"].get("real_apr", []) if i["indicator_id"] == "rate_cap_in_force"]
    labels = [f"{int(b['breakdown_key'])}%" if b["breakdown_key"].isdigit() else "40%+" for b in bins]
    markers = [
        # Bins are 2 points wide from 0: a cap at rate r sits r / 0.02 bins from the left.
        charts.Marker(float(c["value"]) / 0.02, f"{CAP_LABELS[c['breakdown_key']]} {float(c['value']):.1%}")
        for c in sorted(caps, key=lambda c: c["breakdown_key"])
        if c["value"] is not None
    ]
    return charts.bar_chart(
        f"Real APR of the loans disbursed in {context['period'].period_id}, with the caps",
        labels,
        [charts.Series("loans", [float(b["value"]) for b in bins])],
        category_markers=markers,
    )


def _json_document(context: dict[str, Any]) -> dict[str, Any]:
    period: Period = context["period"]
    run = context["run"]
    return {
        "$schema": SCHEMA_ID,
        "report": REPORT_NAME,
        "period": {
            "id": period.period_id,
            "kind": period.kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "as_of_date": context["as_of"].isoformat(),
        "status": "final" if context["is_final"] else "provisional",
        "run": {
            "run_id": run["run_id"],
            "pack": run["pack"],
            "pack_version": run["pack_version"],
            "pack_sha256": run["pack_sha256"],
            "code_version": run["code_version"],
            "inputs_sha256": run["inputs_sha256"],
        },
        "rate_definitions": context["pack_parameters"],
        "indicators": [
            {
                "id": i["indicator_id"],
                "group": i["indicator_group"],
                "breakdown": i["breakdown_key"],
                "label": i["label"],
                "unit": i["unit"],
                "value": i["value_text"],
                "numerator": i["numerator_value_text"],
                "denominator": i["denominator_value_text"],
                "definition": i["definition"],
                "numerator_definition": i["numerator_definition"],
                "denominator_definition": i["denominator_definition"],
            }
            for i in context["indicators"]
        ],
        "trend": [
            {
                "business_date": t["business_date"].isoformat(),
                "id": t["indicator_id"],
                "value": _number(t["value"], "rate"),
            }
            for t in context["trend"]
        ],
    }


def schema(settings: Settings) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((settings.templates_dir / SCHEMA_FILE).read_text(encoding="utf-8"))
    return loaded


def validate_document(document: dict[str, Any], settings: Settings) -> None:
    """Raise FilingError naming the first place the document breaks the JSON Schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(settings))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise FilingError(f"filing JSON breaks {SCHEMA_FILE} at {where}: {errors[0].message}")


def _csv(document: dict[str, Any]) -> bytes:
    columns = ["id", "group", "breakdown", "label", "unit", "value", "numerator", "denominator", "definition"]
    return csv_bytes(
        ["period", "as_of_date", "status", *columns, "numerator_definition", "denominator_definition"],
        (
            [
                document["period"]["id"],
                document["as_of_date"],
                document["status"],
                *[item[c] if item[c] is not None else "" for c in columns],
                item["numerator_definition"] or "",
                item["denominator_definition"] or "",
            ]
            for item in document["indicators"]
        ),
    )


def recorded_pack(settings: Settings, as_of: date) -> tuple[RulePack, dict[str, Any] | None]:
    """The rule pack the run of ``as_of`` recorded (``results.run_log``), and its ledger record.

    The pack under ``checks/<name>`` if its content hash is the recorded one (the record
    is then None: the sealer archives that folder); otherwise the files the run's sealed
    manifest archived (the record: name, version, sha256, archived files). A pack found
    in neither place is a FilingError: a filing is never made under another pack than
    the figures it files (issue 15, point 6).
    """
    from regwatch.ledger import manifests
    from regwatch.ledger.archive import Archive
    from regwatch.ledger.runs import run_info
    from regwatch.rules import load_pack, pack_digest

    info = run_info(as_of, settings)
    live = settings.checks_dir / info.pack
    if (live / "_pack.yml").is_file() and pack_digest(live) == info.pack_sha256:
        return load_pack(live), None
    sealed = next(
        (
            m
            for m in reversed([manifests.read(p) for p in manifests.manifests(settings)])
            if m.run_id == info.run_id and m.body["rule_pack"].get("sha256") == info.pack_sha256
        ),
        None,
    )
    if sealed is not None:
        record = dict(sealed.body["rule_pack"])
        archive = Archive.of(settings)
        with tempfile.TemporaryDirectory(prefix="regwatch-pack-") as folder:
            pack_dir = Path(folder) / info.pack
            for item in record["files"]:
                target = pack_dir / str(item["path"])
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.get(str(item["sha256"])))
            return load_pack(pack_dir), record
    raise FilingError(
        f"the run of {as_of} ({info.run_id}) used rule pack {info.pack} {info.pack_version} "
        f"(sha256 {info.pack_sha256[:12]}), which is neither under checks/{info.pack} nor sealed in the "
        f"ledger: run {as_of} again before filing"
    )


def render_filing(
    settings: Settings, period_id: str, provisional: bool = False, pack: RulePack | None = None
) -> list[Path]:
    """Write the filing package of ``period_id`` under ``settings.reports_dir``; return its files.

    Rendering only: the daily run renders into its staging folder and seals with the
    run; :func:`file_period` renders apart and seals the filing on its own.
    """
    import jinja2

    from regwatch.files import write_atomic
    from regwatch.reporting.render import ReportError, environment, html_to_pdf

    period = Period.parse(period_id)
    context = filing_context(settings, period, provisional, pack)
    context["trend_chart"] = _trend_chart(context)
    context["apr_chart"] = _apr_chart(context)
    document = _json_document(context)
    validate_document(document, settings)
    try:
        html = environment(settings).get_template(TEMPLATE).render(**context)
    except jinja2.TemplateError as error:
        raise ReportError(f"{TEMPLATE}: {error}") from error
    folder = folder_for(settings, period.period_id, provisional=not context["is_final"])
    outputs = {
        f"{REPORT_NAME}.html": html.encode("utf-8"),
        # settings.render_pdf False (a test setting): no PDF, recorded in the sealed manifest.
        **({f"{REPORT_NAME}.pdf": html_to_pdf(html, context["as_of"])} if settings.render_pdf else {}),
        f"{REPORT_NAME}.json": (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        f"{REPORT_NAME}.csv": _csv(document),
        "overdue_rate_trend.svg": (context["trend_chart"] + "\n").encode("utf-8"),
        "apr_distribution.svg": (context["apr_chart"] + "\n").encode("utf-8"),
    }
    paths = []
    for name, data in outputs.items():
        write_atomic(folder / name, data)
        paths.append(folder / name)
    return paths


@dataclass(frozen=True)
class FilingResult:
    """What :func:`seal_filing` did: ``sealed`` a new folder, or found it ``identical`` to a sealed one."""

    status: str
    folder: Path
    paths: tuple[Path, ...]
    manifest: Path | None
    note: str


@dataclass
class _SealedVersion:
    folder: str  # relative to reports/, e.g. "filings/2025-06_v2"
    files: dict[str, str]  # file name -> sha256 of its latest seal
    manifest: str  # the manifest that sealed it last
    sequence: int
    as_of: str | None


def _sealed_versions(settings: Settings, base: str) -> dict[str, _SealedVersion]:
    """Every sealed folder of a filing (``filings/<base>`` and its ``_v<N>`` versions), from the ledger."""
    from regwatch.ledger import manifests

    pattern = re.compile(rf"^reports/(filings/{re.escape(base)}(?:_v\d+)?)/([^/]+)$")
    versions: dict[str, _SealedVersion] = {}
    for path in manifests.manifests(settings):
        manifest = manifests.read(path)
        as_of = (manifest.body.get("filing") or {}).get("as_of_date") or manifest.body.get("business_date")
        for item in manifest.body.get("outputs", []):
            match = pattern.match(str(item["path"]))
            if match is None:
                continue
            version = versions.setdefault(match[1], _SealedVersion(match[1], {}, "", 0, None))
            version.files[match[2]] = str(item["sha256"])
            version.manifest, version.sequence, version.as_of = manifest.name, manifest.sequence, as_of
    return versions


def _version_number(folder: str) -> int:
    match = re.search(r"_v(\d+)$", folder)
    return int(match[1]) if match else 1


def seal_filing(
    settings: Settings, period_id: str, provisional: bool = False, reason: str | None = None
) -> FilingResult:
    """:func:`_seal_filing` under ``var/``'s run lock: a filing writes the ledger, like a run."""
    from regwatch.ledger.runlock import hold

    with hold(settings.var_dir, "regwatch filing"):
        return _seal_filing(settings, period_id, provisional, reason)


def _seal_filing(
    settings: Settings, period_id: str, provisional: bool = False, reason: str | None = None
) -> FilingResult:
    """File a period under the rule pack its run recorded, and seal the filing in the ledger.

    The package is rendered apart (``var/staging/``) and compared with the filing the
    ledger last sealed for the period's folder: identical bytes change nothing; different
    bytes never overwrite it - they are refused unless a ``reason`` is given, and then go
    to a new folder ``<period>_v<N>/`` sealed with that reason. A provisional filing as
    of a later business date than the sealed one is such a new version by nature (its
    reason says so). Every filing, provisional included, is sealed: ``audit verify``
    names any later edit.
    """
    from regwatch.files import sha256_file
    from regwatch.ledger import manifests
    from regwatch.ledger.archive import Archive
    from regwatch.ledger.runs import code_version, run_info, tool_versions

    period = Period.parse(period_id)
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        as_of, closed = _as_of(con, period, provisional)
    info = run_info(as_of, settings)
    pack, record = recorded_pack(settings, as_of)
    staging_root = settings.var_dir / "staging" / f"filing-{period.period_id}-{info.run_id}"
    shutil.rmtree(staging_root, ignore_errors=True)
    staging = staging_root / "reports"
    try:
        staged = render_filing(replace(settings, reports_root=staging), period.period_id, provisional, pack)
        base = staged[0].parent.name
        new = {p.name: sha256_file(p) for p in staged}
        versions = _sealed_versions(settings, base)
        current = max(versions.values(), key=lambda v: v.sequence, default=None)
        if current is not None and current.files == new:
            folder = settings.published_reports_dir / current.folder
            return FilingResult(
                "identical",
                folder,
                tuple(folder / name for name in sorted(new)),
                None,
                f"identical to the sealed filing {current.folder} (sealed by {current.manifest}); nothing written",
            )
        target = f"filings/{base}"
        if current is not None:
            if reason is None and not closed and current.as_of != as_of.isoformat():
                reason = f"provisional as of {as_of} (the sealed provisional filing is as of {current.as_of})"
            if reason is None:
                differ = sorted(
                    n for n in set(new) | set(current.files) if new.get(n) != current.files.get(n)
                )
                raise FilingError(
                    f"filing {period.period_id} as of {as_of} differs from the sealed filing {current.folder} "
                    f"(sealed by {current.manifest}) in {', '.join(differ)}: a sealed filing is never written "
                    "over; file a new version with --reason TEXT"
                )
            number = max(_version_number(v) for v in versions) + 1
            target = f"filings/{base}_v{number}"
            moved = staging / target
            moved.mkdir(parents=True)
            for path in staged:
                path.rename(moved / path.name)
            staged = [moved / path.name for path in staged]
        archive = Archive.of(settings)
        if record is None:
            record = {
                "name": pack.name,
                "version": pack.version,
                "sha256": pack.sha256,
                "files": manifests.archive_tree(archive, settings.checks_dir / pack.name),
            }
        manifest = manifests.seal(
            settings,
            business_date=as_of,
            run_id=info.run_id,
            pack_name=str(record["name"]),
            pack_version=str(record["version"]),
            pack_sha256=str(record["sha256"]),
            code_version=settings.pinned_code_version or code_version(settings.project_root),
            inputs=[],
            outputs=staged,
            outputs_root=staging,
            tool_versions=tool_versions(),
            pack_files=record["files"],
            pdf_rendered=settings.render_pdf,
            filing={
                "period": period.period_id,
                "status": "final" if closed else "provisional",
                "as_of_date": as_of.isoformat(),
                "folder": target,
                "version": _version_number(target),
                "supersedes": current.folder if current is not None else None,
                "reason": reason,
                "run_code_version": info.code_version,
                # The sealed manifest of the run the figures come from (None: filed from a run not sealed).
                "run_manifest": _run_manifest(settings, info.run_id),
            },
        )
        folder = settings.published_reports_dir / target
        note = f"sealed in {manifest.name}" + (
            f" as a new version of {current.folder} ({reason})" if current is not None else ""
        )
        return FilingResult("sealed", folder, tuple(folder / p.name for p in staged), manifest, note)
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)


def _run_manifest(settings: Settings, run_id: str) -> str | None:
    from regwatch.ledger import manifests

    try:
        return manifests.find(settings, run=run_id).name
    except manifests.RunNotFoundError:
        return None


def file_period(
    settings: Settings, period_id: str, provisional: bool = False, reason: str | None = None
) -> list[Path]:
    """File and seal a period (:func:`seal_filing`); the filing's published files."""
    return list(seal_filing(settings, period_id, provisional, reason).paths)


def periods_closed_by(settings: Settings, business_date: date) -> list[str]:
    """The periods (month, quarter) whose closing business date is ``business_date``."""
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        tables = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'reporting' AND table_name = 'rpt_disclosure_indicators'"
        ).fetchone()
        if not tables or not tables[0]:
            return []
        rows = con.execute(
            "SELECT DISTINCT period_kind, period_id FROM reporting.rpt_disclosure_indicators "
            "WHERE business_date = ? AND is_period_closed ORDER BY period_kind, period_id",
            [business_date],
        ).fetchall()
    return [period_id for _, period_id in rows]


def quarter_of(month_id: str) -> str | None:
    """The quarter a month closes (``2025-06`` -> ``2025Q2``), or None for a month inside one."""
    period = Period.parse(month_id)
    if period.kind != "month":
        raise FilingError(f"{month_id} is not a month")
    return None if period.end.month % 3 else f"{period.end.year}Q{period.end.month // 3}"


def require_closed(settings: Settings, period_id: str) -> date:
    """The closing business date of a period the daily runs have closed; FilingError otherwise."""
    period = Period.parse(period_id)
    with warehouse.connect(settings.warehouse_path, read_only=True) as con:
        as_of, _ = _as_of(con, period, provisional=False)
    return as_of
