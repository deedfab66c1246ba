"""The ``regwatch`` command: parse, call the library, print. Nothing else lives here.

Exit codes: 0 success (exceptions found is still success), 1 a run failed,
2 bad usage or bad input. Errors are one clear line on stderr, never a traceback
(set ``REGWATCH_DEBUG=1`` to see one).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from regwatch.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

#: The exit codes, as the README's "Exit codes" table documents them.
EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2

#: regwatch errors that mean "your input or usage is wrong": exit 2 (an error whose class
#: or one of its bases is named here). Every other error exits 1. The one source of the
#: mapping: the README table is checked against it (tests/unit/test_cli.py).
BAD_INPUT_ERRORS: dict[str, str] = {
    "AprError": "an APR cash-flow file that is not one, or has no solution",
    "AuditError": "an audit request the ledger cannot answer (a run that cannot be rerun, such as one "
    "sealed under a rule pack the code installed now refuses: the line names the pack and its version)",
    "DateNotRunError": "a business date that has not been run (the last date run is named)",
    "DeliveryRejectedError": "a delivery the verdict rejects (a required file empty, rejected whole or "
    "over the quarantine limit, a watch list that lost entries), or an earlier date's rejected delivery",
    "DemoError": "a demo or generator request that cannot be met",
    "EvaluateError": "nothing to evaluate (no ground truth, no date run)",
    "FilingError": "a filing period that is malformed or not closed",
    "IngestError": "a delivery that cannot be loaded (including MissingInputError: a required file "
    "missing from the date folder)",
    "NoWarehouseError": "a read-only command with no warehouse at all (no business date run yet)",
    "RulePackError": "a rule pack that does not load",
    "RunNotFoundError": "a run or business date the ledger does not hold",
    "SettingsError": "settings that describe no usable project",
    "SourceConfigError": "a sources.yml that does not describe a usable source, or a source it does not hold",
}


def exit_code(error_class: type[BaseException]) -> int:
    """The documented exit code of an error (by its class) reaching the command line."""
    names = {cls.__name__ for cls in error_class.__mro__}
    return EXIT_BAD_INPUT if names & set(BAD_INPUT_ERRORS) else EXIT_RUN_FAILED


def _fail(message: str, code: int) -> None:
    click.echo(f"regwatch: error: {message}", err=True)
    sys.exit(code)


def _handles_errors(func: F) -> F:
    """Turn regwatch's own errors into one line on stderr and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as error:  # the edge of the program: no traceback for users
            if os.environ.get("REGWATCH_DEBUG"):
                raise
            name = type(error).__name__
            ours = type(error).__module__.startswith("regwatch.")
            text = str(error).strip().splitlines()[0] if str(error).strip() else name
            if ours:
                _fail(text, exit_code(type(error)))
            _fail(f"{name}: {text} (set REGWATCH_DEBUG=1 for the traceback)", EXIT_RUN_FAILED)

    return wrapper  # type: ignore[return-value]


class _Date(click.ParamType[date]):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return datetime.strptime(str(value), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date of the form YYYY-MM-DD", param, ctx)


DATE = _Date()


def _settings(
    landing: Path | None = None, pack: str | None = None, var: Path | None = None, engine: str | None = None
) -> Settings:
    given: dict[str, object] = {"engine": engine, "landing_dir": landing, "pack": pack, "var_dir": var}
    return Settings.from_env(None, **{name: value for name, value in given.items() if value is not None})


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="regwatch")
def main() -> None:
    """regwatch: compliance monitoring for online lending platforms.

    Loads a business day's extracts into DuckDB, builds the disclosure marts with
    dbt, checks the rule pack through Great Expectations and renders the reports.
    """


def _step_detail(result: Any) -> str:
    summary = result.summary
    if result.step == "ingest":
        detail = f"{summary['rows_read']:,} rows read, {summary['rows_quarantined']:,} quarantined"
        decisions = summary.get("decisions") or {}
        if decisions.get("read"):
            detail += f"; {decisions['read']} decisions ({decisions['invalid']} invalid)"
        if summary.get("delivery", "complete") != "complete":
            detail += f"; delivery {summary['delivery'].upper()}"
        return detail
    if result.step == "transform":
        return f"dbt: {summary['models']} models, {summary['tests']} tests, {summary['seeds']} seeds"
    if result.step == "validate":
        return f"{summary['exceptions']:,} exceptions from {len(summary['rules_run'])} rules"
    if result.step == "update_alerts":
        return (
            f"alerts: {summary['new']} new, {summary['open']} open, {summary['resolved']} resolved, "
            f"{summary['suppressed']} suppressed; {summary['customer_alerts']} AML customers"
        )
    if result.step == "render_reports":
        detail = ", ".join(
            Path(p).name for p in summary["reports"] if Path(p).parent.parent.name != "filings"
        )
        if summary.get("filings"):
            detail += f"; filings {', '.join(summary['filings'])}"
        if summary.get("filing_failures"):
            detail += f"; FILING FAILED {', '.join(f['period'] for f in summary['filing_failures'])}"
        if summary.get("pdf") is False:
            detail += "; no PDF rendered (REGWATCH_NO_PDF, or a demo date before the last)"
        return detail
    if result.step == "seal_ledger":
        return Path(summary["manifest"]).name
    return ""


def _print_step(result: Any) -> None:
    click.echo(f"  {result.step:<15} {result.seconds:6.1f}s  {_step_detail(result)}")


def _run_dates(
    dates: list[date], settings: Settings, pdf_last_date_only: bool = False
) -> tuple[list[Path], dict[str, Any] | None, list[tuple[date, dict[str, str]]]]:
    """Run each date; a progress bar per step on a terminal, plain lines otherwise (CI logs).

    Returns the report paths, the last date's alert summary and the filings that failed
    (date, period and error): a failed filing does not stop the dates after it.
    ``pdf_last_date_only`` (``regwatch demo``): the dates before the last are run without
    their PDF (``Settings.render_pdf``; each run's line and manifest say so).
    """
    from dataclasses import replace

    from regwatch.pipeline import STEPS, run_day

    def run_date(day: date, **callbacks: Any) -> list[Any]:
        pdf = settings.render_pdf and (not pdf_last_date_only or day == dates[-1])
        return run_day(day, replace(settings, render_pdf=pdf), **callbacks)

    reports: list[Path] = []
    last_alerts: dict[str, Any] | None = None
    failures: list[tuple[date, dict[str, str]]] = []
    if sys.stdout.isatty() and not os.environ.get("CI"):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console()
        columns = (
            TextColumn("[bold]{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            overall = progress.add_task("business dates", total=len(dates))
            for day in dates:
                steps = progress.add_task(f"{day} ({settings.pack})", total=len(STEPS))

                def started(name: str, steps: Any = steps, day: date = day) -> None:
                    progress.update(steps, description=f"{day} {name}")

                def finished(result: Any, steps: Any = steps) -> None:
                    progress.advance(steps)
                    progress.console.print(
                        f"  {result.step:<15} {result.seconds:6.1f}s  {_step_detail(result)}"
                    )

                results = run_date(day, on_step=finished, on_start=started)
                _warn_degraded(results)
                progress.update(steps, description=f"{day} done")
                progress.advance(overall)
                reports.extend(_published(results))
                last_alerts = next((r.summary for r in results if r.step == "update_alerts"), last_alerts)
                failures.extend(_filing_failures(day, results))
        return reports, last_alerts, failures
    for day in dates:
        click.echo(f"{day}  run for {day} (pack {settings.pack})")
        results = run_date(day, on_step=_print_step)
        _warn_degraded(results)
        reports.extend(_published(results))
        last_alerts = next((r.summary for r in results if r.step == "update_alerts"), last_alerts)
        failures.extend(_filing_failures(day, results))
    return reports, last_alerts, failures


def _filing_failures(day: date, results: list[Any]) -> list[tuple[date, dict[str, str]]]:
    return [
        (day, f) for r in results if r.step == "render_reports" for f in r.summary.get("filing_failures", [])
    ]


def _exit_on_filing_failures(failures: list[tuple[date, dict[str, str]]]) -> None:
    """A filing that could not be made fails the command (exit 1), after every date ran and sealed."""
    if not failures:
        return
    for day, failure in failures:
        click.echo(
            f"regwatch: error: filing {failure['period']} of {day} FAILED: {failure['error']} "
            "(the date's monitoring results are sealed and published; its daily report says so in red)",
            err=True,
        )
    sys.exit(EXIT_RUN_FAILED)


def _warn_degraded(results: list[Any]) -> None:
    """A degraded delivery run anyway, and what a tolerated delivery still changes (its notes),
    are said on stderr too, never only inside the report."""
    for result in results:
        if result.step == "ingest" and result.summary.get("delivery") == "degraded":
            click.echo(f"regwatch: warning: {result.summary['delivery_line']}", err=True)
        if result.step == "ingest":
            # what a tolerated delivery still changes (an empty schedules.csv beside new loans)
            for note in result.summary.get("delivery_notes", []):
                click.echo(f"regwatch: warning: {result.business_date}: {note}", err=True)


def _published(results: list[Any]) -> list[Path]:
    """The report files a day's run published (seal_ledger moves them out of staging)."""
    return [Path(p) for r in results if r.step == "seal_ledger" for p in r.summary["published"]]


def _final_summary(dates: list[date], reports: list[Path], alerts: dict[str, Any] | None) -> None:
    """The closing lines: the last date's alerts and where the reports are."""
    if alerts is not None and dates:
        click.echo(
            f"{dates[-1]}: alerts {alerts['new']} new, {alerts['open']} open, {alerts['resolved']} resolved, "
            f"{alerts['suppressed']} suppressed ({alerts['customer_alerts']} AML customer alerts"
            + (
                f"; {alerts['decisions_invalid']} invalid decision rows"
                if alerts.get("decisions_invalid")
                else ""
            )
            + ")"
        )
    click.echo("reports:")
    for path in reports:
        click.echo(f"  {path}")


@main.command()
@click.option("--business-date", type=DATE, help="The business date to run.")
@click.option("--from", "start", type=DATE, help="First date of a range (with --to).")
@click.option("--to", "end", type=DATE, help="Last date of a range (with --from).")
@click.option(
    "--landing",
    type=click.Path(path_type=Path, file_okay=False),
    help="Landing folder (default var/landing).",
)
@click.option("--pack", help="Rule pack under checks/ (default cn).")
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    help="The engine dbt builds the project on (default duckdb, or REGWATCH_ENGINE); spark needs "
    "the spark extra (uv sync --extra spark) and Java 17.",
)
@click.option(
    "--accept-degraded",
    "accept_degraded",
    metavar="REASON",
    help="Run on a delivery the verdict rejects (a file missing, empty, rejected or over the "
    "quarantine limit); the reason goes into the ledger and the report opens with a DEGRADED band.",
)
@_handles_errors
def run(
    business_date: date | None,
    start: date | None,
    end: date | None,
    landing: Path | None,
    pack: str | None,
    engine: str | None,
    accept_degraded: str | None,
) -> None:
    """Run every step for one business date, or for each date of a range in order.

    A delivery the verdict rejects stops the run before transform (exit 2), unless
    --accept-degraded gives the operator's reason.
    """
    if (business_date is None) == (start is None or end is None):
        raise click.UsageError("give --business-date D, or --from D1 --to D2")
    if accept_degraded is not None and not accept_degraded.strip():
        raise click.BadParameter(
            "give the reason for running on a degraded delivery", param_hint="--accept-degraded"
        )
    settings = replace(_settings(landing, pack, engine=engine), accept_degraded=accept_degraded)
    if business_date is not None:
        dates = [business_date]
    else:
        assert start is not None and end is not None
        if end < start:
            raise click.UsageError("--to is before --from")
        dates = _landed_dates(settings.landing_dir, start, end)
        if not dates:
            _fail(f"no landing folders between {start} and {end} in {settings.landing_dir}", EXIT_BAD_INPUT)
    with _writing(settings, "regwatch run", dates):
        reports, alerts, failures = _run_dates(dates, settings)
    _final_summary(dates, reports, alerts)
    _exit_on_filing_failures(failures)


@contextmanager
def _writing(settings: Settings, command: str, dates: list[date]) -> Iterator[None]:
    """Hold var/'s run lock for the whole command (exit 1 naming the holder if another run has it),
    then check the warehouse against the ledger head (exit 1 saying what differs)."""
    from regwatch.ledger.runlock import hold

    with hold(settings.var_dir, command, dates) as previous:
        if previous is not None and previous.alive is False:
            click.echo(
                f"regwatch: note: an earlier run ended without releasing its lock ({previous.describe()}): "
                "it was killed or crashed, and sealed nothing it had not finished",
                err=True,
            )
        from regwatch.ledger.consistency import require_consistent

        require_consistent(settings)
        yield


@contextmanager
def _reading(settings: Settings) -> Iterator[Settings]:
    """For a read-only command: the warehouse itself, or (while a run writes it) the last sealed
    state, said so on stderr. Never takes the run lock, never waits for a run."""
    from regwatch.ledger.runlock import reading

    with reading(settings.var_dir) as direct:
        if direct:
            yield settings
            return
        from regwatch.ledger.snapshot import for_reading

        sealed, note = for_reading(settings)
        click.echo(f"regwatch: note: {note}", err=True)
        yield sealed


def _landed_dates(landing: Path, start: date, end: date) -> list[date]:
    dates = []
    if landing.is_dir():
        for child in landing.iterdir():
            try:
                day = date.fromisoformat(child.name)
            except ValueError:
                continue
            if child.is_dir() and start <= day <= end:
                dates.append(day)
    return sorted(dates)


@main.command()
@click.option("--start", type=DATE, required=True, help="First business date.")
@click.option("--end", type=DATE, required=True, help="Last business date.")
@click.option("--loans", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--accounts", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Landing folder to write."
)
@_handles_errors
def generate(start: date, end: date, loans: int, accounts: int, seed: int, out: Path) -> None:
    """Write a synthetic platform (landing files per business date + _truth/)."""
    from regwatch.demo import generate as make_platform

    if end < start:
        raise click.UsageError("--end is before --start")
    result = make_platform(
        out,
        start,
        end,
        loans=loans,
        accounts=accounts,
        seed=seed,
        reference_dir=_settings().reference_seeds_dir,
    )
    click.echo(
        f"wrote {len(result.business_dates)} business dates ({result.business_dates[0]} .. "
        f"{result.business_dates[-1]}) to {out}: {sum(result.rows_written.values()):,} rows, "
        f"{result.planted} planted cases, {result.malformed} malformed rows; truth in {out / '_truth'}"
    )


@main.command()
@click.option("--business-date", type=DATE, required=True, help="The business date to extract.")
@click.option("--source", "source_name", required=True, help="A source of sources.yml.")
@click.option(
    "--sources",
    "sources_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The sources file (default sources.yml in the project).",
)
@click.option(
    "--landing",
    type=click.Path(path_type=Path, file_okay=False),
    help="Landing folder (default var/landing).",
)
@_handles_errors
def extract(business_date: date, source_name: str, sources_file: Path | None, landing: Path | None) -> None:
    """Extract a business date from the platform's database into landing/D/ (Parquet).

    Reads the rows committed since the last sealed extract (less the overlap window
    for late commits) and before the date's cut-off; `regwatch run` then ingests them
    like any delivery. The watermark advances only when the date's run is sealed.
    """
    from regwatch.pipeline import extract as extract_step

    settings = _settings(landing)
    with _writing(settings, "regwatch extract", [business_date]):
        result = extract_step(business_date, settings, source_name, sources_file)
    summary = result.summary
    since = (
        f"since the sealed extract of {summary['since_sealed_date']}"
        if summary["since_sealed_date"]
        else "first extract"
    )
    folder = settings.landing_for(business_date)
    click.echo(
        f"extracted {business_date} from {source_name} ({since}): {summary['rows']:,} rows into {folder}"
    )
    for name, table in summary["tables"].items():
        line = f"{table['rows']:,} rows" if table["delivered"] else "unchanged, not delivered"
        click.echo(f"  {name:<13} {line}; watermark {table['watermark'] or '-'}")


DEMO_START = date(2025, 6, 2)
DEMO_END = date(2025, 6, 13)


@main.command()
@click.option("--loans", type=click.IntRange(min=50), default=2000, show_default=True)
@click.option("--accounts", type=click.IntRange(min=50), default=1000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@_handles_errors
def demo(loans: int, accounts: int, seed: int) -> None:
    """Generate a demo platform into var/landing, run every business date, print the reports.

    The PDFs are rendered for the last business date only (the others' HTML, CSV and JSON
    are complete; their run lines and manifests say no PDF was rendered).
    """
    from regwatch.demo import generate as make_platform

    settings = _settings()
    click.echo(f"generating a synthetic platform into {settings.landing_dir}")
    result = make_platform(
        settings.landing_dir,
        DEMO_START,
        DEMO_END,
        loans=loans,
        accounts=accounts,
        seed=seed,
        reference_dir=settings.reference_seeds_dir,
    )
    with _writing(settings, "regwatch demo", list(result.business_dates)):
        # The PDF of the last date only: WeasyPrint's layout was most of each demo day's
        # rendering (issue 17); HTML + CSV + JSON are the record of every date.
        reports, alerts, failures = _run_dates(list(result.business_dates), settings, pdf_last_date_only=True)
    click.echo(f"\n{len(result.business_dates)} business dates run.")
    _final_summary(list(result.business_dates), reports, alerts)
    click.echo(f"ground truth of the planted cases: {settings.landing_dir / '_truth'}")
    click.echo("score the rules against it: regwatch rules evaluate")
    _exit_on_filing_failures(failures)


@main.command()
@_handles_errors
def rebuild() -> None:
    """Replay the archive into a fresh warehouse, prove it equals the ledger, swap it in.

    Every sealed run is run again, in ledger order, from the loads, decisions file, rule
    pack and seeds it recorded; its run id and every output must match the manifest.
    Exit 1 (the warehouse untouched) naming the first run that does not reproduce.
    """
    from regwatch.ledger.runlock import hold
    from regwatch.rebuild import rebuild as replay

    settings = _settings()
    with hold(settings.var_dir, "regwatch rebuild"):
        click.echo(f"rebuilding {settings.warehouse_path} from the archive, in ledger order ...")
        result = replay(
            settings,
            on_replayed=lambda r: click.echo(
                f"  {r.manifest:<58} reproduced: run id and {r.outputs} outputs identical"
                f" (+{r.loads_ingested} loads)  {r.seconds:6.1f}s"
            ),
        )
    click.echo(result.summary)


@main.command()
@click.option(
    "--method",
    type=click.Choice(["cn_irr", "cn_irr_compound", "us_reg_z", "eu_aprc"]),
    default="cn_irr",
    show_default=True,
    help="APR convention: PBOC simple or compound, Regulation Z Appendix J, EU Annex I.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the rate and workings as JSON.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_handles_errors
def apr(method: str, as_json: bool, file: Path) -> None:
    """Real APR of one loan's cash flows (JSON: advances and payments), with the workings."""
    from regwatch.apr import AprError, explain, workings_as_dict

    try:
        data = json.loads(file.read_text())
        advances = [(date.fromisoformat(f["date"]), float(f["amount"])) for f in data["advances"]]
        payments = [(date.fromisoformat(f["date"]), float(f["amount"])) for f in data["payments"]]
        unit_period = data.get("unit_period")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise AprError(f"{file}: not an APR cash-flow file ({error})") from error
    w = explain(advances, payments, method, unit_period)
    if as_json:
        click.echo(json.dumps(workings_as_dict(w), indent=2))
        return
    click.echo(f"real APR ({method}): {w.annual_rate:.4%}")
    click.echo(f"  {w.note}")
    if method in ("cn_irr", "cn_irr_compound"):
        click.echo(f"  simple: {w.simple_rate:.4%}   compound: {w.compound_rate:.4%}")
    click.echo(
        f"  unit period: {w.unit_period}   periods per year: {w.periods_per_year:g}"
        f"   periodic rate: {w.periodic_rate:.8%}"
    )
    click.echo(f"  {'':<8}{'date':<12}{'amount':>14}{'t':>6}{'f':>10}{'discount':>12}{'present value':>16}")
    for f in w.flows:
        sign = 1 if f.side == "advance" else -1
        click.echo(
            f"  {f.side:<8}{f.date.isoformat():<12}{sign * f.amount:>14,.2f}{f.whole_periods:>6}"
            f"{f.fraction:>10.6f}{f.discount_factor:>12.8f}{sign * f.present_value:>16,.4f}"
        )
    total = sum((1 if f.side == "advance" else -1) * f.present_value for f in w.flows)
    click.echo(f"  {'':<8}{'sum':<12}{'':>14}{'':>6}{'':>10}{'':>12}{total:>16,.4f}")


@main.command()
@click.option("--period", required=True, help="A month (2025-06) or a quarter (2025Q2).")
@click.option(
    "--provisional",
    is_flag=True,
    help="File a period that is not closed yet, as of the last business date run in it (marked PROVISIONAL).",
)
@click.option(
    "--reason", help="Why a filing that differs from the sealed one is filed again (a new version)."
)
@_handles_errors
def filing(period: str, provisional: bool, reason: str | None) -> None:
    """Write and seal the disclosure filing package of a period (HTML, PDF, JSON, CSV, charts).

    Filed under the rule pack its run recorded; a sealed filing is never written over.
    A filing is sealed in the ledger: it holds var/'s run lock like a run.
    """
    from regwatch.reporting.filing import seal_filing

    settings = _settings()
    with _writing(settings, "regwatch filing", []):
        result = seal_filing(settings, period, provisional=provisional, reason=reason)
    click.echo(f"filing {period}: {result.folder} ({result.note})")
    for path in result.paths:
        click.echo(f"  {path.name}")


@main.group()
def rules() -> None:
    """The active rule pack: list, show, evaluate against generated truth."""


@rules.command("list")
@click.option("--pack", help="Rule pack under checks/ (default cn).")
@_handles_errors
def rules_list(pack: str | None) -> None:
    """One line per rule of the pack: id, severity, alert kind (condition / event), validity, title."""
    from regwatch.rules import load_pack

    loaded = load_pack(_settings(pack=pack).pack_dir)
    click.echo(
        f"pack {loaded.name} {loaded.version} ({len(loaded.rules)} rules, sha256 {loaded.sha256[:12]})"
    )
    for rule in loaded.rules:
        window = f"{rule.valid_from} .. {rule.valid_to or 'open'}"
        click.echo(f"  {rule.id:<50} {rule.severity:<9} {rule.kind:<10} {window:<26} {rule.title}")


@rules.command("show")
@click.argument("rule_id")
@click.option("--pack", help="Rule pack under checks/ (default cn).")
@_handles_errors
def rules_show(rule_id: str, pack: str | None) -> None:
    """Everything about one rule: its definition, and every parameter it depends on (its
    kwargs' and the ones that shape its mart, model_parameters) with value and source."""
    from regwatch.rules import load_pack

    loaded = load_pack(_settings(pack=pack).pack_dir)
    rule = next((r for r in loaded.rules if r.id == rule_id), None)
    if rule is None:
        raise click.BadParameter(f"no rule {rule_id!r} in pack {loaded.name}", param_hint="RULE_ID")
    shown = rule.model_dump(mode="json")
    shown["resolved_kwargs"] = rule.resolved_kwargs(loaded.parameters)
    # Every parameter the rule's result depends on, resolved: its own ($name in kwargs) and
    # those that shape its mart in dbt (model_parameters), each with its value and source.
    shown["parameters"] = {
        name: {
            "value": loaded.parameters[name].value,
            "source": loaded.parameters[name].source,
            "used_by": [
                where
                for where, names in (
                    ("kwargs", rule.parameter_names()),
                    (rule.model, rule.model_parameters or ()),
                )
                if name in names
            ],
        }
        for name in sorted(rule.all_parameter_names())
    }
    click.echo(json.dumps(shown, indent=2, ensure_ascii=False, default=str))


@rules.command("evaluate")
@click.option(
    "--truth",
    type=click.Path(path_type=Path, file_okay=False),
    help="A _truth/ folder from regwatch generate (default var/landing/_truth).",
)
@_handles_errors
def rules_evaluate(truth: Path | None) -> None:
    """Precision and recall per rule: exceptions of every run date vs the planted truth; per
    laundering pattern (AMLworld): attempts planted and found, benign look-alikes flagged."""
    from regwatch.demo.evaluate import evaluate, evaluate_patterns, pattern_lines, rule_lines, screening_lines

    settings = _settings()
    truth_dir = truth or settings.landing_dir / "_truth"
    with _reading(settings) as readable:
        scores = evaluate(readable, truth_dir)
        patterns = evaluate_patterns(readable, truth_dir)
    for line in rule_lines(scores):
        click.echo(line)
    for line in pattern_lines(patterns):
        click.echo(line)
    for line in screening_lines(settings):  # the labelled name pairs of checks/screening_pairs.csv
        click.echo(line)


@main.group("alerts")
def alerts_group() -> None:
    """The alerts of a business date (their keys go into the decisions file)."""


@alerts_group.command("list")
@click.option("--business-date", type=DATE, help="The date (default: the latest run).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["new", "open", "resolved", "suppressed"]),
    help="Only these statuses (repeatable).",
)
@_handles_errors
def alerts_list(business_date: date | None, statuses: tuple[str, ...]) -> None:
    """One line per alert of the date: key, status, severity, rule, entity, since (an event's age), decision."""
    from regwatch import alerts, warehouse
    from regwatch.reporting.masking import mask_text

    settings = _settings()
    with _reading(settings) as readable, warehouse.connect(readable.warehouse_path, read_only=True) as con:
        day, rows = alerts.snapshot(con, business_date, statuses)
    if day is None:
        _fail("no alerts yet: run a business date first", EXIT_BAD_INPUT)
    click.echo(f"{day}: {len(rows)} alert{'' if len(rows) == 1 else 's'}")
    for r in rows:
        entity = r["entity_key"] if settings.unmask_pii else mask_text(r["entity_key"])
        since = f"since {r['open_since']}" if r["open_since"] else f"first seen {r['first_seen']}"
        if r["kind"] == "event" and r["status"] in ("new", "open"):
            since += (
                f" ({r['days_open']} business day{'' if r['days_open'] == 1 else 's'}, awaiting a decision)"
            )
        decision = (
            f"  [{r['decision']} until {r['decision_until']}]"
            if r["decision_until"]
            else (f"  [{r['decision']}]" if r["decision"] else "")
        )
        click.echo(
            f"  {r['alert_key']}  {r['status']:<10} {r['severity']:<8} {r['rule_id']:<48} {entity:<28} "
            f"{since}{decision}"
        )


@main.group()
def audit() -> None:
    """The ledger: verify it, rerun a sealed date from the archive, explain differences."""


@audit.command("verify")
@_handles_errors
def audit_verify() -> None:
    """Walk the manifest chain; name the first broken link or altered file (exit 1)."""
    from regwatch.ledger.manifests import verify

    result = verify(_settings())
    if not result.ok:
        for problem in result.problems:
            click.echo(f"regwatch: audit: {problem}", err=True)
        sys.exit(1)
    click.echo(result.summary)


@audit.command("rerun")
@click.option("--business-date", type=DATE, required=True, help="The business date to rebuild.")
@click.option("--run", "run_id", help="The run to reproduce (default: the date's latest sealed run).")
@click.option(
    "--rules",
    type=click.Choice(["recorded", "current"]),
    default="recorded",
    show_default=True,
    help="The rule pack recorded for the run, or today's (to see what it would change).",
)
@click.option("--keep-scratch", is_flag=True, help="Keep the scratch warehouse under var/audit/scratch/.")
@_handles_errors
def audit_rerun(business_date: date, run_id: str | None, rules: str, keep_scratch: bool) -> None:
    """Rebuild a sealed date from the archive in a scratch warehouse; compare every output byte for byte.

    Exit 0 when every output is reproduced (or with --rules current, which shows the
    differences); exit 1 when a run rebuilt with its recorded rules differs from what was filed.
    """
    from regwatch.audit import rerun

    click.echo(f"rerunning {business_date} from the archive in a scratch warehouse ({rules} rules) ...")
    result = rerun(
        _settings(), business_date, run_id, "current" if rules == "current" else "recorded", keep_scratch
    )
    for comparison in result.comparisons:
        click.echo(f"  {comparison.status:<22} {comparison.path}")
    for line in result.diff.lines()[1:] if result.diff.changes or result.diff.rule_causes else []:
        click.echo(f"  {line}")
    click.echo(result.summary)
    click.echo(f"audit report: {result.report}")
    if not result.reproduced and rules == "recorded":
        sys.exit(1)


@audit.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@_handles_errors
def audit_diff(run_a: str, run_b: str) -> None:
    """Which exceptions appeared or disappeared from RUN_A to RUN_B, and why (rules, inputs, code)."""
    from regwatch.audit import diff

    for line in diff(_settings(), run_a, run_b).lines():
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
