{#-
    Every calendar day of the Chinese working-day calendar with the number of working days
    up to and including it (a running count), so "the n-th working day after D" is the working
    day whose count is count(D) + n: a join, no loop, no adapter-specific date function.
-#}
with

calendar as (
    select * from {{ ref('stg_reference__cn_working_days') }}
),

final as (
    select
        calendar_date,
        is_working_day,
        day_type,
        holiday_name,
        calendar_source,
        cast(sum(case when is_working_day then 1 else 0 end) over (
            order by calendar_date rows between unbounded preceding and current row
        ) as integer) as working_days_to_date
    from calendar
)

select * from final
