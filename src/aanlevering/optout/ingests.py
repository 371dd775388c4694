"""Facts about opt-out ingests: when the export was taken, how many rows; a shrunken export refused.

Why: opt-outs are read from snapshots the EHR exports. A run must know how
current the register is (decision 0475), so every ingest records an
:class:`~aanlevering.optout.events.OptOutsIngested` with the snapshot's time
and counts (never who). An export that is empty or far smaller than the last
one of its kind is almost always a failed or truncated export, and recording
it would make a stale register look current; it is refused unless the data
engineer confirms it (decision 0476).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.optout.events import INGESTS_STREAM, OptOutsIngested, OptOutSource

#: An export with fewer than this share of the last ingest's rows (same kind) is refused.
SHRINK_FLOOR = 0.5
#: How far past this machine's clock a snapshot time may lie (clocks differ a little).
FUTURE_SLACK = timedelta(minutes=15)


class OptOutExportShrunk(ConfigError):
    """The export holds far fewer opt-outs than the last one of its kind; nothing recorded."""


@dataclass(frozen=True)
class Ingest:
    """One recorded ingest and when it was recorded."""

    fact: OptOutsIngested
    recorded_at: datetime

    @property
    def taken_at(self) -> datetime:
        """When the export was taken (aware, UTC)."""
        return datetime.fromisoformat(self.fact.snapshot_taken_at).astimezone(UTC)


def snapshot_time_of(path: Path) -> datetime:
    """When the export at ``path`` was written: its modification time (a folder: newest file read).

    Why the file's time: a failed EHR export job leaves yesterday's file in
    place, and re-reading it must not make the register look current. Of a
    folder only the files an ingest reads count (its FHIR input files): a log
    or half-copied part file the failing job writes beside them is no export.
    """
    from aanlevering.errors import ExtractError
    from aanlevering.extract.fhir_store import input_files

    files: list[Path] = [path]
    if path.is_dir():
        try:
            ndjson, bundles = input_files(path)
        except ExtractError:
            ndjson, bundles = [], []
        files = [*ndjson, *bundles]
    if not files:
        raise ConfigError(f"opt-out source {path}: the folder holds no export files")
    return datetime.fromtimestamp(max(p.stat().st_mtime for p in files), UTC)


def parse_snapshot_time(text: str) -> datetime:
    """``--snapshot-taken-at``: an ISO date-time; without an offset it is this machine's time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--snapshot-taken-at: expected a date and time like 2026-12-05T06:00+01:00, "
            f"not {text!r}"
        ) from None
    return value.astimezone(UTC)


def recorded_ingests(store: EventStore) -> list[Ingest]:
    """Every recorded ingest, in log order."""
    found: list[Ingest] = []
    for record in store.read_stream(INGESTS_STREAM):
        fact = record.to_event()
        if isinstance(fact, OptOutsIngested):
            found.append(Ingest(fact, record.recorded_at))
    return found


def newest_snapshot(store: EventStore) -> Ingest | None:
    """The ingest of the most recently taken export (any kind), or None when there was none.

    The newest snapshot, not the last ingest: re-reading an older file adds
    nothing the log lacks, so it does not make the register older either.
    """
    ingests = recorded_ingests(store)
    return max(ingests, key=lambda i: i.taken_at) if ingests else None


def check_not_shrunk(
    store: EventStore, source: OptOutSource, entries: int, *, confirmed: bool, name: str
) -> None:
    """OptOutExportShrunk when ``entries`` is below :data:`SHRINK_FLOOR` of the last such ingest.

    Only the kind of export is compared (a CSV extract and Consent resources
    are two sources a hospital may use side by side, of different sizes). The
    first export of a kind is refused only when empty while an earlier export
    of another kind held opt-outs (decision 0490): a stray empty file of
    another kind made the register look current as well.
    """
    ingests = recorded_ingests(store)
    previous = [i for i in ingests if i.fact.source == source]
    if not previous and not entries:
        previous = [i for i in ingests if i.fact.entries]
    if confirmed or not previous:
        return
    last = previous[-1]
    if last.fact.entries and entries < last.fact.entries * SHRINK_FLOOR:
        raise OptOutExportShrunk(
            f"opt-out source {name}: {entries} opt-out(s), but the last {last.fact.source} export "
            f"(taken {last.taken_at:%Y-%m-%d %H:%M} UTC) held {last.fact.entries}; an empty or "
            "truncated export is almost always a failed EHR export, so nothing was recorded. "
            "Check the export; if the EHR really holds this few opt-outs, ingest it again "
            "with --confirm-shrunk-export"
        )


def check_snapshot_time(taken_at: datetime, name: str, now: datetime | None = None) -> None:
    """ConfigError for a snapshot time in the future (it would look current for too long)."""
    now = now or datetime.now(UTC)
    if taken_at > now + FUTURE_SLACK:
        raise ConfigError(
            f"opt-out source {name}: snapshot time {taken_at:%Y-%m-%d %H:%M} UTC lies in the "
            "future; check the machine's clock or --snapshot-taken-at"
        )


def check_stated_time(stated: datetime, written: datetime, name: str) -> None:
    """ConfigError for a ``--snapshot-taken-at`` later than the export's own file time.

    Why: an export is taken before its file is written, so a stated time may
    only be earlier (a copy that got a new modification time). A later one is
    a stale file presented as current (decision 0493); the clocks of two
    machines may differ by :data:`FUTURE_SLACK`.
    """
    if stated > written + FUTURE_SLACK:
        raise ConfigError(
            f"opt-out source {name}: --snapshot-taken-at {stated:%Y-%m-%d %H:%M} UTC is after "
            f"its file was last written ({written:%Y-%m-%d %H:%M} UTC); an export cannot be "
            "taken after it was written, and a stale export does not make the register "
            "current. Ingest the EHR's current export, or state an earlier time"
        )


def record_ingest(
    store: EventStore,
    *,
    taken_at: datetime,
    source: OptOutSource,
    entries: int,
    patients: int,
    shrink_confirmed: bool = False,
    actor: str = "optout ingest",
) -> OptOutsIngested:
    """Append the fact of one ingest (after its opt-outs are in the log)."""
    fact = OptOutsIngested(
        snapshot_taken_at=taken_at.astimezone(UTC).isoformat(),
        source=source,
        entries=entries,
        patients=patients,
        shrink_confirmed=shrink_confirmed,
    )
    store.append(INGESTS_STREAM, [fact], None, metadata={"actor": actor})
    return fact
