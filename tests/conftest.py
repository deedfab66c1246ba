"""Shared fixtures: a tiny, hand-readable landing folder that honours the input contract, and
generated platforms whose days are run once per test session (copied by the tests that
change them)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from regwatch.config import Settings
from regwatch.rules import RulePack

REPO_ROOT = Path(__file__).resolve().parents[1]

# Runs through the CLI (Settings.from_env) render no PDF unless a test asks for one: WeasyPrint
# is a third of a day's cost and only the tests about the PDF read it (they set
# REGWATCH_NO_PDF=0, or build Settings with the default render_pdf=True). The manifest of
# such a run records "pdf_rendered": false. Tests that build Settings themselves pass
# render_pdf=False where they do not look at a PDF.
os.environ.setdefault("REGWATCH_NO_PDF", "1")

# `make test-fast` runs with `--hypothesis-profile=fast`: the properties whose examples are
# expensive (an ingest, a day of alerts each) draw fewer there; `make test` (the default
# profile) draws the full count. Same properties, same derandomised draws, fewer of them.
# No deadline there: on a shared 2-core machine a draw of a cheap property (masking) took
# over the default 200 ms and failed the run; a deadline measures the machine, not the code.
#
# Every profile but `explore` is derandomised: a property draws the same examples on every
# run, so a CI run is reproducible and cannot turn red on a draw no other run made (it did:
# the APR engines' range, tests/unit/test_apr.py). `pytest --hypothesis-profile=explore`
# draws fresh random examples to look for new counterexamples; one found becomes a fixed test.
# The "too slow" health check times the draws as the deadline times a test: off too (a
# masking property failed it at load 20).
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
hypothesis_settings.register_profile("ci", derandomize=True, **_UNTIMED)
hypothesis_settings.register_profile("fast", derandomize=True, **_UNTIMED)
hypothesis_settings.register_profile("explore", derandomize=False, **_UNTIMED)
hypothesis_settings.load_profile("ci")


def examples(full: int, fast: int) -> int:
    """A property's ``max_examples``: ``full`` under ``make test``, ``fast`` under ``make test-fast``."""
    return fast if hypothesis_settings.get_current_profile_name() == "fast" else full


# One good row per file; tests add bad rows next to them.
GOOD_ROWS: dict[str, str] = {
    "loans": (
        "loan_id,borrower_id,borrower_type,product_code,partner_id,is_related_party,contract_date,"
        "disbursement_date,principal,currency,term_months,repayment_method,nominal_rate,upfront_fee,"
        "status,written_off_date,updated_at\n"
        "L1,C1,individual,P-EI,,false,2025-06-02,2025-06-02,12000.00,CNY,12,equal_installment,"
        "0.120000,0.00,active,,2025-06-02 09:00:00\n"
    ),
    "schedules": (
        "loan_id,installment_no,due_date,principal_due,interest_due,fee_due\n"
        "L1,1,2025-07-02,946.18,120.00,0.00\n"
    ),
    "repayments": (
        "payment_id,loan_id,paid_at,installment_no,principal_paid,interest_paid,fee_paid,penalty_paid,payer_type\n"
        "PAY1,L1,2025-06-02 10:00:00,,0.00,0.00,0.00,0.00,borrower\n"
    ),
    "fundings": (
        "funding_id,loan_id,funder_id,funder_type,amount,funded_at\n"
        "F1,L1,LND1,institution,12000.00,2025-06-02 08:00:00\n"
    ),
    "accounts": (
        "account_id,customer_id,customer_type,full_name,id_number,phone,country,device_id,opened_at,status,updated_at\n"
        "A1,C1,individual,Wang Fang,110101199003074477,13812345678,CN,D1,2024-01-05 10:00:00,active,"
        "2025-06-02 09:00:00\n"
    ),
    "transactions": (
        "txn_id,account_id,txn_at,direction,amount,currency,channel,counterparty_account,counterparty_name,"
        "counterparty_country,purpose\n"
        "T1,A1,2025-06-02 11:00:00,credit,50000.00,CNY,cash,,,,deposit\n"
    ),
    "fx_rates": "rate_date,currency,cny_per_unit\n2025-06-02,USD,7.18000000\n",
}

DAY = date(2025, 6, 2)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A test module whose ``pytestmark`` makes ``-m`` deselect all its tests is not imported
    (:mod:`tests.collect_filter`: under ``make test-fast``, the integration and e2e modules)."""
    from tests.collect_filter import ignored

    return True if ignored(collection_path, config.getoption("markexpr")) else None


#: The order ``make test`` sends the longest files in (``--dist loadfile --no-loadscope-reorder``:
#: a worker takes the next file when it is almost done): longest first, so that the two workers
#: finish together, and a shared platform's first user (it builds it: ``built_once``) ahead of
#: its other users, so that they find it built rather than wait on its lock. The test-seconds
#: are the CI run of 50c15f8 (a clean clone, `make test` 9 min 12 s; a shared build counted in
#: the file that made it), before issue 16's cuts of 2026-12-07 evening (marked "was").
LONGEST_FIRST: tuple[str, ...] = (
    "tests/e2e/test_daily_report.py",  # 108: builds e2e_platform (5 days) and e2e_rerun
    "tests/integration/test_audit.py",  # 102: builds sealed_platform (3 days)
    "tests/integration/test_platform_bench.py",  # was 107 (23 processes; 17 now)
    "tests/integration/test_dags.py",  # was 92 (builds airflow_db)
    "tests/e2e/test_extract_e2e.py",  # 94: uses sealed_platform
    "tests/e2e/test_audit_point_in_time.py",  # 72
    "tests/integration/test_incremental_builds.py",  # 59
    "tests/integration/test_transform_reuse.py",  # 59
    "tests/e2e/test_rebuild.py",  # 57: uses sealed_platform
    "tests/e2e/test_filing.py",  # 55: uses airflow_db
    "tests/integration/test_filing_failure.py",  # 40
    "tests/e2e/test_run.py",  # uses e2e_platform
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files of :data:`LONGEST_FIRST` in its order, then the other files holding e2e or slow
    tests, then the rest; each file's tests in their order (the sort is stable)."""
    heavy = {i.path for i in items if i.get_closest_marker("e2e") or i.get_closest_marker("slow")}
    rank = {REPO_ROOT / name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: (rank.get(item.path, len(rank)), item.path not in heavy))


@pytest.fixture
def make_landing(tmp_path: Path) -> Callable[..., Path]:
    """Write a landing folder for DAY; ``extra`` appends raw bytes to a file, ``replace`` swaps one."""

    def _make(
        extra: dict[str, bytes] | None = None,
        replace: dict[str, bytes] | None = None,
        omit: tuple[str, ...] = (),
    ) -> Path:
        landing = tmp_path / "landing"
        folder = landing / DAY.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in GOOD_ROWS.items():
            if name in omit:
                continue
            data = (replace or {}).get(name, text.encode())
            data += (extra or {}).get(name, b"")
            (folder / f"{name}.csv").write_bytes(data)
        return landing

    return _make


@pytest.fixture(scope="session")
def cn_pack() -> RulePack:
    """The cn rule pack as checks/cn holds it (read-only: ``model_copy`` it to change it)."""
    from regwatch.rules import load_pack

    return load_pack(REPO_ROOT / "checks" / "cn")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(project_root=REPO_ROOT, var_dir=tmp_path / "var", landing_dir=tmp_path / "landing")


# --------------------------------------------------------------------------- built once, copied when changed

#: The sealed platform: generated for four business days, the first three run and sealed.
SEALED_DAYS = (date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4))
SEALED_NEXT = date(2025, 6, 5)


@dataclass(frozen=True)
class SealedPlatform:
    """A generated platform (200 loans, 100 accounts, seed 4; 2025-06-02 to 06-05) with
    :data:`SEALED_DAYS` run through the whole pipeline and sealed (no PDF), and
    :data:`SEALED_NEXT` delivered but not run. Read-only: :meth:`copy` it to change it."""

    landing: Path
    var: Path

    def copy(self, target: Path) -> Settings:
        """A private copy (landing/ and var/: warehouse, archive, ledger, reports) under ``target``."""
        from tests.helpers import private_copy

        return Settings(
            project_root=REPO_ROOT,
            render_pdf=False,
            var_dir=private_copy(self.var, target / "var"),
            landing_dir=private_copy(self.landing, target / "landing"),
        )


@pytest.fixture(scope="session")
def sealed_platform(tmp_path_factory: pytest.TempPathFactory) -> SealedPlatform:
    """Built once per ``make test``: test_rebuild, test_audit and the file delivery of test_extract_e2e
    (shared by the xdist workers). Seed 4 plants
    a large-cash case on each of the first three days (test_audit re-parameterises that rule on
    the second)."""
    from regwatch import pipeline
    from regwatch.demo import generate
    from tests.helpers import built_once

    def build(root: Path) -> None:
        generate(root / "landing", SEALED_DAYS[0], SEALED_NEXT, loans=200, accounts=100, seed=4)
        settings = Settings(
            project_root=REPO_ROOT, render_pdf=False, var_dir=root / "var", landing_dir=root / "landing"
        )
        for day in SEALED_DAYS:
            pipeline.run_day(day, settings)

    root = built_once(tmp_path_factory, "sealed-platform-200-100-4", build)
    return SealedPlatform(root / "landing", root / "var")


#: The e2e platform: five generated business days (a week) run once per session through the CLI.
E2E_DAYS = tuple(date(2025, 6, d) for d in (2, 3, 4, 5, 6))
E2E_RATE = "cn.rate_caps.real_apr_above_comprehensive_cap"
#: A loan the platform prices above the 24 % comprehensive-cost level on day 2 and re-prices on day 4.
REPRICED_LOAN = "L99000001"
REPRICED_ON, REPRICED_BACK = E2E_DAYS[1], E2E_DAYS[3]
#: The last day of the day-1 rate-cap alert's false-positive decision (decided on day 2).
SUPPRESSED_UNTIL = E2E_DAYS[2]
#: Issue 15's two kinds of alert (tests/integration/test_event_alerts.py), planted on the e2e
#: platform since issue 16 (they had four days of a platform of their own): a customer of its
#: own pays a listed party once on day 1 (a critical watch-list event, open until the analyst's
#: "reported" decision on day 4) and has a loan priced at 40 % on day 1, restated at 10 % on day 2
#: (a condition: the restatement resolves it).
EVENT_RULE = "cn.aml.watchlist_counterparty_match"
EVENT_CUSTOMER, EVENT_ACCOUNT = "C99000002", "A990000002"
EVENT_LISTED = "Karim Al-Masri"  # WL-0004 of the watch list the generator delivers on day 1
EVENT_HIT = f"{EVENT_CUSTOMER}|cp:6222000099998888|WL-0004"
EVENT_DECIDED = E2E_DAYS[3]
CURED_LOAN = "L99000002"


@dataclass(frozen=True)
class E2EPlatform:
    """The generated platform of the e2e tests (400 loans, 250 accounts, seed 11), its
    :data:`E2E_DAYS` run through ``regwatch run`` with an analysts' decisions file, each day
    without its PDF but the last. On top of the generator's planted truth it holds a loan
    priced above the 24 % level on day 2 and re-priced on day 4 (:data:`REPRICED_LOAN`,
    written into ``_truth/planted.csv`` like the generator's cases), a false-positive
    decision with an expiry and an escalation of a one-off large-cash alert.
    Read-only: :meth:`copy` it to change it."""

    root: Path
    landing: Path
    var: Path
    #: What the build planted and decided: ``false_positive`` (an alert key), ``once`` (alert
    #: key) and ``once_day`` of the escalated large-cash alert, ``output`` of the last run.
    facts: dict[str, str]

    @property
    def decisions(self) -> Path:
        return self.var / "decisions" / "dispositions.csv"

    def env(self, pdf: bool = True) -> dict[str, str]:
        """The environment of a ``regwatch`` command on this platform (the CLI's settings)."""
        return {
            "REGWATCH_HOME": str(REPO_ROOT),
            "REGWATCH_VAR": str(self.var),
            "REGWATCH_LANDING": str(self.landing),
            "REGWATCH_DISPOSITIONS": str(self.decisions),
            "REGWATCH_NO_PDF": "0" if pdf else "1",
        }

    def copy(self, target: Path) -> E2EPlatform:
        """A private copy (landing/ and var/, the decisions file with it) under ``target``."""
        from tests.helpers import private_copy

        private_copy(self.landing, target / "landing")
        private_copy(self.var, target / "var")
        return E2EPlatform(target, target / "landing", target / "var", self.facts)


def _plant_repriced_loan(landing: Path) -> None:
    import csv

    with (landing / str(E2E_DAYS[0]) / "accounts.csv").open(newline="") as handle:
        customer = next(csv.DictReader(handle))["customer_id"]

    def row(nominal_rate: str, updated_at: str) -> str:
        return (
            f"{REPRICED_LOAN},{customer},individual,CL-EI,,false,{REPRICED_ON},{REPRICED_ON},10000.00,CNY,12,"
            f"equal_installment,{nominal_rate},0.00,active,,{updated_at}\n"
        )

    with (landing / str(REPRICED_ON) / "loans.csv").open("a") as handle:
        handle.write(row("0.300000", f"{REPRICED_ON} 10:00:00"))
    with (landing / str(REPRICED_BACK) / "loans.csv").open("a") as handle:
        handle.write(row("0.180000", f"{REPRICED_BACK} 10:00:00"))


def _plant_event_and_cured_loan(landing: Path) -> None:
    first, second = E2E_DAYS[0], E2E_DAYS[1]

    def append(day: date, name: str, line: str) -> None:
        with (landing / str(day) / f"{name}.csv").open("a") as handle:
            handle.write(line)

    def loan(nominal_rate: str, updated_at: str) -> str:
        return (
            f"{CURED_LOAN},{EVENT_CUSTOMER},individual,CL-EI,,false,{first},{first},10000.00,CNY,12,"
            f"equal_installment,{nominal_rate},0.00,active,,{updated_at}\n"
        )

    append(
        first,
        "accounts",
        f"{EVENT_ACCOUNT},{EVENT_CUSTOMER},individual,Wang Fang,110101199003074477,13812345678,CN,,"
        f"2025-05-06 10:00:00,active,2025-05-06 10:00:00\n",
    )
    append(
        first,
        "transactions",
        f"TX9900000001,{EVENT_ACCOUNT},{first} 15:00:00,debit,3000.00,CNY,transfer,6222000099998888,"
        f"{EVENT_LISTED},AE,consulting\n",
    )
    append(first, "loans", loan("0.400000", f"{first} 09:30:00"))
    append(second, "loans", loan("0.100000", f"{second} 10:00:00"))


def _build_e2e_platform(root: Path) -> None:
    import csv
    import json

    from click.testing import CliRunner

    from regwatch.alerts import alert_key
    from regwatch.cli import main
    from regwatch.demo import generate

    landing, var = root / "landing", root / "var"
    generate(landing, E2E_DAYS[0], E2E_DAYS[-1], loans=400, accounts=250, seed=11)
    _plant_repriced_loan(landing)
    _plant_event_and_cured_loan(landing)
    with (landing / "_truth" / "planted.csv").open(newline="") as handle:
        planted = list(csv.DictReader(handle))
    first_day_caps = [
        r for r in planted if r["rule_id"] == E2E_RATE and r["business_date"] == str(E2E_DAYS[0])
    ]
    cash_once = [
        r
        for r in planted
        if r["rule_id"] == "cn.aml.large_cash"
        and E2E_DAYS[0] < date.fromisoformat(r["business_date"]) < E2E_DAYS[-1]
    ]
    assert first_day_caps and cash_once, "the generator plants a day-1 rate-cap case and a large-cash case"
    fp = alert_key(E2E_RATE, first_day_caps[0]["entity_key"])
    cash = cash_once[0]
    once = alert_key(cash["rule_id"], cash["entity_key"])
    decided = E2E_DAYS[E2E_DAYS.index(date.fromisoformat(cash["business_date"])) + 1]
    platform = E2EPlatform(root, landing, var, {})
    platform.decisions.parent.mkdir(parents=True)
    platform.decisions.write_text(
        "alert_key,decision,decided_on,until,analyst,note\n"
        f"{fp},false_positive,{E2E_DAYS[1]},{SUPPRESSED_UNTIL},li.na,fee waived in the contract amendment of 13800138000\n"
        f"{once},escalated,{decided},,wang.wei,second line to review\n"
        f"{alert_key(EVENT_RULE, EVENT_HIT)},reported,{EVENT_DECIDED},,zhang.min,STR filed with the PBOC\n"
        f"{fp},ignore,{E2E_DAYS[1]},,li.na,not a decision\n"
    )
    # Four days without their PDF (WeasyPrint is a third of a day), the last with it: its print
    # edition carries every open alert, the decisions and their notes, and the week's chart.
    runner = CliRunner()
    before_last = ["run", "--from", str(E2E_DAYS[0]), "--to", str(E2E_DAYS[-2])]
    result = runner.invoke(main, before_last, env=platform.env(pdf=False))
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["run", "--business-date", str(E2E_DAYS[-1])], env=platform.env())
    assert result.exit_code == 0, result.output
    # The loan re-priced on day 4 is a planted case too: recorded with the rules it made fire,
    # so that `rules evaluate` on this platform and a comparison with the truth count it as planted.
    # So are the watch-list event and the loan cured by its restatement (test_event_alerts).
    import duckdb

    def fired_on(con: duckdb.DuckDBPyConnection, key: str) -> list[tuple[str, date]]:
        return con.execute(
            "SELECT rule_id, min(business_date) FROM results.exceptions WHERE entity_key = ? GROUP BY 1 ORDER BY 1",
            [key],
        ).fetchall()

    with duckdb.connect(str(var / "warehouse.duckdb"), read_only=True) as con:
        fired = fired_on(con, REPRICED_LOAN)
        event = fired_on(con, EVENT_HIT)
        cured = fired_on(con, CURED_LOAN)
        # nothing else fires on the event's customer (its key or its loan's)
        others = con.execute(
            "SELECT DISTINCT rule_id, entity_key FROM results.exceptions WHERE entity_key LIKE ?"
            " AND entity_key NOT IN (?, ?)",
            [f"%{EVENT_CUSTOMER}%", EVENT_HIT, CURED_LOAN],
        ).fetchall()
    assert (E2E_RATE, REPRICED_ON) in fired, fired
    assert event == [(EVENT_RULE, E2E_DAYS[0])], event
    assert (E2E_RATE, E2E_DAYS[0]) in cured, cured
    assert not others, others
    planted_here = [
        *(
            (rule_id, REPRICED_LOAN, first, "priced above the cap, re-priced on day 4")
            for rule_id, first in fired
        ),
        *(
            (rule_id, EVENT_HIT, first, "paid a listed party once, reported on day 4")
            for rule_id, first in event
        ),
        *(
            (rule_id, CURED_LOAN, first, "priced at 40 %, restated at 10 % on day 2")
            for rule_id, first in cured
        ),
    ]
    with (landing / "_truth" / "planted.csv").open("a", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for n, (rule_id, key, first, detail) in enumerate(planted_here, start=1):
            writer.writerow([f"TP{n:05d}", rule_id, key, first, "test_plant", detail])
    facts = {"false_positive": fp, "once": once, "once_day": cash["business_date"], "output": result.output}
    (root / "facts.json").write_text(json.dumps(facts))


@pytest.fixture(scope="session")
def e2e_platform(tmp_path_factory: pytest.TempPathFactory) -> E2EPlatform:
    """Built once per ``make test`` (test_daily_report and test_run; shared by the xdist workers).
    The generated landing is exactly ``regwatch generate --start 2025-06-02 --end 2025-06-06
    --loans 400 --accounts 250 --seed 11`` (plus the re-priced loan): a week of seed 11 plants
    every rule of the pack and four laundering patterns, which test_run scores."""
    import json

    from tests.helpers import built_once

    root = built_once(tmp_path_factory, "e2e-platform-400-250-11-5days", _build_e2e_platform)
    facts = json.loads((root / "facts.json").read_text())
    return E2EPlatform(root, root / "landing", root / "var", facts)


@dataclass(frozen=True)
class E2ERerun:
    """``regwatch audit rerun --business-date`` :data:`SUPPRESSED_UNTIL` on a copy of the e2e
    platform after the analysts withdrew every decision (the decisions file rewritten to its
    header): the day holds a suppression and the watch-list event (:data:`EVENT_HIT`) open, aged
    3, whose decision came the next day. Read-only."""

    platform: E2EPlatform
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def e2e_rerun(e2e_platform: E2EPlatform, tmp_path_factory: pytest.TempPathFactory) -> E2ERerun:
    """Run once per ``make test``: test_daily_report (the decisions file as it was) and
    test_event_alerts (alert state carried day to day) assert on the same replay."""
    import json

    from click.testing import CliRunner

    from regwatch.cli import main
    from tests.helpers import built_once

    def build(root: Path) -> None:
        copy = e2e_platform.copy(root)
        header = copy.decisions.read_text().splitlines()[0]
        copy.decisions.write_text(header + "\n")  # every decision withdrawn
        command = ["audit", "rerun", "--business-date", str(SUPPRESSED_UNTIL)]
        result = CliRunner().invoke(main, command, env=copy.env(pdf=False))
        (root / "rerun.json").write_text(json.dumps({"exit_code": result.exit_code, "output": result.output}))

    root = built_once(tmp_path_factory, f"e2e-platform-400-250-11-5days-rerun-{SUPPRESSED_UNTIL}", build)
    done = json.loads((root / "rerun.json").read_text())
    platform = E2EPlatform(root, root / "landing", root / "var", e2e_platform.facts)
    return E2ERerun(platform, done["exit_code"], done["output"])


#: The operator's reason of :func:`degraded_day` (``regwatch run --accept-degraded``).
DEGRADED_REASON = "regulator deadline; corrected transactions.csv promised for Monday"


@dataclass(frozen=True)
class CliDay:
    """A business day (:data:`DAY`) run once per session through ``regwatch run``: the landing,
    the ``var/`` it made, and the command's exit code and output. Read-only: copy ``var`` to change it."""

    landing: Path
    var: Path
    exit_code: int
    stdout: str
    stderr: str

    def env(self, var: Path | None = None) -> dict[str, str]:
        """The environment of a ``regwatch`` command on this day (``var``: a private copy instead)."""
        return {
            "REGWATCH_HOME": str(REPO_ROOT),
            "REGWATCH_VAR": str(var or self.var),
            "REGWATCH_LANDING": str(self.landing),
        }


@pytest.fixture(scope="session")
def degraded_day(tmp_path_factory: pytest.TempPathFactory) -> CliDay:
    """:data:`GOOD_ROWS` for :data:`DAY` with ``transactions.csv`` rejected whole (``amount``
    renamed) and ``schedules.csv`` empty (its header only), run once per session by
    ``regwatch run --accept-degraded`` (no PDF). test_delivery_gate reads the DEGRADED run and
    test_derived_schedules the empty schedules' amber line: one day instead of two (the
    empty schedules file is tolerated and blocks nothing, so neither changes the other's verdict)."""
    import json

    from click.testing import CliRunner

    from regwatch.cli import main
    from tests.helpers import built_once, deliver, saved_parse

    header = GOOD_ROWS["schedules"].splitlines()[0]
    files = {
        **GOOD_ROWS,
        "transactions": GOOD_ROWS["transactions"].replace(",amount,", ",txn_amount,"),
        "schedules": f"{header}\n",
    }

    def build(root: Path) -> None:
        day = CliDay(deliver(root / "landing", DAY, files), root / "var", 0, "", "")
        args = ["run", "--business-date", str(DAY), "--accept-degraded", DEGRADED_REASON]
        settings = Settings(project_root=REPO_ROOT, var_dir=day.var, landing_dir=day.landing)
        with saved_parse(settings, "pack-cn"):
            result = CliRunner().invoke(main, args, env=day.env())
        output = {"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}
        (root / "result.json").write_text(json.dumps(output))

    root = built_once(tmp_path_factory, "degraded-day-no-transactions-no-schedules", build)
    output = json.loads((root / "result.json").read_text())
    return CliDay(root / "landing", root / "var", output["exit_code"], output["stdout"], output["stderr"])


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Airflow's metadata database, migrated once per ``make test`` (``airflow db migrate`` is an
    Airflow process of its own, seconds of CPU): test_dags' runs and test_filing's filing DAG run
    each copy it into an AIRFLOW_HOME of their own (``test_dags._airflow_home``)."""
    import subprocess

    from tests.helpers import built_once
    from tests.integration.test_dags import BIN, _airflow_env

    def build(home: Path) -> None:
        migrate = subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"],
            env=_airflow_env(home),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]

    return built_once(tmp_path_factory, "airflow-migrated", build) / "airflow.db"


@pytest.fixture(scope="session", autouse=True)
def _shared_dbt_parses(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The session's shared folder of dbt's saved parses (:func:`tests.helpers.saved_parse`)."""
    from tests import helpers

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers, as tests.helpers.built_once
    folder = base / "dbt-parses"
    folder.mkdir(parents=True, exist_ok=True)
    helpers.SHARED_PARSES[:] = [folder]
