"""The Airflow plugin: the Deliveries page in the nav and as a tab of every DAG.

The page app (:mod:`aanlevering.airflow.deliveries_page`) is mounted under
``/deliveries`` and authenticated with Airflow's own user dependency, so
only a logged-in Airflow user (valid JWT) sees it, and of it only the
registrations whose DAG that user may read (DAG-level access of the auth
manager).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/deliveries"


def readable_registrations(user: Any, registrations: Collection[str]) -> set[str]:
    """The registrations whose delivery DAG ``user`` may read, per Airflow's auth manager."""
    from airflow.api_fastapi.app import get_auth_manager

    from aanlevering.airflow.factory import dag_id_for

    dag_ids = {dag_id_for(registration): registration for registration in registrations}
    allowed = get_auth_manager().filter_authorized_dag_ids(
        dag_ids=set(dag_ids), user=user, method="GET"
    )
    return {dag_ids[dag_id] for dag_id in allowed if dag_id in dag_ids}


def _app() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    from aanlevering.airflow.deliveries_page import create_app

    return create_app(get_user, readable_registrations)


class DeliveriesPlugin(AirflowPlugin):
    """Adds the Deliveries page (nav entry and per-DAG tab)."""

    name = "aanlevering_deliveries"
    fastapi_apps = [{"app": _app(), "url_prefix": URL_PREFIX, "name": "Deliveries"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "Deliveries",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "deliveries",
            "category": "browse",
        },
        {
            "name": "Deliveries",
            "href": f"{URL_PREFIX}/?dag_id={{DAG_ID}}",
            "destination": "dag",
            "url_route": "deliveries-dag",
        },
    ]
