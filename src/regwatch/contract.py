"""The input contract: which files a business date brings and what each column must hold.

One declaration serves ingest (typed load + quarantine), the demo generator and
the dbt sources' documentation, so the three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal[
    "string", "integer", "decimal", "rate", "date", "timestamp", "boolean", "enum", "currency"
]

#: DuckDB type each logical type is loaded as. Money is DECIMAL, never float.
SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "INTEGER",
    "decimal": "DECIMAL(18,2)",
    "rate": "DECIMAL(12,8)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "enum": "VARCHAR",
    "currency": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = True
    nonnegative: bool = False
    values: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class FileContract:
    """One input file: its columns, its key within a file, whether a date may lack it."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = True
    grain: str = ""
    #: A screening list fails closed: a row whose only fault is an optional value keeps
    #: its entry (the value is nulled and recorded in quarantine.nulled_values), so a
    #: listed party is never silently left out of screening.
    screening_list: bool = False
    #: Values the source itself uses for "no value" (read as NULL, like an empty field).
    null_markers: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


def _c(name: str, type_: ColumnType = "string", **kw: object) -> Column:
    return Column(name, type_, **kw)  # type: ignore[arg-type]


def _money(name: str, required: bool = True) -> Column:
    return Column(name, "decimal", required=required, nonnegative=True)


REPAYMENT_METHODS = ("equal_installment", "equal_principal", "interest_first", "bullet", "flat_add_on")
CHANNELS = ("cash", "transfer", "card", "cross_border", "internal")

CONTRACTS: dict[str, FileContract] = {
    c.name: c
    for c in (
        FileContract(
            "loans",
            (
                _c("loan_id"),
                _c("borrower_id"),
                _c("borrower_type", "enum", values=("individual", "enterprise")),
                _c("product_code"),
                _c("partner_id", required=False),
                _c("is_related_party", "boolean"),
                _c("contract_date", "date"),
                _c("disbursement_date", "date"),
                _money("principal"),
                _c("currency", "currency"),
                _c("term_months", "integer", nonnegative=True),
                _c("repayment_method", "enum", values=REPAYMENT_METHODS),
                _c("nominal_rate", "rate", nonnegative=True),
                _money("upfront_fee"),
                _c("status", "enum", values=("active", "settled", "written_off")),
                _c("written_off_date", "date", required=False),
                _c("updated_at", "timestamp"),
            ),
            key=("loan_id", "updated_at"),
            grain="one row per loan version; the latest updated_at wins",
        ),
        FileContract(
            "schedules",
            (
                _c("loan_id"),
                _c("installment_no", "integer", nonnegative=True),
                _c("due_date", "date"),
                _money("principal_due"),
                _money("interest_due"),
                _money("fee_due"),
            ),
            key=("loan_id", "installment_no"),
            grain="one row per contractual installment",
        ),
        FileContract(
            "repayments",
            (
                _c("payment_id"),
                _c("loan_id"),
                _c("paid_at", "timestamp"),
                _c("installment_no", "integer", required=False, nonnegative=True),
                _money("principal_paid"),
                _money("interest_paid"),
                _money("fee_paid"),
                _money("penalty_paid"),
                _c("payer_type", "enum", values=("borrower", "guarantor", "platform")),
            ),
            key=("payment_id",),
            grain="one row per payment event",
        ),
        FileContract(
            "fundings",
            (
                _c("funding_id"),
                _c("loan_id"),
                _c("funder_id"),
                _c("funder_type", "enum", values=("individual_lender", "institution")),
                _money("amount"),
                _c("funded_at", "timestamp"),
            ),
            key=("funding_id",),
            grain="one row per funding of a loan",
        ),
        FileContract(
            "accounts",
            (
                _c("account_id"),
                _c("customer_id"),
                _c("customer_type", "enum", values=("individual", "entity")),
                _c("full_name"),
                _c("id_number"),
                _c("phone"),
                _c("country"),
                _c("device_id", required=False),
                _c("opened_at", "timestamp"),
                _c("status", "enum", values=("active", "dormant", "frozen", "closed")),
                _c("updated_at", "timestamp"),
            ),
            key=("account_id", "updated_at"),
            grain="one row per account version; the latest updated_at wins",
        ),
        FileContract(
            "transactions",
            (
                _c("txn_id"),
                _c("account_id"),
                _c("txn_at", "timestamp"),
                _c("direction", "enum", values=("credit", "debit")),
                _money("amount"),
                _c("currency", "currency"),
                _c("channel", "enum", values=CHANNELS),
                _c("counterparty_account", required=False),
                _c("counterparty_name", required=False),
                _c("counterparty_country", required=False),
                _c("purpose", required=False),
            ),
            key=("txn_id",),
            grain="one row per fund movement",
        ),
        FileContract(
            "fx_rates",
            (
                _c("rate_date", "date"),
                _c("currency", "currency"),
                Column("cny_per_unit", "rate", nonnegative=True),
            ),
            key=("rate_date", "currency"),
            grain="one row per currency and day",
        ),
        FileContract(
            "watchlist",
            (
                _c("list_id"),
                _c("name"),
                _c("aliases", required=False),
                _c("date_of_birth", "date", required=False),
                _c("country", required=False),
                _c("list_name"),
            ),
            key=("list_id",),
            required=False,
            grain="one row per listed party; each delivery is a version of the list",
            screening_list=True,
            # OFAC's SDN files write -0- in an empty field.
            null_markers=("-0-", "N/A", "n/a", "NULL"),
        ),
    )
}

REQUIRED_FILES: tuple[str, ...] = tuple(n for n, c in CONTRACTS.items() if c.required)

#: ISO 4217 active currency codes (the standard, not policy).
CURRENCIES: frozenset[str] = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)
