"""The steps of one business date, each ``step(business_date, settings) -> StepResult``.

The CLI calls them in order; each Airflow task calls one. (Being filled in.)
"""
