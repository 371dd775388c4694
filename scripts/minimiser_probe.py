"""CPU per resource of ``TextMinimiser.minimised`` on a demo export (decision 0550; not a test).

    .venv/bin/python scripts/minimiser_probe.py EXPORT_DIR [PER_TYPE] [PASSES]

EXPORT_DIR is a ``demo-data`` FHIR bulk export (``fhir-bulk/dica-dsaa``). The first
PER_TYPE (default 100,000) resources of each of :data:`TYPES` are kept as sorted compact
JSON (whole, so larger than the extract's kept texts), every resource of the export is
registered in a closed reference map, and each pass minimises them all with a fresh
:class:`TextMinimiser` (own keys and ids given, as the writer gives them). Prints the
CPU (``time.process_time``) per resource of each pass and the sha256 of all delivered
texts: run it once with this worktree's ``src`` and once with a compiled copy first on
``PYTHONPATH``, in turn, and compare. Not named ``bench_*``: ``make bench`` runs those
without arguments.
"""

from __future__ import annotations

import hashlib
import sys
import time
from itertools import islice
from pathlib import Path

import msgspec

from aanlevering.fhir import minimise
from aanlevering.fhir.ids import ResourceIds
from aanlevering.fhir.minimise import ReferenceMap, TextMinimiser

#: Source types of the dica-dsaa export minimised here (Patients are rebuilt, not minimised).
TYPES = ("Encounter", "Procedure", "Condition", "Observation")
SALT = b"minimiser-probe-salt-of-32-bytes"
SORTED = msgspec.json.Encoder(order="sorted")  # as the extract writes the kept texts
_HEAD = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _keys(path: Path) -> list[str]:
    """``Type/id`` of every resource of one NDJSON file."""
    keys = []
    with path.open("rb") as handle:
        for line in handle:
            head = _HEAD.decode(line)
            kind = msgspec.json.decode(head["resourceType"])
            keys.append(f"{kind}/{msgspec.json.decode(head['id'])}")
    return keys


def main() -> int:
    """Minimise the kept texts ``PASSES`` times; print µs per resource and the digest."""
    export = Path(sys.argv[1])
    per_type = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    passes = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ids = ResourceIds(SALT)
    references = ReferenceMap(ids, closed=True)
    for key in _keys(export / "Patient.ndjson"):
        references.add_patient([key], ids.make("Patient", key.partition("/")[2]))
    texts: list[bytes] = []
    own_keys: list[str] = []
    for kind in TYPES:
        path = export / f"{kind}.ndjson"
        references.add_keys(_keys(path))
        with path.open("rb") as handle:
            for line in islice(handle, per_type):
                resource = msgspec.json.decode(line)
                texts.append(SORTED.encode(resource))
                own_keys.append(f"{resource['resourceType']}/{resource['id']}")
    own_ids = ids.of_keys(own_keys)
    print(f"bench: minimiser_module {minimise.__file__}")
    print(f"bench: minimiser_resources {len(texts)}")
    for number in range(passes):
        minimiser = TextMinimiser(references, "relative")
        made = minimiser.minimised
        digest = hashlib.sha256()
        started = time.process_time()
        out = [
            made(text, key, own) for text, key, own in zip(texts, own_keys, own_ids, strict=True)
        ]
        seconds = time.process_time() - started
        for item in out:
            digest.update(item.text.encode())
            digest.update(b"\n")
        print(f"bench: minimiser_pass_{number} {seconds / len(texts) * 1e6:.2f} us/resource")
        print(f"bench: minimiser_sha256 {digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
