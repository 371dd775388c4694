"""The Airflow plugin: the Deliveries page in the nav and as a tab of every DAG.

The page app (:mod:`aanlevering.airflow.deliveries_page`) is mounted under
``/deliveries`` and authenticated with Airflow's own user dependency, so
only a logged-in Airflow user (valid JWT) sees it.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/deliveries"


def _app() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    from aanlevering.airflow.deliveries_page import create_app

    return create_app(get_user)


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
