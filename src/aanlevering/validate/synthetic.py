"""Synthetic, dictionary-valid extracts for tests and the validation benchmark.

Builds an :class:`~aanlevering.extract.model.Extract` straight from a data
dictionary, vectorised with NumPy so a million rows take about a second:
every value respects its variable's type, option set, range, length and
pattern, dates fall in the period and in the order the dictionary's
``date_order`` rules ask, and conditional variables are filled exactly when
their ``required_if`` / ``empty_unless`` rules say. Identity columns hold
made-up (but well-formed) BSNs, names, birth dates and postcodes, so privacy
tests have identifiers to look for. Nothing here is real patient data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import DataDictionary, Dataset, RegistrationConfig, Variable
from aanlevering.extract.model import ARROW_TYPES, Extract, ExtractedDataset
from aanlevering.periods import Period
from aanlevering.validate.checks import typed_values

_FAMILY = ("Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos")
_INITIALS = ("A", "B", "C", "D", "E", "H", "J", "K", "M", "P", "W")


def numbered(prefix: str, n: int, *, start: int = 0, width: int = 0) -> pa.Array:
    """``prefix`` and the numbers from ``start`` on (zero-padded to ``width``), vectorised."""
    numbers = pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())
    if width:
        numbers = pc.utf8_lpad(numbers, width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), numbers, "")


def _bsns(rng: np.random.Generator, n: int) -> pa.Array:
    """Nine-digit numbers passing the eleven-test (shaped like BSNs, randomly made up)."""
    digits = rng.integers(0, 10, size=(int(n * 1.4) + 64, 8), dtype=np.int64)
    last = (digits @ np.array([9, 8, 7, 6, 5, 4, 3, 2])) % 11
    keep = (last < 10) & (digits[:, 0] > 0)
    digits, last = digits[keep][:n], last[keep][:n]
    number = digits @ (10 ** np.arange(8, 0, -1, dtype=np.int64)) + last
    return pc.cast(pa.array(number, pa.int64()), pa.string())


def _pick(rng: np.random.Generator, choices: Sequence[str], n: int) -> pa.Array:
    return pa.array(list(choices), pa.string()).take(pa.array(rng.integers(0, len(choices), n)))


def _digits(rng: np.random.Generator, low: int, high: int, n: int) -> pa.Array:
    return pc.cast(pa.array(rng.integers(low, high, n)), pa.string())


def identity_table(rng: np.random.Generator, n: int) -> pa.Table:
    """Made-up identity columns shaped like an EHR export's."""
    birth_days = (date(1935, 1, 1) - date(1970, 1, 1)).days + rng.integers(0, 60 * 365, n)
    letters = tuple("ABCEGHJKLMNPRTVWXZ")
    postcode = pc.binary_join_element_wise(
        _digits(rng, 1000, 10000, n), _pick(rng, letters, n), _pick(rng, letters, n), ""
    )
    return pa.table(
        {
            "patient_id": numbered("P", n, start=700000),
            "bsn": _bsns(rng, n),
            "mrn": numbered("MRN", n, start=4400000),
            "own_name": _pick(rng, _FAMILY, n),
            "initials": _pick(rng, _INITIALS, n),
            "birth_date": pc.cast(pa.array(birth_days, pa.int32()).cast(pa.date32()), pa.string()),
            "sex": _pick(rng, ("M", "V"), n),
            "postcode": postcode,
            "house_number": _digits(rng, 1, 300, n),
        }
    )


def _range(variable: Variable, low: float, high: float) -> tuple[float, float]:
    lo = variable.min if variable.min is not None else low
    hi = variable.max if variable.max is not None else high
    return float(lo), float(hi)


def _column(  # noqa: PLR0911 - one branch per variable type
    rng: np.random.Generator,
    dictionary: DataDictionary,
    dataset: Dataset,
    variable: Variable,
    *,
    n: int,
    day: np.ndarray,
    position: int,
) -> pa.Array:
    name = variable.name
    if variable.type == "code" and variable.option_set:
        return _pick(rng, dictionary.option_sets[variable.option_set].codes, n)
    if variable.type == "integer":
        if name == "geboortejaar" or variable.generalised_from == "birth_date:year":
            return pa.array(rng.integers(1935, 1995, n), pa.int64())
        lo, hi = _range(variable, 0, 100)
        return pa.array(rng.integers(int(lo), int(hi) + 1, n), pa.int64())
    if variable.type == "decimal":
        lo, hi = _range(variable, 0, 100)
        return pa.array(np.round(rng.uniform(lo, hi, n), 1), pa.float64())
    if variable.type == "boolean":
        return pa.array(rng.random(n) < 0.2)
    if variable.type == "date":
        # Later variables in dictionary order never precede earlier ones.
        values = np.datetime64("1970-01-01") + (day + position).astype("timedelta64[D]")
        return pa.array(values).cast(pa.date32())
    if variable.type == "datetime":
        seconds = (day + position).astype("int64") * 86400 + rng.integers(0, 86400, n)
        return pa.array(seconds, pa.timestamp("s"))
    if variable.pattern == "^[1-9][0-9]{3}$" or variable.generalised_from == "postcode:pc4":
        return _digits(rng, 1000, 10000, n)
    if name in dataset.key:
        return numbered(f"{dataset.name[:3].upper()}-", n, width=8)
    return numbered(name[:3], n)


def _apply_conditions(dataset: Dataset, columns: dict[str, pa.Array]) -> None:
    """Blank conditional variables where their rules say they must be empty."""
    for validation in dataset.validations:
        if validation.kind not in ("required_if", "empty_unless"):
            continue
        target = str(validation.params["variable"])
        when = str(validation.params["when_variable"])
        when_in = [str(v) for v in validation.params["when_in"]]  # type: ignore[attr-defined]
        values = typed_values(dataset.variable(when), when_in)
        source = columns[when]
        mask = pc.fill_null(pc.is_in(source, value_set=pa.array(values, source.type)), False)
        blank = pa.nulls(len(source), columns[target].type)
        columns[target] = pc.if_else(mask, columns[target], blank)


def synthetic_dataset(
    dictionary: DataDictionary,
    dataset: Dataset,
    n: int,
    period: Period,
    *,
    seed: int = 2026,
    parents: Mapping[str, pa.Array] | None = None,
    file_name: str | None = None,
    parent_identities: Mapping[str, pa.Table] | None = None,
) -> ExtractedDataset:
    """``n`` valid records of ``dataset`` in ``period`` (``parents``: key values to refer to).

    ``parent_identities``: the parents' identity tables; a record that refers to a
    parent is then its patient's, as in a real export (decision 0572 checks that).
    """
    rng = np.random.default_rng(seed)
    span = max(1, (period.end - period.start).days - 40)
    first = (period.start - date(1970, 1, 1)).days
    day = first + rng.integers(0, span, n)
    columns: dict[str, pa.Array] = {}
    for position, variable in enumerate(dataset.variables):
        columns[variable.name] = _column(
            rng, dictionary, dataset, variable, n=n, day=day, position=position
        )
    identity = identity_table(rng, n)
    for relation in dataset.relations:
        keys = (parents or {}).get(relation.dataset)
        if keys is not None and len(keys):
            picks = rng.integers(0, len(keys), n)
            columns[relation.variable] = keys.take(pa.array(picks))
            parent_identity = (parent_identities or {}).get(relation.dataset)
            if parent_identity is not None:
                identity = parent_identity.take(pa.array(picks))
    _apply_conditions(dataset, columns)
    table = pa.table({v.name: columns[v.name].cast(ARROW_TYPES[v.type]) for v in dataset.variables})
    file_name = file_name or f"{dictionary.id}_{dataset.name}_{period.label}.csv"
    return ExtractedDataset(
        name=dataset.name,
        clinical=table,
        identity=identity,
        row_refs=numbered(f"{file_name}:", n, start=2),
        source_files=(file_name,),
    )


def synthetic_extract(
    config: RegistrationConfig,
    period: Period,
    rows: int,
    *,
    seed: int = 2026,
    child_ratio: float = 1.0,
) -> Extract:
    """A valid extract of every dataset of ``config``'s dictionary.

    The first dataset gets ``rows`` records; datasets that refer to another
    get ``rows * child_ratio`` (the demo data has about 0.4 complications per
    operation), each pointing at an existing parent record.
    """
    datasets: dict[str, ExtractedDataset] = {}
    keys: dict[str, pa.Array] = {}
    identities: dict[str, pa.Table] = {}
    for index, dataset in enumerate(config.dictionary.datasets):
        count = round(rows * child_ratio) if dataset.relations else rows
        extracted = synthetic_dataset(
            config.dictionary,
            dataset,
            count,
            period,
            seed=seed + index,
            parents=keys,
            parent_identities=identities,
        )
        datasets[dataset.name] = extracted
        identities[dataset.name] = extracted.identity
        if len(dataset.key) == 1:
            keys[dataset.name] = extracted.clinical.column(dataset.key[0]).combine_chunks()
    return Extract(registration_id=config.id, period=period, source_kind="csv", datasets=datasets)
