"""Delivered Patients for a whole batch at once, from the run's pseudonym columns.

A delivery of a million people cannot afford Python work per person for the
Patient text: the pseudonyms arrive as Arrow columns (one per type, see
:class:`PseudonymTable`), and the text of a batch of Patients is joined in
Arrow from the same cached parts :class:`PatientBuilder` uses. The result is
byte for byte the text :meth:`PatientBuilder.text` writes for each person,
and the same rules hold, checked once per column instead of once per person:
only approved types, in the registration's order; values that make a valid
identifier; key versions and profiles that can be delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from json.encoder import encode_basestring

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.errors import PseudonymisationError
from aanlevering.fhir.approved import check_label, check_value
from aanlevering.fhir.generalised import GeneralisedForms
from aanlevering.fhir.patient import PatientBuilder
from aanlevering.pseudonym.model import Pseudonym, PseudonymColumn, PseudonymTable

#: Printable ASCII without space, quote or backslash: valid identifier text that JSON
#: carries unescaped (every TTP label and source digest is of this kind).
_PLAIN = r"^[!#-\[\]-~]+$"
_MAX_VALUE = 1024
_EMPTY = pa.scalar("", pa.string())


def _approved_columns(
    builder: PatientBuilder, table: PseudonymTable, rows: pa.Array
) -> list[tuple[PseudonymColumn, pa.Array, pa.Array]]:
    """The columns to deliver, in registration order, restricted to ``rows``.

    A column of an unapproved type stops the delivery as soon as one of the
    delivered people has a value in it (as :meth:`DeliveryContext.approved`).
    """
    context = builder.context
    order = {type_: index for index, type_ in enumerate(context.pseudonym_types)}
    chosen = []
    for column in table.columns:
        values = column.values.take(rows)
        if values.null_count == len(values):
            continue
        if column.type not in order:
            raise PseudonymisationError(
                f"registration {context.registration_id}: pseudonym type {column.type} "
                "is not approved for this registration and must not be delivered"
            )
        chosen.append((column, values, column.key_versions.take(rows)))
    chosen.sort(key=lambda item: order[item[0].type])
    return chosen


def _json_values(
    chosen: Sequence[tuple[PseudonymColumn, pa.Array, pa.Array]],
) -> list[pa.Array]:
    """Each column's values as JSON strings (null where absent), checked.

    Values outside the plain set are checked and escaped one by one; an
    invalid one raises the error :func:`check_value` gives, for the first
    person (in batch order) that has one, naming the first type in
    registration order, as the per-person path does.
    """
    encoded = []
    invalid_rows: dict[int, list[Pseudonym]] = {}
    for column, values, versions in chosen:
        plain = pc.fill_null(
            pc.and_(
                pc.match_substring_regex(values, _PLAIN),
                pc.less_equal(pc.binary_length(values), _MAX_VALUE),
            ),
            True,
        )
        if pc.all(plain).as_py():
            text = pc.binary_join_element_wise('"', values, '"', "")
        else:
            texts = values.to_pylist()
            flags = plain.to_pylist()
            for row, (value, ok) in enumerate(zip(texts, flags, strict=True)):
                if ok or value is None:
                    continue
                pseudonym = Pseudonym(
                    column.type, value, versions[row].as_py(), column.temporary, column.profile
                )
                try:
                    check_value(pseudonym)
                except PseudonymisationError:
                    invalid_rows.setdefault(row, []).append(pseudonym)
                    continue
                texts[row] = encode_basestring(value)
            for row, ok in enumerate(flags):
                if ok and texts[row] is not None:
                    texts[row] = f'"{texts[row]}"'
            text = pa.array(texts, pa.string())
        encoded.append(text)
    if invalid_rows:
        check_value(invalid_rows[min(invalid_rows)][0])
    return encoded


def _identifier_pieces(
    builder: PatientBuilder,
    column: PseudonymColumn,
    json_values: pa.Array,
    versions: pa.Array,
    earlier: pa.Array | None,
) -> tuple[pa.Array | pa.Scalar, pa.Array]:
    """The text before this type's value in each Patient, and the value with its ``}``.

    The text before is "" where the person has no value of this type,
    ``,"identifier":[`` + the Identifier's cached prefix where it is the first
    identifier, ``,`` + prefix otherwise. Why pieces: the Patient text is then
    joined in one pass, and a piece that is the same for the whole batch (the
    usual case: every person has the type, one key version) stays a scalar
    instead of hundreds of bytes copied per person.
    """
    present_mask = pc.is_valid(json_values)
    present = pc.drop_null(
        pc.unique(pc.if_else(present_mask, versions, pa.scalar(None, pa.int64())))
    )
    options = [""]
    option_of: dict[tuple[int, bool], int] = {}
    for version in present.to_pylist():
        label = Pseudonym(column.type, "", int(version), column.temporary, column.profile)
        check_label(label)
        builder.approved.note_label(label)
        prefix = builder.prefix(label)
        option_of[(int(version), False)] = len(options)
        options.append(',"identifier":[' + prefix)
        option_of[(int(version), True)] = len(options)
        options.append("," + prefix)
    after_first = earlier if earlier is not None else pa.array([False] * len(json_values))
    valued = pc.fill_null(pc.binary_join_element_wise(json_values, "}", ""), _EMPTY)
    if len(present) == 1:
        version = int(present[0].as_py())
        all_present = json_values.null_count == 0
        first_kinds = pc.unique(after_first).to_pylist()
        if all_present and len(first_kinds) == 1:
            text = options[option_of[(version, bool(first_kinds[0]))]]
            return pa.scalar(text, pa.string()), valued
    chosen = [
        option_of[(int(v), bool(a))] if valid else 0
        for valid, v, a in zip(
            present_mask.to_pylist(), versions.to_pylist(), after_first.to_pylist(), strict=True
        )
    ]
    return pa.array(options, pa.string()).take(pa.array(chosen, pa.int32())), valued


def form_texts(forms: Sequence[GeneralisedForms]) -> pa.Array:
    """The text a Patient with ``forms`` carries after its identifiers, one per form.

    Gender, birth year and PC4 as :meth:`PatientBuilder.text` writes them (""
    for none). Why: a batch takes each person's text from the few distinct
    forms of the delivery instead of escaping three values per person.
    """
    return pa.array(
        [
            _optional(',"gender":', "", form.gender)
            + _optional(',"birthDate":', "", form.birth_year)
            + _optional(',"address":[{"postalCode":', "}]", form.pc4)
            for form in forms
        ],
        pa.string(),
    )


def _optional(prefix: str, suffix: str, value: str | None) -> str:
    """``prefix + JSON string + suffix`` where a value is present, "" otherwise."""
    return "" if value is None else prefix + encode_basestring(value) + suffix


def _json_ids(delivered_ids: pa.Array) -> pa.Array:
    """Delivered ids as JSON strings: quoted in Arrow when none needs escaping (UUIDs)."""
    if pc.all(pc.match_substring_regex(delivered_ids, _PLAIN)).as_py() is not False:
        return pc.binary_join_element_wise('"', delivered_ids, '"', "")
    return pa.array([encode_basestring(v) for v in delivered_ids.to_pylist()], pa.string())


def patient_texts(
    builder: PatientBuilder,
    table: PseudonymTable,
    rows: pa.Array,
    delivered_ids: pa.Array,
    forms: pa.Array,
    *,
    end: str = "",
) -> pa.Array:
    """JSON text of the delivered Patient of each person at ``rows`` of ``table``.

    ``delivered_ids[i]`` and ``forms[i]`` belong to ``rows[i]``: the
    delivered id, and the :func:`form_texts` text of the person's generalised
    forms. ``end`` follows each text (``"\\n"`` for NDJSON). Raises
    :class:`PseudonymisationError` as :meth:`PatientBuilder.text` does.
    """
    chosen = _approved_columns(builder, table, rows)
    pieces: list[pa.Array | pa.Scalar] = []
    earlier: pa.Array | None = None  # per person: an identifier was written before
    for (column, _, versions), values in zip(chosen, _json_values(chosen), strict=True):
        before, valued = _identifier_pieces(builder, column, values, versions, earlier)
        pieces += [before, valued]
        valid = pc.is_valid(values)
        earlier = valid if earlier is None else pc.or_(earlier, valid)
    if earlier is not None:
        pieces.append(pc.if_else(earlier, pa.scalar("]"), _EMPTY))
    return pc.binary_join_element_wise(
        builder.head, _json_ids(delivered_ids), builder.meta, *pieces, forms, "}" + end, ""
    )
