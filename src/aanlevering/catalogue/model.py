"""Typed, frozen view of registration configs and data dictionaries.

The JSON Schemas in ``schemas/`` guarantee the shape; these classes give the
rest of the code names and types to work with, so no stage digs in raw dicts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from aanlevering.errors import ConfigError
from aanlevering.pseudonym_types import PseudonymType

VariableType = Literal["string", "integer", "decimal", "date", "datetime", "boolean", "code"]
Severity = Literal["error", "warning"]
ProviderType = Literal["hospital", "umc", "zbc"]
Frequency = Literal["month", "quarter", "year"]
DeliveryFormat = Literal["csv", "fhir-ndjson", "fhir-bundle"]
#: What a FHIR delivery carries: minimised source resources, QuestionnaireResponses, or both.
FhirContent = Literal["resources", "questionnaire", "both"]
Channel = Literal["https", "sftp", "ttp-local", "outbox"]
TTPMode = Literal["web", "local"]

#: Fields of a person that identify them; mapped from the source, used for
#: pseudonymisation and opt-out matching, never delivered in the clear. ``street``,
#: ``phone`` and ``email`` serve only the output guard, which searches the delivery
#: for them (decision 0410).
IDENTITY_FIELDS: tuple[str, ...] = (
    "patient_id",
    "bsn",
    "mrn",
    "own_prefix",
    "own_name",
    "partner_prefix",
    "partner_name",
    "initials",
    "given_names",
    "birth_date",
    "sex",
    "postcode",
    "house_number",
    "house_number_addition",
    "street",
    "phone",
    "email",
)

#: Start of the delivery obligation under the Wkz.
WKZ_START = date(2026, 1, 1)


@dataclass(frozen=True)
class Option:
    """One allowed code of an option set."""

    code: str
    label: str
    value: str | int | float | bool | None = None


@dataclass(frozen=True)
class OptionSet:
    """Named list of allowed codes."""

    name: str
    options: tuple[Option, ...]
    description: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        """The allowed codes in dictionary order."""
        return tuple(option.code for option in self.options)


@dataclass(frozen=True)
class Variable:
    """A variable exactly as it is delivered."""

    name: str
    type: VariableType
    label: str = ""
    description: str = ""
    unit: str | None = None
    option_set: str | None = None
    required_for: frozenset[ProviderType] = frozenset()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    format: str | None = None
    generalised_from: str | None = None
    severity: Severity = "error"

    def is_required_for(self, provider_type: str) -> bool:
        """Whether a provider of this type must deliver a value."""
        return provider_type in self.required_for


@dataclass(frozen=True)
class CalculatedVariable:
    """Documented in the dictionary, computed by the registry, never delivered."""

    name: str
    expression: str
    description: str = ""


@dataclass(frozen=True)
class Validation:
    """A cross-field rule of the dictionary."""

    id: str
    severity: Severity
    kind: str
    params: Mapping[str, object]
    description: str = ""


@dataclass(frozen=True)
class Relation:
    """``variable`` of this dataset references ``dataset.variable``."""

    variable: str
    dataset: str
    target_variable: str


@dataclass(frozen=True)
class Dataset:
    """One table of the dictionary."""

    name: str
    key: tuple[str, ...]
    variables: tuple[Variable, ...]
    relations: tuple[Relation, ...] = ()
    calculated: tuple[CalculatedVariable, ...] = ()
    validations: tuple[Validation, ...] = ()
    description: str = ""

    def variable(self, name: str) -> Variable:
        """The variable called ``name``; KeyError names the dataset when absent."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(f"dataset {self.name!r} has no variable {name!r}")

    @property
    def variable_names(self) -> tuple[str, ...]:
        """Delivered variable names in dictionary order."""
        return tuple(variable.name for variable in self.variables)


@dataclass(frozen=True)
class DataDictionary:
    """A registration's data dictionary, one version."""

    id: str
    name: str
    version: str
    registry_holder: str
    datasets: tuple[Dataset, ...]
    option_sets: Mapping[str, OptionSet] = field(default_factory=dict)
    published: date | None = None
    description: str = ""
    #: The pseudonym types the registration's approval allows; None when not stated.
    pseudonym_types: tuple[PseudonymType, ...] | None = None

    def dataset(self, name: str) -> Dataset:
        """The dataset called ``name``."""
        for dataset in self.datasets:
            if dataset.name == name:
                return dataset
        raise KeyError(f"dictionary {self.id} {self.version} has no dataset {name!r}")


@dataclass(frozen=True)
class CsvDatasetSource:
    """Where one dataset comes from in a CSV export."""

    file: str
    columns: Mapping[str, str]
    identity: Mapping[str, str] = field(default_factory=dict)
    #: Key or relation variable -> columns whose values together identify the record
    #: (exports without a record id); digested by the extract, keyed-hashed on delivery.
    record_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: EHR column -> (value as exported -> option code), like FhirVariableSource.map.
    maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def mapped_variables(self) -> set[str]:
        """Every variable this dataset's columns fill, directly or as a record key."""
        return set(self.columns.values()) | set(self.record_keys)


@dataclass(frozen=True)
class CsvSource:
    """How the EHR's CSV exports for this registration are written."""

    datasets: Mapping[str, CsvDatasetSource]
    encoding: str = "auto"
    delimiter: str = "auto"
    quote: str = '"'
    decimal: str = ","
    date_formats: tuple[str, ...] = ("%d-%m-%Y", "%Y-%m-%d")
    datetime_formats: tuple[str, ...] = ("%d-%m-%Y %H:%M", "%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class CodeFilter:
    """Select resources whose coded element has one of these codes."""

    system: str
    codes: tuple[str, ...] = ()
    element: str = "code"


@dataclass(frozen=True)
class FhirVariableSource:
    """Where one variable comes from in FHIR.

    ``resource`` None means the focus resource itself; otherwise a related
    resource found through ``link`` and ``where``.
    """

    element: str
    resource: str | None = None
    link: str | None = None
    where: CodeFilter | None = None
    map: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FhirDatasetSource:
    """One dataset record per focus resource matching ``where``."""

    resource: str
    variables: Mapping[str, FhirVariableSource]
    where: CodeFilter | None = None


@dataclass(frozen=True)
class FhirSource:
    """How FHIR data (bulk export or Bundles) maps to this registration.

    ``mrn_system``: identifier system of the hospital's own patient number; a
    patient without an identifier of that system falls back to the one typed ``MR``.
    """

    datasets: Mapping[str, FhirDatasetSource]
    mrn_system: str | None = None


@dataclass(frozen=True)
class Pseudonymisation:
    """Which pseudonyms the registration may receive and how they are made."""

    ttp_mode: TTPMode
    types: tuple[PseudonymType, ...]
    profile: str = "nl-2026.1"
    bsn_justification: str | None = None


@dataclass(frozen=True)
class Delivery:
    """Format and channel of deliveries."""

    format: DeliveryFormat
    channel: Channel
    endpoint: str | None = None
    receipt_timeout_seconds: int = 60
    #: ``ca_bundle`` / ``client_cert`` / ``client_key`` paths, env-expanded at run time.
    tls: Mapping[str, str] = field(default_factory=dict)
    allow_insecure_http: bool = False
    #: FHIR formats only; ``questionnaire`` is what deliveries carried before (decision 0230).
    fhir_content: FhirContent = "questionnaire"


@dataclass(frozen=True)
class ValidationPolicy:
    """When validation results block a delivery."""

    block_on: Literal["error", "warning", "never"] = "error"
    row_detail_limit: int = 20
    #: Per pseudonym type, the largest share of a run's patients that may go without it.
    max_unpseudonymised_share: float = 0.05
    #: No records in the period: ``refuse`` (exit 3) or ``deliver`` an explicit nil report.
    empty_period: Literal["refuse", "deliver"] = "refuse"


@dataclass(frozen=True)
class RegistrationConfig:
    """The hospital's delivery config for one registration, with its dictionary."""

    id: str
    name: str
    registry_holder_id: str
    registry_holder_name: str
    dictionary: DataDictionary
    frequency: Frequency
    period_dataset: str
    period_variable: str
    pseudonymisation: Pseudonymisation
    delivery: Delivery
    validation: ValidationPolicy
    csv_source: CsvSource | None
    fhir_source: FhirSource | None
    start: date = WKZ_START
    before_inclusion: Literal["deliver", "wait"] = "wait"
    owner: str = "aanlevering"
    description: str = ""
    source_file: str = ""
    #: sha256 of the registration's and its dictionary's content as read (canonical JSON:
    #: comments and layout do not count); the ledger keeps it per version (decision 0425).
    config_sha256: str = ""
    #: Words of this registration's texts that are not names: not looked for as a
    #: record's own family name (decisions 0880, 0881), as listed (decision 0910).
    not_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    """Every registration this hospital delivers to."""

    registrations: Mapping[str, RegistrationConfig]
    root: str = ""

    def get(self, registration_id: str) -> RegistrationConfig:
        """The registration with this id; ConfigError lists the known ids."""
        try:
            return self.registrations[registration_id]
        except KeyError:
            known = ", ".join(sorted(self.registrations)) or "none"
            raise ConfigError(
                f"unknown registration {registration_id!r} in catalogue {self.root} "
                f"(known: {known})"
            ) from None

    def __iter__(self) -> Iterator[RegistrationConfig]:
        """Registrations sorted by id."""
        return iter(self.registrations[key] for key in sorted(self.registrations))

    def __len__(self) -> int:
        return len(self.registrations)
