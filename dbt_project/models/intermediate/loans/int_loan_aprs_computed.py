"""Real APR per loan from its assembled cash flows, by regwatch.apr's vectorised engine.

A Python model because the rate is the root of a polynomial in the discount factor,
which SQL cannot solve. The convention comes from the rule pack (dbt var
``apr_convention``: cn_irr, cn_irr_compound, us_reg_z or eu_aprc); the simple and
compound figures are both kept (PBOC [2021] No. 3 lets either be shown, the simple
one labelled). dbt contracts do not apply to Python models, so the mart fct_loan_apr
(SQL, contracted) joins this result to the loan's terms.

The flows (12.5 M rows for a million loans) reach Python as numpy arrays, sorted by an
integer code per loan (0, 1, ... in loan_id order), not as pandas objects sorted by the
VARCHAR loan_id; what is per loan (its payment count, the source of its schedule) is
aggregated in SQL. The codes are the ones ``pandas.factorize`` gave the sorted rows
before, so every rate is the same to the bit.

Incremental by loan (issue 17): a day's build computes the APR only of the loans whose
inputs (terms, schedule rows, hence fees) a load after the last build brought, the
loans_with_changed_inputs macro's set; delete+insert on loan_id replaces their rows. A
loan's rate depends on its own flows only (annual_rates solves each loan alone), so the
rows kept are those a build from scratch computes. A changed fee schedule, APR convention
or pack rebuilds every loan (a full refresh: regwatch.transform).
"""

_CODES = "select loan_id, row_number() over (order by loan_id) - 1 as loan_code from (select distinct loan_id from flows)"


def model(dbt, session):
    import numpy as np
    import pandas as pd

    from regwatch.apr import annual_rates
    from regwatch.transform import loans_with_changed_inputs

    method = dbt.config.get("apr_convention") or "cn_irr"
    flows = dbt.ref("int_loan_cash_flows_assembled")
    # The parents of the changed set (loans_with_changed_inputs), named here for dbt.
    dbt.ref("stg_platform__loans"), dbt.ref("stg_platform__schedules")
    changed = loans_with_changed_inputs(dbt)
    if changed is not None:
        flows = flows.join(changed, "loan_id")
    loans = flows.query(
        "flows",
        f"""
        with codes as ({_CODES})
        select
            codes.loan_id,
            count(*) filter (where flows.flow_kind = 'payment') as installment_count,
            first(flows.flow_source order by flows.flow_date, flows.flow_number)
                filter (where flows.flow_kind = 'payment' and flows.flow_source is not null) as cash_flow_source
        from flows
        inner join codes on flows.loan_id = codes.loan_id
        group by codes.loan_id, codes.loan_code
        order by codes.loan_code
        """,
    ).fetchnumpy()
    arrays = flows.query(
        "flows",
        f"""
        with codes as ({_CODES})
        select
            codes.loan_code,
            flows.flow_kind = 'payment' as is_payment,
            cast(flows.amount as double) as amount,
            flows.flow_date
        from flows
        inner join codes on flows.loan_id = codes.loan_id
        order by codes.loan_code, flows.flow_date, flows.flow_number
        """,
    ).fetchnumpy()

    def plain(values, fill):
        return np.ma.filled(values, fill) if np.ma.isMaskedArray(values) else np.asarray(values)

    def objects(values):  # strings, a null as None (np.ma would fill it with "?")
        return np.asarray(values.tolist() if np.ma.isMaskedArray(values) else values, dtype=object)

    codes = plain(arrays["loan_code"], -1).astype(np.int64)
    is_payment = plain(arrays["is_payment"], False).astype(bool)
    amount = np.where(is_payment, -1.0, 1.0) * plain(arrays["amount"], np.nan).astype("float64")
    day = plain(arrays["flow_date"], np.datetime64("NaT")).astype("datetime64[D]")
    rates = annual_rates(codes, day, amount, method)
    with np.errstate(invalid="ignore", over="ignore"):
        simple = rates.periodic_rate * rates.periods_per_year
        compound = (1.0 + rates.periodic_rate) ** rates.periods_per_year - 1.0
    source = pd.Series(objects(loans["cash_flow_source"]), dtype=object)
    result = pd.DataFrame(
        {
            "loan_id": objects(loans["loan_id"]),
            "installment_count": plain(loans["installment_count"], 0).astype("int64"),
            "cash_flow_source": source.where(source.notna(), "none").to_numpy(),
            "real_apr": np.round(rates.annual_rate, 10),
            "real_apr_simple": np.round(simple, 10),
            "real_apr_compound": np.round(compound, 10),
            "apr_convention": method,
            "apr_unit_period": rates.unit_labels(),
            "apr_periods_per_year": np.round(rates.periods_per_year, 10),
            "apr_error": [message or None for message in rates.error_messages()],
        }
    )
    return result
