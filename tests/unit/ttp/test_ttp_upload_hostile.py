"""The TTP's local-mode file rewriting refuses hostile uploads (a Refusal, 4xx) and never crashes.

Mutates real upload files (NDJSON, a JSON document, CSV) a few thousand
times with a fixed seed; the only outcomes allowed are a rewritten file or a
:class:`Refusal` with a 4xx status. The HTTP side is covered in
``tests/integration/ttp/test_ttp_upload_hostile_http.py``.
"""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from aanlevering.counterparts.ttp.config import TTPConfig, load_config
from aanlevering.counterparts.ttp.dataset import pseudonymise_file
from aanlevering.counterparts.ttp.demo_config import DemoRegistration, write_demo_config
from aanlevering.counterparts.ttp.keys import KeyRing, VersionKeys
from aanlevering.counterparts.ttp.refusal import Refusal


def digest(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> TTPConfig:
    setup = write_demo_config(
        tmp_path_factory.mktemp("hostile"),
        registrations=[DemoRegistration("reg", "holder", ("NGGV", "C", "MRN"))],
    )
    return load_config(setup.config)


@pytest.fixture(scope="module")
def keys(config: TTPConfig) -> VersionKeys:
    return KeyRing(config).active("reg")


NDJSON = b"".join(
    json.dumps(
        {"id": i, "pseudonym_inputs": {"NGGV": digest(f"n{i}"), "C": digest(f"c{i}")}}
    ).encode()
    + b"\n"
    for i in range(3)
)
DOCUMENT = json.dumps(
    {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "identifier": [
                        {"system": "urn:aanlevering:pseudonym-input:NGGV", "value": digest("x")}
                    ]
                }
            }
        ],
    }
).encode()
CSV = (
    "id;pseudonym_input.NGGV;x\n" + "".join(f"{i};{digest(str(i))};v\n" for i in range(3))
).encode()
FILES = {"data.ndjson": NDJSON, "data.json": DOCUMENT, "data.csv": CSV}


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("data.ndjson", b'{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n", "nested deeper"),
        ("data.json", b'{"a": ' + b"9" * 5000 + b"}", "digits"),
        ("data.ndjson", b'{"a": NaN}\n', "NaN"),
        ("data.csv", b'id;pseudonym_input.NGGV\n1;"' + b"x" * 140_000 + b'"\n', "malformed CSV"),
        ("data.csv", b'id;pseudonym_input.NGGV\n1;"unclosed\n', "malformed CSV"),
    ],
)
def test_hostile_files_are_refused_with_422_naming_the_file(
    config: TTPConfig, keys: VersionKeys, name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(Refusal) as refused:
        pseudonymise_file(config.registrations["reg"], keys, "hospital", name, data)
    assert refused.value.status == 422
    assert name in refused.value.message and reason in refused.value.message


TOKENS = (
    b'"', b"\n", b"[", b"{", b"}", b",", b":", b";", b"\x00", b"\xff", b"[" * 3000, b"9" * 5000,
    b"NaN", b"1e999", b"\\ud800", b'"' + b"x" * 140_000 + b'"', b'{"pseudonym_inputs":5}',
    b'{"pseudonym_inputs":{"NGGV":5}}', b'{"pseudonym_inputs":{"MRN":"!!"}}',
    b'{"pseudonym_inputs":{"B":"00"}}',
    b'{"system":"urn:aanlevering:pseudonym-input:C","value":"zz"}',
)  # fmt: skip


def test_fuzzed_uploads_are_rewritten_or_refused_with_a_4xx(
    config: TTPConfig, keys: VersionKeys
) -> None:
    rng = random.Random(1416)
    rewritten = refused = 0
    for number in range(4000):
        name = rng.choice(sorted(FILES))
        data = bytearray(FILES[name])
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(data) + 1)
            if rng.random() < 0.6:
                data[position:position] = rng.choice(TOKENS)
            elif position < len(data):
                data[position] = rng.randrange(256)
        try:
            pseudonymise_file(config.registrations["reg"], keys, "hospital", name, bytes(data))
            rewritten += 1
        except Refusal as refusal:
            assert 400 <= refusal.status < 500, f"case {number}: {refusal.status}"
            refused += 1
        except Exception as error:
            raise AssertionError(f"case {number} ({name}): {error!r}") from error
    assert rewritten > 100 and refused > 100
