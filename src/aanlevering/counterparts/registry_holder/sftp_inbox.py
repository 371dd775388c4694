"""Watch SFTP inbox folders and receipt complete deliveries.

A delivery is complete when ``manifest.json`` appears in its folder (the
hospital uploads it last). The watcher checks it with the same store as the
HTTP interface and writes ``receipt.json`` (or ``rejected.txt``) next to it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from aanlevering.counterparts.registry_holder.checks import summarise
from aanlevering.counterparts.registry_holder.store import Conflict, DeliveryStore, Rejected
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
from aanlevering.errors import DeliveryError

log = logging.getLogger(__name__)


def process_inbox_once(inbox: Path, store: DeliveryStore) -> int:
    """Receipt every complete, unreceipted delivery folder in ``inbox``; return how many."""
    done = 0
    for manifest_path in sorted(inbox.glob(f"*/{MANIFEST_NAME}")):
        folder = manifest_path.parent
        if (folder / "receipt.json").exists() or (folder / "rejected.txt").exists():
            continue
        try:
            manifest = Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
            receipt = store.commit(folder, manifest)
        except Rejected as error:
            (folder / "rejected.txt").write_text(summarise(error.problems), encoding="utf-8")
            continue
        except (Conflict, DeliveryError) as error:
            (folder / "rejected.txt").write_text(f"- {error}\n", encoding="utf-8")
            continue
        partial = folder / ".receipt.json.part"
        partial.write_text(receipt.to_json(), encoding="utf-8")
        partial.replace(folder / "receipt.json")
        done += 1
    return done


def start_watcher(
    inboxes: tuple[Path, ...], store: DeliveryStore, interval: float = 0.5
) -> threading.Event:
    """Poll the inboxes in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for inbox in inboxes:
                try:
                    process_inbox_once(inbox, store)
                except OSError:
                    log.exception("SFTP inbox %s could not be processed", inbox)
            stop.wait(interval)

    threading.Thread(target=loop, name="sftp-inbox", daemon=True).start()
    return stop
