"""Local-client mode: replace source digests in an uploaded data file by definitive pseudonyms.

Three file forms (docs/ttp.md, decision 0043), chosen by the file name:

* ``.csv``: columns ``pseudonym_input.<TYPE>`` become ``pseudonym.<TYPE>``, and its
  label columns ``pseudonym_input.<TYPE>.key_version`` / ``.status``, when
  present, become ``pseudonym.<TYPE>.key_version`` / ``.status`` holding this
  TTP key's version and ``definitive`` where the row has a value (decision 0387);
* ``.ndjson`` / ``.jsonl``: one JSON value per line;
* ``.json``: one JSON document (for example a FHIR Bundle).

In JSON, wherever an object has a ``pseudonym_inputs`` member
(``{"NGGV": "<digest>", "MRN": "<hospital MRN ciphertext>"}``), that member is
replaced in place by ``pseudonyms`` with the labels; and wherever an object is
an identifier ``{"system": "urn:aanlevering:pseudonym-input:<TYPE>", "value": ...}``
(the FHIR form for ``Patient.identifier``), its system becomes
the registration's NamingSystem of that type (as web mode delivers it,
``…/NamingSystem/pseudonym/<registration>/<TYPE>``) and its value the label; its
labels follow the value (decision 0386): the key-version extension becomes this
TTP key's version, the status extension ``definitive``, and ``use: temp`` goes.
Everything else passes through untouched, unless it identifies somebody in the
clear (a BSN identifier, an identifier that is no pseudonym input, a BSN-like
text or cell: 422 ``clear_identifier``, decision 1020), or a pseudonym's place
holds no pseudonym (an identifier under the registration's pseudonym system, a
``pseudonyms`` member, a ``pseudonym.<TYPE>`` or ``pseudoniem_<TYPE>`` column
the TTP did not write: decision 1025). Any disallowed type
anywhere refuses the whole upload; errors name the file, line or row and the
type, never a value.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aanlevering.counterparts.ttp.clear_identifiers import (
    CSV_BSN,
    ClearIdentifiers,
    csv_problem,
    csv_pseudonym_problem,
    dumped_may_hold_bsn,
    pseudonym_columns,
    text_has_bsn,
)
from aanlevering.counterparts.ttp.config import Registration
from aanlevering.counterparts.ttp.keys import VersionKeys
from aanlevering.counterparts.ttp.own_pseudonyms import OwnPseudonyms
from aanlevering.counterparts.ttp.pseudonyms import (
    MRN,
    DefinitiveMaker,
    MrnWrapper,
    check_types_allowed,
)
from aanlevering.counterparts.ttp.record_budget import RecordBudget
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.fhir.conventions import (
    DEFINITIVE,
    KEY_VERSION_EXTENSION,
    STATUS_EXTENSION,
    pseudonym_system,
)
from aanlevering.json_input import JsonInputError, parse
from aanlevering.pseudonym_types import PseudonymType

DataFormat = Literal["csv", "ndjson", "json"]

INPUT_MEMBER = "pseudonym_inputs"
OUTPUT_MEMBER = "pseudonyms"
CSV_INPUT_PREFIX = "pseudonym_input."
CSV_OUTPUT_PREFIX = "pseudonym."
#: The label columns a CSV input column may have, and what they hold after the rewrite.
CSV_LABELS = ("key_version", "status")
INPUT_SYSTEM_PREFIX = "urn:aanlevering:pseudonym-input:"

_SUFFIXES: dict[str, DataFormat] = {
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
}


def data_format(file_name: str) -> DataFormat | None:
    """The form of a data file by its name, None when the TTP cannot read it."""
    lowered = file_name.lower()
    return next((fmt for suffix, fmt in _SUFFIXES.items() if lowered.endswith(suffix)), None)


@dataclass(frozen=True)
class UploadChecks:
    """What an upload's files are checked against beyond their own content.

    ``own`` opens pseudonyms the hospital wrote itself (decision 1050),
    ``budget`` counts records across all files of the upload (decision 1051).
    """

    own: OwnPseudonyms | None = None
    budget: RecordBudget | None = None


@dataclass(frozen=True)
class PseudonymisedFile:
    """The rewritten file and what was done to it (counts only)."""

    name: str
    data: bytes
    records: int
    type_counts: dict[str, int]


class _Replacer:
    """Turns one record's inputs into labels, counting types as it goes."""

    def __init__(
        self,
        registration: Registration,
        keys: VersionKeys,
        hospital: str,
        file_name: str,
        checks: UploadChecks,
    ) -> None:
        self.registration = registration
        self.allowed = frozenset(ptype.value for ptype in registration.types)
        self.definitive = DefinitiveMaker(keys)
        self.key_version = keys.version
        self.mrn = MrnWrapper(keys, hospital)
        self.file_name = file_name
        self.counts: Counter[str] = Counter()
        self.own = checks.own.problem if checks.own is not None else None
        self.budget = checks.budget
        self.clear = ClearIdentifiers(
            (pseudonym_system(registration.id, t) for t in self.allowed), self.own
        )

    def take_record(self, where: str, records: int = 1) -> None:
        """Count records against the upload's limit (decision 1051)."""
        if self.budget is not None:
            self.budget.take(where, records)

    def refuse_clear(self, where: str, problem: str, index: int) -> None:
        """422 ``clear_identifier``: nothing of this upload is forwarded (decision 1020)."""
        raise Refusal(
            422,
            "clear_identifier",
            f"{where}: {problem}",
            registration=self.registration.id,
            index=index,
        )

    def dump_checked(self, value: Any, where: str, index: int) -> str:
        """``value`` (pseudonymised, its identifiers checked by :func:`_walk`) as JSON text.

        Refused when it still holds a BSN-like text: the text is scanned once
        and only a record with a find is walked to tell a code from data.
        """
        dumped = _dump(value)
        if dumped_may_hold_bsn(dumped):
            problem = self.clear.json_problem(value)
            if problem is not None:
                self.refuse_clear(where, problem, index)
        return dumped

    def label(self, code: object, value: object, where: str, index: int) -> str:
        if not isinstance(code, str) or code not in self.allowed:
            self._refuse_type(code, where, index)
        assert isinstance(code, str)
        if not isinstance(value, str):
            raise Refusal(
                422,
                "invalid_digest",
                f"{where}: the {code} input must be a string",
                registration=self.registration.id,
                pseudonym_type=code,
                index=index,
            )
        self.counts[code] += 1
        if code == MRN:
            return self.mrn.wrap(value, index, where)
        return self.definitive.from_hex(code, value, index, where)

    def _refuse_type(self, code: object, where: str, index: int) -> None:
        try:
            check_types_allowed(self.registration, [str(code)])
        except Refusal as refusal:
            refusal.message = f"{where}: {refusal.message}"
            refusal.args = (refusal.message,)
            refusal.index = index
            raise

    def inputs(self, inputs: object, where: str, index: int) -> dict[str, str]:
        if not isinstance(inputs, dict):
            raise Refusal(
                422,
                "invalid_inputs",
                f"{where}: {INPUT_MEMBER} must be an object of type -> input",
                registration=self.registration.id,
                index=index,
            )
        return {code: self.label(code, value, where, index) for code, value in inputs.items()}


def _label_definitive(identifier: dict[str, Any], key_version: int) -> None:
    """Make an identifier's labels say what its new value is (decision 0386).

    The hospital labelled its input with its source key's version and status
    temporary; the value is now a definitive pseudonym of ``key_version``.
    """
    if identifier.get("use") == "temp":
        del identifier["use"]
    extensions = identifier.get("extension")
    if not isinstance(extensions, list):
        return
    replaced = {
        KEY_VERSION_EXTENSION: {"url": KEY_VERSION_EXTENSION, "valueInteger": key_version},
        STATUS_EXTENSION: {"url": STATUS_EXTENSION, "valueCode": DEFINITIVE},
    }
    identifier["extension"] = [
        replaced.get(str(extension.get("url")), extension)
        if isinstance(extension, dict)
        else extension
        for extension in extensions
    ]


def _walk(node: Any, replacer: _Replacer, where: str, index: int) -> Any:
    if isinstance(node, list):
        return [_walk(item, replacer, where, index) for item in node]
    if not isinstance(node, dict):
        return node
    system = node.get("system")
    if isinstance(system, str) and system.startswith(INPUT_SYSTEM_PREFIX):
        code = system.removeprefix(INPUT_SYSTEM_PREFIX)
        out = dict(node)
        out["value"] = replacer.label(code, node.get("value"), where, index)  # refuses bad types
        # The registration's NamingSystem, as in web mode (decision 0233).
        out["system"] = pseudonym_system(replacer.registration.id, PseudonymType(code))
        _label_definitive(out, replacer.key_version)
        return out
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == INPUT_MEMBER:
            if OUTPUT_MEMBER in node:
                raise Refusal(
                    422,
                    "invalid_inputs",
                    f"{where}: an object has both {INPUT_MEMBER} and {OUTPUT_MEMBER}",
                    registration=replacer.registration.id,
                    index=index,
                )
            result[OUTPUT_MEMBER] = replacer.inputs(value, where, index)
        else:
            result[key] = _walk(value, replacer, where, index)
    if "identifier" in result:  # after the rewrite: pseudonyms of the registration only
        problem = replacer.clear.identifier_problem(result["identifier"])
        if problem is not None:
            replacer.refuse_clear(where, problem, index)
    if OUTPUT_MEMBER in result:  # the TTP's labels, or the hospital's own (decision 1025)
        problem = replacer.clear.pseudonyms_problem(result[OUTPUT_MEMBER])
        if problem is not None:
            replacer.refuse_clear(where, problem, index)
    return result


def _json_value(raw: bytes | str, where: str, registration: str, index: int) -> Any:
    try:
        return parse(raw)  # bounded depth: _walk below recurses
    except JsonInputError as error:
        raise Refusal(
            422,
            "invalid_file",
            f"{where}: not valid UTF-8 JSON ({error.reason})",
            registration=registration,
        ) from None


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _ndjson(data: bytes, replacer: _Replacer) -> tuple[bytes, int]:
    lines = data.split(b"\n")
    out: list[str] = []
    records = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{replacer.file_name} line {number}"
        replacer.take_record(where)
        value = _json_value(line, where, replacer.registration.id, records)
        done = _walk(value, replacer, where, records)
        out.append(replacer.dump_checked(done, where, records))
        records += 1
    return ("\n".join(out) + "\n").encode("utf-8") if out else b"", records


def _json_document(data: bytes, replacer: _Replacer) -> tuple[bytes, int]:
    where = replacer.file_name
    value = _json_value(data, where, replacer.registration.id, 0)
    records = _document_records(value)
    replacer.take_record(where, records)
    done = replacer.dump_checked(_walk(value, replacer, where, 0), where, 0)
    return done.encode("utf-8"), records


def _document_records(value: object) -> int:
    """Records of one JSON document: a FHIR Bundle's entries, else the document itself.

    Why: the manifest and the registry holder count a Bundle file's entries;
    the hospital compares this count with its manifest's (decision 0596).
    """
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        entries = value.get("entry", [])
        return len(entries) if isinstance(entries, list) else 1
    return 1


def _delimiter(text: str) -> str:
    # Dutch exports use ";" as often as ","; the header line decides.
    first_line = text[: text.find("\n") + 1] if "\n" in text else text
    return max((",", ";", "\t", "|"), key=first_line.count)


def _csv(data: bytes, replacer: _Replacer) -> tuple[bytes, int]:
    name = replacer.file_name
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refusal(
            422, "invalid_file", f"{name}: not UTF-8", registration=replacer.registration.id
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        return _csv_rows(data, text, reader, replacer)
    except csv.Error as error:  # an unclosed quote, a value over the csv module's limit
        raise Refusal(
            422,
            "invalid_file",
            f"{name} line {reader.line_num}: malformed CSV ({error})",
            registration=replacer.registration.id,
        ) from None


def _csv_columns(
    header: list[str], replacer: _Replacer
) -> tuple[dict[int, str], dict[int, tuple[str, str]]]:
    """Input columns by position (type code), and label columns (type code, label)."""
    name = replacer.file_name
    inputs: dict[int, str] = {}
    labels: dict[int, tuple[str, str]] = {}
    for position, column in enumerate(header):
        if not column.startswith(CSV_INPUT_PREFIX):
            continue
        code, dot, label = column.removeprefix(CSV_INPUT_PREFIX).partition(".")
        if code not in replacer.allowed:
            replacer._refuse_type(code, f"{name} header", 0)
        if not dot:
            inputs[position] = code
        elif label in CSV_LABELS:
            labels[position] = (code, label)
        else:
            raise Refusal(
                422,
                "invalid_file",
                f"{name} header: column {position + 1} is not an input column or one of its "
                f"labels ({', '.join(CSV_LABELS)})",
                registration=replacer.registration.id,
            )
    orphans = sorted({code for code, _ in labels.values()} - set(inputs.values()))
    if orphans:
        raise Refusal(
            422,
            "invalid_file",
            f"{name} header: label columns for {', '.join(orphans)} without its input column",
            registration=replacer.registration.id,
        )
    return inputs, labels


def _csv_rows(data: bytes, text: str, reader: Any, replacer: _Replacer) -> tuple[bytes, int]:
    name = replacer.file_name
    first_line = text[: text.find("\n") + 1] if "\n" in text else text
    newline = "\r\n" if first_line.endswith("\r\n") else "\n"
    header = next(reader, None)
    if header is None:
        return data, 0
    columns, labels = _csv_columns(header, replacer)
    column = csv_problem(header, frozenset())
    if column is not None:
        replacer.refuse_clear(f"{name} header", f"column {column + 1} {CSV_BSN}", 0)
    rewritten = frozenset(columns) | frozenset(labels)
    already = pseudonym_columns(header, rewritten)  # the hospital's, not the TTP's (1025)
    input_of = {code: position for position, code in columns.items()}
    label_value = {"key_version": str(replacer.key_version), "status": DEFINITIVE}
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=reader.dialect.delimiter, lineterminator=newline)
    writer.writerow(
        CSV_OUTPUT_PREFIX + column.removeprefix(CSV_INPUT_PREFIX)
        if i in columns or i in labels
        else column
        for i, column in enumerate(header)
    )
    records = 0
    for row in reader:
        where = f"{name} line {reader.line_num}"
        replacer.take_record(where)
        if len(row) != len(header):
            raise Refusal(
                422,
                "invalid_file",
                f"{where}: {len(row)} fields, the header has {len(header)}",
                registration=replacer.registration.id,
                index=records,
            )
        column = csv_problem(row, rewritten)
        if column is not None:
            replacer.refuse_clear(where, f"column {column + 1} {CSV_BSN}", records)
        if already and (problem := csv_pseudonym_problem(row, already, replacer.own)) is not None:
            replacer.refuse_clear(where, problem, records)
        for position, (code, label) in labels.items():
            row[position] = label_value[label] if row[input_of[code]] != "" else ""
        for position, code in columns.items():
            if row[position] != "":
                row[position] = replacer.label(code, row[position], where, records)
        writer.writerow(row)
        records += 1
    return buffer.getvalue().encode("utf-8"), records


def pseudonymise_file(
    registration: Registration,
    keys: VersionKeys,
    hospital: str,
    file_name: str,
    data: bytes,
    *,
    checks: UploadChecks | None = None,
) -> PseudonymisedFile:
    """Rewrite one uploaded data file; a Refusal (whole file) on the first problem."""
    fmt = data_format(file_name)
    replacer = _Replacer(registration, keys, hospital, file_name, checks or UploadChecks())
    transforms: dict[DataFormat, Callable[[], tuple[bytes, int]]] = {
        "csv": lambda: _csv(data, replacer),
        "ndjson": lambda: _ndjson(data, replacer),
        "json": lambda: _json_document(data, replacer),
    }
    if fmt is None:
        raise Refusal(
            422,
            "unsupported_file",
            f"{file_name}: the TTP reads .csv, .ndjson, .jsonl and .json files",
            registration=registration.id,
        )
    output, records = transforms[fmt]()
    return PseudonymisedFile(
        name=file_name, data=output, records=records, type_counts=dict(replacer.counts)
    )


def check_report(
    registration: Registration,
    keys: VersionKeys,
    hospital: str,
    name: str,
    data: bytes,
    *,
    checks: UploadChecks | None = None,
) -> None:
    """Refuse (422 ``clear_identifier``) a report that holds a BSN-like text.

    Reports travel unchanged next to the data; they hold counts only, and the
    TTP forwards none that looks otherwise (decision 1020). A report in a form
    the TTP reads as data (``.json``, ``.ndjson``, ``.csv``) is read as data
    and must hold nothing a data file may not, and no pseudonym input: a data
    file listed as a report would otherwise be forwarded unpseudonymised
    (decision 1025).
    """
    if text_has_bsn(data):
        raise Refusal(
            422,
            "clear_identifier",
            f"{name}: the report {CSV_BSN}",
            registration=registration.id,
        )
    if data_format(name) is None:
        return
    read = pseudonymise_file(registration, keys, hospital, name, data, checks=checks)  # refuses
    if read.type_counts:
        raise Refusal(
            422,
            "invalid_report",
            f"{name}: the report holds {sum(read.type_counts.values())} pseudonym input(s), so "
            "it is data: list it under the manifest's files, not its reports",
            registration=registration.id,
        )
