"""Outbox channel: a folder the hospital uploads from by hand (e.g. a registry portal).

The delivery lands in ``<outbox>/<provider>/<registration>/<period>/v<version>/``
with its manifest and data files; the receipt is the outbox's own, written next
to them, and records that the files arrived whole (checksums verified). Files
are hard-linked from staging when both are on one file system, copied otherwise.
Several hospitals may share one outbox root: each writes and reads only its own
provider folder (decision 0400). A delivery placed before provider folders
existed (``<outbox>/<registration>/<period>/v<version>/``) is still found by
its own provider, never by another.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aanlevering.deliver.held import KINDS, HeldVersion, Holdings, keep_own, version_of_key
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest, verify_files, write_manifest
from aanlevering.deliver.receipt import (
    Receipt,
    RejectedDelivery,
    RetryableDeliveryError,
    adopt_existing,
)
from aanlevering.errors import DeliveryError
from aanlevering.json_input import parse
from aanlevering.settings import PROVIDER_ID
from aanlevering.shown_names import shown_path
from aanlevering.whole_files import write_whole

RECEIPT_NAME = "receipt.json"

log = logging.getLogger(__name__)


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
    """Where a delivery lands in the outbox: under its provider's own folder.

    Why the provider: hospitals sharing one outbox root deliver the same
    registration, period and version; without it the second one found the
    first one's receipt (a ReceiptMismatch) and could read its files.
    """
    if not PROVIDER_ID.fullmatch(manifest.provider_id):
        raise DeliveryError(
            "the manifest's provider id is not a folder name (1-64 letters, digits, '-' or "
            "'_'); nothing was placed in the outbox"
        )
    return root / manifest.provider_id / legacy_outbox_folder(Path(), manifest)


def legacy_outbox_folder(root: Path, manifest: Manifest) -> Path:
    """Where the outbox put a delivery before provider folders existed (read only)."""
    return root / manifest.registration / manifest.period / f"v{manifest.version}"


def refuse_links(root: Path, target: Path) -> None:
    """RejectedDelivery when a folder between ``root`` and ``target`` is a symbolic link.

    Why: hospitals may share one outbox root (decision 0400); a link planted
    where this provider's folders go (another hospital's, say) would carry
    the delivery into a folder someone else reads, and its receipts into this
    provider's listing (decision 0492). Nothing is written or read through one.
    """
    path = root
    for part in target.relative_to(root).parts:
        path = path / part
        if path.is_symlink():
            raise RejectedDelivery(
                f"the outbox folder {path} is a symbolic link, not a folder of this provider; "
                "nothing was placed or read there. Remove the link (and find out who placed it)"
            )


def clear_leftovers(target: Path, manifest: Manifest) -> list[str]:
    """Remove what an unreceipted earlier attempt left in ``target``; the names removed.

    Why (decision 0651): a send killed while placing a version leaves files,
    ``.part`` copies, or a manifest without receipt. The rerun places the
    version again under the same key, but its files may differ (the content
    print covers the clinical data, not the delivery format), and whoever
    uploads the folder by hand takes every file in it. Called only when the
    folder holds no receipt of its own, so nothing in it was delivered. The
    manifest goes first: the folder never shows an old manifest beside new
    files. A folder inside (never made by this channel) is left, with a warning.
    """
    removed: list[str] = []
    keep = {item.name for item in manifest.transferred()}
    entries = sorted(target.iterdir(), key=lambda p: p.name not in (MANIFEST_NAME, RECEIPT_NAME))
    for entry in entries:
        if entry.name in keep:
            continue  # replaced below by this delivery's own file
        if entry.is_dir() and not entry.is_symlink():
            log.warning("outbox %s: folder %s is not part of a delivery; left", target, entry.name)
            continue
        entry.unlink(missing_ok=True)
        removed.append(entry.name)
    if removed:
        log.warning(
            "outbox %s: removed what an earlier unreceipted attempt left: %s",
            target,
            ", ".join(removed),
        )
    return removed


def abandon(target: Path) -> None:
    """Remove what a failed placement put in ``target`` (no receipt there), best effort.

    Why: data files without a manifest, or a manifest without a receipt, look
    like a delivery to whoever uploads the folder by hand (decision 0656).
    """
    try:
        entries = list(target.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            continue
        try:
            entry.unlink()
        except OSError:
            log.warning("outbox %s: could not remove %s after a failed placement", target, entry)
    with contextlib.suppress(OSError):  # not empty (a folder someone put there), or gone
        target.rmdir()


def _held_receipt(target: Path, name: str) -> tuple[Receipt, Manifest] | None:
    """The receipt in ``target`` if it is the receipt of the manifest and files beside it."""
    existing = target / RECEIPT_NAME
    if not (existing.is_file() and (target / MANIFEST_NAME).is_file()):
        return None
    stored = Manifest.from_json((target / MANIFEST_NAME).read_text(encoding="utf-8"))
    try:
        # parse: a receipt with a key twice is no receipt (decision 0801).
        receipt = Receipt.from_mapping(parse(existing.read_bytes()), name)
    except (ValueError, TypeError, DeliveryError):
        # Cut short while written (before decision 0593 wrote it whole), or not a receipt
        # at all: it proves nothing, and the delivery is placed and receipted afresh.
        return None
    if receipt.manifest_sha256 != stored.provider_sha256() or verify_files(target, stored):
        return None
    return receipt, stored


def _legacy_receipt(root: Path, manifest: Manifest, name: str) -> Receipt | None:
    """This provider's receipt for this key in the old layout, if one is there.

    A receipt there of another provider or key belongs to someone else: it is
    left alone, and this delivery goes to this provider's own folder.
    """
    held = _held_receipt(legacy_outbox_folder(root, manifest), name)
    if held is None:
        return None
    receipt, stored = held
    mine = (receipt.provider, receipt.idempotency_key, stored.provider_id) == (
        manifest.provider_id,
        manifest.idempotency_key,
        manifest.provider_id,
    )
    return receipt if mine else None


def _receipts_in(root: Path, provider: str, registration: str, period: str) -> list[HeldVersion]:
    """This provider's receipts under ``root/<registration>/<period>/v<n>/`` (others skipped)."""
    found: list[HeldVersion] = []
    period_folder = root / registration / period
    if not period_folder.is_dir():
        return found
    for folder in period_folder.iterdir():
        path = folder / RECEIPT_NAME
        if folder.is_symlink() or not path.is_file():
            continue  # a link holds nothing of this provider (decision 0492)
        try:
            receipt = Receipt.from_mapping(parse(path.read_bytes()), "outbox")
        except (OSError, ValueError, DeliveryError):
            continue  # not a receipt this outbox wrote: it holds nothing here
        version = version_of_key(receipt.idempotency_key, provider, registration, period)
        if receipt.provider != provider or folder.name != f"v{version}":
            continue
        found.append(
            HeldVersion(
                version=int(folder.name[1:]),
                idempotency_key=receipt.idempotency_key,
                receipt_id=receipt.receipt_id,
                receiver=receipt.receiver,
                received_at=receipt.received_at,
                kind=_kind_in(folder),
            )
        )
    return found


def _kind_in(folder: Path) -> str:
    """The kind the version's own manifest names (decision 0456), "" when it says none.

    A link is not read (decision 0492); a manifest that is unreadable or names
    another kind leaves the kind unknown, which the ledger reads as before.
    """
    path = folder / MANIFEST_NAME
    if path.is_symlink() or not path.is_file():
        return ""
    try:
        kind = parse(path.read_bytes()).get("kind", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return kind if kind in KINDS else ""


@dataclass(frozen=True)
class OutboxChannel:
    """Publish the staged delivery into the outbox folder (linked or copied)."""

    root: Path
    name: str = "outbox"

    def held_versions(self, provider: str, registration: str, period: str) -> Holdings:
        """The versions of the period with this provider's receipt in the outbox (decision 0460).

        Read from the provider's own folder and the layout before provider
        folders; a folder without a receipt (a run that died before it) holds nothing.
        """
        if not PROVIDER_ID.fullmatch(provider):
            raise DeliveryError("the provider id is not a folder name; the outbox was not read")
        refuse_links(self.root, self.root / provider / registration / period)
        found = [
            *_receipts_in(self.root / provider, provider, registration, period),
            *_receipts_in(self.root, provider, registration, period),
        ]
        return Holdings(
            registration, period, keep_own(found, provider, registration, period), self.name
        )

    def send(self, folder: Path, manifest: Manifest) -> Receipt:
        """Place files, verify them, write the manifest last; reuse only this delivery's receipt.

        A receipt already there for other content under this key is never
        adopted (VersionTaken), nor overwritten. A receipt counts only as the
        receipt of the manifest and files beside it: one that is not (placed
        by someone else, or left by a run that died between writing the
        manifest and its receipt) is ignored, and the delivery placed afresh.
        One that names another provider is a ReceiptMismatch, never adopted.
        """
        target = outbox_folder(self.root, manifest)
        refuse_links(self.root, target)
        held = _held_receipt(target, self.name)
        if held is not None:  # adopt_existing checks it names this provider and key
            return adopt_existing(held[0], manifest)
        legacy = _legacy_receipt(self.root, manifest, self.name)
        if legacy is not None:
            return adopt_existing(legacy, manifest)
        try:
            self._place(folder, target, manifest)
        except OSError as error:
            raise _unwritable(target, manifest, error) from error
        return self._receipt(target, manifest)

    @staticmethod
    def _place(folder: Path, target: Path, manifest: Manifest) -> None:
        """The data files and reports, checked, then the manifest."""
        target.mkdir(parents=True, exist_ok=True)
        clear_leftovers(target, manifest)
        for item in manifest.transferred():
            partial = target / f".{item.name}.part"
            partial.unlink(missing_ok=True)
            place_file(folder / item.name, partial)
            partial.replace(target / item.name)
            # A rename onto a link of the same file does nothing: the .part would stay
            # beside the delivery, for whoever uploads the folder by hand (decision 0593).
            partial.unlink(missing_ok=True)
        problems = verify_files(target, manifest)
        if problems:
            raise RetryableDeliveryError(f"outbox copy in {target} is incomplete: {problems}")
        write_manifest(target, manifest)

    def _receipt(self, target: Path, manifest: Manifest) -> Receipt:
        """The outbox's own receipt, written whole beside the manifest."""
        receipt = Receipt(
            idempotency_key=manifest.idempotency_key,
            receipt_id=f"outbox-{uuid.uuid4()}",
            received_at=datetime.now(UTC).isoformat(),
            # The folder as decision 0730 shows it: the receipt goes into the log (0903).
            receiver=f"outbox:{shown_path(self.root.absolute())}",
            channel=self.name,
            record_counts=dict(manifest.record_counts),
            provider=manifest.provider_id,
            manifest_sha256=manifest.provider_sha256(),
        )
        try:
            write_whole(target / RECEIPT_NAME, receipt.to_json())  # whole or not at all (0593)
        except OSError as error:
            raise _unwritable(target, manifest, error) from error
        return receipt


def _unwritable(target: Path, manifest: Manifest, error: OSError) -> RetryableDeliveryError:
    """Remove what was placed of ``manifest`` in ``target``; the error that says so.

    A full or read-only disk is no bug and refuses nothing: a later run places it
    again. Nothing half-placed stays for whoever uploads by hand (decision 0656).
    """
    abandon(target)
    return RetryableDeliveryError(
        f"the outbox folder {target} could not be written "
        f"({error.strerror or error}); nothing of {manifest.idempotency_key} was "
        "left there. Free space or make the folder writable; it is placed again by "
        "the next run (or the retry of unreceipted deliveries)"
    )
