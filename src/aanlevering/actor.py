"""Who runs the pipeline: the actor recorded on the hospital's delivery events (NEN 7513 "who").

A delivery is sent on someone's behalf; the event log says whose. In order:
``AANLEVERING_ACTOR`` when set (a service account's name, say); under
Airflow ``airflow:<dag id>/<run id>`` plus the user who triggered the run
when Airflow knows one; otherwise ``os:<login name>`` of the process. The
value is cut to printable ASCII without spaces and 200 characters, so
nothing odd reaches the log.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping

ACTOR_ENV = "AANLEVERING_ACTOR"
_UNSAFE = re.compile(r"[^A-Za-z0-9._:@/+=-]")


def _clean(value: str) -> str:
    return _UNSAFE.sub("_", value)[:200]


def _triggering_user() -> str | None:
    """The user who triggered the running Airflow DAG run, if this is a task that knows one."""
    try:
        from airflow.sdk import get_current_context

        dag_run = get_current_context().get("dag_run")
    except Exception:
        return None
    user = getattr(dag_run, "triggering_user_name", None)
    return str(user) if user else None


def current_actor(env: Mapping[str, str] | None = None) -> str:
    """The actor of this process (see the module docstring)."""
    env = os.environ if env is None else env
    explicit = env.get(ACTOR_ENV)
    if explicit:
        return _clean(explicit)
    dag_id, run_id = env.get("AIRFLOW_CTX_DAG_ID"), env.get("AIRFLOW_CTX_DAG_RUN_ID")
    if dag_id and run_id:
        actor = f"airflow:{dag_id}/{run_id}"
        user = _triggering_user()
        return _clean(f"{actor}:user={user}" if user else actor)
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with arbitrary uids)
        login = f"uid-{os.getuid()}"
    return _clean(f"os:{login}")
