"""A task's key folder is not removed by a task in another container sharing the folder (1014).

TLS and SSH keys given as text are written for one task to
``aanlevering-credentials-*`` in ``/dev/shm`` or ``AANLEVERING_CREDENTIALS_DIR``,
and the next task removes the folders of tasks that were killed. Judged by
the pid alone, a live task of another container sharing that folder (two
Airflow workers with one credentials volume) was taken for dead whenever its
pid was free in this container: its keys were removed mid-task, and its
delivery failed for want of its client key. Here a real second pid
namespace (``unshare``) holds the live task; the folder of a killed task of
this namespace is still removed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aanlevering.runs.credentials import PrivateFiles, Secret

#: A new pid namespace with its own /proc, as a second container on this host has.
UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc", "--map-root-user")
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n"
#: In a new pid namespace: use up pids until the next one is free in the test's own, then
#: start the task there, so the old rule (the pid alone) would have found it dead.
CONTAINER = """
import os, subprocess, sys
taken = {int(pid) for pid in sys.argv[1].split(",")}
while True:
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    if child + 1 not in taken:
        break
task = subprocess.Popen([sys.executable, "-c", sys.argv[2], sys.argv[3]])
sys.exit(task.wait())
"""
#: The task: writes its key the product's way, says where and under which pid, waits.
TASK = """
import os, sys
from pathlib import Path
from aanlevering.runs.credentials import PrivateFiles, Secret
files = PrivateFiles(Path(sys.argv[1]))
path = files.path_of(Secret(text="-----BEGIN PRIVATE KEY-----\\nk\\n"), "client-key.pem")
print(os.getpid(), path, flush=True)
sys.stdin.read()
files.close()
"""
KILLED = """
import os, signal, sys
from pathlib import Path
from aanlevering.runs.credentials import PrivateFiles, Secret
path = PrivateFiles(Path(sys.argv[1])).path_of(Secret(text="k"), "client-key.pem")
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _pids() -> set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def test_a_live_task_of_another_pid_namespace_keeps_its_keys(tmp_path: Path) -> None:
    shared = tmp_path / "credentials"
    shared.mkdir(mode=0o700)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, str(shared)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    left = Path(killed.stdout.strip())
    assert left.exists()  # SIGKILL: nothing cleaned up
    taken = ",".join(str(pid) for pid in sorted(_pids() | {os.getpid() + n for n in range(64)}))
    container = subprocess.Popen(
        [*UNSHARE, sys.executable, "-c", CONTAINER, taken, TASK, str(shared)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert container.stdout is not None
        pid, path = container.stdout.readline().split()
        theirs = Path(path)
        assert theirs.exists() and int(pid) not in _pids()  # its pid means nobody here

        with PrivateFiles(shared) as files:
            mine = files.path_of(Secret(text=KEY), "client-key.pem")
            assert mine is not None and mine.exists()
            assert theirs.exists(), "a live task's keys were removed"
            assert not left.parent.exists()  # a killed task of this namespace: removed
    finally:
        container.communicate("", timeout=60)
    assert not theirs.parent.exists()  # the task removed its own on the way out
