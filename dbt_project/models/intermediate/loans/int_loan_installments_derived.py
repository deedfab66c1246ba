"""Installments rebuilt from the terms of each loan the platform delivered no schedule for.

A Python model because it is regwatch.installments.from_terms, the one rebuild both the
overdue side and the real APR read (issue 15, point 4): a loan with no schedule row as of
D gets its contractual installments from its principal, nominal rate, term and repayment
method, in integer cents (interest on the remaining principal, half up, the last
installment absorbing the rounding). A loan whose terms give no schedule (a term of 0
months, or beyond regwatch.installments.MAX_TERM_MONTHS) gets none here:
int_loan_installments_completed and fct_loan_positions say so (schedule_source 'none')
and the data-quality rule <pack>.data_quality.loan_schedule_not_derivable raises it.

Incremental by loan (issue 17): a day's build rebuilds only the loans whose terms or
schedule rows a load after the last build brought (the loans_with_changed_inputs macro,
whose pre-hook first deletes their rows, so a loan that got a schedule keeps none);
every other loan's installments are as the last build made them.
"""


def model(dbt, session):
    import pandas as pd

    from regwatch.installments import from_terms
    from regwatch.transform import loans_with_changed_inputs

    loans = dbt.ref("stg_platform__loans")
    schedules = dbt.ref("stg_platform__schedules")
    changed = loans_with_changed_inputs(dbt)
    if changed is not None:
        loans = loans.join(changed, "loan_id")
        schedules = schedules.join(changed, "loan_id")
    loans = loans.df()
    scheduled = set(schedules.project("loan_id").distinct().df()["loan_id"])
    loans = loans.loc[~loans["loan_id"].isin(scheduled)].sort_values("loan_id", kind="stable")
    cents = (loans["principal"].astype("float64") * 100).round().to_numpy()
    built = from_terms(
        cents,
        loans["nominal_rate"].astype("float64").to_numpy(),
        loans["term_months"].astype("float64").to_numpy(),
        loans["repayment_method"].to_numpy(dtype=object),
        pd.to_datetime(loans["disbursement_date"]).to_numpy().astype("datetime64[D]"),
    )
    # Explicit dtypes: a day with nothing to rebuild is an empty table of the same types.
    return pd.DataFrame(
        {
            "loan_id": pd.Series(loans["loan_id"].to_numpy(dtype=object)[built.loan_index], dtype="string"),
            "installment_no": pd.Series(built.installment_no, dtype="int64"),
            "due_date": pd.Series(built.due_date.astype("datetime64[ns]"), dtype="datetime64[ns]"),
            "principal_cents": pd.Series(built.principal_cents, dtype="int64"),
            "interest_cents": pd.Series(built.interest_cents, dtype="int64"),
        }
    )
