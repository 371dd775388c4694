"""A receipt that does not match what was sent is said as such, never "refused" (0842).

Red team, ledger truth: the real registry holder stores the delivery but
answers with a receipt of other record counts. The pipeline's receipt check
refuses that receipt (0221); the ledger showed the version ``rejected`` and the
hospital report, ``aanlevering status`` and the Deliveries page called it
"refused by the registry holder" (correct the data), while the holder may
hold it. Real TTP and registry holder processes, the event log and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.receipt import ReceiptMismatch
from conftest import World
from support.receivers import REGISTRATION, https_receiver, run

PERIOD = "2026-Q2"


def test_a_miscounted_receipt_says_what_did_not_match_and_the_rerun_delivers(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from aanlevering.cli.main import main

    holder = https_receiver(world)
    content = world.demo / "csv-utf8"
    world.holder.faults(miscount_receipt=1)  # stored as sent, answered with other counts
    try:
        with pytest.raises(ReceiptMismatch, match="record counts: expected"):
            run(world, holder, content, PERIOD)
    finally:
        world.holder.faults(miscount_receipt=0)
    with world.store() as store:
        (entry,) = load_ledger(store).versions(REGISTRATION, PERIOD)
    assert entry.status == "rejected" and entry.receipt_mismatch
    assert set(holder.held()) == {entry.idempotency_key}  # the holder does hold it

    path = world.settings.reports_dir / REGISTRATION / PERIOD / "v1" / "hospital-report.json"
    report = json.loads(Path(path).read_text("utf-8"))
    assert report["delivery"]["status"] == "receipt-mismatch", report["delivery"]
    todo = report["delivery"]["what_to_do"]
    assert "receipt did not match what was sent" in todo and "record counts: expected" in todo
    assert f"ask the registry holder what it holds under {entry.idempotency_key}" in todo
    assert report["accounting"]["refused"] == 0 and report["accounting"]["delivered"] == 0

    capsys.readouterr()
    main(["status", "--registration", REGISTRATION])
    out = capsys.readouterr().out
    assert "receipt did not match what was sent" in out, out
    assert "refused by the registry holder" not in out, out

    # The rerun sends the same content under the same key: the holder's own receipt of it
    # (the stored one, which matches) is adopted; delivered once, never twice.
    again = run(world, holder, content, PERIOD)
    assert (again.status, again.version) == ("delivered", 1), again
    assert again.idempotency_key == entry.idempotency_key
    with world.store() as store:
        (entry,) = load_ledger(store).versions(REGISTRATION, PERIOD)
    assert entry.status == "receipted" and entry.delivered
