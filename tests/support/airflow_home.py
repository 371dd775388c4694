"""A migrated SQLite Airflow database, made once per pytest run and copied (decision 0873).

Why: ``airflow db migrate`` of a fresh SQLite file costs about 7 s of CPU (Airflow's
import and every table), and the e2e modules that run ``dag.test()`` each did it
for a home that differs from the others' only in its path. The first module
that asks migrates a template under an exclusive lock in the pytest run's
temporary root (shared by the xdist workers of one run, never by two runs);
every module copies that file into its own AIRFLOW_HOME, so no two modules
share a database. The copy is what ``airflow db migrate`` made: the same
tables, the same Alembic revision, no connections or variables.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def _shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temporary root: the xdist workers' common parent, or the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def migrated_airflow_db(tmp_path_factory: pytest.TempPathFactory, airflow_home: Path) -> Path:
    """Put a migrated ``airflow.db`` into ``airflow_home``; its path (for SQL_ALCHEMY_CONN)."""
    root = _shared_root(tmp_path_factory)
    template = root / "airflow-db-template"
    with (root / "airflow-db-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "migrated").is_file():
            shutil.rmtree(template, ignore_errors=True)
            template.mkdir()
            env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
            env.update(
                {
                    "AIRFLOW_HOME": str(template),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{template / 'airflow.db'}",
                }
            )
            done = subprocess.run(
                [str(BIN / "airflow"), "db", "migrate"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
            (template / "migrated").write_text("airflow db migrate\n", encoding="utf-8")
    airflow_home.mkdir(parents=True, exist_ok=True)
    target = airflow_home / "airflow.db"
    shutil.copyfile(template / "airflow.db", target)
    return target
