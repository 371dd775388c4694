"""Read opt-outs from FHIR R4 ``Consent`` resources, one per line (NDJSON, as a bulk export).

The accepted profile (everything else on a Consent is ignored):

- ``resourceType`` ``Consent``.
- About quality registries: ``scope`` or ``category`` has a coding
  ``http://terminology.hl7.org/CodeSystem/consentscope#research`` or
  ``https://aanlevering.example/fhir/CodeSystem/consent-category#quality-registries``.
  Other consents are skipped (counted as ``not-about-registries``).
- ``provision.type`` ``deny`` (an objection). ``permit`` is skipped, unless a
  nested ``provision`` denies (permit, except deny): that is a problem of its
  line, never silently skipped.
- ``status`` ``active`` (in force) or ``inactive`` (withdrawn); ``draft``,
  ``proposed``, ``rejected`` and ``entered-in-error`` are skipped.
- ``provision.period.start``: the registration date (date or dateTime; the
  date as written is used), else ``dateTime``. ``provision.period.end``: the
  withdrawal date; required when ``status`` is ``inactive``.
- Scope: codings in ``provision.code`` with system
  ``https://aanlevering.example/fhir/CodeSystem/registration`` name the
  registrations (codes = registration ids); none means all registrations.
- Patient number: with the export the Consents came with (a bulk export
  folder holding them, or ``--patients``), ``patient`` is resolved against its
  Patients, by id and by identifier, to the hospital patient number (see
  :mod:`aanlevering.optout.sources.patient_index`); a reference to a Patient
  that is not there is a problem. Without an export: ``patient.identifier``
  when its ``type`` is ``http://terminology.hl7.org/CodeSystem/v2-0203#MR`` or
  its ``system`` is one of the configured MRN systems; otherwise the id of
  ``patient.reference`` (``Patient/<id>``), which must then be the MRN.
  A BSN identifier is never used.
"""

from __future__ import annotations

import codecs
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from aanlevering.errors import ConfigError
from aanlevering.extract.fhir_store import load_store
from aanlevering.json_input import DuplicateKeyError, JsonInputError, parse
from aanlevering.optout.sources import (
    MrnHasher,
    OptOutEntry,
    OptOutSourceInvalid,
    ReadResult,
    RowProblem,
    parse_scope,
    patient_ref_of,
)
from aanlevering.optout.sources.patient_index import (
    PatientIndex,
    index_of_store,
    index_projection,
)
from aanlevering.pseudonym_types import BSN_SYSTEM

log = logging.getLogger(__name__)

CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CATEGORY_SYSTEM = "https://aanlevering.example/fhir/CodeSystem/consent-category"
REGISTRATION_SYSTEM = "https://aanlevering.example/fhir/CodeSystem/registration"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
REGISTRY_CODINGS: frozenset[tuple[str, str]] = frozenset(
    {(CONSENT_SCOPE_SYSTEM, "research"), (CATEGORY_SYSTEM, "quality-registries")}
)
_SKIPPED_STATUSES = frozenset({"draft", "proposed", "rejected", "entered-in-error"})


def _codings(concepts: Any) -> Iterable[tuple[str, str]]:
    items = concepts if isinstance(concepts, list) else [concepts]
    for concept in items:
        if not isinstance(concept, Mapping):
            continue
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping):
                yield str(coding.get("system", "")), str(coding.get("code", ""))


def _day(value: Any, field: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise RowProblem(field, "expected a FHIR date or dateTime (2027-01-15 or 2027-01-15T10:00:00Z)")


def _patient_number(
    patient: Any, mrn_systems: frozenset[str], index: PatientIndex | None = None
) -> str:
    if not isinstance(patient, Mapping):
        raise RowProblem("patient", "a patient reference is required")
    if index is not None:
        number = index.number_of(patient)
        if number is not None:
            return number
    identifier = patient.get("identifier")
    if isinstance(identifier, Mapping) and identifier.get("system") != BSN_SYSTEM:
        typed_mr = (IDENTIFIER_TYPE_SYSTEM, "MR") in set(_codings(identifier.get("type")))
        if typed_mr or identifier.get("system") in mrn_systems:
            value = identifier.get("value")
            if isinstance(value, str) and value.strip():
                return value
            raise RowProblem("patient.identifier.value", "the MRN identifier has no value")
    reference = patient.get("reference")
    if index is not None and isinstance(reference, str):
        raise RowProblem(
            "patient.reference",
            "the referenced Patient is not in the export (or has no MRN while others have one); "
            "give an export that holds it, or an identifier typed MR",
        )
    if isinstance(reference, str) and reference.startswith("Patient/") and len(reference) > 8:
        return reference.split("/", 1)[1].split("/_history", 1)[0]
    raise RowProblem(
        "patient", "expected an MRN identifier (type MR) or a reference Patient/<patient number>"
    )


def _nested_deny(provision: Mapping[str, Any]) -> bool:
    """Whether a nested provision (at any depth) denies: an objection this reader can not read."""
    nested = provision.get("provision")
    for item in nested if isinstance(nested, list) else [nested]:
        if isinstance(item, Mapping) and (item.get("type") == "deny" or _nested_deny(item)):
            return True
    return False


def consent_entry(
    resource: Any,
    hash_mrn: MrnHasher,
    mrn_systems: frozenset[str] = frozenset(),
    index: PatientIndex | None = None,
    known: frozenset[str] | None = None,
) -> OptOutEntry | str:
    """The opt-out in one Consent, or the reason it is skipped; :class:`RowProblem` if malformed.

    ``known``: the catalogue's registration ids a scope code may name (decision 0732).
    """
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Consent":
        raise RowProblem("resourceType", "expected a Consent resource")
    status = resource.get("status")
    if status in _SKIPPED_STATUSES:
        return f"status-{status}"
    if status not in ("active", "inactive"):
        raise RowProblem("status", "expected active, inactive (or a draft/rejected status)")
    codings = set(_codings(resource.get("scope"))) | set(_codings(resource.get("category")))
    if not codings & REGISTRY_CODINGS:
        return "not-about-registries"
    provision = resource.get("provision")
    if not isinstance(provision, Mapping):
        raise RowProblem("provision", "expected a provision with type deny and a period")
    if provision.get("type") != "deny":
        if _nested_deny(provision):
            raise RowProblem(
                "provision.provision",
                "a deny nested under a permit is not read: record the objection to quality "
                "registries as provision.type deny",
            )
        return "not-an-objection"
    raw_period = provision.get("period")
    period: Mapping[str, Any] = raw_period if isinstance(raw_period, Mapping) else {}
    registered = _day(period.get("start"), "provision.period.start") or _day(
        resource.get("dateTime"), "dateTime"
    )
    if registered is None:
        raise RowProblem("provision.period.start", "the registration date is required")
    withdrawn = _day(period.get("end"), "provision.period.end")
    if status == "inactive" and withdrawn is None:
        raise RowProblem("provision.period.end", "an inactive Consent needs the withdrawal date")
    if withdrawn is not None and withdrawn < registered:
        raise RowProblem("provision.period.end", "the withdrawal date is before the registration")
    codes = [
        code
        for system, code in _codings(provision.get("code") or [])
        if system == REGISTRATION_SYSTEM
    ]
    all_registrations, registrations = (
        parse_scope("|".join(codes), "provision.code", known) if codes else (True, frozenset[str]())
    )
    number = _patient_number(resource.get("patient"), mrn_systems, index)
    ref = patient_ref_of(hash_mrn, number, "patient")
    return OptOutEntry(ref, registered, all_registrations, registrations, withdrawn, "fhir-consent")


def read_consent_ndjson(
    path: Path,
    hash_mrn: MrnHasher,
    mrn_systems: Sequence[str] = (),
    index: PatientIndex | None = None,
    known: frozenset[str] | None = None,
) -> ReadResult:
    """Every opt-out in an NDJSON file of Consents; :class:`OptOutSourceInvalid` lists bad lines.

    ``index``: the Patients of the export the Consents came with; a ``patient``
    reference is then resolved to the hospital patient number through it.
    """
    systems = frozenset(mrn_systems)
    entries: list[OptOutEntry] = []
    skipped: Counter[str] = Counter()
    problems: list[str] = []
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ConfigError(f"Consent file {path}: cannot read: {error.strerror}") from error
    with handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
            if not line.strip():
                continue
            try:
                resource = parse(line)
            except DuplicateKeyError as error:  # the reader would pick one copy (0801)
                problems.append(f"line {number}: {error.reason}")
                continue
            except JsonInputError:
                problems.append(f"line {number}: not a JSON object")
                continue
            try:
                found = consent_entry(resource, hash_mrn, systems, index, known)
            except RowProblem as problem:
                problems.append(f"line {number}, {problem.column}: {problem.expected}")
                continue
            except (TypeError, AttributeError, KeyError, IndexError, ValueError):
                problems.append(
                    f"line {number}: an element of the Consent has the wrong JSON shape "
                    "(a number or text where a list or an object belongs)"
                )
                continue
            if isinstance(found, str):
                skipped[found] += 1
            else:
                entries.append(found)
    if problems:
        raise OptOutSourceInvalid(str(path), problems)
    return ReadResult(tuple(entries), skipped)


#: What a Consent reader keeps of an export: the Consents and the Patients they name.
CONSENT_EXPORT_TYPES = frozenset({"Consent", "Patient"})


def read_consents_in_export(
    export: Path,
    hash_mrn: MrnHasher,
    mrn_systems: Sequence[str] = (),
    mrn_system: str | None = None,
    known: frozenset[str] | None = None,
) -> ReadResult:
    """Every opt-out among the Consent resources of a FHIR export, resolved against its Patients.

    Other resources are read and dropped, and of a Patient only its id and
    identifiers are kept, so a whole hospital export fits in memory; problems
    are listed by resource location (``Consent.ndjson:3``), never by value.
    """
    store = load_store(Path(export), project=index_projection, keep_types=CONSENT_EXPORT_TYPES)
    index = index_of_store(store, mrn_system)
    systems = frozenset(mrn_systems)
    entries: list[OptOutEntry] = []
    skipped: Counter[str] = Counter()
    problems: list[str] = []
    for located in store.of_type("Consent"):
        try:
            found = consent_entry(located.resource, hash_mrn, systems, index, known)
        except RowProblem as problem:
            problems.append(f"{located.location}, {problem.column}: {problem.expected}")
            continue
        except (TypeError, AttributeError, KeyError, IndexError, ValueError):
            problems.append(f"{located.location}: an element has the wrong JSON shape")
            continue
        if isinstance(found, str):
            skipped[found] += 1
        else:
            entries.append(found)
    if problems:
        raise OptOutSourceInvalid(str(export), problems)
    if not store.of_type("Consent"):
        log.warning("no Consent resources in %s", export)
    return ReadResult(tuple(entries), skipped)
