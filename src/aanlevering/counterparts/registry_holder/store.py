"""Where the reference registry holder keeps what it received, and its receipts.

One folder per provider and idempotency key (``deliveries/<provider>/<key>/``);
the receipt file is written last, whole (temp, fsync, rename: decision 0472),
and is what makes a delivery count. A second commit of the same key returns the
stored receipt (``duplicate``); a different manifest under a used key is a
conflict. Receipts name provider, key, the sha256 of the provider's manifest
and the record counts, so the hospital can check them (decision 0221).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aanlevering.counterparts.common.whole_files import write_whole
from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.counterparts.registry_holder.terms import RegistrationTerms
from aanlevering.counterparts.registry_holder.versions import HeldVersion
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, is_plain_name, write_manifest
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
    return manifest.sha256()


def snapshot(folder: Path, into: Path, manifest: Manifest) -> Path:
    """Copy the regular files ``manifest`` names from ``folder`` into a fresh ``into``.

    Why: the checks and the receipt must be about the very bytes that are
    stored, so they run on this private copy. A name that is missing, or is a
    link or no regular file, is not copied, so the checks report it missing;
    no link is followed (decision 0361).
    """
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    for name in dict.fromkeys(item.name for item in manifest.transferred()):
        try:
            source = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # missing, or a link: reported missing by the checks
        with os.fdopen(source, "rb") as reader:
            if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
                continue
            with (into / name).open("xb") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
    return into


@dataclass
class DeliveryStore:
    """File-backed store of deliveries; safe for one process with several threads."""

    root: Path
    receiver_id: str
    exchanger: Exchanger | None = None
    #: registration -> its approved pseudonym types and dictionary (empty: not checked).
    terms: Mapping[str, RegistrationTerms] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def folder(self, provider: str, key: str) -> Path:
        """Folder of one provider's delivery; ValueError for names that are not plain."""
        if not (is_plain_name(provider) and is_plain_name(key)):
            raise ValueError("invalid provider or idempotency key")
        return self.root / "deliveries" / provider / key

    def incoming(self, provider: str, key: str) -> Path:
        """Where files of a not yet committed delivery are uploaded."""
        path = self.folder(provider, key) / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def expire_incoming(self, max_age: float, now: float | None = None) -> int:
        """Remove uploads of keys never committed and untouched for ``max_age`` seconds.

        Why: a delivery that is uploaded in part and never committed would
        otherwise keep its bytes on the holder's disk for good (decision 0437).
        A receipted key's uploads go too (its files are in ``accepted/``). A key
        is touched by every upload; a later upload starts it again.
        """
        moment = time.time() if now is None else now
        removed = 0
        with self._lock:  # never while a commit copies from an upload folder
            for incoming in self.root.glob("deliveries/*/*/incoming"):
                if incoming.is_symlink() or not incoming.is_dir():
                    continue
                newest = max(
                    [incoming.stat().st_mtime, *(p.lstat().st_mtime for p in incoming.iterdir())]
                )
                if moment - newest > max_age:
                    shutil.rmtree(incoming)
                    removed += 1
        return removed

    def receipt(self, provider: str, key: str) -> Receipt | None:
        """The receipt of one provider's committed key, or None."""
        path = self.folder(provider, key) / RECEIPT_NAME
        if not path.is_file():
            return None
        stored = Receipt.from_mapping(json.loads(path.read_text(encoding="utf-8")), "receiver")
        # Receipts stored before decision 0710 say it too: this holder is a reference one.
        return replace(stored, reference=True)

    def commit(self, folder: Path, manifest: Manifest) -> Receipt:
        """Check, exchange pseudonyms (web mode), store and receipt the files in ``folder``."""
        with self._lock:
            provider, key = manifest.provider_id, manifest.idempotency_key
            target = self.folder(provider, key)
            existing = self.receipt(provider, key)
            if existing is not None:
                stored = Manifest.from_json((target / MANIFEST_NAME).read_text(encoding="utf-8"))
                if _manifest_digest(stored) != _manifest_digest(manifest):
                    raise Conflict(
                        f"idempotency key {manifest.idempotency_key} was used for another delivery"
                    )
                return Receipt(**{**existing.__dict__, "duplicate": True})
            # Check the copies, not the upload folder: an upload (or an SFTP write) during
            # the checks must not change what is stored after them (decision 0430).
            checking = snapshot(folder, target / ".checking", manifest)
            # Under the lock: what this provider holds of the period cannot change meanwhile.
            # A version naming one never held is one problem among the others (1034).
            terms = self.terms.get(manifest.registration)
            problems = check_delivery(checking, manifest, terms, self._held(manifest))
            if problems:
                shutil.rmtree(checking)
                raise Rejected(problems)
            accepted = target / "accepted"
            if accepted.exists():
                shutil.rmtree(accepted)
            checking.rename(accepted)
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
                provider=provider,
                manifest_sha256=manifest.provider_sha256(),
                reference=True,  # no registry received anything (decision 0710)
            )
            write_whole(target / RECEIPT_NAME, receipt.to_json())  # decision 0472
            self._append_ledger(manifest, receipt)
            log.info("receipted %s", manifest.idempotency_key)
            return receipt

    def _held(self, manifest: Manifest) -> dict[str, HeldVersion]:
        """The provider's receipted versions of the manifest's registration and period, by key."""
        return {
            str(entry.get("idempotency_key")): HeldVersion.of(entry)
            for entry in self.ledger(provider=manifest.provider_id)
            if (entry.get("registration"), entry.get("period"))
            == (manifest.registration, manifest.period)
        }

    def _append_ledger(self, manifest: Manifest, receipt: Receipt) -> None:
        entry: dict[str, Any] = {
            "provider": manifest.provider_id,
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

    def ledger(self, provider: str | None = None) -> list[dict[str, Any]]:
        """Receipted deliveries in arrival order: all, or only one provider's."""
        path = self.root / LEDGER_NAME
        if not path.is_file():
            return []
        entries = [
            json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line
        ]
        return [e for e in entries if provider is None or e.get("provider") == provider]


def start_expiry(store: DeliveryStore, max_age: float) -> threading.Event:
    """Expire stale uploads (:meth:`DeliveryStore.expire_incoming`) in a daemon thread."""
    stop = threading.Event()
    interval = max(0.5, min(3600.0, max_age / 4))

    def loop() -> None:
        while not stop.wait(interval):
            try:
                removed = store.expire_incoming(max_age)
            except OSError:
                log.exception("stale uploads could not be expired")
                continue
            if removed:
                log.info("expired the uploads of %d uncommitted deliveries", removed)

    threading.Thread(target=loop, name="upload-expiry", daemon=True).start()
    return stop
