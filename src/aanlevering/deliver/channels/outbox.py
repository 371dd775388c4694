"""Outbox channel: a folder the hospital uploads from by hand (e.g. a registry portal).

The delivery lands in ``<outbox>/<registration>/<period>/v<version>/`` with its
manifest and data files; the receipt is the outbox's own, written next to
them, and records that the files were copied whole (checksums verified).
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, verify_files, write_manifest
from aanlevering.deliver.receipt import Receipt, RetryableDeliveryError

RECEIPT_NAME = "receipt.json"


def outbox_folder(root: Path, manifest: Manifest) -> Path:
    """Where a delivery lands in the outbox."""
    return root / manifest.registration / manifest.period / f"v{manifest.version}"


@dataclass(frozen=True)
class OutboxChannel:
    """Copy the staged delivery into the outbox folder."""

    root: Path
    name: str = "outbox"

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Copy files, verify them, write the manifest last; reuse an earlier receipt."""
        target = outbox_folder(self.root, manifest)
        existing = target / RECEIPT_NAME
        if existing.is_file() and (target / MANIFEST_NAME).is_file():
            stored = Manifest.from_json((target / MANIFEST_NAME).read_text(encoding="utf-8"))
            if stored.idempotency_key == manifest.idempotency_key and not verify_files(
                target, stored
            ):
                receipt = Receipt.from_mapping(json.loads(existing.read_text()), self.name)
                return Receipt(**{**receipt.__dict__, "duplicate": True})
        target.mkdir(parents=True, exist_ok=True)
        for item in manifest.files:
            partial = target / f".{item.name}.part"
            shutil.copyfile(folder / item.name, partial)
            partial.replace(target / item.name)
        for extra in ("validation",):
            if (folder / extra).is_dir():
                shutil.copytree(folder / extra, target / extra, dirs_exist_ok=True)
        problems = verify_files(target, manifest)
        if problems:
            raise RetryableDeliveryError(f"outbox copy in {target} is incomplete: {problems}")
        write_manifest(target, manifest)
        receipt = Receipt(
            idempotency_key=manifest.idempotency_key,
            receipt_id=f"outbox-{uuid.uuid4()}",
            received_at=datetime.now(UTC).isoformat(),
            receiver=f"outbox:{self.root}",
            channel=self.name,
            record_counts=dict(manifest.record_counts),
        )
        (target / RECEIPT_NAME).write_text(receipt.to_json(), encoding="utf-8")
        return receipt
