-- The APR mart has one row for every loan of staging (none lost, none invented).
select loan_id from {{ ref('stg_platform__loans') }}
except
select loan_id from {{ ref('fct_loan_apr') }}
