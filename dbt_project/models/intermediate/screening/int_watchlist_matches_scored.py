"""Every screened party against the watch list as of the business date, by regwatch.screening.

A Python model because fuzzy name matching (normalisation with diacritics removed,
then rapidfuzz's vectorised ``cdist`` over every name and alias) has no SQL
equivalent. Keeps each (party, list entry) whose best name or alias scores at least
the pack's ``watchlist_review_floor``, ranked per party by score, then date of birth
and country agreement. dbt contracts do not apply to Python models, so the marts
fct_customer_watchlist_matches and fct_counterparty_watchlist_matches (SQL,
contracted) select from this one.
"""


def model(dbt, session):
    import pandas as pd

    from regwatch.screening import ListEntry, parse_aliases, screen_frame

    floor_text = dbt.config.get("watchlist_review_floor")
    try:
        floor = float(floor_text)
    except (TypeError, ValueError):
        raise ValueError(
            "rule-pack parameter 'watchlist_review_floor' is not set: add it to checks/<pack>/_pack.yml"
        ) from None
    parties = dbt.ref("int_screening_parties_collected").order("party_role, party_key, screened_name").df()
    listed = dbt.ref("stg_platform__watchlist").order("list_id").df()

    def text(value):
        return None if value is None or pd.isna(value) else str(value)

    def day(value):
        return None if value is None or pd.isna(value) else pd.Timestamp(value).date()

    entries = [
        ListEntry(
            list_id=str(row.list_id),
            name=str(row.name),
            aliases=parse_aliases(text(row.aliases)),
            date_of_birth=day(row.date_of_birth),
            country=text(row.country),
            list_name=str(row.list_name),
        )
        for row in listed.itertuples(index=False)
    ]
    # Set-based: each distinct name scored once, the hits joined back to the parties (regwatch.screening).
    matches = screen_frame(parties[["screened_name", "date_of_birth", "country"]], entries, floor)
    result = parties.iloc[matches["party_row"].to_numpy()].reset_index(drop=True)
    by_id = {e.list_id: e for e in entries}
    listed_ids = matches["list_id"].tolist()
    result = result.assign(
        list_id=pd.Series(listed_ids, dtype=object),
        list_name=pd.Series([by_id[i].list_name for i in listed_ids], dtype=object),
        listed_name=pd.Series([by_id[i].name for i in listed_ids], dtype=object),
        listed_date_of_birth=pd.Series([by_id[i].date_of_birth for i in listed_ids], dtype=object),
        listed_country=pd.Series([by_id[i].country for i in listed_ids], dtype=object),
        matched_name=pd.Series(matches["matched_name"].tolist(), dtype=object),
        is_alias=pd.Series(matches["is_alias"].tolist(), dtype=bool),
        name_score=pd.Series(matches["name_score"].tolist(), dtype="float64"),
        dob_agreement=pd.Series(matches["dob_agreement"].tolist(), dtype=object),
        country_agreement=pd.Series(matches["country_agreement"].tolist(), dtype=object),
        match_rank=pd.Series(matches["match_rank"].tolist(), dtype="int64"),
        list_delivered_date=pd.Series(
            [listed["delivered_business_date"].iloc[0] if len(listed) else None] * len(matches), dtype=object
        ),
    )
    return result
