"""The next command removes the temporary folders of a command that was SIGKILLed (1013).

SIGTERM lets a command clean up (0685); SIGKILL and a power loss do not: a
``validate`` killed while it read the LDTR example left
``$TMPDIR/aanlevering-texts-*`` with the kept resources (``Patient/<id>``
references) until the operating system cleared it. Now every folder names
its owner (pid, the pid's start time, boot, process space) and the next
command removes those of owners that are gone, and nothing else: a live
command's folder, a folder of another process space, another name or a file
stay.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"
#: A live process that makes its folder the product's way, says where, and waits.
HOLDER = (
    "import sys; from aanlevering.temp_folders import owned_folder\n"
    "folder = owned_folder('texts'); (folder / 'kept.arrow').write_text('Patient/4711')\n"
    "print(folder, flush=True); sys.stdin.read()\n"
)


def _env(tmp_path: Path, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TMPDIR": str(tmp),
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
    }


def _kept_texts(tmp: Path) -> list[Path]:
    return [p for p in tmp.glob("aanlevering-texts-*/*") if p.stat().st_size > 0]


def _killed_validate(env: dict[str, str], tmp: Path) -> Path:
    """Start ``validate``, SIGKILL it once it kept texts; the folder it left behind."""
    arguments = ["validate", "--registration", "ldtr", "--input", str(NL), "--period", "2026"]
    process = subprocess.Popen(
        [sys.executable, "-m", "aanlevering.cli.main", *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not _kept_texts(tmp) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _kept_texts(tmp), "the extract kept no texts before the command ended"
        process.kill()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()  # reaped: its pid may now be anyone's
    (left,) = {p.parent for p in _kept_texts(tmp)}
    return left


def test_the_next_command_removes_a_killed_commands_folder_and_keeps_a_live_ones(
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = _env(tmp_path, tmp)
    killed = _killed_validate(env, tmp)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        live = Path(holder.stdout.readline().strip())
        pid, started, seat, boot, _ = live.name.removeprefix("aanlevering-texts-").split("-")
        # The live holder's pid with another start time: a reused pid, its owner is gone.
        reused = tmp / f"aanlevering-texts-{pid}-{int(started) + 1}-{seat}-{boot}-abcd_123"
        # Another process space (a container sharing $TMPDIR): its pids mean nothing here.
        elsewhere = tmp / f"aanlevering-texts-1-1-{'a' * 10}-{boot}-abcd_123"
        # A name of the version before, and somebody else's folder: never ours to judge.
        unowned = [tmp / "aanlevering-texts-abcd_123", tmp / "fhir-part-1-1-x"]
        for folder in (reused, elsewhere, *unowned):
            folder.mkdir()
            (folder / "kept.arrow").write_text("Patient/4711")
        as_file = tmp / f"aanlevering-texts-{pid}-{int(started) + 2}-{seat}-{boot}-abcd_124"
        as_file.write_text("not a folder")

        done = subprocess.run(
            [sys.executable, "-m", "aanlevering.cli.main", "registrations", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert not killed.exists()
        assert not reused.exists()
        assert live.is_dir() and (live / "kept.arrow").exists()
        assert elsewhere.is_dir() and all(folder.is_dir() for folder in unowned)
        assert as_file.is_file()
        assert "removed 2 temporary folder(s)" in done.stderr
        assert "Patient/" not in done.stderr and killed.name not in done.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_commands_folder_is_removed_by_an_airflow_runs_extract_step(
    tmp_path: Path,
) -> None:
    """A run by Airflow has no CLI: its extract step (the Airflow task's function) sweeps."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = _env(tmp_path, tmp)
    killed = _killed_validate(env, tmp)
    env |= {
        "AANLEVERING_DEMO_MODE": "yes",
        "AANLEVERING_TTP_URL": "http://127.0.0.1:9",  # built, never reached by these steps
        "AANLEVERING_TTP_API_KEY": "extract-step-test-key-0123",
    }
    done = subprocess.run(
        [sys.executable, "-c", STEPS, str(NL)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "'records': {'trauma': 1}" in done.stdout
    assert not killed.exists()
    assert "removed 1 temporary folder(s)" in done.stderr
    assert "Patient/" not in done.stderr + done.stdout and "pat-1" not in done.stderr


#: The first two steps of a run as Airflow's tasks call them, with logging as a task has.
STEPS = """
import logging, sys
from pathlib import Path
from aanlevering.runs.steps import run_stage, start_run
logging.basicConfig(level=logging.INFO)
started = start_run("ldtr", "2026-03", input_path=Path(sys.argv[1]))
print(run_stage("extract", started["run_dir"]))
"""
