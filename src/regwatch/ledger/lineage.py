"""OpenLineage events for a sealed run: the extract (source database -> landing files) and
the load (landing files -> the warehouse's raw tables and quarantine).

The events are written where the run is recorded: ``var/ledger/<manifest>.lineage.jsonl``
beside the run's manifest (OpenLineage's file transport: one JSON event per line), archived,
and named with its sha256 in the manifest (``lineage``), so ``audit verify`` checks them
like any sealed file. They are a function of what the manifest records: run ids are UUIDs
derived from the run id, every event's time is the manifest's ``sealed_at``, keys are
sorted. When the environment configures an OpenLineage client (``OPENLINEAGE_URL``,
``OPENLINEAGE_CONFIG`` or ``OPENLINEAGE__TRANSPORT__*``), the same events are also sent
there; a backend that refuses them is a warning, never a failed run (the file is the record).

Dataset names follow OpenLineage's naming: ``postgres://host:port`` / ``mysql://host:port``
with ``database.schema.table`` (``database.table`` on MySQL); local files in the namespace
``file``; the warehouse's tables in ``duckdb://<warehouse path>`` as ``raw.<file>``.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: The ``producer`` of every event regwatch writes.
PRODUCER = "urn:regwatch"
#: The OpenLineage namespace of regwatch's jobs.
JOB_NAMESPACE = "regwatch"
_RUN_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:regwatch:run")
_log = logging.getLogger(__name__)


def _run_uuid(run_id: str, job: str) -> str:
    return str(uuid.uuid5(_RUN_UUID_NAMESPACE, f"{run_id}/{job}"))


def _source_tables(block: Mapping[str, Any], query: str) -> list[tuple[str, str]]:
    """(namespace, name) of every table a source query reads (OpenLineage's SQL parser)."""
    import openlineage_sql

    kind = str(block.get("kind"))
    database = str(block.get("database") or "")
    try:
        parsed = openlineage_sql.parse([query], dialect="postgres" if kind == "postgresql" else "mysql")
    except Exception:  # a query the parser does not follow: the SQL facet still names it
        return []
    found = []
    for table in parsed.in_tables if parsed is not None else []:
        if kind == "postgresql":
            name = f"{table.database or database}.{table.schema or 'public'}.{table.name}"
        else:
            name = f"{table.schema or database}.{table.name}"
        found.append((str(block["dataset_namespace"]), name))
    return sorted(set(found))


def events(
    *,
    run_id: str,
    business_date: str,
    sealed_at: str,
    warehouse: Path,
    inputs: Sequence[Mapping[str, Any]],
    extract: Mapping[str, Any] | None,
) -> list[Any]:
    """The run's COMPLETE events: the extract's (when the delivery was extracted), then the load's."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import (
        job_type_job,
        nominal_time_run,
        output_statistics_output_dataset,
        parent_run,
        sql_job,
    )

    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=_run_uuid(run_id, "run")),
        job=parent_run.Job(namespace=JOB_NAMESPACE, name="regwatch.run"),
        producer=PRODUCER,
    )

    day = nominal_time_run.NominalTimeRunFacet(
        nominalStartTime=f"{business_date}T00:00:00Z", producer=PRODUCER
    )  # the business date the run is about

    def run(job: str) -> Any:
        return Run(runId=_run_uuid(run_id, job), facets={"parent": parent, "nominalTime": day})

    def job(name: str, **facets: Any) -> Any:
        kind = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="REGWATCH", jobType="TASK", producer=PRODUCER
        )
        return Job(namespace=JOB_NAMESPACE, name=name, facets={"jobType": kind, **facets})

    def stats(rows: int) -> dict[str, Any]:
        return {
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=int(rows), producer=PRODUCER
            )
        }

    files = {str(i["file_name"]): i for i in inputs}
    out: list[Any] = []
    if extract is not None:
        tables = extract.get("tables") or {}
        sources = sorted({ds for t in tables.values() for ds in _source_tables(extract, str(t["query"]))})
        delivered = [
            OutputDataset(namespace="file", name=str(files[n]["path"]), outputFacets=stats(int(t["rows"])))
            for n, t in sorted(tables.items())
            if t.get("delivered") and n in files
        ]
        queries = ";\n".join(f"-- {n}\n{t['query']}" for n, t in sorted(tables.items()))
        out.append(
            RunEvent(
                eventType=RunState.COMPLETE,
                eventTime=sealed_at,
                producer=PRODUCER,
                run=run(f"extract.{extract['source']}"),
                job=job(
                    f"regwatch.extract.{extract['source']}",
                    sql=sql_job.SQLJobFacet(query=queries, producer=PRODUCER),
                ),
                inputs=[InputDataset(namespace=ns, name=name) for ns, name in sources],
                outputs=delivered,
            )
        )
    warehouse_ns = f"duckdb://{warehouse}"
    loaded = [
        OutputDataset(namespace=warehouse_ns, name=f"raw.{n}", outputFacets=stats(int(i["rows_loaded"])))
        for n, i in sorted(files.items())
    ]
    quarantined = sum(int(i["rows_quarantined"]) for i in files.values())
    if quarantined:
        loaded.append(
            OutputDataset(namespace=warehouse_ns, name="quarantine.rows", outputFacets=stats(quarantined))
        )
    out.append(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=sealed_at,
            producer=PRODUCER,
            run=run("load"),
            job=job("regwatch.load"),
            inputs=[InputDataset(namespace="file", name=str(files[n]["path"])) for n in sorted(files)],
            outputs=loaded,
        )
    )
    return out


def serialize(run_events: Sequence[Any]) -> bytes:
    """One JSON object per line, keys sorted: what OpenLineage's file transport writes."""
    from openlineage.client.serde import Serde

    lines = [json.dumps(Serde.to_dict(e), sort_keys=True, ensure_ascii=False) for e in run_events]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names an OpenLineage backend besides the ledger's file."""
    env = os.environ if env is None else env
    return any(k in env for k in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")) or any(
        k.startswith("OPENLINEAGE__TRANSPORT") for k in env
    )


def emit(run_events: Sequence[Any]) -> None:
    """Send the events to the configured OpenLineage backend, if any; a failure is a warning."""
    if not configured() or os.environ.get("OPENLINEAGE_DISABLED", "").lower() == "true":
        return
    try:
        from openlineage.client import OpenLineageClient

        client = OpenLineageClient()
        for event in run_events:
            client.emit(event)
    except Exception as error:  # the sealed file is the record; a lineage backend is a convenience
        _log.warning("OpenLineage events not sent: %s", str(error).splitlines()[0] if str(error) else error)
