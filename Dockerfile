# The official Airflow 3 image extended with regwatch (used by docker-compose.yml).
#
# How the dependencies go in, and why:
# - The image's Airflow (core, task SDK and the providers it ships) stays exactly as it
#   is: those packages are left out of the exported requirements, and
#   `apache-airflow==3.3.2` is repeated on the pip command line (as Airflow's image docs
#   advise), so pip fails rather than up- or downgrade Airflow to satisfy a pin.
# - Everything else regwatch needs (dbt, dbt-duckdb, DuckDB 2.0, GX, ...) is installed
#   at the versions pinned in uv.lock: `uv export --locked` turns the lock into a
#   requirements file (and fails if uv.lock is stale against pyproject.toml). The lock
#   was resolved together with apache-airflow 3.3.2, so its pins satisfy Airflow's own
#   requirements.
# - The project itself is installed last with --no-deps: nothing is resolved twice.
# uv.lock is resolved for linux/x86_64 only (pyproject's required-environments).
FROM apache/airflow:3.3.2-python3.11

ARG AIRFLOW_VERSION=3.3.2

USER root
RUN mkdir -p /opt/regwatch/var /opt/airflow/auth \
 && chown -R airflow:root /opt/regwatch /opt/airflow/auth
USER airflow

COPY --chown=airflow:root pyproject.toml uv.lock README.md /opt/regwatch/
COPY --chown=airflow:root src /opt/regwatch/src
RUN pip install --no-cache-dir uv \
 && cd /opt/regwatch \
 && uv export --locked --no-dev --no-hashes --no-emit-project \
      --no-emit-package apache-airflow \
      --no-emit-package apache-airflow-core \
      --no-emit-package apache-airflow-task-sdk \
      --no-emit-package apache-airflow-providers-common-compat \
      --no-emit-package apache-airflow-providers-common-io \
      --no-emit-package apache-airflow-providers-common-sql \
      --no-emit-package apache-airflow-providers-smtp \
      --no-emit-package apache-airflow-providers-standard \
      -o /tmp/requirements.txt \
 && pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements.txt \
 && pip install --no-cache-dir --no-deps /opt/regwatch \
 && rm /tmp/requirements.txt

# Content folders the package loads from REGWATCH_HOME.
COPY --chown=airflow:root dbt_project /opt/regwatch/dbt_project
COPY --chown=airflow:root checks /opt/regwatch/checks
COPY --chown=airflow:root reports /opt/regwatch/reports
# The databases `regwatch extract` reads (connections come from the environment).
COPY --chown=airflow:root sources.yml /opt/regwatch/sources.yml
# docker-compose.yml mounts ./dags over this; the copy makes the image usable on its own.
COPY --chown=airflow:root dags /opt/airflow/dags

ENV REGWATCH_HOME=/opt/regwatch \
    REGWATCH_VAR=/opt/regwatch/var \
    REGWATCH_LANDING=/opt/regwatch/var/landing
