"""CSV exports of the EHR to Arrow: streamed in batches, cast with pyarrow.compute.

Each dataset of the registration's ``source.csv`` names a file glob and maps
EHR columns to dictionary variables and identity fields. Every matching file
is read with pyarrow's streaming reader, every column as text, and then cast
vectorised (decimal comma, configured date formats, Dutch and English
booleans), so a million rows never become Python objects.

What fails loudly (:class:`ExtractError`, exit code 2), before anything is
returned: no file for a dataset; a byte that the encoding cannot decode
(offset and line); a header with missing or unknown columns (both lists); a
record with the wrong number of fields or an unbalanced quote (line); a period
date that is empty or does not parse (file:line and column). A value of any
other variable that does not parse becomes null plus a
:class:`~aanlevering.extract.model.TypeProblem`, for validation to report.

Row references are ``<file name>:<line>``, the physical line where the record
starts (the header is line 1); values with embedded newlines and blank lines
are accounted for.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from aanlevering.arrow_counts import count_true
from aanlevering.catalogue.model import (
    CsvDatasetSource,
    CsvSource,
    Dataset,
    RegistrationConfig,
)
from aanlevering.errors import ExtractError
from aanlevering.extract.assemble import assemble_extract
from aanlevering.extract.casts import CastSpec, cast_text, clean, expected_text, null_column
from aanlevering.extract.csv_layout import (
    CsvLayout,
    describe_delimiter,
    find_malformed,
    look_alikes,
    record_lines,
    shown_name,
    sniff_layout,
)
from aanlevering.extract.generalise import (
    SOURCE_FIELD,
    expected_mapped,
    expected_source,
    generalise,
    generalise_mapped,
)
from aanlevering.extract.model import ARROW_TYPES, Extract
from aanlevering.extract.options import ExtractOptions
from aanlevering.extract.record_key import record_key_column
from aanlevering.extract.rows import (
    ArrayLike,
    ProblemGroup,
    Rows,
    concat_rows,
    identity_table,
)
from aanlevering.extract.select import (
    PeriodDateFailures,
    PeriodSelection,
    before_mask,
    period_mask,
    referenced_variables,
)
from aanlevering.periods import Period
from aanlevering.shown_names import shown_file_name

log = logging.getLogger(__name__)

#: Name of the computed column that holds a record key made from several columns.
_RECORD_KEY_PREFIX = "\x00record-key:"


def csv_source_of(config: RegistrationConfig) -> CsvSource:
    """The registration's CSV mapping; ExtractError when it has none."""
    if config.csv_source is None:
        raise ExtractError(
            f"registration {config.id} has no source.csv mapping "
            f"({config.source_file or 'its config'}); it cannot read CSV exports"
        )
    return config.csv_source


def dataset_files(folder: Path, name: str, source: CsvDatasetSource) -> list[Path]:
    """Files of one dataset in ``folder``, sorted by name; ExtractError when there are none."""
    if not folder.is_dir():
        raise ExtractError(f"input folder {folder} does not exist or is not a folder")
    # The catalogue refuses a pattern that leaves the folder (0428); this is the backstop.
    root = os.path.normpath(folder.absolute())
    try:
        found = [path for path in folder.glob(source.file) if path.is_file()]
    except (NotImplementedError, ValueError):  # an absolute or empty pattern
        found = []
    files = sorted(
        path for path in found if Path(os.path.normpath(path.absolute())).is_relative_to(root)
    )
    if not files and (found or not source.file or Path(source.file).is_absolute()):
        raise ExtractError(
            f"no file for dataset {name!r}: its file pattern matches nothing inside the input "
            f"folder {folder}; it must be a file name or glob inside that folder"
        )
    if not files:
        raise ExtractError(
            f"no file for dataset {name!r}: nothing in {folder} matches {source.file!r}"
        )
    _refuse_other_case(folder, name, source.file, files)
    return files


def _refuse_other_case(folder: Path, name: str, pattern: str, files: list[Path]) -> None:
    """ExtractError for a file that matches ``pattern`` except for case (decision 0695).

    Why: patterns are matched as written, so a part of the export saved as
    ``DSAA_operaties_deel2.CSV`` next to ``dsaa_operaties_2026.csv`` was left
    out, its records in no count of the run. Only names in the folder itself
    are compared (a pattern naming a subfolder is matched as written).
    """
    if "/" in pattern or os.sep in pattern:
        return
    read = {path.name for path in files}
    wanted = pattern.lower()
    other = sorted(
        path.name
        for path in folder.iterdir()
        if path.name not in read
        and fnmatch.fnmatchcase(path.name.lower(), wanted)
        and path.is_file()
    )
    if other:
        raise ExtractError(
            f"{folder}: {', '.join(other[:5])} match(es) the file pattern {pattern!r} of "
            f"dataset {name!r} except for case, so it would not be read and its records would "
            "be left out; rename it to the pattern's case (or change source.csv.datasets."
            f"{name}.file)"
        )


def _record_key_columns(source: CsvDatasetSource) -> set[str]:
    return {column for columns in source.record_keys.values() for column in columns}


def _check_columns(
    layout: CsvLayout, name: str, source: CsvDatasetSource, allow_unknown: bool
) -> None:
    expected = set(source.columns) | set(source.identity) | _record_key_columns(source)
    present = set(layout.header)
    missing = sorted(expected - present)
    unknown = sorted(present - expected) if not allow_unknown else []
    if not missing and not unknown:
        return
    hint = "".join(f"; {line}" for line in look_alikes(missing, sorted(present - expected)))
    if len(layout.header) == 1 and len(expected) > 1:
        hint += (
            f"; the header has a single column when split on "
            f"{describe_delimiter(layout.delimiter)}: is source.csv.delimiter right?"
        )
    raise ExtractError(
        f"{layout.path}: the columns do not match the mapping of dataset {name!r}: "
        f"missing column(s): {', '.join(map(shown_name, missing)) or 'none'}; "
        f"unknown column(s): {', '.join(map(shown_name, unknown)) or 'none'}"
        f"{hint} (an export that changed shape must be checked before delivery; "
        "update source.csv.datasets or the EHR export)"
    )


@dataclass
class _FileState:
    """Bookkeeping while one file streams."""

    layout: CsvLayout
    slow_lines: list[int] | None
    next_line: int = 2
    records: int = 0
    invalid_rows: int = 0
    embedded_newlines: bool = False

    def handle_invalid(self, row: object) -> str:
        """pyarrow's invalid-row hook: count, skip; the file is rejected after the batch."""
        self.invalid_rows += 1
        return "skip"


@dataclass
class BatchResult:
    """One batch of a dataset, after the period where it applies."""

    rows: Rows
    outside: int = 0
    dropped_keys: dict[str, ArrayLike] = field(default_factory=dict)
    #: Of ``outside``, the records dated before the period, and their keys (decision 0466).
    before: int = 0
    before_keys: dict[str, ArrayLike] = field(default_factory=dict)


class DatasetReader:
    """Reads one dataset's CSV files batch by batch into typed, row-aligned tables."""

    def __init__(
        self,
        config: RegistrationConfig,
        dataset: Dataset,
        folder: Path,
        period: Period | None,
        options: ExtractOptions,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.csv = csv_source_of(config)
        if dataset.name not in self.csv.datasets:
            raise ExtractError(
                f"registration {config.id}: source.csv has no mapping for dataset {dataset.name!r}"
            )
        self.source = self.csv.datasets[dataset.name]
        self.files = dataset_files(folder, dataset.name, self.source)
        self.options = options
        self.spec = CastSpec(
            decimal=self.csv.decimal,
            date_formats=self.csv.date_formats,
            datetime_formats=self.csv.datetime_formats,
        )
        self.column_of = {variable: column for column, variable in self.source.columns.items()}
        for key_variable in self.source.record_keys:
            self.column_of[key_variable] = f"{_RECORD_KEY_PREFIX}{key_variable}"
        is_period = dataset.name == config.period_dataset
        self.period = period if is_period else None
        self.period_variable = config.period_variable if is_period else None
        self.key_variables = sorted(referenced_variables(config, dataset.name))

    def batches(self) -> Iterator[BatchResult]:
        """Every batch of every file, in file and row order."""
        for path in self.files:
            yield from self._file_batches(path)

    def _file_batches(self, path: Path) -> Iterator[BatchResult]:
        expected = frozenset(self.source.columns) | frozenset(self.source.identity)
        layout = sniff_layout(
            path,
            self.csv.encoding,
            self.csv.delimiter,
            self.csv.quote,
            expected | _record_key_columns(self.source),
        )
        _check_columns(layout, self.dataset.name, self.source, self.options.allow_unknown_columns)
        state = _FileState(layout, record_lines(layout) if layout.blank_lines else None)
        failures = self._period_failures(path)
        log.info(
            "reading %s for %s.%s (encoding %s, delimiter %s)",
            shown_file_name(path),  # a per-patient file by its folder and place (decision 0730)
            self.config.id,
            self.dataset.name,
            layout.encoding,
            describe_delimiter(layout.delimiter),
        )
        reader = self._open(layout, state)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as error:
                self._malformed(layout, error)
            if state.invalid_rows:
                self._malformed(layout)
            if batch.num_rows:
                yield self._batch(batch, state, failures)
        if state.invalid_rows:
            self._malformed(layout)
        if state.embedded_newlines and (problem := find_malformed(layout)):
            raise ExtractError(f"{path}: {problem}: malformed CSV")
        if failures is not None:
            failures.raise_if_any()

    def _open(self, layout: CsvLayout, state: _FileState) -> pacsv.CSVStreamingReader:
        """pyarrow's streaming reader: every column as text, empty cells as null."""
        try:
            return pacsv.open_csv(
                layout.path,
                read_options=pacsv.ReadOptions(
                    encoding=layout.arrow_encoding,
                    column_names=list(layout.header),
                    skip_rows=1,
                    block_size=self.options.block_size,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=layout.delimiter,
                    quote_char=layout.quote or False,
                    double_quote=True,
                    newlines_in_values=True,
                    invalid_row_handler=state.handle_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(layout.header, pa.string()),
                    strings_can_be_null=True,  # an empty cell is a missing value
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            self._malformed(layout, error)

    def _period_failures(self, path: Path) -> PeriodDateFailures | None:
        if self.period_variable is None:
            return None
        column = self.column_of.get(self.period_variable)
        variable = self.dataset.variable(self.period_variable)
        return PeriodDateFailures(
            what=f"{self.dataset.name}.{self.period_variable} (column {column} of {path.name})",
            expected=expected_text(variable.type, self.spec),
            printable=column not in self.source.identity,
        )

    def _malformed(self, layout: CsvLayout, error: Exception | None = None) -> NoReturn:
        # pyarrow's "straddling object straddles two block boundaries": a record over a block
        too_long = error is not None and "straddl" in str(error)
        problem = find_malformed(layout, self.options.block_size if too_long else None)
        if problem is None and too_long:
            problem = (
                f"a record is longer than {self.options.block_size} bytes, the most the reader "
                "takes (is a quote left open, or a document pasted into a field?)"
            )
        raise ExtractError(
            f"{layout.path}: {problem or 'the CSV parser stopped at a problem it could not locate'}"
            f": malformed CSV (delimiter {describe_delimiter(layout.delimiter)}, "
            f"quote {layout.quote!r})"
        )

    def _row_refs(self, batch: pa.RecordBatch, state: _FileState) -> pa.Array:
        count = batch.num_rows
        newlines: ArrayLike | None = None
        if state.layout.has_quotes:  # only a quoted value can hold a line break
            for column in batch.columns:
                found = pc.fill_null(pc.count_substring(column, "\n"), 0)
                newlines = found if newlines is None else pc.add(newlines, found)
        total_newlines = int(pc.sum(newlines).as_py() or 0) if newlines is not None else 0
        if state.slow_lines is not None:
            lines = pa.array(state.slow_lines[state.records : state.records + count], pa.int64())
        else:
            lines = pa.array(range(state.next_line, state.next_line + count), pa.int64())
            if total_newlines:
                assert newlines is not None
                before = pc.subtract(pc.cumulative_sum(newlines), newlines)
                lines = pc.add(lines, pc.cast(before, pa.int64()))
        state.records += count
        state.next_line += count + total_newlines
        if total_newlines:
            state.embedded_newlines = True
        prefix = pa.scalar(f"{state.layout.path.name}:")
        return pc.binary_join_element_wise(prefix, pc.cast(lines, pa.string()), "")

    def _batch(
        self, batch: pa.RecordBatch, state: _FileState, failures: PeriodDateFailures | None
    ) -> BatchResult:
        row_refs = self._row_refs(batch, state)
        wanted = set(self.source.columns) | set(self.source.identity)
        wanted |= _record_key_columns(self.source)
        cleaned: dict[str, ArrayLike] = {
            name: clean(batch.column(name)) for name in batch.schema.names if name in wanted
        }
        for key_variable, key_columns in self.source.record_keys.items():
            cleaned[f"{_RECORD_KEY_PREFIX}{key_variable}"] = record_key_column(
                [cleaned[column] for column in key_columns]
            )
        typed: dict[str, ArrayLike] = {}
        outside = before = 0
        dropped: dict[str, ArrayLike] = {}
        early: dict[str, ArrayLike] = {}
        if self.period_variable is not None and self.period is not None:
            column = self.column_of[self.period_variable]
            variable = self.dataset.variable(self.period_variable)
            dates = cast_text(cleaned[column], variable.type, self.spec)
            assert failures is not None
            births = next(
                (cleaned[c] for c, f in self.source.identity.items() if f == "birth_date"), None
            )
            failures.check(cleaned[column], dates, row_refs, births)
            mask = pc.fill_null(period_mask(dates, self.period), False)
            outside = batch.num_rows - count_true(mask)
            if outside:
                left_out = pc.invert(mask)
                is_before = before_mask(dates, self.period)
                before = count_true(is_before)
                for key in self.key_variables:
                    key_column = self.column_of.get(key)
                    if key_column is not None:
                        key_type = self.dataset.variable(key).type
                        dropped[key] = cast_text(
                            pc.filter(cleaned[key_column], left_out), key_type, self.spec
                        )
                        early[key] = cast_text(
                            pc.filter(cleaned[key_column], is_before), key_type, self.spec
                        )
                cleaned = {name: pc.filter(values, mask) for name, values in cleaned.items()}
                row_refs = pc.filter(row_refs, mask)
                dates = pc.filter(dates, mask)
            typed[self.period_variable] = dates
        rows = self._rows(cleaned, typed, row_refs)
        return BatchResult(rows, outside, dropped, before, early)

    def _rows(
        self, cleaned: Mapping[str, ArrayLike], typed: dict[str, ArrayLike], row_refs: ArrayLike
    ) -> Rows:
        length = len(row_refs)
        problems: list[ProblemGroup] = []
        identity = identity_table(
            {field_name: cleaned[column] for column, field_name in self.source.identity.items()},
            length,
        )
        columns: list[ArrayLike] = []
        for variable in self.dataset.variables:
            column = self.column_of.get(variable.name)
            if variable.name in typed:
                values = typed[variable.name]
            elif column is not None:
                source = self._mapped(column, cleaned[column])
                kind = variable.generalised_from
                cut = generalise_mapped(kind, source, self.spec.date_formats) if kind else None
                values = cast_text(source, variable.type, self.spec) if cut is None else cut
                self._note(
                    problems,
                    variable=variable.name,
                    expected=(
                        expected_text(variable.type, self.spec)
                        if kind is None or cut is None
                        else expected_mapped(kind, self.spec.date_formats)
                    ),
                    source=source,
                    parsed=values,
                    row_refs=row_refs,
                )
            elif variable.generalised_from:
                source = identity.column(SOURCE_FIELD[variable.generalised_from])
                values = generalise(variable.generalised_from, source, self.spec.date_formats)
                self._note(
                    problems,
                    variable=variable.name,
                    expected=expected_source(variable.generalised_from, self.spec.date_formats),
                    source=source,
                    parsed=values,
                    row_refs=row_refs,
                )
            else:
                values = null_column(variable.type, length)
            target = ARROW_TYPES[variable.type]
            columns.append(values if values.type == target else pc.cast(values, target))
        clinical = pa.Table.from_arrays(
            [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns],
            names=list(self.dataset.variable_names),
        )
        return Rows(
            clinical=clinical, identity=identity, row_refs=row_refs, problems=tuple(problems)
        )

    def _mapped(self, column: str, values: ArrayLike) -> ArrayLike:
        """The column's value map applied: mapped values replaced, the others kept."""
        mapping = self.source.maps.get(column)
        if not mapping:
            return values
        keys = pa.array(list(mapping), pa.string())
        index = pc.index_in(values, value_set=keys)
        mapped = pc.take(pa.array(list(mapping.values()), pa.string()), index)
        return pc.coalesce(mapped, values)

    @staticmethod
    def _note(
        problems: list[ProblemGroup],
        *,
        variable: str,
        expected: str,
        source: ArrayLike,
        parsed: ArrayLike,
        row_refs: ArrayLike,
    ) -> None:
        failed = pc.and_(pc.is_valid(source), pc.is_null(parsed))
        if pc.any(failed).as_py():
            problems.append(ProblemGroup(variable, expected, pc.filter(row_refs, failed)))


def _read_all(
    config: RegistrationConfig,
    dataset: Dataset,
    folder: Path,
    period: Period,
    options: ExtractOptions,
) -> tuple[PeriodSelection, tuple[str, ...]]:
    reader = DatasetReader(config, dataset, folder, period, options)
    parts: list[Rows] = []
    outside = before = 0
    dropped: dict[str, list[ArrayLike]] = {}
    early: dict[str, list[ArrayLike]] = {}
    for result in reader.batches():
        parts.append(result.rows)
        outside += result.outside
        before += result.before
        for key, values in result.dropped_keys.items():
            dropped.setdefault(key, []).append(values)
        for key, values in result.before_keys.items():
            early.setdefault(key, []).append(values)
    selection = PeriodSelection(
        concat_rows(dataset, parts),
        outside,
        _merged(dropped),
        before,
        _merged(early),
    )
    return selection, tuple(path.name for path in reader.files)


def _merged(parts: dict[str, list[ArrayLike]]) -> dict[str, ArrayLike]:
    """Each key's arrays of every batch as one array."""
    return {
        key: pa.chunked_array(values).combine_chunks() for key, values in parts.items() if values
    }


def extract_csv(
    config: RegistrationConfig,
    input_path: Path,
    period: Period,
    options: ExtractOptions | None = None,
) -> Extract:
    """Read every dataset of ``config`` from the CSV files in ``input_path`` for ``period``.

    Raises :class:`ExtractError` on unusable input (see the module docstring);
    nothing is returned from a broken extract.
    """
    options = options or ExtractOptions()
    folder = Path(input_path)
    selected: dict[str, PeriodSelection] = {}
    unrestricted: dict[str, Rows] = {}
    files: dict[str, tuple[str, ...]] = {}
    for dataset in config.dictionary.datasets:
        selection, names = _read_all(config, dataset, folder, period, options)
        files[dataset.name] = names
        if dataset.name == config.period_dataset:
            selected[dataset.name] = selection
        else:
            unrestricted[dataset.name] = selection.kept
    return assemble_extract(config, period, "csv", selected, unrestricted, files=files)
