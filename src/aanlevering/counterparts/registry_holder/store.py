"""Where the reference registry holder keeps what it received, and its receipts.

One folder per idempotency key; the receipt file is written last and is what
makes a delivery count. A second commit of the same key returns the stored
receipt (``duplicate``); a different manifest under a used key is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, write_manifest
from aanlevering.deliver.receipt import Receipt

log = logging.getLogger(__name__)
RECEIPT_NAME = "receipt.json"
LEDGER_NAME = "ledger.jsonl"

#: Swaps temporary pseudonyms for definitive ones in a committed folder (web mode).
Exchanger = Callable[[Path, Manifest], None]


class Conflict(Exception):
    """The idempotency key was used before with a different manifest."""


class Rejected(Exception):
    """The delivery failed the receiver's checks; ``problems`` says why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _manifest_digest(manifest: Manifest) -> str:
    data = json.loads(manifest.to_json())
    data.pop("created_at", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class DeliveryStore:
    """File-backed store of deliveries; safe for one process with several threads."""

    root: Path
    receiver_id: str
    exchanger: Exchanger | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def folder(self, key: str) -> Path:
        """Folder of one delivery (idempotency key, made path-safe)."""
        safe = key.replace("/", "_")
        if safe in {"", ".", ".."}:
            raise ValueError("invalid idempotency key")
        return self.root / "deliveries" / safe

    def incoming(self, key: str) -> Path:
        """Where files of a not yet committed delivery are uploaded."""
        path = self.folder(key) / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def receipt(self, key: str) -> Receipt | None:
        """The receipt of a committed key, or None."""
        path = self.folder(key) / RECEIPT_NAME
        if not path.is_file():
            return None
        return Receipt.from_mapping(json.loads(path.read_text(encoding="utf-8")), "receiver")

    def commit(self, folder: Path, manifest: Manifest) -> Receipt:
        """Check, exchange pseudonyms (web mode), store and receipt the files in ``folder``."""
        with self._lock:
            target = self.folder(manifest.idempotency_key)
            existing = self.receipt(manifest.idempotency_key)
            if existing is not None:
                stored = Manifest.from_json((target / MANIFEST_NAME).read_text(encoding="utf-8"))
                if _manifest_digest(stored) != _manifest_digest(manifest):
                    raise Conflict(
                        f"idempotency key {manifest.idempotency_key} was used for another delivery"
                    )
                return Receipt(**{**existing.__dict__, "duplicate": True})
            problems = check_delivery(folder, manifest)
            if problems:
                raise Rejected(problems)
            accepted = target / "accepted"
            if accepted.exists():
                shutil.rmtree(accepted)
            accepted.mkdir(parents=True)
            for item in manifest.files:
                shutil.copyfile(folder / item.name, accepted / item.name)
            if self.exchanger is not None and manifest.ttp_mode == "web":
                self.exchanger(accepted, manifest)
            write_manifest(target, manifest)
            receipt = Receipt(
                idempotency_key=manifest.idempotency_key,
                receipt_id=str(uuid.uuid4()),
                received_at=datetime.now(UTC).isoformat(),
                receiver=self.receiver_id,
                channel="receiver",
                record_counts=dict(manifest.record_counts),
            )
            (target / RECEIPT_NAME).write_text(receipt.to_json(), encoding="utf-8")
            self._append_ledger(manifest, receipt)
            log.info("receipted %s", manifest.idempotency_key)
            return receipt

    def _append_ledger(self, manifest: Manifest, receipt: Receipt) -> None:
        entry: dict[str, Any] = {
            "idempotency_key": manifest.idempotency_key,
            "registration": manifest.registration,
            "period": manifest.period,
            "version": manifest.version,
            "kind": manifest.kind,
            "supersedes": manifest.supersedes,
            "records": dict(manifest.record_counts),
            "receipt_id": receipt.receipt_id,
            "received_at": receipt.received_at,
        }
        with (self.root / LEDGER_NAME).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")

    def ledger(self) -> list[dict[str, Any]]:
        """Every receipted delivery in arrival order (what tests and the demo inspect)."""
        path = self.root / LEDGER_NAME
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
