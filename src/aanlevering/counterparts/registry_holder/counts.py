"""Whether a manifest's ``record_counts`` are what its files hold.

The receipt repeats the manifest's record counts, and the hospital's ledger
and status show them as delivered; so the holder counts for itself
(decision 0434). A CSV delivery has one ``<dataset>.csv`` per dataset, whose
rows are that dataset's records. A FHIR delivery's records are
QuestionnaireResponses naming their dataset's Questionnaire at the manifest's
dictionary version (``…/Questionnaire/<dictionary>-<dataset>|<version>``); a
delivery whose records travel as other resources (``fhir_content``) holds no
QuestionnaireResponse, and one with a response naming no Questionnaire cannot
be attributed: their counts are not checked here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aanlevering.deliver.manifest import Manifest
from aanlevering.fhir.conventions import BASE


class RecordTally:
    """Records per dataset as found in one delivery's files."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.prefix = f"{BASE}/Questionnaire/{manifest.dictionary_id}-"
        self.version = manifest.dictionary_version
        self.found: Counter[str] = Counter()
        self.unattributed = 0

    def __repr__(self) -> str:
        return f"RecordTally({dict(self.found)})"

    def add_resource(self, resource: dict[str, Any]) -> str | None:
        """Count a QuestionnaireResponse for its dataset; a problem if it names another."""
        if resource.get("resourceType") != "QuestionnaireResponse":
            return None
        canonical = resource.get("questionnaire")
        if not isinstance(canonical, str):
            self.unattributed += 1  # the counts check is then skipped (see problems)
            return None
        url, _, version = canonical.partition("|")
        if not url.startswith(self.prefix) or version != self.version:
            return (
                "a QuestionnaireResponse of another dictionary or version than the manifest's "
                f"{self.manifest.dictionary_id} {self.version}"
            )
        self.found[url.removeprefix(self.prefix)] += 1
        return None

    def add_csv(self, name: str, rows: int) -> None:
        """Count the rows of ``<dataset>.csv`` for its dataset."""
        self.found[name.removesuffix(".csv")] += rows

    def problems(self) -> list[str]:
        """How the manifest's record counts differ from what was counted."""
        if not self.found or self.unattributed:
            return []  # records as other resources, or responses naming no Questionnaire
        claimed = dict(self.manifest.record_counts)
        return [
            f"record_counts says {claimed.get(dataset, 0)} record(s) of dataset {dataset!r}, "
            f"the files hold {self.found.get(dataset, 0)}"
            for dataset in sorted(set(claimed) | set(self.found))
            if claimed.get(dataset, 0) != self.found.get(dataset, 0)
        ]
