"""Every distinct screened name against the watch list as of the business date, by regwatch.screening.

A Python model because fuzzy name matching (normalisation with diacritics removed,
then rapidfuzz's vectorised ``cdist`` over every word of every name and alias) has no
SQL equivalent. It scores each *distinct* name once (a customer's accounts, a
counterparty paid often: 12,894 names for a million parties) and keeps each (name,
list entry) whose best name or alias scores at least the pack's
``watchlist_review_floor``. Joining the hits back to the parties, the date-of-birth and
country agreement and the ranking are set-based SQL: int_watchlist_matches_scored.
"""


def model(dbt, session):
    from regwatch.screening import ListEntry, name_hits, parse_aliases

    floor_text = dbt.config.get("watchlist_review_floor")
    try:
        floor = float(floor_text)
    except (TypeError, ValueError):
        raise ValueError(
            "rule-pack parameter 'watchlist_review_floor' is not set: add it to checks/<pack>/_pack.yml"
        ) from None
    parties = dbt.ref("int_screening_parties_collected")
    # A null name (a counterparty named nowhere) is no name to screen.
    names = sorted(
        name
        for (name,) in parties.filter("screened_name is not null")
        .project("screened_name")
        .distinct()
        .fetchall()
    )
    listed = dbt.ref("stg_platform__watchlist").order("list_id").fetchall()
    columns = dbt.ref("stg_platform__watchlist").columns
    entries = []
    for row in listed:
        entry = dict(zip(columns, row, strict=True))
        entries.append(
            ListEntry(
                list_id=str(entry["list_id"]),
                name=str(entry["name"]),
                aliases=parse_aliases(entry["aliases"]),
                date_of_birth=entry["date_of_birth"],
                country=entry["country"],
                list_name=str(entry["list_name"]),
            )
        )
    hits = name_hits(names, entries, floor)
    # Typed in SQL: an empty table keeps its column types.
    return session.from_df(hits).project(
        "cast(screened_name as varchar) as screened_name, cast(list_id as varchar) as list_id, "
        "cast(matched_name as varchar) as matched_name, cast(is_alias as boolean) as is_alias, "
        "cast(name_score as double) as name_score"
    )
