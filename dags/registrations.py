"""Delivery DAGs, one per registration in the catalogue, and the supporting DAGs.

Wiring only: the factory reads the catalogue listing (ids, names, frequency,
owner; no dictionaries, no pipeline imports) and every task calls one
``aanlevering`` function when it runs. The catalogue folder comes from
``AANLEVERING_CATALOGUE`` (default: the checkout's ``schemas/catalogue``).

Adding a registration is adding its YAML to the catalogue: its DAG appears at
the next parse and, being ``catchup=True`` from 2026-01-01, delivers every
closed period since the Wkz took effect once it is unpaused.
"""

from __future__ import annotations

from aanlevering.airflow.factory import build_dags

# The Airflow DAG processor collects module-level DAG objects.
globals().update(build_dags())
