"""Checks across files that JSON Schema cannot express.

Each check returns (JSON path, message) pairs so the loader can report them
with the registration file, all at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from aanlevering.catalogue.model import WKZ_START, CsvSource, Dataset, RegistrationConfig
from aanlevering.catalogue.not_names import not_names_problems
from aanlevering.demo_mode import DEMO_MODE_ENV, demo_mode
from aanlevering.periods import Period
from aanlevering.pseudonym_types import BSN_SYSTEM, PseudonymType
from aanlevering.settings import ENV_REFERENCE
from aanlevering.tls import is_loopback_url

#: Identity fields each pseudonym type needs (any one of a tuple suffices).
PSEUDONYM_INPUTS: dict[PseudonymType, tuple[tuple[str, ...], ...]] = {
    PseudonymType.B: (("bsn",),),
    PseudonymType.NGGV: (("own_name",), ("birth_date",), ("sex",), ("initials", "given_names")),
    PseudonymType.SNGGV: (("own_name",), ("birth_date",), ("sex",), ("initials", "given_names")),
    PseudonymType.NGG: (("own_name",), ("birth_date",), ("sex",)),
    PseudonymType.SNGG: (("own_name",), ("birth_date",), ("sex",)),
    PseudonymType.C: (("postcode",), ("birth_date",), ("sex",)),
    PseudonymType.RGG: (("postcode",), ("birth_date",), ("sex",)),
    PseudonymType.GG: (("birth_date",), ("sex",)),
    PseudonymType.A: (("postcode",), ("house_number",)),
    PseudonymType.MRN: (("mrn", "patient_id"),),
}

_GENERALISED_INPUT = {"birth_date:year": "birth_date", "postcode:pc4": "postcode", "sex": "sex"}
Problem = tuple[str, str]


def _dataset_problems(config: RegistrationConfig, i: int, dataset: Dataset) -> Iterator[Problem]:
    dictionary = config.dictionary
    names = {d.name for d in dictionary.datasets}
    variables = set(dataset.variable_names)
    where = f"$.dictionary({dictionary.id} {dictionary.version}).datasets[{i}]"
    for key in dataset.key:
        if key not in variables:
            yield f"{where}.key", f"key variable {key!r} is not a variable of {dataset.name}"
    for variable in dataset.variables:
        if variable.option_set and variable.option_set not in dictionary.option_sets:
            yield where, f"variable {variable.name} uses unknown option set {variable.option_set!r}"
        if variable.pattern:
            try:
                re.compile(variable.pattern)
            except re.error as error:
                yield where, f"variable {variable.name} has an invalid pattern: {error}"
    for relation in dataset.relations:
        if relation.dataset not in names:
            yield f"{where}.relations", f"relation to unknown dataset {relation.dataset!r}"
        elif relation.target_variable not in dictionary.dataset(relation.dataset).variable_names:
            yield (
                f"{where}.relations",
                (f"relation to unknown variable {relation.dataset}.{relation.target_variable}"),
            )
    for validation in dataset.validations:
        for param, value in validation.params.items():
            if param not in {"or_equal", "when_in"} and value not in variables:
                yield (
                    f"{where}.validations",
                    (f"validation {validation.id} refers to unknown variable {value!r}"),
                )


def _dictionary_problems(config: RegistrationConfig) -> Iterator[Problem]:
    for i, dataset in enumerate(config.dictionary.datasets):
        yield from _dataset_problems(config, i, dataset)


def _mapped_problems(config: RegistrationConfig, dataset: Dataset, kind: str) -> Iterator[Problem]:
    if kind == "csv":
        assert config.csv_source is not None
        csv = config.csv_source.datasets.get(dataset.name)
        mapped = csv.mapped_variables if csv else set()
        identity = set(csv.identity.values()) if csv else set()
        sourced = csv is not None
    else:
        assert config.fhir_source is not None
        fhir = config.fhir_source.datasets.get(dataset.name)
        mapped = set(fhir.variables) if fhir else set()
        identity = set()  # FHIR identity comes from the Patient resource, see extract.fhir
        sourced = fhir is not None
    path = f"$.source.{kind}.datasets.{dataset.name}"
    if not sourced:
        yield f"$.source.{kind}.datasets", f"dataset {dataset.name!r} has no source"
        return
    for variable in dataset.variables:
        if variable.generalised_from:
            needed = _GENERALISED_INPUT[variable.generalised_from]
            if kind == "csv" and needed not in identity and variable.name not in mapped:
                yield (
                    f"{path}.identity",
                    (
                        f"variable {variable.name} is generalised from {needed}, "
                        f"which no column maps to"
                    ),
                )
            continue
        if variable.name not in mapped:
            yield path, f"dictionary variable {variable.name!r} has no source"
    for target in sorted(mapped - set(dataset.variable_names)):
        yield (
            path,
            f"maps to {target!r}, which is not a variable of dataset {dataset.name}"
            + _target_hint(config, dataset, target),
        )


def _target_hint(config: RegistrationConfig, dataset: Dataset, target: str) -> str:
    """How to fix a mapping onto an unknown variable: the right dataset or a close name."""
    for other in config.dictionary.datasets:
        if other.name != dataset.name and target in other.variable_names:
            return f"; it is a variable of dataset {other.name}: map it there"
    close = difflib.get_close_matches(target, dataset.variable_names, n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _inside_the_input(pattern: str) -> bool:
    """Whether a CSV ``file`` pattern stays inside the input folder (decision 0428)."""
    parts = pattern.replace("\\", "/").split("/")
    return bool(pattern) and not pattern.startswith(("/", "\\", "~")) and ".." not in parts


def _source_problems(config: RegistrationConfig) -> Iterator[Problem]:
    names = {d.name for d in config.dictionary.datasets}
    for kind, source in (("csv", config.csv_source), ("fhir", config.fhir_source)):
        if source is None:
            continue
        for dataset_name in source.datasets:
            if dataset_name not in names:
                yield f"$.source.{kind}.datasets.{dataset_name}", "not a dataset of the dictionary"
        if isinstance(source, CsvSource):
            for dataset_name, csv in source.datasets.items():
                if not _inside_the_input(csv.file):
                    yield (
                        f"$.source.csv.datasets.{dataset_name}.file",
                        "must be a file name or glob inside the input folder (relative, "
                        f"without '..'), not {csv.file!r}",
                    )
                if not {"patient_id", "mrn"} & set(csv.identity.values()):
                    # Without it no record matches its patient's opt-out or pseudonym (0423).
                    yield (
                        f"$.source.csv.datasets.{dataset_name}.identity",
                        "no column maps to patient_id or mrn: every dataset needs the "
                        "patient's number, to match opt-outs and pseudonyms to its records",
                    )
                for column in sorted(set(csv.maps) - set(csv.columns)):
                    yield (
                        f"$.source.csv.datasets.{dataset_name}.maps.{column}",
                        "maps a column that columns does not map to a variable",
                    )
        for dataset in config.dictionary.datasets:
            yield from _mapped_problems(config, dataset, kind)
    yield from _bsn_as_patient_number_problems(config)


#: Column names that say "this is the BSN" (compared lower case, without
#: separators), and the BSN's identifier systems (URI and OID).
BSN_COLUMN_NAMES = frozenset({"bsn", "burgerservicenummer", "sofinummer", "patientbsn"})
BSN_SYSTEMS = frozenset({BSN_SYSTEM.lower(), "urn:oid:2.16.840.1.113883.2.4.6.3"})


def _bsn_as_patient_number_problems(config: RegistrationConfig) -> Iterator[Problem]:
    """The BSN mapped as the hospital's patient number, seen in the config itself (0641).

    0641 counts BSN-shaped numbers in the data, which needs at least ten; a
    small export, or the first run of a new registration, slipped under it and
    went out with reversible MRN pseudonyms of BSNs and opt-outs that could
    never match. The config says it outright when the column is called BSN or
    the FHIR system is the BSN's, so that is refused before any data is read.
    """
    if config.csv_source is not None:
        for dataset_name, csv in config.csv_source.datasets.items():
            for column, role in csv.identity.items():
                squashed = re.sub(r"[^a-z]", "", column.lower())
                if role in {"patient_id", "mrn"} and squashed in BSN_COLUMN_NAMES:
                    yield (
                        f"$.source.csv.datasets.{dataset_name}.identity.{column}",
                        f"maps the column {column} to {role}, the hospital's own patient "
                        "number; the BSN is never a patient number (its MRN pseudonym would "
                        "be reversible to the BSN and opt-outs would not match): map the "
                        "BSN column to bsn and the patient number column to patient_id",
                    )
    fhir = config.fhir_source
    mrn_system = fhir.mrn_system if fhir is not None else None
    if mrn_system is not None and mrn_system.strip().rstrip("/").lower() in BSN_SYSTEMS:
        yield (
            "$.source.fhir.mrn_system",
            f"{mrn_system} is the BSN's identifier system, not the hospital's own "
            "patient number's: give the system of the hospital's patient numbers",
        )


def _pseudonym_problems(config: RegistrationConfig) -> Iterator[Problem]:
    pseudo = config.pseudonymisation
    if (pseudo.ttp_mode == "local") != (config.delivery.channel == "ttp-local"):
        yield (
            "$.pseudonymisation.ttp_mode",
            (
                "ttp_mode 'local' and delivery channel 'ttp-local' go together "
                f"(got ttp_mode {pseudo.ttp_mode!r}, channel {config.delivery.channel!r})"
            ),
        )
    approved = config.dictionary.pseudonym_types
    if approved is None and PseudonymType.B in pseudo.types:
        # Most registrations may not process the BSN (DOMAIN.md): B needs the approval in
        # writing, a justification the config's own author types is not one (1083).
        yield (
            "$.pseudonymisation.types",
            f"B (the BSN pseudonym) needs the registration's approval for it, and dictionary "
            f"{config.dictionary.id} {config.dictionary.version} does not state its approved "
            "pseudonym_types: most registrations may not process the BSN; ask the registry "
            "holder for a dictionary version that lists B, or use another type",
        )
    if approved is not None:
        for pseudonym_type in pseudo.types:
            if pseudonym_type not in approved:
                yield (
                    "$.pseudonymisation.types",
                    f"{pseudonym_type} is not among the types dictionary {config.dictionary.id} "
                    f"{config.dictionary.version} allows ({', '.join(approved)}): "
                    "the registration's approval decides which pseudonyms it may receive",
                )
    if config.csv_source is None:
        return
    identity: set[str] = set()
    for csv in config.csv_source.datasets.values():
        identity.update(csv.identity.values())
    for pseudonym_type in pseudo.types:
        for alternatives in PSEUDONYM_INPUTS[pseudonym_type]:
            if not identity.intersection(alternatives):
                yield (
                    "$.source.csv",
                    (
                        f"pseudonym type {pseudonym_type} needs {' or '.join(alternatives)}, "
                        "which no identity column maps to"
                    ),
                )


def _content_problems(config: RegistrationConfig) -> Iterator[Problem]:
    """``fhir_content`` other than the default needs a FHIR format and a FHIR source (0230)."""
    content = config.delivery.fhir_content
    if content == "questionnaire":
        return
    if config.delivery.format == "csv":
        yield (
            "$.delivery.fhir_content",
            f"{content!r} applies to FHIR formats only (format is 'csv'); leave it out",
        )
    elif config.fhir_source is None:
        yield (
            "$.delivery.fhir_content",
            f"{content!r} delivers the FHIR source resources the mappings read, "
            "but the registration has no source.fhir mapping",
        )


#: Schemes an endpoint of each channel may have (http only to loopback or when allowed).
_CHANNEL_SCHEMES = {"https": ("https", "http"), "sftp": ("sftp",)}


def _endpoint_problems(config: RegistrationConfig) -> Iterator[Problem]:
    """What the file itself fixes of the endpoint: no password, the channel's scheme (0422).

    Parts that come from ``${VAR}`` references are checked when the run expands them.
    """
    delivery = config.delivery
    endpoint = delivery.endpoint or ""
    if delivery.channel == "outbox" and endpoint and not endpoint.startswith(("/", "${")):
        # A relative folder lands wherever the process runs (the CLI's, a worker's cwd).
        yield (
            "$.delivery.endpoint",
            "channel outbox needs an absolute folder (or a ${VAR} that holds one), "
            "not a relative path or a URL",
        )
        return
    scheme, separator, rest = endpoint.partition("://")
    if not separator or "$" in scheme:
        return
    where = "$.delivery.endpoint"
    authority = rest.split("/", 1)[0]
    userinfo, _, host = authority.rpartition("@")
    if ":" in ENV_REFERENCE.sub("", userinfo):
        yield (
            where,
            "carries a password (user:password@host); secrets stay out of the catalogue: "
            "the channels read keys from files (AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE, "
            "AANLEVERING_SFTP_KEY_FILE)",
        )
    allowed = _CHANNEL_SCHEMES.get(delivery.channel)
    if allowed and scheme.lower() not in allowed:
        yield (
            where,
            f"channel {delivery.channel} needs an {allowed[0]}:// endpoint, not {scheme}://",
        )
    elif (
        scheme.lower() == "http"
        and "$" not in host
        and not is_loopback_url(f"http://{host}/")
        and not (delivery.allow_insecure_http and demo_mode())
    ):
        yield (
            where,
            "plain http:// to a non-loopback host is refused; use https:// "
            + (
                f"(allow_insecure_http: true counts only in demo mode, {DEMO_MODE_ENV}=yes; "
                "decision 1082)"
                if delivery.allow_insecure_http
                else "(or allow_insecure_http: true, in demo mode only)"
            ),
        )


def _unplaced_problems(config: RegistrationConfig) -> Iterator[Problem]:
    """Datasets that no chain of relations leads to the period dataset (decision 0392).

    A record is placed in a period by its period date or by its parent's; a
    dataset reaching neither has no period, and every run would deliver all
    of its records again.
    """
    dictionary = config.dictionary
    placed = {config.period_dataset}
    grew = True
    while grew:
        grew = False
        for dataset in dictionary.datasets:
            if dataset.name not in placed and any(
                relation.dataset in placed for relation in dataset.relations
            ):
                placed.add(dataset.name)
                grew = True
    for i, dataset in enumerate(dictionary.datasets):
        if dataset.name not in placed:
            yield (
                f"$.dictionary({dictionary.id} {dictionary.version}).datasets[{i}].relations",
                f"dataset {dataset.name} has no relation (directly or through other datasets) "
                f"to the period dataset {config.period_dataset}, so its records cannot be "
                "placed in a delivery period and every run would deliver all of them again",
            )


def check_registration(config: RegistrationConfig) -> list[Problem]:
    """Every cross-reference problem of a registration and its dictionary."""
    problems = list(_dictionary_problems(config))
    try:
        period = config.dictionary.dataset(config.period_dataset).variable(config.period_variable)
    except KeyError as error:
        problems.append(("$.period_variable", str(error.args[0])))
    else:
        if period.type not in {"date", "datetime"}:
            problems.append(
                ("$.period_variable", f"{period.name} is of type {period.type}, not a date")
            )
        problems.extend(_unplaced_problems(config))
    problems.extend(_source_problems(config))
    problems.extend(_pseudonym_problems(config))
    problems.extend(_content_problems(config))
    problems.extend(_endpoint_problems(config))
    if config.start < WKZ_START:
        problems.append(
            (
                "$.start",
                f"{config.start} is before {WKZ_START}, when the Wkz took effect; "
                "no period before it is owed",
            )
        )
    problems.extend(_start_problems(config))
    problems.extend(not_names_problems(config.not_names))
    return problems


def _start_problems(config: RegistrationConfig) -> Iterator[tuple[str, str]]:
    """A start inside a period would deliver that period's records from before it.

    Periods tile the calendar (0391) and a run delivers every record of its
    period, so with ``start: 2026-02-15`` the monthly period 2026-02 went out
    whole, records of 1-14 February included, which the registration does not
    cover. The engineer picks the boundary: the period's first day or the next.
    """
    period = Period.containing(config.start, config.frequency)
    if period.start == config.start:
        return
    yield (
        "$.start",
        f"{config.start} is inside the {config.frequency} period {period}, which would be "
        f"delivered whole (records from {period.start} on); start on the first day of a "
        f"period: {period.start} or {period.end}",
    )
