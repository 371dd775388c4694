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
import re
import shutil
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


#: The uid every compose service runs as (docker-compose.yml ``user: "50000"``).
CONTAINER_UID = 50000


def _container_may_read(path: Path) -> bool:
    """Whether uid 50000, neither root nor in the file's group, may read ``path`` (and enter it).

    Its owner bits when it owns the file, else the bits for others, or an ACL
    entry naming it (``getfacl``, when the script gave one).
    """
    info = path.lstat()
    need = 0o5 if path.is_dir() else 0o4
    if info.st_uid == CONTAINER_UID:
        return (info.st_mode >> 6) & need == need
    if info.st_mode & need == need:
        return True
    if shutil.which("getfacl") is None:
        return False  # no ACL tools here: the script could not have set one either
    acl = subprocess.run(
        ["getfacl", "-n", "-p", "--omit-header", str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    entry = re.search(rf"^user:{CONTAINER_UID}:(\S+)", acl, re.MULTILINE)
    return entry is not None and "r" in entry.group(1) and (need == 0o4 or "x" in entry.group(1))


def test_the_containers_may_read_every_demo_file_and_others_none(demo_ehr: Path) -> None:
    """The demo folder is written 0600 (umask 077): as root's, uid 50000 read nothing of it.

    Why: compose mounts it read-only at /data/ehr in containers running as uid
    50000, so every run of the demo stopped at extract on a permission error
    (decision 0921). It stays closed to everyone else.
    """
    paths = [demo_ehr, *demo_ehr.rglob("*")]
    assert len(paths) > 4
    unreadable = [str(p.relative_to(demo_ehr)) for p in paths if not _container_may_read(p)]
    assert unreadable == []
    assert [str(p) for p in paths if p.lstat().st_mode & 0o007] == []
