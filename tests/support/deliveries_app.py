"""The Deliveries page app as a real server for tests, with its two ports filled in.

Airflow's ``get_user`` and auth manager cannot run without a whole Airflow, so
here a bearer token (header or ``_token`` cookie, as Airflow's UI sets it)
names a user, and ``DELIVERIES_TEST_ACCESS`` (JSON: user -> registrations)
says which registrations' DAGs each user may read. Run with uvicorn:
``python -m uvicorn support.deliveries_app:app --port N``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection

from fastapi import FastAPI, HTTPException, Request

from aanlevering.airflow.deliveries_page import create_app

ACCESS: dict[str, list[str]] = json.loads(os.environ.get("DELIVERIES_TEST_ACCESS", "{}"))


def authenticate(request: Request) -> str:
    """The user named by the token ``token-<user>``; 401 otherwise."""
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ") if header else request.cookies.get("_token", "")
    user = token.removeprefix("token-")
    if not token.startswith("token-") or user not in ACCESS:
        raise HTTPException(status_code=401, detail="Not authenticated")
    return user


def readable(user: str, registrations: Collection[str]) -> set[str]:
    """The registrations this user may read."""
    return set(registrations) & set(ACCESS.get(user, ()))


app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    """Ready."""
    return {"status": "ok"}


app.mount("/deliveries", create_app(authenticate, readable))
