"""FHIR XML (the format of the Nictiz zib examples) read into FHIR JSON, through fhir.resources.

A ``*.xml`` file holds one resource or a Bundle. fhir.resources parses it
with lxml into its model (checking it against the FHIR R4 (R4B) structure) and
gives back the JSON form, so the rest of the extract sees what a ``*.json``
file would give. The XML parser is locked down: no DTDs, no entities, no
network, no huge trees (an export is data, not a document with includes).
Every failure is an :class:`ExtractError` naming the file (and the line for
malformed XML, the element path for a structure error), never a value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aanlevering.errors import ExtractError

FHIR_NAMESPACE = "http://hl7.org/fhir"


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
    )


def root_type(data: bytes) -> str | None:
    """The resource type an XML document's root names, if it is a FHIR element; else None."""
    from lxml import etree

    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError:
        return None
    qname = etree.QName(root)
    return qname.localname if qname.namespace == FHIR_NAMESPACE else None


def read_xml(path: Path) -> dict[str, Any]:
    """The FHIR JSON of the resource or Bundle in ``path``."""
    from fhir.resources.R4B import get_fhir_model_class
    from lxml import etree
    from pydantic import ValidationError

    data = path.read_bytes()
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as error:
        line = f"line {error.lineno}: " if error.lineno else ""
        raise ExtractError(f"{path}: {line}not well-formed XML") from None
    qname = etree.QName(root)
    if qname.namespace != FHIR_NAMESPACE:
        raise ExtractError(f"{path}: not FHIR XML (the root element is not in {FHIR_NAMESPACE})")
    try:
        model_class = get_fhir_model_class(qname.localname)
    except (KeyError, ValueError):
        raise ExtractError(f"{path}: line {root.sourceline}: no FHIR resource type") from None
    try:
        model = model_class.model_validate_xml(data, xmlparser=_parser())
    except ValidationError as error:
        details = error.errors()
        where = ".".join(str(part) for part in details[0]["loc"]) if details else ""
        kind = details[0]["type"] if details else "invalid"
        raise ExtractError(
            f"{path}: the {qname.localname} does not fit FHIR R4 ({error.error_count()} "
            f"problem(s), first at {where or 'the root'}: {kind})"
        ) from None
    except Exception as error:  # fhir.resources' XML reader fails in many ways on bad input
        raise ExtractError(
            f"{path}: the {qname.localname} cannot be read as FHIR XML ({type(error).__name__})"
        ) from None
    document: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True))
    return document
