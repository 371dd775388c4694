"""What a registration accepts, as its registry holder knows it: pseudonym types and dictionary.

A real registry holder knows the terms of its own registrations: which
pseudonym types were approved, which dictionary version is current and the
columns of each dataset. The reference holder reads them from the catalogue
named in its config (``catalogue_dir``) and refuses a delivery that asks for
another pseudonym type, names another dictionary or whose CSV header is not
the dictionary's columns (decision 0435). Without a catalogue these checks
are off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aanlevering.catalogue.model import CodeFilter, RegistrationConfig
from aanlevering.deliver.manifest import Manifest
from aanlevering.errors import ConfigError
from aanlevering.extract.fhir_resources import PERSON_TYPES
from aanlevering.periods import Period

#: Per dataset, the resource type of its records and the codes they carry (``where``).
RecordResources = Mapping[str, tuple[str, CodeFilter | None]]


#: What a delivery of a registration whose records travel as QuestionnaireResponses holds.
QUESTIONNAIRE_TYPES = frozenset({"Patient", "QuestionnaireResponse"})


@dataclass(frozen=True)
class RegistrationTerms:
    """One registration's approved pseudonym types and dictionary (datasets -> columns).

    ``fhir_content`` and ``record_resources`` say how a FHIR delivery's records
    travel: as QuestionnaireResponses, or (``resources``, ``both``) as the
    resources they were read from, one focus resource per record (decision 0595).
    """

    pseudonym_types: frozenset[str]
    dictionary_id: str
    dictionary_version: str
    datasets: Mapping[str, tuple[str, ...]]
    fhir_content: str = "questionnaire"
    record_resources: RecordResources = field(default_factory=dict)
    #: The registration's delivery frequency: its periods are months, quarters or years.
    frequency: str | None = None
    #: The resource types its FHIR mappings read, focus and linked (empty: not known).
    source_types: frozenset[str] = frozenset()
    #: The one format its deliveries come in (``csv``, ``fhir-ndjson``, ``fhir-bundle``;
    #: None: not known), decision 1008.
    delivery_format: str | None = None
    #: Who holds the registration and the normalisation profile of its pseudonyms, as
    #: the registration says (None: not known), decision 1039.
    registry_holder: str | None = None
    profile: str | None = None

    def manifest_problems(self, manifest: Manifest) -> list[str]:
        """How the manifest asks for more, or other, than the registration's terms."""
        problems = self._calendar_problems(manifest)
        if manifest.kind != "delivery":
            return problems
        if self.delivery_format is not None and manifest.format != self.delivery_format:
            # The registry's intake takes one format per registration: a delivery
            # in another is records it would not load, however well formed (1008).
            problems.append(
                f"format {manifest.format!r} is not registration {manifest.registration!r}'s "
                f"(its deliveries are {self.delivery_format!r})"
            )
        problems += self._agreed_problems(manifest)
        unapproved = sorted(set(manifest.pseudonym_types) - self.pseudonym_types)
        if unapproved:
            problems.append(
                f"pseudonym type(s) {', '.join(unapproved)} not approved for registration "
                f"{manifest.registration!r} (approved: {', '.join(sorted(self.pseudonym_types))})"
            )
        dictionary = (manifest.dictionary_id, manifest.dictionary_version)
        if dictionary != (self.dictionary_id, self.dictionary_version):
            problems.append(
                f"dictionary {dictionary[0]} {dictionary[1]} is not the registration's "
                f"({self.dictionary_id} {self.dictionary_version})"
            )
        return problems + self._count_problems(manifest)

    def _agreed_problems(self, manifest: Manifest) -> list[str]:
        """Where the manifest's registry holder or profile is not the registration's.

        Why: a delivery addressed to another registry holder, or whose
        pseudonyms were made from inputs normalised by another profile, is not
        the registration's delivery, however well formed (decision 1039). The
        TTP checks the same of a local upload (1022). The TTP mode is not
        checked: the tests deliver a registration in another mode than the
        catalogue's, and a temporary pseudonym outside web mode is refused
        on its own (1037).
        """
        agreed = (
            ("registry_holder", manifest.registry_holder, self.registry_holder),
            ("normalisation_profile", manifest.normalisation_profile, self.profile),
        )
        return [
            f"{name} {stated[:40]!r} is not registration {manifest.registration!r}'s ({own!r})"
            for name, stated, own in agreed
            if own is not None and stated != own
        ]

    def _count_problems(self, manifest: Manifest) -> list[str]:
        """``record_counts`` of a dataset the dictionary does not have (decision 1031).

        Why: a count of 0 for it adds no mismatch, yet the receipt repeats it and
        the hospital shows it as delivered: counts of a dataset the registration
        does not receive. Names are the manifest's own (no patient data), cut short.
        """
        if manifest.dictionary_id != self.dictionary_id:
            return []  # another dictionary: said above, its datasets are not these
        unknown = sorted(set(manifest.record_counts) - set(self.datasets))
        if not unknown:
            return []
        named = ", ".join(repr(name[:40]) for name in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        return [
            f"record_counts names dataset(s) {named}{more} that dictionary "
            f"{self.dictionary_id} does not have"
        ]

    def _calendar_problems(self, manifest: Manifest) -> list[str]:
        """A period of another length than the registration's (decision 0721).

        Why: periods of one frequency tile the calendar; a quarter delivered to
        a monthly registration overlaps three of its months, so its records
        would be held twice (the hospital's own rule, decision 0391).
        """
        if self.frequency is None:
            return []
        try:
            frequency = Period.parse(manifest.period).frequency
        except ConfigError:
            return []  # not a period at all: the general checks say so
        if frequency == self.frequency:
            return []
        return [
            f"period {manifest.period} is a {frequency}; registration {manifest.registration!r} "
            f"is delivered per {self.frequency}"
        ]

    def resource_type_problem(self, resource_type: object, registration: str) -> str | None:
        """Why a resource of ``resource_type`` is not one this registration's deliveries hold.

        Why: a registration whose records travel as QuestionnaireResponses
        (``fhir_content: questionnaire``) is delivered as Patients and those
        only: the product sends no source resource then (decision 0982). For
        ``resources`` and ``both`` the product sends the Patients, the
        resources its mappings read a record from (the focus resource and the
        linked ones a variable names, people never) and QuestionnaireResponses
        (``both``, or a record read from CSV): another type is data the
        registration never agreed to receive (decision 0986). The type is
        never echoed: a sender may have written anything there.
        """
        if self.fhir_content == "questionnaire":
            if resource_type in QUESTIONNAIRE_TYPES:
                return None
            return (
                f"a resource of a type registration {registration!r} does not deliver (its "
                "records travel as QuestionnaireResponses: Patient and QuestionnaireResponse only)"
            )
        delivered = self.delivered_types()
        if delivered is None or resource_type in delivered:
            return None
        *others, last = sorted(delivered)
        return (
            f"a resource of a type registration {registration!r} does not deliver (its "
            f"mappings produce {', '.join(others)} and {last} only)"
        )

    def delivered_types(self) -> frozenset[str] | None:
        """The resource types a ``resources``/``both`` delivery holds (None: not known).

        People other than the Patient are never delivered (the extract keeps no
        Practitioner a variable reads, :mod:`aanlevering.extract.fhir_resources`).
        """
        if not self.source_types:
            return None
        return QUESTIONNAIRE_TYPES | (self.source_types - PERSON_TYPES)

    def columns(self, name: str, manifest: Manifest) -> list[str] | None:
        """The columns ``<dataset>.csv`` must have, in order; None for no such dataset."""
        variables = self.datasets.get(name.removesuffix(".csv"))
        if variables is None:
            return None
        return [
            f"pseudoniem_{type_}{suffix}"
            for type_ in manifest.pseudonym_types
            for suffix in ("", "_sleutelversie", "_status")
        ] + list(variables)

    def header_problem(self, name: str, header: list[str], manifest: Manifest) -> str | None:
        """Why a CSV file's header is not its dataset's columns (names of others never shown)."""
        dataset = name.removesuffix(".csv")
        expected = self.columns(name, manifest)
        if expected is None:
            return f"{name}: no dataset {dataset!r} in dictionary {self.dictionary_id}"
        if header == expected:
            return None
        missing = [column for column in expected if column not in header]
        others = sum(1 for column in header if column not in expected)
        if not missing and not others:
            return f"{name}: the header has the dataset's columns in another order or twice"
        return (
            f"{name}: the header is not the columns of dataset {dataset!r}: "
            f"missing {missing[:10]!r}, {others} column(s) the dictionary does not have"
        )


def _source_types(config: RegistrationConfig) -> frozenset[str]:
    """The resource types ``config``'s FHIR mappings read: each focus and each linked one."""
    if config.fhir_source is None:
        return frozenset()
    return frozenset(
        resource_type
        for mapping in config.fhir_source.datasets.values()
        for resource_type in (
            mapping.resource,
            *(source.resource for source in mapping.variables.values()),
        )
        if resource_type is not None
    )


def load_terms(catalogue_dir: Path) -> dict[str, RegistrationTerms]:
    """Every registration's terms from a catalogue folder (ConfigError if it does not load)."""
    from aanlevering.catalogue import load_catalogue

    return {
        config.id: RegistrationTerms(
            pseudonym_types=frozenset(str(type_) for type_ in config.pseudonymisation.types),
            dictionary_id=config.dictionary.id,
            dictionary_version=config.dictionary.version,
            datasets={
                dataset.name: dataset.variable_names for dataset in config.dictionary.datasets
            },
            fhir_content=config.delivery.fhir_content,
            delivery_format=config.delivery.format,
            registry_holder=config.registry_holder_id,
            profile=config.pseudonymisation.profile,
            frequency=config.frequency,
            source_types=_source_types(config),
            record_resources={
                name: (mapping.resource, mapping.where)
                for name, mapping in (
                    config.fhir_source.datasets if config.fhir_source is not None else {}
                ).items()
            },
        )
        for config in load_catalogue(catalogue_dir)
    }
