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

import json
import re
from collections.abc import Callable, Iterable, Mapping
from json.encoder import encode_basestring
from typing import Any, Literal

import msgspec
import pyarrow as pa

from aanlevering.errors import OutputError
from aanlevering.fhir.conventions import delivered_json
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


def _is_own_key(reference: str) -> bool:
    """Whether ``reference`` is already its ``Type/id`` key (most are): :func:`_key` keeps it."""
    return (
        reference.count("/") == 1
        and not reference.endswith("/")
        and "?" not in reference
        and "_history" not in reference
    )


def _key(reference: str) -> str:
    """``Type/id`` of a relative or absolute reference, ignoring ``_history``."""
    if _is_own_key(reference):
        return reference  # already ``Type/id`` (most references): what the split gives
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
        #: Counts registrations: what was minimised before a change may resolve differently.
        self.changes = 0

    def __repr__(self) -> str:
        return f"ReferenceMap({len(self._targets) + len(self._members)} references)"

    def add_patient(self, source_references: Iterable[str], delivered_id: str) -> None:
        """Map a source Patient (``Patient/123``, full URL, ``urn:uuid:``) to its delivered id."""
        self.changes += 1
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
        self.changes += 1
        delivered_id = self._ids.make(resource_type, source_id)
        self._members.add(f"{resource_type}/{source_id}")
        if full_url:
            self._targets[full_url] = (resource_type, delivered_id)
        return delivered_id

    def add_keys(self, keys: Iterable[str]) -> None:
        """Register source resources by key (``Type/id``), as :meth:`add` of each would.

        Why: :meth:`add` also makes the delivered id, which registration throws
        away; at a million patients that was a keyed hash for each of 5M keys.
        """
        self.changes += 1
        members = self._members
        for key in keys:
            resource_type, _, source_id = key.partition("/")
            if not resource_type or not source_id:
                raise OutputError(
                    f"source {resource_type or 'resource'} without an id cannot be delivered "
                    "(references to it could not be re-pointed)"
                )
            members.add(key)

    def members(self) -> int:
        """How many source resources are registered by key."""
        return len(self._members)

    def targets(self) -> pa.Table:
        """The references registered with delivered ids of their own (Patients, full URLs).

        With the keys (:meth:`add_keys`), what a worker process needs to make the same
        map (:meth:`add_targets`): Arrow, so a million Patients' aliases travel compactly.
        """
        items = list(self._targets.items())
        return pa.table(
            {
                "reference": pa.array([reference for reference, _ in items], pa.string()),
                "type": pa.array([found[0] for _, found in items], pa.string()),
                "id": pa.array([found[1] for _, found in items], pa.string()),
            }
        )

    def add_targets(self, targets: pa.Table) -> None:
        """Register the references of :meth:`targets` (made by another process's map)."""
        self.changes += 1
        types: dict[str, str] = {}  # one string per type, not one per row
        for start in range(0, targets.num_rows, 65_536):
            batch = targets.slice(start, 65_536)
            for reference, resource_type, delivered_id in zip(
                batch.column("reference").to_pylist(),
                batch.column("type").to_pylist(),
                batch.column("id").to_pylist(),
                strict=True,
            ):
                self._targets[reference] = (
                    types.setdefault(resource_type, resource_type),
                    delivered_id,
                )

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
        if found is not None:
            return found
        key = _key(reference)
        return None if key == reference else self._member_or_target(key)

    def _member_or_target(self, key: str) -> tuple[str, str] | None:
        found = self._targets.get(key)
        if found is not None:
            return found
        if key in self._members:
            resource_type, _, source_id = key.partition("/")
            return resource_type, self._ids.make(resource_type, source_id)
        return None

    def misses(self, key: str) -> bool:
        """Whether a key this map does not hold is missing from the whole delivery's map
        too (this map is the whole map; a part map knows it of some keys only)."""
        return True

    def keyed(self, resource_type: str, source_id: str) -> str:
        """A keyed id for an undelivered patient-specific resource (consistent, non-identifying)."""
        return self._ids.make(resource_type, source_id)


#: References :func:`source_key` gives back as they are, as a regular expression for Arrow's
#: kernels (also excluding ``_history`` is the caller's part, as in :func:`_key`).
PLAIN_KEY = r"^[^/?]*/[^/?]*[^/?]$"


def source_key(reference: str) -> str:
    """``Type/id`` of a reference, as :class:`ReferenceMap` looks it up (a part's map needs it)."""
    return _key(reference)


class UnsureReference(Exception):
    """A :class:`PartReferenceMap` was asked what it cannot answer exactly (the caller falls back).

    Carries no reference text: it may name a source id.
    """


class PartReferenceMap(ReferenceMap):
    """The entries of a whole delivery's map that one part of its resources can look up.

    Why: a worker minimising the second half of a million-patient delivery held the
    whole map (5M keys, 1M Patient aliases: about 1.4 GiB, decision 0318); its half
    looks up only its own resources' keys and what its texts reference (decision 0330).
    Filled with the whole map's entries for a set of candidate lookups (every
    ``reference`` its texts hold, as written and by :func:`source_key`), and told which
    candidates the whole map does not hold (``absent``). The resource being minimised
    is named by :attr:`current` (its key, in the whole map), so its delivered id needs no
    entry. A lookup then either finds what the whole map holds for it, or misses a
    candidate the whole map misses too, or misses something that was not a candidate:
    :class:`UnsureReference`, never a guess.
    """

    def __init__(
        self,
        ids: ResourceIds,
        closed: bool,
        absent: set[str],
        complete: Callable[[PartReferenceMap], None] | None = None,
    ) -> None:
        """``complete``: registers the rest of the whole map in this one when a lookup was
        not foreseen (then it answers as the whole map); without it, such a lookup raises
        :class:`UnsureReference`."""
        super().__init__(ids, closed)
        self._absent = absent
        self._complete = complete
        self._whole = False
        #: The key of the resource being minimised (registered in the whole map).
        self.current = ""

    def delivered_id(self, resource_type: str, source_id: str) -> str | None:
        """As :meth:`ReferenceMap.delivered_id`; :class:`UnsureReference` when not sure."""
        key = f"{resource_type}/{source_id}"
        if key == self.current:  # a member of the whole map: its id is made, as there
            return self._ids.make(resource_type, source_id)
        found = super().delivered_id(resource_type, source_id)
        if found is None and self._made_whole_for(key):
            return super().delivered_id(resource_type, source_id)
        return found

    def _member_or_target(self, key: str) -> tuple[str, str] | None:
        found = super()._member_or_target(key)
        if found is None and self._made_whole_for(key):
            return super()._member_or_target(key)
        return found

    def misses(self, key: str) -> bool:
        """As :meth:`ReferenceMap.misses`, for a key this part map does not hold: sure once
        made whole, or for a candidate the whole map lacks (``absent``)."""
        return self._whole or key in self._absent

    def _made_whole_for(self, missed: str) -> bool:
        """After a miss: True once the map is made whole (ask again), False when the miss
        is the whole map's too; :class:`UnsureReference` when it cannot be made whole."""
        if self._whole or missed in self._absent:
            return False
        self._make_whole()
        return True

    def _make_whole(self) -> None:
        if self._complete is None:
            raise UnsureReference
        changes = self.changes
        self._complete(self)
        # Not a change: every answer given so far is the whole map's (nothing to forget).
        self.changes = changes
        self._whole = True


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
                drop = _dropped(key, top)
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
        # Not ``frozenset & keys``: that is a set at run time, typed frozenset (mypyc checks it).
        if not _PERSONAL_EXTENSION_VALUES.isdisjoint(value.keys()):
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
        """The delivered reference text for the source reference ``text``, or None: removed."""
        if not text.startswith("#") and _is_own_key(text):
            own = self.own_key(text)
            if own is not _ASK:
                return own  # type: ignore[return-value]
        if text.startswith("#"):
            return f"#{self.local_ids[text[1:]]}" if text[1:] in self.local_ids else None
        resolved = self.references.resolve(text)
        if resolved is not None:
            return render(resolved[0], resolved[1], self.style)
        return self.unresolved(text)

    def own_key(self, key: str) -> str | object | None:
        """:meth:`target` of a reference that is its own key (``Type/id``: most are), or
        :data:`_ASK` when the map's general lookup must answer.

        Why: about one reference per resource is seen for the first time, and the map's
        general lookup (on a miss, the key normalised twice, the map asked twice) was
        most of its cost. Found: the registered target, else the member's id, as
        ``ReferenceMap._member_or_target`` gives them for a key. Not found in a whole map
        of a closed delivery: removed, as :meth:`unresolved` does (but for a Patient,
        whose error it gives), and so in a part map when the whole map misses it too
        (:meth:`ReferenceMap.misses`). Pinned to the general lookup by tests.
        """
        references = self.references
        found = ReferenceMap._member_or_target(references, key)  # not a part map's: no remaking
        if found is not None:
            return render(found[0], found[1], self.style)
        if references.closed and not key.startswith("Patient/") and references.misses(key):
            return None  # a closed delivery keeps no reference to what it does not deliver
        return _ASK

    def unresolved(self, text: str) -> str | None:
        """:meth:`target` of a reference that is not local and that the map does not hold."""
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


#: :meth:`_Minimiser.own_key`'s answer when the map's general lookup must answer.
_ASK = object()


def _dropped(key: str, top: bool) -> bool:
    """Whether :meth:`_Minimiser.mapping` drops the element ``key`` (at the top or below)."""
    return key in _DROPPED_KEYS or key.startswith("_") or (top and key in _DROPPED_TOP_KEYS)


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
    contained, local_ids = _contained(resource.get("contained") or [], where)
    minimiser = _Minimiser(references, style, where, local_ids)
    out: dict[str, Any] = {"resourceType": resource_type, "id": delivered_id, "meta": SECURITY_META}
    if contained:
        out["contained"] = [_minimise_contained(item, local_ids, minimiser) for item in contained]
    out.update(minimiser.mapping(resource, top=True))
    return out


def _contained(items: Any, where: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The contained resources kept (people dropped) and their new local ids.

    A ``contained`` that is not a list of resources is refused with the resource
    and the position at fault, as every other malformed element is.
    """
    if not isinstance(items, list):
        raise OutputError(f"{where}: contained must be a list of resources")
    kept: list[dict[str, Any]] = []
    local_ids: dict[str, str] = {}
    for position, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("resourceType"), str):
            raise OutputError(
                f"{where}: contained[{position}] is not a resource (an object with a resourceType)"
            )
        if item["resourceType"] in PERSON_TYPES:
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


#: A resource's text decoded one level deep: its elements, each still as JSON text.
_ELEMENTS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_META_TEXT = delivered_json(SECURITY_META)
#: Elements a delivered resource names its Patient in (what the Bundle writer groups by).
PATIENT_ELEMENTS = ("subject", "patient", "beneficiary", "individual")
#: About the bytes of element texts (with their minimised texts and values) remembered before
#: starting afresh.
REMEMBERED_BYTES = 4 << 20
#: Longer element texts are minimised every time: rarely repeated, and costly to hold.
LONGEST_REMEMBERED = 2048

#: Told each top-level element a minimised text carries as it is made (resource type,
#: element name, minimised value); remembered elements are told once, and an element made
#: from a template (its references nested, decision 0620) once per template, with the
#: first resource's references (the guard never reads a ``reference`` member). A plain reference
#: (``{"reference": ...}`` or a list of one) is not told: its only value is the delivered
#: reference this module wrote, nothing of the source.
ElementNote = Callable[[str, str, Any], None]


class MinimisedText:
    """One minimised resource as delivered text, with the elements that name its Patient."""

    __slots__ = ("id", "patient_elements", "resource_type", "text")

    def __init__(
        self, resource_type: str, id: str, text: str, patient_elements: dict[str, Any]
    ) -> None:
        self.resource_type = resource_type
        self.id = id
        self.text = text
        #: The minimised values of :data:`PATIENT_ELEMENTS` present (the Bundle's grouping).
        self.patient_elements = patient_elements


#: ``{"reference":"<text>"}`` or ``[{"reference":"<text>"}]`` (a list's brackets both or neither
#: is checked after the match), the text without quotes or escapes and not empty.
_PLAIN_REFERENCE = re.compile(rb'(\[?)\{"reference":"([^"\\]+)"\}(\]?)')


def _plain_reference(member: bytes) -> tuple[str, bool] | None:
    """The text of ``{"reference":"<text>"}`` or ``[{"reference":"<text>"}]`` and whether in a
    list, for a text without escapes and not empty; else None.

    One regular expression match: about a third less than the prefix and suffix tests
    it replaces (pinned to them by tests), for about 1.2 references per resource.
    """
    found = _PLAIN_REFERENCE.fullmatch(member)
    if found is None:
        return None
    opened, inner, closed = found.groups()
    if len(opened) != len(closed):
        return None
    return inner.decode("utf-8"), bool(opened)


class _Element:
    """What the top level does with one element name, and its remembered texts."""

    __slots__ = (
        "dropped",
        "head",
        "last_made",
        "last_text",
        "names_patient",
        "plain_references",
        "remembered",
        "templates",
    )

    def __init__(self, key: str) -> None:
        self.dropped = _dropped(key, top=True)
        #: Extensions are minimised as extensions, whatever they hold.
        self.plain_references = key not in {"extension", "modifierExtension"}
        self.head = f"{encode_basestring(key)}:"
        self.names_patient = key in PATIENT_ELEMENTS
        #: element text -> (its ``"key":value`` text or None when minimised away, the value)
        self.remembered: dict[bytes, tuple[str | None, Any]] = {}
        #: The last plain reference made for this name (a Patient's ``subject`` on the
        #: resources that follow each other), its text and what it became.
        self.last_text = b""
        self.last_made: tuple[str | None, Any] = (None, None)
        #: masked element text (nested references replaced, see :class:`_Template`) -> its
        #: template, or None when the element cannot be made from one.
        self.templates: dict[bytes, _Template | None] = {}


def _new_element(known: dict[str, _Element], key: str) -> _Element:
    """The element ``key`` of a resource type seen for the first time, held in ``known``."""
    element = _Element(key)
    if len(known) < _MAX_NAMES:  # hostile input may invent names without end
        known[key] = element
    return element


#: A non-empty reference text without escapes (elements with a backslash are made whole).
_NESTED_REFERENCE = re.compile(rb'"reference":"([^"]+)"')
_NESTED_MARK = b'"reference":"'
#: What replaces the n-th nested reference text of an element: a string no reference is
#: (control characters are escaped in JSON, and the element had no backslash).
_SENTINELS = tuple(b'"reference":"\\u0001%d"' % n for n in range(64))
#: Where a marked reference's delivered text goes in a template's text.
_SLOT = re.compile(r"\\u0002(\d+)\\u0002")


class _Marking(_Minimiser):
    """The minimiser of a template: a marked reference resolves to its slot, in order."""

    def __init__(self) -> None:
        super().__init__(ReferenceMap(ResourceIds(b"\x00" * 16), closed=True), "relative", "", {})
        self.asked: list[int] = []
        self.unmarked = False

    def target(self, text: str) -> str | None:
        if text.startswith("\x01") and text[1:].isascii() and text[1:].isdigit():
            self.asked.append(int(text[1:]))
            return f"\x02{text[1:]}\x02"
        self.unmarked = True  # a reference text that was not marked: not a template
        return None


class _Template:
    """An element minimised with its reference texts marked: its text between the slots."""

    __slots__ = ("order", "pieces", "told")

    def __init__(self, pieces: list[str], order: list[int]) -> None:
        self.pieces = pieces
        #: The marked references in the order minimising resolves them (each once).
        self.order = order
        self.told = False

    @classmethod
    def of(cls, masked: bytes, key: str, count: int) -> _Template | None:
        """The template of an element text with ``count`` marked references, or None when
        minimising it does not resolve each marked reference exactly once into the text."""
        marking = _Marking()
        try:
            kept = marking.element(msgspec.json.decode(masked), key)
            text = delivered_json(kept)
        except Exception:  # odd input: minimising whole raises what it raises, as before
            return None
        if kept in (None, {}, []) or marking.unmarked:
            return None
        parts = _SLOT.split(text)
        order = [int(n) for n in parts[1::2]]
        if order != marking.asked or sorted(order) != list(range(count)) or "\\u0001" in text:
            return None  # a marker kept as a value, or not every reference resolved once
        if "\\u0002" in "".join(parts[0::2]):
            return None
        return cls(parts[0::2], order)

    def fill(self, targets: list[str]) -> str:
        """The element's text with ``targets`` (in :attr:`order`) in its slots."""
        pieces = self.pieces
        out = [pieces[0]]
        for target, piece in zip(targets, pieces[1:], strict=True):
            out.append(encode_basestring(target)[1:-1])
            out.append(piece)
        return "".join(out)


class TextMinimiser:
    """:func:`minimise_resource` of resource texts, to delivered text, remembering elements.

    Why: a million-patient delivery minimises about 5M resources, and walking
    each as a dict was most of the output stage. The resources of one
    registration repeat their elements (the same ``code``, ``category``,
    ``valueQuantity``, a Patient's ``subject``, a Procedure's ``partOf``).
    Each top-level element is minimised by the same :class:`_Minimiser` on its
    first appearance and its minimised text is remembered by the resource
    type, element name and the element's JSON text (a plain reference is made
    every time instead: mostly seen once, it crowded out the repeated elements,
    decision 0305; only the last one per name is kept, decision 0306); the resource's text is
    then joined from the header and the elements' texts, exactly as
    ``json.dumps`` joins a dict's members. ``note`` is told each element as
    it is made, so every element of every resource type (but a plain
    reference, see :data:`ElementNote`) is told at least once.

    What an element minimises to depends only on its text, the element name
    and the reference map (the resource's own id only names it in errors), so
    the remembered text is what minimising it again would give. Resources with
    ``contained`` (local ids depend on the resource), without a registered
    id, or of person types take :func:`minimise_resource` whole; a change to
    the reference map forgets everything remembered. Pinned to
    :func:`minimise_resource` by tests.
    """

    def __init__(
        self, references: ReferenceMap, style: ReferenceStyle, note: ElementNote | None = None
    ) -> None:
        self.references = references
        self.style = style
        self.note = note
        self._minimiser = _Minimiser(references, style, "", {})
        #: Per resource type, the text its resources start with (up to the delivered id),
        #: and its elements by name (what is told is by resource type).
        self._elements: dict[str, tuple[str, dict[str, _Element]]] = {}
        self._held = 0
        #: About the bytes of the templates held (decision 0620).
        self._template_bytes = 0
        self._changes = references.changes

    def minimised(
        self, text: str | bytes, own_key: str | None = None, own_id: str | None = None
    ) -> MinimisedText:
        """The delivered text of the resource ``text`` (as :func:`minimise_resource` + dumps).

        ``own_key`` and ``own_id``: the key (``Type/id``) the text was kept under, a member of
        the reference map (or its :attr:`PartReferenceMap.current`), and the delivered id
        it hashes to (:meth:`ResourceIds.of_keys`, a window of keys at once). Used when
        the text's own type and id are that key; otherwise the map is asked, as without.
        """
        if self.references.changes != self._changes:
            self._forget()
        try:
            elements = _ELEMENTS.decode(text)
        except msgspec.ValidationError:
            return self._whole(text)  # not an object: minimise_resource says what is wrong
        header = self._header(elements, own_key, own_id)
        if header is None:
            return self._whole(text)
        resource_type, delivered_id = header
        head, known = self._known(resource_type)
        parts = [f'{head}{encode_basestring(delivered_id)},"meta":{_META_TEXT}']
        patient_elements: dict[str, Any] = {}
        for key, raw in elements.items():
            element = known.get(key) or _new_element(known, key)
            if element.dropped:
                continue
            member = bytes(raw)
            # Declared as possibly None: mypyc checks each assignment's type at run time.
            done: tuple[str | None, Any] | None
            if member == element.last_text:  # a plain reference the resource before had
                done = element.last_made
            else:
                done = element.remembered.get(member)
                if done is None:
                    plain = _PLAIN_REFERENCE.fullmatch(member) if element.plain_references else None
                    if plain is not None and len(plain[1]) == len(plain[3]):
                        # A plain reference (about one per resource is new): made at once.
                        done = self._plain(
                            resource_type,
                            delivered_id,
                            element,
                            (plain[2].decode(), bool(plain[1])),
                        )
                        element.last_text, element.last_made = member, done
                    else:
                        done = self._element(resource_type, delivered_id, key, member, element)
            if done[0] is not None:
                parts.append(done[0])
                if element.names_patient:
                    patient_elements[key] = done[1]
        return MinimisedText(resource_type, delivered_id, ",".join(parts) + "}", patient_elements)

    def _header(
        self,
        elements: dict[str, msgspec.Raw],
        own_key: str | None = None,
        own_id: str | None = None,
    ) -> tuple[str, str] | None:
        """Resource type and delivered id, or None: the resource takes minimise_resource."""
        type_text = elements.get("resourceType")
        id_text = elements.get("id")
        if type_text is None or id_text is None or "contained" in elements:
            return None
        resource_type = msgspec.json.decode(type_text)
        source_id = msgspec.json.decode(id_text)
        if (
            type(resource_type) is not str
            or type(source_id) is not str
            or resource_type in PERSON_TYPES
        ):
            return None
        if own_id is not None and own_key == f"{resource_type}/{source_id}":
            return resource_type, own_id  # what the map's delivered_id makes for a member
        delivered_id = self.references.delivered_id(resource_type, source_id)
        if delivered_id is None:
            return None  # minimise_resource registers it: a change to the map
        return resource_type, delivered_id

    def _known(self, resource_type: str) -> tuple[str, dict[str, _Element]]:
        """The text a resource of the type starts with (up to its id), and its elements."""
        known = self._elements.get(resource_type)
        if known is None:
            head = f'{{"resourceType":{encode_basestring(resource_type)},"id":'
            known = (head, {})
            if len(self._elements) < _MAX_NAMES:  # hostile input may invent types without end
                self._elements[resource_type] = known
        return known

    def _element(
        self, resource_type: str, delivered_id: str, key: str, member: bytes, element: _Element
    ) -> tuple[str | None, Any]:
        """Minimise one top-level element as :meth:`_Minimiser.mapping` does, and remember it.

        The caller has asked the element's remembered texts and its last plain reference.
        """
        done: tuple[str | None, Any] = (None, None)
        plain = _plain_reference(member) if element.plain_references else None
        if plain is not None:
            # {"reference":"Type/id"} (or a list of one), by far the most common distinct
            # element: what _Minimiser.reference makes of it, without decoding and encoding.
            # Not remembered: mostly seen once (a Patient's subject recurs far apart), it
            # filled the memory and made the repeated elements be forgotten and made anew.
            # Only the last one per name is kept, for the resources that follow it.
            done = self._plain(resource_type, delivered_id, element, plain)
            element.last_text, element.last_made = member, done
            return done
        if (
            not element.names_patient
            and _NESTED_MARK in member
            and b"\\" not in member
            and len(member) <= LONGEST_REMEMBERED
        ):
            templated = self._templated(resource_type, delivered_id, key, member, element)
            if templated is not None:  # not remembered: mostly seen once, as plain references
                return templated
        value = msgspec.json.decode(member)
        if type(value) in _SCALARS:
            kept = value
        else:
            self._minimiser.where = f"{resource_type} {delivered_id}"
            kept = self._minimiser.element(value, key)
        if type(value) in _SCALARS or kept not in (None, {}, []):
            done = (element.head + delivered_json(kept), kept)
        if done[0] is not None and self.note is not None:
            self.note(resource_type, key, kept)
        if len(member) <= LONGEST_REMEMBERED:
            if self._held > REMEMBERED_BYTES:
                self._forget()
            element.remembered[member] = done
            self._held += len(member) + len(done[0] or "") + 400  # with the objects around them
        return done

    def _templated(
        self, resource_type: str, delivered_id: str, key: str, member: bytes, element: _Element
    ) -> tuple[str | None, Any] | None:
        """An element whose references are nested (an extension's ``valueReference``, a
        ``performer[].actor``) made from its template, or None: minimise it whole.

        Why: such an element differs from resource to resource only in its reference
        texts, so it missed the remembered texts every time (in the demo export, 87 % of
        the Conditions' ``extension``, about 15 % of the minimiser's time), and the
        misses filled the memory and made the repeated elements be forgotten. The
        template is the element minimised once with each non-empty reference text
        replaced by a marker (:class:`_Template`); each resource then resolves its own
        references with :meth:`_Minimiser.target`, in the order minimising whole would,
        and puts them in. When one of them is removed (None), the element's shape
        changes: it is minimised whole instead. The guard's notes never read a
        ``reference`` member, so the template's leaves are told once, on its first use.
        """
        pieces = _NESTED_REFERENCE.split(member)
        references = pieces[1::2]
        masked = b"".join(
            [piece if n % 2 == 0 else _SENTINELS[n // 2] for n, piece in enumerate(pieces)]
            if len(references) < len(_SENTINELS)
            else [b""]
        )
        if not masked:
            return None  # more references than markers: rare, minimised whole
        templates = element.templates
        if masked in templates:
            template = templates[masked]
        else:
            template = _Template.of(masked, key, len(references))
            # Held apart from the remembered texts (they depend on no map), under a budget
            # of their own: hostile input may invent shapes without end.
            if self._template_bytes > REMEMBERED_BYTES:
                for _, elements in self._elements.values():
                    for known in elements.values():
                        known.templates.clear()
                self._template_bytes = 0
            templates[masked] = template
            self._template_bytes += 2 * len(masked) + 400
        if template is None:
            return None
        minimiser = self._minimiser
        try:
            targets = [minimiser.target(references[n].decode()) for n in template.order]
        except OutputError:
            # The error names the resource; named only now (most references resolve).
            minimiser.where = f"{resource_type} {delivered_id}"
            targets = [minimiser.target(references[n].decode()) for n in template.order]
        except UnicodeDecodeError:
            return None  # not UTF-8: minimising whole says what is wrong
        resolved = [target for target in targets if target is not None]
        if len(resolved) != len(targets):
            return None  # a reference removed: the element's shape differs from the template's
        text = template.fill(resolved)
        if not template.told:
            # Told once, as minimised whole (its leaves are every later fill's: the guard
            # never reads a ``reference`` member).
            template.told = True
            if self.note is not None:
                self.note(resource_type, key, json.loads(text))
        return (element.head + text, None)

    def _plain(
        self, resource_type: str, delivered_id: str, element: _Element, plain: tuple[str, bool]
    ) -> tuple[str | None, Any]:
        """A plain reference element: what :meth:`_Minimiser.reference` makes of it.

        A reference the map holds as a target (a Patient, a fullUrl) or, written as its own
        key, as a member is answered here, as :meth:`_Minimiser.target` answers it (both its
        ways ask the map's targets, then its members by key, before anything else), without
        its calls: about one reference per resource (decision 0621). The value (``kept``)
        is only made for an element that names the Patient (the Bundles' grouping).
        """
        reference = plain[0]
        references = self.references
        local = reference.startswith("#")  # the contained resources' (none here): target's
        found = None if local else references._targets.get(reference)
        target: str | None
        if found is not None:
            target = render(found[0], found[1], self.style)
        elif not local and _is_own_key(reference) and reference in references._members:
            resource_type_of, _, source_id = reference.partition("/")
            target = render(
                resource_type_of, references._ids.make(resource_type_of, source_id), self.style
            )
        else:
            minimiser = self._minimiser
            try:
                target = minimiser.target(reference)
            except OutputError:
                # The error names the resource; named only now (most references resolve).
                minimiser.where = f"{resource_type} {delivered_id}"
                target = minimiser.target(reference)
        if target is None:
            return (None, None)
        text = f'{{"reference":{encode_basestring(target)}}}'
        if plain[1]:
            text = f"[{text}]"
        if not element.names_patient:
            return (element.head + text, None)
        kept: Any = {"reference": target}
        return (element.head + text, [kept] if plain[1] else kept)

    def _forget(self) -> None:
        for _, elements in self._elements.values():
            for element in elements.values():
                element.remembered.clear()
                element.last_text, element.last_made = b"", (None, None)
        self._held = 0
        self._changes = self.references.changes

    def _whole(self, text: str | bytes) -> MinimisedText:
        resource = minimise_resource(msgspec.json.decode(text), self.references, self.style)
        if self.note is not None:
            for key, value in resource.items():
                if key not in {"resourceType", "id", "meta"}:
                    self.note(str(resource["resourceType"]), key, value)
        patient_elements = {k: resource[k] for k in PATIENT_ELEMENTS if k in resource}
        return MinimisedText(
            str(resource["resourceType"]),
            str(resource["id"]),
            delivered_json(resource),
            patient_elements,
        )
