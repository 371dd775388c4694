"""One ``dag.test()`` process that a test module drives run by run (decisions 0771, 0830).

Why: each Airflow process pays Airflow's import, the DAG file's parse and the
in-process execution API (about ten seconds of CPU, half a minute of wall time
on a loaded two-core machine) before its first task. A module's tests that run
DAGs with the same Airflow settings share one process: it reads the runs a test
asks for from its stdin, one JSON line per request, makes them one after the
other and answers on stdout. The test asserts on the world between requests
exactly as it did with a process per request, so nothing is checked later than
before. What differs between tests is only ``AANLEVERING_*`` environment
(an input folder, the FHIR read settings, the opt-out export): each run sets
its own differences from the process's environment and restores them after.
pytest's own process still never imports Airflow.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: The runner: ``RUNNER DAG_FILE RUNS_JSON`` makes the runs and exits (one batch);
#: ``RUNNER DAG_FILE -`` reads batches from stdin, one JSON line each, until it closes.
#: A run is ``[dag id, logical date, conf]`` or ``[..., env to set, env names to unset]``.
RUNNER = """
import json, os, sys, importlib.util
import pendulum
spec = importlib.util.spec_from_file_location("registrations", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from airflow import settings
from airflow.models.xcom import XComModel

def batches():
    if sys.argv[2] != "-":
        yield json.loads(sys.argv[2])
        return
    for line in sys.stdin:
        if line.strip():
            yield json.loads(line)

number = 0
for batch in batches():
    for planned in batch:
        dag_id, logical_date, conf = planned[:3]
        setting = planned[3] if len(planned) > 3 else {}
        unsetting = planned[4] if len(planned) > 4 else []
        before = {k: os.environ.get(k) for k in [*setting, *unsetting]}
        os.environ.update(setting)
        for name in unsetting:
            os.environ.pop(name, None)
        print(f"RUN-START {number}", flush=True)
        print(f"RUN-START {number}", file=sys.stderr, flush=True)
        try:
            dag = getattr(module, dag_id)
            run = dag.test(logical_date=pendulum.parse(logical_date), run_conf=conf)
            session = settings.Session()
            xcoms = [
                {"task": x.task_id, "value": x.value}
                for x in session.query(XComModel).filter(XComModel.run_id == run.run_id)
            ]
            states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
            session.close()
            result = {"state": str(run.state), "tasks": states, "xcoms": xcoms}
            print("RESULT " + json.dumps(result, default=str), flush=True)
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            print(f"RUN-END {number}", file=sys.stderr, flush=True)
            print(f"RUN-END {number}", flush=True)
        number += 1
"""

#: How long one request (all its runs) may take before the test fails.
REQUEST_SECONDS = 600


def per_run(output: str, first: int, runs: int) -> list[str]:
    """``output`` cut at the runner's ``RUN-START n`` lines into runs ``first``..``first+runs-1``.

    What comes before a request's first marker (Airflow's import warnings of a
    fresh process) counts to its first run; ``RUN-END`` lines are left out.
    """
    parts = [""] * runs
    index = 0
    for line in output.splitlines(keepends=True):
        if line.startswith("RUN-START "):
            index = int(line.split()[1]) - first
            continue
        if line.startswith("RUN-END "):
            continue
        if 0 <= index < runs:
            parts[index] += line
    return parts


@dataclass
class DagTestProcess:
    """A long-lived runner process: ``runs`` sends it a request and waits for its answers."""

    dag_file: Path
    env: dict[str, str]
    log_dir: Path
    _process: subprocess.Popen[str] | None = field(default=None, repr=False)
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue, repr=False)
    _stderr: IO[str] | None = field(default=None, repr=False)
    _next: int = 0
    starts: int = 0

    def _start(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.starts += 1
        self._next = 0
        self._lines = queue.Queue()
        path = self.log_dir / f"dag-test-{self.starts}.stderr"
        self._stderr = path.open("w+", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(self.dag_file), "-"],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        threading.Thread(target=self._read, args=(process,), daemon=True).start()
        self._process = process
        return process

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def runs(
        self, planned: list[list[Any]], env: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The result of each planned ``[dag id, logical date, conf]``, its own log in ``log``.

        ``env`` is the environment the test wants the runs to have: its
        differences from the process's are set for these runs only.
        """
        wanted = self.env if env is None else env
        setting = {k: v for k, v in wanted.items() if self.env.get(k) != v}
        unsetting = [k for k in self.env if k not in wanted]
        process = self._start()
        first = self._next
        self._next += len(planned)
        assert process.stdin is not None and self._stderr is not None
        offset = self._stderr.tell()
        process.stdin.write(json.dumps([[*p, setting, unsetting] for p in planned]) + "\n")
        process.stdin.flush()
        stdout = self._until(f"RUN-END {first + len(planned) - 1}")
        self._stderr.seek(offset)
        stderr = self._stderr.read()
        out_parts = per_run(stdout, first, len(planned))
        err_parts = per_run(stderr, first, len(planned))
        results = []
        for number in range(len(planned)):
            lines = [line for line in out_parts[number].splitlines() if line.startswith("RESULT ")]
            assert lines, (
                f"dag.test of run {number} gave no result (exit {process.poll()}):\n"
                f"{stderr[-4000:]}"
            )
            result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
            result["log"] = out_parts[number] + err_parts[number]
            results.append(result)
        return results

    def _until(self, last: str) -> str:
        """Stdout up to and with the line ``last``, or up to the process's end; bounded."""
        deadline = time.monotonic() + REQUEST_SECONDS
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {last!r} within {REQUEST_SECONDS}s"
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                return "".join(seen)
            seen.append(line)
            if line.rstrip("\n") == last:
                return "".join(seen)

    def close(self) -> None:
        """Close its stdin (the runner ends after its last run); kill it if it does not."""
        if self._process is None:
            return
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        if self._stderr is not None:
            self._stderr.close()
