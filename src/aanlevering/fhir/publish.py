"""The conformance resources the project publishes about its FHIR output.

Registry holders need to know what the codes, systems and extensions in a
delivery mean. Rather than hand-writing JSON that drifts from the code, the
resources are generated here from :mod:`aanlevering.fhir.conventions`, the
``PseudonymType`` enum and the catalogue, and checked into ``schemas/fhir/``
(a test fails when the files and the code disagree). Regenerate with::

    python -m aanlevering.fhir.publish [schemas/fhir] [schemas/catalogue]
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aanlevering.catalogue.model import Catalogue, DataDictionary, Dataset, VariableType
from aanlevering.fhir.conventions import (
    BASE,
    DEFINITIVE,
    KEY_VERSION_EXTENSION,
    PROFILE_EXTENSION,
    PSEUDONYM_STATUS_SYSTEM,
    PSEUDONYM_TYPE_SYSTEM,
    STATUS_EXTENSION,
    TEMPORARY,
    TYPE_DEFINITIONS,
    option_set_system,
    pseudonym_system,
    questionnaire_url,
)
from aanlevering.pseudonym_types import PseudonymType

log = logging.getLogger(__name__)

#: Version of the published conventions (bump when a URL or code changes meaning).
CONVENTIONS_VERSION = "1.0.0"
#: Fixed date of this version, so regenerating gives byte-identical files.
CONVENTIONS_DATE = "2026-01-01"
PUBLISHER = "aanlevering project"

_ITEM_TYPES: dict[VariableType, str] = {
    "string": "string",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "datetime": "dateTime",
    "boolean": "boolean",
    "code": "choice",
}


def _common(
    resource_type: str, resource_id: str, url: str, name: str, title: str
) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "id": resource_id,
        "url": url,
        "version": CONVENTIONS_VERSION,
        "name": name,
        "title": title,
        "status": "active",
        "date": CONVENTIONS_DATE,
        "publisher": PUBLISHER,
    }


def pseudonym_type_code_system() -> dict[str, Any]:
    """CodeSystem of the pseudonym types: exactly the ``PseudonymType`` codes."""
    resource = _common(
        "CodeSystem",
        "pseudonym-type",
        PSEUDONYM_TYPE_SYSTEM,
        "PseudonymType",
        "Pseudonym types of the central pseudonymisation service",
    )
    resource.update(
        {
            "description": (
                "The input a pseudonym is made of. Identifier.type of a pseudonym identifier "
                "in a delivered Patient carries one of these codes."
            ),
            "caseSensitive": True,
            "content": "complete",
            "count": len(PseudonymType),
            "concept": [
                {
                    "code": type_.value,
                    "display": TYPE_DEFINITIONS[type_][0],
                    "definition": TYPE_DEFINITIONS[type_][1],
                }
                for type_ in PseudonymType
            ],
        }
    )
    return resource


def pseudonym_status_code_system() -> dict[str, Any]:
    """CodeSystem of the pseudonym status: temporary (web mode) or definitive."""
    resource = _common(
        "CodeSystem",
        "pseudonym-status",
        PSEUDONYM_STATUS_SYSTEM,
        "PseudonymStatus",
        "Status of a pseudonym",
    )
    resource.update(
        {
            "description": "Whether a pseudonym still has to be exchanged at the TTP.",
            "caseSensitive": True,
            "content": "complete",
            "count": 2,
            "concept": [
                {
                    "code": TEMPORARY,
                    "display": "temporary",
                    "definition": (
                        "Obtained by the provider from the TTP's web service; the registry "
                        "holder exchanges it at the TTP for a definitive pseudonym."
                    ),
                },
                {
                    "code": DEFINITIVE,
                    "display": "definitive",
                    "definition": "The pseudonym the registration stores.",
                },
            ],
        }
    )
    return resource


def _extension(
    resource_id: str, url: str, name: str, *, title: str, description: str, value_type: str
) -> dict[str, Any]:
    resource = _common("StructureDefinition", resource_id, url, name, title)
    resource.update(
        {
            "description": description,
            "fhirVersion": "4.0.1",
            "kind": "complex-type",
            "abstract": False,
            "context": [{"type": "element", "expression": "Identifier"}],
            "type": "Extension",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
            "derivation": "constraint",
            "differential": {
                "element": [
                    {"id": "Extension", "path": "Extension", "min": 0, "max": "1"},
                    {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
                    {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
                    {
                        "id": "Extension.value[x]",
                        "path": "Extension.value[x]",
                        "min": 1,
                        "type": [{"code": value_type}],
                    },
                ]
            },
        }
    )
    return resource


def extension_definitions() -> list[dict[str, Any]]:
    """StructureDefinitions of the three pseudonym identifier extensions."""
    return [
        _extension(
            "pseudonym-key-version",
            KEY_VERSION_EXTENSION,
            "PseudonymKeyVersion",
            title="Key version of a pseudonym",
            description="Version of the registration key the pseudonym was made with.",
            value_type="integer",
        ),
        _extension(
            "pseudonym-normalisation-profile",
            PROFILE_EXTENSION,
            "PseudonymNormalisationProfile",
            title="Normalisation profile of a pseudonym",
            description="Name and version of the normalisation profile its input went through.",
            value_type="string",
        ),
        _extension(
            "pseudonym-status",
            STATUS_EXTENSION,
            "PseudonymStatus",
            title="Status of a pseudonym",
            description=f"temporary or definitive, from {PSEUDONYM_STATUS_SYSTEM}.",
            value_type="code",
        ),
    ]


def naming_system(registration_id: str, type_: PseudonymType) -> dict[str, Any]:
    """NamingSystem of one pseudonym type of one registration (keys are per registration)."""
    label = type_.value
    return {
        "resourceType": "NamingSystem",
        "id": f"pseudonym-{registration_id}-{label}",
        "name": f"Pseudonym{label}{''.join(p.title() for p in registration_id.split('-'))}",
        "status": "active",
        "kind": "identifier",
        "date": CONVENTIONS_DATE,
        "publisher": PUBLISHER,
        "responsible": "TTP of the central pseudonymisation service",
        "type": {"coding": [{"system": PSEUDONYM_TYPE_SYSTEM, "code": label}]},
        "description": (
            f"Pseudonyms of type {label} ({TYPE_DEFINITIONS[type_][1]}) for registration "
            f"{registration_id}, under that registration's key. Convention: "
            f"{BASE}/NamingSystem/pseudonym/<registration>/<type>."
        ),
        "usage": "Identifier.system of pseudonym identifiers in delivered Patient resources.",
        "uniqueId": [
            {
                "type": "uri",
                "value": pseudonym_system(registration_id, type_),
                "preferred": True,
            }
        ],
    }


def questionnaire(dictionary: DataDictionary, dataset: Dataset) -> dict[str, Any]:
    """The Questionnaire a dataset's QuestionnaireResponses answer (one item per variable)."""
    items = []
    for variable in dataset.variables:
        item: dict[str, Any] = {
            "linkId": variable.name,
            "text": variable.label or variable.description or variable.name,
            "type": _ITEM_TYPES[variable.type],
        }
        if variable.type == "code" and variable.option_set:
            system = option_set_system(dictionary.id, variable.option_set)
            option_set = dictionary.option_sets[variable.option_set]
            item["answerOption"] = [
                {"valueCoding": {"system": system, "code": option.code, "display": option.label}}
                for option in option_set.options
            ]
        if variable.max_length and variable.type == "string":
            item["maxLength"] = variable.max_length
        items.append(item)
    resource_id = f"{dictionary.id}-{dataset.name}"
    return {
        "resourceType": "Questionnaire",
        "id": resource_id,
        "url": questionnaire_url(dictionary.id, dataset.name),
        "version": dictionary.version,
        "name": "".join(part.title() for part in resource_id.replace("_", "-").split("-")),
        "title": f"{dictionary.name}: {dataset.name}",
        "status": "active",
        "subjectType": ["Patient"],
        "date": (dictionary.published or CONVENTIONS_DATE).__str__(),
        "publisher": dictionary.registry_holder,
        "description": dataset.description or f"Dataset {dataset.name} of {dictionary.name}.",
        "item": items,
    }


def published_resources(catalogue: Catalogue | None = None) -> Iterator[dict[str, Any]]:
    """Every resource to publish: code systems, extensions, and per catalogue registration
    its NamingSystems and its dictionary's Questionnaires."""
    yield pseudonym_type_code_system()
    yield pseudonym_status_code_system()
    yield from extension_definitions()
    if catalogue is None:
        return
    seen: set[tuple[str, str]] = set()
    for config in catalogue:
        for type_ in config.pseudonymisation.types:
            yield naming_system(config.id, type_)
        dictionary = config.dictionary
        if (dictionary.id, dictionary.version) in seen:
            continue
        seen.add((dictionary.id, dictionary.version))
        for dataset in dictionary.datasets:
            yield questionnaire(dictionary, dataset)


def file_name(resource: dict[str, Any]) -> str:
    """``<resourceType>-<id>.json``."""
    return f"{resource['resourceType']}-{resource['id']}.json"


def render_json(resource: dict[str, Any]) -> str:
    """The published text of a resource (stable: 2-space indent, trailing newline)."""
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


def publish(folder: Path, catalogue: Catalogue | None = None) -> list[Path]:
    """Write every published resource into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for resource in published_resources(catalogue):
        path = folder / file_name(resource)
        path.write_text(render_json(resource), encoding="utf-8")
        written.append(path)
    log.info("published %d FHIR conformance resources to %s", len(written), folder)
    return written


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``schemas/fhir`` from the code and the catalogue."""
    from aanlevering.catalogue import load_catalogue

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path("schemas/fhir")
    catalogue = load_catalogue(Path(args[1]) if len(args) > 1 else Path("schemas/catalogue"))
    for path in publish(folder, catalogue):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
