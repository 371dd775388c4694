"""The registry holder's ``receipt.json`` appears whole, never filled in place.

A receipt is what makes a delivery count; a reader (the SFTP channel polling the
inbox, an operator's script, the holder after a crash) that reads it while it is
being written reads half a JSON document. Written to a temporary name, fsynced and
renamed, it only ever appears whole (decision 0472). Pinned by the folder's events.
"""

from __future__ import annotations

import json
from pathlib import Path

from aanlevering.counterparts.registry_holder.store import RECEIPT_NAME, DeliveryStore
from aanlevering.deliver.manifest import Manifest
from support.inotify import IN_CREATE, IN_MODIFY, IN_MOVED_TO, watched


def test_the_stored_receipt_appears_only_by_a_rename(
    staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = staged
    store = DeliveryStore(tmp_path / "receiver", "reference")
    target = store.folder(manifest.provider_id, manifest.idempotency_key)
    target.mkdir(parents=True)
    with watched(target) as events:
        receipt = store.commit(folder, manifest)
        seen = events.of(RECEIPT_NAME)
    assert seen and all(mask & IN_MOVED_TO for mask in seen), seen
    assert not [mask for mask in seen if mask & (IN_CREATE | IN_MODIFY)]
    stored = json.loads((target / RECEIPT_NAME).read_text(encoding="utf-8"))
    assert stored["receipt_id"] == receipt.receipt_id
    assert sorted(p.name for p in target.iterdir()) == ["accepted", "manifest.json", RECEIPT_NAME]
