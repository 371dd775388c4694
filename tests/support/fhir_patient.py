"""One delivered Patient as a dict, for tests that inspect a single person.

The product writes Patients as JSON text in bulk (``PatientBuilder.text``,
``fhir.patient_columns``); a dict of that same text is what a test wants to
look into.
"""

from __future__ import annotations

import json
from typing import Any

from aanlevering.fhir.context import DeliveryContext
from aanlevering.fhir.generalised import NO_FORMS, GeneralisedForms
from aanlevering.fhir.patient import PatientBuilder
from aanlevering.pseudonym.model import PatientPseudonyms


def pseudonymised_patient(
    pseudonyms: PatientPseudonyms,
    context: DeliveryContext,
    forms: GeneralisedForms = NO_FORMS,
) -> dict[str, Any]:
    """The delivered Patient of one person, parsed from the text the writers write."""
    resource: dict[str, Any] = json.loads(PatientBuilder(context).text(pseudonyms, forms))
    return resource
