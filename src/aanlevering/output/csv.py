"""CSV delivery: one file per dataset, pseudonym columns instead of identifiers.

Layout of ``<dataset>.csv`` (UTF-8 without BOM, ``;`` separated, CRLF line
ends, fields quoted only when they contain the separator, a quote or a line
break, empty field = no value):

1. per approved pseudonym type ``T``, in the registration's order:
   ``pseudoniem_T`` (the pseudonym), ``pseudoniem_T_sleutelversie`` (key
   version) and ``pseudoniem_T_status`` (``tijdelijk`` or ``definitief``);
   empty when that type could not be computed for the person;
2. the dataset's dictionary variables, by name and in dictionary order.

No identity column of the extract is ever written: the pseudonym columns
replace them. Dates are ISO (or the variable's declared format), decimals use
a point unless :class:`CsvOptions` says comma, booleans are ``true``/``false``.
Text that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or CR) gets a leading ``'`` (OWASP's CSV-injection advice);
codes of the variable's option set are written as they are.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aanlevering.catalogue.model import DataDictionary, Dataset
from aanlevering.errors import OutputError
from aanlevering.fhir.approved import ApprovedPseudonyms
from aanlevering.fhir.context import DeliveryContext
from aanlevering.output.content import DeliveryInput, index_patients
from aanlevering.output.files import FileSet
from aanlevering.output.result import OutputResult
from aanlevering.output.values import ValueProblem, csv_text, neutralise_formulas
from aanlevering.pseudonym.model import PatientPseudonyms

log = logging.getLogger(__name__)

MEDIA_TYPE = "text/csv; charset=utf-8; header=present"
BATCH_ROWS = 50_000
TEMPORARY = "tijdelijk"
DEFINITIVE = "definitief"


@dataclass(frozen=True)
class CsvOptions:
    """How the registry holder wants its CSV: separator, decimal mark, line end."""

    delimiter: str = ";"
    decimal: str = "."
    eol: str = "\r\n"

    def __post_init__(self) -> None:
        if self.decimal not in (".", ","):
            raise OutputError("CSV decimal mark must be '.' or ','")
        if len(self.delimiter) != 1 or self.delimiter in (self.decimal, '"'):
            raise OutputError(
                "CSV delimiter must be one character, not the decimal mark or a quote"
            )


def pseudonym_columns(context: DeliveryContext) -> tuple[str, ...]:
    """The pseudonym column names of this registration, in order."""
    columns: list[str] = []
    for type_ in context.pseudonym_types:
        columns += [
            f"pseudoniem_{type_.value}",
            f"pseudoniem_{type_.value}_sleutelversie",
            f"pseudoniem_{type_.value}_status",
        ]
    return tuple(columns)


def header(context: DeliveryContext, dataset: Dataset) -> tuple[str, ...]:
    """All column names of a dataset's CSV file."""
    columns = pseudonym_columns(context)
    clash = sorted(set(columns) & set(dataset.variable_names))
    if clash:
        raise OutputError(
            f"dataset {dataset.name}: variable(s) {', '.join(clash)} clash with pseudonym columns"
        )
    return columns + dataset.variable_names


def _pseudonym_fields(
    approved: ApprovedPseudonyms, pseudonyms: PatientPseudonyms
) -> list[str | None]:
    by_type = {p.type: p for p in approved.of(pseudonyms)}
    fields: list[str | None] = []
    for type_ in approved.context.pseudonym_types:
        pseudonym = by_type.get(type_)
        if pseudonym is None:
            fields += [None, None, None]
            continue
        fields += [
            pseudonym.value,
            str(pseudonym.key_version),
            TEMPORARY if pseudonym.temporary else DEFINITIVE,
        ]
    return fields


def _text(rows: Iterable[Sequence[str | None]], options: CsvOptions) -> str:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=options.delimiter, lineterminator=options.eol, quoting=csv.QUOTE_MINIMAL
    )
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(
    folder: Path, content: DeliveryInput, options: CsvOptions | None = None
) -> OutputResult:
    """Write one CSV file per dataset into ``folder``; all files appear or none.

    Raises :class:`OutputError` naming dataset, row and variable of a value
    that cannot be written, and :class:`aanlevering.errors.PseudonymisationError`
    for a pseudonym type the registration is not approved for.
    """
    chosen = options or CsvOptions()
    context = content.context
    index = index_patients(content)
    approved = ApprovedPseudonyms(context)
    fields: dict[str, list[str | None]] = {
        patient: _pseudonym_fields(approved, content.pseudonyms[patient])
        for patient in index.delivered_ids
    }
    width = len(pseudonym_columns(context))
    counts: dict[str, int] = {}
    with FileSet(folder) as files:
        for name in content.dataset_names():
            dataset = context.dictionary.dataset(name)
            extracted = content.datasets[name]
            handle = files.file(f"{name}.csv", MEDIA_TYPE)
            handle.write(_text([header(context, dataset)], chosen))
            patients = index.row_patients[name]
            refs: list[Any] = extracted.row_refs.to_pylist()
            for start in range(0, extracted.num_rows, BATCH_ROWS):
                batch = extracted.clinical.slice(start, BATCH_ROWS)
                rows = patients[start : start + batch.num_rows]
                per_row = [fields[patient] for patient in rows]
                columns: list[Sequence[str | None]] = [
                    [row[j] for row in per_row] for j in range(width)
                ]
                columns += _variable_columns(
                    context.dictionary, dataset, batch=batch, refs=refs, start=start, options=chosen
                )
                handle.write(_text(zip(*columns, strict=True), chosen))
                handle.records += batch.num_rows
            counts[name] = extracted.num_rows
        written = files.commit()
    versions, profiles = approved.labels()
    log.info(
        "wrote CSV for %s: %d patients, %d records, %d files",
        context.registration_id,
        len(index.delivered_ids),
        sum(counts.values()),
        len(written),
    )
    return OutputResult(
        format="csv",
        files=written,
        record_counts=counts,
        patients=len(index.delivered_ids),
        key_versions=versions,
        profiles=profiles,
    )


def _variable_columns(
    dictionary: DataDictionary,
    dataset: Dataset,
    *,
    batch: Any,
    refs: Sequence[Any],
    start: int,
    options: CsvOptions,
) -> list[Sequence[str | None]]:
    columns: list[Sequence[str | None]] = []
    for variable in dataset.variables:
        if variable.name not in batch.column_names:
            raise OutputError(
                f"dataset {dataset.name}: clinical table has no column {variable.name!r}"
            )
        try:
            text = csv_text(batch.column(variable.name), variable, options.decimal)
        except ValueProblem as problem:
            where = refs[start + problem.index] if problem.index >= 0 else "every row"
            raise OutputError(
                f"dataset {dataset.name}, row {where}, variable {variable.name}: "
                f"expected {problem.expected}"
            ) from None
        if variable.type in ("string", "code"):
            option_set = dictionary.option_sets.get(variable.option_set or "")
            codes = frozenset(option_set.codes) if option_set else frozenset()
            text = neutralise_formulas(text, codes)
        columns.append(text.to_pylist())
    return columns
