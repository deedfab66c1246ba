"""Flow rules over the transfer graph (issue 14, "Detection depth") on hand-made transfers.

Each shape of IBM AMLworld's laundering patterns (Altman et al., NeurIPS 2023) is planted
between customers of the platform next to benign look-alikes, and the warehouse is built
as of D = 2025-06-13 with the cn pack's parameters: graph lookback 06-04..06-13, windows
of 7 days, edges of CNY 5,000 or more that are not salary, intermediaries that forward
80 %-125 % of their inflow, cycles up to 12 hops returning within 5 days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from regwatch.config import Settings
from regwatch.rules import RulePack
from regwatch.validate import run_rules
from tests.helpers import Row, built_marts, fired, query, raw_account, reading

pytestmark = pytest.mark.integration

D = date(2025, 6, 13)
#: The marts this file reads: only their lineage is built and only the rules reading them run.
MARTS = (
    "fct_customer_transfer_cycles",
    "fct_customer_scatter_gathers",
    "fct_customer_gather_scatters",
    "fct_customer_bipartite_flows",
    "fct_customer_layering_chains",
)


class _Book:
    """Transfers between platform customers: customer ``X`` holds account ``AX``."""

    def __init__(self) -> None:
        self.customers: list[str] = []
        self.rows: list[Row] = []

    def pay(
        self, txn_id: str, payer: str, payee: str, at: str | datetime, amount: str, purpose: str = ""
    ) -> None:
        for name in (payer, payee):
            if name not in self.customers:
                self.customers.append(name)
        stamp = at if isinstance(at, str) else at.strftime("%Y-%m-%d %H:%M:%S")
        self.rows.append(
            (txn_id, f"A{payer}", stamp, "debit", Decimal(amount), "CNY", "transfer", f"A{payee}",
             f"Name of {payee}", "CN", purpose or "goods payment")
        )  # fmt: skip


def _book() -> _Book:
    b = _Book()
    start = datetime(2025, 6, 8, 10)
    # cycle of 12 hops, one every 8 hours (06-08 10:00 to 06-12 02:00): found and fires
    ring12 = [f"K{i:02d}" for i in range(1, 13)]
    for i, who in enumerate(ring12):
        b.pay(
            f"K{i + 1:02d}t",
            who,
            ring12[(i + 1) % 12],
            start + timedelta(hours=8 * i),
            f"{20000 - 100 * i}.00",
        )
    # 13 hops: beyond cycle_max_hops, no cycle; a closed loop is not layering either
    ring13 = [f"L{i:02d}" for i in range(1, 14)]
    for i, who in enumerate(ring13):
        b.pay(
            f"L{i + 1:02d}t",
            who,
            ring13[(i + 1) % 13],
            start + timedelta(hours=6 * i),
            f"{20000 - 100 * i}.00",
        )
    # four hops out of time order (O3 paid O4 before O2 paid O3): no cycle
    b.pay("O1t", "O1", "O2", "2025-06-10 10:00:00", "20000.00")
    b.pay("O2t", "O2", "O3", "2025-06-11 10:00:00", "19900.00")
    b.pay("O3t", "O3", "O4", "2025-06-09 10:00:00", "19800.00")
    b.pay("O4t", "O4", "O1", "2025-06-12 10:00:00", "19700.00")
    # a family's small circular transfers: under every floor
    b.pay("FAt", "FA", "FB", "2025-06-10 09:00:00", "800.00")
    b.pay("FBt", "FB", "FC", "2025-06-10 19:00:00", "800.00")
    b.pay("FCt", "FC", "FA", "2025-06-11 09:00:00", "800.00")

    # scatter-gather: GS -> GI1..GI5 -> GT over five days (06-08 .. 06-12), each forwards 95 %
    for i in range(1, 6):
        b.pay(f"GS{i}", "GS", f"GI{i}", f"2025-06-{7 + i:02d} 09:00:00", "30000.00")
        b.pay(f"GT{i}", f"GI{i}", "GT", f"2025-06-{7 + i:02d} 15:00:00", "28500.00")
    # near miss: two intermediaries only
    for i in (1, 2):
        b.pay(f"JS{i}", "JS", f"JI{i}", "2025-06-10 09:00:00", "30000.00")
        b.pay(f"JT{i}", f"JI{i}", "JT", "2025-06-11 09:00:00", "29000.00")
    # scatter-gather spread over 8 days: at most 4 of its 5 intermediaries fit one 7-day window
    for i in range(1, 6):
        b.pay(f"US{i}", "US", f"UI{i}", f"2025-06-{4 + 2 * (i - 1):02d} 09:00:00", "30000.00")
        b.pay(f"UT{i}", f"UI{i}", "UT", f"2025-06-{4 + 2 * (i - 1):02d} 18:00:00", "29000.00")
    # payroll then rent: salary is not a graph edge, so the employees are not intermediaries
    for i in range(1, 6):
        b.pay(f"EP{i}", "EP", f"EE{i}", "2025-06-10 08:00:00", "9000.00", purpose="salary")
        b.pay(f"ER{i}", f"EE{i}", "EL", "2025-06-11 12:00:00", "8500.00", purpose="rent")
    # friends chip in for a dinner: each pays on a small share of what it received
    for i in range(1, 5):
        b.pay(f"CS{i}", "CA", f"CF{i}", "2025-06-10 08:00:00", "20000.00", purpose="family support")
        b.pay(f"CT{i}", f"CF{i}", "CR", "2025-06-10 20:00:00", "5000.00")

    # gather-scatter: HS1..HS4 -> HH -> HT1..HT4 in four days, 96 % forwarded
    for i in range(1, 5):
        b.pay(f"HI{i}", f"HS{i}", "HH", f"2025-06-{8 + i // 2:02d} 10:00:00", "25000.00")
        b.pay(f"HO{i}", "HH", f"HT{i}", f"2025-06-{10 + i // 2:02d} 10:00:00", "24000.00")
    # merchant fan-in, paying a quarter of it on to two suppliers: not a pass-through
    for i in range(1, 7):
        b.pay(f"MI{i}", f"MC{i}", "MM", "2025-06-11 10:00:00", "6000.00")
    b.pay("MO1", "MM", "MP1", "2025-06-12 10:00:00", "5000.00")
    b.pay("MO2", "MM", "MP2", "2025-06-12 11:00:00", "5000.00")

    # bipartite: BS1..BS3 each pay BT1..BT3 within three days
    for s in range(1, 4):
        for t in range(1, 4):
            b.pay(f"B{s}{t}", f"BS{s}", f"BT{t}", f"2025-06-{9 + (s + t) % 3:02d} 1{s}:00:00", "12000.00")
    # three tenants paying one landlord, two of them also a second one: no dense block
    for s in range(1, 4):
        b.pay(f"TL{s}", f"TS{s}", "TL", "2025-06-10 10:00:00", "7000.00", purpose="rent")
    for s in range(1, 3):
        b.pay(f"TM{s}", f"TS{s}", "TM", "2025-06-11 10:00:00", "7000.00", purpose="rent")

    # stack: QS1..QS3 -> QA1..QA3 -> QB1..QB3 -> QT1..QT3, every layer pays every node of the next
    for layer, (src, dst, day, amount) in enumerate(
        [("QS", "QA", 9, "10000.00"), ("QA", "QB", 10, "9800.00"), ("QB", "QT", 11, "9600.00")]
    ):
        for s in range(1, 4):
            for t in range(1, 4):
                b.pay(f"Q{layer}{s}{t}", f"{src}{s}", f"{dst}{t}", f"2025-06-{day:02d} 1{s}:{t}0:00", amount)
    # random walk RA > RB > RC > RD > RE, each forwarding 98 % within a day
    walk = ["RA", "RB", "RC", "RD", "RE"]
    for i in range(4):
        b.pay(f"RW{i + 1}", walk[i], walk[i + 1], f"2025-06-{9 + i:02d} 10:00:00", f"{50000 - 1000 * i}.00")
    # a chain whose middle keeps half: VA > VB > VC > VD, VB forwards 50 %
    b.pay("VW1", "VA", "VB", "2025-06-09 10:00:00", "40000.00")
    b.pay("VW2", "VB", "VC", "2025-06-10 10:00:00", "20000.00")
    b.pay("VW3", "VC", "VD", "2025-06-11 10:00:00", "19500.00")
    # one intermediary: WA > WB > WC is rapid in-out's case, not layering
    b.pay("WW1", "WA", "WB", "2025-06-09 10:00:00", "40000.00")
    b.pay("WW2", "WB", "WC", "2025-06-10 10:00:00", "39000.00")
    # accounts shared between attempts (AMLworld, the demo's AT00014 and AT00032): PT1 is a sink of
    # the bipartite block PS1..PS3 > PT1..PT3 (it keeps the 36,000) and, the same day, an
    # intermediary of the walk PW > PT1 > PY > PZ (it forwards that flow: 35,000 in, 34,300 out).
    # In aggregate it forwarded 48 % of what it received, so a per-customer measure broke the chain.
    for s in range(1, 4):
        for t in range(1, 4):
            b.pay(f"P{s}{t}", f"PS{s}", f"PT{t}", f"2025-06-10 09:{s}{t}:00", "12000.00")
    b.pay("PW1", "PW", "PT1", "2025-06-10 11:00:00", "35000.00")
    b.pay("PW2", "PT1", "PY", "2025-06-10 15:00:00", "34300.00")
    b.pay("PW3", "PY", "PZ", "2025-06-11 10:00:00", "33600.00")
    return b


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cn_pack: RulePack) -> Settings:
    book = _book()
    accounts = [raw_account(f"A{c}", f"C{c}") for c in book.customers]
    loads = {date(2025, 6, 2): {"accounts": accounts}, D: {"transactions": book.rows}}
    return built_marts(tmp_path_factory.mktemp("graph"), D, cn_pack, MARTS, loads)


@pytest.fixture(scope="module")
def exceptions(built: Settings, cn_pack: RulePack) -> pd.DataFrame:
    return run_rules(built.warehouse_path, reading(cn_pack, *MARTS), D, "RUN")


def test_cycles_up_to_twelve_time_ordered_hops(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built, "SELECT entity_key, hop_count, return_days, customer_path, transaction_ids "
            "FROM marts.fct_customer_transfer_cycles"
        )
    }  # fmt: skip
    ring = " > ".join(f"CK{i:02d}" for i in [*range(1, 13), 1])
    assert rows["CK01|K01t"] == (12, 4, ring, ",".join(f"K{i:02d}t" for i in range(1, 13)))
    assert not [k for k in rows if k.startswith(("CL", "CO"))]  # 13 hops; hops out of time order
    assert not [k for k in rows if k.startswith("CF")]  # the family's transfers are under the floor
    assert fired(exceptions, "transfer_cycle") == {"CK01|K01t"}


def test_scatter_gather_through_many_intermediaries(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built, "SELECT entity_key, intermediary_count, window_start_date, window_end_date, customer_path, "
            "transaction_ids FROM marts.fct_customer_scatter_gathers"
        )
    }  # fmt: skip
    assert rows["CGS|CGT"] == (
        5, date(2025, 6, 8), date(2025, 6, 12), "CGS > {CGI1, CGI2, CGI3, CGI4, CGI5} > CGT",
        "GS1,GT1,GS2,GT2,GS3,GT3,GS4,GT4,GS5,GT5",
    )  # fmt: skip
    assert rows["CJS|CJT"][0] == 2
    assert rows["CUS|CUT"][0] == 4  # five intermediaries over 9 days: four in one 7-day window
    assert not [k for k in rows if k.startswith(("CEP", "CEE", "CCA", "CCF"))]  # payroll, dinner
    assert fired(exceptions, "scatter_gather") == {"CGS|CGT", "CUS|CUT"}


def test_gather_scatter_through_one_hub(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built, "SELECT entity_key, source_count, sink_count, forwarded_ratio, customer_path "
            "FROM marts.fct_customer_gather_scatters"
        )
    }  # fmt: skip
    assert rows["CHH"] == (
        4,
        4,
        Decimal("0.960000"),
        "{CHS1, CHS2, CHS3, CHS4} > CHH > {CHT1, CHT2, CHT3, CHT4}",
    )
    assert "CMM" not in rows  # the merchant paid on 28 % of its takings
    assert fired(exceptions, "gather_scatter") == {"CHH"}  # not the stack's layers (they pay intermediaries)


def test_bipartite_block_of_sources_and_sinks(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built, "SELECT entity_key, source_count, sink_count, edge_count, customer_path "
            "FROM marts.fct_customer_bipartite_flows"
        )
    }  # fmt: skip
    assert rows["CBS1|CBT1"] == (3, 3, 9, "{CBS1, CBS2, CBS3} > {CBT1, CBT2, CBT3}")
    assert not [k for k in rows if k.startswith(("CTS", "CQ"))]  # tenants; the stack's layers pass money on
    assert rows["CPS1|CPT1"] == (3, 3, 9, "{CPS1, CPS2, CPS3} > {CPT1, CPT2, CPT3}")  # PT1 shared with a walk
    assert fired(exceptions, "bipartite_flow") == {"CBS1|CBT1", "CPS1|CPT1"}


def test_layering_through_pass_through_layers(built: Settings, exceptions: pd.DataFrame) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(
            built, "SELECT entity_key, intermediary_count, customer_path, transaction_ids, chains_found "
            "FROM marts.fct_customer_layering_chains"
        )
    }  # fmt: skip
    assert rows["CRA"] == (3, "CRA > CRB > CRC > CRD > CRE", "RW1,RW2,RW3,RW4", 1)
    assert rows["CQS1"][:3] == (2, "CQS1 > CQA1 > CQB1 > CQT1", "Q011,Q111,Q211")
    assert rows["CQS1"][3] == 27  # every layer-1 node, every layer-2 node, every sink
    assert {k for k in rows if k.startswith("CQ")} == {"CQS1", "CQS2", "CQS3"}
    # VB kept half; WB is a single intermediary; loops (cycles) are the cycle rule's
    assert not [k for k in rows if k.startswith(("CV", "CW", "CK", "CL", "CO", "CG", "CH"))]
    assert fired(exceptions, "layering_stack") == {"CRA", "CQS1", "CQS2", "CQS3", "CPW"}


def test_layering_through_a_customer_shared_with_another_attempt(
    built: Settings, exceptions: pd.DataFrame
) -> None:
    """Pass-through is measured per flow: PT1 keeps the bipartite block's money but forwards the
    walk's 35,000 (34,300 out, 98 %) within hours, so the walk is a layering chain; the block's
    12,000 legs into PT1 are not forwarded by that 34,300 (2.9x), so no chain starts at PS1..PS3."""
    rows = {
        r[0]: r[1:]
        for r in query(
            built, "SELECT entity_key, intermediary_count, customer_path, transaction_ids "
            "FROM marts.fct_customer_layering_chains"
        )
    }  # fmt: skip
    assert rows["CPW"] == (2, "CPW > CPT1 > CPY > CPZ", "PW1,PW2,PW3")
    assert not [k for k in rows if k.startswith(("CPS", "CPT"))]
    forwarded = query(
        built, "SELECT inflow_transaction_id, outflow_transaction_id, is_amount_matched "
        "FROM intermediate.int_transfers_forwarded WHERE customer_id = 'CPT1' ORDER BY 1, 2"
    )  # fmt: skip
    assert forwarded == [("PW1", "PW2", True)]


def test_graph_exceptions_explain_themselves(exceptions: pd.DataFrame) -> None:
    for rule, words in {
        "transfer_cycle": "CK01 > CK02",
        "scatter_gather": "CGS > {CGI1",
        "gather_scatter": "> CHH >",
        "bipartite_flow": "{CBS1, CBS2, CBS3}",
        "layering_stack": "CRA > CRB > CRC",
    }.items():
        messages = exceptions.loc[exceptions.rule_id == f"cn.aml.{rule}", "message"]
        assert any(words in m for m in messages), (rule, list(messages))
