"""`make test` and `make run` compile the project before anything imports it (decision 0833).

Why: with ``PYTHONDONTWRITEBYTECODE=1`` (set on the CI machines and in the
image) nothing writes the project's ``.pyc``, so every CLI run, reference
server and Airflow task process a test starts compiled each aanlevering module
it imported from source, about 0.5 s of CPU a process, hundreds of processes
a suite. compileall writes the files whatever that variable says.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _dry_run(target: str) -> list[str]:
    """The commands ``make -n TARGET`` would run, in order (nothing is run)."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def _compile_command(commands: list[str]) -> tuple[int, str]:
    found = [(i, c) for i, c in enumerate(commands) if "-m compileall" in c]
    assert len(found) == 1, commands
    return found[0]


def test_make_test_compiles_the_project_before_pytest() -> None:
    commands = _dry_run("test")
    at, command = _compile_command(commands)
    pytest_at = next(i for i, c in enumerate(commands) if "-m pytest" in c)
    assert at < pytest_at, commands
    assert {"src", "dags", "plugins", "tests/support"} <= set(shlex.split(command))


def test_make_run_compiles_the_project_before_it_starts() -> None:
    commands = _dry_run("run")
    at, _ = _compile_command(commands)
    started = next(i for i, c in enumerate(commands) if "scripts/run.sh" in c)
    assert at < started, commands


def test_after_the_compile_step_a_process_compiles_no_module_of_the_project(
    tmp_path: Path,
) -> None:
    _, command = _compile_command(_dry_run("test"))
    copy = tmp_path / "checkout"
    for name in ("src", "dags", "plugins", "tests/support"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(copy / "src")}
    probe = (
        "import importlib.machinery, sys\n"
        "compiled = []\n"
        "original = importlib.machinery.SourceFileLoader.source_to_code\n"
        "def counting(self, data, path, *args, **kwargs):\n"
        "    compiled.append(str(path))\n"
        "    return original(self, data, path, *args, **kwargs)\n"
        "importlib.machinery.SourceFileLoader.source_to_code = counting\n"
        "import aanlevering.cli.main, aanlevering.runs.steps, aanlevering.pipeline.operations\n"
        "print(sum('/aanlevering/' in p for p in compiled))\n"
    )

    def compiled_now() -> int:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
        return int(done.stdout.strip().splitlines()[-1])

    assert compiled_now() > 50  # the straightforward checkout: every module from source
    python = command.split(" -m compileall", 1)[0]
    subprocess.run(
        command.replace(python, shlex.quote(sys.executable), 1),
        shell=True,
        cwd=copy,
        env=env,
        check=True,
    )
    assert compiled_now() == 0
