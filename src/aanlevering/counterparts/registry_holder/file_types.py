"""What a delivered FHIR file promises by its form: the type its name says, a collection Bundle.

Why: a bulk-data consumer loads ``Patient.ndjson`` as Patients, by its name,
as the FHIR Bulk Data layout the product writes has it (``<Type>.ndjson``,
or ``<Type>.<n>.ndjson`` as an export server names parts). A line of another
type in it is loaded as what it is not. The reference holder refuses it,
naming file, line and the type the name promises, never the type written
(decision 0983). A name that names no resource type (``data.ndjson``), or
names one in another form (``Patient.v2.ndjson``), is refused: the product
never writes one, and a real holder's intake, filing
records by type, could not file it. Its lines are still read and checked,
so one refusal names what they hold wrong too (decision 1000). A JSON data
file is a Bundle named as the product names them (``Bundle-000001.json``);
another name is refused the same way, its entries still read (decision 1001).

A file the holder does not read (``Patient.NDJSON``, ``Patient.ndjson.gz``,
``trauma.CSV``) is refused by its name, saying the names it reads: left
out, it would be receipted as delivered though never taken in. It is not
counted, so no count or reference it could hold is said to be missing
(decision 1002).

A delivery holds the files of the format its manifest states: the product
writes one format per delivery (:mod:`aanlevering.output.writer`), ``csv``
as ``<dataset>.csv``, ``fhir-ndjson`` as ``<ResourceType>.ndjson``,
``fhir-bundle`` as ``Bundle-<nnnnnn>.json``, and a real holder's intake is
chosen by that format. A file of another kind is refused by its name, saying
what the format holds, and still read; a format that is none of the three is
refused, its files read by their names (decision 1005).

A Bundle the product writes is a ``collection`` (:mod:`aanlevering.output.bundle`):
a ``transaction`` asks the receiver to write its entries, a ``searchset`` is
an answer to a query; a holder reading either as a delivery reads something
no hospital sent. Anything but ``collection`` is refused, the type written
never echoed (decision 0984).
"""

from __future__ import annotations

import re
from pathlib import Path

#: The only Bundle type the product delivers.
BUNDLE_TYPE = "collection"


def is_resource_type(name: object) -> bool:
    """Whether ``name`` is an R4B resource type (a data type such as ``Reference`` is none).

    The model lookup is cached per name: cheap enough for every resource.
    """
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    if not isinstance(name, str):
        return False
    try:
        model = get_fhir_model_class(name)
    except ValueError:
        return False
    return model is not None and issubclass(model, Resource)


#: ``<Type>.ndjson`` or ``<Type>.<n>.ndjson``: how a Bulk Data export names its files.
_NDJSON_NAME = re.compile(r"([A-Za-z]+)(?:\.[0-9]+)?\.ndjson")


def promised_type(path: Path) -> str | None:
    """The resource type an NDJSON file's name promises (None: its name is not
    ``<Type>.ndjson`` or ``<Type>.<n>.ndjson`` with an R4B resource type)."""
    match = _NDJSON_NAME.fullmatch(path.name)
    if match is None:
        return None
    return match.group(1) if is_resource_type(match.group(1)) else None


#: The names an NDJSON file of a delivery may have, as a refusal says them.
NDJSON_NAMES = "<ResourceType>.ndjson or <ResourceType>.<nnn>.ndjson"


#: ``Bundle-000001.json``: how the product names its Bundles (:mod:`aanlevering.output.bundle`).
_BUNDLE_NAME = re.compile(r"Bundle-[0-9]+\.json")

#: The name a JSON data file of a delivery has, as a refusal says it.
BUNDLE_NAMES = "Bundle-<nnnnnn>.json"

#: The kinds of data file the holder reads, by the suffix of their names (case as written).
READ_SUFFIXES = (".ndjson", ".json", ".csv")

#: The refusal of a data file of another kind: what it is, what the holder reads, what follows.
NOT_READ = (
    "a file of a kind the registry holder does not read (a delivery's data files are "
    f"<ResourceType>.ndjson, {BUNDLE_NAMES} and <dataset>.csv, named in lower case "
    "and not compressed); its records were not counted"
)


def is_read(name: str) -> bool:
    """Whether the holder reads a data file of this name at all (decision 1002).

    Case as written: ``Patient.NDJSON`` is no name the product writes, and a
    holder that read it anyway would read what no other holder does.
    """
    return name.endswith(READ_SUFFIXES)


def name_problem(path: Path) -> str | None:
    """Why a data file's name is no delivered file's (None: it is one, or of a kind not read).

    Only the name is said, as every refusal names its file, never a line's
    content: what the file holds may be anything (decisions 1000, 1001).
    """
    if path.suffix == ".json":
        if _BUNDLE_NAME.fullmatch(path.name):
            return None
        return f"{path.name}: a JSON data file named otherwise than {BUNDLE_NAMES}"
    if path.suffix != ".ndjson" or promised_type(path) is not None:
        return None
    first = path.name.split(".", 1)[0]
    if is_resource_type(first):  # Patient.v2.ndjson: a type, in no name an export gives
        return f"{path.name}: an NDJSON file named otherwise than {NDJSON_NAMES}"
    return (
        f"{path.name}: an NDJSON file whose name names no FHIR resource type "
        f"(expected {NDJSON_NAMES})"
    )


def other_type_problem(promised: str | None, resource_type: object) -> str | None:
    """Why a resource of ``resource_type`` does not belong in a file promising ``promised``."""
    if promised is None or resource_type == promised:
        return None
    return f"a resource of another type than its file's name promises ({promised} only)"


def bundle_type_problem(name: str, bundle_type: object) -> str | None:
    """Why a Bundle of ``bundle_type`` is no delivery (None: it is a collection)."""
    if bundle_type == BUNDLE_TYPE:
        return None
    said = "no type" if bundle_type is None else "another type"
    return f"{name}: a Bundle of {said} (a delivery is a Bundle of type {BUNDLE_TYPE!r})"


#: Per delivery format the product writes: the suffix of its data files and their names.
FORMAT_FILES = {
    "csv": (".csv", "<dataset>.csv"),
    "fhir-ndjson": (".ndjson", NDJSON_NAMES),
    "fhir-bundle": (".json", BUNDLE_NAMES),
}

#: The refusal of a delivery whose manifest states a format the product does not write.
UNKNOWN_FORMAT = (
    f"the manifest's format is none a delivery has ({', '.join(list(FORMAT_FILES)[:-1])} or "
    f"{list(FORMAT_FILES)[-1]}); its files were read by their names"
)


def format_problem(name: str, format: str) -> str | None:
    """Why a data file ``name`` is none a delivery of ``format`` holds (None: it is one).

    Only a file the holder reads is judged (a file of a kind it does not read
    is refused for that, decision 1002); an unknown ``format`` judges none:
    the manifest is refused for it (:data:`UNKNOWN_FORMAT`). The format is one
    of :data:`FORMAT_FILES` when named, never what a sender wrote.
    """
    kind = FORMAT_FILES.get(format)
    if kind is None or name.endswith(kind[0]):
        return None
    return (
        f"{name}: a file the manifest's format {format!r} does not hold "
        f"(a {format} delivery's data files are {kind[1]})"
    )
