"""Real APR per loan from its assembled cash flows, by regwatch.apr's vectorised engine.

A Python model because the rate is the root of a polynomial in the discount factor,
which SQL cannot solve. The convention comes from the rule pack (dbt var
``apr_convention``: cn_irr, cn_irr_compound, us_reg_z or eu_aprc); the simple and
compound figures are both kept (PBOC [2021] No. 3 lets either be shown, the simple
one labelled). dbt contracts do not apply to Python models, so the mart fct_loan_apr
(SQL, contracted) joins this result to the loan's terms.
"""


def model(dbt, session):
    import numpy as np
    import pandas as pd

    from regwatch.apr import annual_rates

    method = dbt.config.get("apr_convention") or "cn_irr"
    flows = dbt.ref("int_loan_cash_flows_assembled").order("loan_id, flow_date, flow_number").df()
    codes, loan_ids = pd.factorize(flows["loan_id"], sort=False)
    is_payment = (flows["flow_kind"] == "payment").to_numpy()
    amount = np.where(is_payment, -1.0, 1.0) * flows["amount"].astype("float64").to_numpy()
    day = flows["flow_date"].to_numpy().astype("datetime64[D]")
    rates = annual_rates(codes, day, amount, method)
    source = flows.loc[is_payment].groupby(codes[is_payment], sort=True)["flow_source"].first()
    with np.errstate(invalid="ignore", over="ignore"):
        simple = rates.periodic_rate * rates.periods_per_year
        compound = (1.0 + rates.periodic_rate) ** rates.periods_per_year - 1.0
    result = pd.DataFrame(
        {
            "loan_id": np.asarray(loan_ids, dtype=object),
            "installment_count": np.bincount(codes, weights=is_payment, minlength=len(loan_ids)).astype(
                "int64"
            ),
            "cash_flow_source": source.reindex(range(len(loan_ids))).fillna("none").to_numpy(),
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
