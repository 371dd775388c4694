"""A shared outbox root: a link planted where a provider's delivery goes is refused.

Found attacking the outbox listing (decision 0492): several hospitals may share
one outbox root (decision 0400). Hospital B linked ``<root>/hospital-a`` (or a
``v<n>`` folder below it) to a folder of its own; hospital A's delivery was
written through the link into B's folder, and A's outbox listing read
receipts B had placed there.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.channels.outbox import OutboxChannel, outbox_folder
from aanlevering.deliver.manifest import Manifest, idempotency_key
from aanlevering.errors import DeliveryError
from conftest import PATIENT, stage


def _staged(folder: Path, provider: str) -> Manifest:
    manifest = stage(folder, patients=[{**PATIENT, "id": "p-1"}])
    return replace(
        manifest,
        provider_id=provider,
        idempotency_key=idempotency_key(provider, "ldtr", "2026-03", 1),
    )


@pytest.mark.parametrize("where", ["provider", "version"])
def test_a_delivery_is_not_written_through_a_planted_link(tmp_path: Path, where: str) -> None:
    root = tmp_path / "outbox"
    channel = OutboxChannel(root)
    manifest = _staged(tmp_path / "a", "hospital-a")
    stolen = root / "hospital-b" / "stash"
    stolen.mkdir(parents=True)
    target = outbox_folder(root, manifest)
    link = root / "hospital-a" if where == "provider" else target
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(stolen, target_is_directory=True)

    with pytest.raises(DeliveryError, match="link"):
        channel.send(tmp_path / "a", manifest)
    assert list(stolen.rglob("*")) == []  # nothing of hospital A reached B's folder

    # B places a receipt of A's key behind the link (copied from a real delivery).
    elsewhere = OutboxChannel(tmp_path / "elsewhere")
    elsewhere.send(tmp_path / "a", manifest)
    real = outbox_folder(elsewhere.root, manifest)
    behind = stolen / "ldtr" / "2026-03" / "v1" if where == "provider" else stolen
    behind.mkdir(parents=True, exist_ok=True)
    for item in real.iterdir():
        shutil.copyfile(item, behind / item.name)
    if where == "provider":
        with pytest.raises(DeliveryError, match="link"):
            channel.held_versions("hospital-a", "ldtr", "2026-03")
    else:  # a linked version folder holds nothing of this provider
        assert channel.held_versions("hospital-a", "ldtr", "2026-03").versions == ()
