"""A run whose period another run took over sends nothing (decision 0477).

The deliver stage's guard runs before every send attempt; it renews the
run's lease, which fails when the lock's latest holder is another run (also
one that has ended since). Real SQLite event log, real extract of the fixture
export, the real outbox channel.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.deliver.manifest import Manifest, write_manifest
from aanlevering.events import EventStore, open_event_store
from aanlevering.periods import Period
from aanlevering.pipeline import stages
from aanlevering.pipeline.events import RunLockReleased
from aanlevering.pipeline.lock import LeaseLost, acquire, release
from aanlevering.pipeline.run import Ports
from aanlevering.pipeline.state import MemoryRunState, make_private_dir
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"
KEY = "demo-hospital.dica-dsaa.2026-Q2.v1"


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as opened:
        yield opened


def _staged_run(tmp_path: Path, store: EventStore) -> tuple[stages.RunContext, MemoryRunState]:
    home = tmp_path / "home"
    home.mkdir()
    catalogue = str(REPO / "schemas" / "catalogue")
    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(home),
            "AANLEVERING_CATALOGUE": catalogue,
        }
    )
    config = load_catalogue(settings.catalogue_dir).get("dica-dsaa")
    export = tmp_path / "export"
    shutil.copytree(NL, export)
    outbox = tmp_path / "outbox"
    ports = Ports(store, None, lambda config, folder: OutboxChannel(outbox))  # type: ignore[arg-type]
    state = MemoryRunState(tmp_path / "run-1")
    state.update(
        **stages.initial_values(
            registration_id="dica-dsaa",
            period=Period.parse("2026-Q2"),
            run_id="1",
            today=date(2026, 11, 1),
            input_path=export,
            outbox=outbox,
            allow_open_period=False,
        )
    )
    ctx = stages.RunContext.from_values(config, settings, ports, state.values())
    stages.extract(ctx, state)
    stages.apply_optouts(ctx, state)
    manifest = Manifest(
        idempotency_key=KEY, registration="dica-dsaa", registry_holder="dica", period="2026-Q2",
        period_start="2026-04-01", period_end="2026-07-01", version=1, dictionary_id="dsaa",
        dictionary_version="1", format="fhir-ndjson", normalisation_profile="nl-v1",
        pseudonym_types=(), key_versions={}, ttp_mode="none", provider_id="demo-hospital",
        files=(), record_counts={},
    )  # fmt: skip
    make_private_dir(state.out)
    write_manifest(state.out, manifest)
    staged = DeliveryStaged(
        registration="dica-dsaa", period="2026-Q2", version=1, idempotency_key=KEY,
        channel="outbox", format="fhir-ndjson", content_sha256="x", provider="demo-hospital",
    )  # fmt: skip
    store.append(delivery_stream("dica-dsaa", "2026-Q2"), [staged], None)
    return ctx, state


@pytest.mark.parametrize("other_ended", [False, True], ids=["other-running", "other-ended"])
def test_deliver_sends_nothing_after_another_run_took_the_period_over(
    tmp_path: Path, store: EventStore, other_ended: bool
) -> None:
    ctx, state = _staged_run(tmp_path, store)
    acquire(store, ctx.lock_scope, ctx.run_id, lease=timedelta(0))  # this run's lease ran out
    acquire(store, ctx.lock_scope, "run-b")  # and another run took the period
    if other_ended:
        release(store, ctx.lock_scope, "run-b", "delivered")

    with pytest.raises(LeaseLost, match=r"run 1 no longer holds dica-dsaa 2026-Q2") as raised:
        stages.deliver(ctx, state)

    assert "stops without sending" in str(raised.value)
    outbox = tmp_path / "outbox"
    assert not outbox.exists() or not any(outbox.rglob("*"))
    last = store.read_stream(ctx.lock_scope.stream)[-1].to_event()
    if other_ended:  # the period was not taken back
        assert isinstance(last, RunLockReleased) and last.run_id == "run-b"
    else:
        assert getattr(last, "run_id", None) == "run-b"
