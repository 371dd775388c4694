"""The reference SFTP inbox writes its audit line before its answer, as a real holder must.

A hospital (and a test) reads the holder's answer (``receipt.json`` or
``rejected.txt``) as the end of the holder's handling of a delivery. The watcher
wrote the audit line after the answer, so whoever read the audit as soon as the
answer appeared could find it missing (flaky under load). The order is checked
here without timing: the audit log records, at each line it appends, which
answer files the delivery folder already holds; none may exist yet.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aanlevering.counterparts.common.audit import ChainedAuditLog
from aanlevering.counterparts.registry_holder.config import ReceiverLimits
from aanlevering.counterparts.registry_holder.sftp_inbox import process_inbox_once
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest

ANSWERS = ("receipt.json", "rejected.txt", ".receipt.json.part")


class _AnswersSeenAtAppend(ChainedAuditLog):
    """A real audit log that notes which answer files existed when each line was appended."""

    def __init__(self, path: Path, folder: Path) -> None:
        super().__init__(path)
        self.folder = folder
        self.seen: list[tuple[str, list[str]]] = []

    def append(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        present = [name for name in ANSWERS if (self.folder / name).exists()]
        self.seen.append((str(fields["outcome"]), present))
        return super().append(fields)


def _put_in_inbox(staged: tuple[Path, Manifest], inbox: Path, manifest: Manifest) -> Path:
    folder, _ = staged
    delivery = inbox / manifest.idempotency_key
    delivery.mkdir(parents=True)
    for item in manifest.transferred():
        shutil.copyfile(folder / item.name, delivery / item.name)
    (delivery / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return delivery


@pytest.mark.parametrize(
    ("provider", "limits", "outcome", "answer"),
    [
        ("demo-hospital", ReceiverLimits(), "ok", "receipt.json"),
        ("hospital-b", ReceiverLimits(), "refused:403", "rejected.txt"),
        ("demo-hospital", ReceiverLimits(max_manifest_bytes=10), "refused:413", "rejected.txt"),
    ],
    ids=["receipt", "another-provider", "manifest-bytes"],
)
def test_the_audit_line_is_written_before_the_answer(
    staged: tuple[Path, Manifest],
    tmp_path: Path,
    provider: str,
    limits: ReceiverLimits,
    outcome: str,
    answer: str,
) -> None:
    _, manifest = staged
    inbox = tmp_path / "inbox"
    delivery = _put_in_inbox(staged, inbox, manifest)
    audit = _AnswersSeenAtAppend(tmp_path / "audit.jsonl", delivery)
    store = DeliveryStore(tmp_path / "receiver", "reference")
    process_inbox_once(inbox, store, provider, audit, limits)
    assert (delivery / answer).is_file()
    assert audit.seen == [(outcome, [])]


def test_a_rejected_content_is_audited_before_its_answer(
    staged: tuple[Path, Manifest], tmp_path: Path
) -> None:
    _, manifest = staged
    inbox = tmp_path / "inbox"
    # The manifest promises other bytes than the file holds: the store rejects it.
    wrong = replace(manifest, files=tuple(replace(f, sha256="0" * 64) for f in manifest.files))
    delivery = _put_in_inbox(staged, inbox, wrong)
    audit = _AnswersSeenAtAppend(tmp_path / "audit.jsonl", delivery)
    process_inbox_once(
        inbox, DeliveryStore(tmp_path / "receiver", "reference"), "demo-hospital", audit
    )
    assert (delivery / "rejected.txt").is_file()
    assert audit.seen == [("rejected", [])]
