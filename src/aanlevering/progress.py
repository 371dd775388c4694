"""Progress of long runs: a live display on a terminal, periodic log lines everywhere else.

Why one module: ``aanlevering run`` (the one stage loop, ``run_delivery``),
``validate``, ``demo-data`` and ``fhir-export`` take from seconds to minutes,
and a person at a terminal wants to see which stage is running; a log file,
a pipe, CI or an Airflow task log wants no bars, carriage returns or colour
codes, only a line per stage and, inside a long stage, at most one line every
:data:`LOG_INTERVAL_SECONDS`.

The mode is chosen once per run (:func:`progress_mode`): ``terminal`` only
when stderr is a terminal and the process is not an Airflow task; ``log``
otherwise. ``AANLEVERING_PROGRESS=terminal|log|off`` overrides it. What is
shown is what callers pass: stage names, registration ids, periods and
counts. Callers never pass record contents, so no identifier reaches it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TextIO

log = logging.getLogger(__name__)

Mode = Literal["terminal", "log", "off"]
MODES: tuple[Mode, ...] = ("terminal", "log", "off")

#: In log mode, notes within a stage are logged at most this often.
LOG_INTERVAL_SECONDS = 10.0

#: Set by Airflow in every task's environment (Task SDK ``context_to_airflow_vars``).
AIRFLOW_TASK_VARIABLE = "AIRFLOW_CTX_DAG_ID"


def progress_mode(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> Mode:
    """``terminal`` on an interactive terminal outside Airflow, else ``log`` (or the override)."""
    env = os.environ if env is None else env
    wanted = env.get("AANLEVERING_PROGRESS", "auto").strip().lower()
    if wanted in MODES:
        return wanted
    if wanted != "auto":
        # A mistyped mode only changes how progress looks, so the run goes on
        # (no exit 2 as for settings that change what is delivered), but said.
        log.warning(
            "AANLEVERING_PROGRESS=%r is not one of auto, %s; choosing by the terminal",
            wanted[:40],
            ", ".join(MODES),
        )
    stream = sys.stderr if stream is None else stream
    if AIRFLOW_TASK_VARIABLE in env or env.get("TERM") == "dumb":
        return "log"
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        interactive = False
    return "terminal" if interactive else "log"


class StageProgress:
    """Progress of one run through named stages; use as a context manager.

    ``with StageProgress("dica-dsaa 2026-Q1", names) as progress:`` then
    ``with progress.stage(name):`` around each stage and ``progress.note(text)``
    for news within one (rate-limited in log mode). ``stages`` may be empty
    when the steps are not known up front (the display then has no total).
    """

    def __init__(
        self,
        title: str,
        stages: Sequence[str] = (),
        *,
        mode: Mode | None = None,
        stream: TextIO | None = None,
        interval: float = LOG_INTERVAL_SECONDS,
    ) -> None:
        self.title = title
        self.stages = tuple(stages)
        self.stream = sys.stderr if stream is None else stream
        self.mode: Mode = mode or progress_mode(self.stream)
        self.interval = interval
        self.done = 0
        self._current: str | None = None
        self._stage_started = 0.0
        self._last_note = 0.0
        self._started = 0.0
        self._live: _Terminal | None = None
        self._open: contextlib.AbstractContextManager[None] | None = None

    def __enter__(self) -> StageProgress:
        self._started = time.monotonic()
        if self.mode == "terminal":
            self._live = _Terminal(self.title, len(self.stages) or None, self.stream)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._open is not None:
            opened, self._open = self._open, None
            opened.__exit__(kind, error, traceback)
        seconds = time.monotonic() - self._started
        if self._live is not None:
            self._live.close(f"{self.title}: {'done' if kind is None else 'stopped'} "
                             f"after {seconds:.1f} s")  # fmt: skip
            self._live = None
        elif self.mode == "log" and self.stages:
            log.info(
                "%s: %s after %.1f s (%d/%d stages)",
                self.title,
                "done" if kind is None else "stopped",
                seconds,
                self.done,
                len(self.stages),
            )

    @property
    def current(self) -> str | None:
        """The stage running now (None between stages)."""
        return self._current

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Mark one stage: shown while it runs, counted when it ends."""
        self._current = name
        self._stage_started = self._last_note = time.monotonic()
        position = f"{self.done + 1}/{len(self.stages)}" if self.stages else f"{self.done + 1}"
        if self._live is not None:  # with known stages the bar shows the position already
            self._live.show(name if self.stages else f"{position} {name}")
        try:
            yield
        except BaseException:
            self._end(name, position, ok=False)
            raise
        self.done += 1
        self._end(name, position, ok=True)

    def switch(self, name: str) -> None:
        """End the current stage (if :meth:`switch` began it) and begin ``name``.

        For callers that learn of the next step from a callback rather than
        wrapping each one in :meth:`stage`; the last one ends with the run.
        """
        if self._open is not None:
            opened, self._open = self._open, None
            opened.__exit__(None, None, None)
        opened = self.stage(name)
        opened.__enter__()
        self._open = opened

    def _end(self, name: str, position: str, *, ok: bool) -> None:
        seconds = time.monotonic() - self._stage_started
        self._current = None
        if self._live is not None:
            self._live.finish(f"{'✓' if ok else '✗'} {name} ({seconds:.1f} s)", advance=ok)
        elif self.mode == "log":
            log.info(
                "%s: stage %s %s %s in %.1f s",
                self.title,
                position,
                name,
                "done" if ok else "stopped",
                seconds,
            )

    def note(self, message: str) -> None:
        """News within the current stage (``1200 of 5000 patients``); logged once an interval."""
        now = time.monotonic()
        if self._live is not None:
            prefix = f"{self._current}: " if self._current else ""
            self._live.show(f"{prefix}{message}")
        elif self.mode == "log" and now - self._last_note >= self.interval:
            self._last_note = now
            log.info("%s: %s", self.title, message)


class _Terminal:
    """The live display (rich), on stderr; log lines print above it while it runs."""

    def __init__(self, title: str, total: int | None, stream: TextIO) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._escape = escape
        self.console = Console(file=stream, highlight=False)
        columns: list[Any] = [SpinnerColumn(), TextColumn(f"[bold]{escape(title)}[/bold]")]
        if total is not None:
            columns += [BarColumn(bar_width=24), MofNCompleteColumn()]
        columns += [TextColumn("{task.description}"), TimeElapsedColumn()]
        self.progress = Progress(*columns, console=self.console, transient=True)
        self.task = self.progress.add_task("starting", total=total)
        self._handlers = _route_logging(self.console)
        self.progress.start()

    def show(self, text: str) -> None:
        self.progress.update(self.task, description=self._escape(text))

    def finish(self, line: str, *, advance: bool) -> None:
        self.progress.console.print(line, markup=False)
        if advance:
            self.progress.advance(self.task)

    def close(self, line: str) -> None:
        self.progress.stop()
        self.console.print(line, markup=False)
        for handler, stream in self._handlers:
            handler.setStream(stream)


def _route_logging(console: Any) -> list[tuple[logging.StreamHandler[Any], Any]]:
    """Point the root logger's stderr handlers at the live console so lines print above it."""
    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.StreamHandler) or isinstance(
            handler, logging.FileHandler
        ):
            continue
        if handler.stream in (sys.stderr, sys.__stderr__):
            moved.append((handler, handler.setStream(_ConsoleWriter(console))))
    return moved


class _ConsoleWriter:
    """A file-like object that prints through the rich console (above the live display)."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def write(self, text: str) -> int:
        if text.strip():
            self.console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        """Nothing to flush: the console writes through."""
