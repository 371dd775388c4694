"""DAG tests parse the real ``dags/`` folder with a throwaway AIRFLOW_HOME.

Airflow reads its home when first imported, so it is set here, before any
test module imports airflow.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AANLEVERING_CATALOGUE", str(REPO / "schemas" / "catalogue"))
