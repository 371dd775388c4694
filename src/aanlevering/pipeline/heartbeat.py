"""Renew a run's lease while a stage runs, from a thread with its own event-store connection.

Why: the lease (60 minutes by default) was renewed only between stages, so a
stage longer than the lease (a FHIR export of millions of patients, a slow
TTP) let a second run take the period and run beside it (decision 0477). The
heartbeat renews every third of the lease; it stops when the stage ends, when
the run released the period, or when it finds the period taken over (then
:attr:`LeaseHeartbeat.lost` is set and the run's next check stops it). As a
daemon thread it dies with its process, so a dead run's lease still expires.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import TracebackType

from aanlevering.errors import AanleveringError
from aanlevering.events.store import EventStore
from aanlevering.pipeline.lock import LeaseLost, LockScope, ended_by, renew

log = logging.getLogger(__name__)


class LeaseHeartbeat:
    """A context manager renewing ``run_id``'s lease of ``scope`` until it exits."""

    def __init__(
        self,
        store: EventStore,
        scope: LockScope,
        run_id: str,
        *,
        lease: timedelta,
        actor: str = "",
        one_process: bool = False,
        interval: timedelta | None = None,
    ) -> None:
        self._store = store  # only to open a connection of the heartbeat's own
        self._scope = scope
        self._run_id = run_id
        self._lease = lease
        self._actor = actor
        self._one_process = one_process
        self._interval = (interval or lease / 3).total_seconds()
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-heartbeat-{run_id}", daemon=True
        )

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=max(self._interval, 5.0))

    def _beat(self) -> None:
        try:
            store = self._store.open_another()
        except AanleveringError as error:
            log.error("run %s: lease heartbeat: cannot open the event log: %s", self._run_id, error)
            return
        with store:
            while not self._stop.wait(self._interval):
                try:
                    renew(
                        store,
                        self._scope,
                        self._run_id,
                        lease=self._lease,
                        actor=self._actor,
                        one_process=self._one_process,
                    )
                except LeaseLost as lost:
                    if not ended_by(store, self._scope, self._run_id):
                        log.error("run %s: %s", self._run_id, lost)
                        self.lost.set()
                    return
                except AanleveringError as error:  # the log unreachable for a moment: try again
                    log.warning("run %s: lease not renewed: %s", self._run_id, error)
