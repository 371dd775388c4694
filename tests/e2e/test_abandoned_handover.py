"""An outbox hand-over never confirmed can be given up, and the period delivered over HTTPS.

Red team, ledger truth (decision 0843): a version placed in an outbox is not
delivered until ``confirm-upload`` (0794). When the registration then switches
to HTTPS (or the outbox setting is removed), every rerun of the same content
stopped at ``already-handed-over`` with only "upload it, then confirm-upload"
to go by, and nothing could deliver the period over HTTPS. That is so when the
receiver cannot say it lacks the version (an HTTPS holder without the listing
of 0462, an SFTP inbox; decision 0460). Real TTP and registry holder
processes (behind a real proxy answering the listing 404), the real outbox
folder, the event log and the CLI.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.ledger import load_ledger
from aanlevering.events.store import EventStore
from aanlevering.periods import run_day
from aanlevering.pipeline.run import Ports
from aanlevering.projections import build_projections
from conftest import World
from support.listing_proxy import listing_proxy
from support.receivers import REGISTRATION, Receiver, https_receiver, outbox_receiver, run

PERIOD = "2026-Q1"
WHERE = ["--registration", REGISTRATION, "--period", PERIOD, "--version", "1"]
ABANDON = f"aanlevering abandon-handover {' '.join(WHERE)}"


def _cell(world: World) -> tuple[str, str]:
    from aanlevering.obligation.calendar_view import calendars

    with world.store() as store:
        document = build_projections(store, world.catalogue, run_day())
    (calendar,) = calendars(document, REGISTRATION)
    (cell,) = [c for c in calendar.cells if c.period == PERIOD]
    return cell.state.value, cell.hover()


def test_an_unconfirmed_hand_over_is_abandoned_and_the_period_goes_out_over_https(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    content = world.demo / "csv-utf8"
    outbox = outbox_receiver(world, tmp_path / "outbox")
    assert run(world, outbox, content, PERIOD).status == "handed-over"

    # The registration now delivers over https, to a holder without the listing: the rerun
    # cannot learn the holder lacks v1, and says what to do, both ways.
    with listing_proxy(world.holder.base_url) as proxy:
        proxy.blocked = 404
        _switched_to_https(world, capsys, caplog, _without_listing(world, proxy))


def _without_listing(world: World, proxy: Any) -> Receiver:
    """The registration's https channel to the real holder, whose listing answers 404."""
    direct = https_receiver(world)

    def ports(world: Any, store: EventStore) -> Ports:
        channel = HttpsChannel(proxy.endpoint(REGISTRATION), world.holder.api_key, timeout=30)
        return replace(world.ports(store), channel_for=lambda config, outbox: channel)

    return Receiver("https-without-listing", ports, direct.held, direct.supersedes)


def _switched_to_https(
    world: World,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    holder: Receiver,
) -> None:
    from aanlevering.cli.main import main

    content = world.demo / "csv-utf8"
    with caplog.at_level("INFO", logger="aanlevering"):
        again = run(world, holder, content, PERIOD)
    assert (again.status, again.version) == ("already-handed-over", 1)
    assert ABANDON in caplog.text and "confirm-upload" in caplog.text, caplog.text
    assert holder.held() == {}  # nothing reached the registry holder

    # Not a hand-over: v2 does not exist; an empty reason says nothing: both refused.
    assert main(["abandon-handover", *WHERE[:-1], "2", "--reason", "https now"]) == 2
    assert main(["abandon-handover", *WHERE, "--reason", " "]) == 2
    capsys.readouterr()
    assert main(["abandon-handover", *WHERE, "--reason", "registration switched to https"]) == 0
    out = capsys.readouterr().out
    assert "delivers the period as v2" in out and "hospital report updated" in out, out
    # The v1 report the engineer hands on no longer says it waits for its upload (0845).
    from aanlevering.validate.hospital_report import HOSPITAL_REPORT

    path = world.settings.reports_dir / REGISTRATION / PERIOD / "v1" / HOSPITAL_REPORT
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["delivery"]["status"] == "abandoned", report["delivery"]
    assert "confirm-upload" not in report["delivery"]["what_to_do"]
    assert "v2" in report["delivery"]["what_to_do"]
    assert report["accounting"]["delivered"] == 0, report["accounting"]
    with world.store() as store:
        (abandoned,) = load_ledger(store).versions(REGISTRATION, PERIOD)
    assert abandoned.status == "abandoned" and not abandoned.delivered
    assert abandoned.may_reach_holder  # it may have been uploaded all the same (0840)
    state, hover = _cell(world)
    assert state != "delivered" and "abandoned" in hover, (state, hover)
    main(["status", "--registration", REGISTRATION])
    out = capsys.readouterr().out
    assert f"{REGISTRATION} {PERIOD} v1 abandoned" in out and "never confirmed" in out, out
    # Abandoned is final: never confirmed, never abandoned twice.
    assert main(["confirm-upload", *WHERE]) == 2
    assert main(["abandon-handover", *WHERE, "--reason", "again"]) == 2

    # The same content goes out over https as the next version and is delivered.
    delivered = run(world, holder, content, PERIOD)
    assert (delivered.status, delivered.version) == ("delivered", 2), delivered
    assert delivered.receipt is not None
    assert set(holder.held()) == {delivered.idempotency_key}
    assert _cell(world)[0] == "delivered"
    with world.store() as store:
        first, second = load_ledger(store).versions(REGISTRATION, PERIOD)
    assert (first.status, second.status) == ("abandoned", "receipted")
    assert not first.delivered and second.delivered
    assert run(world, holder, content, PERIOD).status == "already-delivered"
