"""An outbox hand-over never confirmed can be given up, and the period delivered over HTTPS.

Red team, ledger truth (decision 0843): a version placed in an outbox is not
delivered until ``confirm-upload`` (0794). When the registration then switches
to HTTPS (or the outbox setting is removed), every rerun of the same content
stopped at ``already-handed-over`` with only "upload it, then confirm-upload"
to go by, and nothing could deliver the period over HTTPS. Real TTP and
registry holder processes, the real outbox folder, the event log and the CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.periods import run_day
from aanlevering.projections import build_projections
from conftest import World
from support.receivers import REGISTRATION, https_receiver, outbox_receiver, run

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
    from aanlevering.cli.main import main

    content = world.demo / "csv-utf8"
    outbox = outbox_receiver(world, tmp_path / "outbox")
    assert run(world, outbox, content, PERIOD).status == "handed-over"

    # The registration now delivers over https: the rerun says what to do, both ways.
    holder = https_receiver(world)
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
    assert "delivers the period as v2" in capsys.readouterr().out
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
