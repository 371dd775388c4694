"""FHIR R4 resources of demo records: nl-core Patients and the mapped clinical resources.

Clinical resources are shaped by the registration's ``source.fhir`` mapping
(see :mod:`aanlevering.demo.fhirpaths`): one focus resource per record with
the mapping's code filter, the resources its ``resolve()`` paths point at,
and the related Observations its variables name (linked by ``partOf``,
``focus`` or the focus's ``encounter``). Patients follow the Nictiz nl-core
conventions: BSN and MRN identifiers, name parts as HumanName extensions,
given names with EN qualifiers, Dutch address parts as line extensions.
"""

from __future__ import annotations

import marshal
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from aanlevering.catalogue import RegistrationConfig
from aanlevering.catalogue.model import FhirDatasetSource
from aanlevering.demo.clinical.base import DatasetChunk
from aanlevering.demo.fhirpaths import (
    SATELLITE_SUFFIX,
    CompiledPath,
    Json,
    Resolver,
    compile_path,
    field_info,
    has_element,
)
from aanlevering.demo.people import People
from aanlevering.demo.records import RegistrationPlan
from aanlevering.pseudonym_types import BSN_SYSTEM

MRN_SYSTEM = "https://aanlevering.example/fhir/NamingSystem/demo-hospital-patientnummer"
SD = "http://hl7.org/fhir/StructureDefinition/"
NL_CORE_PATIENT = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
GENDER = {"M": "male", "V": "female", "O": "other"}

#: Elements a resource must have to be valid, when the mapping does not set them.
REQUIRED_DEFAULTS: Mapping[str, Json] = {
    "Observation": {"status": "final"},
    "Procedure": {"status": "completed"},
    "Encounter": {
        "status": "finished",
        "class": {"system": V3_ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
    },
}


def _link_element(resource_type: str) -> str:
    return "subject" if has_element(resource_type, "subject") else "patient"


_LINK_ELEMENT: dict[str, str] = {}


def new_resource(
    resource_type: str,
    resource_id: str,
    patient_ref: str | None,
    template: bytes | None = None,
) -> Json:
    """A resource with its id, subject, and the elements of a template.

    ``template`` is :func:`template_bytes` output: marshal gives a fresh deep
    copy in one C call, so templates are never shared between resources.
    """
    resource: Json = {"resourceType": resource_type, "id": resource_id}
    if template is not None:
        resource.update(marshal.loads(template))  # noqa: S302 - our own template_bytes
    if patient_ref is not None:
        link = _LINK_ELEMENT.get(resource_type)
        if link is None:
            link = _LINK_ELEMENT[resource_type] = _link_element(resource_type)
        resource[link] = {"reference": patient_ref}
    return resource


def template_bytes(resource_type: str, extras: Mapping[str, Any]) -> bytes:
    """Required defaults of the type overlaid with a model's extras, ready to copy."""
    merged = dict(REQUIRED_DEFAULTS.get(resource_type, {}))
    merged.update(extras)
    return marshal.dumps(merged)


def _qualifier(code: str) -> Json:
    return {"extension": [{"url": f"{SD}iso21090-EN-qualifier", "valueCode": code}]}


def _ext(name: str, value: str) -> Json:
    return {"url": f"{SD}{name}", "valueString": value}


def patient_resource(people: People, i: int) -> Json:
    """The nl-core Patient of patient ``i`` of the chunk."""
    family_parts = []
    if people.own_prefix[i]:
        family_parts.append(_ext("humanname-own-prefix", people.own_prefix[i]))
    family_parts.append(_ext("humanname-own-name", people.own_name[i]))
    if people.partner_name[i]:
        if people.partner_prefix[i]:
            family_parts.append(_ext("humanname-partner-prefix", people.partner_prefix[i]))
        family_parts.append(_ext("humanname-partner-name", people.partner_name[i]))
    if people.initials_only[i]:
        given = [initial + "." for initial in people.initials[i].split(".") if initial]
        given_ext = [_qualifier("IN") for _ in given]
    else:
        given = people.given_names[i].split(" ")
        given_ext = [_qualifier("BR") for _ in given]
    official: Json = {
        "extension": [{"url": f"{SD}humanname-assembly-order", "valueCode": people.name_usage[i]}],
        "use": "official",
        "family": people.name_in_use[i],
        "_family": {"extension": family_parts},
        "given": given,
        "_given": given_ext,
    }
    names = [official]
    if not people.initials_only[i]:
        names.append({"use": "usual", "given": [people.call_name[i]], "_given": [_qualifier("CL")]})
    addition = people.house_number_addition[i]
    line = f"{people.street[i]} {people.house_number[i]}" + (f" {addition}" if addition else "")
    line_parts = [
        {"url": f"{SD}iso21090-ADXP-streetName", "valueString": people.street[i]},
        {"url": f"{SD}iso21090-ADXP-houseNumber", "valueString": people.house_number[i]},
    ]
    if addition:
        line_parts.append(
            {"url": f"{SD}iso21090-ADXP-buildingNumberSuffix", "valueString": addition}
        )
    sex = people.sex[i]
    return {
        "resourceType": "Patient",
        "id": people.fhir_id[i],
        "meta": {"profile": [NL_CORE_PATIENT]},
        "identifier": [
            {"use": "official", "system": BSN_SYSTEM, "value": people.bsn[i]},
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": MRN_SYSTEM,
                "value": people.mrn[i],
            },
        ],
        "name": names,
        "gender": GENDER[("M", "V", "O")[sex]],
        "birthDate": str(people.birth_date[i]),
        "address": [
            {
                "use": "home",
                "line": [line],
                "_line": [{"extension": line_parts}],
                "city": people.city[i],
                "postalCode": people.postcode[i],
                "country": "NL",
            }
        ],
    }


@dataclass(frozen=True)
class RelatedSpec:
    """A related resource (e.g. an Observation) that carries variables of a record."""

    resource: str
    link: str
    system: str
    code: str
    filter_path: CompiledPath

    @property
    def slug(self) -> str:
        """The code as an id part: ``AAA-DIAMETER`` -> ``aaa-diameter``."""
        return _slug(self.code)


@dataclass(frozen=True)
class VariableWriter:
    """Where one variable goes: the focus resource or a related one."""

    variable: str
    path: CompiledPath
    related: RelatedSpec | None


class _RecordResolver(Resolver):
    def __init__(self, builder: DatasetBuilder, focus: Json, patient: Json) -> None:
        self.builder = builder
        self.focus = focus
        self.patient = patient
        self.made: dict[str, Json] = {}

    def resolve(self, key: str, target_type: str) -> Json:
        if target_type == "Patient":
            return self.patient
        found = self.made.get(key)
        if found is None:
            suffix = SATELLITE_SUFFIX.get(
                key.split(".", maxsplit=1)[0], key.split(".", maxsplit=1)[0].lower()
            )
            found = new_resource(
                target_type,
                f"{self.focus['id']}-{suffix}",
                f"Patient/{self.patient['id']}",
                self.builder.template(target_type, f"resolve:{key.split('.', maxsplit=1)[0]}"),
            )
            self.made[key] = found
        return found


class DatasetBuilder:
    """Builds the resources of one dataset's records from the compiled mapping."""

    def __init__(self, plan: RegistrationPlan, dataset: str, source: FhirDatasetSource) -> None:
        self.plan = plan
        self.dataset = dataset
        self.source = source
        config = plan.config
        dictionary = config.dictionary
        ds = dictionary.dataset(dataset)
        self.focus_type = source.resource
        self.filter_path: CompiledPath | None = None
        self.filter_code = ""
        if source.where is not None:
            self.filter_path = compile_path(
                f"{source.where.element}.coding.where(system='{source.where.system}').code",
                self.focus_type,
            )
            self.filter_code = source.where.codes[0] if source.where.codes else "demo"
        targets = _reference_targets(config, dataset)
        chunk_columns = plan.dataset(dataset).variables
        writers: list[VariableWriter] = []
        for name, spec in source.variables.items():
            if name not in chunk_columns:
                continue
            variable = ds.variable(name)
            inverse: dict[str, str] = {}
            for fhir_value, dict_value in spec.map.items():
                inverse.setdefault(dict_value, fhir_value)
            displays: dict[str, str] = {}
            if variable.option_set:
                for option in dictionary.option_sets[variable.option_set].options:
                    displays[inverse.get(option.code, option.code)] = option.label
            related = None
            root = self.focus_type
            if spec.resource is not None:
                if spec.where is None or not spec.where.codes or spec.link is None:
                    raise_config(config.id, dataset, name, "needs link and a where code")
                assert spec.where is not None and spec.link is not None
                root = spec.resource
                related = RelatedSpec(
                    resource=spec.resource,
                    link=spec.link,
                    system=spec.where.system,
                    code=spec.where.codes[0],
                    filter_path=compile_path(
                        f"{spec.where.element}.coding.where(system='{spec.where.system}').code",
                        spec.resource,
                    ),
                )
            path = compile_path(
                spec.element,
                root,
                inverse_map=inverse,
                displays=displays,
                unit=variable.unit,
                reference_targets={"valueReference": targets[name]} if name in targets else {},
            )
            writers.append(VariableWriter(name, path, related))
        self.writers = tuple(writers)
        self._templates: dict[str, bytes] = {}
        id_variables = [w.variable for w in writers if w.related is None and w.path.text == "id"]
        self.id_variable = id_variables[0] if id_variables else ds.key[0]

    def template(self, resource_type: str, role: str) -> bytes:
        """Defaults plus the clinical model's decorations for a resource of this role."""
        found = self._templates.get(role)
        if found is None:
            extras = self.plan.model.fhir_extras(self.dataset, role)
            found = self._templates[role] = template_bytes(resource_type, extras)
        return found

    def build(
        self,
        key: str,
        values: Mapping[str, list[Any]],
        row: int,
        anchor: str,
        patient: Json,
    ) -> list[Json]:
        """Resources of record ``row``: the focus first, then what it refers to.

        ``values`` holds the chunk's values per variable (None where missing).
        """
        patient_ref = f"Patient/{patient['id']}"
        focus = new_resource(
            self.focus_type, key, patient_ref, self.template(self.focus_type, "focus")
        )
        resolver = _RecordResolver(self, focus, patient)
        if self.filter_path is not None:
            self.filter_path.apply(focus, self.filter_code, resolver)
        related: dict[tuple[str, str, str], Json] = {}
        for writer in self.writers:
            value = values[writer.variable][row]
            if value is None:
                continue
            if writer.related is None:
                writer.path.apply(focus, value, resolver)
                continue
            spec = writer.related
            slot = (spec.resource, spec.system, spec.code)
            target = related.get(slot)
            if target is None:
                target = self._related(spec, focus, resolver, patient_ref, anchor)
                related[slot] = target
            writer.path.apply(target, value, resolver)
        return [focus, *resolver.made.values(), *related.values()]

    def _related(
        self,
        spec: RelatedSpec,
        focus: Json,
        resolver: _RecordResolver,
        patient_ref: str,
        anchor: str,
    ) -> Json:
        resource = new_resource(
            spec.resource,
            f"{focus['id']}-{spec.slug}"[:64],
            patient_ref,
            self.template(spec.resource, f"related:{spec.code}"),
        )
        spec.filter_path.apply(resource, spec.code, resolver)
        focus_ref = {"reference": f"{self.focus_type}/{focus['id']}"}
        if spec.link == "encounter":
            if self.focus_type == "Encounter":
                resource["encounter"] = focus_ref
            else:
                encounter = resolver.resolve("encounter", "Encounter")
                focus.setdefault("encounter", {"reference": f"Encounter/{encounter['id']}"})
                resource["encounter"] = {"reference": f"Encounter/{encounter['id']}"}
        elif field_info(spec.resource, spec.link).is_list:
            resource[spec.link] = [focus_ref]
        else:
            resource[spec.link] = focus_ref
        if spec.resource == "Observation":
            resource["effectiveDateTime"] = anchor
        return resource


@cache
def _slug(code: str) -> str:
    return code.lower().replace("/", "-").replace(".", "-")


def raise_config(registration: str, dataset: str, variable: str, problem: str) -> None:
    """ConfigError for a FHIR mapping the generator cannot write."""
    from aanlevering.errors import ConfigError

    raise ConfigError(
        f"registration {registration}: source.fhir.datasets.{dataset}.variables.{variable} "
        f"{problem}"
    )


def _reference_targets(config: RegistrationConfig, dataset: str) -> dict[str, str]:
    """Relation variables -> FHIR type of the related dataset's focus resource."""
    targets: dict[str, str] = {}
    if config.fhir_source is None:
        return targets
    for relation in config.dictionary.dataset(dataset).relations:
        parent = config.fhir_source.datasets.get(relation.dataset)
        if parent is not None:
            targets[relation.variable] = parent.resource
    return targets


def builders(plan: RegistrationPlan) -> dict[str, DatasetBuilder]:
    """One builder per dataset the registration maps to FHIR."""
    source = plan.config.fhir_source
    if source is None:
        return {}
    return {
        name: DatasetBuilder(plan, name, spec)
        for name, spec in source.datasets.items()
        if name in {d.dataset.name for d in plan.datasets}
    }


def record_values(chunk: DatasetChunk) -> dict[str, list[Any]]:
    """Per variable, the chunk's values as Python objects (None where missing)."""
    out: dict[str, list[Any]] = {}
    for name, col in chunk.columns.items():
        values = col.values.tolist()
        if col.kind == "float":
            places = col.decimals
            values = [round(v) if places == 0 else round(v, places) for v in values]
        if col.missing.any():
            for i, gone in enumerate(col.missing.tolist()):
                if gone:
                    values[i] = None
        out[name] = values
    return out
