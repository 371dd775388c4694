"""The run state on disk: what the Airflow path hands from one task's process to the next.

Implements :class:`aanlevering.pipeline.state.RunState` (layout described
there): ``run.json``, ``work/<stage>/`` with Arrow IPC tables (identifiers
included, so files are 0600 in 0700 folders and live only as long as the run)
and ``work/pseudonyms.arrow``, the run's
:class:`~aanlevering.pseudonym.model.PseudonymTable` in one IPC file, so the
output task reads the same columns the in-process path keeps.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import ipc

from aanlevering.errors import ConfigError
from aanlevering.extract.fhir_texts import KeptSources, TextFile
from aanlevering.extract.model import Extract, ExtractedDataset, TypeProblem
from aanlevering.periods import Period
from aanlevering.pipeline.state import JsonStateFile, create_private_file, make_private_dir
from aanlevering.pseudonym.model import PseudonymTable

PSEUDONYMS_FILE = "pseudonyms.arrow"
#: The FHIR source resources an extract keeps for delivery (see extract.fhir_texts): the
#: rows (record, key, where the text is) and, beside them, the texts file they point into.
RESOURCES_FILE = "resources.arrow"
TEXTS_FILE = "resource-texts.arrow"


def _write_table(path: Path, table: pa.Table) -> None:
    create_private_file(path)  # 0600 from the start: these tables hold identifiers
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_table(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        return ipc.open_file(source).read_all()


@dataclass(frozen=True)
class RunFolder:
    """One run's staging folder; every step of the run opens it by path."""

    path: Path
    #: Tables this process read from the folder, by id: a step that saves one unchanged
    #: (pseudonymise keeps every record of a clean extract) links its file instead of
    #: writing the same bytes again.
    _read: dict[int, tuple[pa.Table, Path]] = field(default_factory=dict, compare=False, repr=False)

    def _load(self, path: Path) -> pa.Table:
        table = _read_table(path)
        self._read[id(table)] = (table, path)
        return table

    def _save(self, path: Path, table: pa.Table) -> None:
        """Write ``table``, or hard-link the file it was read from (same bytes, 0600 already)."""
        source = self._read.get(id(table))
        if source is not None and source[0] is table and source[1].parent != path.parent:
            try:
                os.link(source[1], path)
                return
            except OSError:
                pass  # another file system, or the source is gone: write it
        _write_table(path, table)

    @property
    def out(self) -> Path:
        """The delivery files and manifest, exactly as sent."""
        return self.path / "out"

    def values(self) -> dict[str, Any]:
        """The run's state (references and counts only)."""
        return JsonStateFile(self.path).read()

    def update(self, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into the state, atomically (a killed step leaves the old state)."""
        return JsonStateFile(self.path).update(values)

    def save_extract(
        self, stage: str, extract: Extract, refs: Mapping[str, pa.Array] | None = None
    ) -> None:
        """Persist an extract (and patient refs per dataset) as the output of ``stage``."""
        folder = self.path / "work" / stage
        kept = extract.source_resources
        if kept is not None and kept.texts.path.parent == folder:
            # Saved again over the folder its texts were read from: keep them first.
            kept = replace(kept, texts=kept.texts.link_to(self.path / "work" / TEXTS_FILE))
        if folder.exists():
            shutil.rmtree(folder)
        make_private_dir(folder)
        meta: dict[str, Any] = {
            "registration": extract.registration_id,
            "period": extract.period.label,
            "source_kind": extract.source_kind,
            "rows_outside_period": extract.rows_outside_period,
            "rows_before_period": extract.rows_before_period,
            "datasets": {},
        }
        for index, (name, dataset) in enumerate(extract.datasets.items()):
            stem = f"d{index}"
            self._save(folder / f"{stem}.clinical.arrow", dataset.clinical)
            self._save(folder / f"{stem}.identity.arrow", dataset.identity)
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
                "rows_before_period": dataset.rows_before_period,
                "orphan_row_refs": list(dataset.orphan_row_refs),
                "other_patient_links": [list(pair) for pair in dataset.other_patient_links],
            }
        if kept is not None:
            _write_table(folder / RESOURCES_FILE, kept.rows)
            kept.texts.link_to(folder / TEXTS_FILE)  # the same file: no copy of the texts
        meta_file = folder / "extract.json"
        create_private_file(meta_file)
        meta_file.write_text(json.dumps(meta), encoding="utf-8")

    def _saved(self, stage: str) -> tuple[Path, dict[str, Any]]:
        """The folder ``stage`` saved into and its ``extract.json``; ConfigError when absent."""
        folder = self.path / "work" / stage
        meta_file = folder / "extract.json"
        if not meta_file.is_file():
            raise ConfigError(
                f"run folder {self.path}: the output of step {stage!r} is missing "
                "(run that step first, or clear the whole run)"
            )
        meta: dict[str, Any] = json.loads(meta_file.read_text(encoding="utf-8"))
        return folder, meta

    def load_extract(self, stage: str) -> tuple[Extract, dict[str, pa.Array]]:
        """The extract ``stage`` saved, and its patient refs (empty when it saved none)."""
        folder, meta = self._saved(stage)
        period = Period.parse(meta["period"])
        datasets: dict[str, ExtractedDataset] = {}
        refs: dict[str, pa.Array] = {}
        for name, info in meta["datasets"].items():
            stem = info["stem"]
            rows = _read_table(folder / f"{stem}.rows.arrow")
            datasets[name] = ExtractedDataset(
                name=name,
                clinical=self._load(folder / f"{stem}.clinical.arrow"),
                identity=self._load(folder / f"{stem}.identity.arrow"),
                row_refs=rows.column("row_ref").combine_chunks(),
                type_problems=tuple(TypeProblem(*p) for p in info["type_problems"]),
                source_files=tuple(info["source_files"]),
                rows_outside_period=info["rows_outside_period"],
                rows_before_period=int(info.get("rows_before_period", 0)),
                orphan_row_refs=tuple(info["orphan_row_refs"]),
                other_patient_links=tuple(
                    (str(record), str(location))
                    for record, location in info.get("other_patient_links", ())
                ),
            )
            if "patient_ref" in rows.column_names:
                refs[name] = rows.column("patient_ref").combine_chunks()
        extract = Extract(
            registration_id=meta["registration"],
            period=period,
            source_kind=meta["source_kind"],
            datasets=datasets,
            rows_outside_period=meta["rows_outside_period"],
            rows_before_period=int(meta.get("rows_before_period", 0)),
            source_resources=(
                KeptSources(_read_table(folder / RESOURCES_FILE), TextFile(folder / TEXTS_FILE))
                if (folder / RESOURCES_FILE).is_file()
                else None
            ),
        )
        return extract, refs

    def load_patient_refs(self, stage: str) -> dict[str, pa.Array]:
        """Only the patient refs ``stage`` saved (reads the small rows files, not the tables)."""
        folder, meta = self._saved(stage)
        refs: dict[str, pa.Array] = {}
        for name, info in meta["datasets"].items():
            rows = _read_table(folder / f"{info['stem']}.rows.arrow")
            if "patient_ref" in rows.column_names:
                refs[name] = rows.column("patient_ref").combine_chunks()
        return refs

    def save_pseudonyms(self, pseudonyms: PseudonymTable) -> None:
        """Persist the pseudonyms as one Arrow IPC file, in the columns the output reads."""
        folder = self.path / "work"
        make_private_dir(folder)
        _write_table(folder / PSEUDONYMS_FILE, pseudonyms.to_arrow())

    def load_pseudonyms(self) -> PseudonymTable:
        """The pseudonyms the pseudonymise step saved (memory-mapped, no per-person objects)."""
        file = self.path / "work" / PSEUDONYMS_FILE
        if not file.is_file():
            raise ConfigError(f"run folder {self.path}: no pseudonyms (run pseudonymise first)")
        return PseudonymTable.from_arrow(_read_table(file))

    def remove(self) -> None:
        """Delete the whole run folder (after the receipt: identifiers are kept no longer)."""
        if self.path.exists():
            shutil.rmtree(self.path)
