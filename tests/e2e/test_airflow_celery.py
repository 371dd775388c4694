"""Airflow as production runs it: CeleryExecutor, Redis broker, PostgreSQL, two workers.

Real processes on loopback: a throwaway Redis (the broker) and PostgreSQL
(Airflow's metadata, Celery's results and the aanlevering event store, each in
a database of its own), ``airflow api-server``, ``scheduler``,
``dag-processor`` and two ``airflow celery worker`` s with distinct Celery
node names (``-n``), one task at a time each, plus the e2e ``world``'s TTP
and registry holder. The Airflow commands and the Celery settings are those of
docker-compose.yml's ``celery`` profile (checked here), with test ports.

Two registrations are backfilled from the REST API, one after the other:
dica-dsaa 2026-Q1 (https to the registry holder) and ldtr 2026-02 (outbox).
Both end receipted in the ledger of the PostgreSQL event store, and the tasks
of each run ran on both workers (read from each worker's own log), handing
the run folder to each other on the shared staging path
(``$AANLEVERING_HOME/staging/<provider>/<registration>/<period>/run-<run id>``),
which is removed after the receipt. The scheduler does not schedule the DAGs'
catch-up runs (``[scheduler] use_job_schedule = False``), so only the
backfill runs exist. On a failure the assertion carries the tail of every
component's log.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import yaml
from celery import Celery
from cryptography.fernet import Fernet
from psycopg import sql

from aanlevering.deliver.ledger import load_ledger
from aanlevering.events.factory import open_event_store
from aanlevering.pipeline.stages import STAGE_NAMES
from conftest import World, identity_values
from support.redis_server import RedisServer, start_redis
from support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.slow]
BIN = Path(sys.executable).parent
WORKERS = ("worker1", "worker2")
STARTUP_SECONDS = 240
RUN_SECONDS = 300
FINISHED = {"success", "failed", "skipped", "upstream_failed"}
# What is backfilled: registration -> (from/to date = the period's data interval start, period).
BACKFILLS = {
    "dica-dsaa": ("2026-01-01T00:00:00+01:00", "2026-Q1"),
    "ldtr": ("2026-02-01T00:00:00+01:00", "2026-02"),
}


def compose_celery_profile() -> tuple[list[str], set[str]]:
    """docker-compose.yml's worker command and the AIRFLOW__ settings it gives the worker."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    worker = compose["services"]["airflow-worker"]
    return [str(c) for c in worker["command"]], {
        k for k in worker["environment"] if k.startswith("AIRFLOW__")
    }


@dataclass
class Cluster:
    """The running components, their logs and an API token."""

    url: str
    token: str
    home: Path
    logs: dict[str, Path]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis: RedisServer | None = None
    events_url: str = ""
    env: dict[str, str] = field(default_factory=dict)  # what every component runs with
    nodes: dict[str, str] = field(default_factory=dict)  # worker -> Celery node name
    celery: Any = None  # a Celery client app on the broker, for remote control

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = requests.request(
            method,
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )
        self.check(answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json()

    def log_tails(self, lines: int = 40) -> str:
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            parts.append(f"--- {name} ({path}) ---\n" + "\n".join(text.splitlines()[-lines:]))
        if self.redis is not None:
            parts.append("--- redis ---\n" + self.redis.log_tail(10))
        return "\n".join(parts)

    def check(self, condition: bool, message: str) -> None:
        """Assert with every component's log tail attached."""
        if not condition:
            raise AssertionError(f"{message}\n{self.log_tails()}")

    def dead(self) -> list[str]:
        return [
            f"{name} exited with {p.returncode}"
            for name, p in self.processes.items()
            if p.poll() is not None
        ]


def _database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the test server; its URL (same server, same user)."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def _drop(admin_url: str, *names: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the component's own process group (its children too), then SIGKILL."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(
    world: World, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("celery")
    suffix = uuid.uuid4().hex[:8]
    names = (f"airflow_{suffix}", f"events_{suffix}")
    airflow_db = _database(postgres_url, names[0])
    events_url = _database(postgres_url, names[1])
    redis = start_redis(root / "redis")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    airflow_home = root / "airflow"
    airflow_home.mkdir()
    password = uuid.uuid4().hex
    (airflow_home / "passwords.json").write_text(json.dumps({"admin": password}))
    alchemy = airflow_db.replace("postgresql://", "postgresql+psycopg://", 1)
    # Nothing of Airflow's from the test process (another test's AIRFLOW_HOME, connections).
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env = {
        **inherited,
        **world.env,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_home / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": alchemy,
        # Airflow 3 also opens an async engine; by default it would want asyncpg for
        # postgresql://. psycopg 3 (in the lock) is async too: SQLAlchemy picks its async mode.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": alchemy,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        # Every component signs or checks the same tokens: one secret for all of them.
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CELERY__BROKER_URL": redis.url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + alchemy,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
        # As compose gives them without a secrets backend configured (its default).
        "AIRFLOW__SECRETS__BACKEND": "",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": "",
        # Fast and small for 2 cores: short loops, no catch-up scheduling, no health server.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AANLEVERING_EVENT_STORE": events_url,
        "AANLEVERING_AIRFLOW_RETRIES": "0",
        "AANLEVERING_INPUT__DICA_DSAA": str(world.demo / "csv-utf8"),
        "AANLEVERING_INPUT__LDTR": str(world.demo / "csv-utf8"),
        "AANLEVERING_OUTBOX__LDTR": str(world.home / "outbox"),
    }
    worker_command, _ = compose_celery_profile()
    commands = {
        "api-server": [str(BIN / "airflow"), "api-server", "--port", str(port)],
        "scheduler": [str(BIN / "airflow"), "scheduler"],
        "dag-processor": [str(BIN / "airflow"), "dag-processor"],
    }
    for name in WORKERS:
        # Compose's worker command; here two on one machine: distinct node names, and no
        # log server (they would share its port; the api-server reads the shared log folder).
        commands[name] = [
            str(BIN / worker_command[0]), *worker_command[1:],
            "--celery-hostname", f"{name}@%h", "--concurrency", "1",
            "--skip-serve-logs", "--without-mingle", "--without-gossip",
        ]  # fmt: skip
    logs = {name: root / f"{name}.log" for name in ("db-migrate", *commands)}
    cluster = Cluster(url, "", airflow_home, logs, redis=redis, events_url=events_url, env=env)
    try:
        with logs["db-migrate"].open("wb") as log:
            migrated = subprocess.run(
                [str(BIN / "airflow"), "db", "migrate"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=300,
                check=False,
            )
        cluster.check(migrated.returncode == 0, "airflow db migrate failed")
        decided = subprocess.run(
            [
                sys.executable, "-m", "aanlevering.cli.main", "register", "decide",
                "--registration", "ldtr", "--decision", "included", "--decided-on", "2026-03-01",
                "--effective-from", "2026-03-01", "--term-years", "5",
            ],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert decided.returncode == 0, decided.stderr
        for name, argv in commands.items():
            with logs[name].open("wb") as log:
                cluster.processes[name] = subprocess.Popen(
                    argv,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # own process group: stopped with its children
                )
        _wait_until_ready(cluster, password)
        cluster.celery = Celery(broker=redis.url)
        yield cluster
    finally:
        for process in cluster.processes.values():
            _stop(process)
        redis.stop()
        _drop(postgres_url, *names)


def _wait_until_ready(cluster: Cluster, password: str) -> None:
    """Bounded: the API answers, both workers said ready and every delivery DAG is parsed."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        cluster.check(not cluster.dead(), f"a component died during startup: {cluster.dead()}")
        if not cluster.token:
            try:
                answer = requests.post(
                    f"{cluster.url}/auth/token",
                    json={"username": "admin", "password": password},
                    timeout=5,
                )
                if answer.ok:
                    cluster.token = answer.json()["access_token"]
            except requests.RequestException:
                pass
        for name in WORKERS:
            found = re.search(
                rf"({name}@\S+) ready", cluster.logs[name].read_text(errors="replace")
            )
            if found:
                cluster.nodes[name] = found.group(1)
        if cluster.token and len(cluster.nodes) == len(WORKERS):
            dags = cluster.api("GET", "/dags", params={"dag_id_pattern": "deliver-%"})["dags"]
            if {f"deliver-{r}" for r in BACKFILLS} <= {d["dag_id"] for d in dags}:
                return
        time.sleep(1)
    cluster.check(False, f"Airflow with Celery not ready within {STARTUP_SECONDS}s")


def _consume(cluster: Cluster, worker: str, on: bool) -> None:
    """Let ``worker`` take tasks from Airflow's default queue or stop it (Celery remote control).

    ``cancel_consumer`` is how a worker is drained (e.g. before a rolling restart):
    it finishes what it runs and takes nothing new.
    """
    node = cluster.nodes[worker]
    control = cluster.celery.control
    if on:
        replies = control.add_consumer("default", destination=[node], reply=True, timeout=10)
    else:
        replies = control.cancel_consumer("default", destination=[node], reply=True, timeout=10)
    cluster.check(any(node in reply for reply in replies), f"{worker} did not answer: {replies}")


def _backfill(cluster: Cluster, registration: str, first: str, then: str) -> dict[str, Any]:
    """Backfill the registration's period: its first task on worker ``first``, the rest on ``then``.

    Only ``first`` consumes when the backfill is created; once the run's first
    task has succeeded, ``then`` starts consuming and ``first`` is drained.
    """
    dag_id = f"deliver-{registration}"
    date = BACKFILLS[registration][0]
    backfill = cluster.api(
        "POST",
        "/backfills",
        json={"dag_id": dag_id, "from_date": date, "to_date": date, "max_active_runs": 1},
    )
    cluster.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    deadline = time.monotonic() + RUN_SECONDS
    runs: list[dict[str, Any]] = []
    switched = False
    while time.monotonic() < deadline:
        cluster.check(not cluster.dead(), f"a component died: {cluster.dead()}")
        runs = cluster.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]
        if runs and not switched:
            path = f"/dags/{dag_id}/dagRuns/{runs[0]['dag_run_id']}/taskInstances/{STAGE_NAMES[0]}"
            if cluster.api("GET", path)["state"] in FINISHED:
                _consume(cluster, then, True)
                _consume(cluster, first, False)
                switched = True
        if runs and all(r["state"] in {"success", "failed"} for r in runs):
            break
        time.sleep(1)
    else:
        cluster.check(False, f"backfill of {dag_id} not done in {RUN_SECONDS}s: {runs}")
    cluster.check(len(runs) == 1, f"expected the one backfill run of {dag_id}: {runs}")
    run = runs[0]
    path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances"
    tasks = {t["task_id"]: t for t in cluster.api("GET", path)["task_instances"]}
    states = {task: t["state"] for task, t in tasks.items()}
    cluster.check(
        run["run_type"] == "backfill" and states == dict.fromkeys(STAGE_NAMES, "success"),
        f"{dag_id} run {run['dag_run_id']} ({run['run_type']}, backfill {backfill['id']}): "
        f"{states}",
    )
    xcom = cluster.api("GET", f"{path}/{STAGE_NAMES[0]}/xcomEntries/return_value")["value"]
    return {"run": run, "run_dir": xcom["run_dir"] if isinstance(xcom, dict) else xcom}


def _tasks_by_worker(cluster: Cluster, dag_id: str, run_id: str) -> dict[str, set[str]]:
    """Which tasks of the run each worker executed, from the worker's own log."""
    found: dict[str, set[str]] = {}
    for name in WORKERS:
        text = cluster.logs[name].read_text(errors="replace")
        found[name] = {
            match.group(1)
            for line in text.splitlines()
            if "Executing workload in Celery" in line and dag_id in line and run_id in line
            for match in [re.search(r"task_id='([^']+)'", line)]
            if match
        }
    return found


def test_compose_celery_profile_is_what_this_test_runs(cluster: Cluster) -> None:
    command, options = compose_celery_profile()
    assert command == ["airflow", "celery", "worker"]
    # Every Airflow setting compose gives the workers is set here too (with test values),
    # among them the async database engine this test found missing.
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC" in options
    assert sorted(options - set(cluster.env)) == []


def test_the_compose_worker_healthcheck_pings_each_worker(cluster: Cluster) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    kind, script = compose["services"]["airflow-worker"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    # Compose turns $$ into $; a container's worker is celery@$HOSTNAME, these two are
    # worker1@<host> and worker2@<host> (two on one machine).
    script = script.replace("$$", "$").replace('"celery@${HOSTNAME}"', '"$NODE"')
    assert "$NODE" in script
    for worker, node in cluster.nodes.items():
        done = subprocess.run(
            ["sh", "-c", script],
            env={**cluster.env, "PATH": f"{BIN}:{os.environ['PATH']}", "NODE": node},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = done.stdout + done.stderr
        cluster.check(done.returncode == 0 and "pong" in output, f"{worker}: {output[-2000:]}")
    # And it fails for a worker that does not exist.
    done = subprocess.run(
        ["sh", "-c", script],
        env={**cluster.env, "PATH": f"{BIN}:{os.environ['PATH']}", "NODE": "nobody@nowhere"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0


def test_backfills_of_two_registrations_run_on_both_celery_workers_to_receipts(
    world: World, cluster: Cluster
) -> None:
    # Which worker starts a run and which takes over after its first task: each way once.
    handover = {"dica-dsaa": ("worker1", "worker2"), "ldtr": ("worker2", "worker1")}
    _consume(cluster, "worker2", False)
    for registration, (_date, period) in BACKFILLS.items():
        dag_id = f"deliver-{registration}"
        first, then = handover[registration]
        done = _backfill(cluster, registration, first, then)
        run_id = done["run"]["dag_run_id"]

        # The run folder is on the shared staging path, named after the Airflow run ...
        run_dir = Path(done["run_dir"])
        staging = world.settings.staging_dir / world.settings.provider_id / registration / period
        cluster.check(run_dir.parent == staging, f"run folder {run_dir} not under {staging}")
        assert run_dir.name.startswith("run-") and "backfill" in run_dir.name
        # ... which the workers handed to each other: tasks of this one run ran on both.
        by_worker = _tasks_by_worker(cluster, dag_id, run_id)
        cluster.check(
            STAGE_NAMES[0] in by_worker[first]
            and STAGE_NAMES[-1] in by_worker[then]
            and set().union(*by_worker.values()) == set(STAGE_NAMES),
            f"{dag_id}: tasks per worker {by_worker}",
        )
        assert not run_dir.exists()  # removed after the receipt (it holds identifiers)

        with open_event_store(cluster.events_url) as store:
            entry = load_ledger(store).current(registration, period)
        assert entry is not None and entry.status == "receipted" and entry.receipt_id, entry
        key = f"demo-hospital.{registration}.{period}.v1"
        assert entry.idempotency_key == key

    # dica-dsaa went over https: the registry holder has it; ldtr into its outbox.
    assert "demo-hospital.dica-dsaa.2026-Q1.v1" in [
        e["idempotency_key"] for e in world.holder.ledger()
    ]
    outbox = world.home / "outbox" / world.settings.provider_id  # decision 0400
    assert (outbox / "ldtr" / "2026-02" / "v1" / "manifest.json").is_file()
    # Nothing in the components' logs or the task logs identifies a patient.
    task_logs = sorted((cluster.home / "logs").rglob("*.log"))
    assert len(task_logs) >= 2 * len(STAGE_NAMES)
    logs = "".join(p.read_text(errors="replace") for p in [*cluster.logs.values(), *task_logs])
    leaked = [v for v in identity_values(world.demo) if len(v) >= 6 and v in logs]
    assert leaked == []
