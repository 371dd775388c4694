"""A manifest from outside (receiver, TTP upload) parses or gives a DeliveryError, nothing else.

Receivers parse manifests they did not write, so every field's JSON type is
checked; the fuzz loop mutates a real manifest a few thousand times.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from aanlevering.deliver.manifest import Manifest, ManifestFile
from aanlevering.errors import DeliveryError

MANIFEST = Manifest(
    idempotency_key="nkr-borst.2026.v1",
    registration="nkr-borst",
    registry_holder="iknl",
    period="2026",
    period_start="2026-01-01",
    period_end="2026-12-31",
    version=1,
    dictionary_id="nkr-borst",
    dictionary_version="2026.1",
    format="ndjson",
    normalisation_profile="nl-2026.1",
    pseudonym_types=("NGGV", "MRN"),
    key_versions={"NGGV": 1},
    ttp_mode="web",
    provider_id="demo-hospital",
    files=(ManifestFile("tumor.ndjson", "ab" * 32, 120, 3, "application/x-ndjson"),),
    record_counts={"tumor": 3},
)


def test_a_manifest_survives_a_round_trip() -> None:
    assert Manifest.from_json(MANIFEST.to_json()) == MANIFEST
    assert Manifest.from_json(MANIFEST.to_json().encode()) == MANIFEST


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "1"}, "version: expected an integer"),
        ({"version": True}, "version: expected an integer"),
        ({"registration": {"id": "x"}}, "registration: expected text"),
        ({"pseudonym_types": "NGGV"}, "pseudonym_types: expected a list of texts"),
        ({"record_counts": {"tumor": "3"}}, "record_counts: expected an object of integers"),
        ({"files": [{"name": 5}]}, r"files\[0\]\.name: expected text"),
        ({"files": ["tumor.ndjson"]}, r"files\[0\]: expected an object"),
        ({"kind": "other"}, "kind: expected delivery or retraction"),
        ({"surprise": 1}, "unknown field"),
    ],
)
def test_a_field_of_the_wrong_type_is_named(change: dict[str, Any], message: str) -> None:
    raw = json.loads(MANIFEST.to_json()) | change
    with pytest.raises(DeliveryError, match=message):
        Manifest.from_json(json.dumps(raw))


@pytest.mark.parametrize(
    "text",
    ["[" * 50_000, '{"version": ' + "9" * 5000 + "}", "\udc80", b"\xff\xfe{", "NaN", "[]"],
)
def test_hostile_json_is_a_delivery_error(text: str | bytes) -> None:
    with pytest.raises(DeliveryError, match="invalid delivery manifest"):
        Manifest.from_json(text)


TOKENS = (b'"', b"{", b"[", b"[" * 3000, b"9" * 5000, b"\xff", b"\\ud800", b"NaN", b",", b"null")


def test_fuzzed_manifests_only_ever_parse_or_give_a_delivery_error() -> None:
    rng = random.Random(1415)
    original = MANIFEST.to_json().encode()
    keys = list(json.loads(original))
    values: tuple[Any, ...] = (None, 1, -1, 10**40, "x", [], {}, [1], {"a": "b"}, True, 1.5)
    parsed = refused = 0
    for number in range(3000):
        if rng.random() < 0.5:
            raw = json.loads(original)
            raw[rng.choice(keys)] = rng.choice(values)
            data = json.dumps(raw).encode()
        else:
            out = bytearray(original)
            for _ in range(rng.randint(1, 3)):
                position = rng.randrange(len(out) + 1)
                out[position:position] = rng.choice(TOKENS)
            data = bytes(out)
        try:
            Manifest.from_json(data)
            parsed += 1
        except DeliveryError:
            refused += 1
        except Exception as error:
            raise AssertionError(f"case {number}: {error!r}") from error
    assert parsed and refused


def test_every_manifest_field_has_a_type_check() -> None:
    from dataclasses import fields

    from aanlevering.deliver import manifest

    assert set(manifest._MANIFEST_FIELDS) == {f.name for f in fields(Manifest)}
    assert set(manifest._FILE_FIELDS) == {f.name for f in fields(ManifestFile)}
