"""Facts about who runs a period: the run lock, taken and released, as events.

Why in the event log: it is the one place every run of a hospital shares
(CLI, every Airflow worker, the retry DAG), on SQLite and PostgreSQL alike,
and its optimistic concurrency check makes taking the lock atomic. The log
then also says which run delivered a period and which one was turned away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aanlevering.events.model import DomainEvent


def run_lock_stream(provider_id: str, registration: str, period: str) -> str:
    """Stream of the run lock of one provider, registration and period."""
    return f"run-lock-{provider_id}.{registration}.{period}"


@dataclass(frozen=True, kw_only=True)
class RunLockTaken(DomainEvent):
    """Run ``run_id`` holds the period until ``expires_at`` (renewed at every stage)."""

    event_type: ClassVar[str] = "pipeline.RunLockTaken"

    provider_id: str
    registration: str
    period: str
    run_id: str
    expires_at: str
    actor: str = ""
    host: str = ""
    pid: int = 0  # set when one process is the whole run (the CLI): its death frees the lock
    pid_started: float = 0.0


@dataclass(frozen=True, kw_only=True)
class RunLockReleased(DomainEvent):
    """Run ``run_id`` ended (``outcome``: delivered, already-delivered, blocked, failed ...)."""

    event_type: ClassVar[str] = "pipeline.RunLockReleased"

    provider_id: str
    registration: str
    period: str
    run_id: str
    outcome: str


@dataclass(frozen=True, kw_only=True)
class RunLockRefused(DomainEvent):
    """Run ``run_id`` was turned away because ``held_by`` was running the same period."""

    event_type: ClassVar[str] = "pipeline.RunLockRefused"

    provider_id: str
    registration: str
    period: str
    run_id: str
    held_by: str
