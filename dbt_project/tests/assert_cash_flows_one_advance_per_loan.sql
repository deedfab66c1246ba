-- Every loan has exactly one advance among its assembled cash flows.
select loan_id, count(*) as advances
from {{ ref('int_loan_cash_flows_assembled') }}
where flow_kind = 'advance'
group by loan_id
having count(*) <> 1
