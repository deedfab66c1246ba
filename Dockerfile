# The official Airflow 3 image extended with regwatch.
# The image's own Airflow stays as it is; the project's other dependencies are installed
# at the versions pinned in uv.lock (exported as a requirements file, Airflow excluded,
# checked against the image's constraints by pip's resolver).
FROM apache/airflow:3.3.2-python3.11

USER root
RUN mkdir -p /opt/regwatch/var && chown -R airflow:root /opt/regwatch
USER airflow

COPY --chown=airflow:root pyproject.toml uv.lock README.md /opt/regwatch/
COPY --chown=airflow:root src /opt/regwatch/src
RUN pip install --no-cache-dir uv \
 && cd /opt/regwatch \
 && uv export --locked --no-dev --no-hashes --no-emit-project \
      --no-emit-package apache-airflow --no-emit-package apache-airflow-core \
      --no-emit-package apache-airflow-task-sdk -o /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && pip install --no-cache-dir --no-deps /opt/regwatch

COPY --chown=airflow:root dbt_project /opt/regwatch/dbt_project
COPY --chown=airflow:root checks /opt/regwatch/checks
COPY --chown=airflow:root reports /opt/regwatch/reports
COPY --chown=airflow:root dags /opt/airflow/dags

ENV REGWATCH_HOME=/opt/regwatch \
    REGWATCH_VAR=/opt/regwatch/var \
    REGWATCH_LANDING=/opt/regwatch/var/landing
