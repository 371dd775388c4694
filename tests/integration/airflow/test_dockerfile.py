"""The Dockerfile's install steps work from the lock, Celery extra included (no Docker here).

The image is never built in CI, so its Python part is replayed: from its
WORKDIR on, every COPY copies the same files into a temporary folder and every
RUN runs there with a fresh virtualenv's ``bin`` first on PATH (``pip`` is
that virtualenv's pip). What comes before WORKDIR is the Debian base setup
(apt-get, the user, folders), checked to hold no pip step. Then, in the fresh
virtualenv: ``pip check``, the Celery provider and the Redis client import,
every docker-compose.yml service command parses with ``airflow`` /
``aanlevering`` as installed there, and ``airflow celery worker --help`` runs
as an entry point.

Three deliberate differences from ``docker build``: pip reads the lock's
files from a wheelhouse instead of the index (``PIP_NO_INDEX``,
``PIP_FIND_LINKS``; decision 0870): ``pip download -r requirements.lock``
fills it from the index once per lock and interpreter and it is kept under
``~/.cache/aanlevering/wheelhouse`` (``$AANLEVERING_TEST_WHEELHOUSE``), because
pip's own HTTP cache keeps nothing on these machines and fetching the index
pages and files was two thirds of the install's CPU; the RUN steps still
resolve and install the lock as written; the interpreter is this machine's
Python 3.11 instead of the python:3.11-slim image's; and pip does not
byte-compile the ~11,000 modules of the dependencies (``PIP_COMPILE=false``,
decision 0770): that step only warns on a module it cannot compile, so it
cannot fail the install and proves nothing here, yet it was a minute of CPU.
The checks after the install may write bytecode for what they import (the
image's ``PYTHONDONTWRITEBYTECODE`` is kept for the RUN steps), so the second
check does not compile the same Airflow modules again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.wheelhouse import wheelhouse_root

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile"
pytestmark = pytest.mark.slow
IMAGE_ONLY_ENV = {"PIP_NO_CACHE_DIR", "AIRFLOW_HOME"}
#: Test-only: skip pip's byte-compilation of the dependencies (module docstring, 0770).
TEST_ONLY_ENV = {"PIP_COMPILE": "false"}
#: Where the lock's wheelhouse is kept between runs, one folder per lock and interpreter.
WHEELHOUSE_ROOT = wheelhouse_root()


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction; continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


def _env(args: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(args))


def _compose_commands() -> list[list[str]]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    found = []
    for service in compose["services"].values():
        command = service.get("command")
        argv = shlex.split(command) if isinstance(command, str) else list(command or [])
        if argv and argv[0] in {"airflow", "aanlevering"}:
            found.append([str(a) for a in argv])
    return found


def test_the_install_steps_use_the_lock_which_holds_the_celery_extra() -> None:
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    runs = [args for keyword, args in steps if keyword == "RUN"]
    assert any("pip install -r requirements.lock" in run for run in runs), runs
    assert any("pip check" in run for run in runs), runs
    # Only the lock and the project itself (without dependencies) are installed.
    for run in runs:
        for install in re.findall(r"pip install ([^&;]*)", run):
            assert install.strip() in {
                "-r requirements.lock",
                "--no-deps --no-build-isolation -e .",
            }, install
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    pinned = dict(
        line.split("==", 1) for line in lock.splitlines() if "==" in line and "#" not in line
    )
    assert "apache-airflow-providers-celery" in pinned
    assert {"celery", "redis", "kombu"} <= set(pinned)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f"apache-airflow-providers-celery=={pinned['apache-airflow-providers-celery']}" in (
        pyproject
    )


def test_the_install_steps_succeed_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    keywords = [k for k, _ in steps]
    assert "WORKDIR" in keywords
    before = steps[: keywords.index("WORKDIR")]
    after = steps[keywords.index("WORKDIR") + 1 :]
    assert not [a for k, a in before if k == "RUN" and "pip" in a], "a pip step before WORKDIR"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    work = tmp_path / "opt-aanlevering"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AIRFLOW"))}
    for keyword, args in before:
        if keyword == "ENV":
            env.update({k: v for k, v in _env(args).items() if k not in IMAGE_ONLY_ENV})
    env.update(
        {
            "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
            "VIRTUAL_ENV": str(venv),
            "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
            **TEST_ONLY_ENV,
        }
    )
    # The lock's files from the wheelhouse, not the index (module docstring, 0870).
    wheelhouse = _wheelhouse(venv, env)
    env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)})
    for keyword, args in after:
        if keyword == "COPY":
            *sources, target = shlex.split(args)
            for source in sources:
                path = REPO / source
                destination = work / target / path.name if target.endswith("/") else work / target
                destination.parent.mkdir(parents=True, exist_ok=True)
                if path.is_dir():
                    shutil.copytree(path, destination, dirs_exist_ok=True)
                else:
                    shutil.copy2(path, destination)
        elif keyword == "RUN":
            done = subprocess.run(
                ["sh", "-c", args],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            output = (done.stdout + done.stderr)[-4000:]
            assert done.returncode == 0, f"RUN {args}\n{output}"
        else:
            assert keyword in {"USER", "ENV"}, f"not replayed: {keyword} {args}"

    # The checks import what they need from source once and keep its bytecode (docstring).
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    check = _in_venv(venv, env, CHECKS, json.dumps(_compose_commands()))
    assert check == {"bad": [], "celery_app": "airflow.providers.celery.executors.celery_executor"}
    worker = subprocess.run(
        [str(venv / "bin" / "airflow"), "celery", "worker", "--help"],
        env={**env, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert worker.returncode == 0 and "--celery-hostname" in worker.stdout, worker.stderr[-2000:]


def _wheelhouse(venv: Path, env: dict[str, str]) -> Path:
    """The lock's wheels, downloaded from the index once per lock and interpreter (0870).

    ``pip download -r requirements.lock`` resolves the lock against the index as
    the Dockerfile's ``pip install`` does, so the wheelhouse holds what that
    install would fetch (a dependency missing from the lock too). Kept between
    runs: only a changed lock, interpreter or machine downloads again; an
    interrupted download leaves a ``.partial`` folder that is never used.
    """
    lock = (REPO / "requirements.lock").read_bytes()
    interpreter = f"{sys.version_info[0]}.{sys.version_info[1]} {platform.machine()}"
    key = hashlib.sha256(lock + interpreter.encode()).hexdigest()[:24]
    target = WHEELHOUSE_ROOT / key
    if (target / "COMPLETE").is_file():
        target.touch()  # in use: not an old one to clean up
        return target
    partial = WHEELHOUSE_ROOT / f"{key}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "download", "-r", str(REPO / "requirements.lock"),
         "-d", str(partial)],
        env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    (partial / "COMPLETE").write_text(interpreter + "\n", encoding="utf-8")
    for old in WHEELHOUSE_ROOT.iterdir():  # other locks' wheels (200+ MB each) unused for a week
        if old.name != partial.name and time.time() - old.stat().st_mtime > 7 * 86400:
            shutil.rmtree(old, ignore_errors=True)
    try:
        partial.rename(target)
    except OSError:  # another session filled it meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return target


CHECKS = """
import json, sys
import redis  # the broker's client
from airflow.providers.celery.executors import celery_executor
from airflow.cli.cli_parser import get_parser
from aanlevering.cli.main import build_parser
bad = []
parser = get_parser()
for argv in json.loads(sys.argv[1]):
    try:
        if argv[0] == "airflow":
            parser.parse_args(argv[1:])
        else:
            build_parser(argv[1:]).parse_args(argv[1:])
    except SystemExit:
        bad.append(argv)
print(json.dumps({"bad": bad, "celery_app": celery_executor.app.main}))
"""


def _in_venv(venv: Path, env: dict[str, str], script: str, *args: str) -> Any:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, *args],
        cwd=venv,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
