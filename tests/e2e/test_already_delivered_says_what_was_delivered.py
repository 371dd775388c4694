""" "Already delivered" names the records the registry holder receipted, not the extract's.

Found red-teaming delivery and its proof: a rerun of a period whose content
was delivered and receipted before answered "already-delivered" with the
record counts of its own extract after opt-outs, before the records of
patients without any pseudonym were dropped. The registry holder held fewer
records than the run said it had (and than `aanlevering status` showed for the
same version), so the two answers to "what was delivered" did not add up.
Real TTP and registry holder processes, real event log.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

from aanlevering.catalogue import RegistrationConfig
from aanlevering.deliver.ledger import load_ledger
from aanlevering.periods import Period
from aanlevering.pipeline.run import RunRequest, RunResult, run_delivery
from aanlevering.pseudonym_types import PseudonymType
from conftest import World
from support.receivers import REGISTRATION, TODAY, https_receiver

PERIOD = "2026-Q3"


def _one_patient_without_birth_names(world: World, target: Path) -> Path:
    """The demo export with the birth names of one Q3 operation's patient left empty."""
    target.mkdir()
    changed = False
    for path in (world.demo / "csv-utf8").glob("*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        header = rows[0]
        if not changed and {"GESLACHTSNAAM", "OPERATIEDATUM"} <= set(header):
            for row in rows[1:]:
                if row[header.index("OPERATIEDATUM")][3:5] in {"07", "08", "09"}:
                    row[header.index("GESLACHTSNAAM")] = ""
                    row[header.index("VOORVOEGSELS")] = ""
                    changed = True
                    break
        out = io.StringIO()
        csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
        (target / path.name).write_text(out.getvalue(), encoding="utf-8")
    assert changed
    return target


def _run(world: World, config: RegistrationConfig, export: Path) -> RunResult:
    with world.store() as store:
        return run_delivery(
            config,
            world.settings,
            RunRequest(REGISTRATION, export, Period.parse(PERIOD), today=TODAY),
            https_receiver(world).ports(world, store),
        )


def test_a_rerun_says_the_records_the_holder_receipted(world: World, tmp_path: Path) -> None:
    base = world.config(REGISTRATION)
    only_nggv = replace(  # a patient without birth names gets no pseudonym at all: dropped
        base,
        pseudonymisation=replace(base.pseudonymisation, types=(PseudonymType.NGGV,)),
        validation=replace(base.validation, max_unpseudonymised_share=0.5),
    )
    export = _one_patient_without_birth_names(world, tmp_path / "export")
    delivered = _run(world, only_nggv, export)
    assert delivered.status == "delivered"
    assert delivered.accounting["dropped"] > 0
    held = {
        e["idempotency_key"]: e["records"]
        for e in world.holder.ledger()
        if e["registration"] == REGISTRATION
    }
    assert held[delivered.idempotency_key] == dict(delivered.record_counts)

    again = _run(world, only_nggv, export)

    assert (again.status, again.idempotency_key) == ("already-delivered", delivered.idempotency_key)
    assert dict(again.record_counts) == held[delivered.idempotency_key]
    assert again.accounting == delivered.accounting
    with world.store() as store:
        entry = load_ledger(store).current(REGISTRATION, PERIOD)
    assert entry is not None and entry.record_counts == dict(again.record_counts)
