"""Which folder a run's reports go to: the one of the version the ledger records for the run.

Why: a run writes its validation report and hospital report into
``reports/<registration>/<period>/v<N>`` when it validates, with the version
it planned from the event log. When the registry holder turns out to hold
that version already with other content (a log restored from an older
backup, decision 0460), the run delivers as the next version; its reports
stayed in the first folder, over the reports of the run that did deliver
that version, and the folder of the version the ledger records for the run
had none (decision 0971). The reports now follow the run's version, and a
folder that holds another run's staged version is never written over.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path

from aanlevering.validate.hospital_report import HOSPITAL_REPORT
from aanlevering.validate.service import DATA_DOCS_DIR

__all__ = ["claimed_by_another_run", "move_reports", "set_aside"]

#: A report folder's delivery status that staged nothing (its version number is free again).
_NOT_STAGED = frozenset({"blocked-by-validation"})


def claimed_by_another_run(folder: Path, key: str, known: Collection[str]) -> bool:
    """Whether ``folder`` holds the reports of a run that staged ``key`` unknown to the log.

    ``known``: the idempotency keys of the period the event log knows. A run
    the log knows (a resend of the same content) owns its folder; one that
    validation blocked staged nothing and numbered nothing.
    """
    if key in known:
        return False
    try:
        document = json.loads((folder / HOSPITAL_REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    delivery = document.get("delivery") if isinstance(document, dict) else None
    return (
        isinstance(delivery, dict)
        and delivery.get("idempotency_key") == key
        and delivery.get("status") not in _NOT_STAGED
    )


def set_aside(folder: Path, run_id: str) -> Path:
    """The folder this run's reports wait in while ``folder`` is another run's (same parent)."""
    return folder.with_name(f"{folder.name}-run-{run_id}")


def move_reports(reports: Mapping[str, str], target: Path) -> dict[str, str]:
    """Move the run's reports (and their data docs) into ``target``; their new paths.

    What ``target`` held under the same names is replaced: it is a folder no
    other run's staged version owns (the caller checked). The folder they
    came from is removed when nothing else is left in it.
    """
    if "json" not in reports:
        return dict(reports)
    source = Path(reports["json"]).parent  # validation writes every report into one folder
    if source.resolve() == target.resolve():
        return dict(reports)
    target.mkdir(parents=True, exist_ok=True)
    for name in {Path(p).name for k, p in reports.items() if k != "data_docs"}:
        if (source / name).is_file():
            (source / name).replace(target / name)
    if (source / DATA_DOCS_DIR).is_dir():
        shutil.rmtree(target / DATA_DOCS_DIR, ignore_errors=True)
        (source / DATA_DOCS_DIR).rename(target / DATA_DOCS_DIR)
    if source.is_dir() and not any(source.iterdir()):
        source.rmdir()
    return {
        kind: str(target / Path(path).relative_to(source))
        if Path(path).is_relative_to(source)
        else path
        for kind, path in reports.items()
    }
