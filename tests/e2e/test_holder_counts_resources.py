"""A registry holder counts the records of a delivery whose records travel as resources.

``nkr-borst`` delivers ``fhir_content: resources``: no QuestionnaireResponse, one
Condition (category ``tumor``) per record. The reference holder, which knows the
registration's terms from its catalogue, counts those the way the product does
(one record per focus resource matching the dataset's ``where``) and refuses a
manifest whose ``record_counts`` are off by one; the honest delivery is still
receipted (decision 0595). Real processes: the pipeline against the TTP, and the
holder serving https-less HTTP on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig
from aanlevering.cli.registry_holder import write_demo_config
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, write_manifest
from aanlevering.deliver.receipt import RejectedDelivery
from aanlevering.events.factory import open_event_store
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import stream_name
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports, RunRequest, run_delivery
from aanlevering.pseudonym.patient_ref import load_or_create_key
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import load_settings
from conftest import CATALOGUE, World
from support.registry_holder import HOSPITAL, RegistryHolder
from support.servers import free_port

REGISTRATION, PERIOD = "nkr-borst", "2026"


def _web_mode(config: RegistrationConfig) -> RegistrationConfig:
    """nkr-borst with temporary pseudonyms from the TTP's web API, exchanged at the holder."""
    return replace(config, pseudonymisation=replace(config.pseudonymisation, ttp_mode="web"))


@pytest.fixture(scope="module")
def delivered(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """The nkr-borst delivery the pipeline made, as placed in an outbox (files + manifest)."""
    root = tmp_path_factory.mktemp("resources-delivery")
    for lazily_made in ("resource-ids.key", "patient-ref.key"):
        load_or_create_key(world.settings.secrets_dir / lazily_made)
    (root / "var").mkdir()
    shutil.copytree(world.settings.secrets_dir, root / "var" / "secrets")
    env = {**world.env, "AANLEVERING_HOME": str(root / "var")}
    settings = load_settings(env)
    client = TTPClient(world.ttp.url, env["AANLEVERING_TTP_API_KEY"], backoff=0.01)
    outbox = root / "outbox"

    def channel_for(config: RegistrationConfig, box: Path | None) -> Channel:
        return build_channel(config, settings, outbox=box, env=env, ttp=client)

    with open_event_store(settings.event_store_url) as store:
        included = RegisterDecision(
            registration=REGISTRATION,
            kind="included",
            decided_on=date(2026, 1, 1),
            effective_from=date(2026, 1, 1),
            term_years=5,
        )
        store.append(stream_name(REGISTRATION), [to_event(included)], None)
        result = run_delivery(
            _web_mode(world.config(REGISTRATION)),
            settings,
            RunRequest(
                REGISTRATION,
                world.demo / "fhir-bulk" / REGISTRATION,
                Period.parse(PERIOD),
                today=date(2026, 11, 22),
                outbox=outbox,
                allow_open_period=True,
            ),
            Ports(store=store, ttp=client, channel_for=channel_for),
        )
    assert result.status == "handed-over"  # an outbox's: handed over, not delivered (0820)
    (manifest_path,) = outbox.rglob(MANIFEST_NAME)
    manifest = Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
    assert manifest.provider_id == HOSPITAL
    return manifest_path.parent, manifest


@pytest.fixture
def holder(world: World, tmp_path: Path) -> Iterator[RegistryHolder]:
    """A reference registry holder that knows its registrations' terms (the catalogue) and
    exchanges the delivery's temporary pseudonyms at the world's TTP (decision 1060)."""
    home = tmp_path / "holder"
    keys = world.home / "ttp" / "clients"
    write_demo_config(
        home,
        HOSPITAL,
        [REGISTRATION],
        catalogue_dir=CATALOGUE,
        ttp_url=world.ttp.url,
        ttp_api_key_files={c.id: keys / f"{c.registry_holder_id}.key" for c in world.catalogue},
    )
    running = RegistryHolder(home, free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _no_questionnaire_responses(folder: Path, manifest: Manifest) -> int:
    """How many QuestionnaireResponses the delivery holds (none: records are resources)."""
    text = "".join((folder / f.name).read_text(encoding="utf-8") for f in manifest.files)
    return text.count('"resourceType":"QuestionnaireResponse"')


@pytest.mark.parametrize("off_by", [1, -1])
def test_counts_off_by_one_are_refused_and_the_honest_delivery_receipted(
    delivered: tuple[Path, Manifest], holder: RegistryHolder, tmp_path: Path, off_by: int
) -> None:
    folder, manifest = delivered
    assert _no_questionnaire_responses(folder, manifest) == 0
    ((dataset, count),) = manifest.record_counts.items()
    assert count >= 1  # the demo has tumours in 2026, so -1 is still a count
    tampered_folder = tmp_path / "tampered"
    shutil.copytree(folder, tampered_folder)
    tampered = replace(manifest, record_counts={dataset: count + off_by})
    write_manifest(tampered_folder, tampered)
    channel = HttpsChannel(holder.endpoint(REGISTRATION), holder.api_key)

    with pytest.raises(RejectedDelivery) as refused:
        channel.send(tampered_folder, tampered)
    said = str(refused.value)
    assert f"record_counts says {count + off_by} record(s) of dataset {dataset!r}" in said
    assert f"the files hold {count}" in said

    receipt = channel.send(folder, manifest)
    assert dict(receipt.record_counts) == {dataset: count}
    assert not receipt.duplicate
