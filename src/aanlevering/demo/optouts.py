"""Opt-outs (bezwaar) of a few percent of demo patients, as CSV and as FHIR Consent.

Registration dates fall in 2026 and 2027 (the opt-out regime starts in
2027, so both sides of that line occur); scope is all registrations or a
list of registration ids; about one in ten is withdrawn later. The format is
described in docs/demo-data.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from aanlevering.demo.clinical.base import days
from aanlevering.demo.fhirbuild import MRN_SYSTEM
from aanlevering.demo.fhirout import FHIR_BASE, BulkWriter, Serialised, dumps
from aanlevering.demo.people import People

OPTOUT_FILE = "optouts.csv"
OPTOUT_HEADER = ("PATIENTNUMMER", "DATUM_REGISTRATIE", "REIKWIJDTE", "DATUM_INTREKKING")
OPTOUT_SHARE = 0.03
#: Systems shared with the opt-out register's Consent reader (aanlevering.optout.sources).
REGISTRATION_SYSTEM = "https://aanlevering.example/fhir/CodeSystem/registration"
CONSENT_CATEGORY = "https://aanlevering.example/fhir/CodeSystem/consent-category"
_START = np.datetime64("2026-01-01")


@dataclass(frozen=True)
class OptOut:
    """One opt-out as the EHR records it."""

    mrn: str
    patient_fhir_id: str
    registered: str  # ISO date
    scope: tuple[str, ...]  # empty = all registrations
    withdrawn: str | None  # ISO date


def draw_optouts(
    rng: np.random.Generator, people: People, registration: str, all_registrations: tuple[str, ...]
) -> list[OptOut]:
    """Opt-outs of about 3% of the chunk's patients."""
    chosen = np.flatnonzero(rng.random(len(people)) < OPTOUT_SHARE)
    n = len(chosen)
    registered = _START + days(rng.integers(0, 730, n))
    withdrawn_after = rng.integers(7, 300, n)
    withdrawn = rng.random(n) < 0.1
    scope_draw = rng.random(n)
    others = [r for r in all_registrations if r != registration] or [registration]
    other_pick = rng.integers(0, len(others), n)
    out: list[OptOut] = []
    for j, i in enumerate(chosen.tolist()):
        if scope_draw[j] < 0.7:
            scope: tuple[str, ...] = ()
        elif scope_draw[j] < 0.9:
            scope = (registration,)
        elif scope_draw[j] < 0.97:
            scope = tuple(sorted({registration, others[other_pick[j]]}))
        else:
            scope = (others[other_pick[j]],)
        day = registered[j]
        out.append(
            OptOut(
                mrn=people.mrn[i],
                patient_fhir_id=people.fhir_id[i],
                registered=str(day),
                scope=scope,
                withdrawn=str(day + days(withdrawn_after[j])) if withdrawn[j] else None,
            )
        )
    return out


def _dmy(iso: str) -> str:
    return f"{iso[8:10]}-{iso[5:7]}-{iso[:4]}"


def csv_line(optout: OptOut) -> str:
    """``PATIENTNUMMER;DATUM_REGISTRATIE;REIKWIJDTE;DATUM_INTREKKING`` for one opt-out."""
    scope = "|".join(optout.scope) if optout.scope else "all"
    withdrawn = _dmy(optout.withdrawn) if optout.withdrawn else ""
    return f"{optout.mrn};{_dmy(optout.registered)};{scope};{withdrawn}"


def consent(optout: OptOut, index: int) -> dict[str, object]:
    """The opt-out as an R4 Consent: a deny provision from the registration date."""
    period: dict[str, str] = {"start": optout.registered}
    if optout.withdrawn:
        period["end"] = optout.withdrawn
    provision: dict[str, object] = {"type": "deny", "period": period}
    if optout.scope:
        provision["code"] = [
            {"coding": [{"system": REGISTRATION_SYSTEM, "code": registration}]}
            for registration in optout.scope
        ]
    return {
        "resourceType": "Consent",
        "id": f"bezwaar-{index:07d}",
        "status": "inactive" if optout.withdrawn else "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "research",
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]},
            {"coding": [{"system": CONSENT_CATEGORY, "code": "quality-registries"}]},
        ],
        "patient": {
            "reference": f"Patient/{optout.patient_fhir_id}",
            "identifier": {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": MRN_SYSTEM,
                "value": optout.mrn,
            },
        },
        "dateTime": optout.registered,
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}
            ]
        },
        "provision": provision,
    }


class OptOutWriter:
    """Streams opt-outs into ``optouts.csv`` and (optionally) ``Consent.ndjson``."""

    def __init__(self, out_dir: Path, consent_dir: Path | None) -> None:
        self._csv: BinaryIO = (out_dir / OPTOUT_FILE).open("wb")
        self._csv.write((";".join(OPTOUT_HEADER) + "\r\n").encode("utf-8"))
        self._bulk = (
            BulkWriter(consent_dir, f"{FHIR_BASE}/$export") if consent_dir is not None else None
        )
        self.count = 0

    def write(self, optouts: list[OptOut]) -> None:
        """Append a chunk's opt-outs."""
        if not optouts:
            return
        self._csv.write("".join(csv_line(o) + "\r\n" for o in optouts).encode("utf-8"))
        if self._bulk is not None:
            self._bulk.write(
                [
                    Serialised(
                        "Consent",
                        f"bezwaar-{self.count + k:07d}",
                        dumps(consent(o, self.count + k)),
                        False,
                    )
                    for k, o in enumerate(optouts)
                ]
            )
        self.count += len(optouts)

    def close(self) -> None:
        """Close the files (and write the Consent export manifest)."""
        self._csv.close()
        if self._bulk is not None:
            self._bulk.close()
