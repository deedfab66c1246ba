with

source as (
    select * from {{ ref('cn_working_days') }}
),

final as (
    select
        calendar_date,
        is_working_day,
        day_type,
        holiday_name,
        notice as calendar_source,
        notice_date
    from source
)

select * from final
