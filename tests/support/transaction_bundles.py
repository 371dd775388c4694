"""A FHIR Bundle rewritten as the transaction that creates its resources (decision 0560).

The canonical FHIR form of a transaction that creates resources: each entry a
``POST`` whose resource has no ``id``, identified only by its ``fullUrl``
``urn:uuid:<uuid>``, and every reference between entries written as that
``urn:uuid:``. The uuids are made from the entries' original ``Type/id`` (a UUID
version 5), so a rewrite is the same every time and tests can tell which source
resource an entry was.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

#: Not the demo generator's namespace: the uuids differ from every id of the demo export.
NAMESPACE = uuid.UUID("0b5f0c56-0560-4c1e-9d2a-5e8f6a7b8c9d")


def entry_uuid(key: str) -> str:
    """The uuid of the entry that was the resource ``key`` (``Type/id``)."""
    return str(uuid.uuid5(NAMESPACE, key))


def as_transaction(bundle: dict[str, Any], *, keep_ids: bool = False) -> dict[str, Any]:
    """``bundle`` as a transaction: ``urn:uuid:`` fullUrls and references, POST entries.

    ``keep_ids``: each resource keeps an id, the uuid of its fullUrl (the same
    export as a server that assigned those ids would give it).
    """
    uuids = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": entry_uuid(
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
        )
        for e in bundle["entry"]
    }
    entries = []
    for entry in bundle["entry"]:
        resource = _repointed(entry["resource"], uuids)
        key = f"{resource['resourceType']}/{resource.pop('id')}"
        if keep_ids:
            resource = {"resourceType": resource.pop("resourceType"), "id": uuids[key], **resource}
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuids[key]}",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _repointed(value: Any, uuids: dict[str, str]) -> Any:
    """``value`` with every reference to an entry's ``Type/id`` written as its ``urn:uuid:``."""
    if isinstance(value, list):
        return [_repointed(item, uuids) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "reference" and isinstance(item, str) and item in uuids:
            out[key] = f"urn:uuid:{uuids[item]}"
        else:
            out[key] = _repointed(item, uuids)
    return out


def transaction_folder(source: Path, target: Path, *, keep_ids: bool = False) -> Path:
    """The Bundle folder ``source`` with every Bundle rewritten by :func:`as_transaction`
    (a ``-collection.json`` file named ``-transaction.json``)."""
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        rewritten = as_transaction(bundle, keep_ids=keep_ids)
        name = path.name.replace("-collection.", "-transaction.")
        (target / name).write_text(json.dumps(rewritten), encoding="utf-8")
    return target
