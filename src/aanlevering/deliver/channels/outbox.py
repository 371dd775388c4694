"""Outbox channel: a folder the hospital uploads from by hand (e.g. a registry portal).

The delivery lands in ``<outbox>/<registration>/<period>/v<version>/`` with its
manifest and data files; the receipt is the outbox's own, written next to
them, and records that the files arrived whole (checksums verified). Files are
hard-linked from staging when both are on one file system, copied otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, verify_files, write_manifest
from aanlevering.deliver.receipt import Receipt, RetryableDeliveryError, adopt_existing

RECEIPT_NAME = "receipt.json"


def place_file(source: Path, target: Path) -> None:
    """Put ``source``'s bytes at ``target``: a hard link where possible, else a copy.

    Why: a large delivery is gigabytes; staging and outbox are usually on one
    file system, and a link publishes the staged (already fsynced) bytes
    without writing them a second time. Staging is only ever removed, never
    rewritten, after the manifest is made, so the shared bytes stay as the
    manifest describes them (checked below with the checksums anyway).
    """
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copyfile(source, target)


def outbox_folder(root: Path, manifest: Manifest) -> Path:
    """Where a delivery lands in the outbox."""
    return root / manifest.registration / manifest.period / f"v{manifest.version}"


@dataclass(frozen=True)
class OutboxChannel:
    """Publish the staged delivery into the outbox folder (linked or copied)."""

    root: Path
    name: str = "outbox"

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Place files, verify them, write the manifest last; reuse only this delivery's receipt.

        A receipt already there for other content under this key is never
        adopted (VersionTaken), nor overwritten. A receipt counts only as the
        receipt of the manifest and files beside it: one that is not (placed
        by someone else, or left by a run that died between writing the
        manifest and its receipt) is ignored, and the delivery placed afresh.
        """
        target = outbox_folder(self.root, manifest)
        existing = target / RECEIPT_NAME
        if existing.is_file() and (target / MANIFEST_NAME).is_file():
            stored = Manifest.from_json((target / MANIFEST_NAME).read_text(encoding="utf-8"))
            receipt = Receipt.from_mapping(json.loads(existing.read_text()), self.name)
            if receipt.manifest_sha256 == stored.provider_sha256() and not verify_files(
                target, stored
            ):
                return adopt_existing(receipt, manifest)
        target.mkdir(parents=True, exist_ok=True)
        for item in manifest.transferred():
            partial = target / f".{item.name}.part"
            partial.unlink(missing_ok=True)
            place_file(folder / item.name, partial)
            partial.replace(target / item.name)
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
            provider=manifest.provider_id,
            manifest_sha256=manifest.provider_sha256(),
        )
        (target / RECEIPT_NAME).write_text(receipt.to_json(), encoding="utf-8")
        return receipt
