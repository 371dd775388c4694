"""The stages of :data:`aanlevering.pipeline.stages.STAGES`, one per process, over a run folder.

Why: Airflow runs each stage as a task in its own process (possibly on
another worker). Each call opens the run folder by path, builds the run
context from it (catalogue, settings, adapters), runs the very stage function
the CLI runs and returns its small summary (counts and references, never
data or identifiers) for XCom. Steps are safe to retry: each rewrites its
own output from its input.

Raises what the stages raise (NoObligation, ExtractError, ValidationBlocked,
RunLocked, TTPError, DeliveryError, ...) and :class:`AlreadyDelivered` when
this content was delivered and receipted before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aanlevering.catalogue.loader import load_registration
from aanlevering.errors import AanleveringError
from aanlevering.periods import Period, run_day
from aanlevering.pipeline.stages import (
    STAGES,
    AlreadyDelivered,
    RunContext,
    Summary,
    execute_stage,
    stage_named,
)
from aanlevering.runs.credentials import CredentialsSource
from aanlevering.runs.folder import RunFolder
from aanlevering.runs.inputs import input_path_for, outbox_for
from aanlevering.settings import Settings, load_settings

if TYPE_CHECKING:
    from aanlevering.events.store import EventStore

__all__ = [
    "AlreadyDelivered",
    "check_own_folder",
    "confirmed_before",
    "release_failed_run",
    "run_stage",
    "start_run",
]

log = logging.getLogger(__name__)


@contextmanager
def _context(folder: RunFolder, credentials: CredentialsSource | None) -> Iterator[RunContext]:
    """The run context of a folder, with adapters open for the length of one step.

    Key material from ``credentials`` given as text lives in private files
    for the length of the step (:func:`aanlevering.runs.ports.open_ports`).
    """
    from aanlevering.events.factory import open_event_store
    from aanlevering.runs.ports import open_ports

    values = folder.values()
    settings = load_settings()
    config = load_registration(settings.catalogue_dir, values["registration"])
    with (
        open_event_store(settings.event_store_url) as store,
        open_ports(settings, store, credentials) as ports,
    ):
        yield RunContext.from_values(config, settings, ports, values)


def _with_folder_path(summary: Summary, folder: RunFolder) -> Summary:
    return {"run_dir": str(folder.path), **summary}


def start_run(
    registration_id: str,
    period_label: str,
    *,
    today: date | None = None,
    allow_open_period: bool = False,
    input_path: Path | None = None,
    run_id: str | None = None,
    credentials: CredentialsSource | None = None,
) -> Summary:
    """Create the run folder and run the first stage (obligation check and run lock).

    A scheduler passes its own run id so a retried first step reuses the folder,
    and its credentials source (Airflow Connections); the environment otherwise.
    """
    from aanlevering.pipeline.run import RunRequest, start_state

    settings = load_settings()
    config = load_registration(settings.catalogue_dir, registration_id)
    period = Period.parse(period_label)
    request = RunRequest(
        registration_id=config.id,
        input_path=input_path or input_path_for(config),
        period=period,
        today=today or run_day(),
        outbox=outbox_for(config),
        allow_open_period=allow_open_period,
        run_id=run_id,
    )
    state = start_state(RunFolder, config, settings, request)
    assert isinstance(state, RunFolder)
    return run_stage(STAGES[0].name, state.path, credentials)


def run_stage(
    name: str,
    run_dir: str | Path,
    credentials: CredentialsSource | None = None,
    *,
    registration_id: str | None = None,
    run_id: str | None = None,
) -> Summary:
    """Run stage ``name`` of the run whose folder is ``run_dir`` (credentials as in start_run).

    A scheduler passes the registration and run id the task belongs to: the
    folder reaches it as XCom, which can be edited, so a folder that is not
    this run's own is refused (:func:`check_own_folder`) before anything is opened.
    """
    stage = stage_named(name)
    folder = RunFolder(Path(run_dir))
    if registration_id is not None or run_id is not None:
        if name == STAGES[-1].name:
            done = confirmed_before(folder, registration_id, run_id)
            if done is not None:
                return done
        check_own_folder(folder, name, registration_id, run_id)
    with _context(folder, credentials) as ctx:
        return _with_folder_path(execute_stage(stage, ctx, folder), folder)


def check_own_folder(
    folder: RunFolder, stage: str, registration_id: str | None, run_id: str | None
) -> None:
    """ConfigError unless ``folder`` is the one :func:`start_run` made for this run.

    Checked: the folder is exactly ``run_folder_path`` of this home's staging
    folder, provider, registration, a period and this run id, and its state
    names the same registration, period and run. The error names neither the
    folder handed over nor anything in it. This run's own folder without a
    state (removed after the receipt, or purged) keeps the error saying so.
    """
    from aanlevering.errors import ConfigError

    refused = ConfigError(
        f"step {stage}: the run folder handed over is not the run folder of this run "
        f"(registration {registration_id or '?'}, run {run_id or '?'}); refusing to work on it "
        "(was the task's XCom edited? clear the whole run to start it afresh)"
    )
    place = _folder_place(folder, registration_id, run_id)
    if place is None:
        if _under_another_home(folder, registration_id, run_id):
            raise ConfigError(
                f"step {stage}: the run folder handed over is not the run folder of this run: "
                "it is named like it, but not under this home's staging folder "
                f"{load_settings().staging_dir}; refusing to work on it. Was AANLEVERING_HOME "
                "moved or changed since the run began (its state names the old paths), or the "
                "task's XCom edited? Clear the whole run to start it afresh (decision 0658)"
            )
        raise refused
    registration, period, run = place
    values = folder.values()
    if run_id is not None and own_run_name(run_id, values) != run:
        raise refused
    if (values.get("registration"), values.get("period"), values.get("run_id")) != (
        registration,
        period,
        run,
    ):
        raise refused


def _folder_place(
    folder: RunFolder, registration_id: str | None, run_id: str | None
) -> tuple[str, str, str] | None:
    """(registration, period, run name) when ``folder`` is exactly this run's folder path.

    The path alone: exactly ``run_folder_path`` of this home's staging folder,
    provider, registration, a period and one of ``run_id``'s names. None otherwise.
    """
    from aanlevering.errors import ConfigError
    from aanlevering.pipeline.state import run_folder_named

    settings = load_settings()
    path = folder.path.resolve()
    registration = registration_id if registration_id is not None else path.parent.parent.name
    try:
        period = Period.parse(path.parent.name).label
    except ConfigError:
        return None
    staging, provider = settings.staging_dir, settings.provider_id
    names = [path.name.removeprefix("run-")] if run_id is None else run_names(run_id)
    run = next(
        (
            name
            for name in names
            if path == run_folder_named(staging, provider, registration, period, name).resolve()
        ),
        None,
    )
    if path.parent.name != period or run is None:
        return None
    return registration, period, run


def _under_another_home(folder: RunFolder, registration_id: str | None, run_id: str | None) -> bool:
    """Whether ``folder`` ends like this run's own folder, under another staging root (0658).

    Why: a home moved or renamed between two tasks hands the next task the old
    path; "was the XCom edited?" sent the engineer looking for an intruder.
    """
    if registration_id is None or run_id is None:
        return False
    parts = folder.path.parts
    if len(parts) < 5 or parts[-3] != registration_id:
        return False
    try:
        period = Period.parse(parts[-2]).label
    except AanleveringError:
        return False
    settings = load_settings()
    from aanlevering.pipeline.state import run_folder_named

    own = {
        run_folder_named(Path("/"), settings.provider_id, registration_id, period, name).parts[1:]
        for name in run_names(run_id)
    }
    return tuple(parts[-4:]) in own and period == parts[-2]


def confirmed_before(
    folder: RunFolder, registration_id: str | None, run_id: str | None
) -> Summary | None:
    """The summary of a confirmation this run already made, when its folder is gone (0652).

    Why: ``confirm_receipt`` removes the run folder as its last act; a worker
    killed right after that gets the task retried, which found no state and
    failed the scheduled run of a delivered period. The event log says what
    happened: the run released its period with the outcome ``delivered`` only
    after the ledger held its receipt of the run's content. None (the usual
    checks and errors follow) when the folder still has its state, is not this
    run's own, or the run's last lock fact is not that release (a DAG run
    cleared after it delivered took the lock again).
    """
    from aanlevering.events.factory import open_event_store
    from aanlevering.pipeline.events import RunLockReleased, RunLockTaken, run_lock_stream
    from aanlevering.pipeline.state import STATE_FILE

    if (folder.path / STATE_FILE).exists():
        return None
    place = _folder_place(folder, registration_id, run_id)
    if place is None:
        return None
    registration, period, run = place
    settings = load_settings()
    with open_event_store(settings.event_store_url) as store:
        records = store.read_stream(run_lock_stream(settings.provider_id, registration, period))
        own = [
            (record.position, event)
            for record, event in ((record, record.to_event()) for record in records)
            if isinstance(event, RunLockTaken | RunLockReleased) and event.run_id == run
        ]
        # The run's last lock fact: a DAG run cleared after it delivered takes the lock again.
        last = own[-1][1] if own else None
        if not (isinstance(last, RunLockReleased) and last.outcome in ("delivered", "handed-over")):
            return None
        delivered = _delivered_while_held(store, registration, period, own)
    log.info(
        "run %s: %s %s was %s and confirmed before this attempt (its folder is removed)",
        run,
        registration,
        period,
        last.outcome,
    )
    return {
        "run_dir": str(folder.path),
        "registration": registration,
        "period": period,
        "status": last.outcome,  # an outbox's hand-over is not "delivered" (0820)
        "confirmed_before": True,
        **delivered,
    }


def _delivered_while_held(
    store: EventStore, registration: str, period: str, own: Sequence[tuple[int, object]]
) -> dict[str, Any]:
    """What the run delivered: the version it staged while it held the period (0755).

    Why: a retried ``confirm_receipt`` whose folder was gone said "delivered" and
    nothing else; the scheduler's last word on the run lacked its key, receipt and
    accounting. The run held the period's lock from its last take to its release,
    so the last version staged between the two is the one it confirmed
    (a lease renewal is a take too: the holding began at the first take since a
    release). Empty when
    none is found (a log written before versions were staged under the lock).
    """
    from aanlevering.deliver.events import delivery_stream
    from aanlevering.deliver.ledger import load_period_ledger
    from aanlevering.pipeline.events import RunLockTaken

    released = own[-1][0]
    taken = released
    for at, event in reversed(own[:-1]):  # renewals are takes too: the first since a release
        if not isinstance(event, RunLockTaken):
            break
        taken = at
    staged = [
        str(record.payload.get("idempotency_key", ""))
        for record in store.read_stream(delivery_stream(registration, period))
        if record.event_type == "deliver.DeliveryStaged" and taken < record.position < released
    ]
    entry = (
        load_period_ledger(store, registration, period).entries.get(staged[-1]) if staged else None
    )
    if entry is None or entry.status != "receipted":
        return {}
    # In an outbox: nothing delivered (0820).
    accounting = entry.shown_accounting().as_summary() if entry.accounting else {}
    return {
        "idempotency_key": entry.idempotency_key,
        "receipt_id": entry.receipt_id,
        "records": dict(entry.record_counts),
        "accounting": accounting,
    }


def run_names(run_id: str) -> list[str]:
    """The names ``run_id``'s folder and lock may have: its own, then its pre-0404 one."""
    from aanlevering.pipeline.state import legacy_safe_name, safe_name

    names = [safe_name(run_id)]
    if legacy_safe_name(run_id) != names[0]:
        names.append(legacy_safe_name(run_id))
    return names


def own_run_name(run_id: str, values: Mapping[str, Any]) -> str | None:
    """The folder and lock name of ``run_id`` for a run whose state holds ``values``.

    Its :func:`safe_name` when the state names ``run_id`` as the id it was
    given. Its name from before decision 0404 only for a state written before
    then (it names no given id, and that name): a run started before the
    upgrade continues in its folder, under its lock. A folder made since for
    another id that once had the same name names that other id, and is never
    taken for this run's. None: the state is not this run's.
    """
    from aanlevering.pipeline.state import GIVEN_RUN_ID, legacy_safe_name, safe_name

    given = values.get(GIVEN_RUN_ID)
    if given is not None:
        return safe_name(run_id) if given == run_id else None
    if values.get("run_id") == legacy_safe_name(run_id):
        return legacy_safe_name(run_id)
    return safe_name(run_id)


def release_failed_run(registration_id: str, period_label: str, run_id: str) -> None:
    """Free the period's run lock once a scheduled run has failed for good.

    Why: a task that will be retried keeps the lock (its retry continues the
    run), but when a run has no retries left nothing would renew or release
    it, and every later run of the period would wait for the lease to expire
    (up to an hour). Only this run's own lock is released; the run folder
    stays for inspection (and is purged after the retention).
    """
    from aanlevering.events.factory import open_event_store
    from aanlevering.pipeline.lock import LockScope, release
    from aanlevering.pipeline.state import safe_name

    settings = load_settings()
    scope = LockScope(settings.provider_id, registration_id, Period.parse(period_label).label)
    with open_event_store(settings.event_store_url) as store:
        release(store, scope, safe_name(run_id), "failed")  # only if that name holds it
        legacy = _legacy_run_folder(settings, registration_id, period_label, run_id)
        if legacy is not None:  # a run started before decision 0404: its lock has that name
            release(store, scope, legacy, "failed")
    log.info(
        "run %s: failed for good; the lock of %s %s is released",
        run_id,
        registration_id,
        period_label,
    )


def _legacy_run_folder(
    settings: Settings, registration_id: str, period_label: str, run_id: str
) -> str | None:
    """``run_id``'s pre-0404 name if a folder by it holds a state written before 0404 for it.

    Why so strict: that name may since be another run's own (an id equal to it);
    that run's folder names its id, so its lock is never released for this run.
    """
    from aanlevering.pipeline.state import legacy_safe_name, run_folder_named, safe_name

    name = legacy_safe_name(run_id)
    if name == safe_name(run_id):
        return None
    period = Period.parse(period_label).label
    staging, provider = settings.staging_dir, settings.provider_id
    path = run_folder_named(staging, provider, registration_id, period, name)
    if not (path / "run.json").is_file():
        return None
    values = RunFolder(path).values()
    return name if own_run_name(run_id, values) == name else None
