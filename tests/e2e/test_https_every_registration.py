"""Every example registration delivered over https to TLS counterparties (issue 16).

Both reference services run with real TLS (a throwaway CA, client
certificates optional); the hospital verifies them with that CA. DICA goes
over the https channel as configured, LDTR's FHIR NDJSON (Patient.address
with a PC4 postcode) is sent over https instead of SFTP, NKR goes to the TTP
in local mode, which forwards it over https. The registry holder's checks
must accept each, and both audit chains must verify afterwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig, load_catalogue
from aanlevering.cli.registry_holder import write_demo_config as write_receiver_config
from aanlevering.counterparts.common.audit import verify_chain
from aanlevering.counterparts.common.demo_ca import DemoCA
from aanlevering.counterparts.ttp.demo_config import write_demo_config as write_ttp_config
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.demo.generator import DemoOptions, generate_demo_data
from aanlevering.events.factory import open_event_store
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import stream_name
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports, RunRequest, run_delivery
from aanlevering.pseudonym.keys import ensure_demo_keys
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import load_settings
from aanlevering.tls import ClientTLS
from support.registry_holder import HOSPITAL, RegistryHolder
from support.servers import PYTHON, free_port, start_server
from support.tls import server_args

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "schemas" / "catalogue"
TODAY = date(2026, 11, 22)
RUNS = {
    "dica-dsaa": ("2026-Q1", "csv-utf8"),
    "ldtr": ("2026-02", "csv-utf8"),
    "nkr-borst": ("2026", "fhir-bulk/nkr-borst"),
}


@pytest.fixture(scope="module")
def delivered(
    tmp_path_factory: pytest.TempPathFactory, demo_ca: DemoCA
) -> Iterator[tuple[Path, RegistryHolder, dict[str, object]]]:
    home = tmp_path_factory.mktemp("https-home")
    catalogue = load_catalogue(CATALOGUE)
    demo = home / "demo"
    generate_demo_data(catalogue, DemoOptions(out_dir=demo, patients=60, seed=11, bad_share=0))
    holder_port = free_port()
    ttp_setup = write_ttp_config(
        home / "ttp",
        forward_base_url=f"https://127.0.0.1:{holder_port}",
        forward_ca_bundle=demo_ca.ca_cert,
    )
    ttp = start_server(
        [
            *(PYTHON, "-m", "aanlevering.cli.main", "ttp", "serve"),
            *("--config", str(ttp_setup.config), "--port", "{port}", *server_args(demo_ca)),
        ],
        log_path=home / "ttp.log",
        scheme="https",
        verify=str(demo_ca.ca_cert),
    )
    clients = home / "ttp" / "clients"
    write_receiver_config(
        home / "registry-holder",
        HOSPITAL,
        [c.id for c in catalogue],
        ttp_url=ttp.url,
        ttp_api_key_files={c.id: clients / f"{c.registry_holder_id}.key" for c in catalogue},
        forwarder_key_files={
            c.registry_holder_id: home / "ttp" / "forwarding" / f"{c.registry_holder_id}.key"
            for c in catalogue
        },
        ttp_ca_bundle=demo_ca.ca_cert,
        catalogue_dir=CATALOGUE,  # it checks pseudonym types and CSV headers too (0435)
    )
    holder_key = (home / "registry-holder" / f"{HOSPITAL}.api-key").read_text().strip()
    holder = RegistryHolder(
        home / "registry-holder",
        holder_port,
        holder_key,
        tls_args=server_args(demo_ca),
        ca=demo_ca.ca_cert,
    )
    holder.start()
    env = {
        "AANLEVERING_DEMO_MODE": "yes",  # the reference services, as demo-hospital (0710, 0711)
        "AANLEVERING_HOME": str(home / "var"),
        "AANLEVERING_CATALOGUE": str(CATALOGUE),
        "AANLEVERING_TTP_URL": ttp.url,
        "AANLEVERING_TTP_CA_FILE": str(demo_ca.ca_cert),
        "AANLEVERING_TTP_API_KEY_FILE": str(clients / f"{HOSPITAL}.key"),
        "AANLEVERING_REGISTRY_HOLDER_URL": holder.base_url,
        "AANLEVERING_REGISTRY_HOLDER_CA_FILE": str(demo_ca.ca_cert),
        "AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE": str(
            home / "registry-holder" / f"{HOSPITAL}.api-key"
        ),
    }
    settings = load_settings(env)
    ensure_demo_keys(settings, [c.id for c in catalogue])
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    results: dict[str, object] = {}
    try:
        client = TTPClient.from_env(env, backoff=0.01)
        assert client.base_url.startswith("https://")

        def channel_for(config: RegistrationConfig, outbox: Path | None) -> Channel:
            if config.id == "ldtr":  # SFTP in the catalogue; here its FHIR goes over https
                return HttpsChannel(
                    holder.endpoint("ldtr"),
                    holder_key,
                    tls=ClientTLS(ca_bundle=demo_ca.ca_cert),
                )
            return build_channel(config, settings, outbox=outbox, env=env, ttp=client)

        with open_event_store(settings.event_store_url) as store:
            included = RegisterDecision(
                registration="nkr-borst",
                kind="included",
                decided_on=date(2026, 3, 1),
                effective_from=date(2026, 3, 1),
                term_years=5,
            )
            store.append(stream_name("nkr-borst"), [to_event(included)], None)
            ports = Ports(store=store, ttp=client, channel_for=channel_for)
            for registration, (period, source) in RUNS.items():
                results[registration] = run_delivery(
                    catalogue.get(registration),
                    settings,
                    RunRequest(
                        registration,
                        demo / source,
                        Period.parse(period),
                        today=TODAY,
                        allow_open_period=registration == "nkr-borst",
                    ),
                    ports,
                )
        yield home, holder, results
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        holder.stop()
        ttp.stop()


def test_every_example_registration_is_receipted_over_https(
    delivered: tuple[Path, RegistryHolder, dict[str, object]],
) -> None:
    _, holder, results = delivered
    assert {name: getattr(result, "status", None) for name, result in results.items()} == {
        name: "delivered" for name in RUNS
    }
    channels = {name: getattr(r, "receipt").channel for name, r in results.items()}  # noqa: B009
    assert channels["nkr-borst"] == "ttp-local"
    assert {entry["registration"] for entry in holder.ledger()} == set(RUNS)


def test_ltr_patients_with_pc4_addresses_were_accepted(
    delivered: tuple[Path, RegistryHolder, dict[str, object]],
) -> None:
    _, holder, _ = delivered
    stored = holder.home / "storage" / "deliveries" / HOSPITAL
    patients = [
        json.loads(line)
        for path in stored.glob(f"{HOSPITAL}.ldtr.2026-02.v*/accepted/Patient*.ndjson")
        for line in path.read_text().splitlines()
    ]
    addresses = [a for p in patients for a in p.get("address", ())]
    assert patients and addresses
    assert all(set(a) == {"postalCode"} and len(a["postalCode"]) == 4 for a in addresses)


def test_both_audit_chains_verify_after_the_deliveries(
    delivered: tuple[Path, RegistryHolder, dict[str, object]],
) -> None:
    home, holder, _ = delivered
    for path in (home / "ttp" / "audit.jsonl", holder.home / "audit.jsonl"):
        count, problems = verify_chain(path)
        assert count > 0 and problems == [], path
    entries = [json.loads(line) for line in (holder.home / "audit.jsonl").read_text().splitlines()]
    commits = [e for e in entries if e["endpoint"].endswith("/commit") and e["status"] < 300]
    assert {e["registration"] for e in commits} == set(RUNS)
    assert any(e["who"].startswith("forwarder:") for e in commits)  # the TTP, for NKR
