"""End-to-end setup: demo EHR data, a reference TTP and registry holder as real processes.

Everything lives in one temporary ``AANLEVERING_HOME`` per test module, as it
would on a hospital's machine running the embedded default.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.cli.registry_holder import write_demo_config as write_receiver_config
from aanlevering.counterparts.ttp.demo_config import write_demo_config as write_ttp_config
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.demo.generator import DemoOptions, generate_demo_data
from aanlevering.events.factory import open_event_store
from aanlevering.events.store import EventStore
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from aanlevering.pipeline.run import Ports
from aanlevering.pseudonym.keys import ensure_demo_keys
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import Settings, load_settings
from support.forked_cli import run_cli
from support.registry_holder import HOSPITAL, RegistryHolder
from support.servers import PYTHON, ServerProcess, free_port, start_server

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "schemas" / "catalogue"
PATIENTS = 400


@dataclass
class World:
    """A hospital's embedded default with its counterparties running."""

    home: Path
    demo: Path
    bad_demo: Path
    settings: Settings
    catalogue: Catalogue
    ttp: ServerProcess
    holder: RegistryHolder
    env: dict[str, str]

    def config(self, registration: str) -> RegistrationConfig:
        return self.catalogue.get(registration)

    def store(self) -> EventStore:
        return open_event_store(self.settings.event_store_url)

    def ports(self, store: EventStore) -> Ports:
        client = TTPClient(self.ttp.url, self.env["AANLEVERING_TTP_API_KEY"], backoff=0.01)

        def channel_for(config: RegistrationConfig, outbox: Path | None) -> Channel:
            return build_channel(config, self.settings, outbox=outbox, env=self.env, ttp=client)

        return Ports(store=store, ttp=client, channel_for=channel_for)

    def include(self, registration: str, on: date = date(2026, 1, 1)) -> None:
        """The registration's inclusion in the register, from ``on`` (runs wait for it)."""
        decision = RegisterDecision(
            registration=registration,
            kind="included",
            decided_on=on,
            effective_from=on,
            term_years=5,
        )
        with self.store() as store:
            record_decisions(store, [decision])

    def cli(
        self, catalogue: Path, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The CLI as a hospital runs it, its own process (forked from an interpreter that
        has imported it, decision 0955), with ``catalogue`` (a test's copy, or the shipped
        one); ``env``: settings of this call only (``AANLEVERING_RUN_LOCK_WAIT``, say)."""
        return run_cli(
            args,
            env={
                **self.env,
                "AANLEVERING_CATALOGUE": str(catalogue),
                "PATH": "/usr/bin:/bin",
                "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
                **(env or {}),
            },
            timeout=300,
        )


def identity_values(demo: Path) -> set[str]:
    """Every BSN, name, MRN, full birth date and full postcode of the CSV input."""
    values: set[str] = set()
    for file in (demo / "csv-utf8").glob("*.csv"):
        with file.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                for column in ("BSN", "PATIENTNUMMER", "GEBOORTEDATUM", "POSTCODE"):
                    if row.get(column):
                        values.add(row[column])
                for column in ("GESLACHTSNAAM", "PARTNERNAAM"):
                    if row.get(column) and len(row[column]) >= 5:
                        values.add(row[column])
                if row.get("GEBOORTEDATUM") and "-" in row["GEBOORTEDATUM"]:
                    day, month, year = row["GEBOORTEDATUM"].split("-")
                    values.add(f"{year}-{month}-{day}")
                if row.get("POSTCODE"):
                    values.add(row["POSTCODE"].replace(" ", ""))
    return values


def fhir_identity_values(demo: Path) -> set[str]:
    """BSNs, MRNs, names, full birth dates and street lines of the FHIR Patients of the demo."""
    values: set[str] = set()
    for file in (demo / "fhir-bulk").glob("*/Patient*.ndjson"):
        for line in file.read_text(encoding="utf-8").splitlines():
            patient = json.loads(line)
            values.update(i["value"] for i in patient.get("identifier", ()) if i.get("value"))
            values.add(patient["birthDate"])
            for name in patient.get("name", ()):
                if len(name.get("family", "")) >= 5:
                    values.add(name["family"])
            for address in patient.get("address", ()):
                values.update(address.get("line", ()))
                if address.get("postalCode"):
                    values.add(address["postalCode"])
    return values


@pytest.fixture(scope="session")
def demo_exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The ``world``'s two demo exports (clean, and 5% bad), generated once per pytest process.

    Seeded, so every module's copy is what its own generation gave; each ``world``
    copies them into its home (tests may write next to them, decision 0773).
    """
    shared = tmp_path_factory.mktemp("demo-exports")
    catalogue = load_catalogue(CATALOGUE)
    demo, bad_demo = shared / "demo", shared / "demo-bad"
    generate_demo_data(catalogue, DemoOptions(out_dir=demo, patients=PATIENTS, seed=7, bad_share=0))
    generate_demo_data(
        catalogue, DemoOptions(out_dir=bad_demo, patients=PATIENTS, seed=7, bad_share=0.05)
    )
    return demo, bad_demo


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, demo_exports: tuple[Path, Path]
) -> Iterator[World]:
    home = tmp_path_factory.mktemp("home")
    catalogue = load_catalogue(CATALOGUE)
    demo, bad_demo = home / "demo", home / "demo-bad"
    shutil.copytree(demo_exports[0], demo)
    shutil.copytree(demo_exports[1], bad_demo)
    holder_port = free_port()
    ttp_setup = write_ttp_config(
        home / "ttp", forward_base_url=f"http://127.0.0.1:{holder_port}", fault_injection=True
    )
    ttp = start_server(
        [
            PYTHON,
            "-m",
            "aanlevering.cli.main",
            "ttp",
            "serve",
            "--config",
            str(ttp_setup.config),
            "--port",
            "{port}",
        ],
        log_path=home / "ttp.log",
    )
    clients = home / "ttp" / "clients"
    registrations = [c.id for c in catalogue]
    write_receiver_config(
        home / "registry-holder",
        HOSPITAL,
        registrations,
        fault_injection=True,
        ttp_url=ttp.url,
        ttp_api_key_files={c.id: clients / f"{c.registry_holder_id}.key" for c in catalogue},
        forwarder_key_files={
            c.registry_holder_id: home / "ttp" / "forwarding" / f"{c.registry_holder_id}.key"
            for c in catalogue
        },
    )
    holder_key = (home / "registry-holder" / f"{HOSPITAL}.api-key").read_text().strip()
    holder = RegistryHolder(home / "registry-holder", holder_port, holder_key)
    holder.start()
    env = {
        "AANLEVERING_HOME": str(home / "var"),
        "AANLEVERING_CATALOGUE": str(CATALOGUE),
        # The reference TTP and registry holder, as demo-hospital: the demo (0710, 0711).
        "AANLEVERING_DEMO_MODE": "yes",
        "AANLEVERING_TTP_URL": ttp.url,
        "AANLEVERING_TTP_API_KEY": (clients / f"{HOSPITAL}.key").read_text().strip(),
        "AANLEVERING_TTP_API_KEY_FILE": str(clients / f"{HOSPITAL}.key"),
        "AANLEVERING_REGISTRY_HOLDER_URL": holder.base_url,
        "AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE": str(
            home / "registry-holder" / f"{HOSPITAL}.api-key"
        ),
        # A CLI or Airflow subprocess runs this checkout's code: in a git worktree the
        # venv's editable install names another checkout (unset in a clean clone's CI).
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}),
    }
    settings = load_settings(env)
    ensure_demo_keys(settings, registrations)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield World(home, demo, bad_demo, settings, catalogue, ttp, holder, env)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        holder.stop()
        ttp.stop()
