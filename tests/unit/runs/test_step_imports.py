"""An Airflow task process starts light: the run-folder steps do not import the readers' pandas.

Each stage runs in its own process on the task path, so every import at start
is paid once per stage (decision 0241); pandas alone was about 2 s of it, and
paramiko, for the SFTP channel only, about 0.1 s of CPU (decision 0522).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


def test_importing_the_steps_does_not_import_pandas_or_great_expectations() -> None:
    code = (
        "import sys\n"
        "from aanlevering.runs.steps import run_stage, start_run\n"
        "import aanlevering.pipeline.operations\n"
        "from aanlevering.extract.model import Extract\n"
        "print(sorted(m for m in ('pandas', 'great_expectations') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.stdout.strip() == "[]"


def test_the_package_still_offers_its_names() -> None:
    import aanlevering.extract as package

    assert callable(package.extract) and callable(package.extract_csv)
    assert package.Extract.__name__ == "Extract"
    try:
        package.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("unknown names must raise AttributeError")


CHANNELS = r"""
import json, os, sys
from dataclasses import replace
from pathlib import Path
from aanlevering.catalogue.loader import load_registration
from aanlevering.runs.ports import default_ports
from aanlevering.settings import load_settings

settings = load_settings()
config = load_registration(os.environ["CATALOGUE"], "dica-dsaa")
ports = default_ports(settings, store=None)
state = {"after_ports": "paramiko" in sys.modules}
outbox = ports.channel_for(config, Path(os.environ["OUTBOX"]))
state["outbox"] = type(outbox).__name__
state["after_outbox"] = "paramiko" in sys.modules
sftp = replace(config, delivery=replace(config.delivery, channel="sftp", endpoint="sftp://rh@host/in"))
channel = ports.channel_for(sftp, None)
state["sftp"] = type(channel).__name__
state["after_sftp"] = "paramiko" in sys.modules
print(json.dumps(state))
"""


def test_a_step_imports_paramiko_only_when_it_builds_an_sftp_channel(tmp_path: Path) -> None:
    """Decision 0522: every task process paid paramiko's import (about 0.1 s of CPU)."""
    key, known_hosts = tmp_path / "id_ed25519", tmp_path / "known_hosts"
    for file in (key, known_hosts):
        file.write_text("not used here\n", encoding="utf-8")
        file.chmod(0o600)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_TTP_URL": "http://127.0.0.1:9",
        "AANLEVERING_TTP_API_KEY": "k" * 32,
        "AANLEVERING_SFTP_KEY_FILE": str(key),
        "AANLEVERING_SFTP_KNOWN_HOSTS": str(known_hosts),
        "CATALOGUE": str(CATALOGUE),
        "OUTBOX": str(tmp_path / "outbox"),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHANNELS], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state == {
        "after_ports": False,
        "outbox": "OutboxChannel",
        "after_outbox": False,
        "sftp": "SftpChannel",  # still built, with its module imported at that moment
        "after_sftp": True,
    }


NO_HTTP = r"""
import json, os, sys
from pathlib import Path
from aanlevering.catalogue.loader import load_registration
from aanlevering.runs.ports import default_ports
from aanlevering.settings import load_settings

settings = load_settings()
config = load_registration(os.environ["CATALOGUE"], "dica-dsaa")
ports = default_ports(settings, store=None)
ports.channel_for(config, Path(os.environ["OUTBOX"]))
state = {"ttp": ports.ttp.base_url, "http": sorted({"requests", "urllib3"} & set(sys.modules))}
ports.ttp.transport.max_retries = 0  # one attempt: nothing listens there
try:
    ports.ttp.health()
except Exception as error:
    state["answer"] = type(error).__name__
state["after_call"] = sorted({"requests", "urllib3"} & set(sys.modules))
print(json.dumps(state))
"""


def test_a_step_imports_requests_only_when_it_talks_to_the_ttp(tmp_path: Path) -> None:
    """Decision 0741: the HTTP stack came into every task process with the catalogue and ports."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_TTP_URL": "http://127.0.0.1:9",
        "AANLEVERING_TTP_API_KEY": "k" * 32,
        "CATALOGUE": str(CATALOGUE),
        "OUTBOX": str(tmp_path / "outbox"),
    }
    done = subprocess.run(
        [sys.executable, "-c", NO_HTTP], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state == {
        "ttp": "http://127.0.0.1:9",
        "http": [],
        "answer": "TTPUnavailable",  # nothing listens there: the client did try
        "after_call": ["requests", "urllib3"],
    }
