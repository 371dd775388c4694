"""An outbox receipt cut short (a power cut or a full disk while it was written) is no receipt.

Found red-teaming delivery and its proof: the outbox wrote ``receipt.json``
in place, so a run stopped while writing it left a half receipt, and every
later run of the period ended in a JSON parse error (no delivery error, no
retry) before placing anything: the period could not be delivered again
until someone removed the file by hand. The receipt is now written whole
(temporary file, fsync, rename), and one that cannot be read is no receipt:
the delivery is placed and receipted afresh.
"""

from __future__ import annotations

import json
from pathlib import Path

from aanlevering.deliver.channels.outbox import RECEIPT_NAME, OutboxChannel, outbox_folder
from aanlevering.deliver.receipt import Receipt, verify_receipt
from conftest import stage


def test_a_half_written_receipt_is_replaced_by_a_whole_one(tmp_path: Path) -> None:
    channel = OutboxChannel(tmp_path / "outbox")
    manifest = stage(tmp_path / "staging")
    first = channel.send(tmp_path / "staging", manifest)
    target = outbox_folder(channel.root, manifest)
    whole = (target / RECEIPT_NAME).read_bytes()
    (target / RECEIPT_NAME).write_bytes(whole[: len(whole) // 2])  # cut while written

    again = channel.send(tmp_path / "staging", manifest)

    assert again.receipt_id != first.receipt_id and not again.duplicate
    stored = Receipt.from_mapping(json.loads((target / RECEIPT_NAME).read_text()), "outbox")
    assert verify_receipt(stored, manifest) == stored
    assert stored.receipt_id == again.receipt_id
    assert sorted(p.name for p in target.iterdir() if p.name.startswith(".")) == []
    held = channel.held_versions(manifest.provider_id, manifest.registration, manifest.period)
    assert [(h.version, h.receipt_id) for h in held.versions] == [(1, again.receipt_id)]
