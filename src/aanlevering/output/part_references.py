"""The reference map of the worker that minimises a delivery's second part (decision 0330).

The worker of decision 0318 made the whole delivery's map: every source
resource's key and every Patient alias, about 1.4 GiB at a million patients
(5M resources), which kept that delivery in one process. Its part looks up
only its own resources' keys (each resource's delivered id) and the references
its texts hold, so the worker first reads its texts for every ``"reference"``
string (Arrow regex kernels over a window of texts at a time; values with JSON
escapes decoded exactly), adds each one's ``Type/id`` form (as the map looks
it up), and registers only the whole map's entries for those candidates
(:class:`PartReferenceMap`). A lookup the scan did not foresee (a member name
written with escapes, a text that is not its key's resource) is not guessed:
the map says it is unsure and this process's parent minimises the part itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import PLAIN_KEY, PartReferenceMap, source_key

#: What precedes a reference's text: the member name ``reference``, a colon, a quote.
_REFERENCE_MEMBER = r'"reference"\s*:\s*"'
#: A JSON string's content up to its closing quote (escapes kept as written).
_STRING_CONTENT = r'^(?P<value>(?:[^"\\]|\\.)*)"'
#: Rows per batch of the keys handed to the worker (read one batch at a time; each batch
#: is one hash lookup of the candidates, which Arrow builds afresh per call).
BATCH_ROWS = 1 << 20
_KEYS_AT_ONCE = 8_192
#: Windows whose references are kept before they are made distinct together.
_MERGED = 16


def references_in(texts: pa.Array) -> pa.Array:
    """The distinct text of every ``"reference"`` string member in ``texts``, as written.

    A superset of what minimising the texts resolves through the map (a member name
    written with escapes is not found: the map then says it is unsure).
    """
    if len(texts) == 0:
        return pa.array([], pa.string())
    pieces = pc.list_flatten(pc.list_slice(pc.split_pattern_regex(texts, _REFERENCE_MEMBER), 1))
    values = pc.struct_field(pc.extract_regex(pieces, _STRING_CONTENT), [0])
    return pc.unique(pc.drop_null(values))


def candidates(written: Iterable[pa.Array]) -> pa.Array:
    """Every lookup the references ``written`` may ask of the map: each decoded, and its key."""
    values = pc.unique(pa.chunked_array(list(written), pa.string()))
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    escaped = pc.match_substring(values, "\\")
    decoded = [
        _decoded(text) for text in pc.filter(values, escaped).to_pylist() if text is not None
    ]
    plain = pc.filter(values, pc.invert(escaped))
    texts = [plain, pa.array([t for t in decoded if t is not None], pa.string())]
    odd = pc.or_(
        pc.invert(pc.match_substring_regex(texts[0], PLAIN_KEY)),
        pc.match_substring(texts[0], "_history"),
    )
    forms = pc.filter(texts[0], odd).to_pylist() + texts[1].to_pylist()
    texts.append(pa.array([source_key(text) for text in forms if text is not None], pa.string()))
    unique = pc.unique(pa.chunked_array(texts, pa.string()))
    return unique.combine_chunks() if isinstance(unique, pa.ChunkedArray) else unique


def _decoded(escaped: str) -> str | None:
    """The string a JSON string content with escapes stands for (None: not valid JSON)."""
    try:
        value = msgspec.json.decode(f'"{escaped}"')
    except msgspec.DecodeError:
        return None  # the text is not valid JSON there: minimising it fails the same way
    return value if isinstance(value, str) else None


def _distinct(found: Iterable[pa.Array]) -> Iterator[pa.Array]:
    """The windows' references, made distinct every :data:`_MERGED` windows (held once)."""
    pending: list[pa.Array] = []
    for references in found:
        pending.append(references)
        if len(pending) >= _MERGED:
            merged = pc.unique(pa.chunked_array(pending, pa.string()))
            pending = [merged.combine_chunks() if isinstance(merged, pa.ChunkedArray) else merged]
    yield from pending


def own_keys(keys: Iterable[pa.RecordBatch], start: int) -> Iterator[str]:
    """The keys from position ``start`` on, one at a time (the resources of the part)."""
    position = 0
    for batch in keys:
        column = batch.column(0)
        if position + len(column) > start:
            own = column.slice(max(0, start - position))
            for offset in range(0, len(own), _KEYS_AT_ONCE):
                yield from own.slice(offset, _KEYS_AT_ONCE).to_pylist()
        position += len(column)


def part_map(
    ids: ResourceIds,
    *,
    closed: bool,
    keys: Iterable[pa.RecordBatch | pa.Array],
    targets: Iterable[pa.RecordBatch],
    texts: Iterable[pa.Array],
    complete: Callable[[PartReferenceMap], None] | None = None,
) -> PartReferenceMap:
    """The whole map's entries for each reference the part's ``texts`` hold.

    ``keys``: every resource's key, in batches; ``targets``: the whole map's
    :meth:`ReferenceMap.targets`, in batches (read one at a time). The part's own keys
    are not held: each is the map's :attr:`PartReferenceMap.current` while its resource is
    minimised. ``complete``: see :class:`PartReferenceMap`.
    """
    wanted = candidates(_distinct(references_in(window) for window in texts))
    absent: set[str] = set()
    references = PartReferenceMap(ids, closed, absent, complete)
    held: list[pa.Array] = []
    for batch in keys:
        column = batch.column(0) if isinstance(batch, pa.RecordBatch) else batch
        found = pc.filter(column, pc.is_in(column, value_set=wanted))
        if len(found):
            references.add_keys(found.to_pylist())
            held.append(found)
    for targets_batch in targets:
        kept = targets_batch.filter(pc.is_in(targets_batch.column(0), value_set=wanted))
        if kept.num_rows:
            references.add_targets(pa.Table.from_batches([kept]))
            held.append(kept.column(0))
    found_all = pa.chunked_array(held, pa.string()).combine_chunks()
    missing = pc.filter(wanted, pc.invert(pc.is_in(wanted, value_set=found_all)))
    absent.update(text for text in missing.to_pylist() if text is not None)
    del wanted, held, found_all, missing
    pa.default_memory_pool().release_unused()  # the scan's and filters' buffers, back now
    return references
