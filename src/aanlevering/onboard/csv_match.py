"""Match the columns of a sample CSV export to a dictionary's variables and identity fields.

Used by ``registrations new``. A column is matched by its header (exact,
words in another order such as ``OPNAMEDATUM`` for ``datum_opname``, a close
spelling such as ``KREATININE`` for ``creatinine_preop``, or a shared word) and
by its content: values that parse as the variable's type with the export's
decimal and date formats, codes of the option set, numbers inside the range
(a tight range beats a wide one), unique values for a record key, values of
the parent's key for a relation. Identity columns are recognised by header
and, for headers nobody foresaw, by content (BSNs that pass the elfproef,
Dutch postcodes, initials). A match on header *and* content is certain;
everything else is proposed and marked for a person to decide.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from aanlevering.catalogue.model import DataDictionary, Dataset, Variable
from aanlevering.errors import ExtractError
from aanlevering.extract.casts import CastSpec, cast_text, clean
from aanlevering.extract.csv_layout import (
    CsvLayout,
    describe_delimiter,
    find_malformed,
    sniff_layout,
)

#: Rows read from each sample file: enough to judge content, quick on a big export.
SAMPLE_ROWS = 5000
#: Share of values that must fit before content counts as evidence.
FITS = 0.8

#: Headers (upper-case, without spaces, dashes and underscores) of identity fields.
IDENTITY_HEADERS: dict[str, str] = {
    header: field_name
    for field_name, headers in {
        "patient_id": ("PATIENTNUMMER", "PATIENTNR", "PATNR", "PATIENTID", "ZISNUMMER", "MRN"),
        "bsn": ("BSN", "BURGERSERVICENUMMER"),
        "own_prefix": ("VOORVOEGSELS", "VOORVOEGSEL", "TUSSENVOEGSEL", "TUSSENVOEGSELS"),
        "own_name": ("GESLACHTSNAAM", "ACHTERNAAM", "GEBOORTENAAM", "NAAM"),
        "partner_prefix": ("PARTNERVOORVOEGSELS", "PARTNERVOORVOEGSEL", "PARTNERTUSSENVOEGSEL"),
        "partner_name": ("PARTNERNAAM", "NAAMPARTNER", "NAAMECHTGENOOT"),
        "initials": ("VOORLETTERS",),
        "given_names": ("VOORNAMEN", "VOORNAAM"),
        "birth_date": ("GEBOORTEDATUM", "GEBDAT", "GEBOORTEDAT"),
        "sex": ("GESLACHT", "SEKSE"),
        "postcode": ("POSTCODE", "PC6"),
        "house_number": ("HUISNUMMER", "HUISNR"),
        "house_number_addition": ("HUISNUMMERTOEVOEGING", "TOEVOEGING", "HUISNRTOEV"),
        # for the output guard only (decision 0410)
        "street": ("STRAAT", "STRAATNAAM"),
        "phone": ("TELEFOON", "TELEFOONNUMMER", "TELNR", "MOBIEL", "MOBIELNUMMER"),
        "email": ("EMAIL", "EMAILADRES"),
    }.items()
    for header in headers
}

_DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d")
_DATETIME_FORMATS = ("%d-%m-%Y %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")
_POSTCODE = re.compile(r"^[1-9][0-9]{3}\s?[A-Za-z]{2}$")
_INITIALS = re.compile(r"^([A-Z]\.?\s?){1,6}$")
_BSN = re.compile(r"^\d{8,9}$")
_ID_WORDS = ("ID", "NR", "NUMMER", "NUMBER", "KEY")


@dataclass(frozen=True)
class Proposal:
    """One column's proposed role, with why, and whether a person must confirm it."""

    column: str
    target: str
    certain: bool
    reason: str


@dataclass
class FileMatch:
    """What one sample file maps to."""

    path: Path
    dataset: str
    glob: str
    layout: CsvLayout
    columns: list[Proposal] = field(default_factory=list)
    identity: list[Proposal] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    unsourced: list[str] = field(default_factory=list)
    record_keys: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CsvFormats:
    """How the sample writes decimals, dates and date-times."""

    decimal: str
    date_formats: tuple[str, ...]
    datetime_formats: tuple[str, ...]

    @property
    def spec(self) -> CastSpec:
        """The extract's cast settings for these formats."""
        return CastSpec(self.decimal, self.date_formats, self.datetime_formats)


def _norm(header: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", header.upper())


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def name_score(header: str, variable: str) -> float:
    """How well a header names a variable: 1 exact, 0.95 words reordered, lower for parts."""
    column = _norm(header).lower()
    words = _words(variable)
    if column == "".join(words):
        return 1.0
    orders = {"".join(p) for p in itertools.permutations(words)} if len(words) <= 4 else set()
    if column in orders:
        return 0.95
    close = max((difflib.SequenceMatcher(None, column, o).ratio() for o in orders), default=0.0)
    if close >= 0.93:
        return 0.9  # "overlijdensdatum" for datum_overlijden
    column_words = _words(header)
    shared = 0.0
    for word in column_words:
        best = max(
            (
                1.0
                if w == word
                else 0.9
                if (len(word) >= 3 and (w.startswith(word) or word.startswith(w)))
                or (min(len(w), len(word)) >= 5 and (w.endswith(word) or word.endswith(w)))
                else difflib.SequenceMatcher(None, w, word).ratio()
                for w in words
            ),
            default=0.0,
        )
        shared += best if best >= 0.8 else 0.0
    parts = shared / max(len(words), len(column_words))
    whole = difflib.SequenceMatcher(None, column, "".join(words)).ratio()
    return max(parts * 0.9, whole if whole >= 0.85 else 0.0)


def read_sample(path: Path) -> tuple[CsvLayout, dict[str, pa.Array]]:
    """The first rows of a CSV file as cleaned text columns (empty cells null).

    A malformed record is an :class:`ExtractError` naming its line, never the
    reader's own message: pyarrow quotes the whole offending row, and a sample
    is real patient data (decision 0681).
    """
    layout = sniff_layout(path, "auto", "auto", '"')
    invalid = 0

    def skip_invalid(row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    batches = []
    rows = 0
    try:
        reader = pacsv.open_csv(
            path,
            read_options=_read_options(layout),
            parse_options=_parse_options(layout, skip_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(layout.header, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
        for batch in reader:  # streamed: a million-row export is not read whole
            batches.append(batch)
            rows += batch.num_rows
            if invalid or rows >= SAMPLE_ROWS:
                break
    except (pa.ArrowInvalid, UnicodeDecodeError):
        _malformed(layout)
    if invalid:
        _malformed(layout)
    schema = pa.schema([(name, pa.string()) for name in layout.header])
    table = pa.Table.from_batches(batches, schema=schema).slice(0, SAMPLE_ROWS)
    columns = {}
    for name in layout.header:
        cleaned = clean(table.column(name))
        columns[name] = (
            cleaned.combine_chunks() if isinstance(cleaned, pa.ChunkedArray) else cleaned
        )
    return layout, columns


def _malformed(layout: CsvLayout) -> NoReturn:
    """The sample's first malformed record by line, without a value (see :func:`read_sample`)."""
    problem = find_malformed(layout) or "the CSV parser stopped at a problem it could not locate"
    raise ExtractError(
        f"sample {layout.path}: {problem}: malformed CSV (delimiter "
        f"{describe_delimiter(layout.delimiter)}, quote {layout.quote!r}); correct the export "
        "or take another sample"
    ) from None


def detect_formats(samples: list[dict[str, pa.Array]]) -> CsvFormats:
    """Decimal separator and the date and date-time formats the sample's columns use."""
    texts = [pc.drop_null(c) for s in samples for c in s.values()]
    date_hits = {f: 0 for f in _DATE_FORMATS}
    datetime_hits = {f: 0 for f in _DATETIME_FORMATS}
    comma = point = 0
    for values in texts:
        if not len(values):
            continue
        for fmt in _DATE_FORMATS:
            parsed = len(values) - cast_text(values, "date", CastSpec(",", (fmt,), ())).null_count
            date_hits[fmt] += parsed if parsed >= 0.2 * len(values) else 0
        for fmt in _DATETIME_FORMATS:
            spec = CastSpec(",", (), (fmt,))
            parsed = len(values) - cast_text(values, "datetime", spec).null_count
            datetime_hits[fmt] += parsed if parsed >= 0.2 * len(values) else 0
        comma += int(pc.sum(pc.match_substring_regex(values, r"^-?\d+,\d+$")).as_py() or 0)
        point += int(pc.sum(pc.match_substring_regex(values, r"^-?\d+\.\d+$")).as_py() or 0)
    dates = (
        tuple(f for f, n in sorted(date_hits.items(), key=lambda i: -i[1]) if n)
        or (_DATE_FORMATS[:2])
    )
    datetimes = (
        tuple(f for f, n in sorted(datetime_hits.items(), key=lambda i: -i[1]) if n)
        or (_DATETIME_FORMATS[:2])
    )
    return CsvFormats("." if point > comma else ",", dates, datetimes)


def _elfproef(text: str) -> bool:
    digits = text.zfill(9)
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    return (total - int(digits[8])) % 11 == 0


def _share(values: pa.Array, test: re.Pattern[str]) -> float:
    present = [v for v in pc.drop_null(values).to_pylist() if v]
    return sum(1 for v in present if test.match(v)) / len(present) if present else 0.0


def identity_by_content(values: pa.Array) -> tuple[str, str] | None:
    """``(field, reason)`` when a column's values look like an identity field."""
    present = [v for v in pc.drop_null(values).to_pylist() if v]
    if not present:
        return None
    if _share(values, _BSN) >= FITS and sum(_elfproef(v) for v in present) >= FITS * len(present):
        return "bsn", "9 digits passing the elfproef"
    if _share(values, _POSTCODE) >= FITS:
        return "postcode", "Dutch postcodes"
    if _share(values, _INITIALS) >= FITS and any("." in v for v in present):
        return "initials", "initials"
    return None


def _content_fit(
    variable: Variable, values: pa.Array, dictionary: DataDictionary, spec: CastSpec
) -> tuple[float, float]:
    """``(share that fits, tightness)``: parses, in the option set and inside the range."""
    present = pc.drop_null(values)
    if not len(present):
        return 0.0, 0.0
    typed = cast_text(present, variable.type, spec)
    typed = pc.drop_null(typed)
    share = len(typed) / len(present)
    tightness = 0.0
    if variable.option_set and variable.option_set in dictionary.option_sets:
        codes = pa.array(dictionary.option_sets[variable.option_set].codes, pa.string())
        inside = int(pc.sum(pc.is_in(pc.cast(typed, pa.string()), value_set=codes)).as_py() or 0)
        share = inside / len(present)
        tightness = 1.0 if share >= FITS else 0.0
    elif variable.type in {"integer", "decimal"} and len(typed):
        low = variable.min if variable.min is not None else float("-inf")
        high = variable.max if variable.max is not None else float("inf")
        mask = pc.and_(pc.greater_equal(typed, low), pc.less_equal(typed, high))
        share = int(pc.sum(mask).as_py() or 0) / len(present)
        if variable.min is not None and variable.max is not None and variable.max > variable.min:
            span = float(pc.max(typed).as_py()) - float(pc.min(typed).as_py())
            tightness = min(1.0, span / (variable.max - variable.min))
    elif variable.type in {"date", "datetime", "boolean"}:
        tightness = 0.5
    return share, tightness


def whole_column(layout: CsvLayout, column: str) -> pa.Array:
    """Every value of one column (a parent's keys, which a sample of rows would not all hold).

    A malformed record is an :class:`ExtractError` by line, as in :func:`read_sample`.
    """
    invalid = 0

    def skip_invalid(row: object) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    try:
        table = pacsv.read_csv(
            layout.path,
            read_options=_read_options(layout),
            parse_options=_parse_options(layout, skip_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={column: pa.string()}, include_columns=[column], null_values=[""]
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        _malformed(layout)
    if invalid:
        _malformed(layout)
    values = clean(table.column(column))
    flat = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.unique(pc.drop_null(flat))


def _is_unique(values: pa.Array) -> bool:
    present = pc.drop_null(values)
    return len(present) > 0 and len(pc.unique(present)) == len(present)


def _looks_like_id(header: str) -> bool:
    words = re.split(r"[^A-Z0-9]+", header.upper())
    return any(w in _ID_WORDS for w in words) or header.upper().endswith(_ID_WORDS)


def assign_dataset(header: tuple[str, ...], dictionary: DataDictionary) -> tuple[str, float]:
    """The dataset whose variables the header names best, and how well (summed name scores)."""

    def score(dataset: Dataset) -> float:
        return sum(
            max((name_score(h, v) for v in dataset.variable_names), default=0.0) for h in header
        )

    best = max(dictionary.datasets, key=score)
    return best.name, score(best)


def glob_for(path: Path) -> str:
    """``dsaa_operaties_2026.csv`` -> ``dsaa_operaties*.csv``: later exports match too."""
    stem = re.sub(r"[_-]?\d[\d_-]*$", "", path.stem) or path.stem
    return f"{stem}*{path.suffix}"


class _Matcher:
    """Matching state for one file: which columns and variables are taken."""

    def __init__(
        self,
        dictionary: DataDictionary,
        dataset: Dataset,
        columns: dict[str, pa.Array],
        spec: CastSpec,
        parent_keys: dict[str, pa.Array],
    ) -> None:
        self.dictionary = dictionary
        self.dataset = dataset
        self.values = columns
        self.spec = spec
        self.parent_keys = parent_keys
        self.free_columns = list(columns)
        self.free_variables = [v for v in dataset.variables if not v.generalised_from]
        self.result: list[Proposal] = []
        self.identity: list[Proposal] = []

    def take(self, column: str, variable: Variable, certain: bool, reason: str) -> None:
        self.result.append(Proposal(column, variable.name, certain, reason))
        if column in self.free_columns:
            self.free_columns.remove(column)
        self.free_variables.remove(variable)

    def identities(self) -> None:
        for column in list(self.free_columns):
            field_name = IDENTITY_HEADERS.get(_norm(column))
            if field_name is not None:
                self.identity.append(Proposal(column, field_name, True, "header"))
                if field_name != "sex":  # sex may also be delivered (as the examples do)
                    self.free_columns.remove(column)

    def keys(self) -> None:
        relations = {r.variable: r for r in self.dataset.relations}
        for variable in list(self.free_variables):
            if variable.name in relations:
                target = relations[variable.name]
                parent = self.parent_keys.get(f"{target.dataset}.{target.target_variable}")
                if parent is None:
                    continue
                for column in self.free_columns:
                    values = pc.drop_null(self.values[column])
                    found = pc.sum(pc.is_in(values, value_set=parent)).as_py() or 0
                    if len(values) and found >= FITS * len(values):
                        certain = name_score(column, variable.name) >= 0.9
                        self.take(column, variable, certain, f"values of {target.dataset}'s key")
                        break
            elif variable.name in self.dataset.key:
                ids = [
                    c for c in self.free_columns if _is_unique(self.values[c]) and _looks_like_id(c)
                ]
                ids.sort(key=lambda c: -name_score(c, variable.name))
                if ids:
                    certain = name_score(ids[0], variable.name) >= 0.9
                    self.take(ids[0], variable, certain, "unique values, an id column")

    def by_name_and_content(self) -> None:
        scored = []
        for column in self.free_columns:
            for variable in self.free_variables:
                names = name_score(column, variable.name)
                fit, tight = _content_fit(variable, self.values[column], self.dictionary, self.spec)
                if fit < FITS and not (
                    names >= 0.95 and not len(pc.drop_null(self.values[column]))
                ):
                    continue
                if variable.type in {"string", "code"} and not variable.option_set and names < 0.5:
                    continue  # any text fits a free-text variable: content is no evidence
                scored.append((names * 2 + fit + tight * 0.5, names, column, variable))
        scored.sort(key=lambda item: -item[0])
        for _, names, column, variable in scored:
            if column not in self.free_columns or variable not in self.free_variables:
                continue
            if names >= 0.9:
                self.take(column, variable, True, "header and content")
            elif names >= 0.4:
                self.take(column, variable, False, "partly the header, and the content")
            else:
                self.take(column, variable, False, "content only")

    def identities_by_content(self) -> None:
        """Identity that no header announced (BSNs, postcodes, initials): taken before the
        clinical matching, so an unforeseen BSN column never becomes a delivered variable,
        unless its header names a variable outright."""
        for column in list(self.free_columns):
            if any(name_score(column, v.name) >= 0.9 for v in self.free_variables):
                continue
            found = identity_by_content(self.values[column])
            if found is not None:
                self.identity.append(Proposal(column, found[0], False, found[1]))
                self.free_columns.remove(column)


def match_file(
    path: Path,
    dictionary: DataDictionary,
    formats: CsvFormats,
    parent_keys: dict[str, pa.Array],
    sample: tuple[CsvLayout, dict[str, pa.Array]],
) -> FileMatch:
    """Every column of one sample file as a variable, an identity field or unmatched."""
    layout, columns = sample
    dataset = dictionary.dataset(assign_dataset(layout.header, dictionary)[0])
    matcher = _Matcher(dictionary, dataset, columns, formats.spec, parent_keys)
    matcher.identities()
    matcher.identities_by_content()
    matcher.keys()
    matcher.by_name_and_content()
    order = {name: i for i, name in enumerate(layout.header)}
    match = FileMatch(
        path=path,
        dataset=dataset.name,
        glob=glob_for(path),
        layout=layout,
        columns=sorted(matcher.result, key=lambda p: order[p.column]),
        identity=sorted(matcher.identity, key=lambda p: order[p.column]),
        unmatched=[
            c for c in matcher.free_columns if c not in {p.column for p in matcher.identity}
        ],
        unsourced=[v.name for v in matcher.free_variables],
    )
    for key in dataset.key:
        mapped = next((p.column for p in match.columns if p.target == key), None)
        if mapped is not None:
            parent_keys[f"{dataset.name}.{key}"] = whole_column(layout, mapped)
    return match


def _read_options(layout: CsvLayout) -> pacsv.ReadOptions:
    """Every column by the header's names, as text in the file's encoding (header skipped)."""
    return pacsv.ReadOptions(
        encoding=layout.arrow_encoding, column_names=list(layout.header), skip_rows=1
    )


def _parse_options(layout: CsvLayout, on_invalid: Callable[[Any], str]) -> pacsv.ParseOptions:
    """The sniffed dialect; a record pyarrow cannot split goes to ``on_invalid``, never its text.

    Why the handler: pyarrow's own error quotes the whole record (decision 0681).
    """
    return pacsv.ParseOptions(
        delimiter=layout.delimiter,
        quote_char=layout.quote or False,
        newlines_in_values=True,
        invalid_row_handler=on_invalid,
    )
