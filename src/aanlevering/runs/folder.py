"""The staging folder of one persisted run: state, extracts and pseudonyms as files.

Layout under ``$AANLEVERING_HOME/staging/<registration>/<period>/run-<id>/``:
``run.json`` (the run's state: references and counts, no patient data),
``work/<stage>/`` (Arrow IPC tables handed from one step to the next; these
may hold identifiers and live only as long as the run) and ``out/`` (the
delivery files and manifest as they are sent).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import ipc

from aanlevering.errors import ConfigError
from aanlevering.extract.model import Extract, ExtractedDataset, TypeProblem
from aanlevering.periods import Period
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType

STATE_FILE = "run.json"


def _write_table(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_table(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return ipc.open_file(source).read_all()


@dataclass(frozen=True)
class RunFolder:
    """One run's staging folder; every step of the run opens it by path."""

    path: Path

    @property
    def out(self) -> Path:
        """The delivery files and manifest, exactly as sent."""
        return self.path / "out"

    def state(self) -> dict[str, Any]:
        """The run's state (references and counts only)."""
        file = self.path / STATE_FILE
        if not file.is_file():
            raise ConfigError(f"run folder {self.path} has no {STATE_FILE} (removed or never made)")
        loaded: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        return loaded

    def update(self, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into the state, atomically (a killed step leaves the old state)."""
        file = self.path / STATE_FILE
        self.path.mkdir(parents=True, exist_ok=True)
        state = self.state() if file.is_file() else {}
        state.update(values)
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(file)
        return state

    def save_extract(
        self, stage: str, extract: Extract, refs: Mapping[str, pa.Array] | None = None
    ) -> None:
        """Persist an extract (and patient refs per dataset) as the output of ``stage``."""
        folder = self.path / "work" / stage
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        meta: dict[str, Any] = {
            "registration": extract.registration_id,
            "period": extract.period.label,
            "source_kind": extract.source_kind,
            "rows_outside_period": extract.rows_outside_period,
            "datasets": {},
        }
        for index, (name, dataset) in enumerate(extract.datasets.items()):
            stem = f"d{index}"
            _write_table(folder / f"{stem}.clinical.arrow", dataset.clinical)
            _write_table(folder / f"{stem}.identity.arrow", dataset.identity)
            rows = {"row_ref": dataset.row_refs}
            if refs is not None:
                rows["patient_ref"] = refs[name]
            _write_table(folder / f"{stem}.rows.arrow", pa.table(rows))
            meta["datasets"][name] = {
                "stem": stem,
                "type_problems": [
                    [p.row_ref, p.variable, p.expected] for p in dataset.type_problems
                ],
                "source_files": list(dataset.source_files),
                "rows_outside_period": dataset.rows_outside_period,
                "orphan_row_refs": list(dataset.orphan_row_refs),
            }
        (folder / "extract.json").write_text(json.dumps(meta), encoding="utf-8")

    def load_extract(self, stage: str) -> tuple[Extract, dict[str, pa.Array]]:
        """The extract ``stage`` saved, and its patient refs (empty when it saved none)."""
        folder = self.path / "work" / stage
        meta_file = folder / "extract.json"
        if not meta_file.is_file():
            raise ConfigError(
                f"run folder {self.path}: the output of step {stage!r} is missing "
                "(run that step first, or clear the whole run)"
            )
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        period = Period.parse(meta["period"])
        datasets: dict[str, ExtractedDataset] = {}
        refs: dict[str, pa.Array] = {}
        for name, info in meta["datasets"].items():
            stem = info["stem"]
            rows = _read_table(folder / f"{stem}.rows.arrow")
            datasets[name] = ExtractedDataset(
                name=name,
                clinical=_read_table(folder / f"{stem}.clinical.arrow"),
                identity=_read_table(folder / f"{stem}.identity.arrow"),
                row_refs=rows.column("row_ref").combine_chunks(),
                type_problems=tuple(TypeProblem(*p) for p in info["type_problems"]),
                source_files=tuple(info["source_files"]),
                rows_outside_period=info["rows_outside_period"],
                orphan_row_refs=tuple(info["orphan_row_refs"]),
            )
            if "patient_ref" in rows.column_names:
                refs[name] = rows.column("patient_ref").combine_chunks()
        extract = Extract(
            registration_id=meta["registration"],
            period=period,
            source_kind=meta["source_kind"],
            datasets=datasets,
            rows_outside_period=meta["rows_outside_period"],
        )
        return extract, refs

    def save_pseudonyms(self, pseudonyms: Mapping[str, PatientPseudonyms]) -> None:
        """Persist the pseudonyms per patient number for the output step."""
        columns: dict[str, list[Any]] = {
            k: [] for k in ("patient_id", "type", "value", "key_version", "temporary", "profile")
        }
        for patient_id, patient in pseudonyms.items():
            for pseudonym in patient.pseudonyms:
                columns["patient_id"].append(patient_id)
                columns["type"].append(str(pseudonym.type))
                columns["value"].append(pseudonym.value)
                columns["key_version"].append(pseudonym.key_version)
                columns["temporary"].append(pseudonym.temporary)
                columns["profile"].append(pseudonym.profile)
        schema = pa.schema(
            [
                ("patient_id", pa.string()),
                ("type", pa.string()),
                ("value", pa.string()),
                ("key_version", pa.int64()),
                ("temporary", pa.bool_()),
                ("profile", pa.string()),
            ]
        )
        folder = self.path / "work"
        folder.mkdir(parents=True, exist_ok=True)
        _write_table(folder / "pseudonyms.arrow", pa.table(columns, schema=schema))

    def load_pseudonyms(self) -> dict[str, PatientPseudonyms]:
        """The pseudonyms the pseudonymise step saved, per patient number, in saved order."""
        file = self.path / "work" / "pseudonyms.arrow"
        if not file.is_file():
            raise ConfigError(f"run folder {self.path}: no pseudonyms (run pseudonymise first)")
        rows = _read_table(file).to_pylist()
        grouped: dict[str, list[Pseudonym]] = {}
        for row in rows:
            grouped.setdefault(row["patient_id"], []).append(
                Pseudonym(
                    type=PseudonymType(row["type"]),
                    value=row["value"],
                    key_version=row["key_version"],
                    temporary=row["temporary"],
                    profile=row["profile"],
                )
            )
        return {pid: PatientPseudonyms(pid, tuple(items)) for pid, items in grouped.items()}

    def remove(self) -> None:
        """Delete the whole run folder (after the receipt: identifiers are kept no longer)."""
        if self.path.exists():
            shutil.rmtree(self.path)
