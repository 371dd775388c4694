"""docker-compose.yml is valid Compose and coherent with the code (no Docker engine here).

Validated against the official Compose Specification JSON Schema kept in the
shared folder next to the repository (``../shared/schemas/compose-spec.json``);
then: the services of the production shape exist, bind-mounted paths exist,
every AANLEVERING_* variable is read by the code, every AIRFLOW__* variable is
a real Airflow option, and every command is a real ``aanlevering`` or
``airflow`` subcommand (parsed by their own argument parsers).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aanlevering.cli.main import build_parser

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "docker-compose.yml"
SCHEMA = REPO.parent / "shared" / "schemas" / "compose-spec.json"
CORE_SERVICES = {
    "postgres",
    "airflow-init",
    "api-server",
    "scheduler",
    "dag-processor",
    "triggerer",
    "ttp",
    "registry-holder",
    "sftp",  # the registry holder's SFTP drop, for ldtr (decision 0920)
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _commands(compose: dict[str, Any]) -> list[list[str]]:
    """Every aanlevering/airflow invocation, also inside ``sh -c`` scripts."""
    found: list[list[str]] = []
    for service in compose["services"].values():
        command = service.get("command")
        if not command:
            continue
        argv = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        if argv[:2] == ["sh", "-c"]:
            for part in re.split(r"&&|\|\|", argv[2]):
                words = shlex.split(part)
                if words and words[0] in {"aanlevering", "airflow"}:
                    found.append(words)
        else:
            found.append(argv)
    return found


def test_the_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        pytest.fail(
            f"Compose Specification schema not found at {SCHEMA}: the repository's parent folder "
            "must hold shared/schemas/compose-spec.json (the official JSON Schema)"
        )
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert "draft-07" in schema["$schema"]  # written without the trailing '#': name it here
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_production_shape_has_every_component_and_a_celery_profile(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) >= CORE_SERVICES
    for name in CORE_SERVICES:
        assert "profiles" not in services[name], name
    assert services["redis"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["command"][:3] == ["airflow", "celery", "worker"]
    env = _environment(services["scheduler"])
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
    assert env["AANLEVERING_EVENT_STORE"].startswith("postgresql://")
    assert env["AANLEVERING_EVENT_STORE"].endswith("/events")
    init = (REPO / "deploy" / "postgres" / "init-databases.sh").read_text(encoding="utf-8")
    assert "CREATE DATABASE airflow" in init and "CREATE DATABASE events" in init


def test_bind_mounts_exist_and_airflow_reads_the_mounted_dags_and_plugins(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        mounts = {}
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source} does not exist"
            mounts[target] = source
        env = _environment(service)
        if "AIRFLOW__CORE__DAGS_FOLDER" in env:
            assert mounts[env["AIRFLOW__CORE__DAGS_FOLDER"]] == "./dags", name
            assert mounts[env["AIRFLOW__CORE__PLUGINS_FOLDER"]] == "./plugins", name
            assert mounts[env["AANLEVERING_CATALOGUE"]] == "./schemas/catalogue", name
    assert (REPO / "dags" / "registrations.py").is_file()
    assert (REPO / "Dockerfile").is_file()
    assert "requirements.lock" in (REPO / "Dockerfile").read_text(encoding="utf-8")


def test_every_aanlevering_variable_is_read_by_the_code(compose: dict[str, Any]) -> None:
    # The code, and the registration configs (endpoints use ${VAR:-default}).
    files = [*(REPO / "src").rglob("*.py"), *(REPO / "schemas" / "catalogue").rglob("*.yaml")]
    code = "\n".join(p.read_text(encoding="utf-8") for p in files)
    names = {
        key
        for service in compose["services"].values()
        for key in _environment(service)
        if key.startswith("AANLEVERING_")
    }
    assert names
    unused = sorted(n for n in names if not any(f in code for f in (f'"{n}"', f"{n}:", "${" + n)))
    assert unused == []


def test_every_airflow_variable_is_an_airflow_option_and_every_command_parses(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    options = sorted(
        {
            key
            for service in compose["services"].values()
            for key in _environment(service)
            if key.startswith("AIRFLOW__")
        }
    )
    commands = _commands(compose)
    airflow_commands = [c[1:] for c in commands if c[0] == "airflow"]
    # The Celery provider is in the lock (the image and this venv): its options
    # ([celery] section) and `airflow celery worker` are checked like the rest.
    assert {o for o in options if o.startswith("AIRFLOW__CELERY__")} >= {
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
    }
    assert ["celery", "worker"] in airflow_commands
    for argv in (c[1:] for c in commands if c[0] == "aanlevering"):
        build_parser(argv).parse_args(argv)  # SystemExit on an unknown command or option
    assert {tuple(c[:1]) for c in airflow_commands} >= {
        ("api-server",),
        ("scheduler",),
        ("dag-processor",),
        ("triggerer",),
        ("db",),
        ("celery",),
    }
    script = """
import json, sys
from airflow.configuration import conf
from airflow.cli.cli_parser import get_parser
options, commands = json.loads(sys.argv[1]), json.loads(sys.argv[2])
described = conf.configuration_description
unknown = []
for name in options:
    _, section, key = name.split("__", 2)
    if key.lower() not in described.get(section.lower(), {}).get("options", {}):
        unknown.append(name)
bad = []
parser = get_parser()
for argv in commands:
    try:
        parser.parse_args(argv)
    except SystemExit:
        bad.append(argv)
print(json.dumps({"unknown": unknown, "bad": bad}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(options), json.dumps(airflow_commands)],
        env={"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"unknown": [], "bad": []}


def test_services_that_run_tasks_can_use_a_secrets_backend(compose: dict[str, Any]) -> None:
    # Connections come from a secrets backend in production (docs/airflow.md): every
    # service that runs or parses tasks must be able to be pointed at it.
    for name in ("scheduler", "airflow-worker", "dag-processor", "api-server", "triggerer"):
        env = _environment(compose["services"][name])
        assert env.get("AIRFLOW__SECRETS__BACKEND") == "${AIRFLOW_SECRETS_BACKEND:-}", name
        assert "AIRFLOW__SECRETS__BACKEND_KWARGS" in env, name


def test_the_hospitals_id_and_ehr_folder_have_no_demo_default(compose: dict[str, Any]) -> None:
    """Decision 0706: an unset value stops ``docker compose`` instead of meaning the demo.

    Why: with ``${AANLEVERING_EHR_DIR:-./var/demo/clean}`` a deployment without the
    setting mounted the checkout's demo data as the hospital's EHR folder (its
    ``optouts.csv`` as the opt-out export), and ``${AANLEVERING_PROVIDER_ID:-demo-hospital}``
    bound the event log to the demo hospital's id (0452) on the first run.
    """
    seen_provider = seen_ehr = 0
    for name, service in compose["services"].items():
        provider = _environment(service).get("AANLEVERING_PROVIDER_ID")
        if provider is not None:
            seen_provider += 1
            assert provider.startswith("${AANLEVERING_PROVIDER_ID:?"), name
        for volume in service.get("volumes", []):
            if str(volume).endswith(":/data/ehr:ro"):
                seen_ehr += 1
                assert str(volume).startswith("${AANLEVERING_EHR_DIR:?"), name
                assert "demo" not in str(volume), name
    assert seen_provider >= 6 and seen_ehr >= 6  # every Airflow service and counterparts-init
