"""A delivery DAG with the TTP and registry-holder credentials only in Airflow Connections.

``dag.test()`` of ``deliver-dica-dsaa`` against the real TTP and registry
holder processes of the e2e ``world``, with the TTP in
``AIRFLOW_CONN_AANLEVERING_TTP`` (JSON form, the environment-variable
backend), the registry holder in Airflow's metadata database (``airflow
connections add`` with a URI, encrypted with a Fernet key: another secrets
backend, reached through the Task SDK's execution API), and none of the
``AANLEVERING_TTP_*`` / ``AANLEVERING_REGISTRY_HOLDER_*`` variables;
``AANLEVERING_REQUIRE_CONNECTIONS=true`` so a fall back to the environment
would fail the run. The delivery must be receipted, the logs must
say which source was used, and neither API key may appear in the task logs,
XCom, the event log or any file of the hospital's or Airflow's home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from test_airflow_dag_test import REPO

from aanlevering.deliver.ledger import load_ledger
from aanlevering.pipeline.stages import STAGE_NAMES
from conftest import World
from support.airflow_home import migrated_airflow_db
from support.dag_test_process import RUNNER

pytestmark = pytest.mark.slow
LOGICAL_DATE = "2026-04-01T00:00:00+02:00"  # 2026-Q1 closes
COUNTERPARTY_VARIABLES = ("AANLEVERING_TTP_", "AANLEVERING_REGISTRY_HOLDER_")
CA_TEXT = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n"


def _keys(world: World) -> tuple[str, str]:
    return world.env["AANLEVERING_TTP_API_KEY"], world.holder.api_key


@pytest.fixture(scope="module")
def connections_env(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    ttp_key, holder_key = _keys(world)
    ttp = world.ttp.url.removeprefix("http://")
    ttp_host, ttp_port = ttp.split(":")
    airflow_home = tmp_path_factory.mktemp("airflow-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(COUNTERPARTY_VARIABLES)}
    env.update(
        {
            "AANLEVERING_HOME": str(world.settings.home),
            "AANLEVERING_CATALOGUE": world.env["AANLEVERING_CATALOGUE"],
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AANLEVERING_AIRFLOW_RETRIES": "0",
            "AANLEVERING_INPUT__DICA_DSAA": str(world.demo / "csv-utf8"),
            "AANLEVERING_REQUIRE_CONNECTIONS": "true",
            # A CA bundle as PEM text (unused over loopback http): every task writes it to
            # a private file in AANLEVERING_CREDENTIALS_DIR and must remove it again.
            "AIRFLOW_CONN_AANLEVERING_TTP": json.dumps(
                {
                    "conn_type": "http",
                    "host": ttp_host,
                    "port": int(ttp_port),
                    "password": ttp_key,
                    "extra": {"ca_bundle": CA_TEXT},
                }
            ),
            "AANLEVERING_CREDENTIALS_DIR": str(airflow_home.with_name(f"{airflow_home.name}-keys")),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        }
    )
    assert not [k for k in env if k.startswith(COUNTERPARTY_VARIABLES)]
    # The environment's default key file must not exist either: the connection is the only source.
    assert not (world.settings.secrets_dir / "registry-holder.api-key").exists()
    airflow = str(Path(sys.executable).parent / "airflow")
    migrated_airflow_db(tmp_path_factory, airflow_home)  # once per pytest run (0873)
    uri = f"http://:{quote(holder_key, safe='')}@127.0.0.1:{world.holder.port}"
    subprocess.run(
        [
            airflow,
            "connections",
            "add",
            "aanlevering_registry_holder__dica_dsaa",
            "--conn-uri",
            uri,
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return env


def _dag_test(env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [
            *(sys.executable, "-c", RUNNER, str(REPO / "dags" / "registrations.py")),
            json.dumps([["deliver-dica-dsaa", LOGICAL_DATE, {}]]),  # the runs (decision 0771)
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"dag.test gave no result (exit {done.returncode}):\n{done.stderr[-4000:]}"
    result: dict = json.loads(lines[-1].removeprefix("RESULT "))  # type: ignore[type-arg]
    result["log"] = done.stdout + done.stderr
    return result


def _files_holding(folder: Path, secrets: tuple[str, ...]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            found += [f"{path.name}" for s in secrets if s.encode() in content]
    return found


def test_delivery_dag_with_credentials_only_in_connections_is_receipted(
    world: World, connections_env: dict[str, str]
) -> None:
    result = _dag_test(connections_env)
    assert result["tasks"] == dict.fromkeys(STAGE_NAMES, "success"), result["log"][-4000:]

    with world.store() as store:
        entry = load_ledger(store).current("dica-dsaa", "2026-Q1")
    assert entry is not None and entry.status == "receipted" and entry.receipt_id
    assert "demo-hospital.dica-dsaa.2026-Q1.v1" in [
        e["idempotency_key"] for e in world.holder.ledger()
    ]

    log = result["log"]
    assert "TTP: endpoint and credentials from Airflow connection 'aanlevering_ttp'" in log
    assert (
        "registry holder of dica-dsaa: endpoint and credentials from Airflow connection "
        "'aanlevering_registry_holder__dica_dsaa'"
    ) in log
    assert "from the environment" not in log

    secrets = _keys(world)
    xcoms = json.dumps(result["xcoms"])
    assert [s for s in secrets if s in log] == []
    assert [s for s in secrets if s in xcoms] == []
    with world.store() as store:
        events = json.dumps([e.payload for e in store.read_all()], default=str)
    assert "2026-Q1" in events and [s for s in secrets if s in events] == []
    # No file of the hospital's home (event log, staging, reports) or of Airflow's home
    # (metadata database with XCom and the encrypted connection, task logs) holds either key.
    assert _files_holding(world.settings.home, secrets) == []
    assert _files_holding(Path(connections_env["AIRFLOW_HOME"]), secrets) == []
    # The PEM text was written for the tasks (the folder exists) and removed by each of them.
    credentials = Path(connections_env["AANLEVERING_CREDENTIALS_DIR"])
    assert credentials.is_dir() and list(credentials.iterdir()) == []
