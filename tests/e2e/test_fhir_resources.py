"""FHIR example registrations deliver their clinical resources: valid, closed and minimised.

For each FHIR example registration (``ldtr``: resources and QuestionnaireResponses,
``nkr-borst``: resources only) the pipeline delivers the demo's FHIR export into an
outbox, after every clinical resource of it got what a real EHR export carries and
no mapping reads (narrative, visit identifiers, notes, performers, contained people,
unread extensions, source meta). The test checks what issue 15 asks: every resource
valid R4B, every reference resolving inside the delivery, nothing of the source left
that could identify (source ids, identifier values, names, narrative, notes,
performers, extensions or dates no mapping reads), PSEUDED on every Patient, and the
same bytes from a second, independent run (a fresh home with the same keys).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from aanlevering.catalogue import RegistrationConfig
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.events.factory import open_event_store
from aanlevering.extract.fhirpath import compile_path
from aanlevering.obligation.decisions import RegisterDecision, to_event
from aanlevering.obligation.events import stream_name
from aanlevering.output import source_parts
from aanlevering.periods import Period
from aanlevering.pipeline.run import Ports, RunRequest, run_delivery
from aanlevering.pseudonym.patient_ref import load_or_create_key
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import Settings, load_settings
from conftest import World

TODAY = date(2026, 11, 22)
CASES = [
    ("ldtr", "2026-02", {"Encounter", "Observation", "QuestionnaireResponse"}),
    ("nkr-borst", "2026", {"Condition", "Observation"}),
]
#: Elements of the source that are never delivered, at any depth.
NEVER = {"text", "note", "performer", "identifier", "contained", "asserter", "recorder"}


def _settings(world: World, root: Path) -> tuple[Settings, dict[str, str]]:
    """A fresh hospital home holding the world's keys, so ids and pseudonyms agree."""
    for lazily_made in ("resource-ids.key", "patient-ref.key"):
        load_or_create_key(world.settings.secrets_dir / lazily_made)
    home = root / "var"
    home.mkdir(parents=True)
    shutil.copytree(world.settings.secrets_dir, home / "secrets")
    env = {**world.env, "AANLEVERING_HOME": str(home)}
    return load_settings(env), env


#: Markers of what the dirty copy adds; none may reach a delivery.
MARKERS = ("NARRATIVE-", "VISIT-", "NOTE-", "PRAC-", "DRNAME-", "EXTRA-", "CONTAINED-", "METASRC-")


def _dirty_copy(source: Path, target: Path) -> Path:
    """The export with unread, identifying elements added to every clinical resource."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.suffix != ".ndjson" or path.name.startswith("Patient"):
            shutil.copy(path, target / path.name)
            continue
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            tag = resource["id"]
            div = f'<div xmlns="http://www.w3.org/1999/xhtml">NARRATIVE-{tag}</div>'
            resource["text"] = {"status": "generated", "div": div}
            resource["identifier"] = [{"system": "urn:visit", "value": f"VISIT-{tag}"}]
            resource["note"] = [{"text": f"NOTE-{tag}"}]
            resource["performer"] = [
                {"reference": f"Practitioner/PRAC-{tag}", "display": f"DRNAME-{tag}"}
            ]
            resource["extension"] = [
                *resource.get("extension", ()),
                {"url": "https://ehr.example/unread", "valueString": f"EXTRA-{tag}"},
                {"url": "https://ehr.example/unread-code", "valueCode": "UNREAD"},
            ]
            resource["contained"] = [
                {
                    "resourceType": "Practitioner",
                    "id": "c",
                    "name": [{"family": f"CONTAINED-{tag}"}],
                }
            ]
            resource["meta"] = {"source": f"METASRC-{tag}"}
            lines.append(json.dumps(resource))
        (target / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _deliver(world: World, root: Path, registration: str, period: str, source: Path) -> Path:
    settings, env = _settings(world, root)
    outbox = root / "outbox"
    client = TTPClient(world.ttp.url, env["AANLEVERING_TTP_API_KEY"], backoff=0.01)

    def channel_for(config: RegistrationConfig, box: Path | None) -> Channel:
        return build_channel(config, settings, outbox=box, env=env, ttp=client)

    with open_event_store(settings.event_store_url) as store:
        included = RegisterDecision(
            registration=registration,
            kind="included",
            decided_on=date(2026, 1, 1),
            effective_from=date(2026, 1, 1),
            term_years=5,
        )
        store.append(stream_name(registration), [to_event(included)], None)
        result = run_delivery(
            world.config(registration),
            settings,
            RunRequest(
                registration,
                source,
                Period.parse(period),
                today=TODAY,
                outbox=outbox,
                allow_open_period=True,
            ),
            Ports(store=store, ttp=client, channel_for=channel_for),
        )
    assert result.status == "handed-over"  # an outbox's: handed over, not delivered (0820)
    return outbox


def _data_files(outbox: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(outbox)): p.read_bytes()
        for p in sorted(outbox.rglob("*"))
        if p.is_file()
        and p.suffix in {".ndjson", ".json"}
        and p.name != "manifest.json"
        and not p.name.startswith("validation-report.")
        and p.name != "receipt.json"
    }


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def _extension_urls(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"extension", "modifierExtension"} and isinstance(item, list):
                yield from (e["url"] for e in item)
            yield from _extension_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from _extension_urls(item)


def _groups(files: dict[str, bytes]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Units that must be closed: the whole NDJSON delivery, or each Bundle on its own."""
    ndjson: list[tuple[str, dict[str, Any]]] = []
    groups = []
    for name, data in files.items():
        if name.endswith(".ndjson"):
            for line in data.decode().splitlines():
                resource = json.loads(line)
                ndjson.append((f"{resource['resourceType']}/{resource['id']}", resource))
        else:
            bundle = json.loads(data)
            assert bundle["resourceType"] == "Bundle"
            groups.append([(e["fullUrl"], e["resource"]) for e in bundle["entry"]])
    return [*groups, ndjson] if ndjson else groups


def _source(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in folder.glob("*.ndjson"):
        found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for path in folder.glob("*.json"):
        document = json.loads(path.read_text())
        if document.get("resourceType") == "Bundle":
            found += [e["resource"] for e in document.get("entry", ())]
    return found


def _appears(value: str, text: str) -> bool:
    """``value`` occurs in ``text`` as itself, not by chance inside a random pseudonym or id.

    Pseudonyms and delivered ids are random base64url/hex text made with this
    run's keys, so a four-letter given name can turn up inside one by chance
    (the likely cause of this test's rare failures). A value shorter than 12
    characters counts only where no character of that alphabet touches it.
    """
    if value not in text:
        return False
    if len(value) >= 12:
        return True
    pattern = rf"(?<![A-Za-z0-9_-]){re.escape(value)}(?![A-Za-z0-9_-])"
    return re.search(pattern, text) is not None


def _identifying(source: list[dict[str, Any]]) -> set[str]:
    """Ids, identifier values, names and narrative of every source resource."""
    values: set[str] = set()
    for resource in source:
        values.add(resource["id"])
        values.update(
            str(i["value"]) for i in resource.get("identifier", ()) if len(str(i.get("value"))) > 3
        )
        for name in resource.get("name", ()):
            values.update(p for p in [name.get("family", ""), *name.get("given", ())] if len(p) > 3)
        if isinstance(resource.get("text"), dict):
            values.add(resource["text"]["div"])
        values.update(n["text"] for n in resource.get("note", ()) if n.get("text"))
    return values


def _count_second_parts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lines of each second part a worker answers from now on (decision 0318)."""
    answered: list[int] = []
    original = source_parts.SecondPart.result

    def result(self: source_parts.SecondPart) -> source_parts.PartResult:
        answer = original(self)
        answered.append(sum(lines for _, lines in answer.files.values()))
        return answer

    monkeypatch.setattr(source_parts.SecondPart, "result", result)
    return answered


@dataclass(frozen=True)
class OneProcessDelivery:
    """A registration's dirty export delivered with one minimising process, into a fresh home."""

    source: Path
    files: dict[str, bytes]
    answered: list[int]  # second parts answered while it ran: none


class OneProcessDeliveries:
    """Each registration's one-process delivery, made once for the module's two tests.

    Why (decision 0864): the reproducibility test's first delivery and the two-process
    test's one-process delivery were the same run (the demo is far below the size at
    which a second process minimises): same dirty copy, same keys, a fresh home each.
    """

    def __init__(self, world: World, root: Path) -> None:
        self._world, self._root = world, root
        self._made: dict[str, OneProcessDelivery] = {}

    def of(self, registration: str, period: str) -> OneProcessDelivery:
        """The delivery of ``registration`` for ``period``, made on the first call."""
        if registration not in self._made:
            root = self._root / registration
            source = _dirty_copy(self._world.demo / "fhir-bulk" / registration, root / "input")
            with pytest.MonkeyPatch.context() as patch:
                answered = _count_second_parts(patch)
                patch.setenv(source_parts.WORKERS_ENV, "1")
                outbox = _deliver(self._world, root / "one", registration, period, source)
            self._made[registration] = OneProcessDelivery(source, _data_files(outbox), answered)
        return self._made[registration]


@pytest.fixture(scope="module")
def one_process(world: World, tmp_path_factory: pytest.TempPathFactory) -> OneProcessDeliveries:
    return OneProcessDeliveries(world, tmp_path_factory.mktemp("one-process"))


@pytest.mark.parametrize(("registration", "period", "expected_types"), CASES)
def test_fhir_registration_delivers_valid_closed_minimised_resources_reproducibly(
    world: World,
    tmp_path: Path,
    one_process: OneProcessDeliveries,
    registration: str,
    period: str,
    expected_types: set[str],
) -> None:
    config = world.config(registration)
    shared = one_process.of(registration, period)
    source_folder, first = shared.source, shared.files
    groups = _groups(first)
    resources = [resource for group in groups for _, resource in group]
    types = {r["resourceType"] for r in resources}
    assert types == {"Patient", *expected_types}
    if config.delivery.fhir_content == "resources":
        assert "QuestionnaireResponse" not in types

    for resource in resources:  # valid R4B, every one
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        codes = {s["code"] for s in resource.get("meta", {}).get("security", ())}
        if resource["resourceType"] == "Patient":
            assert "PSEUDED" in codes

    for group in groups:  # closed: every reference resolves inside the delivery (or Bundle)
        delivered = {address for address, _ in group}
        for _, resource in group:
            for reference in _references(resource):
                assert reference in delivered, (resource["resourceType"], reference)

    text = b"".join(first.values()).decode()
    source = _source(source_folder)
    assert all(marker in json.dumps(source) for marker in MARKERS)  # the input carries them
    assert [marker for marker in MARKERS if marker in text] == []
    leaked = sorted(v for v in _identifying(source) if _appears(v, text))
    assert leaked == []
    # dates are delivered only where the dictionary reads them (no mapping reads these)
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    assert observations and not any("effectiveDateTime" in r for r in observations)
    read_urls = {
        step.value
        for mapping in config.fhir_source.datasets.values()  # type: ignore[union-attr]
        for variable in mapping.variables.values()
        for step in compile_path(variable.element).steps
        if step.kind == "extension"
    }
    source_urls = set(_extension_urls(source))
    assert source_urls - read_urls, "the input should carry extensions no mapping reads"
    for resource in resources:
        if resource["resourceType"] in {"Patient", "QuestionnaireResponse"}:
            continue
        assert not NEVER & set(_keys(resource)), resource["resourceType"]
        assert set(_extension_urls(resource)) <= read_urls

    again = _data_files(_deliver(world, tmp_path / "again", registration, period, source_folder))
    assert again == first


@pytest.mark.parametrize(("registration", "period", "expected_types"), CASES)
def test_source_resources_minimised_in_two_processes_are_the_one_process_bytes(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    one_process: OneProcessDeliveries,
    registration: str,
    period: str,
    expected_types: set[str],
) -> None:
    """Decision 0318 through the whole pipeline: the worker's half appended after this
    process's gives the files one process writes (NDJSON; Bundles stay one process)."""
    shared = one_process.of(registration, period)  # with one worker: no second part answered
    source, one = shared.source, shared.files
    assert shared.answered == []
    answered = _count_second_parts(monkeypatch)
    monkeypatch.setenv(source_parts.WORKERS_ENV, "2")
    monkeypatch.setenv(source_parts.MIN_ENV, "0")
    two = _data_files(_deliver(world, tmp_path / "two", registration, period, source))
    assert two == one
    if world.config(registration).delivery.format == "fhir-ndjson":
        assert len(answered) == 1 and answered[0] > 0
    else:
        assert answered == []
