"""The sampled R4B validation of a delivery, done by a second process while the text is built.

Why: a model validation is about half a millisecond of Python per resource
(:mod:`aanlevering.fhir.validate`), some 2,450 sampled resources at a million
patients, all on the thread that builds the output text, while the machine's
second core only hashes and writes. The sampled texts (delivered text:
pseudonyms, never source identifiers) go over a pipe to a child process
that runs the same :func:`validate_resource`; the writer asks for the verdict
before any file is committed, so an invalid resource still stops the delivery
with nothing delivered, and the error is the one inline validation gives for
the first invalid resource in the order they were handed over (decision 0307).

Protocol (stdin): per resource a header of two big-endian 32-bit lengths, then
the ``where`` label and the JSON text, both UTF-8; the end is the end of
stdin. The child writes nothing when every resource is valid, else the
:class:`OutputError` message of the first invalid one (and validates nothing
after it).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import struct
import subprocess
import sys
import threading
from types import TracebackType
from typing import IO, BinaryIO, Protocol

from aanlevering.errors import OutputError
from aanlevering.fhir.validate import validate_resource
from aanlevering.worker_processes import worker_environment

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")
#: Texts handed over and not yet in the pipe (only the mode "all" of tests comes near it).
_QUEUED = 4_096
_END = None


class Validator(Protocol):
    """Where a writer sends the resources its sample policy selects."""

    def check(self, text: str, where: str) -> None:
        """Validate ``text`` (a resource's JSON), now or later; ``where`` names it in errors."""

    def first_failure(self) -> OutputError | None:
        """The error of the first invalid resource handed over so far, after waiting for them."""

    def finish(self) -> None:
        """Raise the error of the first invalid resource, or of a validation that did not run."""


class InlineValidator:
    """Validates each resource at once, on the calling thread (the straightforward way)."""

    def check(self, text: str, where: str) -> None:
        """:func:`validate_resource` now: raises :class:`OutputError` for an invalid resource."""
        validate_resource(text, where)

    def first_failure(self) -> OutputError | None:
        """Nothing is pending: an invalid resource already raised in :meth:`check`."""
        return None

    def finish(self) -> None:
        """Nothing is pending."""

    def __enter__(self) -> InlineValidator:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Nothing to stop."""


class BackgroundValidator:
    """Validates in a child process; use as a context manager around the writing.

    If the child cannot be started, resources are validated inline instead
    (the same verdicts, only slower). A child that stops before answering is
    an :class:`OutputError` at :meth:`finish`: nothing unvalidated is delivered.
    """

    def __init__(self, command: list[str] | None = None) -> None:
        """``command``: the child to run (tests); by default this module's :func:`main`."""
        self._inline: InlineValidator | None = None
        self._failure: OutputError | None = None
        self._answered = False
        self._stopped: str | None = None
        self._queue: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue(_QUEUED)
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                command or [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=worker_environment(),
            )
        except OSError as error:
            log.warning("R4B validation runs inline: no validation process (%s)", error.strerror)
            self._process = None
            self._inline = InlineValidator()
            return
        self._feeder = threading.Thread(
            target=self._feed, name="r4b-validation-feeder", daemon=True
        )
        self._feeder.start()

    def _feed(self) -> None:
        """Hand queued texts to the child; after a broken pipe, only empty the queue."""
        assert self._process is not None and self._process.stdin is not None
        pipe: IO[bytes] | None = self._process.stdin
        while True:
            item = self._queue.get()
            if item is _END:
                break
            if pipe is None:
                continue
            where, text = item
            try:
                pipe.write(_HEADER.pack(len(where), len(text)) + where + text)
            except (BrokenPipeError, ValueError, OSError):
                pipe = None  # the child stopped: finish() says so
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()

    def check(self, text: str, where: str) -> None:
        """Queue ``text`` for the child (inline when there is none)."""
        if self._inline is not None:
            self._inline.check(text, where)
            return
        if self._answered:
            raise RuntimeError("this validator has already given its verdict")
        self._queue.put((where.encode("utf-8"), text.encode("utf-8")))

    def _answer(self) -> None:
        """Wait for the child's verdict on everything queued (once)."""
        if self._answered or self._process is None:
            return
        self._answered = True
        self._queue.put(_END)
        self._feeder.join()
        assert self._process.stdout is not None
        message = self._process.stdout.read().decode("utf-8", errors="replace")
        code = self._process.wait()
        if message:
            self._failure = OutputError(message)
        elif code != 0:
            self._stopped = f"the R4B validation process stopped with exit code {code}"

    def first_failure(self) -> OutputError | None:
        """The first invalid resource's error, once the child has seen everything queued."""
        self._answer()
        return self._failure

    def finish(self) -> None:
        """Raise the first invalid resource's error, or an error if the child stopped."""
        self._answer()
        if self._failure is not None:
            raise self._failure
        if self._stopped is not None:
            raise OutputError(f"{self._stopped}: the sampled resources were not validated")

    def close(self) -> None:
        """Stop the child if it still runs (after an error elsewhere)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None and not self._answered:
            process.kill()
        if not self._answered:
            self._queue.put(_END)
            self._feeder.join()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> BackgroundValidator:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """``size`` bytes, or None at the end of the stream (also in the middle of an item)."""
    data = stream.read(size)
    return data if len(data) == size else None


def serve(source: BinaryIO, answer: BinaryIO) -> None:
    """The child's loop: validate each item of ``source``; the first failure goes to ``answer``.

    Items after the first failure are read but not validated (inline
    validation would have stopped there). An unexpected exception is reported
    by its type only: the text may not be repeated.
    """
    failed = False
    while (header := _read_exactly(source, _HEADER.size)) is not None:
        where_size, text_size = _HEADER.unpack(header)
        where = _read_exactly(source, where_size)
        text = _read_exactly(source, text_size)
        if where is None or text is None:
            break
        if failed:
            continue
        label = where.decode("utf-8")
        try:
            validate_resource(text.decode("utf-8"), label)
        except OutputError as error:
            message = str(error)
        except Exception as error:  # reported by type, never by value
            message = f"{label}: R4B validation failed ({type(error).__name__})"
        else:
            continue
        failed = True
        answer.write(message.encode("utf-8"))
        answer.flush()


def main() -> int:
    """Entry point of the child process (``python -m aanlevering.fhir.validation_worker``)."""
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except BaseException as error:  # the type only, see serve()
        sys.stderr.write(f"R4B validation process: {type(error).__name__}\n")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
