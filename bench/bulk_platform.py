"""A landing day with millions of transactions, generated inside DuckDB (vectorised, seconds).

The base is the demo platform of :func:`regwatch.demo.generate` for the one business
date (loans, schedules, repayments, fundings, fx rates, its accounts and transactions
with every planted AML case and its truth). Bulk traffic is added to that same day:
``accounts`` more accounts of their own customers (``CB``/``AB`` ids, names, resident
ID numbers and unified social credit codes with valid check characters, mobiles,
devices, statuses) and enough transactions (``TB`` ids) over the ``history_days``
calendar days up to the date that the day's transactions file holds exactly
``transactions`` rows: a month of a platform's traffic delivered in one load. FX
rates are added for the earlier days. Bulk rows touch only bulk accounts, so the
planted truth of the base stays exact; a share of them is malformed (every bad-input
class: wrong type, missing value, negative amount, unknown enum, unparseable date,
unknown currency, invalid UTF-8, duplicate key) as a real extract would be.

Deterministic: every random draw is ``hash(row, k)`` of DuckDB, so the same
arguments give the same bytes with the same DuckDB version.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from regwatch.contract import CONTRACTS
from regwatch.demo import FX_CURRENCIES, generate

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
    for path in sorted([*package.glob("demo*.py"), Path(__file__)]):
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
) -> BulkPlatform:
    """Write the platform under ``out`` (``out/<date>/*.csv`` and ``out/_truth/``), or reuse it."""
    manifest = out / "_bulk.json"
    wanted = {
        "business_date": business_date.isoformat(),
        "transactions": transactions,
        "accounts": accounts,
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
            return BulkPlatform(**recorded["platform"] | {"landing": out, "business_date": business_date})
    generate(out, business_date, business_date, loans=base_loans, accounts=base_accounts, seed=seed)
    folder = out / business_date.isoformat()
    base_txn = _count_lines(folder / "transactions.csv")
    base_acc = _count_lines(folder / "accounts.csv")
    bulk_rows = transactions - base_txn
    if bulk_rows < 0:
        raise ValueError(f"the base platform alone has {base_txn} transactions")
    duplicates = round(bulk_rows * malformed_rate / 8)
    unique = bulk_rows - duplicates
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    try:
        _bulk_accounts(con, folder / "_bulk_accounts.csv", accounts, business_date, seed)
        malformed = _bulk_transactions(
            con,
            folder / "_bulk_transactions.csv",
            unique,
            duplicates,
            accounts,
            business_date,
            history_days,
            malformed_rate,
            seed,
        )
        _bulk_fx(con, folder, business_date, history_days, seed)
    finally:
        con.close()
    _append(folder / "accounts.csv", folder / "_bulk_accounts.csv")
    _append(folder / "transactions.csv", folder / "_bulk_transactions.csv", bad_utf8=True)
    platform = BulkPlatform(
        out,
        business_date,
        transactions,
        base_acc + accounts,
        base_txn,
        base_acc,
        malformed,
        history_days,
        seed,
    )
    record = asdict(platform) | {"landing": str(out), "business_date": business_date.isoformat()}
    manifest.write_text(json.dumps({"wanted": wanted, "platform": record}, indent=2) + "\n")
    return platform


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
) -> int:
    """Write the bulk transactions; returns how many rows are malformed (duplicates included)."""
    j = "j"
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
                   'TB' || lpad(CAST(j AS VARCHAR), 10, '0') AS txn_id,
                   'AB' || lpad(CAST(account AS VARCHAR), 9, '0') AS account_id,
                   strftime(txn_at, '%Y-%m-%d %H:%M:%S') AS txn_at,
                   direction,
                   printf('%.2f', greatest(1.0, amount_cny / ({rate}))) AS amount,
                   currency, channel,
                   CASE WHEN channel = 'cash' THEN '' ELSE '62' || lpad(CAST({_h(j, 12, seed)} % 100000000000000 AS VARCHAR), 14, '0') END AS counterparty_account,
                   CASE WHEN channel = 'cash' THEN '' ELSE {_pick(_SURNAMES, _h(j, 13, seed))} || ' ' || {_pick(_GIVEN, _h(j, 14, seed))} END AS counterparty_name,
                   CASE WHEN channel = 'cash' THEN '' WHEN channel = 'cross_border' THEN {_pick(_FOREIGN, _h(j, 15, seed))} ELSE 'CN' END AS counterparty_country,
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
                   CASE WHEN is_bad AND bad_class = 6 THEN substr(purpose, 1, 2) || '{_BAD_UTF8_MARK}' || substr(purpose, 3) ELSE purpose END AS purpose
            FROM rows
        )
        SELECT * FROM damaged
    """
    # Materialised once, then written in file order: the rows, then the later copies.
    con.execute(f"CREATE TEMP TABLE bulk AS {select}")
    copies_path = path.with_name(path.name + ".copies")
    _copy(con, "SELECT * EXCLUDE (j) FROM bulk", path)
    _copy(
        con,
        f"""SELECT b.* EXCLUDE (j) FROM range({duplicates}) AS t(k)
            JOIN bulk AS b ON b.j = CAST(floor({unique} * {_u("k", 30, seed)}) AS BIGINT) ORDER BY k""",
        copies_path,
    )
    with path.open("ab") as handle:
        handle.write(copies_path.read_bytes())
    copies_path.unlink()
    con.execute("DROP TABLE bulk")
    columns = CONTRACTS["transactions"].column_names
    assert len(columns) == 11
    row = con.execute(f"SELECT count(*) FROM (SELECT j FROM range({unique}) AS t(j) WHERE {bad})").fetchone()
    return (int(row[0]) if row else 0) + duplicates


def _bulk_fx(con: duckdb.DuckDBPyConnection, folder: Path, day: date, history_days: int, seed: int) -> None:
    """Rates for the calendar days before the date (the base file has the date itself)."""
    path = folder / "fx_rates.csv"
    text = path.read_text()
    today = {"CNY": 1.0, "USD": 7.20, "EUR": 7.80, "HKD": 0.92, "GBP": 9.10, "JPY": 0.048}
    for line in text.splitlines()[1:]:
        fields = line.split(",")
        try:
            today[fields[1]] = float(fields[2])
        except (IndexError, ValueError, KeyError):
            continue  # a malformed base row: keep the default
    lines = []
    for back in range(1, history_days):
        d = day - timedelta(days=back)
        for currency in FX_CURRENCIES:
            base = today.get(currency, 1.0)
            draw = zlib.crc32(f"{seed}|{back}|{currency}".encode()) % 2001
            wobble = 1 + (draw - 1000) / 100_000 if currency != "CNY" else 1
            lines.append(f"{d.isoformat()},{currency},{base * wobble:.8f}")
    path.write_text(text + "".join(line + "\n" for line in lines))
