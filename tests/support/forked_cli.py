"""Run the CLI as its own process, forked from an interpreter that has already imported it.

Why: an e2e test runs the CLI as a hospital does, a process of its own with
its arguments, environment, exit code and output. Started afresh, each such
process spent about 5 s of CPU importing Great Expectations, pyarrow and the
pipeline before its run began: most of the e2e tests' time (decision 0955).
Here one zygote per pytest worker (:mod:`support.cli_zygote`) imports them
once, and each call is a fork of it: a separate process with its own pid,
exit status, signals, stdin/stdout/stderr, environment, working directory and
umask, running ``aanlevering.cli.main`` from the same freshly imported state
(the zygote never runs a command). What a fork cannot show, the interpreter's
own start (lazy imports, ``python -m`` itself), stays covered by the tests that
start ``python -m aanlevering.cli.main`` directly.

    result = run_cli(["status"], env=env)   # a subprocess.CompletedProcess[str]
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

_ZYGOTE = Path(__file__).with_name("cli_zygote.py")
_START = "import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name='__main__')"
#: How long the zygote may take to import the product (a loaded 2-core machine).
_READY_SECONDS = 180.0


class _Zygote:
    """The worker's zygote process, started at the first call and stopped at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self.socket_path = ""

    def ensure(self) -> str:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return self.socket_path
            self._folder = tempfile.TemporaryDirectory(prefix="cli-zygote-")
            self.socket_path = os.path.join(self._folder.name, "zygote.sock")
            self._process = subprocess.Popen(
                [sys.executable, "-c", _START, str(_ZYGOTE), self.socket_path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=None,
                env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
            )
            assert self._process.stdout is not None
            ready = _read_line(self._process.stdout, _READY_SECONDS)
            if ready != b"ready\n":
                self._process.kill()
                raise RuntimeError(f"the CLI zygote did not start (said {ready!r})")
            atexit.register(self.stop)
            return self.socket_path

    def stop(self) -> None:
        with self._lock:
            if self._process is None:
                return
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
            self._process = None
            if self._folder is not None:
                self._folder.cleanup()


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else b""


_zygote = _Zygote()


class ForkedCli:
    """A CLI process forked from the zygote: a small part of ``subprocess.Popen``."""

    def __init__(self, args: Sequence[str], connection: socket.socket, pid: int) -> None:
        self.args = list(args)
        self.pid = pid
        self.returncode: int | None = None
        self._connection = connection

    def wait(self, timeout: float | None = None) -> int:
        """The exit code (negative: the signal that ended it), as ``Popen.wait``."""
        if self.returncode is not None:
            return self.returncode
        self._connection.settimeout(timeout)
        try:
            answer = self._connection.recv(4096)
        except (TimeoutError, BlockingIOError):
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0) from None
        self._connection.close()
        if not answer:
            raise RuntimeError(f"the CLI zygote ended before process {self.pid} did")
        self.returncode = int(json.loads(answer)["returncode"])
        return self.returncode

    def poll(self) -> int | None:
        """The exit code if the process has ended, else None."""
        try:
            return self.wait(0.0)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, signum: int) -> None:
        """Signal the process (nothing when it has ended)."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def cli_arguments(argv: Sequence[str]) -> list[str] | None:
    """The CLI's arguments when ``argv`` is ``python -m aanlevering.cli.main ...`` of this
    interpreter, else None (another program: started as it is)."""
    prefix = [sys.executable, "-m", "aanlevering.cli.main"]
    if list(argv[:3]) == prefix:
        return [str(a) for a in argv[3:]]
    return None


def start_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    stdin: int,
    stdout: int,
    stderr: int,
    cwd: str | os.PathLike[str] | None = None,
    code: str | None = None,
) -> ForkedCli:
    """Fork a CLI process with these open file descriptors as its stdin, stdout and stderr.

    ``code``: run this Python source as ``python -c code *args`` does instead.
    """
    path = _zygote.ensure()
    umask = os.umask(0o077)
    os.umask(umask)
    request = {
        "code": code,
        "args": [str(a) for a in args],
        "env": dict(env),
        "cwd": os.fspath(cwd) if cwd is not None else os.getcwd(),
        "umask": umask,
    }
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.connect(path)
    socket.send_fds(connection, [json.dumps(request).encode()], [stdin, stdout, stderr])
    answer = connection.recv(4096)
    if not answer:
        connection.close()
        raise RuntimeError("the CLI zygote did not fork (it has ended)")
    return ForkedCli(args, connection, int(json.loads(answer)["pid"]))


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float | None = None,
    input: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    code: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, "-m", "aanlevering.cli.main", *args], capture_output=True,
    text=True)`` with a forked process; a timeout kills it and raises ``TimeoutExpired``.

    ``code``: ``[python, "-c", code, *args]`` instead (a test's script of the pipeline).
    """
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        if input is not None:
            stdin.write(input.encode("utf-8"))
            stdin.flush()
            stdin.seek(0)
        process = start_cli(
            args,
            env=env,
            stdin=stdin.fileno() if input is not None else _devnull(),
            stdout=stdout.fileno(),
            stderr=stderr.fileno(),
            cwd=cwd,
            code=code,
        )
        try:
            returncode = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        stdout.seek(0)
        stderr.seek(0)
        command = ["-c", code] if code is not None else ["-m", "aanlevering.cli.main"]
        return subprocess.CompletedProcess(
            [sys.executable, *command, *process.args],
            returncode,
            _text(stdout.read()),
            _text(stderr.read()),
        )


def _text(data: bytes) -> str:
    """As ``text=True`` reads a pipe: UTF-8 with universal newlines."""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


_devnull_fd: list[int] = []


def _devnull() -> int:
    if not _devnull_fd:
        _devnull_fd.append(os.open(os.devnull, os.O_RDONLY))
    return _devnull_fd[0]
