{#-
    Borrowers and lenders per disclosure period containing the business date D (its month
    and quarter): cumulative (every loan disbursed / funding made by D) and current-period
    (disbursed / funded between the period start and D) distinct counts (CBRC [2017]
    No. 113 art. 10(3) and (4)). Lenders are the funders of the fundings (individual
    lenders and institutions).
-#}
with

periods as (
    {{ disclosure_periods() }}
),

loans as (
    select loan_id, borrower_id, disbursement_date
    from {{ ref('stg_platform__loans') }}
    where disbursement_date <= {{ business_date() }}
),

fundings as (
    select fundings.funder_id, cast(fundings.funded_at as date) as funded_date
    from {{ ref('stg_platform__fundings') }} as fundings
    inner join loans on fundings.loan_id = loans.loan_id
    where cast(fundings.funded_at as date) <= {{ business_date() }}
),

{#- per period: the distinct borrowers (lenders) up to its end, and those of loans (fundings) inside it #}
{%- for participant, relation, id_column, date_column in [
    ('borrower', 'loans', 'borrower_id', 'disbursement_date'),
    ('lender', 'fundings', 'funder_id', 'funded_date'),
] %}
{{ participant }}_counts as (
    select
        periods.period_kind,
        count(distinct {{ relation }}.{{ id_column }}) as cumulative_{{ participant }}_count,
        count(distinct case when {{ relation }}.{{ date_column }} >= periods.period_start then {{ relation }}.{{ id_column }} end)
            as period_{{ participant }}_count
    from periods
    left join {{ relation }} on {{ relation }}.{{ date_column }} <= periods.period_end
    group by periods.period_kind
),
{% endfor %}
final as (
    select
        periods.period_kind,
        periods.period_id,
        cast(borrower_counts.cumulative_borrower_count as integer) as cumulative_borrower_count,
        cast(borrower_counts.period_borrower_count as integer) as period_borrower_count,
        cast(lender_counts.cumulative_lender_count as integer) as cumulative_lender_count,
        cast(lender_counts.period_lender_count as integer) as period_lender_count
    from periods
    inner join borrower_counts on periods.period_kind = borrower_counts.period_kind
    inner join lender_counts on periods.period_kind = lender_counts.period_kind
)

select * from final
