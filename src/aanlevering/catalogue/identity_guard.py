"""Refuse registrations that would send a patient's identity onto a delivered variable.

A registration maps EHR columns (CSV) or FHIRPath expressions (FHIR) onto the
dictionary's variables, and every mapped variable is delivered. One careless
line (``PATIENTNUMMER: operatie_id``, ``naam: subject.resolve().name.family``)
would deliver MRNs or names in the clear, so the catalogue refuses it when it
is loaded, before any data is read. The only ways an identity field reaches a
delivery are the pseudonyms and the dictionary's declared generalisations
(birth year, PC4, sex), which the extract computes from the identity table.

Sex is not identifying on its own and may be mapped directly (the examples
map ``GESLACHT`` both as identity and as the ``geslacht`` variable).

Source ids and identifiers of any resource (``encounter.reference``,
``id``, ``identifier.value``) lead straight back into the EHR (decision
0081): only the dictionary's key and relation variables may read them,
because those are delivered as keyed hashes (decision 0181).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping

from aanlevering.catalogue.model import (
    CsvDatasetSource,
    FhirDatasetSource,
    FhirVariableSource,
    RegistrationConfig,
)

Problem = tuple[str, str]

#: Identity fields that may be mapped onto a delivered variable directly.
MAY_BE_DELIVERED: frozenset[str] = frozenset({"sex"})

#: CSV headers that name an identity field whatever the registration says
#: (compared upper-case with spaces, dashes, underscores and dots removed): the
#: Dutch headers of HiX/ZIS exports, the abbreviations the onboarding proposes
#: as identity (``onboard.csv_match``) and the English ones of Epic-style
#: exports (decision 1081). Also read against the dictionary's variable names
#: (decision 1080).
IDENTITY_HEADERS: dict[str, str] = {
    name: meaning
    for meaning, names in {
        "a BSN": (
            "BSN",
            "BURGERSERVICENUMMER",
            "SOFINUMMER",
            "PATIENTBSN",
            "CITIZENSERVICENUMBER",
        ),
        "a patient number (MRN)": (
            "PATIENTNUMMER",
            "PATIENTNR",
            "PATNR",
            "PATIENTID",
            "PATID",
            "MRN",
            "ZIS NUMMER",
            "PATIENTNUMBER",
            "HOSPITALNUMBER",
            "PATMRNID",
            "MEDICALRECORDNUMBER",
        ),
        "a name": (
            "NAAM",
            "ACHTERNAAM",
            "GESLACHTSNAAM",
            "GEBOORTENAAM",
            "PARTNERNAAM",
            "NAAMPARTNER",
            "NAAMECHTGENOOT",
            "PATIENTNAAM",
            "VOORNAAM",
            "VOORNAMEN",
            "VOORLETTERS",
            "ROEPNAAM",
            "VOORVOEGSEL",
            "VOORVOEGSELS",
            "TUSSENVOEGSEL",
            "TUSSENVOEGSELS",
            "PARTNERVOORVOEGSEL",
            "PARTNERVOORVOEGSELS",
            "PARTNERTUSSENVOEGSEL",
            "NAME",
            "FULLNAME",
            "PATIENTNAME",
            "LASTNAME",
            "SURNAME",
            "FAMILYNAME",
            "BIRTHNAME",
            "MAIDENNAME",
            "FIRSTNAME",
            "GIVENNAME",
            "GIVENNAMES",
            "INITIALS",
        ),
        "a birth date": (
            "GEBOORTEDATUM",
            "GEBDAT",
            "GEBOORTE DATUM",
            "GEBOORTEDAT",
            "BIRTHDATE",
            "DATEOFBIRTH",
            "DOB",
        ),
        "an address": (
            "POSTCODE",
            "PC6",
            "HUISNUMMER",
            "HUISNR",
            "HUISNUMMERTOEVOEGING",
            "TOEVOEGING",
            "HUISNRTOEV",
            "ADRES",
            "STRAAT",
            "STRAATNAAM",
            "ZIPCODE",
            "POSTALCODE",
            "ADDRESS",
            "STREET",
            "HOUSENUMBER",
        ),
        "contact details": (
            "TELEFOON",
            "TELEFOONNUMMER",
            "TELNR",
            "MOBIEL",
            "MOBIELNUMMER",
            "EMAIL",
            "EMAILADRES",
            "PHONE",
            "PHONENUMBER",
            "TELEPHONE",
            "MOBILE",
            "EMAILADDRESS",
        ),
    }.items()
    for name in (n.replace(" ", "") for n in names)
}

#: Parts of a header or variable name that say it holds a BSN wherever they stand
#: (``BSN_MOEDER``, ``PARTNER_BSN``): no clinical word holds them (decision 1084).
BSN_NAME_PARTS: tuple[str, ...] = ("BSN", "BURGERSERVICENUMMER", "SOFINUMMER", "SERVICENUMBER")


def _meaning(name: str) -> str | None:
    """What identity a column header or variable name says it holds, or None."""
    key = _header_key(name)
    found = IDENTITY_HEADERS.get(key)
    if found is None and any(part in key for part in BSN_NAME_PARTS):
        return "a BSN"
    return found


#: Patient elements that identify the person (the issue's list, nl-core practice).
PATIENT_IDENTITY_ELEMENTS: frozenset[str] = frozenset(
    {"id", "identifier", "name", "telecom", "address", "birthDate", "contact", "photo"}
)

#: References that point at the Patient.
PATIENT_REFERENCES: frozenset[str] = frozenset({"subject", "patient"})

#: Parts of a Reference element that carry the Patient's id, identifier or name.
REFERENCE_PARTS: frozenset[str] = frozenset({"reference", "identifier", "display"})

#: Reference elements that may point at the Patient or another person (RelatedPerson,
#: Practitioner): a performer may be the patient, ``Patient.link.other`` is the same
#: person's other record. What they resolve to is treated as a person (decision 0355).
PERSON_REFERENCES: frozenset[str] = frozenset(
    {
        "performer",
        "actor",
        "asserter",
        "recorder",
        "requester",
        "author",
        "source",
        "informationSource",
        "informant",
        "individual",
        "participant",
        "other",
        "generalPractitioner",
        "resultsInterpreter",
        "collector",
        "expressedBy",
        "sender",
        "recipient",
        "contributor",
        "focus",
        "who",
        "onBehalfOf",
        "enterer",
        "attester",
        "party",
    }
)

#: Resource types that are a person: read like the Patient (decision 0355).
PERSON_TYPES: frozenset[str] = frozenset({"RelatedPerson", "Person", "Practitioner"})

#: Elements of a person (other than the Patient) that identify them; their ids and
#: identifiers are source ids, refused unless the variable is a keyed hash.
PERSON_IDENTITY_ELEMENTS: frozenset[str] = PATIENT_IDENTITY_ELEMENTS - {"id"}

#: Extensions of a person (last URL segment) that hold identity: a name, an address, the
#: full birth date and time.
IDENTITY_EXTENSIONS: frozenset[str] = frozenset(
    {"patient-mothersMaidenName", "patient-birthPlace", "patient-birthTime"}
)

#: Steps that keep the focus of a path (``subject.first().resolve()``).
FILTER_STEPS: frozenset[str] = frozenset({"first(", "where("})

#: Elements that carry a source id or identifier of whatever resource they are on.
SOURCE_ID_ELEMENTS: dict[str, str] = {
    "id": "a source resource id",
    "reference": "a reference (a source resource id)",
    "identifier": "a source identifier",
}


def _invisible(char: str) -> bool:
    """A character a reader does not see: control, format (zero-width, BOM, soft hyphen),
    separators other than the plain space."""
    category = unicodedata.category(char)
    return category.startswith("C") or (category[0] == "Z" and char != " ")


def _header_key(column: str) -> str:
    """``column`` as the identity headers are compared: NFKC (full-width letters are
    letters), invisible characters dropped, upper case, no spaces, dashes, underscores
    or dots. A header that looks like ``GESLACHTSNAAM`` is one (decision 0852)."""
    visible = "".join(c for c in unicodedata.normalize("NFKC", column) if not _invisible(c))
    return re.sub(r"[\s_\-.]", "", visible).upper()


def _shown(column: str) -> str:
    """``column`` for a message, each invisible character as ``<U+XXXX>``."""
    return "".join(f"<U+{ord(c):04X}>" if _invisible(c) else c for c in column)


def _mapped_twice(mapping: Mapping[str, str], where: str, what: str) -> Iterator[Problem]:
    """A target mapped from more than one column: the last one was taken, silently."""
    for target, count in Counter(mapping.values()).items():
        if count > 1:
            columns = ", ".join(_shown(c) for c, t in mapping.items() if t == target)
            yield (
                where,
                f"{what} {target} is mapped from {count} columns ({columns}); only one "
                "would be read, without a word: map it from one column (decision 0852)",
            )


def split_fhirpath(expression: str) -> list[str]:
    """The dot-separated steps of ``expression``, dots inside quotes or calls kept."""
    steps: list[str] = []
    depth = 0
    quote: str | None = None
    current = ""
    for char in expression:
        if quote:
            current += char
            if char == quote:
                quote = None
            continue
        if char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "." and depth == 0:
            steps.append(current.strip())
            current = ""
            continue
        current += char
    steps.append(current.strip())
    return [step for step in steps if step]


def _element(step: str) -> str:
    """The element name of a step (``name`` of ``name[0]``); calls keep their ``(``."""
    if "(" in step:
        return step[: step.index("(") + 1]
    return step.split("[", 1)[0]


def _matches(step: str, elements: frozenset[str]) -> str | None:
    """The element of ``elements`` that ``step`` reads, as the evaluator finds it.

    ``fhirpath`` reads a choice element by its prefix (``birth`` reads
    ``birthDate``) and ``_birthDate`` holds the extensions of ``birthDate``
    (the patient-birthTime extension is the full birth date and time).
    """
    name = step[1:] if step.startswith("_") else step
    for element in elements:
        if element == name or (element.startswith(name) and name and element[len(name)].isupper()):
            return element
    return None


def _next_element(steps: list[str], index: int) -> tuple[str | None, int]:
    """The next step after ``index`` that is not a filter (first(), where()), and its index."""
    index += 1
    while index < len(steps) and steps[index] in FILTER_STEPS:
        index += 1
    return (steps[index], index) if index < len(steps) else (None, index)


def _contained(following: str) -> str:
    """What ``contained`` gives: the type its ``where(resourceType='…')`` names, else a person.

    Without the filter the contained resources may be of any type, the Patient included.
    """
    match = re.fullmatch(r"where\(\s*resourceType\s*=\s*'([^']*)'\s*\)", following)
    if match is None or match.group(1) == "Patient":
        return "Patient" if match else "person"
    return "person" if match.group(1) in PERSON_TYPES else "other"


def _start(focus: str, steps: list[str]) -> tuple[str, int]:
    """The resource the path starts on and the index of its first step after a leading type."""
    on = "Patient" if focus == "Patient" else "person" if focus in PERSON_TYPES else "other"
    if not steps or not steps[0][:1].isupper() or "(" in steps[0]:
        return on, 0
    # A leading type: the focus itself, or the Patient its subject points at.
    if steps[0] == "Patient":
        return "Patient", 1
    if steps[0] in PERSON_TYPES:
        return "person", 1
    return (on if steps[0] == focus else "other"), 1


def _read_reason(on: str, step: str, raw: str, at: str) -> str | None:
    """Why reading ``step`` on the Patient or a person reads identity, or None."""
    if on == "Patient" and (element := _matches(step, PATIENT_IDENTITY_ELEMENTS)):
        return f"it reads Patient.{element} (at {at})"
    if on == "person" and (element := _matches(step, PERSON_IDENTITY_ELEMENTS)):
        return (
            f"it reads the {element} of a person, who may be the patient (at {at}); "
            "a reference such as performer or link.other may point at the Patient"
        )
    if on in ("Patient", "person") and step == "extension(":
        url = raw.split("(", 1)[1].rstrip(")").strip().strip("'\"")
        if url.rstrip("/").rsplit("/", 1)[-1] in IDENTITY_EXTENSIONS:
            return f"it reads an identity extension of the {on} ({url})"
    return None


def _reference_reason(step: str, following: str | None) -> str | None:
    """Why reading ``following`` of the reference ``step`` names the patient or a person."""
    if step in PATIENT_REFERENCES and following is None:
        return f"it reads the reference to the Patient ({step})"
    if step in PATIENT_REFERENCES and following in REFERENCE_PARTS:
        return f"it reads the {following} of the reference to the Patient"
    if step in PERSON_REFERENCES and following in ("display", "identifier"):
        return (
            f"it reads the {following} of {step}, a reference that may name the "
            "patient or another person"
        )
    return None


def _resolved(on: str, step: str) -> str:
    """What ``step.resolve()`` on a resource ``on`` gives."""
    if step in PATIENT_REFERENCES:
        return "Patient"
    return "person" if on == "Patient" or step in PERSON_REFERENCES else "other"


def fhir_identity_reason(focus: str, expression: str) -> str | None:
    """Why ``expression`` evaluated on a ``focus`` resource reads patient identity, or None.

    Walks the path as ``extract.fhirpath`` evaluates it (decision 0355), with the
    resource each step is on: the focus, the Patient after ``subject.resolve()`` /
    ``patient.resolve()`` or a leading ``Patient`` type, a person after a
    reference that may point at one (:data:`PERSON_REFERENCES`, any reference of
    the Patient), or "other" after any other reference. Reading an identity
    element or extension of the Patient or a person, or a reference to them
    (``subject.reference``, ``.identifier``, ``.display`` or the bare
    reference), is refused. ``first()`` and ``where()`` between a reference and
    what is read of it change nothing.
    """
    raw = split_fhirpath(expression)
    steps = [_element(step) for step in raw]
    on, index = _start(focus, steps)
    while index < len(steps):
        step = steps[index]
        reason = _read_reason(on, step, raw[index], ".".join(raw[: index + 1]))
        if reason is not None:
            return reason
        if step == "contained":
            on = _contained(raw[index + 1] if index + 1 < len(raw) else "")
            index += 1
            continue
        if step in PATIENT_REFERENCES | PERSON_REFERENCES or (
            on == "Patient" and step != "resolve("
        ):
            following, at_index = _next_element(steps, index)
            if following == "resolve(":
                on = _resolved(on, step)
                index = at_index + 1
                continue
            reason = _reference_reason(step, following)
            if reason is not None:
                return reason
        if step == "resolve(":
            on = "other"
        index += 1
    return None


def source_id_reason(expression: str) -> str | None:
    """Why ``expression`` reads a source id or identifier (of any resource), or None.

    Only the key and relation variables may do so: they are delivered as keyed
    hashes. On any other variable the source id would go out as written.
    """
    raw = split_fhirpath(expression)
    for index, step in enumerate(_element(step) for step in raw):
        meaning = SOURCE_ID_ELEMENTS.get(step)
        if meaning is not None:
            return f"it reads {meaning} (at {'.'.join(raw[: index + 1])})"
    return None


def _csv_problems(
    config: RegistrationConfig, name: str, csv: CsvDatasetSource
) -> Iterator[Problem]:
    where = f"$.source.csv.datasets.{name}.columns"
    prefix = f"registration {config.id}, dataset {name}:"
    yield from _mapped_twice(csv.columns, where, f"{prefix} variable")
    yield from _mapped_twice(
        csv.identity, f"$.source.csv.datasets.{name}.identity", f"{prefix} identity field"
    )
    for column, variable in csv.columns.items():
        field = csv.identity.get(column)
        if field is not None and field not in MAY_BE_DELIVERED:
            yield (
                f"{where}.{column}",
                f"registration {config.id}, dataset {name}, variable {variable}: source column "
                f"{column} is the identity field {field!r}; identity columns are never "
                "delivered (map them under 'identity' only; birth year and PC4 come from the "
                "dictionary's generalised_from variables)",
            )
            continue
        meaning = _meaning(column)
        if field is None and meaning is not None:
            yield (
                f"{where}.{column}",
                f"registration {config.id}, dataset {name}, variable {variable}: source column "
                f"{_shown(column)} holds {meaning}, which is never delivered (list it under "
                "'identity' for pseudonymisation instead)",
            )


def _identity_elsewhere_problems(config: RegistrationConfig) -> Iterator[Problem]:
    """A column one dataset lists as identity, mapped onto a variable of another (1085).

    The header says what the export holds: ``GD: birth_date`` under one dataset's
    identity and ``GD: datum_complicatie`` under another's columns is the birth
    date delivered as a clinical date, whatever the header is called. Columns
    whose header already says identity are reported by :func:`_csv_problems`.
    """
    assert config.csv_source is not None
    identity_of: dict[str, tuple[str, str]] = {}
    for name, csv in config.csv_source.datasets.items():
        for column, field in csv.identity.items():
            if field not in MAY_BE_DELIVERED:
                identity_of.setdefault(column, (name, field))
    for name, csv in config.csv_source.datasets.items():
        for column, variable in csv.columns.items():
            found = identity_of.get(column)
            if found is None or column in csv.identity or _meaning(column) is not None:
                continue
            other, field = found
            yield (
                f"$.source.csv.datasets.{name}.columns.{column}",
                f"registration {config.id}, dataset {name}, variable {variable}: source column "
                f"{_shown(column)} is the identity field {field!r} of dataset {other}; identity "
                "columns are never delivered, in no dataset (if this export's column of that "
                "name holds something else, rename it in the export)",
            )


def _record_key_bsn_problems(
    config: RegistrationConfig, name: str, csv: CsvDatasetSource
) -> Iterator[Problem]:
    """Record keys made from the BSN (decision 1084).

    A record key goes out as a keyed hash: one made from the BSN alone is the
    same number on every record of the patient, a BSN pseudonym that no
    approval for type B governs, and part of one still puts the BSN where only
    the TTP may read it. The patient number and a date, or the record's own id,
    identify a record as well.
    """
    for variable, columns in csv.record_keys.items():
        for column in columns:
            if csv.identity.get(column) == "bsn" or _meaning(column) == "a BSN":
                yield (
                    f"$.source.csv.datasets.{name}.record_keys.{variable}",
                    f"registration {config.id}, dataset {name}, variable {variable}: record "
                    f"key column {_shown(column)} holds the BSN, which is read only for the "
                    "B pseudonym; make the key from the patient number (patient_id) and a "
                    "date, or from the record's own id",
                )


def _fhir_variable_problem(
    config: RegistrationConfig,
    name: str,
    mapping: FhirDatasetSource,
    variable: str,
    source: FhirVariableSource,
) -> Problem | None:
    focus = source.resource or mapping.resource
    reason = fhir_identity_reason(focus, source.element)
    if reason is None:
        return _source_id_problem(config, name, variable, source, focus)
    generalised = ""
    try:
        declared = config.dictionary.dataset(name).variable(variable).generalised_from
    except KeyError:
        declared = None
    if declared:
        generalised = (
            f" ({variable} is generalised from {declared}: leave it unmapped and the "
            "extract computes it from the Patient)"
        )
    return (
        f"$.source.fhir.datasets.{name}.variables.{variable}",
        f"registration {config.id}, dataset {name}, variable {variable}: source "
        f"{source.element!r} on {focus} is patient identity: {reason}; identity is never "
        f"delivered, only pseudonyms and the dictionary's generalisations{generalised}",
    )


def _keyed_variables(config: RegistrationConfig, dataset: str) -> set[str]:
    """The variables of ``dataset`` delivered as keyed hashes (keys and relations)."""
    try:
        found = config.dictionary.dataset(dataset)
    except KeyError:
        return set()
    return set(found.key) | {relation.variable for relation in found.relations}


def _source_id_problem(
    config: RegistrationConfig, name: str, variable: str, source: FhirVariableSource, focus: str
) -> Problem | None:
    if variable in _keyed_variables(config, name):
        return None
    reason = source_id_reason(source.element)
    if reason is None:
        return None
    return (
        f"$.source.fhir.datasets.{name}.variables.{variable}",
        f"registration {config.id}, dataset {name}, variable {variable}: source "
        f"{source.element!r} on {focus} would deliver a source id as written: {reason}; "
        "source ids and identifiers go out only as keyed hashes, in the dictionary's key "
        "and relation variables (decision 0181)",
    )


def _record_key_problems(config: RegistrationConfig) -> Iterator[Problem]:
    """Key variables (and relations to them) carry keyed hashes, which are text."""
    dictionary = config.dictionary
    for i, dataset in enumerate(dictionary.datasets):
        keyed = set(dataset.key) | {relation.variable for relation in dataset.relations}
        for variable in dataset.variables:
            if variable.name in keyed and variable.type not in ("string", "code"):
                yield (
                    f"$.dictionary({dictionary.id} {dictionary.version}).datasets[{i}]",
                    f"registration {config.id}, dataset {dataset.name}, variable "
                    f"{variable.name}: a record key is delivered as a keyed hash of the source "
                    f"id (32 hex digits), so it must be of type string, not {variable.type}",
                )
            elif variable.name in keyed and (variable.max_length or 32) < 32:
                yield (
                    f"$.dictionary({dictionary.id} {dictionary.version}).datasets[{i}]",
                    f"registration {config.id}, dataset {dataset.name}, variable "
                    f"{variable.name}: a record key is delivered as a keyed hash of 32 hex "
                    f"digits, longer than its max_length {variable.max_length}",
                )


def _identity_variable_problems(config: RegistrationConfig) -> Iterator[Problem]:
    """Dictionary variables whose name says they hold an identity field (decision 1080).

    The guard of the mappings reads the source (a column header, a FHIR path),
    so ``NR_X: bsn`` or ``GEB_DT: geboortedatum`` passed it when the dictionary
    itself declared a ``bsn`` or ``geboortedatum`` variable: whatever fills such
    a variable is delivered as written. A dictionary of this product never
    needs one: identity reaches a delivery only as pseudonyms, as keyed hashes
    (key and relation variables) and as the declared generalisations.
    """
    dictionary = config.dictionary
    for i, dataset in enumerate(dictionary.datasets):
        keyed = set(dataset.key) | {relation.variable for relation in dataset.relations}
        for j, variable in enumerate(dataset.variables):
            if variable.name in keyed or variable.generalised_from:
                continue
            meaning = _meaning(variable.name)
            if meaning is None:
                continue
            yield (
                f"$.dictionary({dictionary.id} {dictionary.version}).datasets[{i}]"
                f".variables[{j}].name",
                f"registration {config.id}, dataset {dataset.name}, variable {variable.name}: "
                f"the dictionary's variable is named for {meaning}, an identity field that is "
                "never delivered as written, whatever column or path fills it; deliver it as "
                "a pseudonym (pseudonymisation.types) or as a generalisation "
                "(generalised_from: birth_date:year, postcode:pc4), or rename it if it holds "
                "something else",
            )


def identity_problems(config: RegistrationConfig) -> list[Problem]:
    """Every mapping of ``config`` that would deliver an identity source, as (path, message)."""
    problems: list[Problem] = list(_record_key_problems(config))
    problems.extend(_identity_variable_problems(config))
    if config.csv_source is not None:
        for name, csv in config.csv_source.datasets.items():
            problems.extend(_csv_problems(config, name, csv))
            problems.extend(_record_key_bsn_problems(config, name, csv))
        problems.extend(_identity_elsewhere_problems(config))
    if config.fhir_source is not None:
        for name, mapping in config.fhir_source.datasets.items():
            for variable, source in mapping.variables.items():
                problem = _fhir_variable_problem(config, name, mapping, variable, source)
                if problem is not None:
                    problems.append(problem)
    return problems
