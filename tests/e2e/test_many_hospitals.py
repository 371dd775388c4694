"""Three hospitals, one TTP, one registry holder: one registration and period per channel.

Each hospital has its own home and provider id; the reference TTP and the
reference registry holder run as real processes on 127.0.0.1 (and sshd for
SFTP). Over https (web mode), ttp-local and sftp, the three hospitals
deliver the same registration and period: three different receipts, three
deliveries held, and the hospitals that treated the same people give the
registry holder equal linkage pseudonyms. A fourth hospital with its own
source key is refused naming the key, and cannot read or write anything of
the others. A hospital whose home was wiped never adopts its old receipt.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
import requests

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.cli.registry_holder import write_demo_config as write_receiver_config
from aanlevering.counterparts.ttp.demo_config import write_demo_config as write_ttp_config
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.deliver.events import DeliveryVersionTaken, delivery_stream
from aanlevering.deliver.ledger import load_ledger
from aanlevering.deliver.receipt import Receipt
from aanlevering.demo.generator import DemoOptions, generate_demo_data
from aanlevering.events.factory import open_event_store
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import stream_name
from aanlevering.periods import Period
from aanlevering.pipeline.receiver_check import ReceiverAhead
from aanlevering.pipeline.run import Ports, RunRequest, RunResult, run_delivery
from aanlevering.pseudonym.keys import ensure_demo_keys, export_source_key, import_source_key
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.settings import Settings, load_settings
from support.registry_holder import RegistryHolder
from support.servers import PYTHON, ServerProcess, free_port, start_server
from support.sshd import SftpServer

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "schemas" / "catalogue"
TODAY = date(2026, 11, 22)
A, B, C, D = "hospital-a", "hospital-b", "hospital-c", "hospital-d"
SHARING = (A, B, C)  # D never imports the shared source keys
LABEL = re.compile(r"\b(NGGV|NGG|C):v\d+:[A-Za-z0-9_-]{16,}")


@dataclass
class Hospital:
    """One hospital's embedded default: its own home, provider id, keys and event log."""

    id: str
    settings: Settings
    env: dict[str, str]
    demo: Path

    def client(self, ttp_url: str) -> TTPClient:
        key = Path(self.env["AANLEVERING_TTP_API_KEY_FILE"]).read_text().strip()
        return TTPClient(ttp_url, key, backoff=0.01)


@dataclass
class Network:
    """The hospitals and their counterparties."""

    home: Path
    catalogue: Catalogue
    ttp: ServerProcess
    holder: RegistryHolder
    hospitals: dict[str, Hospital]
    shared_keys: dict[str, Path]

    def deliver(
        self,
        hospital: str,
        registration: str,
        period: str,
        source: Path,
        *,
        config: RegistrationConfig | None = None,
        allow_open_period: bool = False,
        outbox: Path | None = None,
    ) -> RunResult:
        """One run of the pipeline for ``hospital`` (in its home, with its keys)."""
        h = self.hospitals[hospital]
        config = config or self.catalogue.get(registration)
        client = h.client(self.ttp.url)

        def channel_for(c: RegistrationConfig, outbox: Path | None) -> Channel:
            return build_channel(config, h.settings, outbox=outbox, env=h.env, ttp=client)

        with open_event_store(h.settings.event_store_url) as store:
            return run_delivery(
                config,
                h.settings,
                RunRequest(
                    registration,
                    source,
                    Period.parse(period),
                    today=TODAY,
                    allow_open_period=allow_open_period,
                    outbox=outbox,
                ),
                Ports(store=store, ttp=client, channel_for=channel_for),
            )

    def held(self, hospital: str, key: str) -> Path:
        return self.holder.home / "storage" / "deliveries" / hospital / key

    def headers(self, hospital: str) -> dict[str, str]:
        key = (self.holder.home / f"{hospital}.api-key").read_text().strip()
        return {"Authorization": f"Bearer {key}"}

    def ledger(self, hospital: str) -> list[dict[str, object]]:
        response = requests.get(
            f"{self.holder.base_url}/ledger", headers=self.headers(hospital), timeout=10
        )
        response.raise_for_status()
        result: list[dict[str, object]] = response.json()
        return result


def _make_hospital(
    home: Path, hospital: str, demo: Path, ttp: ServerProcess, holder: RegistryHolder
) -> Hospital:
    env = {
        "AANLEVERING_HOME": str(home / hospital),
        "AANLEVERING_CATALOGUE": str(CATALOGUE),
        "AANLEVERING_PROVIDER_ID": hospital,
        "AANLEVERING_TTP_URL": ttp.url,
        "AANLEVERING_TTP_API_KEY_FILE": str(home / "ttp" / "clients" / f"{hospital}.key"),
        "AANLEVERING_REGISTRY_HOLDER_URL": holder.base_url,
        "AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE": str(
            home / "registry-holder" / f"{hospital}.api-key"
        ),
    }
    settings = load_settings(env)
    return Hospital(hospital, settings, env, demo)


def _include(network: Network, registration: str) -> None:
    """The registration's register admitted it (as the local-mode e2e test does)."""
    for hospital in network.hospitals.values():
        with open_event_store(hospital.settings.event_store_url) as store:
            store.append(
                stream_name(registration),
                [
                    to_event(
                        RegisterDecision(
                            registration=registration,
                            kind="included",
                            decided_on=date(2026, 3, 1),
                            effective_from=date(2026, 3, 1),
                            term_years=5,
                        )
                    )
                ],
                None,
            )


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    home = tmp_path_factory.mktemp("many")
    catalogue = load_catalogue(CATALOGUE)
    registrations = [c.id for c in catalogue]
    same, other = home / "demo-same", home / "demo-other"
    generate_demo_data(catalogue, DemoOptions(out_dir=same, patients=80, seed=7, bad_share=0))
    generate_demo_data(catalogue, DemoOptions(out_dir=other, patients=80, seed=23, bad_share=0))
    holder_port = free_port()
    hospitals = [A, B, C, D]
    setup = write_ttp_config(
        home / "ttp", hospitals=hospitals, forward_base_url=f"http://127.0.0.1:{holder_port}"
    )
    ttp = start_server(
        [
            *(PYTHON, "-m", "aanlevering.cli.main", "ttp", "serve"),
            *("--config", str(setup.config), "--port", "{port}"),
        ],
        log_path=home / "ttp.log",
    )
    clients = home / "ttp" / "clients"
    write_receiver_config(
        home / "registry-holder",
        hospitals,
        registrations,
        ttp_url=ttp.url,
        ttp_api_key_files={c.id: clients / f"{c.registry_holder_id}.key" for c in catalogue},
        forwarder_key_files={
            c.registry_holder_id: home / "ttp" / "forwarding" / f"{c.registry_holder_id}.key"
            for c in catalogue
        },
    )
    holder_key = (home / "registry-holder" / f"{A}.api-key").read_text().strip()
    holder = RegistryHolder(home / "registry-holder", holder_port, holder_key)
    holder.start()
    demos = {A: same, B: same, C: other, D: same}  # A and B treated the same people
    network = Network(
        home,
        catalogue,
        ttp,
        holder,
        {h: _make_hospital(home, h, demos[h], ttp, holder) for h in hospitals},
        {},
    )
    for hospital in network.hospitals.values():
        ensure_demo_keys(hospital.settings, registrations)  # each its own random keys
    # Hospital A hands its source keys to B and C (`aanlevering keys export` / `import`).
    for registration in registrations:
        export = home / f"{registration}.source-key.json"
        export_source_key(network.hospitals[A].settings, registration, export)
        network.shared_keys[registration] = export
        for hospital in (B, C):
            import_source_key(network.hospitals[hospital].settings, export, replace=True)
    try:
        yield network
    finally:
        holder.stop()
        ttp.stop()


def _labels(folder: Path) -> set[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file())
    return {match.group(0) for match in LABEL.finditer(text)}


def _check_travelling_report(
    folder: Path, hospital: str, registration: str, receipt: Receipt
) -> None:
    """The validation report reached the registry holder over this channel, with the counts."""
    report = json.loads((folder / "validation-report.json").read_text(encoding="utf-8"))
    assert report["provider"]["id"] == hospital
    assert report["registration"]["id"] == registration
    assert report["accounting"]["delivered"] == sum(receipt.record_counts.values()) > 0
    assert "Accounting of the delivery run" in (folder / "validation-report.html").read_text(
        encoding="utf-8"
    )


def _three_deliveries(
    network: Network, registration: str, period: str, receipts: dict[str, Receipt]
) -> dict[str, set[str]]:
    """Checks common to every channel; returns the linkage labels held per hospital."""
    assert len({r.receipt_id for r in receipts.values()}) == 3  # three different receipts
    assert {h: r.provider for h, r in receipts.items()} == {h: h for h in SHARING}
    labels = {}
    for hospital in SHARING:
        key = f"{hospital}.{registration}.{period}.v1"
        assert receipts[hospital].idempotency_key == key
        entries = network.ledger(hospital)  # each sees only its own deliveries
        assert {e["provider"] for e in entries} == {hospital}
        assert key in [e["idempotency_key"] for e in entries]
        folder = network.held(hospital, key) / "accepted"
        _check_travelling_report(folder, hospital, registration, receipts[hospital])
        labels[hospital] = _labels(folder)
        assert labels[hospital], f"no linkage pseudonyms held for {hospital}"
    # The same people treated at A and B link; C treated others.
    assert labels[A] == labels[B]
    assert len(labels[C] & labels[A]) < len(labels[A]) / 2
    return labels


def test_https_web_mode_three_hospitals_three_receipts_and_linkage(network: Network) -> None:
    receipts = {}
    for hospital in SHARING:
        h = network.hospitals[hospital]
        result = network.deliver(hospital, "dica-dsaa", "2026-Q1", h.demo / "csv-utf8")
        assert result.status == "delivered" and result.receipt is not None
        assert not result.receipt.duplicate  # never another hospital's receipt
        receipts[hospital] = result.receipt
    labels = _three_deliveries(network, "dica-dsaa", "2026-Q1", receipts)
    assert any(label.startswith("NGGV:v1:") for label in labels[A])
    accepted = network.held(A, f"{A}.dica-dsaa.2026-Q1.v1") / "accepted" / "operatie.csv"
    assert "T1:" not in accepted.read_text(encoding="utf-8")  # exchanged at the TTP


def _a_has_delivered(network: Network) -> None:
    """Hospital A's Q1 delivery (made by the https test; made here when run alone)."""
    # A's delivery of another registration (e.g. nkr-borst, under xdist) is not this one.
    if f"{A}.dica-dsaa.2026-Q1.v1" not in {e["idempotency_key"] for e in network.ledger(A)}:
        network.deliver(A, "dica-dsaa", "2026-Q1", network.hospitals[A].demo / "csv-utf8")


def test_ttp_local_three_hospitals_three_receipts_and_linkage(network: Network) -> None:
    _include(network, "nkr-borst")
    receipts = {}
    for hospital in SHARING:
        h = network.hospitals[hospital]
        result = network.deliver(
            hospital,
            "nkr-borst",
            "2026",
            h.demo / "fhir-bulk" / "nkr-borst",
            allow_open_period=True,
        )
        assert result.status == "delivered" and result.receipt is not None
        assert result.receipt.channel == "ttp-local" and not result.receipt.duplicate
        receipts[hospital] = result.receipt
    _three_deliveries(network, "nkr-borst", "2026", receipts)


def test_sftp_three_hospitals_three_receipts_and_linkage(
    network: Network, sftp_server: SftpServer
) -> None:
    receipts = {}
    base = network.catalogue.get("ldtr")  # FHIR NDJSON over SFTP, web mode
    for hospital in SHARING:
        h = network.hospitals[hospital]
        inbox = network.holder.home / "sftp-inbox" / hospital / "ldtr"
        config = replace(
            base,
            delivery=replace(
                base.delivery,
                endpoint=f"{sftp_server.url_prefix}{inbox}",
                receipt_timeout_seconds=30,
            ),
        )
        h.env["AANLEVERING_SFTP_KEY_FILE"] = str(sftp_server.client_key)
        h.env["AANLEVERING_SFTP_KNOWN_HOSTS"] = str(sftp_server.known_hosts)
        result = network.deliver(hospital, "ldtr", "2026-03", h.demo / "csv-utf8", config=config)
        assert result.status == "delivered" and result.receipt is not None
        assert result.receipt.channel == "sftp" and not result.receipt.duplicate
        receipts[hospital] = result.receipt
    labels = _three_deliveries(network, "ldtr", "2026-03", receipts)
    assert any(label.startswith("NGG:v1:") for label in labels[A])


def test_outbox_shared_by_three_hospitals_three_receipts_in_three_folders(
    network: Network,
) -> None:
    """One outbox root for all (decision 0400): each hospital its own folder and receipt."""
    shared = network.home / "shared-outbox"
    receipts = {}
    for hospital in SHARING:
        h = network.hospitals[hospital]
        result = network.deliver(
            hospital, "dica-dsaa", "2026-Q3", h.demo / "csv-utf8", outbox=shared
        )
        assert result.status == "handed-over" and result.receipt is not None  # 0820
        assert result.receipt.channel == "outbox" and not result.receipt.duplicate
        assert result.receipt.provider == hospital
        receipts[hospital] = result.receipt
    assert len({r.receipt_id for r in receipts.values()}) == 3
    assert sorted(p.name for p in shared.iterdir()) == sorted(SHARING)
    for hospital, receipt in receipts.items():
        folder = shared / hospital / "dica-dsaa" / "2026-Q3" / "v1"
        held = json.loads((folder / "receipt.json").read_text(encoding="utf-8"))
        assert held["receipt_id"] == receipt.receipt_id and held["provider"] == hospital
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["idempotency_key"] == f"{hospital}.dica-dsaa.2026-Q3.v1"
    again = network.deliver(
        B, "dica-dsaa", "2026-Q3", network.hospitals[B].demo / "csv-utf8", outbox=shared
    )
    assert again.status == "already-handed-over"  # still in the outbox (0820)


def test_hospital_with_another_source_key_is_refused_naming_the_key(network: Network) -> None:
    _a_has_delivered(network)  # the TTP knows the shared key's check value from A
    d = network.hospitals[D]
    with pytest.raises(TTPRefused) as refused:
        network.deliver(D, "dica-dsaa", "2026-Q1", d.demo / "csv-utf8")
    assert refused.value.code == "source_key_mismatch"
    assert "source key 'dica-dsaa' version 1" in str(refused.value)
    assert network.ledger(D) == []  # nothing delivered
    with open_event_store(d.settings.event_store_url) as store:
        assert load_ledger(store).versions("dica-dsaa", "2026-Q1") == []


def test_hostile_hospital_cannot_touch_another_hospitals_deliveries(network: Network) -> None:
    _a_has_delivered(network)
    endpoint = f"{network.holder.base_url}/registrations/dica-dsaa/deliveries"
    theirs = f"{A}.dica-dsaa.2026-Q1.v1"
    hostile = network.headers(D)
    read = requests.get(f"{endpoint}/{theirs}/receipt", headers=hostile, timeout=10)
    assert read.status_code == 403
    missing = requests.get(f"{endpoint}/{D}.dica-dsaa.2026-Q1.v1/receipt", headers=hostile)
    assert missing.status_code == 404
    assert all(e["provider"] == D for e in network.ledger(D))
    manifest = (network.held(A, theirs) / "manifest.json").read_text()
    commit = requests.post(
        f"{endpoint}/{theirs}/commit",
        data=manifest.encode(),
        headers={**hostile, "Content-Type": "application/json"},
        timeout=10,
    )
    assert commit.status_code == 403
    upload = requests.put(
        f"{endpoint}/{theirs}/files/operatie.csv", data=b"junk", headers=hostile, timeout=10
    )
    assert upload.status_code == 403
    escape = manifest.replace('"name": "operatie.csv"', '"name": "../../../escape.csv"')
    escape = escape.replace(f'"provider_id": "{A}"', f'"provider_id": "{D}"').replace(
        theirs, f"{D}.dica-dsaa.2026-Q1.v1"
    )
    sneaky = requests.post(
        f"{endpoint}/{D}.dica-dsaa.2026-Q1.v1/commit",
        data=escape.encode(),
        headers={**hostile, "Content-Type": "application/json"},
        timeout=10,
    )
    assert sneaky.status_code == 400, sneaky.text
    assert not list(network.home.rglob("escape.csv"))
    assert [e["provider"] for e in network.ledger(A)].count(A) >= 1


def _taken_receipts(settings: Settings, registration: str, period: str) -> list[str]:
    """Receipts the receiver named for versions it holds with other content (never adopted)."""
    with open_event_store(settings.event_store_url) as store:
        events = [r.to_event() for r in store.read_stream(delivery_stream(registration, period))]
    return [e.receipt_id for e in events if isinstance(e, DeliveryVersionTaken)]


def test_rerun_after_a_wiped_home_with_changed_content_gets_a_new_receipt(
    network: Network,
) -> None:
    b = network.hospitals[B]
    first = network.deliver(B, "dica-dsaa", "2026-Q2", b.demo / "csv-utf8")
    assert first.status == "delivered" and first.receipt is not None
    # The home is wiped; the shared source key is imported again; the data changed.
    shutil.rmtree(b.settings.home)
    ensure_demo_keys(b.settings, [c.id for c in network.catalogue])
    import_source_key(b.settings, network.shared_keys["dica-dsaa"], replace=True)
    changed = network.hospitals[C].demo / "csv-utf8"
    # The rerun asks the holder first: it holds v1, which this log does not know, so the
    # run stops and the log records v1 as the holder's (decision 0460) ...
    with pytest.raises(ReceiverAhead, match="the event log knows no version"):
        network.deliver(B, "dica-dsaa", "2026-Q2", changed)
    # ... and the next run delivers this content as v2, superseding it.
    again = network.deliver(B, "dica-dsaa", "2026-Q2", changed)
    assert again.status == "delivered" and again.receipt is not None
    assert again.version == 2 and again.receipt.receipt_id != first.receipt.receipt_id
    assert _taken_receipts(b.settings, "dica-dsaa", "2026-Q2") == [first.receipt.receipt_id]
    held = [e for e in network.ledger(B) if e["period"] == "2026-Q2"]
    assert [(e["version"], e["supersedes"]) for e in held] == [
        (1, None),
        (2, f"{B}.dica-dsaa.2026-Q2.v1"),
    ]


def test_ttp_local_rerun_after_a_wiped_home_is_never_answered_with_the_old_receipt(
    network: Network,
) -> None:
    c = network.hospitals[C]
    key = f"{C}.nkr-borst.2026.v1"
    if key not in [e["idempotency_key"] for e in network.ledger(C)]:
        _include(network, "nkr-borst")
        network.deliver(
            C, "nkr-borst", "2026", c.demo / "fhir-bulk" / "nkr-borst", allow_open_period=True
        )
    old = next(e for e in network.ledger(C) if e["idempotency_key"] == key)
    shutil.rmtree(c.settings.home)
    ensure_demo_keys(c.settings, [cfg.id for cfg in network.catalogue])
    for export in network.shared_keys.values():
        import_source_key(c.settings, export, replace=True)
    _include(network, "nkr-borst")
    changed = network.hospitals[A].demo / "fhir-bulk" / "nkr-borst"
    again = network.deliver(C, "nkr-borst", "2026", changed, allow_open_period=True)
    assert len(_taken_receipts(c.settings, "nkr-borst", "2026")) == 1  # v1 recorded as taken
    assert again.status == "delivered" and again.receipt is not None
    assert again.version == 2 and again.receipt.receipt_id != old["receipt_id"]
    assert again.receipt.channel == "ttp-local"
    held = [e for e in network.ledger(C) if e["registration"] == "nkr-borst"]
    assert [(e["version"], e["supersedes"]) for e in held] == [(1, None), (2, key)]
