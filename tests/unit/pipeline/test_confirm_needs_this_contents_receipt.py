"""``confirm_receipt`` confirms only a receipt of this run's content.

A version the receiver turned out to hold with other content
(``DeliveryVersionTaken``, a home wiped and re-run) counts as receipted in the
ledger, so later runs plan the next version; it is never this run's receipt.
If the confirm task runs while the run's state still names that version (an
Airflow deliver task that died right after recording it and was then marked
successful), the run must not end ``delivered``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.events import DeliveryStaged, DeliveryVersionTaken, delivery_stream
from aanlevering.errors import DeliveryError
from aanlevering.events.factory import open_event_store
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports
from aanlevering.pipeline.stages import RunContext, confirm_receipt, initial_values
from aanlevering.pipeline.state import MemoryRunState
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
KEY = "demo-hospital.ldtr.2026-03.v1"


def test_a_version_taken_by_other_content_is_not_confirmed_as_delivered(tmp_path: Path) -> None:
    home, catalogue = str(tmp_path), str(REPO / "schemas" / "catalogue")
    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": home,
            "AANLEVERING_CATALOGUE": catalogue,
        }
    )
    config = load_catalogue(settings.catalogue_dir).get("ldtr")
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    common = {"registration": "ldtr", "period": "2026-03", "idempotency_key": KEY}
    staged = DeliveryStaged(
        **common, version=1, channel="https", format="fhir-ndjson",
        content_sha256="this-runs-content", provider="demo-hospital",
    )  # fmt: skip
    taken = DeliveryVersionTaken(
        **common, version=1, receipt_id="r-earlier", receiver="holder",
        received_at="2026-04-02T10:00:00+00:00", provider="demo-hospital",
    )  # fmt: skip
    store.append(delivery_stream("ldtr", "2026-03"), [staged, taken], None)
    state = MemoryRunState(tmp_path / "run-1")
    state.update(
        **initial_values(
            registration_id="ldtr",
            period=Period.parse("2026-03"),
            run_id="1",
            today=date(2026, 11, 22),
            input_path=tmp_path,
            outbox=None,
            allow_open_period=False,
        ),
        version=1,
        idempotency_key=KEY,
        fingerprint="this-runs-content",
    )
    ports = Ports(store, None, lambda config, outbox: None)  # type: ignore[arg-type]
    ctx = RunContext.from_values(config, settings, ports, state.values())
    with pytest.raises(DeliveryError, match=f"{KEY}: .*other content"):
        confirm_receipt(ctx, state)
    assert state.values()["status"] != "delivered"
