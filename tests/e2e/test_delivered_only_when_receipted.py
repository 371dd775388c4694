"""Success is earned: "delivered" is said only of what the registry holder receipted.

Red team, accounting (decisions 0750-0759), through the real pipeline with the
reference TTP and registry holder as real processes over 127.0.0.1:

* the hourly retry of an unreceipted version whose export changed meanwhile
  delivers a new version; its outcome named the old version "delivered";
* a version the registry holder refuses left the hospital's report saying
  "delivered N", and ``aanlevering status`` printed "delivered N" under the
  rejected version.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aanlevering.cli.registry_holder import write_demo_config
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.receipt import RejectedDelivery
from aanlevering.errors import DeliveryError
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, run_delivery
from aanlevering.runs.retry import retry_unreceipted
from conftest import CATALOGUE, World
from support.receivers import REGISTRATION, TODAY, changed_export, https_receiver, run
from support.registry_holder import HOSPITAL, RegistryHolder
from support.servers import free_port


def _hospital_report(world: World, period: str, version: int) -> dict[str, Any]:
    path = world.settings.reports_dir / REGISTRATION / period / f"v{version}"
    loaded: dict[str, Any] = json.loads((path / "hospital-report.json").read_text("utf-8"))
    return loaded


def test_a_retry_that_sent_a_new_version_does_not_call_the_old_one_delivered(
    world: World, tmp_path: Path
) -> None:
    """v1's send failed; its export changed in place; the retry delivered v2, not v1."""
    period = "2026-Q1"
    receiver = https_receiver(world)
    export = changed_export(world, tmp_path / "export", period, "91")
    world.holder.faults(fail_commits=5)
    with pytest.raises(DeliveryError, match="not receipted after 5 attempts"):
        run(world, receiver, export, period)
    with world.store() as store:
        v1 = load_ledger(store).current(REGISTRATION, period)
    assert v1 is not None and (v1.version, v1.status) == (1, "failed")
    # The EHR export in the same folder is refreshed before the hourly retry comes.
    changed = changed_export(world, tmp_path / "refreshed", period, "92")
    for file in changed.iterdir():
        shutil.copy2(file, export / file.name)

    outcomes = retry_unreceipted(today=TODAY)

    with world.store() as store:
        current = load_ledger(store).current(REGISTRATION, period)
        old = load_ledger(store).entries[v1.idempotency_key]
    assert current is not None and (current.version, current.status) == (2, "receipted")
    assert old.status != "receipted" and v1.idempotency_key not in receiver.held()
    (outcome,) = outcomes
    # v1 was never delivered: the outcome must not say so of it.
    assert not (outcome.idempotency_key == v1.idempotency_key and outcome.status == "delivered")
    assert (outcome.idempotency_key, outcome.status, outcome.delivered_key) == (
        v1.idempotency_key,
        "new-version",
        current.idempotency_key,
    ), outcome
    assert "v2" in outcome.detail and "not delivered" in outcome.detail, outcome.detail


@pytest.fixture(scope="module")
def strict_holder(world: World) -> Iterator[RegistryHolder]:
    """A second reference registry holder that knows the registrations' terms (the catalogue)."""
    home = world.home / "strict-holder"
    write_demo_config(home, HOSPITAL, [REGISTRATION], catalogue_dir=CATALOGUE)
    holder = RegistryHolder(home, free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    holder.start()
    try:
        yield holder
    finally:
        holder.stop()


def test_a_refused_delivery_is_not_reported_delivered(
    world: World, strict_holder: RegistryHolder, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hospital moved to a dictionary version the registry holder does not take yet."""
    from aanlevering.cli.main import main

    period = "2026-Q3"
    base = world.config(REGISTRATION)
    ahead = replace(base, dictionary=replace(base.dictionary, version="2027.1"))
    env = {
        **world.env,
        "AANLEVERING_REGISTRY_HOLDER_URL": strict_holder.base_url,
        "AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE": str(strict_holder.home / f"{HOSPITAL}.api-key"),
    }
    with world.store() as store:
        ports = world.ports(store)

        def channel_for(config: Any, outbox: Path | None) -> Channel:
            return build_channel(config, world.settings, outbox=outbox, env=env, ttp=ports.ttp)

        with pytest.raises(RejectedDelivery, match="dictionary"):
            run_delivery(
                ahead,
                world.settings,
                RunRequest(
                    REGISTRATION, world.demo / "csv-utf8", Period.parse(period), today=TODAY
                ),
                replace(ports, channel_for=channel_for),
            )
        entry = load_ledger(store).current(REGISTRATION, period)
    assert entry is not None and entry.status == "rejected"
    staged = sum(entry.record_counts.values())
    assert staged > 0

    report = _hospital_report(world, period, entry.version)
    accounting = report["accounting"]
    assert accounting["delivered"] == 0, accounting
    assert accounting["refused"] == staged, accounting
    assert accounting["records_read"] == (
        accounting["excluded_optout"]
        + accounting["dropped"]
        + accounting["delivered"]
        + accounting["blocked"]
        + accounting["unreceipted"]
        + accounting["refused"]
    )
    assert report["delivery"]["status"] == "refused", report.get("delivery")

    capsys.readouterr()
    main(["status", "--registration", REGISTRATION])
    out = capsys.readouterr().out
    lines = out.splitlines()
    (at,) = [i for i, line in enumerate(lines) if f" {period} v{entry.version} rejected " in line]
    described = lines[at + 1]
    assert "delivered 0" in described and f"refused by the registry holder {staged}" in described
    assert f"delivered {staged}" not in described
