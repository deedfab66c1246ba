"""The Spark engine (issue 19): the one module that starts Spark.

regwatch starts one Spark session per process and dbt-spark's ``session`` method joins
it (``SparkSession.builder.getOrCreate()`` returns the running session), so a run pays
the JVM's start once (15-70 s here) and regwatch's own Spark work (publishing raw
tables, the engine-neutral Python steps) shares the catalog dbt writes.

The session is configured for reproducible results, not for speed:

- the session time zone is UTC (timestamps are UTC everywhere in regwatch);
- ANSI mode stays on (Spark 4's default): an overflow or a bad cast fails the query
  instead of returning null, as DuckDB does;
- the warehouse (Parquet, one folder per table) and the Derby metastore live under
  ``var/spark`` (``Settings.spark_dir``), so a later process (an audit rerun) finds the
  tables a run built.

pyspark is an optional dependency (``uv sync --extra spark``); importing this module
does not import it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from regwatch.config import Settings
from regwatch.contract import CONTRACTS


class SparkEngineError(RuntimeError):
    """The Spark engine cannot run (pyspark not installed, no Java, the session failed)."""


def session(settings: Settings) -> Any:
    """The process's Spark session, started on first use with ``settings``' master and folders."""
    import warnings

    # pyspark 4.3 warns that it does not "fully support" pandas 3 on import; regwatch hands
    # Spark Arrow tables, never pandas frames, except a Python model's own result.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkEngineError(
            "engine spark needs pyspark and dbt-spark: install the extra (uv sync --extra spark)"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    base = settings.spark_dir.resolve()
    base.mkdir(parents=True, exist_ok=True)
    # Spark writes derby.log and spark-warehouse/ into the working directory unless told.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    local = settings.spark_master.startswith("local")
    builder = (
        SparkSession.builder.master(settings.spark_master)
        .appName("regwatch")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={base / 'metastore_db'};create=true",
        )
        .config(
            "spark.driver.extraJavaOptions", " ".join((f"-Dderby.system.home={base}", *_local_jvm(local)))
        )
        .config("spark.sql.session.timeZone", "UTC")
        # DuckDB writes TIMESTAMP (no time zone) as Parquet timestamps not adjusted to UTC,
        # which Spark 4 would read as TIMESTAMP_NTZ; regwatch's timestamps are UTC, and the
        # contracts say `timestamp`: read them as Spark's TIMESTAMP in the UTC session.
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config(
            "spark.sql.shuffle.partitions",
            os.environ.get("REGWATCH_SPARK_SHUFFLE_PARTITIONS", "2" if local else "200"),
        )
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("REGWATCH_SPARK_DRIVER_MEMORY", "2g"))
        .enableHiveSupport()
    )
    for name, value in (_LOCAL_SETTINGS if local else {}).items():
        builder = builder.config(name, value)
    try:
        started = builder.getOrCreate()
    except Exception as error:  # the JVM did not start: one clear line
        raise SparkEngineError(f"Spark did not start ({settings.spark_master}): {error}") from None
    started.sparkContext.setLogLevel("ERROR")
    # pyspark logs every failed query's whole plan as JSON on stderr; dbt reports the error
    # in one line (regwatch.transform), so the plan stays out of the terminal.
    import logging

    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return started


#: Spark in one local JVM (``local[*]``, the tests' ``local[2]``) on small data: each dbt node
#: is a handful of small queries, and what they cost is per query, not per row. Whole-stage
#: code generation compiles Java for every query (Janino, ~0.1-0.5 CPU-s each, far more than
#: running a few thousand rows interpreted); adaptive execution re-plans at every stage; one
#: shuffle partition (above) is one task and one file per table. The results are the same
#: (the same plans' operators, interpreted). A cluster's master keeps Spark's defaults.
_LOCAL_SETTINGS = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.default.parallelism": "2",
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "1000000",
}


def _local_jvm(local: bool) -> tuple[str, ...]:
    """JVM options for a local run: the quick JIT tier only (a run lasts minutes, not hours).

    The quick tier alone shrinks the JIT's code cache to 48 MB, which a day's build filled
    ("CodeCache is full. Compiler has been disabled", then "Out of space in CodeCache for
    adapters" failed a seed in make test-spark's audit rerun): the cache is set back to the
    tiered default.
    """
    return ("-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=240m", "-XX:+UseSerialGC") if local else ()


def stop() -> None:
    """Stop the process's Spark session, if one runs (tests, the end of a CLI run)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def drop_built(settings: Settings, spark: Any) -> list[str]:
    """Drop every table an earlier Spark build left: each database but ``default``, and its folders.

    Every Spark build is a full refresh (:mod:`regwatch.transform`), and a build killed half-way
    leaves tables, or only their folders under the warehouse (a managed table whose folder
    exists cannot be created again: ``LOCATION_ALREADY_EXISTS``). So a build starts from an
    empty catalog: the databases are dropped with their tables, then whatever is left in the
    warehouse folder is removed. Returns the databases dropped.
    """
    import shutil

    dropped = []
    for database in sorted(d.name for d in spark.catalog.listDatabases()):
        if database != "default":
            spark.sql(f"DROP DATABASE IF EXISTS `{database}` CASCADE")
            dropped.append(database)
    warehouse_dir = settings.spark_dir.resolve() / "warehouse"
    if warehouse_dir.is_dir():
        for leftover in warehouse_dir.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
    return dropped


def parquet_folder(settings: Settings, schema: str, table: str) -> Path:
    """Where regwatch keeps a table it hands to Spark as Parquet (``var/spark/<schema>/<table>``)."""
    return settings.spark_dir.resolve() / schema / table


#: The dbt sources (schema ``raw``) the Spark engine reads: one typed table per file of the
#: input contract and the register of deliveries
#: (dbt_project/models/staging/platform/_platform__sources.yml).
SOURCE_TABLES = (*CONTRACTS, "load_arrivals")


def publish_raw(settings: Settings, spark: Any) -> dict[str, int]:
    """Hand the warehouse's raw tables to Spark as Parquet partitioned by business date.

    Ingest stays the one typed load (DuckDB, with its quarantine and reconciliation); what
    it loaded is written to ``var/spark/raw/<table>/_business_date=D/`` and Spark's
    ``raw.<table>`` is a view over that folder with the warehouse's column order (a
    partition column would otherwise come last). Every date up to the run's is written
    again each time: a restated date's new load replaces nothing (raw is append-only
    by load), so the folder is always the warehouse's raw as it is now. Returns the rows
    per table.
    """
    import shutil

    from regwatch import warehouse

    spark.sql("CREATE DATABASE IF NOT EXISTS raw")
    rows: dict[str, int] = {}
    with warehouse.connect(
        settings.warehouse_path, read_only=True, memory_limit=settings.duckdb_memory_limit
    ) as con:
        for table in SOURCE_TABLES:
            folder = parquet_folder(settings, "raw", table)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            columns = [name for (name, *_rest) in con.execute(f"DESCRIBE raw.{table}").fetchall()]
            count = int(con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0])  # type: ignore[index]
            target = str(folder).replace("'", "''")
            if count and "_business_date" in columns:
                con.execute(f"COPY raw.{table} TO '{target}' (FORMAT parquet, PARTITION_BY (_business_date))")
            else:  # an empty table (still typed) or one without a business date column
                con.execute(f"COPY raw.{table} TO '{target}/part-0.parquet' (FORMAT parquet)")
            listed = ", ".join(f"`{name}`" for name in columns)
            spark.sql(
                f"CREATE OR REPLACE VIEW raw.{table} AS SELECT {listed} FROM parquet.`{folder.as_posix()}`"
            )
            rows[table] = count
    return rows


#: The project's dbt Python models. dbt-spark runs a Python model only on a Databricks
#: cluster (the session method refuses: "cluster_id is required"), so on Spark regwatch runs
#: each of them itself, between dbt builds (:func:`run_python_model`).
PYTHON_MODELS = ("int_loan_installments_derived", "int_watchlist_names_scored", "int_loan_aprs_computed")


class _Config:
    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)


class _Dbt:
    """The ``dbt`` object a Python model receives, over tables read from Spark as Arrow."""

    def __init__(self, con: Any, spark: Any, refs: dict[str, str], config: dict[str, Any]) -> None:
        self._con, self._spark, self._refs = con, spark, refs
        self.config = _Config(config)

    def ref(self, name: str) -> Any:
        relation = self._refs[name]
        return self._con.from_arrow(self._spark.table(relation).toArrow())


def run_python_model(settings: Settings, spark: Any, manifest: dict[str, Any], name: str) -> int:
    """Run the dbt Python model ``name`` as DuckDB runs it, its inputs and output in Spark.

    The model file's own ``model(dbt, session)`` is called, unchanged: ``dbt.ref`` reads the
    parent table from Spark as Arrow into an in-process DuckDB (the relation API the model
    is written against), and the DataFrame or relation it returns is written back as the
    Spark table dbt's ``ref`` names. The same code on the same values gives the same
    result, so the APRs are bit-identical across engines (float64 in, float64 out). Returns
    the rows written.
    """
    import importlib.util

    import duckdb
    import pyarrow as pa

    node = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name)
    refs = {}
    for parent in node["depends_on"]["nodes"]:
        upstream = manifest["nodes"].get(parent) or manifest.get("sources", {}).get(parent)
        if upstream is not None:
            refs[upstream["name"]] = f"{upstream['schema']}.{upstream.get('alias') or upstream['name']}"
    spec = importlib.util.spec_from_file_location(
        f"regwatch_python_model_{name}", settings.dbt_project_dir / node["original_file_path"]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    con = duckdb.connect()
    try:
        result = module.model(_Dbt(con, spark, refs, dict(node["config"])), con)
        table = (
            result.arrow() if hasattr(result, "arrow") else pa.Table.from_pandas(result, preserve_index=False)
        )
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
    finally:
        con.close()
    relation = f"{node['schema']}.{node.get('alias') or name}"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {node['schema']}")
    frame = (
        spark.createDataFrame(table) if table.num_rows else spark.createDataFrame([], _spark_schema(table))
    )
    frame.write.mode("overwrite").format("parquet").saveAsTable(relation)
    return int(table.num_rows)


def _spark_schema(table: Any) -> Any:
    """A Spark schema for an Arrow table (an empty result keeps its column types)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(table.schema)


#: The schemas dbt builds that regwatch's later steps read from the warehouse (the rules
#: read marts, the reports marts and reporting, the audit intermediate tables too).
BUILT_SCHEMAS = ("intermediate", "marts", "reporting")


def contract_types(manifest: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each built model's declared column types (its YAML ``data_type``), by ``schema.table``.

    Spark widens decimal products (DECIMAL(38, 6)); the contract's type (DECIMAL(18, 2)) is
    what DuckDB stores, so what leaves Spark (the copy back, the rules' data frames) is
    cast to it.
    """
    contracts: dict[str, dict[str, str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["schema"] in BUILT_SCHEMAS:
            relation = f"{node['schema']}.{node.get('alias') or node['name']}"
            types = {name: column.get("data_type") for name, column in node["columns"].items()}
            contracts[relation] = {name: str(kind) for name, kind in types.items() if kind}
    return contracts


def contracted_frame(spark: Any, relation: str, types: dict[str, str]) -> Any:
    """The Spark table ``relation`` as a DataFrame, each column with a declared type cast to it."""
    frame = spark.table(relation)
    return frame.selectExpr(
        *(
            f"cast(`{name}` as {types[name]}) as `{name}`" if name in types else f"`{name}`"
            for name in frame.columns
        )
    )


def copy_back(settings: Settings, spark: Any, manifest: dict[str, Any]) -> dict[str, int]:
    """Bring the tables dbt built on Spark into the DuckDB warehouse, through Arrow.

    The steps after transform (rules, alerts, reports, ledger) read the warehouse; on the
    Spark engine they read what Spark computed. A contracted model's columns are cast to
    the types its contract declares (Spark widens decimal products to DECIMAL(38, 6); the
    contract's DECIMAL(18, 2) is what DuckDB would have stored). A model dbt never rebuilds
    whole (incremental, ``full_refresh: false``) keeps its other keys' rows: Spark's rows
    replace those of the keys they bring. Returns rows per table.
    """
    from regwatch import warehouse

    contracts = contract_types(manifest)
    kept_by_key: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["schema"] in BUILT_SCHEMAS:
            relation = f"{node['schema']}.{node.get('alias') or node['name']}"
            config = node["config"]
            if config.get("materialized") == "incremental" and config.get("full_refresh") is False:
                key = config.get("unique_key")
                kept_by_key[relation] = [key] if isinstance(key, str) else list(key or [])
    rows: dict[str, int] = {}
    with warehouse.connect(settings.warehouse_path, memory_limit=settings.duckdb_memory_limit) as con:
        for schema in BUILT_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for table in sorted(t.name for t in spark.catalog.listTables(schema) if not t.isTemporary):
                if spark.catalog.getTable(f"{schema}.{table}").tableType == "VIEW":
                    continue
                relation = f"{schema}.{table}"
                arrow = spark.table(relation).toArrow()
                declared = contracts.get(relation, {})
                columns = ", ".join(
                    f'cast("{name}" as {declared[name]}) as "{name}"' if name in declared else f'"{name}"'
                    for name in arrow.column_names
                )
                con.register("_from_spark", arrow)
                keys = kept_by_key.get(relation)
                exists = con.execute(
                    "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                    [schema, table],
                ).fetchone()
                if keys and exists and exists[0]:
                    # A model never rebuilt whole (full_refresh: false, e.g. the disclosure
                    # indicators of every date run): the keys Spark built replace theirs only.
                    listed = ", ".join(f'"{key}"' for key in keys)
                    con.execute(
                        f"DELETE FROM {relation} WHERE ({listed}) IN (SELECT ({listed}) FROM _from_spark)"
                    )
                    con.execute(f"INSERT INTO {relation} BY NAME SELECT {columns} FROM _from_spark")
                else:
                    con.execute(f"CREATE OR REPLACE TABLE {relation} AS SELECT {columns} FROM _from_spark")
                con.unregister("_from_spark")
                rows[relation] = arrow.num_rows
    return rows
