"""One delivery run in one process: the CLI's and the retry DAG's way to run :data:`STAGES`.

Why here and not in the CLI: ``aanlevering run``, the retry DAG, the tests
and the benchmark all call :func:`run_delivery`; it loops over the same
stage list the Airflow DAG turns into tasks, with the in-memory run state
instead of the run folder. Idempotent: the content fingerprint decides
whether a run is a no-op (already receipted), a resend of an unreceipted
version (same idempotency key) or a correction (a new version).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.receipt import Receipt
from aanlevering.events.store import EventStore
from aanlevering.periods import Period, run_day
from aanlevering.pipeline.stages import (
    STAGES,
    AlreadyDelivered,
    RunContext,
    execute_stage,
    initial_values,
)
from aanlevering.pipeline.state import GIVEN_RUN_ID, MemoryRunState, RunState, run_folder_path
from aanlevering.progress import StageProgress
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRequest:
    """What to deliver: a registration, a period and where its EHR extract is."""

    registration_id: str
    input_path: Path
    period: Period
    today: date = field(default_factory=run_day)  # in Amsterdam (0394)
    outbox: Path | None = None
    allow_open_period: bool = False
    run_id: str | None = None


@dataclass(frozen=True)
class RunResult:
    """How a run ended; never holds patient data."""

    #: delivered | already-delivered | handed-over, already-handed-over (an outbox's, 0820)
    status: str
    registration: str
    period: str
    version: int
    idempotency_key: str
    record_counts: Mapping[str, int]
    excluded_optouts: int
    validation_reports: Mapping[str, str]
    receipt: Receipt | None
    run_id: str = ""
    #: Read, excluded by opt-out, failed per type, dropped, delivered (deliver/accounting.py).
    accounting: Mapping[str, Any] = field(default_factory=dict)
    #: The period's previous version was built under another registration config (0425).
    config_changed: bool = False


@dataclass(frozen=True)
class Ports:
    """The adapters a run talks to (real ones in production, reference ones in tests)."""

    store: EventStore
    ttp: TTPClient
    channel_for: Callable[[RegistrationConfig, Path | None], Channel]


def new_run_id() -> str:
    """A short random run id (the CLI's; Airflow passes its own)."""
    return uuid.uuid4().hex[:12]


def start_state(
    state_factory: Callable[[Path], RunState],
    config: RegistrationConfig,
    settings: Settings,
    request: RunRequest,
) -> RunState:
    """Create a run's own staging folder and its initial state."""
    run_id = request.run_id or new_run_id()
    path = run_folder_path(
        settings.staging_dir, settings.provider_id, config.id, request.period.label, run_id
    )
    state = state_factory(path)
    state.update(
        **initial_values(
            registration_id=config.id,
            period=request.period,
            run_id=path.name.removeprefix("run-"),
            today=request.today,
            input_path=request.input_path,
            outbox=request.outbox,
            allow_open_period=request.allow_open_period,
            one_process=isinstance(state, MemoryRunState),
        ),
        **{GIVEN_RUN_ID: run_id},  # which id this folder is for (decision 0404)
    )
    return state


def run_delivery(
    config: RegistrationConfig,
    settings: Settings,
    request: RunRequest,
    ports: Ports,
) -> RunResult:
    """Deliver one period of one registration, end to end, in this process.

    Raises NoObligation (exit 3), ExtractError/ConfigError/RunLocked (exit 2),
    ValidationBlocked (exit 1), TTPError or DeliveryError when a stage fails;
    a run that fails before the receipt leaves the delivery unreceipted, and
    a rerun resumes it with the same idempotency key.
    """
    state = start_state(MemoryRunState, config, settings, request)
    ctx = RunContext.from_values(config, settings, ports, state.values())
    progress = StageProgress(f"{config.id} {request.period.label}", [s.name for s in STAGES])
    try:
        with progress:
            for stage in STAGES:
                with progress.stage(stage.name):
                    execute_stage(stage, ctx, state)
    except AlreadyDelivered as done:
        log.info("%s", done)
        summary = done.summary
        return RunResult(
            str(summary.get("status") or "already-delivered"),  # or already-handed-over (0820)
            config.id,
            request.period.label,
            int(summary["version"]),
            str(summary["idempotency_key"]),
            dict(summary["records"]),
            int(summary["excluded_optouts"]),
            {},
            None,
            run_id=ctx.run_id,
            accounting=dict(summary.get("accounting") or {}),
            config_changed=bool(summary.get("config_changed")),
        )
    except BaseException:
        # This process is the whole run: whatever stopped it, the period is free again.
        from aanlevering.pipeline.lock import release

        release(ports.store, ctx.lock_scope, ctx.run_id, "failed")
        # Kept source resources hold patient ids, and no process reads them again: a
        # rerun starts a folder of its own. The rest stays for inspection (1016).
        if isinstance(state, MemoryRunState):
            state.forget_work()
        raise
    final: dict[str, Any] = state.values()
    return RunResult(
        str(final.get("status") or "delivered"),  # delivered, or handed-over (0794, 0820)
        config.id,
        request.period.label,
        int(final["version"]),
        str(final["idempotency_key"]),
        dict(final.get("delivered_records", {})),
        int(final["excluded_optouts"]),
        dict(final.get("validation_reports", {})),
        Receipt.from_mapping(final["receipt"], str(final["channel"])),
        run_id=ctx.run_id,
        accounting=dict(final.get("accounting", {})),
        config_changed=bool(final.get("config_changed")),
    )
