#!/usr/bin/env bash
# First start of the PostgreSQL container: one database per concern, each with
# its own role: Airflow's metadata, and the append-only event log of aanlevering.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE airflow LOGIN PASSWORD '${AIRFLOW_DB_PASSWORD}';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE aanlevering LOGIN PASSWORD '${EVENTS_DB_PASSWORD}';
CREATE DATABASE events OWNER aanlevering;
SQL
