"""Settings, built once at the edge (CLI, Airflow task) from an explicit mapping.

Nothing else in the package reads the environment or hard-codes a path: every
module receives a :class:`Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

_CONTENT_DIRS = ("dbt_project", "checks", "reports")

#: DuckDB's memory limit unless ``REGWATCH_DUCKDB_MEMORY_LIMIT`` says otherwise: a platform-scale
#: day fits in it (DuckDB spills beyond it), and it leaves room for Python beside it on a
#: 4 GiB budget (issue 17). Any size DuckDB's ``memory_limit`` accepts ("3GB", "512MB").
DEFAULT_DUCKDB_MEMORY_LIMIT = "3GB"

#: The engines the dbt project runs on (issue 19): DuckDB embedded (the default), or Spark
#: through dbt-spark (the optional ``spark`` extra) for platforms that outgrow one machine.
ENGINES = ("duckdb", "spark")
#: Spark's master unless ``REGWATCH_SPARK_MASTER`` names a cluster's (``spark://host:7077``).
DEFAULT_SPARK_MASTER = "local[*]"


class SettingsError(ValueError):
    """The environment does not describe a usable regwatch project."""


def _find_project_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds the content folders."""
    for candidate in (start, *start.parents):
        if all((candidate / name).is_dir() for name in _CONTENT_DIRS):
            return candidate
    return None


@dataclass(frozen=True)
class Settings:
    """Where everything lives and which rule pack applies.

    ``project_root`` holds the content folders (dbt_project/, checks/, reports/);
    ``var_dir`` holds everything regwatch writes.
    """

    project_root: Path
    var_dir: Path
    landing_dir: Path
    pack: str = "cn"
    unmask_pii: bool = False
    pii_key: str = field(default="regwatch-default-masking-key", repr=False)
    dispositions_file: Path | None = None
    #: Where render_reports writes (a run's staging folder); None = the published reports/.
    reports_root: Path | None = None
    #: The code version a run records; None = this checkout's (``audit rerun`` pins the recorded one).
    pinned_code_version: str | None = None
    #: The operator's reason to run on a delivery the verdict rejects (``run --accept-degraded``);
    #: None = a rejected delivery stops the run (regwatch.ingest.delivery).
    accept_degraded: str | None = None
    #: The DuckDB file to read; None = ``var/warehouse.duckdb`` (read-only commands during a run
    #: read the last sealed state, :mod:`regwatch.ledger.snapshot`).
    warehouse_file: Path | None = None
    #: DuckDB's ``memory_limit`` for every connection to the warehouse (regwatch.warehouse.duckdb_config).
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    #: False = the reports are rendered without their PDF (daily report, filing): a test
    #: setting (``REGWATCH_NO_PDF=1``) for runs whose PDF no test reads; the step summary,
    #: the CLI line and the sealed manifest (``"pdf_rendered": false``) record it, and
    #: ``audit rerun`` / ``rebuild`` replay such a run the same way.
    render_pdf: bool = True
    #: The engine dbt builds the project on (``--engine``, ``REGWATCH_ENGINE``): one of
    #: :data:`ENGINES`; ``spark`` needs the ``spark`` extra (``uv sync --extra spark``).
    engine: str = "duckdb"
    #: Spark's master when ``engine`` is spark (``REGWATCH_SPARK_MASTER``).
    spark_master: str = DEFAULT_SPARK_MASTER

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise SettingsError(f"unknown engine {self.engine!r}: one of {', '.join(ENGINES)}")

    @property
    def dispositions_path(self) -> Path:
        """The analysts' decisions file (``REGWATCH_DISPOSITIONS``; default ``var/dispositions.csv``)."""
        return (
            self.dispositions_file
            if self.dispositions_file is not None
            else self.var_dir / "dispositions.csv"
        )

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_file if self.warehouse_file is not None else self.var_dir / "warehouse.duckdb"

    @property
    def reports_dir(self) -> Path:
        """Where reports are written: the published ``var/reports`` unless a run stages them."""
        return self.reports_root if self.reports_root is not None else self.published_reports_dir

    @property
    def published_reports_dir(self) -> Path:
        """``var/reports``: the files visible as final (published by seal_ledger from the archive)."""
        return self.var_dir / "reports"

    @property
    def archive_dir(self) -> Path:
        return self.var_dir / "archive"

    def staging_reports_dir(self, run_id: str) -> Path:
        """Where render_reports writes a run's files before seal_ledger publishes them."""
        return self.var_dir / "staging" / run_id / "reports"

    @property
    def ledger_dir(self) -> Path:
        return self.var_dir / "ledger"

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_root / "dbt_project"

    @property
    def reference_seeds_dir(self) -> Path:
        """The effective-dated reference data (LPR history, rate-cap policies) as dbt seeds."""
        return self.dbt_project_dir / "seeds" / "reference"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target folder: one per engine (a parse for one adapter is no parse for another)."""
        if self.engine == "duckdb":
            return self.var_dir / "dbt" / "target"
        return self.var_dir / "dbt" / f"target-{self.engine}"

    @property
    def spark_dir(self) -> Path:
        """What the Spark engine keeps: its warehouse (Parquet) and metastore, under ``var/spark``."""
        return self.var_dir / "spark"

    @property
    def checks_dir(self) -> Path:
        return self.project_root / "checks"

    @property
    def pack_dir(self) -> Path:
        return self.checks_dir / self.pack

    @property
    def templates_dir(self) -> Path:
        return self.project_root / "reports"

    def landing_for(self, business_date: object) -> Path:
        return self.landing_dir / str(business_date)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``REGWATCH_*`` variables; explicit overrides win.

        ``REGWATCH_HOME`` names the project root; without it the root is found
        from the working directory, then from this package's own location (an
        editable install inside a checkout).
        """
        env = os.environ if env is None else env
        home = overrides.pop("project_root", None) or env.get("REGWATCH_HOME")
        if home:
            root = Path(str(home)).resolve()
            if _find_project_root(root) != root:
                raise SettingsError(f"REGWATCH_HOME={root} does not hold {', '.join(_CONTENT_DIRS)}")
        else:
            found = _find_project_root(Path.cwd()) or _find_project_root(Path(__file__).resolve().parent)
            if found is None:
                raise SettingsError(
                    "cannot find the regwatch project (dbt_project/, checks/, reports/): "
                    "run from a checkout or set REGWATCH_HOME"
                )
            root = found
        var_dir = Path(str(overrides.pop("var_dir", None) or env.get("REGWATCH_VAR") or root / "var"))
        landing = Path(
            str(overrides.pop("landing_dir", None) or env.get("REGWATCH_LANDING") or var_dir / "landing")
        )
        pack = str(overrides.pop("pack", None) or env.get("REGWATCH_PACK") or "cn")
        unmask = overrides.pop("unmask_pii", None)
        if unmask is None:
            unmask = env.get("REGWATCH_UNMASK_PII", "").lower() in {"1", "true", "yes"}
        key = env.get("REGWATCH_PII_KEY")
        dispositions = overrides.pop("dispositions_file", None) or env.get("REGWATCH_DISPOSITIONS")
        memory_limit = str(
            overrides.pop("duckdb_memory_limit", None)
            or env.get("REGWATCH_DUCKDB_MEMORY_LIMIT")
            or DEFAULT_DUCKDB_MEMORY_LIMIT
        )
        render_pdf = overrides.pop("render_pdf", None)
        if render_pdf is None:
            render_pdf = env.get("REGWATCH_NO_PDF", "").lower() not in {"1", "true", "yes"}
        engine = str(overrides.pop("engine", None) or env.get("REGWATCH_ENGINE") or "duckdb")
        spark_master = str(
            overrides.pop("spark_master", None) or env.get("REGWATCH_SPARK_MASTER") or DEFAULT_SPARK_MASTER
        )
        if overrides:
            raise SettingsError(f"unknown settings: {', '.join(sorted(overrides))}")
        settings = cls(
            project_root=root,
            var_dir=var_dir.resolve(),
            landing_dir=landing.resolve(),
            pack=pack,
            unmask_pii=bool(unmask),
            dispositions_file=Path(str(dispositions)).resolve() if dispositions else None,
            duckdb_memory_limit=memory_limit,
            render_pdf=bool(render_pdf),
            engine=engine,
            spark_master=spark_master,
        )
        return replace(settings, pii_key=key) if key else settings
