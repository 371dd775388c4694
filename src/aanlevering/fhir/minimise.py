"""Minimised copies of clinical source resources (Encounter, Procedure, Condition, ...).

A source resource keeps its clinical content and loses whatever can identify
the patient or carries free text. The rules, applied at every depth:

- dropped elements: narrative ``text`` of the resource, ``identifier`` (visit
  and order numbers), ``preAdmissionIdentifier``, ``note`` and ``comment``
  (free text), ``valueString``/``valueMarkdown`` (free-text values),
  ``telecom``, ``address``, ``photo``, attachments (``attachment``,
  ``presentedForm``, ``sourceAttachment``), the source ``meta`` (replaced by
  the PSEUDED security label); ``CodeableConcept.text`` when codings are
  present (it only repeats them, or adds free text);
- extensions whose value is free text or personal data (string, markdown,
  Identifier, HumanName, Address, ContactPoint, Attachment, Annotation,
  Signature) are dropped; others are kept, with references inside re-pointed;
- references: ``display`` and logical ``identifier`` always go; in a closed
  map (what the pipeline uses) a reference to anything not delivered is
  removed, so every reference resolves inside the delivery; otherwise a reference
  to a Patient is re-pointed to the pseudonymised Patient (a Patient that is
  not being delivered is an error); references to resources in the delivery
  get their delivered ids; references to other patient-specific resources get
  a keyed id (consistent within the delivery, never the source id);
  references to shared, non-personal resources (Practitioner, Organization,
  Location, Device, Medication, ...) keep their id; references to
  RelatedPerson and Person are dropped;
- ``contained`` resources: people (Patient, RelatedPerson, Person,
  Practitioner) are dropped with every local reference to them; others are
  minimised with the same rules and get neutral local ids;
- primitive extensions (``_family``, ``_display``, ...) are dropped: they
  carry name parts in Dutch profiles and rarely anything clinical;
- elements left empty by these rules are removed.

Person resources themselves are refused: the Patient is rebuilt by
:mod:`aanlevering.fhir.patient`, the others are never delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from aanlevering.errors import OutputError
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.patient import SECURITY_META

ReferenceStyle = Literal["relative", "urn"]

#: Resources about people: never delivered as such.
PERSON_TYPES = frozenset(
    {"Patient", "RelatedPerson", "Person", "Practitioner", "PractitionerRole", "Group"}
)
#: Shared, non-personal resources whose ids may stay in references.
SHARED_TYPES = frozenset(
    {
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "Device",
        "Medication",
        "Substance",
        "HealthcareService",
        "Questionnaire",
        "PlanDefinition",
        "ActivityDefinition",
        "ValueSet",
        "CodeSystem",
    }
)
#: References to these are dropped.
DROPPED_REFERENCE_TYPES = frozenset({"RelatedPerson", "Person", "Group"})

_DROPPED_KEYS = frozenset(
    {
        "identifier",
        "preAdmissionIdentifier",
        "note",
        "comment",
        "valueString",
        "valueMarkdown",
        "telecom",
        "address",
        "photo",
        "attachment",
        "presentedForm",
        "sourceAttachment",
    }
)
_DROPPED_TOP_KEYS = frozenset({"text", "meta", "contained", "id", "resourceType"})
_PERSONAL_EXTENSION_VALUES = frozenset(
    {
        "valueString",
        "valueMarkdown",
        "valueIdentifier",
        "valueHumanName",
        "valueAddress",
        "valueContactPoint",
        "valueAttachment",
        "valueAnnotation",
        "valueSignature",
    }
)
#: Per element name whether :meth:`_Minimiser.mapping` drops it (names repeat millions of times).
_DROPPED_AT_TOP: dict[str, bool] = {}
_DROPPED_BELOW: dict[str, bool] = {}
_MAX_NAMES = 10_000
#: JSON values kept as they are (never empty in the sense of ``(None, {}, [])``).
_SCALARS = frozenset({str, int, float, bool})
_REFERENCE_KEYS = frozenset({"reference", "type", "identifier", "display", "id", "extension"})


def _key(reference: str) -> str:
    """``Type/id`` of a relative or absolute reference, ignoring ``_history``."""
    parts = reference.split("?", maxsplit=1)[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


class ReferenceMap:
    """Where each source reference points in the delivery.

    Register the pseudonymised Patients (:meth:`add_patient`) and every source
    resource being delivered (:meth:`add`) before minimising any of them, so
    references between them resolve whatever the order.

    A delivered resource's id is a keyed hash of its source key (decision 0081),
    so only the keys are held (a set of ``Type/id``) and the ids are made when a
    reference asks: a million-patient delivery registers millions of resources, and
    a dict of key -> (type, id) held about 290 bytes per resource (1.4 GiB at 1M).
    """

    def __init__(self, ids: ResourceIds, closed: bool = False) -> None:
        self._ids = ids
        #: Patients (by every alias) and Bundle fullUrls: delivered ids not made from keys.
        self._targets: dict[str, tuple[str, str]] = {}
        #: ``Type/id`` of every registered source resource.
        self._members: set[str] = set()
        #: A closed delivery keeps only references to what it delivers (decision 0232).
        self.closed = closed

    def __repr__(self) -> str:
        return f"ReferenceMap({len(self._targets) + len(self._members)} references)"

    def add_patient(self, source_references: Iterable[str], delivered_id: str) -> None:
        """Map a source Patient (``Patient/123``, full URL, ``urn:uuid:``) to its delivered id."""
        for reference in source_references:
            self._targets[reference] = ("Patient", delivered_id)
            self._targets[_key(reference)] = ("Patient", delivered_id)

    def add(self, resource: Mapping[str, Any], full_url: str | None = None) -> str:
        """Register a source resource being delivered; returns its delivered id."""
        resource_type = str(resource.get("resourceType", ""))
        source_id = resource.get("id")
        if not resource_type or not isinstance(source_id, str) or not source_id:
            raise OutputError(
                f"source {resource_type or 'resource'} without an id cannot be delivered "
                "(references to it could not be re-pointed)"
            )
        delivered_id = self._ids.make(resource_type, source_id)
        self._members.add(f"{resource_type}/{source_id}")
        if full_url:
            self._targets[full_url] = (resource_type, delivered_id)
        return delivered_id

    def delivered_id(self, resource_type: str, source_id: str) -> str | None:
        """The delivered id of a registered source resource."""
        key = f"{resource_type}/{source_id}"
        if key in self._members:
            return self._ids.make(resource_type, source_id)
        target = self._targets.get(key)
        return target[1] if target else None

    def resolve(self, reference: str) -> tuple[str, str] | None:
        """(type, delivered id) of a registered reference, else None."""
        found = self._member_or_target(reference)
        return found if found is not None else self._member_or_target(_key(reference))

    def _member_or_target(self, key: str) -> tuple[str, str] | None:
        found = self._targets.get(key)
        if found is not None:
            return found
        if key in self._members:
            resource_type, _, source_id = key.partition("/")
            return resource_type, self._ids.make(resource_type, source_id)
        return None

    def keyed(self, resource_type: str, source_id: str) -> str:
        """A keyed id for an undelivered patient-specific resource (consistent, non-identifying)."""
        return self._ids.make(resource_type, source_id)


def render(resource_type: str, delivered_id: str, style: ReferenceStyle) -> str:
    """Reference text to a delivered resource: ``Type/id`` or ``urn:uuid:id`` inside a Bundle."""
    return f"urn:uuid:{delivered_id}" if style == "urn" else f"{resource_type}/{delivered_id}"


class _Minimiser:
    def __init__(
        self,
        references: ReferenceMap,
        style: ReferenceStyle,
        where: str,
        local_ids: Mapping[str, str],
    ) -> None:
        self.references = references
        self.style = style
        self.where = where
        self.local_ids = local_ids

    def element(self, value: Any, key: str, top: bool = False) -> Any:
        if isinstance(value, list):
            items = [self.element(item, key) for item in value]
            return [item for item in items if item not in (None, {}, [])]
        if not isinstance(value, dict):
            return value
        if key in {"extension", "modifierExtension"}:
            return self.extension(value)
        if isinstance(value.get("reference"), str) or (
            ("display" in value or "identifier" in value) and value.keys() <= _REFERENCE_KEYS
        ):
            return self.reference(value)
        return self.mapping(value, top)

    def mapping(self, value: Mapping[str, Any], top: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        coded = "coding" in value
        dropped = _DROPPED_AT_TOP if top else _DROPPED_BELOW
        for key, item in value.items():
            drop = dropped.get(key)
            if drop is None:
                drop = (
                    key in _DROPPED_KEYS
                    or key.startswith("_")
                    or (top and key in _DROPPED_TOP_KEYS)
                )
                if len(dropped) < _MAX_NAMES:  # hostile input may invent names without end
                    dropped[key] = drop
            if drop:
                continue
            if key == "text" and coded:
                continue
            if type(item) in _SCALARS:  # most elements: kept as they are, no call
                out[key] = item
                continue
            kept = self.element(item, key)
            if kept not in (None, {}, []):
                out[key] = kept
        return out

    def extension(self, value: Mapping[str, Any]) -> dict[str, Any] | None:
        if _PERSONAL_EXTENSION_VALUES & value.keys():
            return None
        kept = self.mapping(value)
        return kept if _has_value(kept) or kept.get("extension") else None

    def reference(self, value: Mapping[str, Any]) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        text = value.get("reference")
        if isinstance(text, str) and text:
            target = self.target(text)
            if target is None:
                return None
            out["reference"] = target
        if "type" in value:
            out["type"] = value["type"]
        if "extension" in value:
            extensions = self.element(value["extension"], "extension")
            if extensions:
                out["extension"] = extensions
        return out if "reference" in out else None

    def target(self, text: str) -> str | None:
        if text.startswith("#"):
            return f"#{self.local_ids[text[1:]]}" if text[1:] in self.local_ids else None
        resolved = self.references.resolve(text)
        if resolved is not None:
            return render(resolved[0], resolved[1], self.style)
        key = _key(text)
        if "/" not in key:
            return None  # unresolvable urn:uuid or malformed: nothing safe to point at
        resource_type, source_id = key.split("/", 1)
        if resource_type == "Patient":
            raise OutputError(
                f"{self.where} references a Patient that is not in this delivery "
                "(register it with ReferenceMap.add_patient)"
            )
        if self.references.closed or resource_type in DROPPED_REFERENCE_TYPES:
            return None
        if resource_type in SHARED_TYPES:
            return key
        return f"{resource_type}/{self.references.keyed(resource_type, source_id)}"


def _has_value(extension: Mapping[str, Any]) -> bool:
    return any(key.startswith("value") for key in extension)


def minimise_resource(
    resource: Mapping[str, Any],
    references: ReferenceMap,
    style: ReferenceStyle = "relative",
) -> dict[str, Any]:
    """The delivered, minimised copy of one clinical source resource.

    The resource must have been registered in ``references`` (its delivered id
    comes from there). Raises :class:`OutputError` for person resources, for a
    resource without an id, and for a reference to a Patient that is not being
    delivered. Errors name the resource type and element, never values.
    """
    resource_type = str(resource.get("resourceType", ""))
    if resource_type in PERSON_TYPES:
        raise OutputError(
            f"{resource_type} resources are not minimised: the Patient is rebuilt from "
            "pseudonyms, other person resources are never delivered"
        )
    source_id = resource.get("id")
    delivered_id = (
        references.delivered_id(resource_type, source_id) if isinstance(source_id, str) else None
    )
    if delivered_id is None:
        delivered_id = references.add(resource)
    where = f"{resource_type} {delivered_id}"
    contained, local_ids = _contained(resource.get("contained") or [])
    minimiser = _Minimiser(references, style, where, local_ids)
    out: dict[str, Any] = {"resourceType": resource_type, "id": delivered_id, "meta": SECURITY_META}
    if contained:
        out["contained"] = [_minimise_contained(item, local_ids, minimiser) for item in contained]
    out.update(minimiser.mapping(resource, top=True))
    return out


def _contained(items: list[Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    kept: list[dict[str, Any]] = []
    local_ids: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("resourceType") in PERSON_TYPES:
            continue
        local = item.get("id")
        if isinstance(local, str):
            local_ids[local] = f"c{len(local_ids) + 1}"
        kept.append(item)
    return kept, local_ids


def _minimise_contained(
    item: Mapping[str, Any], local_ids: Mapping[str, str], parent: _Minimiser
) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": item["resourceType"]}
    local = item.get("id")
    if isinstance(local, str):
        out["id"] = local_ids[local]
    out.update(parent.mapping(item, top=True))
    return out
