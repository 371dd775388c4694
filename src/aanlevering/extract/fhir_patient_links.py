"""Whether a linked resource names a patient other than its record's (decision 0570).

A related resource joins a record through its link (``encounter``, ``focus``,
``partOf``); the link says nothing about whose resource it is. When it names
a patient itself (``subject`` or ``patient``) and that is not the record's
patient, reading it would put another patient's clinical data (perhaps of a
patient who opted out) into this record: it is neither read nor kept. A
resource that names no patient is read as before: the link is all there is.

References are compared by the key the extract resolves them to (``Patient/x``,
an absolute URL, ``urn:uuid:`` through a ``fullUrl`` or a unique id), never
by value in a message. A reference to a Patient that is not in the input (or
an unresolved ``urn:``) cannot be the record's patient, so it counts as
another patient; one to a resource that is no Patient (a ``Group``) names none.
Both readers decide with these functions, so they agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.extract.fhir_columns import Keys, typed_key

if TYPE_CHECKING:
    from aanlevering.extract.fhir_store import Located, ResourceStore

#: The elements through which a resource names its patient.
PATIENT_LINKS = ("subject", "patient")
#: Per resource: it names no patient (streaming reader's code).
NAMES_NONE = -1
#: Per resource: it names a patient who is no record's (not in the input, or two at once).
NAMES_UNKNOWN = -2


def names_a_patient(reference: str) -> bool:
    """Whether a reference that is not found in the input still names a Patient."""
    text = reference.strip()
    if text.startswith(("urn:uuid:", "urn:oid:")):
        return True
    if "?" in text:
        return text.partition("?")[0].rsplit("/", 1)[-1] == "Patient"
    key = typed_key(text)
    return key is not None and key.split("/", 1)[0] == "Patient"


def _references(resource: Mapping[str, Any]) -> list[str]:
    found = []
    for link in PATIENT_LINKS:
        value = resource.get(link)
        if isinstance(value, Mapping) and isinstance(value.get("reference"), str):
            found.append(str(value["reference"]).strip())
    return found


def of_other_patient(resource: Mapping[str, Any], patient_key: str, store: ResourceStore) -> bool:
    """Whether ``resource`` names a patient that is not the one keyed ``patient_key``."""
    for reference in _references(resource):
        key = store.key_of(reference)
        if key is None:
            if names_a_patient(reference):
                return True
            continue
        if store.by_key[key].resource.get("resourceType") == "Patient" and key != patient_key:
            return True
    return False


def patient_references(resource: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The ``subject`` and ``patient`` reference texts of a resource (None where absent).

    Asked for every related and target resource the streaming reader keeps a row of
    (millions): the two links are read without a loop or a list, and an absent link
    (``patient`` on most resources) without a call (decision 0990).
    """
    subject = resource.get("subject")
    patient = resource.get("patient")
    return (
        None if subject is None else _reference_text(subject),
        None if patient is None else _reference_text(patient),
    )


def _reference_text(value: Any) -> str | None:
    """The ``reference`` text of a Reference, trimmed; None when it has none."""
    if type(value) is dict or isinstance(value, Mapping):
        reference = value.get("reference")
        if isinstance(reference, str):
            return str(reference).strip()
    return None


def named_patients(
    keys: Keys, is_patient: np.ndarray, columns: list[pa.Array | pa.ChunkedArray]
) -> np.ndarray:
    """Per resource the Patient row it names, :data:`NAMES_NONE` or :data:`NAMES_UNKNOWN`.

    ``columns``: the resources' ``subject`` and ``patient`` reference texts.
    Naming two different patients is :data:`NAMES_UNKNOWN` (no record's patient
    is both).
    """
    count = len(columns[0]) if columns else 0
    named = np.full(count, NAMES_NONE, dtype=np.int64)
    for column in columns:
        rows = keys.rows_of(column)
        valid = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=bool)
        this = np.full(count, NAMES_NONE, dtype=np.int64)
        found = rows >= 0
        patient = found.copy()
        patient[found] = is_patient[rows[found]]
        this[patient] = rows[patient]
        missing = np.flatnonzero(valid & ~found)
        if len(missing):
            texts = pc.take(column, pa.array(missing)).to_pylist()
            unknown = [names_a_patient(str(text)) for text in texts]
            this[missing[np.asarray(unknown, dtype=bool)]] = NAMES_UNKNOWN
        both = (named != NAMES_NONE) & (this != NAMES_NONE) & (named != this)
        named = np.where(named == NAMES_NONE, this, named)
        named[both] = NAMES_UNKNOWN
    return named


class RecordResolver:
    """``store.resolve`` for one record: a resource of another patient resolves to nothing.

    What a chain (``encounter.resolve().period.start``) follows is read for the
    record only when it is the record's Patient or names no other patient, as
    for related resources (decision 0571). What it refused is in ``refused``.
    """

    def __init__(self, store: ResourceStore, patient_key: str) -> None:
        self.store = store
        self.patient_key = patient_key
        self.refused: list[Located] = []

    def __call__(self, reference: str) -> Mapping[str, Any] | None:
        """The resource ``reference`` points at, unless it is another patient's."""
        key = self.store.key_of(reference)
        if key is None:
            return None
        found = self.store.by_key[key]
        if found.resource.get("resourceType") == "Patient":
            other = key != self.patient_key
        else:
            other = of_other_patient(found.resource, self.patient_key, self.store)
        if other:
            self.refused.append(found)
            return None
        return found.resource
