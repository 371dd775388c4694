"""``aanlevering events tail``: read the append-only event log from a terminal.

It prints records exactly as stored (no decoding), so it works for event
types this release does not know and for old schema versions alike, and it
can not change anything: the store has no such operation.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import date

from aanlevering.cli.catalogue_option import add_catalogue_option, settings_for
from aanlevering.events.codec import canonical_json
from aanlevering.events.factory import open_event_store
from aanlevering.events.model import RecordedEvent
from aanlevering.periods import run_day
from aanlevering.settings import load_settings

PAYLOAD_WIDTH = 160


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``events`` command group."""
    parser = subparsers.add_parser("events", help="inspect the append-only event log")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    tail = actions.add_parser("tail", help="print the latest events, oldest first")
    tail.add_argument("--stream", help="only this stream (default: all streams, in global order)")
    tail.add_argument(
        "--limit", type=_positive_int, default=20, help="how many events (default 20)"
    )
    tail.add_argument("--json", action="store_true", help="one JSON object per line, in full")
    tail.add_argument("--store", help="event store URL (default: $AANLEVERING_EVENT_STORE)")
    tail.set_defaults(handler=_tail)
    rebuild = actions.add_parser(
        "rebuild", help="rebuild every projection from the log and write projections.json"
    )
    rebuild.add_argument("--on", type=date.fromisoformat, default=None, help="as of this day")
    add_catalogue_option(rebuild)
    rebuild.set_defaults(handler=_rebuild)


def _rebuild(args: argparse.Namespace) -> int:
    """Project everything from the log; say whether it equals the materialised copy.

    A registration file that does not load leaves only its calendar out; it is named
    on stderr with exit 2 (decision 0474).
    """
    from aanlevering.cli.loadable_catalogue import load_loadable, report_broken
    from aanlevering.projections import (
        PROJECTIONS_FILE,
        build_projections,
        digest,
        write_projections,
    )

    settings = settings_for(args)
    catalogue, broken = load_loadable(settings.catalogue_dir)  # decision 0474
    with open_event_store(settings.event_store_url) as store:
        document = build_projections(store, catalogue, args.on or run_day())
    previous = settings.home / PROJECTIONS_FILE
    before = digest(json.loads(previous.read_text("utf-8"))) if previous.is_file() else None
    path = write_projections(settings, document)
    after = digest(json.loads(path.read_text("utf-8")))
    state = "unchanged" if before == after else ("new" if before is None else "changed")
    print(f"rebuilt {path} from {document['last_position']} events: digest {after} ({state})")
    return report_broken(broken)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def latest(url: str, stream: str | None, limit: int) -> list[RecordedEvent]:
    """The last ``limit`` events of ``stream`` (or of the whole log), oldest first."""
    with open_event_store(url) as store:
        if stream is not None:
            first = max(1, store.stream_version(stream) - limit + 1)
            return store.read_stream(stream, from_version=first)
        after = max(0, store.last_position() - limit)
        return list(store.read_all(after_position=after, limit=limit))


def as_json(record: RecordedEvent) -> str:
    """One record as a self-contained JSON line (for jq and scripts)."""
    return json.dumps(
        {
            "position": record.position,
            "event_id": str(record.event_id),
            "stream": record.stream,
            "version": record.version,
            "event_type": record.event_type,
            "schema_version": record.schema_version,
            "occurred_at": record.occurred_at.isoformat(),
            "recorded_at": record.recorded_at.isoformat(),
            "payload": record.payload,
            "metadata": record.metadata,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def as_line(record: RecordedEvent) -> str:
    """One record on one line: position, time, stream@version, type, compact payload."""
    payload = canonical_json(record.payload)
    if len(payload) > PAYLOAD_WIDTH:
        payload = payload[: PAYLOAD_WIDTH - 1] + "…"
    schema = f" v{record.schema_version}" if record.schema_version > 1 else ""
    when = record.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    where = f"{record.stream}@{record.version}"
    return f"{record.position:>7}  {when}  {where}  {record.event_type}{schema}  {payload}"


def _print(records: Iterable[RecordedEvent], json_lines: bool) -> int:
    count = 0
    for record in records:
        print(as_json(record) if json_lines else as_line(record))
        count += 1
    return count


def _tail(args: argparse.Namespace) -> int:
    url = args.store or load_settings().event_store_url
    if not _print(latest(url, args.stream, args.limit), args.json):
        print("(no events)", file=sys.stderr)
    return 0
