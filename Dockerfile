# One image for every Airflow component and the reference counterparties.
# Pinned dependencies from requirements.lock; the project installed editable so
# schemas/, great_expectations/, dags/ and plugins/ sit next to the code.
# Build arg AIRFLOW_EXTRA_PACKAGES adds e.g. the Celery provider for the
# `celery` compose profile (not in the lock: the embedded default needs none).
FROM python:3.11-slim-bookworm

ARG AIRFLOW_EXTRA_PACKAGES=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow

RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 50000 aanlevering \
 && mkdir -p /opt/airflow /var/lib/aanlevering /var/lib/ttp /var/lib/registry-holder \
    /etc/aanlevering/secrets \
 && chown aanlevering /opt/airflow /var/lib/aanlevering /var/lib/ttp /var/lib/registry-holder \
    /etc/aanlevering/secrets

WORKDIR /opt/aanlevering
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock \
 && if [ -n "$AIRFLOW_EXTRA_PACKAGES" ]; then pip install $AIRFLOW_EXTRA_PACKAGES; fi

COPY src ./src
COPY schemas ./schemas
COPY great_expectations ./great_expectations
COPY dags ./dags
COPY plugins ./plugins
COPY README.md ./
RUN pip install --no-deps --no-build-isolation -e .

USER aanlevering
