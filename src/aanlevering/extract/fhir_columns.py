"""A streaming FHIR reader: each resource projected into Arrow columns as it is read.

The store-based reader (:mod:`aanlevering.extract.fhir_store`) keeps every
resource of the export as a Python dict until the records are built, so memory
and garbage-collection time grow with the export (6.4 GiB for 200k patients).
This reader decodes one NDJSON line (or Bundle entry) at a time, evaluates on
it the local part of every mapping path, appends the results to column
builders that turn into Arrow arrays every :data:`BATCH` rows, and drops the
resource. What stays is what the joins need: one row per resource (key, type,
id, fullUrl), the focus resources' projected values and reference strings,
the values of related resources with the references that link them, the
values that ``resolve()`` reads on a target, the Patients' identity fields
and, when the delivery carries them, the cut resources' JSON bytes.

References are resolved after reading, all at once in Arrow (hash lookups of
the reference strings against the keys), with the store's rules: a Bundle
``fullUrl`` first, ``urn:uuid:`` through a unique resource id, otherwise the
``Type/id`` at the end of the reference. Then each record takes its values in
the store reader's order ("the first one read that has a value wins").

Mappings or inputs outside what this reader projects (a ``resolve()`` after a
``resolve()``, ``first()`` after ``resolve()``, a ``where`` filter that
resolves, conditional references ``Type?identifier=``, non-text ids read by a
path) raise :class:`Unsupported`; the extract then reads with the store reader,
which handles them at its memory cost (decision 0235).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import ipc

from aanlevering.extract.fhir_texts import TextFile, TextFileWriter
from aanlevering.extract.fhirpath import ROOT_LINKS, FhirPath, Step, evaluate

#: Rows per Arrow batch: bounds the Python lists held while reading.
BATCH = 8_192
_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")
_HISTORY = re.compile(r"/_history/[^/]*$")
_ENCODER = msgspec.json.Encoder(order="sorted")
#: A reference that is a ``Type/id`` key as it stands (what :func:`typed_key` gives it).
_PLAIN_KEY = r"^[A-Z][A-Za-z]+/[^/?]+$"
#: Types of references looked up one at a time; more go into one lookup among all keys.
_MAX_TYPES_LOOKED_UP = 64


class Unsupported(Exception):
    """The mapping or the input needs the store-based reader (the message says why)."""


def _no_resolve(reference: str) -> Mapping[str, Any] | None:
    raise Unsupported("a path resolves a reference where this reader reads locally")


def local_items(path: FhirPath, resource: Mapping[str, Any]) -> list[Any]:
    """The items of a path without ``resolve()`` on one resource."""
    return evaluate(path, resource, _no_resolve)


def reference_of(item: Any) -> str | None:
    """The reference text an item stands for (a Reference's ``reference``, or a string)."""
    mapping = type(item) is dict or isinstance(item, Mapping)  # no ABC check for JSON objects
    reference = item.get("reference") if mapping else item
    return reference.strip() if isinstance(reference, str) else None


def typed_key(reference: str) -> str | None:
    """``Type/id`` at the end of a relative or absolute reference (``_history`` ignored)."""
    parts = _HISTORY.sub("", reference).rstrip("/").split("/")
    if len(parts) >= 2 and _TYPE.match(parts[-2]):
        return f"{parts[-2]}/{parts[-1]}"
    return None


@dataclass(frozen=True)
class Chain:
    """A mapping path split at its ``resolve()``.

    ``refs`` are the steps read on the base resource that give references
    (None for a leading type such as ``Patient.``, which follows ``subject`` /
    ``patient``); ``target`` the steps read on what they point at; ``root`` the
    type a leading-type path needs its target to have.
    """

    refs: FhirPath | None
    target: FhirPath
    root: str | None = None

    @cached_property
    def reads_id(self) -> bool:
        """Whether the target part is just ``id`` (answered from the key columns)."""
        return self.target.steps == (Step("name", "id"),)


def split(path: FhirPath, base_type: str) -> FhirPath | Chain:
    """``path`` as a local path, or as a chain through one reference; Unsupported otherwise."""
    steps = path.steps
    kinds = [step.kind for step in steps]
    if path.root_type is not None and path.root_type != base_type:
        if "resolve" in kinds or "first" in kinds or path.root_type not in ROOT_LINKS:
            raise Unsupported(f"{path.text!r}: a leading type followed by resolve() or first()")
        return Chain(None, FhirPath(path.text, None, steps), path.root_type)
    if "resolve" not in kinds:
        return path
    at = kinds.index("resolve")
    after = steps[at + 1 :]
    if any(step.kind in ("resolve", "first") for step in after):
        raise Unsupported(f"{path.text!r}: resolve() or first() after resolve()")
    before = FhirPath(path.text, path.root_type, steps[:at])
    return Chain(before, FhirPath(path.text, None, after))


class Builder:
    """Column builders that become Arrow batches every :data:`BATCH` rows.

    Rows are appended as tuples in column order (one list append per row) and
    converted once per batch, as one Arrow struct array of the row tuples split into
    its columns: Arrow reads the tuples itself, about twice as fast as transposing
    them in Python and converting column by column (decision 0500; pinned to that by
    ``test_extract_fhir_builder_rows``).
    """

    def __init__(self, types: Mapping[str, pa.DataType]) -> None:
        self.types = dict(types)
        self.names = list(types)
        self.pending: list[tuple[Any, ...]] = []
        self.batches: list[pa.RecordBatch] = []
        self._flushed = 0
        self._struct = pa.struct(list(self.types.items()))

    @property
    def rows(self) -> int:
        """Rows added so far."""
        return self._flushed + len(self.pending)

    def add(self, row: tuple[Any, ...]) -> None:
        """Append one row (a tuple in column order)."""
        pending = self.pending
        pending.append(row)
        if len(pending) >= BATCH:
            self.flush()

    def add_named(self, values: Mapping[str, Any]) -> None:
        """Append one row given by column name (missing names are null)."""
        self.add(tuple(values.get(name) for name in self.names))

    def flush(self) -> None:
        """Turn the rows held as Python values into one Arrow batch."""
        if not self.pending:
            return
        if self.names:
            rows = pa.array(self.pending, self._struct)
            self.batches.append(pa.RecordBatch.from_struct_array(rows))
        else:  # pragma: no cover - every builder has columns; no struct of none
            self.batches.append(pa.RecordBatch.from_arrays([], names=[]))
        self._flushed += len(self.pending)
        self.pending = []

    def table(self) -> pa.Table:
        """Every row as one table (no copy of the batches)."""
        self.flush()
        schema = pa.schema(list(self.types.items()))
        return pa.Table.from_batches(self.batches, schema=schema)

    def drain(self) -> pa.Table:
        """Every row as one table, the builder left empty: the rows' memory is the table's alone."""
        table = self.table()
        self.batches = []
        self._flushed = 0
        return table

    def extend(self, table: pa.Table, column: str | None = None, offset: int = 0) -> None:
        """Append the rows of ``table`` (another process's builder), ``offset`` added to ``column``.

        The rows a builder numbers (resource rows, focus positions) count from 0 in
        each process that read a part of the input; here they get their place
        after the rows read before them.
        """
        self.flush()
        for batch in table.to_batches():
            if column is None or not offset:
                self.batches.append(batch)
                continue
            index = batch.schema.get_field_index(column)
            arrays = list(batch.columns)
            arrays[index] = pc.add(arrays[index], pa.scalar(offset, pa.int64()))
            self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=batch.schema))
        self._flushed += table.num_rows


class PackedTexts(Builder):
    """(row, text) rows whose texts go to a compressed file on disk as they are read.

    The cut texts of every focus and related resource are needed only once the
    records are known, and then only by whoever writes them out (decisions 0238,
    0310): here only their resource rows stay in memory, the texts wait in a
    :class:`~aanlevering.extract.fhir_texts.TextFile` (``folder``: the run's work
    folder; a private temporary one when None). ``compressed`` False: a worker's
    hand-over file (:class:`~aanlevering.extract.fhir_texts.TextFileWriter`).
    """

    def __init__(self, folder: Path | None = None, *, compressed: bool = True) -> None:
        super().__init__({"row": pa.int64(), "text": pa.string()})
        self.folder = folder
        self.writer = TextFileWriter(folder, compressed=compressed)
        self.row_arrays: list[pa.Array] = []
        self.odd_references = False

    def flush(self) -> None:
        """Write the pending rows' texts to the file; keep their rows."""
        super().flush()
        if not self.batches:
            return
        batch = self.batches.pop()
        self.row_arrays.append(batch.column(0))
        texts = batch.column(1)
        self.odd_references = self.odd_references or has_odd_references(texts)
        self.writer.write(texts)

    def text_rows(self) -> np.ndarray:
        """The resource row of each kept text, in the order added (= its position in the file)."""
        self.flush()
        if not self.row_arrays:
            return np.empty(0, np.int64)
        return np.concatenate([np.asarray(a.to_numpy(), np.int64) for a in self.row_arrays])

    def extend_from(self, texts: Path, rows: pa.Array, odd_references: bool) -> None:
        """Append the texts of another process's file, of resource rows ``rows`` (already offset).

        The texts are copied batch by batch into this reader's file, after its own,
        so the kept texts stay one file in reading order.
        """
        self.flush()
        with pa.OSFile(str(texts), "rb") as source:
            reader = ipc.open_file(source)
            for index in range(reader.num_record_batches):
                self.writer.write(reader.get_batch(index).column(0))
        self.row_arrays.append(rows)
        self.odd_references = self.odd_references or odd_references

    def close(self) -> tuple[TextFile, np.ndarray]:
        """The file of every text added, and each text's size in bytes."""
        self.flush()
        return self.writer.close(), self.writer.sizes()


#: A reference text that is not ``"[A-Z][A-Za-z]+/[A-Za-z0-9.\-]+"``, spelled out: it fails
#: at its first character, after the type, at the slash, or inside or after the id.
_ODD_REFERENCE = (
    r'"reference":"(?:[^A-Z]|[A-Z][^A-Za-z]|[A-Z][A-Za-z]+[^A-Za-z/]'
    r'|[A-Z][A-Za-z]+/[^A-Za-z0-9.\-]|[A-Z][A-Za-z]+/[A-Za-z0-9.\-]+[^A-Za-z0-9.\-"])'
)


def has_odd_references(texts: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a text (compact JSON) has a reference that is not a plain ``Type/id``.

    One regex pass that finds an odd reference, instead of counting every reference
    and every plain one (decision 0314).
    """
    return bool(pc.any(pc.match_substring_regex(texts, _ODD_REFERENCE)).as_py())


def compile_local(path: FhirPath) -> Callable[[dict[str, Any]], list[Any]]:
    """A fast evaluator of a path without ``resolve()`` on decoded JSON (as :func:`evaluate`).

    Decoded JSON objects are plain dicts, so the checks are ``dict`` checks rather
    than the ``Mapping`` ABC the general evaluator needs.
    """
    if any(step.kind == "resolve" for step in path.steps):
        raise Unsupported(f"{path.text!r} resolves a reference")
    if not path.steps:
        return _whole
    first, steps = _first_step(path.steps[0]), path.steps[1:]
    if not steps:
        return first

    def run(resource: dict[str, Any]) -> list[Any]:
        items = first(resource)
        for step in steps:
            if not items:
                return items
            kind = step.kind
            if kind == "name":
                items = _names(items, step.name)
            elif kind == "where":
                name, wanted = step.name, step.value
                items = [
                    item
                    for item in items
                    if type(item) is dict
                    and item.get(name) is not None
                    and str(item.get(name)) == wanted
                ]
            elif kind == "extension":
                url = step.value
                items = [
                    extension
                    for extension in _names(items, "extension")
                    if type(extension) is dict and extension.get("url") == url
                ]
            else:
                items = items[:1]
        return items

    return run


def _whole(resource: dict[str, Any]) -> list[Any]:
    return [resource]


def _first_step(step: Step) -> Callable[[dict[str, Any]], list[Any]]:
    """The first step of a path, on the resource itself (a dict): what the general loop does."""
    if step.kind == "name":
        name = step.name
        return lambda resource: _top(resource, name)
    if step.kind == "extension":
        url = step.value

        def extensions(resource: dict[str, Any]) -> list[Any]:
            return [
                extension
                for extension in _top(resource, "extension")
                if type(extension) is dict and extension.get("url") == url
            ]

        return extensions
    if step.kind == "where":
        name, wanted = step.name, step.value

        def where(resource: dict[str, Any]) -> list[Any]:
            value = resource.get(name)
            return [resource] if value is not None and str(value) == wanted else []

        return where
    return _whole  # first()


def _top(resource: dict[str, Any], name: str) -> list[Any]:
    """``_names([resource], name)`` for a resource (always a dict)."""
    value = resource.get(name)
    if value is None:
        if name in resource:
            return []
        key = choice_key(resource, name)
        if key is None:
            return []
        value = resource[key]
        if value is None:
            return []
    return list(value) if type(value) is list else [value]


def _names(items: list[Any], name: str) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if type(item) is not dict:
            continue
        value = item.get(name)
        if value is None and name not in item:
            key = choice_key(item, name)
            if key is None:
                continue
            value = item[key]
        if value is None:
            continue
        if type(value) is list:
            out.extend(value)
        else:
            out.append(value)
    return out


_UNSEEN = object()
#: Choice keys found so far, per (element name, keys of an object in order).
_CHOICES: dict[tuple[str, tuple[str, ...]], str | None] = {}
#: Objects of the same shape repeat across millions of resources; hostile input may not.
_MAX_CHOICES = 4_096
_MAX_SHAPE = 64


def choice_key(item: dict[str, Any], name: str) -> str | None:
    """The first key of ``item`` holding choice element ``name[x]`` (``valueQuantity``), or None.

    ``item`` has no key ``name`` itself. Looking through every key of every object
    for names a resource does not have (``gender`` on an Observation) was the
    reader's largest cost; objects repeat their keys, so the answer is kept per
    (name, keys in order), for objects of at most :data:`_MAX_SHAPE` short keys.
    """
    keys = tuple(item)
    shape = (name, keys)
    known = _CHOICES.get(shape, _UNSEEN)
    if known is not _UNSEEN:
        return cast(str | None, known)
    size = len(name)
    found: str | None = None
    for key in keys:
        if len(key) > size and key.startswith(name) and key[size].isupper():
            found = key
            break
    remember(_CHOICES, shape, keys, found)
    return found


def remember(memo: dict[Any, Any], shape: Any, keys: tuple[str, ...], value: Any) -> None:
    """Keep ``value`` for ``shape`` when the object's keys are few and short (bounded memory).

    The memo holds at most :data:`_MAX_CHOICES` shapes; when full it starts again.
    """
    if len(keys) <= _MAX_SHAPE and all(len(key) <= _MAX_SHAPE for key in keys):
        if len(memo) >= _MAX_CHOICES:
            memo.clear()
        memo[shape] = value


@contextmanager
def quiet_gc() -> Any:
    """No cyclic garbage collection while millions of short-lived dicts pass through.

    Decoded resources hold no cycles; what is kept lives in Arrow buffers, which
    the collector does not track. Collection runs once afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def encode(resource: Mapping[str, Any]) -> str:
    """The text a kept resource travels as: compact JSON with sorted keys (both readers)."""
    return _ENCODER.encode(resource).decode("utf-8")


def sort_references(
    references: Iterable[tuple[int, str]],
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(position, id) of ``urn:`` references and (position, ``Type/id`` key) of the others.

    The streaming reader and its pin tests sort references the same way; a reference
    no key is made of (no FHIR type) is in neither list, a conditional one is
    :class:`Unsupported`.
    """
    urn: list[tuple[int, str]] = []
    typed: list[tuple[int, str]] = []
    for position, text in references:
        if text.startswith(("urn:uuid:", "urn:oid:")):
            urn.append((position, text.rsplit(":", 1)[-1]))
        elif "?" in text:
            raise Unsupported("a conditional reference (Type?identifier=...)")
        else:
            key = typed_key(text)
            if key is not None:
                typed.append((position, key))
    return urn, typed


@dataclass
class Keys:
    """One row per distinct resource (the first copy read) and its identity in the input."""

    key: pa.Array
    type: pa.Array
    id: pa.Array
    first_of: np.ndarray  # per resource row: the row of the first copy of its key
    full_urls: pa.Table  # (full_url, row) of Bundle entries, first wins
    _typed_rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def first(self) -> np.ndarray:
        """Per resource row: whether it is the first copy of its key (later copies are ignored)."""
        return np.asarray(self.first_of == np.arange(len(self.first_of)))

    @property
    def count(self) -> int:
        """Resources read (copies included)."""
        return len(self.key)

    def rows_of(self, references: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The resource row (first copy) each reference points at, -1 where it is not here."""
        refs = references.cast(pa.string())
        if isinstance(refs, pa.ChunkedArray):
            refs = refs.combine_chunks()
        out = np.full(len(refs), -1, dtype=np.int64)
        if len(refs) == 0:
            return out
        if self.full_urls.num_rows:
            found = _index(refs, self.full_urls.column("full_url"))
            rows = self.full_urls.column("row").to_numpy()
            hit = found >= 0
            out[hit] = self.first_of[rows[found[hit]]]
        valid = np.asarray(pc.is_valid(refs).to_numpy(zero_copy_only=False), dtype=bool)
        todo = np.where((out < 0) & valid)[0]
        if len(todo) == 0:
            return out
        pending = pc.take(refs, pa.array(todo))
        # ``Type/id`` as it stands is its own key (what typed_key gives): looked up in Arrow.
        plain = np.asarray(
            pc.match_substring_regex(pending, _PLAIN_KEY).to_numpy(zero_copy_only=False), bool
        )
        rest = todo[~plain]
        texts = pc.filter(pending, pa.array(~plain)).to_pylist() if len(rest) else []
        urn, typed = sort_references(zip(rest.tolist(), texts, strict=True))
        wanted = [pc.filter(pending, pa.array(plain))]
        positions = [todo[plain]]
        if typed:
            wanted.append(pa.array([key for _, key in typed], pa.string()))
            positions.append(np.array([position for position, _ in typed], dtype=np.int64))
        found = self.find(pa.concat_arrays(wanted))
        at = np.concatenate(positions)
        hit = found >= 0
        out[at[hit]] = found[hit]
        if urn:
            self._urn(urn, out)
        return out

    def find(self, wanted: pa.Array) -> np.ndarray:
        """The first row whose key is each ``Type/id`` in ``wanted``, -1 where none is.

        The same as looking each up among all keys (the first match wins), but among
        the rows of its type only: a row of another type whose key is ``Type/id`` has
        no id or a type with a slash (``other_rows``), and those are searched too. A
        lookup among millions of keys builds a hash table of them all, so this is
        faster and smaller at a million patients (decision 0313).
        """
        out = np.full(len(wanted), -1, np.int64)
        if len(wanted) == 0:
            return out
        types = pc.list_element(pc.split_pattern(wanted, "/", max_splits=1), 0)
        encoded = types.dictionary_encode()
        names = encoded.dictionary.to_pylist()
        if len(names) > _MAX_TYPES_LOOKED_UP:
            return _index(wanted, self.key)
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
        for code, name in enumerate(names):
            at = np.flatnonzero(codes == code)
            rows = self.rows_of_type(name)
            if len(rows) == 0:
                continue
            found = _index(wanted.take(pa.array(at)), self.key.take(pa.array(rows)))
            hit = found >= 0
            out[at[hit]] = rows[found[hit]]
        return out

    def rows_of_type(self, resource_type: str) -> np.ndarray:
        """Rows (ascending) whose key may be ``resource_type/...``: of that type, or other rows."""
        rows = self._typed_rows.get(resource_type)
        if rows is None:
            of_type = np.flatnonzero(
                np.asarray(pc.equal(self.type, resource_type).to_numpy(zero_copy_only=False))
            )
            others = self.other_rows
            # flatnonzero is ascending and unique already: no sort when nothing is added
            rows = np.union1d(of_type, others) if len(others) else of_type
            self._typed_rows[resource_type] = rows
        return rows

    @cached_property
    def other_rows(self) -> np.ndarray:
        """Rows whose key is not ``type/id`` with a type without a slash (no id, a fullUrl key)."""
        own = pc.equal(self.key, pc.binary_join_element_wise(self.type, self.id, "/"))
        odd = pc.or_(pc.invert(own), pc.match_substring(self.type, "/"))
        return np.flatnonzero(np.asarray(pc.fill_null(odd, True).to_numpy(zero_copy_only=False)))

    def _urn(self, urn: list[tuple[int, str]], out: np.ndarray) -> None:
        """``urn:uuid:<id>`` points at the one resource with that id (none when ambiguous)."""
        firsts = pa.array(self.first)
        ids = pc.filter(self.id, firsts)
        rows = pc.filter(pa.array(np.arange(self.count)), firsts)
        counts = pc.value_counts(ids)
        unique = pc.filter(counts.field("values"), pc.equal(counts.field("counts"), 1))
        wanted = pa.array([bare for _, bare in urn], pa.string())
        where = pc.index_in(wanted, value_set=ids).to_pylist()
        unique_set = pc.is_in(wanted, value_set=unique).to_pylist()
        for (position, _), index, single in zip(urn, where, unique_set, strict=True):
            if index is not None and single:
                out[position] = rows[index].as_py()


def _index(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Position of each value in ``value_set`` (first match), -1 where absent."""
    found = pc.fill_null(pc.index_in(values, value_set=value_set), -1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


class KeyBuilder:
    """Collects the key columns while reading."""

    def __init__(self) -> None:
        self.columns = Builder({"key": pa.string(), "type": pa.string(), "id": pa.string()})
        self.full_urls: dict[str, int] = {}
        self.odd_ids = False

    def add(self, resource: Mapping[str, Any], location: str, full_url: str | None) -> int:
        """Register one resource; returns its row."""
        columns = self.columns
        row = columns._flushed + len(columns.pending)  # columns.rows, once per resource
        resource_type = str(resource["resourceType"])
        resource_id = resource.get("id")
        if isinstance(resource_id, str) and resource_id:
            key = f"{resource_type}/{resource_id}"
        else:
            key = full_url or f"{resource_type}@{location}"
            if resource_id is not None:
                self.odd_ids = True
        if full_url and full_url not in self.full_urls:
            self.full_urls[full_url] = row
        columns.add((key, resource_type, resource_id if isinstance(resource_id, str) else None))
        return row

    def done(self) -> Keys:
        """The key columns, with the first copy of each key marked."""
        table = self.columns.table()
        key = table.column("key").combine_chunks()
        first_of = np.asarray(
            pc.index_in(key, value_set=key).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        full_urls = pa.table(
            {
                "full_url": pa.array(list(self.full_urls), pa.string()),
                "row": pa.array(list(self.full_urls.values()), pa.int64()),
            }
        )
        return Keys(
            key=key,
            type=table.column("type").combine_chunks(),
            id=table.column("id").combine_chunks(),
            first_of=first_of,
            full_urls=full_urls,
        )


def first_at(groups: np.ndarray, candidates: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per ``wanted`` group value the first of the ``candidates`` positions in it (-1: none).

    "First" in array order of ``candidates``; a whole column at a time (decision 0316).
    """
    out = np.full(len(wanted), -1, dtype=np.int64)
    if len(candidates) == 0 or len(wanted) == 0:
        return out
    values, index = np.unique(groups[candidates], return_index=True)
    wanted = np.asarray(wanted, dtype=values.dtype)
    at = np.minimum(np.searchsorted(values, wanted), len(values) - 1)
    hit = values[at] == wanted
    out[hit] = candidates[index[at[hit]]]
    return out


def dense(rows: Iterable[int] | np.ndarray, size: int) -> np.ndarray:
    """An index over resource rows: position of each row in ``rows`` (-1: absent, first wins)."""
    out = np.full(size, -1, dtype=np.int64)
    if isinstance(rows, np.ndarray):
        positions = rows.astype(np.int64, copy=False)
    else:
        positions = np.fromiter(rows, dtype=np.int64)
    if len(positions):
        order = np.arange(len(positions))[::-1]  # later writes lose: the first position stays
        out[positions[order]] = order
    return out


Encoder = Callable[[Mapping[str, Any]], str]
