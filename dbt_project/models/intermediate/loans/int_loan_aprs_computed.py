"""Real APR per loan from its assembled cash flows, computed by regwatch.apr.

A Python model because the rate is the root of a polynomial in the discount factor,
which SQL cannot solve; dbt contracts do not apply to Python models, so the mart
fct_loan_apr (SQL, contracted) joins this result to the loan's terms.
"""


def model(dbt, session):
    import pandas as pd

    from regwatch.apr import AprError, annual_rate

    flows = dbt.ref("int_loan_cash_flows_assembled").df()
    rows = []
    for loan_id, group in flows.sort_values(["loan_id", "flow_number"]).groupby("loan_id", sort=True):
        kinds = group["flow_kind"].to_numpy()
        dated = list(zip(group["flow_date"].dt.date, group["amount"].astype(float), strict=True))
        advances = [flow for flow, kind in zip(dated, kinds, strict=True) if kind == "advance"]
        payments = [flow for flow, kind in zip(dated, kinds, strict=True) if kind == "payment"]
        try:
            simple = round(annual_rate(advances, payments, "cn_irr"), 8)
            compound = round(annual_rate(advances, payments, "cn_irr_compound"), 8)
            error = None
        except AprError as exc:
            simple = compound = None
            error = str(exc)
        rows.append(
            {
                "loan_id": loan_id,
                "installment_count": len(payments),
                "real_apr": simple,
                "real_apr_compound": compound,
                "apr_convention": "cn_irr",
                "apr_error": error,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "loan_id",
            "installment_count",
            "real_apr",
            "real_apr_compound",
            "apr_convention",
            "apr_error",
        ],
    ).astype({"real_apr": "float64", "real_apr_compound": "float64", "installment_count": "int64"})
