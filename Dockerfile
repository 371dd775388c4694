# One image for every Airflow component and the reference counterparties.
# Pinned dependencies from requirements.lock; the project installed editable so
# schemas/, great_expectations/, dags/ and plugins/ sit next to the code.
# The lock holds the `celery` extra too (apache-airflow-providers-celery and the
# Redis client), so the same image runs the LocalExecutor and, in the compose
# `celery` profile, the CeleryExecutor's workers. tests/integration/airflow/
# test_dockerfile.py runs these pip steps in a fresh virtualenv.
FROM python:3.11-slim-bookworm

# Arrow's allocator for every process in the image, whatever it imports first
# (importing aanlevering sets the same defaults; decisions 0237 and 0311).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARROW_DEFAULT_MEMORY_POOL=jemalloc \
    JE_ARROW_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 \
    MIMALLOC_PURGE_DELAY=0 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow

# The folders a compose volume is mounted on belong to uid 50000, so a new volume
# does too (counterparts-init fills sftp-data and sftp-inbox; decision 0920).
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 50000 aanlevering \
 && mkdir -p /opt/airflow /var/lib/aanlevering /var/lib/ttp /var/lib/registry-holder \
    /etc/aanlevering/secrets /var/lib/sftp /var/lib/sftp-inbox \
 && chown aanlevering /opt/airflow /var/lib/aanlevering /var/lib/ttp /var/lib/registry-holder \
    /etc/aanlevering/secrets /var/lib/sftp /var/lib/sftp-inbox

WORKDIR /opt/aanlevering
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock \
 && pip check

COPY src ./src
COPY schemas ./schemas
COPY great_expectations ./great_expectations
COPY dags ./dags
COPY plugins ./plugins
COPY README.md ./
RUN pip install --no-deps --no-build-isolation -e .
# The project's bytecode, written once here: PYTHONDONTWRITEBYTECODE (above) and a src/
# the tasks' user cannot write would have every task process compile each module it
# imports, 0.2-0.4 s of CPU per task (decision 0742). pip compiled the dependencies.
RUN python -m compileall -q src dags plugins

USER aanlevering
