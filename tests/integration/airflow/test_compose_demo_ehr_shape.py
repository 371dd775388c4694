"""The compose demo's EHR folder has the shape compose reads: one subfolder per registration.

docker-compose.yml sets ``AANLEVERING_INPUT_DIR=/data/ehr`` and mounts
``AANLEVERING_EHR_DIR`` there; a run reads ``/data/ehr/<registration id>``. The example
``.env`` pointed at ``./var/demo/clean``, the demo data laid out by format
(``csv-utf8/``, ``fhir-bulk/...``), so every compose demo run stopped: no input
(decision 0712). ``make demo-ehr`` (scripts/demo-ehr.sh) now lays the demo data out
in compose's shape, and the example ``.env`` points there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.extract.api import extract
from aanlevering.periods import Period
from aanlevering.runs.inputs import input_path_for

REPO = Path(__file__).resolve().parents[3]


def _example_env() -> dict[str, str]:
    lines = (REPO / "deploy" / "compose.env.example").read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


def _airflow_env(compose: dict[str, Any]) -> dict[str, str]:
    env = compose["services"]["scheduler"]["environment"]
    return {str(k): str(v) for k, v in env.items()}


@pytest.fixture(scope="module")
def demo_ehr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scripts/demo-ehr.sh run for real, with a home of its own and a few patients."""
    home = tmp_path_factory.mktemp("compose-demo") / "var"
    env = {
        **os.environ,
        "AANLEVERING_HOME": str(home),
        "AANLEVERING_DEMO_PATIENTS": "30",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo-ehr.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    example = _example_env()["AANLEVERING_EHR_DIR"]
    assert example.startswith("./var/"), example  # relative to the checkout, like its var/
    return home / example.removeprefix("./var/")


def test_every_registration_finds_its_export_where_compose_looks(demo_ehr: Path) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    env = _airflow_env(compose)
    mounted = env["AANLEVERING_INPUT_DIR"]
    assert mounted == "/data/ehr"
    catalogue = load_catalogue(REPO / "schemas" / "catalogue")
    found = {}
    for config in catalogue:
        # The container's /data/ehr is the example's AANLEVERING_EHR_DIR on the host.
        path = input_path_for(config, {"AANLEVERING_INPUT_DIR": str(demo_ehr)})
        result = extract(config, path, Period.parse("2026"))
        found[config.id] = sum(d.num_rows for d in result.datasets.values())
    assert found and all(count > 0 for count in found.values()), found


def test_the_opt_out_export_is_where_compose_reads_it(demo_ehr: Path) -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    source = _airflow_env(compose)["AANLEVERING_OPTOUT_SOURCE"]
    assert source == "${AANLEVERING_OPTOUT_SOURCE:-/data/ehr/optouts.csv}"
    assert (demo_ehr / "optouts.csv").is_file()
