"""Delivered ids and record keys made a column at a time: the same text as one at a time."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from aanlevering.fhir.ids import RecordKeys, ResourceIds, uuid_texts

SALT = b"column ids test: a salt of 32 b."
KINDS = st.sampled_from(["Patient", "QuestionnaireResponse:operatie", "", "x\x00y", "é"])
KEYS = st.lists(st.text(max_size=40), max_size=60)


@settings(max_examples=200, deadline=None)
@given(kind=KINDS, keys=KEYS)
def test_resource_ids_column_is_make_of_each_key(kind: str, keys: list[str]) -> None:
    ids = ResourceIds(SALT)
    column = ids.column(kind, keys)
    assert column.type == pa.string()
    assert column.to_pylist() == [ids.make(kind, key) for key in keys]


@settings(max_examples=200, deadline=None)
@given(namespace=KINDS, keys=st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=60))
def test_record_keys_column_is_make_of_each_key(namespace: str, keys: list[str | None]) -> None:
    record_keys = RecordKeys(SALT, "dica-dsaa", "ziekenhuis")
    column = record_keys.column(namespace, pa.array(keys, pa.string()))
    assert column.to_pylist() == [
        None if key is None else record_keys.make(namespace, key) for key in keys
    ]


def test_uuid_text_sets_version_and_variant_of_every_digest() -> None:
    digests = bytes(range(256)) * 4  # every byte value in every position of 64 digests
    texts = uuid_texts(digests).to_pylist()
    assert len(texts) == 64
    for index, text in enumerate(texts):
        raw = digests[index * 16 : index * 16 + 16].hex()
        assert text.replace("-", "")[:12] == raw[:12]
        assert text[14] == "4" and text[19] in "89ab"
        assert [len(part) for part in text.split("-")] == [8, 4, 4, 4, 12]
        assert int(text[19], 16) & 3 == int(raw[16], 16) & 3
        assert text.replace("-", "")[13:16] + text.replace("-", "")[17:] == raw[13:16] + raw[17:]
