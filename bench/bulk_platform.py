"""A platform-scale landing, generated inside DuckDB (vectorised, seconds per million rows).

The base is the demo platform of :func:`regwatch.demo.generate` for the business dates
(loans, schedules, repayments, fundings, fx rates, its accounts and transactions with
every planted violation and typology and their truth in ``_truth/``). Bulk rows are
added to it, every random draw being ``hash(row, seed, stream)`` of DuckDB:

* ``loans`` more loans on the first date (the back book: contract dates in the year
  before it), each with its contractual schedule (equal installment, equal principal
  or interest first; 3 to 36 months, ~12 installments a loan), one repayment per
  installment due before the date (on its due date, in full) and one or two
  institutional fundings that sum to the principal. Bulk loans are built to break no
  rule (real APR 8-11 %, institution-funded, CNY 100,000 at most per loan and 200,000
  per borrower, none related, none overdue), so the base's planted truth stays exact.
* ``accounts`` more accounts of their own customers on the first date (``CB``/``AB``
  ids, names, resident ID numbers and unified social credit codes with valid check
  characters, mobiles, devices, statuses).
* on every date, enough transactions (``TB`` ids) that the date's transactions file
  holds exactly ``transactions`` rows; with one date, they spread over the
  ``history_days`` calendar days up to it (a month of traffic in one load) and FX
  rates are added for those days. Bulk rows touch only bulk accounts. A share is
  malformed (wrong type, missing value, negative amount, unknown enum, unparseable
  date, unknown currency, invalid UTF-8, duplicate key), each listed in
  ``_truth/malformed.csv`` with its row number like the base's, so ingest must load
  every other row and quarantine exactly those.

Deterministic: the same arguments give the same bytes with the same DuckDB version.
"""

from __future__ import annotations

import csv
import json
import shutil
import zlib
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from regwatch.contract import CONTRACTS, REQUIRED_FILES
from regwatch.demo import FX_CURRENCIES, business_days, generate

#: Placeholder written by DuckDB (which writes only valid UTF-8), replaced by invalid bytes.
_BAD_UTF8_MARK = "\x01\x02"
_SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"]
_SURNAMES += ["Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Zheng", "Liang", "Xie", "Song"]
_GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie"]
_GIVEN += ["Tao", "Ming", "Chao", "Xiu Ying", "Hua", "Ping", "Gang", "Gui Ying", "Hui", "Xin", "Bo"]
_CITIES = ["Shenzhen", "Shanghai", "Beijing", "Hangzhou", "Guangzhou", "Chengdu", "Wuhan", "Nanjing"]
_TRADE = ["Huaxin", "Jinfeng", "Longda", "Tianrui", "Hengtong", "Dingsheng", "Baolin", "Ruifeng"]
_BUSINESS = ["Trading", "Technology", "Logistics", "Catering", "Textile", "Electronics", "Agriculture"]
_AREAS = ["110101", "310104", "440305", "330106", "510107", "420106", "320102", "440106", "500103"]
_FOREIGN = ["HK", "SG", "US", "GB", "JP", "DE", "AU", "MO"]
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class BulkPlatform:
    landing: Path
    business_date: date
    transactions: int
    accounts: int
    base_transactions: int
    base_accounts: int
    bulk_malformed: int
    history_days: int
    seed: int
    loans: int = 0
    base_loans: int = 0
    schedules: int = 0
    repayments: int = 0
    fundings: int = 0
    business_dates: tuple[str, ...] = ()


def _list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values: list[str], draw: str) -> str:
    return f"list_extract({_list(values)}, 1 + CAST({draw} % {len(values)} AS INTEGER))"


def _u(row: str, k: int, seed: int) -> str:
    """A uniform draw in (0, 1) for ``row`` and stream ``k``."""
    return f"((hash({row}, {seed}, {k}) % 1000000007) + 0.5) / 1000000007.0"


def _h(row: str, k: int, seed: int) -> str:
    return f"hash({row}, {seed}, {k})"


def _generator_digest() -> str:
    import hashlib

    import regwatch

    package = Path(regwatch.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*(package / "demo").glob("*.py"), Path(__file__)]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) - 1


def build(
    out: Path,
    business_date: date,
    transactions: int = 10_000_000,
    accounts: int = 1_000_000,
    history_days: int = 30,
    base_loans: int = 2000,
    base_accounts: int = 20_000,
    malformed_rate: float = 0.001,
    seed: int = 20251201,
    loans: int = 0,
    start: date | None = None,
    memory_limit: str = "2GB",
) -> BulkPlatform:
    """Write the platform under ``out`` (``out/<date>/*.csv`` and ``out/_truth/``), or reuse it.

    ``business_date`` is the last date; ``start`` (default: the same date) the first.
    ``transactions`` is the size of each date's transactions file.
    """
    start = start or business_date
    days = business_days(start, business_date)
    if not days:
        raise ValueError(f"no business day between {start} and {business_date}")
    manifest = out / "_bulk.json"
    wanted = {
        "business_date": business_date.isoformat(),
        "start": start.isoformat(),
        "transactions": transactions,
        "accounts": accounts,
        "loans": loans,
        "history_days": history_days,
        "base_loans": base_loans,
        "base_accounts": base_accounts,
        "malformed_rate": malformed_rate,
        "seed": seed,
        "duckdb": duckdb.__version__,
        # the base comes from the demo generators: a change there is a new platform
        "generators": _generator_digest(),
    }
    if manifest.is_file():
        recorded = json.loads(manifest.read_text())
        if recorded.get("wanted") == wanted:
            platform = recorded["platform"]
            platform["business_dates"] = tuple(platform["business_dates"])
            return BulkPlatform(**platform | {"landing": out, "business_date": business_date})
    generate(out, days[0], days[-1], loans=base_loans, accounts=base_accounts, seed=seed)
    first = out / days[0].isoformat()
    base_acc = _count_lines(first / "accounts.csv")
    base_loan_rows = _count_lines(first / "loans.csv")
    malformed_rows: list[tuple[str, str, int, str, str]] = []
    counts = {"schedules": 0, "repayments": 0, "fundings": 0}
    base_txn = 0
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    # bounded: the 10M-row transactions table spills instead of growing RSS (4.9 GiB unbounded),
    # into a folder of its own (not the working directory's .tmp), removed at the end
    spill = out / "_spill"
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    try:
        _bulk_accounts(con, first / "_bulk_accounts.csv", accounts, days[0], seed)
        _append(first / "accounts.csv", first / "_bulk_accounts.csv")
        if loans:
            counts = _bulk_loans(con, first, loans, days[0], seed, _partners(days[0]))
        for index, day in enumerate(days):
            folder = out / day.isoformat()
            day_base = _count_lines(folder / "transactions.csv")
            base_txn += day_base
            bulk_rows = transactions - day_base
            if bulk_rows < 0:
                raise ValueError(f"the base platform alone has {day_base} transactions on {day}")
            duplicates = round(bulk_rows * malformed_rate / 8)
            bad = _bulk_transactions(
                con,
                folder / "_bulk_transactions.csv",
                bulk_rows - duplicates,
                duplicates,
                accounts,
                day,
                history_days if len(days) == 1 else 1,
                malformed_rate,
                # each date its own draws and ids (TB<date index><row>)
                seed + index,
                id_prefix=f"TB{index:03d}" if len(days) > 1 else "TB",
                counterparty_seed=seed,  # an account's counterparties are the same every date
            )
            malformed_rows += [("transactions", day.isoformat(), day_base + n, c, col) for n, c, col in bad]
            _append(folder / "transactions.csv", folder / "_bulk_transactions.csv", bad_utf8=True)
        if len(days) == 1:
            _bulk_fx(con, first, business_date, history_days, seed)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    _add_malformed(out / "_truth" / "malformed.csv", malformed_rows)
    if loans:
        _drop_diluted_truth(out, days)
    platform = BulkPlatform(
        out,
        business_date,
        transactions,
        base_acc + accounts,
        base_txn,
        base_acc,
        len(malformed_rows),
        history_days,
        seed,
        loans=base_loan_rows + loans,
        base_loans=base_loan_rows,
        schedules=counts["schedules"],
        repayments=counts["repayments"],
        fundings=counts["fundings"],
        business_dates=tuple(d.isoformat() for d in days),
    )
    record = asdict(platform) | {"landing": str(out), "business_date": business_date.isoformat()}
    manifest.write_text(json.dumps({"wanted": wanted, "platform": record}, indent=2) + "\n")
    return platform


def _drop_diluted_truth(out: Path, days: list[date]) -> None:
    """Bulk loans dilute the platform's concentration: platform-level truth is read back again.

    The base's borrower-limit and related-party truth cannot change (bulk borrowers are
    new and within the limits), but a concentration breach of a small base book may no
    longer hold: such rows are replayed with :func:`disclosure_truth` over the final files
    and dropped if they no longer hold (bulk loans only lower every share).
    """
    path = out / "_truth" / "planted.csv"
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    key = header.index("entity_key")
    if not any(r[key] == "platform" for r in rows):
        return
    from regwatch.config import Settings
    from regwatch.demo.calibration import load as load_calibration
    from regwatch.demo.disclosures import disclosure_truth

    calibration = load_calibration(Settings.from_env().pack_dir)
    with (out / "_truth" / "malformed.csv").open(newline="") as handle:
        malformed = [tuple(r) for r in list(csv.reader(handle))[1:]]
    holding = {
        (r[1], r[2], r[3]) for r in disclosure_truth(out, days, malformed, calibration) if r[2] == "platform"
    }  # type: ignore[arg-type]
    kept = [r for r in rows if r[key] != "platform" or (r[1], r[2], r[3]) in holding]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(kept)


def _add_malformed(path: Path, rows: list[tuple[str, str, int, str, str]]) -> None:
    """The bulk's malformed rows into the base's list, in the base's order (date, file, row)."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        every = [(r[0], r[1], int(r[2]), r[3], r[4]) for r in reader]
    every += rows
    every.sort(key=lambda r: (r[1], REQUIRED_FILES.index(r[0]), r[2]))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(every)


def _partners(day: date) -> list[str]:
    """Partner ids valid over the whole back book (from the registry seed, not a copy of it)."""
    from regwatch.config import Settings

    first = (day - timedelta(days=_BACK_BOOK_DAYS + 2)).isoformat()
    seeds = Settings.from_env().reference_seeds_dir
    with (seeds / "partner_institutions.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["partner_id"] for r in rows if r["valid_from"] <= first and not r["valid_to"]]


def _append(target: Path, extra: Path, bad_utf8: bool = False) -> None:
    data = extra.read_bytes()
    if bad_utf8:
        data = data.replace(_BAD_UTF8_MARK.encode(), b"\xff\xfe")
    with target.open("ab") as handle:
        handle.write(data)
    extra.unlink()


def _copy(con: duckdb.DuckDBPyConnection, select: str, path: Path) -> None:
    con.execute(f"COPY ({select}) TO '{path}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '')")


def _bulk_accounts(con: duckdb.DuckDBPyConnection, path: Path, n: int, day: date, seed: int) -> None:
    i, c = "i", "i * 10 // 11"  # account, customer (one in ten customers has two accounts)
    individual_id = (
        f"{_pick(_AREAS, _h(c, 1, seed))} || strftime(DATE '1955-01-01' + "
        f"CAST({_h(c, 2, seed)} % 17897 AS INTEGER), '%Y%m%d') || lpad(CAST(1 + {_h(c, 3, seed)} % 999 AS VARCHAR), 3, '0')"
    )
    uscc = f"'91' || {_pick(_AREAS, _h(c, 1, seed))} || lpad(CAST({_h(c, 4, seed)} % 1000000000 AS VARCHAR), 9, '0')"
    is_entity = f"({_u(c, 5, seed)} < 0.15)"
    names = f"{_pick(_SURNAMES, _h(c, 6, seed))} || ' ' || {_pick(_GIVEN, _h(c, 7, seed))}"
    company = (
        f"{_pick(_CITIES, _h(c, 8, seed))} || ' ' || {_pick(_TRADE, _h(c, 9, seed))} || ' ' || "
        f"{_pick(_BUSINESS, _h(c, 10, seed))} || ' Co. Ltd.'"
    )
    opened = (
        f"TIMESTAMP '{day.isoformat()}' - INTERVAL (7 + {_h(i, 11, seed)} % 1090) DAY "
        f"+ INTERVAL (8 * 3600 + {_h(i, 12, seed)} % (14 * 3600)) SECOND"
    )
    status = (
        f"CASE WHEN {_u(i, 13, seed)} < 0.92 THEN 'active' WHEN {_u(i, 13, seed)} < 0.98 THEN 'dormant' "
        f"WHEN {_u(i, 13, seed)} < 0.99 THEN 'frozen' ELSE 'closed' END"
    )
    id_weights = _list([str(w) for w in _ID_WEIGHTS]).replace("'", "")
    uscc_weights = _list([str(w) for w in _USCC_WEIGHTS]).replace("'", "")
    select = f"""
        WITH base AS (
            SELECT i, {is_entity} AS is_entity,
                   CASE WHEN {is_entity} THEN {uscc} ELSE {individual_id} END AS stem,
                   {opened} AS opened
            FROM range({n}) AS t(i)
        ),
        identity AS (
            SELECT *,
                   CASE WHEN is_entity THEN
                       substr('{_USCC_CHARS}', CAST(1 + (31 - list_sum(list_transform(range(1, 18), lambda k:
                           (instr('{_USCC_CHARS}', substr(stem, k, 1)) - 1) * list_extract({uscc_weights}, k))) % 31) % 31 AS BIGINT), 1)
                   ELSE
                       substr('10X98765432', CAST(1 + list_sum(list_transform(range(1, 18), lambda k:
                           CAST(substr(stem, k, 1) AS INTEGER) * list_extract({id_weights}, k))) % 11 AS BIGINT), 1)
                   END AS check_char
            FROM base
        )
        SELECT
            'AB' || lpad(CAST(i AS VARCHAR), 9, '0') AS account_id,
            'CB' || lpad(CAST(i * 10 // 11 AS VARCHAR), 8, '0') AS customer_id,
            CASE WHEN is_entity THEN 'entity' ELSE 'individual' END AS customer_type,
            CASE WHEN is_entity THEN {company} ELSE {names} END AS full_name,
            stem || check_char AS id_number,
            '1' || CAST(3 + {_h(i, 14, seed)} % 7 AS VARCHAR) || lpad(CAST({_h(i, 15, seed)} % 1000000000 AS VARCHAR), 9, '0') AS phone,
            CASE WHEN {_u(c, 16, seed)} < 0.96 THEN 'CN' ELSE {_pick(_FOREIGN, _h(c, 17, seed))} END AS country,
            CASE WHEN {_u(i, 18, seed)} < 0.08 THEN '' ELSE 'DV' || lpad(lower(printf('%x', {_h(i, 19, seed)} % 281474976710656)), 12, '0') END AS device_id,
            strftime(opened, '%Y-%m-%d %H:%M:%S') AS opened_at,
            {status} AS status,
            strftime(opened + INTERVAL ({_h(i, 20, seed)} % 3600) SECOND, '%Y-%m-%d %H:%M:%S') AS updated_at
        FROM identity

    """
    _copy(con, select, path)


#: Contract dates of bulk loans: the year before the first date.
_BACK_BOOK_DAYS = 365
#: (repayment method, product code): products whose catalogue rate range holds 8-11 %.
_BULK_PRODUCTS = [("equal_principal", "CL-EP"), ("equal_installment", "CL-EI"), ("interest_first", "CL-IF")]


def _bulk_loans(
    con: duckdb.DuckDBPyConnection, folder: Path, n: int, day: date, seed: int, partners: list[str]
) -> dict[str, int]:
    """Append ``n`` clean loans with schedules, repayments and fundings to the date's files.

    The schedule is exact to the cent and sums to the principal: the balance after
    installment k is rounded to cents (equal principal: P - k * round(P / n); equal
    installment: the annuity balance; interest first: P), installment k repays the
    balance after k-1 less the balance after k, and its interest is the balance after
    k-1 times the monthly rate, rounded. Installments due before the date are paid on
    their due date in full; a loan whose last installment is paid is settled.
    """
    i = "i"
    term = (
        f"CASE WHEN {_u(i, 41, seed)} < 0.15 THEN 3 WHEN {_u(i, 41, seed)} < 0.40 THEN 6 "
        f"WHEN {_u(i, 41, seed)} < 0.75 THEN 12 WHEN {_u(i, 41, seed)} < 0.95 THEN 24 ELSE 36 END"
    )
    method = f"CAST({_h(i, 42, seed)} % {len(_BULK_PRODUCTS)} AS INTEGER) + 1"
    partner = (
        f"CASE WHEN {_u(i, 46, seed)} < 0.6 THEN '' ELSE {_pick(partners, _h(i, 47, seed))} END"
        if partners
        else "''"
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bulk_loans AS
        SELECT i, {term} AS term, {method} AS m,
               CAST(100 * (10 + {_h(i, 43, seed)} % 991) AS DECIMAL(18, 2)) AS principal,
               -- 8.00 % to 11.00 %, in basis points
               CAST(800 + {_h(i, 44, seed)} % 301 AS INTEGER) AS rate_bp,
               DATE '{day.isoformat()}' - CAST(1 + {_h(i, 45, seed)} % {_BACK_BOOK_DAYS} AS INTEGER) AS contract_date,
               {partner} AS partner_id,
               CAST({_h(i, 48, seed)} % 2 AS INTEGER) AS lag,
               {_u(i, 49, seed)} < 0.3 AS two_funders
        FROM range({n}) AS t(i)
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE bulk_schedule AS
        WITH k AS (
            SELECT l.*, contract_date + lag AS disbursement_date, rate_bp / 120000.0 AS r,
                   unnest(range(0, term + 1)) AS k
            FROM bulk_loans AS l
        ),
        balance AS (
            SELECT i, term, k, disbursement_date, r, principal,
                   CASE WHEN k = 0 THEN principal WHEN k = term THEN CAST(0 AS DECIMAL(18, 2))
                        WHEN m = 1 THEN principal - k * CAST(round(principal / term, 2) AS DECIMAL(18, 2))
                        WHEN m = 2 THEN CAST(round(
                            CAST(principal AS DOUBLE) * pow(1 + r, k)
                            - (CAST(principal AS DOUBLE) * r / (1 - pow(1 + r, -term))) * (pow(1 + r, k) - 1) / r,
                            2) AS DECIMAL(18, 2))
                        ELSE principal END AS after
            FROM k
        ),
        steps AS (
            SELECT i, k AS installment_no,
                   CAST(disbursement_date + INTERVAL (k) MONTH AS DATE) AS due_date,
                   lag(after) OVER (PARTITION BY i ORDER BY k) - after AS principal_due,
                   CAST(round(CAST(lag(after) OVER (PARTITION BY i ORDER BY k) AS DOUBLE) * r, 2)
                        AS DECIMAL(18, 2)) AS interest_due
            FROM balance
        )
        SELECT * FROM steps WHERE installment_no >= 1
    """)
    loan_id = "'LB' || lpad(CAST(i AS VARCHAR), 9, '0')"
    _copy(
        con,
        f"""SELECT {loan_id}, installment_no, due_date, principal_due, interest_due, '0.00'
            FROM bulk_schedule ORDER BY i, installment_no""",
        folder / "_bulk_schedules.csv",
    )
    paid = f"due_date < DATE '{day.isoformat()}'"
    _copy(
        con,
        f"""SELECT 'PB' || lpad(CAST(i * 40 + installment_no AS VARCHAR), 11, '0'), {loan_id},
                   strftime(due_date + INTERVAL (8 * 3600 + {_h("i * 40 + installment_no", 50, seed)} % (12 * 3600)) SECOND,
                            '%Y-%m-%d %H:%M:%S'),
                   installment_no, principal_due, interest_due, '0.00', '0.00', 'borrower'
            FROM bulk_schedule WHERE {paid} ORDER BY due_date, i, installment_no""",
        folder / "_bulk_repayments.csv",
    )
    methods = _list([m for m, _ in _BULK_PRODUCTS])
    products = _list([c for _, c in _BULK_PRODUCTS])
    _copy(
        con,
        f"""WITH last AS (SELECT i, max(due_date) AS final_due FROM bulk_schedule GROUP BY i)
            SELECT {loan_id}, 'BB' || lpad(CAST(i * 10 // 11 AS VARCHAR), 9, '0'), 'individual',
                   list_extract({products}, m), partner_id, 'false', contract_date, contract_date + lag,
                   principal, 'CNY', term, list_extract({methods}, m), printf('%.6f', rate_bp / 10000.0), '0.00',
                   CASE WHEN final_due < DATE '{day.isoformat()}' THEN 'settled' ELSE 'active' END, '',
                   strftime(CASE WHEN final_due < DATE '{day.isoformat()}' THEN final_due + INTERVAL 21 HOUR
                                 ELSE contract_date + lag + INTERVAL (9 * 3600 + {_h(i, 51, seed)} % 3600) SECOND END,
                            '%Y-%m-%d %H:%M:%S')
            FROM bulk_loans JOIN last USING (i) ORDER BY i""",
        folder / "_bulk_loans.csv",
    )
    # Fundings before the money goes out; a second funder takes 30-70 % of some loans.
    share = f"CAST(round(principal * (0.3 + 0.4 * {_u(i, 52, seed)}), 2) AS DECIMAL(18, 2))"
    funded_at = f"strftime(contract_date + lag + INTERVAL (7 * 3600 + {_h(i, 53, seed)} % 3600) SECOND, '%Y-%m-%d %H:%M:%S')"
    institution = f"'INST' || lpad(CAST(1 + {_h(i, 54, seed)} % 12 AS VARCHAR), 3, '0')"
    extra = _extra_columns(folder / "fundings.csv", "fundings")
    _copy(
        con,
        f"""SELECT funding_id, loan_id, funder_id, 'institution', amount, funded_at{extra} FROM (
                SELECT i, 0 AS part, 'FB' || lpad(CAST(2 * i AS VARCHAR), 9, '0') AS funding_id, {loan_id} AS loan_id,
                       {institution} AS funder_id,
                       CASE WHEN two_funders THEN {share} ELSE principal END AS amount, {funded_at} AS funded_at
                FROM bulk_loans
                UNION ALL
                SELECT i, 1, 'FB' || lpad(CAST(2 * i + 1 AS VARCHAR), 9, '0'), {loan_id},
                       'INST' || lpad(CAST(13 + {_h(i, 55, seed)} % 12 AS VARCHAR), 3, '0'),
                       principal - {share}, {funded_at}
                FROM bulk_loans WHERE two_funders
            ) ORDER BY i, part""",
        folder / "_bulk_fundings.csv",
    )
    for name in ("loans", "schedules", "repayments", "fundings"):
        _append(folder / f"{name}.csv", folder / f"_bulk_{name}.csv")
    counts = {
        "schedules": _scalar(con, "SELECT count(*) FROM bulk_schedule"),
        "repayments": _scalar(con, f"SELECT count(*) FROM bulk_schedule WHERE {paid}"),
        "fundings": _scalar(con, "SELECT count(*) + count(*) FILTER (two_funders) FROM bulk_loans"),
    }
    con.execute("DROP TABLE bulk_schedule")
    con.execute("DROP TABLE bulk_loans")
    return counts


def _extra_columns(path: Path, name: str) -> str:
    """Columns the base file carries beyond the contract (a legacy flag): filled with 'N'."""
    with path.open("rb") as handle:
        header = handle.readline().decode().strip().split(",")
    extra = len(header) - len(CONTRACTS[name].column_names)
    return "".join(", 'N'" for _ in range(extra))


_CHANNELS = ["transfer", "card", "internal", "cash", "cross_border"]
_CUM_P = [0.45, 0.70, 0.85, 0.95, 1.0]
_MEDIAN = [3000.0, 300.0, 2000.0, 1500.0, 8000.0]
_CEILING = [300_000.0, 50_000.0, 200_000.0, 20_000.0, 150_000.0]
_PURPOSES = {
    "transfer": ["family support", "rent", "loan repayment", "goods payment", "salary"],
    "card": ["purchase", "online purchase", "utilities"],
    "internal": ["wallet top-up", "loan disbursement", "investment"],
    "cross_border": ["tuition", "import payment", "remittance"],
}


#: Recurring counterparties of one bulk customer (all its accounts): below the pack's
#: fan-in/fan-out line of five distinct counterparties, so ordinary bulk traffic never forms a
#: fan however long the history.
COUNTERPARTIES_PER_ACCOUNT = 3


def _bulk_transactions(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    unique: int,
    duplicates: int,
    n_accounts: int,
    day: date,
    history_days: int,
    malformed_rate: float,
    seed: int,
    id_prefix: str = "TB",
    counterparty_seed: int | None = None,
) -> list[tuple[int, str, str]]:
    """Write the bulk transactions; returns the malformed rows: (row number in the bulk, class, column).

    Each bulk customer pays and is paid by :data:`COUNTERPARTIES_PER_ACCOUNT` recurring
    counterparties (its employer, landlord, shops), drawn from the customer and
    ``counterparty_seed`` (the same on every date), not a new random counterparty per
    transaction: that made every busy bulk account a fan-in and a fan-out (five distinct
    counterparties in seven days) once a few dates of traffic filled the windows, 11,000 ->
    41,000 -> 74,000 exceptions over the first three dates of a 1M-transactions-a-day
    history, which the history benchmark then measured instead of the pipeline.
    """
    j = "j"
    cp_seed = seed if counterparty_seed is None else counterparty_seed
    # the customer's (one in ten customers has two accounts: _bulk_accounts), so a customer's
    # accounts together still stay under the fan line
    counterparty = f"account * 10 // 11, CAST({_h(j, 16, seed)} % {COUNTERPARTIES_PER_ACCOUNT} AS INTEGER)"
    channel_index = (
        "CASE "
        + " ".join(f"WHEN {_u(j, 1, seed)} < {p} THEN {k}" for k, p in enumerate(_CUM_P[:-1], start=1))
        + f" ELSE {len(_CHANNELS)} END"
    )
    normal = f"sqrt(-2 * ln({_u(j, 2, seed)})) * cos(2 * pi() * {_u(j, 3, seed)})"
    amount_cny = f"least(list_extract({_MEDIAN}, ch) * exp(0.95 * {normal}), list_extract({_CEILING}, ch))"
    purposes = "CASE channel " + " ".join(
        f"WHEN '{c}' THEN {_pick(p, _h(j, 9, seed))}" for c, p in _PURPOSES.items()
    )
    purposes += " ELSE CASE direction WHEN 'credit' THEN 'cash deposit' ELSE 'cash withdrawal' END END"
    # Approximate FX for the bulk only shapes amounts; the pipeline converts at the file's rates.
    rate = "CASE currency WHEN 'USD' THEN 7.2 WHEN 'EUR' THEN 7.8 WHEN 'HKD' THEN 0.92 WHEN 'GBP' THEN 9.1 WHEN 'JPY' THEN 0.048 ELSE 1 END"
    bad = f"({_u(j, 20, seed)} < {malformed_rate * 7 / 8})"
    bad_class = f"CAST({_h(j, 21, seed)} % 7 AS INTEGER)"
    select = f"""
        WITH draws AS (
            SELECT j, {channel_index} AS ch,
                   -- active accounts trade more: a skewed pick over the bulk accounts
                   CAST(floor({n_accounts} * pow({_u(j, 4, seed)}, 1.6)) AS BIGINT) AS account,
                   TIMESTAMP '{day.isoformat()}' - INTERVAL ({_h(j, 5, seed)} % {history_days}) DAY
                       + INTERVAL (6 * 3600 + {_h(j, 6, seed)} % (17 * 3600)) SECOND AS txn_at,
                   CASE WHEN {_u(j, 7, seed)} < 0.5 THEN 'credit' ELSE 'debit' END AS direction
            FROM range({unique}) AS t(j)
        ),
        shaped AS (
            SELECT *, list_extract({_list(_CHANNELS)}, ch) AS channel,
                   CASE WHEN ch = 5 THEN {_pick(["USD", "EUR", "HKD", "GBP", "JPY"], _h(j, 8, seed))}
                        WHEN ch <> 4 AND {_u(j, 10, seed)} < 0.05 THEN {_pick(["USD", "EUR", "HKD"], _h(j, 11, seed))}
                        ELSE 'CNY' END AS currency,
                   {amount_cny} AS amount_cny
            FROM draws
        ),
        rows AS (
            SELECT j,
                   '{id_prefix}' || lpad(CAST(j AS VARCHAR), 10, '0') AS txn_id,
                   'AB' || lpad(CAST(account AS VARCHAR), 9, '0') AS account_id,
                   strftime(txn_at, '%Y-%m-%d %H:%M:%S') AS txn_at,
                   direction,
                   printf('%.2f', greatest(1.0, amount_cny / ({rate}))) AS amount,
                   currency, channel,
                   CASE WHEN channel = 'cash' THEN '' ELSE '62' || lpad(CAST({_h(counterparty, 12, cp_seed)} % 100000000000000 AS VARCHAR), 14, '0') END AS counterparty_account,
                   CASE WHEN channel = 'cash' THEN '' ELSE {_pick(_SURNAMES, _h(counterparty, 13, cp_seed))} || ' ' || {_pick(_GIVEN, _h(counterparty, 14, cp_seed))} END AS counterparty_name,
                   CASE WHEN channel = 'cash' THEN '' WHEN channel = 'cross_border' THEN {_pick(_FOREIGN, _h(counterparty, 15, cp_seed))} ELSE 'CN' END AS counterparty_country,
                   {purposes} AS purpose,
                   {bad} AS is_bad, {bad_class} AS bad_class
            FROM shaped
        ),
        damaged AS (
            SELECT j, txn_id,
                   CASE WHEN is_bad AND bad_class = 0 THEN '' ELSE account_id END AS account_id,
                   CASE WHEN is_bad AND bad_class = 1 THEN '2025-02-30' || substr(txn_at, 11) ELSE txn_at END AS txn_at,
                   direction,
                   CASE WHEN is_bad AND bad_class = 2 THEN '-' || amount
                        WHEN is_bad AND bad_class = 3 THEN replace(amount, '.', 'o')
                        ELSE amount END AS amount,
                   CASE WHEN is_bad AND bad_class = 4 THEN 'XXY' ELSE currency END AS currency,
                   CASE WHEN is_bad AND bad_class = 5 THEN 'atm' ELSE channel END AS channel,
                   counterparty_account, counterparty_name, counterparty_country,
                   CASE WHEN is_bad AND bad_class = 6 THEN substr(purpose, 1, 2) || '{_BAD_UTF8_MARK}' || substr(purpose, 3) ELSE purpose END AS purpose,
                   CASE WHEN is_bad THEN bad_class END AS bad_class
            FROM rows
        )
        SELECT * FROM damaged
    """
    # Materialised once, then written in file order: the rows, then later copies of good rows.
    con.execute(f"CREATE OR REPLACE TEMP TABLE bulk AS {select}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE good AS "
        "SELECT row_number() OVER (ORDER BY j) - 1 AS g, j FROM bulk WHERE bad_class IS NULL"
    )
    good = _scalar(con, "SELECT count(*) FROM good")
    copies_path = path.with_name(path.name + ".copies")
    _copy(con, "SELECT * EXCLUDE (j, bad_class) FROM bulk ORDER BY j", path)
    if duplicates:
        _copy(
            con,
            f"""SELECT b.* EXCLUDE (j, bad_class) FROM range({duplicates}) AS t(k)
                JOIN good ON good.g = CAST(floor({good} * {_u("k", 30, seed)}) AS BIGINT)
                JOIN bulk AS b ON b.j = good.j ORDER BY k""",
            copies_path,
        )
        with path.open("ab") as handle:
            handle.write(copies_path.read_bytes())
        copies_path.unlink()
    classes = {k: (name, column) for k, (name, column) in enumerate(_BAD_CLASSES)}
    marked = con.execute("SELECT j, bad_class FROM bulk WHERE bad_class IS NOT NULL ORDER BY j").fetchall()
    con.execute("DROP TABLE bulk")
    con.execute("DROP TABLE good")
    rows = [(int(j) + 1, *classes[int(k)]) for j, k in marked]
    return rows + [(unique + k + 1, "duplicate_key", "txn_id") for k in range(duplicates)]


#: The classes of malformed bulk transactions, by ``bad_class`` (damaged CTE): class and column.
_BAD_CLASSES = (
    ("missing_required", "account_id"),
    ("unparseable_date", "txn_at"),
    ("negative_amount", "amount"),
    ("wrong_type", "amount"),
    ("unknown_currency", "currency"),
    ("unknown_enum", "channel"),
    ("invalid_utf8", "purpose"),
)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _bulk_fx(con: duckdb.DuckDBPyConnection, folder: Path, day: date, history_days: int, seed: int) -> None:
    """Rates for the calendar days before the date that the base file lacks (it has the date and its own history)."""
    path = folder / "fx_rates.csv"
    text = path.read_text()
    today = {"CNY": 1.0, "USD": 7.20, "EUR": 7.80, "HKD": 0.92, "GBP": 9.10, "JPY": 0.048}
    present: set[tuple[str, str]] = set()
    for line in text.splitlines()[1:]:
        fields = line.split(",")
        present.add((fields[0], fields[1] if len(fields) > 1 else ""))
        if fields[0] != day.isoformat():
            continue
        try:
            today[fields[1]] = float(fields[2])
        except (IndexError, ValueError, KeyError):
            continue  # a malformed base row: keep the default
    lines = []
    for back in range(1, history_days):
        d = day - timedelta(days=back)
        for currency in FX_CURRENCIES:
            if (d.isoformat(), currency) in present:
                continue  # the base's own history of rates has the day
            base = today.get(currency, 1.0)
            draw = zlib.crc32(f"{seed}|{back}|{currency}".encode()) % 2001
            wobble = 1 + (draw - 1000) / 100_000 if currency != "CNY" else 1
            lines.append(f"{d.isoformat()},{currency},{base * wobble:.8f}")
    path.write_text(text + "".join(line + "\n" for line in lines))
