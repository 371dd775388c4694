"""Whether a manifest's ``record_counts`` are what its files hold.

The receipt repeats the manifest's record counts, and the hospital's ledger
and status show them as delivered; so the holder counts for itself
(decision 0434). A CSV delivery has one ``<dataset>.csv`` per dataset, whose
rows are that dataset's records. A FHIR delivery's records are
QuestionnaireResponses naming their dataset's Questionnaire at the manifest's
dictionary version (``…/Questionnaire/<dictionary>-<dataset>|<version>``); a
response naming no Questionnaire cannot be counted and is refused.

A delivery whose records travel as resources (``fhir_content: resources``)
holds no QuestionnaireResponse: each record is one focus resource, of the
dataset's mapped type and matching its ``where`` codes, as the product counts
it (one row per such resource, :mod:`aanlevering.extract.fhir`). The holder
counts those when it knows the registration's terms (its catalogue, decision
0435); without them it cannot tell a record from a linked resource, and such
a delivery's counts are not checked (decision 0595).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aanlevering.catalogue.model import CodeFilter
from aanlevering.counterparts.registry_holder.terms import RegistrationTerms
from aanlevering.counterparts.registry_holder.unreadable import Unread
from aanlevering.deliver.manifest import Manifest
from aanlevering.extract.fhir import entered_in_error, matches
from aanlevering.extract.fhir_store import ResourceStore
from aanlevering.extract.fhirpath import FhirPath, compile_path
from aanlevering.fhir.conventions import BASE

#: Nothing resolves: a ``where`` reads the focus resource itself.
_NOTHING = ResourceStore()


class RecordTally:
    """Records per dataset as found in one delivery's files."""

    def __init__(self, manifest: Manifest, terms: RegistrationTerms | None = None) -> None:
        self.manifest = manifest
        self.prefix = f"{BASE}/Questionnaire/{manifest.dictionary_id}-"
        self.version = manifest.dictionary_version
        self.found: Counter[str] = Counter()
        #: Focus resources per dataset, when the terms say records may travel as resources.
        self.as_resources: Counter[str] = Counter()
        self.focus = _focus(terms) if terms and terms.fhir_content != "questionnaire" else {}
        #: The terms say records travel as QuestionnaireResponses only.
        self.questionnaires_only = terms is not None and terms.fhir_content == "questionnaire"

    def __repr__(self) -> str:
        return f"RecordTally({dict(self.found)}, as resources {dict(self.as_resources)})"

    def add_resource(self, resource: dict[str, Any]) -> str | None:
        """Count a record for its dataset; a problem if it cannot be attributed to one."""
        if resource.get("resourceType") != "QuestionnaireResponse":
            self._add_focus(resource)
            return None
        canonical = resource.get("questionnaire")
        if not isinstance(canonical, str):
            return (
                "a QuestionnaireResponse naming no Questionnaire: its record cannot be counted "
                "for a dataset of the manifest"
            )
        url, _, version = canonical.partition("|")
        if not url.startswith(self.prefix) or version != self.version:
            return (
                "a QuestionnaireResponse of another dictionary or version than the manifest's "
                f"{self.manifest.dictionary_id} {self.version}"
            )
        self.found[url.removeprefix(self.prefix)] += 1
        return None

    def _add_focus(self, resource: dict[str, Any]) -> None:
        """Count ``resource`` for each dataset whose record it is (type and ``where``)."""
        if not self.focus or entered_in_error(resource):
            return
        for dataset, (resource_type, where) in self.focus.items():
            if resource.get("resourceType") == resource_type and matches(where, resource, _NOTHING):
                self.as_resources[dataset] += 1

    def add_csv(self, name: str, rows: int) -> None:
        """Count the rows of ``<dataset>.csv`` for its dataset."""
        self.found[name.removesuffix(".csv")] += rows

    def problems(self, unread: Unread | None = None) -> list[str]:
        """How the manifest's record counts differ from what was counted.

        ``unread``: what files not read whole leave unknown. A dataset whose
        records may be in such a file is not compared: no mismatch is made up
        (decision 0970); every other dataset is (decision 0985).
        """
        unread = unread or Unread()
        if unread.anything or "QuestionnaireResponse" in unread.types:
            return []  # any dataset's records may be in what was not read
        if self.found or self.questionnaires_only:
            counted = self.found  # CSV rows, or QuestionnaireResponses
            unknown = unread.datasets
        elif self.focus:
            counted = self.as_resources  # no QuestionnaireResponse: records are resources
            unknown = {name for name, (type_, _) in self.focus.items() if type_ in unread.types}
        else:
            return []  # resources of a registration whose terms the holder does not know
        claimed = dict(self.manifest.record_counts)
        return [
            f"record_counts says {claimed.get(dataset, 0)} record(s) of dataset {dataset!r}, "
            f"the files hold {counted.get(dataset, 0)}"
            for dataset in sorted(set(claimed) | set(counted))
            if dataset not in unknown and claimed.get(dataset, 0) != counted.get(dataset, 0)
        ]


def _focus(terms: RegistrationTerms) -> dict[str, tuple[str, tuple[CodeFilter, FhirPath] | None]]:
    """Per dataset, its records' resource type and compiled ``where`` (as the extract has it)."""
    return {
        dataset: (resource_type, (where, compile_path(where.element)) if where else None)
        for dataset, (resource_type, where) in terms.record_resources.items()
    }
