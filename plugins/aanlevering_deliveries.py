"""Airflow plugin entry: the Deliveries page (see ``aanlevering.airflow.plugin``)."""

from __future__ import annotations

from aanlevering.airflow.plugin import DeliveriesPlugin

__all__ = ["DeliveriesPlugin"]
