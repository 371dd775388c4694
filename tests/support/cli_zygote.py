"""A process that has imported the product and forks one CLI process per request.

Started by :mod:`support.forked_cli` (never imported by tests): it imports
what a CLI run, or a test's ``python -c`` script of the pipeline, imports
(Great Expectations, pyarrow, the pipeline), then waits on a Unix socket.
Each request is forked: the child takes the request's stdin/stdout/stderr,
environment, working directory, umask and arguments, runs
``aanlevering.cli.main.main`` (or the script) and exits as the
interpreter's own exit does (non-daemon threads waited for, atexit
handlers, flushed streams), as ``python -m aanlevering.cli.main`` would.
The parent answers with the child's pid at once and with its exit status
when it ends; it never runs a command itself, so every child starts from
the same freshly imported state.

Run as ``python -c 'import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name="__main__")'
cli_zygote.py SOCKET``, so that ``sys.path`` is what ``python -m`` gives the CLI
(this folder's test helpers are not on it).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import pkgutil
import select
import socket
import sys
import tempfile
import threading
import time
import traceback
from typing import Any

#: Packages a CLI process never imports (Airflow's task code).
_NOT_PRELOADED = ("aanlevering.airflow",)
#: How often the parent looks for ended children and a vanished pytest worker.
_POLL_SECONDS = 0.005
_MAX_REQUEST = 1 << 20


def preload() -> int:
    """Import every product module a CLI command may use; returns how many failed."""
    import aanlevering
    from aanlevering.validate.gx import import_gx

    import_gx()
    failed = 0
    for module in pkgutil.walk_packages(aanlevering.__path__, "aanlevering."):
        if module.name.startswith(_NOT_PRELOADED) or module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except Exception:  # an optional dependency missing: the child imports it as usual
            failed += 1
    return failed


def serve(path: str) -> tuple[dict[str, Any], list[int]] | None:
    """Fork a child per request; returns (request, fds) in the child, None when told to stop."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    parent = os.getppid()
    waiting: dict[int, socket.socket] = {}
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while os.getppid() == parent:
        readable, _, _ = select.select([listener], [], [], _POLL_SECONDS)
        if readable:
            connection, _ = listener.accept()
            message, fds, _, _ = socket.recv_fds(connection, _MAX_REQUEST, 3)
            request = json.loads(message)
            if request.get("stop"):
                connection.close()
                break
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                listener.close()
                for other in waiting.values():
                    other.close()
                connection.close()
                return request, fds
            for fd in fds:
                os.close(fd)
            connection.send(json.dumps({"pid": pid}).encode())
            waiting[pid] = connection
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            ended = waiting.pop(pid, None)
            if ended is not None:
                status_message = {"returncode": os.waitstatus_to_exitcode(status)}
                # OSError: the test stopped waiting (a timeout) and needs no status.
                with contextlib.suppress(OSError):
                    ended.send(json.dumps(status_message).encode())
                ended.close()
    listener.close()
    return None


def run_child(request: dict[str, Any], fds: list[int]) -> None:
    """Become the CLI process the request describes; never returns."""
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    tempfile.tempdir = None  # TMPDIR of this call, not the zygote's
    try:
        code: object = _run_request(request)
    except SystemExit as stop:
        code = stop.code
    except BaseException:
        traceback.print_exc()
        code = 1
    os._exit(_exit_status(code))


def _run_request(request: dict[str, Any]) -> object:
    """``python -m aanlevering.cli.main ARGS``, or ``python -c CODE ARGS`` for a script."""
    if request.get("code") is not None:
        sys.argv = ["-c", *request["args"]]
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(compile(request["code"], "<string>", "exec"), namespace)
        return 0
    from aanlevering.cli import main as cli

    sys.argv = [cli.__file__, *request["args"]]
    return cli.main()


def _exit_status(code: object) -> int:
    """End the process as the interpreter's exit would, without tearing down the heap.

    Non-daemon threads are waited for and exit handlers run (as at a normal exit);
    the module teardown of a few hundred MiB of imported objects is skipped (it
    took most of a short command's time, and writes nothing a test could see).
    """
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx does first
    atexit._run_exitfuncs()
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return status & 0xFF


if __name__ == "__main__":
    socket_path = sys.argv[1]  # before the imports: a module may rewrite sys.argv
    preload()
    gc.collect()
    gc.freeze()  # children leave the imported objects' pages shared (no collector writes)
    forked = serve(socket_path)
    if forked is not None:
        run_child(*forked)
