"""Watch SFTP inbox folders and receipt complete deliveries.

A delivery is complete when ``manifest.json`` appears in its folder (the
hospital uploads it last). The watcher checks it with the same store as the
HTTP interface and writes ``receipt.json`` (or ``rejected.txt``) next to it.
Each inbox belongs to one hospital (its SFTP account writes only there), and
the same rules as over HTTP apply: the manifest must be that hospital's, the
folder its idempotency key, the file names plain (:mod:`.access`), and the same
limits on files and bytes per delivery (:mod:`.inbox_caps`). Every
delivery it decides on gets a line in the registry holder's audit trail
(``peer`` ``sftp``; registration and key only once :mod:`.access` accepted them),
written before the answer: whoever sees the answer finds the audit line (decision 0800).

The hospital's account may make symbolic links in its inbox; the watcher
follows none (decision 0361). A delivery folder that is a link is left alone;
a delivery with a link in it is refused; an inbox that became a link (its
account owns the inbox's parent, as in compose) is left alone (decision 0922);
``receipt.json`` and ``rejected.txt``
are written only as new files (``O_EXCL | O_NOFOLLOW``), so no link makes the
registry holder write elsewhere.

An inbox whose folder is named after one of the holder's registrations (the
reference layout ``sftp-inbox/<hospital>/<registration>``) takes that
registration's deliveries only: a manifest naming another one is refused, as
the registration in the URL is over HTTPS (decision 0793).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from aanlevering.counterparts.common.audit import ChainedAuditLog
from aanlevering.counterparts.registry_holder import access, inbox_caps
from aanlevering.counterparts.registry_holder.checks import summarise
from aanlevering.counterparts.registry_holder.config import ReceiverLimits
from aanlevering.counterparts.registry_holder.store import Conflict, DeliveryStore, Rejected
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
from aanlevering.errors import DeliveryError

log = logging.getLogger(__name__)
#: The registry holder's default limits, for callers that pass none.
DEFAULT_LIMITS = ReceiverLimits()


def _audit(
    audit: ChainedAuditLog | None,
    provider: str,
    outcome: str,
    manifest: Manifest | None = None,
) -> None:
    if audit is None:
        return
    what: dict[str, object] = {}
    if manifest is not None:  # only after access.check_key/check_manifest accepted it
        what = {
            "registration": manifest.registration,
            "delivery": manifest.idempotency_key,
            "files": len(manifest.files),
            "records": sum(item.records for item in manifest.files),
        }
    audit.append(
        {
            "who": provider,
            "credential": "sftp-account",
            "peer": "sftp",
            "method": "SFTP",
            "endpoint": "sftp-inbox",
            **what,
            "outcome": outcome,
        }
    )


def _write_new(folder: Path, name: str, text: str) -> Path:
    """Write ``folder/name`` as a new file; never through a link (FileExistsError if any)."""
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())  # renamed to receipt.json: whole after a power cut too
    return path


def _links(folder: Path) -> list[str]:
    """Names of the symbolic links in a delivery folder."""
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if entry.is_symlink())


def inbox_registration(inbox: Path, registrations: frozenset[str]) -> str | None:
    """The registration ``inbox`` is for: its folder's name when the holder takes it, else None.

    Why: the reference holder lays its inboxes out per hospital and registration;
    the folder's name is the only place that says which registration an inbox
    is for (decision 0793). An inbox named otherwise is tied to none.
    """
    return inbox.name if inbox.name in registrations else None


def _check_registration(inbox_of: str | None, manifest: Manifest) -> None:
    """access.Denied (403) when ``manifest`` is for another registration than the inbox's."""
    if inbox_of is not None and manifest.registration != inbox_of:
        raise access.Denied(
            403,
            f"this inbox takes deliveries for registration {inbox_of} only; the manifest "
            f"names registration {manifest.registration}: upload it to that registration's inbox",
        )


def process_inbox_once(
    inbox: Path,
    store: DeliveryStore,
    provider: str,
    audit: ChainedAuditLog | None = None,
    limits: ReceiverLimits = DEFAULT_LIMITS,
    *,
    authorised: frozenset[str] | None = None,
    registration: str | None = None,
) -> int:
    """Receipt every complete, unreceipted delivery folder in ``provider``'s ``inbox``.

    ``limits``: the registry holder's, as over HTTPS (files, bytes, manifest size per
    delivery; decision 0473). ``authorised``: the registrations ``provider`` takes
    part in here (None: all; decision 0724). ``registration``: the one this inbox
    is for (None: not tied to one; decision 0793).
    """
    if inbox.is_symlink():
        # Its config's path, resolved at start, is a link now: the account that owns the
        # inbox's parent (compose's inbox volume) swapped it; never read through it (0922).
        log.warning("SFTP inbox %s is a symbolic link now; left alone", inbox)
        return 0
    done = 0
    for manifest_path in sorted(inbox.glob(f"*/{MANIFEST_NAME}")):
        folder = manifest_path.parent
        if folder.is_symlink():
            continue  # it may point at anything, another inbox too: never read or written
        if os.path.lexists(folder / "receipt.json") or os.path.lexists(folder / "rejected.txt"):
            continue
        checked: Manifest | None = None
        try:
            links = _links(folder)
            if links:
                raise access.Denied(
                    400, f"a delivery holds regular files only; symbolic links: {links[:5]!r}"
                )
            inbox_caps.check_folder(folder, limits)
            manifest = Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
            inbox_caps.check_manifest(manifest, limits)
            caller = access.Caller(provider, authorised=authorised)
            access.check_key(caller, manifest.registration, folder.name)
            access.check_manifest(caller, manifest.registration, folder.name, manifest)
            _check_registration(registration, manifest)
            checked = manifest
            receipt = store.commit(folder, manifest)
        except access.Denied as denied:
            _audit(audit, provider, f"refused:{denied.status}")
            _write_new(folder, "rejected.txt", f"- refused: {denied}\n")
            continue
        except Rejected as error:
            _audit(audit, provider, "rejected", checked)
            _write_new(folder, "rejected.txt", summarise(error.problems))
            continue
        except (Conflict, DeliveryError) as error:
            _audit(audit, provider, "rejected", checked)
            _write_new(folder, "rejected.txt", f"- {error}\n")
            continue
        _audit(audit, provider, "duplicate" if receipt.duplicate else "ok", checked)
        if os.path.lexists(folder / ".receipt.json.part"):
            (folder / ".receipt.json.part").unlink()  # the link itself, never its target
        _write_new(folder, ".receipt.json.part", receipt.to_json()).replace(folder / "receipt.json")
        done += 1
    return done


def start_watcher(
    inboxes: Mapping[Path, str],
    store: DeliveryStore,
    interval: float = 0.5,
    audit: ChainedAuditLog | None = None,
    limits: ReceiverLimits = DEFAULT_LIMITS,
    *,
    authorised: Callable[[str], frozenset[str] | None] = lambda _: None,
    registration_of: Callable[[Path], str | None] = lambda _: None,
) -> threading.Event:
    """Poll the inboxes (folder -> owning hospital) in a daemon thread; set the event to stop.

    ``registration_of``: the registration an inbox is for (None: any; decision 0793).
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for inbox, provider in inboxes.items():
                try:
                    process_inbox_once(
                        inbox,
                        store,
                        provider,
                        audit,
                        limits,
                        authorised=authorised(provider),
                        registration=registration_of(inbox),
                    )
                except OSError:
                    log.exception("SFTP inbox %s could not be processed", inbox)
            stop.wait(interval)

    threading.Thread(target=loop, name="sftp-inbox", daemon=True).start()
    return stop
