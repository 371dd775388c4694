"""Entry point of the ``aanlevering`` command.

Each command group lives in its own module under :mod:`aanlevering.cli` and
exposes ``register(subparsers)``; this module only assembles them and maps the
product's exceptions to exit codes (0 ok, 1 validation blocked, 2 unusable
input or config, also a disk or folder too full or read-only to write to, 3
no delivery obligation or nothing to deliver, 4 internal error; 141, silently,
when the reader of the output closed it, as ``| head`` does). An exception
the product did not raise on purpose is a bug, never a verdict on the input:
it exits 4 with one line on stderr, and its traceback (frames and exception
types, never a message: decision 0682) goes to the log file only
(``$AANLEVERING_HOME/logs/aanlevering.log``), so it
is never mistaken for a blocked validation (exit 1, Python's own code for an
uncaught exception).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from aanlevering.errors import NO_ROOM, AanleveringError
from aanlevering.shown_names import install_log_filter, shown_path, shown_text
from aanlevering.temp_folders import sweep_dead_owners
from aanlevering.withheld_traceback import withheld_traceback

# Command modules, imported lazily by name so `aanlevering --help` stays fast.
COMMAND_MODULES: tuple[str, ...] = (
    "aanlevering.cli.registrations",
    "aanlevering.cli.demo_data",
    "aanlevering.cli.events",
    "aanlevering.cli.registry_holder",
    "aanlevering.cli.register",
    "aanlevering.cli.optout",
    "aanlevering.cli.ttp",
    "aanlevering.cli.fhir_export",
    "aanlevering.cli.validate",
    "aanlevering.cli.run",
    "aanlevering.cli.status",
    "aanlevering.cli.keys",
    "aanlevering.cli.retract",
    "aanlevering.cli.confirm_upload",
    "aanlevering.cli.abandon_handover",
    "aanlevering.cli.staging",
    "aanlevering.cli.demo_ca",
    "aanlevering.cli.failures",
)

log = logging.getLogger("aanlevering")

#: Exit code of an unexpected exception (a bug): distinct from every product outcome.
INTERNAL_ERROR = 4
#: A file that could not be written for want of room (disk full, quota, read-only, too
#: large) is no bug: the environment is unusable, exit 2 with what to fix (decision 0657).
NO_ROOM_EXIT = 2
#: The reader of the output went away (``aanlevering status | head``): no bug, no verdict;
#: exit as a Unix tool ended by SIGPIPE does, 128 + 13, which the shell reports anyway.
READER_GONE_EXIT = 141


def command_name(module_name: str) -> str:
    """The command a module provides: ``...cli.demo_data`` provides ``demo-data``."""
    return module_name.rsplit(".", 1)[1].replace("_", "-")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Assemble the parser; only the invoked command's module is imported.

    Importing one command module keeps start-up fast (validation and Airflow
    imports are heavy) and keeps one broken command from breaking the others.
    Without a known command (``--help``), every module is imported.
    """
    parser = argparse.ArgumentParser(
        prog="aanlevering",
        description="Deliver pseudonymised hospital data to Dutch quality registries.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = {command_name(module): module for module in COMMAND_MODULES}
    wanted = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, module_name in names.items():
        if wanted in names and wanted != name:
            subparsers.add_parser(name, help=f"see `aanlevering {name} --help`")
            continue
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code instead of raising product errors."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_log_filter()  # input file names and URLs in log lines per 0730/0731
    sweep_dead_owners()  # temporary folders of commands killed before (decision 1013)
    with terminated_as_exit():
        return _run(args)


@contextmanager
def terminated_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) while a command runs, so it cleans up on the way out.

    Why: by default SIGTERM (``kill``, a cron or systemd timeout) ends Python at
    once, without ``finally`` blocks or exit handlers: a FHIR extract's
    temporary folder of kept source resources and its reading workers' folders
    stayed in ``$TMPDIR`` with patient ids in them (decision 0685). Only where
    nobody else handles SIGTERM (Airflow's task runner does) and only in the
    main thread; the previous handler is put back afterwards.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run(args: argparse.Namespace) -> int:
    """The command's exit code, product errors mapped (see the module docstring)."""
    try:
        return int(args.handler(args))
    except AanleveringError as error:
        print(f"error: {shown_text(str(error))}", file=sys.stderr)  # decision 0730
        return error.exit_code
    except OSError as error:
        return _os_error(args.command, error)
    except Exception as error:  # the last line of defence, see the module docstring
        return _internal_error(args.command, error)


def _os_error(command: str, error: OSError) -> int:
    """A closed output pipe (141, silent) or a full disk (2, saying so); else a bug (4)."""
    if isinstance(error, BrokenPipeError) and _output_reader_gone():
        return _reader_gone()
    if error.errno not in NO_ROOM:
        return _internal_error(command, error)  # a broken socket too: worth a traceback
    where = f" ({shown_path(str(error.filename))})" if error.filename else ""  # 0730
    print(
        f"error: `aanlevering {command}` could not write a file{where}: "
        f"{error.strerror}. The disk or folder (AANLEVERING_HOME, the outbox or --out) is "
        "full or read-only: free space or make it writable, then run the command again",
        file=sys.stderr,
    )
    return NO_ROOM_EXIT


def _output_reader_gone() -> bool:
    """Whether stdout or stderr is a pipe whose reader has closed it (poll says POLLERR)."""
    poll = select.poll()
    for stream in (sys.stdout, sys.stderr):
        try:
            poll.register(stream.fileno(), select.POLLOUT)
        except (OSError, ValueError, AttributeError):  # replaced or closed streams
            continue
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))


def _reader_gone() -> int:
    """Exit 141 in silence: the pipe's reader closed it (``| head``), so nothing can be said.

    Whatever the command did before its output (a delivery, a recorded
    decision) is done and in the event log; only the printing stopped. Python
    flushes stdout again at exit, so it is pointed at ``/dev/null`` first.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a stream without a descriptor
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
    return READER_GONE_EXIT


def _internal_error(command: str, error: Exception) -> int:
    """Exit 4: one line on stderr, the traceback in the log file only."""
    where = _log_internal_error(command, error)
    print(
        f"internal error: {type(error).__name__} in `aanlevering {command}` "
        f"(a bug, not a problem with your input or configuration); "
        f"the traceback is in {where}",
        file=sys.stderr,
    )
    return INTERNAL_ERROR


def _log_internal_error(command: str, error: BaseException) -> str:
    """Append the traceback to the log file; where it went (stderr if the file cannot be written).

    Only the file gets it, and without the exceptions' messages: a message may
    quote a value from the input (decision 0682).
    """
    from aanlevering.settings import load_settings

    try:
        folder = load_settings().home / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "aanlevering.log"
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        where = str(path)
    except (OSError, AanleveringError):
        handler = logging.StreamHandler(sys.stderr)
        where = "the log on stderr above"
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    internal = logging.getLogger("aanlevering.internal")
    internal.propagate = False
    internal.addHandler(handler)
    try:
        # Frames and exception types, no message: it may quote input (decision 0682).
        internal.error(
            "internal error in `aanlevering %s`\n%s", command, withheld_traceback(error).rstrip()
        )
    finally:
        internal.removeHandler(handler)
        handler.close()
    return where


if __name__ == "__main__":
    sys.exit(main())
