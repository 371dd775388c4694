"""Local-mode file rewriting, the idempotency cache and fault countdown."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aanlevering.counterparts.ttp.config import TTPConfig, load_config
from aanlevering.counterparts.ttp.dataset import data_format, pseudonymise_file
from aanlevering.counterparts.ttp.demo_config import DemoRegistration, write_demo_config
from aanlevering.counterparts.ttp.faults import FaultInjector
from aanlevering.counterparts.ttp.idempotency import IdempotencyCache
from aanlevering.counterparts.ttp.keys import KeyRing, VersionKeys
from aanlevering.counterparts.ttp.pseudonyms import DefinitiveMaker
from aanlevering.counterparts.ttp.refusal import Refusal


def digest(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> TTPConfig:
    setup = write_demo_config(
        tmp_path_factory.mktemp("dataset"),
        registrations=[DemoRegistration("reg", "holder", ("NGGV", "C", "MRN"))],
    )
    return load_config(setup.config)


@pytest.fixture(scope="module")
def keys(config: TTPConfig) -> VersionKeys:
    return KeyRing(config).active("reg")


def rewrite(config: TTPConfig, keys: VersionKeys, name: str, data: bytes):
    return pseudonymise_file(config.registrations["reg"], keys, "hospital", name, data)


def test_ndjson_inputs_become_pseudonyms_in_place(config: TTPConfig, keys: VersionKeys) -> None:
    lines = [
        {"id": 1, "pseudonym_inputs": {"NGGV": digest("a"), "C": digest("c")}, "x": "kept"},
        {"id": 2, "no": "inputs"},
    ]
    data = ("\n".join(json.dumps(line) for line in lines) + "\n\n").encode()

    out = rewrite(config, keys, "data.ndjson", data)

    first, second = (json.loads(line) for line in out.data.decode().splitlines())
    assert list(first) == ["id", "pseudonyms", "x"]
    assert first["pseudonyms"]["NGGV"] == DefinitiveMaker(keys).from_hex("NGGV", digest("a"), 0)
    assert second == {"id": 2, "no": "inputs"}
    assert (out.records, out.type_counts) == (2, {"NGGV": 1, "C": 1})


def test_fhir_identifiers_in_a_json_document_are_replaced(
    config: TTPConfig, keys: VersionKeys
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {"system": "urn:aanlevering:pseudonym-input:NGGV", "value": digest("p")},
                    ],
                }
            }
        ],
    }
    out = rewrite(config, keys, "bundle.json", json.dumps(bundle).encode())
    identifiers = json.loads(out.data)["entry"][0]["resource"]["identifier"]
    # the registration's NamingSystem, the same system web mode delivers
    assert (
        identifiers[0]["system"]
        == "https://aanlevering.example/fhir/NamingSystem/pseudonym/reg/NGGV"
    )
    assert identifiers[0]["value"].startswith("NGGV:v1:")
    # Another identifier (a clear MRN?) is not passed on but refused (decision 1020).
    other = {"system": "urn:other", "value": "MRN0012345"}
    bundle["entry"][0]["resource"]["identifier"].append(other)  # type: ignore[index]
    with pytest.raises(Refusal) as refused:
        rewrite(config, keys, "bundle.json", json.dumps(bundle).encode())
    assert refused.value.code == "clear_identifier"
    assert "MRN0012345" not in refused.value.message


def test_csv_with_semicolons_keeps_its_shape(config: TTPConfig, keys: VersionKeys) -> None:
    data = f'id;pseudonym_input.C;note\r\n1;{digest("c")};"a;b"\r\n2;;x\r\n'.encode()
    out = rewrite(config, keys, "data.CSV", data)
    lines = out.data.decode().split("\r\n")
    assert lines[0] == "id;pseudonym.C;note"
    assert lines[1].startswith("1;C:v1:") and lines[1].endswith(';"a;b"')
    assert lines[2] == "2;;x"
    assert (out.records, out.type_counts) == (2, {"C": 1})


def test_problems_name_file_line_and_type_never_values(
    config: TTPConfig, keys: VersionKeys
) -> None:
    bad = "Z" * 64
    data = (
        json.dumps({"pseudonym_inputs": {"NGGV": digest("ok")}})
        + "\n"
        + json.dumps({"pseudonym_inputs": {"C": bad}})
        + "\n"
    ).encode()
    with pytest.raises(Refusal) as refused:
        rewrite(config, keys, "tumor.ndjson", data)
    assert "tumor.ndjson line 2" in refused.value.message and bad not in refused.value.message

    with pytest.raises(Refusal) as disallowed:
        rewrite(config, keys, "t.csv", b"id,pseudonym_input.B\n1,x\n")
    assert (disallowed.value.status, disallowed.value.pseudonym_type) == (403, "B")
    assert "t.csv header" in disallowed.value.message

    with pytest.raises(Refusal, match="line 3: 1 fields, the header has 2"):
        rewrite(config, keys, "t.csv", f"id,pseudonym_input.C\n1,{digest('c')}\nshort\n".encode())
    with pytest.raises(Refusal, match="not valid UTF-8 JSON"):
        rewrite(config, keys, "t.ndjson", b"{not json\n")
    with pytest.raises(Refusal, match=r"reads \.csv"):
        rewrite(config, keys, "t.xlsx", b"")


def test_data_format_by_name() -> None:
    assert [data_format(n) for n in ("a.csv", "a.ndjson", "a.jsonl", "a.json", "a.txt")] == [
        "csv",
        "ndjson",
        "ndjson",
        "json",
        None,
    ]


def test_idempotency_cache_replays_refuses_and_stays_bounded() -> None:
    cache = IdempotencyCache(max_bytes=10)
    key = ("org", "/x", "r1")
    assert cache.lookup(key, "f1") is None
    cache.store(key, "f1", b"12345")
    assert cache.lookup(key, "f1") == b"12345"
    with pytest.raises(Refusal) as refused:
        cache.lookup(key, "f2")
    assert refused.value.status == 409

    cache.store(("org", "/x", "r2"), "f", b"123456")  # evicts r1 (least recently used)
    assert cache.lookup(key, "f1") is None
    assert len(cache) == 1
    cache.store(("org", "/x", "huge"), "f", b"x" * 11)  # larger than the bound: not kept
    assert cache.lookup(("org", "/x", "huge"), "f") is None


def test_an_evicted_or_unkept_request_id_still_refuses_another_body(tmp_path: Path) -> None:
    """The fingerprint outlives the answer, and the process (decision 1026)."""
    ledger = tmp_path / "request-ids.jsonl"
    cache = IdempotencyCache(max_bytes=10, ledger=ledger)
    cache.store(("org", "/x", "r1"), "f1", b"12345")
    cache.store(("org", "/x", "r2"), "f", b"123456")  # evicts r1's answer
    cache.store(("org", "/x", "huge"), "f", b"x" * 11)  # never kept
    for cached in (cache, IdempotencyCache(max_bytes=10, ledger=ledger)):
        for key, fingerprint in ((("org", "/x", "r1"), "f1"), (("org", "/x", "huge"), "f")):
            assert cached.lookup(key, fingerprint) is None  # served again from scratch
            with pytest.raises(Refusal) as refused:
                cached.lookup(key, "other")
            assert refused.value.status == 409
    with ledger.open("a") as handle:
        handle.write('{"organisation":"org","endpoint":"/x","requ')  # cut short by a crash
    after_crash = IdempotencyCache(max_bytes=10, ledger=ledger)
    assert after_crash.lookup(("org", "/x", "r1"), "f1") is None
    after_crash.store(("org", "/x", "r3"), "f3", b"1")
    with pytest.raises(Refusal):  # the line after the cut one is read back whole
        IdempotencyCache(max_bytes=10, ledger=ledger).lookup(("org", "/x", "r3"), "other")


def test_fault_injector_counts_down_and_spares_health() -> None:
    faults = FaultInjector()
    faults.arm(2, "error", 0.0, "/pseudonyms")
    assert faults.take("/health") is None
    assert faults.take("/mrn/reverse") is None
    assert faults.take("/pseudonyms/temporary") is not None
    assert faults.take("/pseudonyms/exchange") is not None
    assert faults.take("/pseudonyms/temporary") is None
    assert faults.injected == 2


def test_example_config_in_schemas_loads(tmp_path: Path) -> None:
    from aanlevering.settings import checkout_root

    root = checkout_root()
    assert root is not None
    example = root / "schemas" / "ttp" / "ttp.example.yaml"
    target = tmp_path / "ttp.yaml"
    target.write_text(example.read_text())
    config = load_config(target)
    assert config.registrations["nkr-borst"].forward_url is not None
    assert config.master_key_file == tmp_path / "keys" / "master.key"


@pytest.mark.parametrize(
    ("document", "records"),
    [
        ({"resourceType": "Bundle", "type": "collection", "entry": [{}, {}, {}]}, 3),
        ({"resourceType": "Bundle", "type": "collection"}, 0),
        ({"some": "document"}, 1),
    ],
)
def test_a_bundles_records_are_its_entries_as_the_manifest_counts_them(
    config: TTPConfig, keys: VersionKeys, document: dict[str, object], records: int
) -> None:
    """The hospital compares this count with its manifest's per file (decision 0596)."""
    out = rewrite(config, keys, "Bundle-000001.json", json.dumps(document).encode())
    assert out.records == records
