"""Dataset records as QuestionnaireResponses: the delivered data set in FHIR.

Every record of every dataset (a row of the extract's clinical table) becomes
one QuestionnaireResponse whose ``questionnaire`` is the dataset's
Questionnaire in the dictionary (``.../Questionnaire/<dictionary>-<dataset>|<version>``),
``subject`` the pseudonymised Patient, and one ``item`` per non-null
variable: ``linkId`` is the variable name exactly as in the dictionary, the
answer is typed (valueString, valueInteger, valueDecimal, valueDate,
valueDateTime, valueBoolean, valueCoding with the option set as system).
Record keys such as ``operatie_id`` are items too; generalised variables
(``geboortejaar``, ``pc4_woonplaats``) come from the clinical table like the
rest. This works the same for CSV and FHIR sources.

The encoder writes JSON text column-wise with Arrow (see
:mod:`aanlevering.output.values`): the only per-record Python work is the
record's id and subject reference. It lives in ``output`` next to the value
formatting it uses; ``fhir`` holds what every FHIR resource shares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.catalogue.model import Dataset, Variable
from aanlevering.errors import OutputError
from aanlevering.extract.model import ARROW_TYPES
from aanlevering.fhir.context import DeliveryContext
from aanlevering.fhir.conventions import delivered_json, option_set_system, questionnaire_url
from aanlevering.fhir.patient import SECURITY_META
from aanlevering.output.values import ValueProblem, fhir_text

RESOURCE_TYPE = "QuestionnaireResponse"

#: Told each column (as the output guard names it) and the JSON literals written in it.
Note = Callable[[str, pa.Array], None]
#: The one constant value of a record the output guard reads (``status``).
STATUS = "completed"
STATUS_LITERAL = f'"{STATUS}"'

_ANSWER_ELEMENT = {
    "string": "valueString",
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "date": "valueDate",
    "datetime": "valueDateTime",
    "boolean": "valueBoolean",
    "code": "valueCoding",
}


_COMMA = pa.scalar(",", pa.string())
_NOTHING = pa.scalar("", pa.string())


def _item(prefix: str, text: pa.Array, suffix: str) -> list[pa.Array | str]:
    """Join pieces of one item: ``prefix``/``suffix`` only where ``text`` is not null."""
    if text.null_count == 0:  # spliced into the record's join as they are: no copy here
        return [prefix, text, suffix]
    return [pc.binary_join_element_wise(prefix, text, suffix, "")]


def _strings(values: Sequence[str] | pa.Array) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(values, pa.string())


def questionnaire_canonical(context: DeliveryContext, dataset: str) -> str:
    """``questionnaire`` of a record: the dataset's Questionnaire at the dictionary version."""
    dictionary = context.dictionary
    return f"{questionnaire_url(dictionary.id, dataset)}|{dictionary.version}"


def record_kind(dataset: str) -> str:
    """Id namespace of the records of ``dataset`` (keeps record ids apart from others)."""
    return f"{RESOURCE_TYPE}:{dataset}"


class RecordEncoder:
    """Encodes the records of one dataset as QuestionnaireResponse JSON lines."""

    def __init__(self, context: DeliveryContext, dataset: Dataset) -> None:
        self.context = context
        self.dataset = dataset
        self.kind = record_kind(dataset.name)
        self._item_parts: list[tuple[Variable, str, str]] = []
        for variable in dataset.variables:
            element = _ANSWER_ELEMENT[variable.type]
            # Each item starts with its separator; the first one is cut off below.
            prefix = f',{{"linkId":{delivered_json(variable.name)},"answer":[{{"{element}":'
            suffix = "}]}"
            if variable.type == "code":
                system = option_set_system(context.dictionary.id, variable.option_set or "")
                prefix += f'{{"system":{delivered_json(system)},"code":'
                suffix = "}" + suffix
            self._item_parts.append((variable, prefix, suffix))
        head = {
            "resourceType": RESOURCE_TYPE,
            "meta": SECURITY_META,
            "questionnaire": questionnaire_canonical(context, dataset.name),
            "status": STATUS,
        }
        head_text = delivered_json(head)[:-1]
        self._open = '{"resourceType":"QuestionnaireResponse","id":"'
        self._after_id = '",' + head_text[len('{"resourceType":"QuestionnaireResponse",') :]
        self._after_id += ',"subject":{"reference":"'
        self._no_items = '"}}'
        self._items_open = '"},"item":['
        self._items_close = "]}"

    def encode(
        self,
        clinical: pa.Table,
        ids: Sequence[str] | pa.Array,
        subjects: Sequence[str] | pa.Array,
        row_refs: Sequence[str],
        end: str = "",
        *,
        note: Note | None = None,
    ) -> pa.Array:
        """JSON text of each record of ``clinical`` (a batch of the dataset's table).

        Returns an Arrow string array, one resource per element, each followed
        by ``end`` (``"\\n"`` gives NDJSON lines whose data buffer is the file).

        ``ids``: delivered record ids; ``subjects``: the Patient reference of
        each record (``Patient/<id>`` or ``urn:uuid:<id>``); ``row_refs`` name
        records in errors. Raises :class:`OutputError` naming the row and
        variable of a value FHIR cannot carry.
        """
        rows = clinical.num_rows
        if note is not None and rows:
            note(f"{RESOURCE_TYPE}.status", pa.array([STATUS_LITERAL], pa.string()))
        # One join writes each record's text: the items' pieces go in as they
        # are (a scalar prefix and suffix where the column has no nulls), so
        # the record text is copied once, not once per step.
        item_pieces: list[pa.Array | pa.Scalar | str] = []
        # Per record, whether an item was written before (None: for no record
        # yet); once it holds for every record, every later item has a comma.
        earlier: pa.Array | None = None
        earlier_all = False
        for variable, prefix, suffix in self._item_parts:
            text = self._answer_text(clinical, variable, row_refs, note)
            if earlier_all:
                item_pieces += _item(prefix, text, suffix)
                continue
            bare = prefix[1:]  # without the separating comma
            valid = None if text.null_count == 0 else pc.is_valid(text)
            if earlier is not None:
                has_comma = earlier if valid is None else pc.and_(earlier, valid)
                item_pieces.append(pc.if_else(has_comma, _COMMA, _NOTHING))
            item_pieces += _item(bare, text, suffix)
            if valid is None:
                earlier_all = True
            else:
                earlier = valid if earlier is None else pc.or_(earlier, valid)
                earlier_all = pc.all(earlier).as_py() is True
        if earlier_all:
            head: pa.Array | pa.Scalar | str = self._items_open
            close: pa.Array | pa.Scalar | str = self._items_close
        elif earlier is None:
            head, close = self._no_items, ""
        else:
            head = pc.if_else(earlier, pa.scalar(self._items_open), pa.scalar(self._no_items))
            close = pc.if_else(earlier, pa.scalar(self._items_close), _NOTHING)
        return pc.binary_join_element_wise(
            self._open,
            _strings(ids),
            self._after_id,
            _strings(subjects),
            head,
            *item_pieces,
            close,
            end,
            "",
            null_handling="replace",
            null_replacement="",
        )

    def _answer_text(
        self, clinical: pa.Table, variable: Variable, row_refs: Sequence[str], note: Note | None
    ) -> pa.Array:
        """JSON literals of one variable's answers; OutputError names row and variable."""
        if variable.name not in clinical.column_names:
            raise OutputError(
                f"dataset {self.dataset.name}: clinical table has no column {variable.name!r}"
            )
        try:
            text = fhir_text(clinical.column(variable.name), variable, self.context.timezone)
        except ValueProblem as problem:
            where = row_refs[problem.index] if problem.index >= 0 else "every row"
            raise OutputError(
                f"dataset {self.dataset.name}, row {where}, variable {variable.name}: "
                f"expected {problem.expected} (Arrow type "
                f"{ARROW_TYPES[variable.type]} per the dictionary)"
            ) from None
        if note is not None:
            note(f"item {variable.name}", text)
        return text


def questionnaire_response(
    context: DeliveryContext,
    dataset: Dataset,
    record: Mapping[str, object],
    *,
    record_id: str,
    subject_reference: str,
    row_ref: str = "record",
) -> dict[str, Any]:
    """One record as a QuestionnaireResponse dict (same encoder as the writers)."""
    columns = {
        variable.name: pa.array([record.get(variable.name)], ARROW_TYPES[variable.type])
        for variable in dataset.variables
    }
    table = pa.table(columns)
    encoded = RecordEncoder(context, dataset).encode(
        table, [record_id], [subject_reference], [row_ref]
    )
    parsed: dict[str, Any] = json.loads(encoded[0].as_py())
    return parsed
