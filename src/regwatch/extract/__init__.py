"""Extract a business date from the platform's own database into a delivery (``regwatch extract``).

:mod:`regwatch.extract.sources` reads ``sources.yml``; :mod:`regwatch.extract.databases`
connects to a PostgreSQL or MySQL/MariaDB source and streams a SELECT as Arrow;
:mod:`regwatch.extract.run` writes each table's new rows into ``landing/D/`` as Parquet;
:mod:`regwatch.extract.state` keeps the watermarks, advanced only when the date's run is
sealed. The delivery then goes through the very same ingest as a file delivery.
"""
