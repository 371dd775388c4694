"""One demo-data run: every selected registration, streamed chunk by chunk to files.

Determinism: every random draw comes from a generator seeded with (seed,
registration, chunk, purpose), nothing reads the clock, and files are written
in a fixed order, so the same options give byte-identical output. A
registration's data does not depend on which other registrations are
selected. Memory stays bounded by the chunk size (default 20,000 patients);
FHIR resources live only per Bundle group of 100 patients; a multi-chunk
run hands each chunk's FHIR to a worker process (fhirchunks), which keeps
the files byte-identical and holds at most two chunks' NDJSON at once.

The run writes into a temporary sibling folder and swaps it in at the end,
so a failed run never leaves a half-written folder that looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aanlevering import worker_processes
from aanlevering.catalogue import Catalogue
from aanlevering.demo import badrows, csvout, fhirbuild, fhirchunks, fhirout, ids, optouts
from aanlevering.demo.clinical.base import DatasetChunk
from aanlevering.demo.people import IdParameters, make_people
from aanlevering.demo.records import RegistrationPlan, generate_records, plan_registration
from aanlevering.errors import ConfigError

log = logging.getLogger(__name__)

#: ``fhir`` is both FHIR shapes: the bulk folder and the Bundles (decision 0987).
FORMATS = frozenset({"csv", "fhir"})
ACCEPTED_FORMATS = frozenset({"csv", "fhir", "fhir-bulk", "fhir-bundles"})
FHIR_SHAPES = frozenset({"fhir-bulk", "fhir-bundles"})
SUMMARY_FILE = "demo-data.json"
BAD_ROWS_FILE = "bad-rows.json"
DEFAULT_CHUNK = 20_000
MAX_BAD_SHARE = 0.5
# purposes of the per-chunk random streams
_DEMOGRAPHICS, _PEOPLE, _RECORDS, _BAD, _OPTOUTS = range(5)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    """What to generate; see ``aanlevering demo-data --help``."""

    out_dir: Path
    patients: int
    seed: int
    registrations: tuple[str, ...] = ()
    bad_share: float = 0.02
    formats: frozenset[str] = FORMATS
    chunk_size: int = DEFAULT_CHUNK
    #: Worker processes for the FHIR part of a multi-chunk run; 0: up to 2 (the
    #: cores there are), 1: serial. A single-chunk run is always serial.
    workers: int = 0


def written_formats(formats: frozenset[str]) -> frozenset[str]:
    """``formats`` in its shortest form: both FHIR shapes are ``fhir`` (as ``demo-data.json``
    and older callers say it), one alone is ``fhir-bulk`` or ``fhir-bundles``."""
    shapes = {f for f in formats if f in FHIR_SHAPES}
    if "fhir" in formats:
        shapes = set(FHIR_SHAPES)
    rest = {f for f in formats if f not in FHIR_SHAPES and f != "fhir"}
    return frozenset(rest | ({"fhir"} if shapes == FHIR_SHAPES else shapes))


def _shapes(formats: frozenset[str]) -> frozenset[str]:
    """The FHIR shapes ``formats`` asks for (``fhir`` is both)."""
    return FHIR_SHAPES if "fhir" in formats else formats & FHIR_SHAPES


@dataclass(frozen=True)
class RegistrationOutput:
    """What one registration got."""

    records: Mapping[str, int]
    bad_rows: Mapping[str, int]
    csv_files: tuple[str, ...] = ()
    bundles: int = 0
    fhir_resources: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoResult:
    """Summary of a finished run (also written to ``demo-data.json``)."""

    out_dir: Path
    registrations: Mapping[str, RegistrationOutput]
    optouts: int
    seconds: float


def _check(options: DemoOptions, catalogue: Catalogue) -> tuple[str, ...]:
    if options.patients < 1:
        raise ConfigError("--patients must be at least 1")
    if options.seed < 0:
        raise ConfigError("--seed must be zero or positive")
    if not 0 <= options.bad_share <= MAX_BAD_SHARE:
        raise ConfigError(f"--bad-share must be between 0 and {MAX_BAD_SHARE}")
    unknown = set(options.formats) - ACCEPTED_FORMATS
    if unknown or not options.formats:
        raise ConfigError(
            "--formats takes csv, fhir, fhir-bulk and/or fhir-bundles, not "
            f"{sorted(unknown) or 'nothing'}"
        )
    if options.workers < 0:
        raise ConfigError("workers must be zero (automatic) or positive")
    if options.chunk_size < fhirout.PATIENTS_PER_BUNDLE or (
        options.chunk_size % fhirout.PATIENTS_PER_BUNDLE
    ):
        raise ConfigError(f"chunk size must be a multiple of {fhirout.PATIENTS_PER_BUNDLE}")
    selected = tuple(sorted(set(options.registrations))) or tuple(config.id for config in catalogue)
    for registration in selected:
        catalogue.get(registration)
    capacity = min(ids.BSN_SPACE, ids.MRN_SPACE) // max(1, len(catalogue))
    if options.patients > capacity:
        raise ConfigError(
            f"--patients {options.patients} is more than the {capacity} unique demo patients "
            f"per registration this catalogue of {len(catalogue)} allows"
        )
    return selected


def _prepare_out_dir(out_dir: Path) -> Path:
    """A fresh temporary sibling of ``out_dir``; refuses to replace a folder it did not make."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ConfigError(f"--out {out_dir} exists and is not a folder")
        if any(out_dir.iterdir()) and not (out_dir / SUMMARY_FILE).is_file():
            raise ConfigError(
                f"--out {out_dir} is not empty and holds no earlier demo data ({SUMMARY_FILE}); "
                "choose an empty or new folder"
            )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    return partial


def _rng(seed: int, registration: str, chunk: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(registration.encode()), chunk, purpose])


def generate_demo_data(
    catalogue: Catalogue, options: DemoOptions, progress: Progress | None = None
) -> DemoResult:
    """Write demo EHR extracts for the selected registrations into ``options.out_dir``.

    Raises ConfigError for unusable options, an out folder that is not demo
    output, or a registration whose mapping cannot be generated.
    """
    selected = _check(options, catalogue)
    started = time.perf_counter()
    partial = _prepare_out_dir(options.out_dir)
    try:
        outputs, optout_count = _run(catalogue, options, selected, partial, progress)
        summary = {
            "generator": "aanlevering demo-data",
            "format_version": 1,
            "seed": options.seed,
            "patients_per_registration": options.patients,
            "bad_share": options.bad_share,
            "formats": sorted(written_formats(options.formats)),
            "optouts": optout_count,
            "registrations": {
                reg: {
                    "records": dict(out.records),
                    "bad_rows": dict(out.bad_rows),
                    "csv_files": list(out.csv_files),
                    "fhir_resources": dict(out.fhir_resources),
                    "bundles": out.bundles,
                }
                for reg, out in outputs.items()
            },
        }
        _write_json(partial / SUMMARY_FILE, summary)
        if options.out_dir.exists():
            shutil.rmtree(options.out_dir)
        partial.rename(options.out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return DemoResult(
        out_dir=options.out_dir,
        registrations=outputs,
        optouts=optout_count,
        seconds=time.perf_counter() - started,
    )


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_bad_rows(path: Path, report: dict[str, Any]) -> None:
    """Readable layout, one compact line per bad row (a million-patient run has many)."""

    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = ["{"]
    for key in ("seed", "patients_per_registration", "bad_share", "kinds"):
        lines.append(f'  "{key}": {compact(report[key])},')
    lines.append('  "registrations": {')
    registrations = list(report["registrations"].items())
    for r, (registration, datasets) in enumerate(registrations):
        lines.append(f'    "{registration}": {{')
        items = list(datasets.items())
        for d, (dataset, detail) in enumerate(items):
            lines.append(f'      "{dataset}": {{')
            for key in ("count", "applicable_kinds", "kinds"):
                lines.append(f'        "{key}": {compact(detail[key])},')
            rows = detail["rows"]
            if rows:
                lines.append('        "rows": [')
                lines.extend(
                    f"          {compact(row)}{',' if i < len(rows) - 1 else ''}"
                    for i, row in enumerate(rows)
                )
                lines.append("        ]")
            else:
                lines.append('        "rows": []')
            lines.append(f"      }}{',' if d < len(items) - 1 else ''}")
        lines.append(f"    }}{',' if r < len(registrations) - 1 else ''}")
    lines.append("  }")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(
    catalogue: Catalogue,
    options: DemoOptions,
    selected: tuple[str, ...],
    out: Path,
    progress: Progress | None,
) -> tuple[dict[str, RegistrationOutput], int]:
    all_ids = tuple(config.id for config in catalogue)
    params = IdParameters.from_seed(options.seed)
    # The opt-outs' Consents are part of the bulk folder (fhir-bulk/consent).
    consent_dir = (
        out / fhirout.BULK_DIR / "consent" if "fhir-bulk" in _shapes(options.formats) else None
    )
    optout_writer = optouts.OptOutWriter(out, consent_dir)
    bad_report: dict[str, Any] = {
        "seed": options.seed,
        "patients_per_registration": options.patients,
        "bad_share": options.bad_share,
        "kinds": list(badrows.KINDS),
        "registrations": {},
    }
    outputs: dict[str, RegistrationOutput] = {}
    try:
        for registration in selected:
            if progress is not None:
                progress(f"{registration}: 0 of {options.patients} patients")
            plan = plan_registration(catalogue.get(registration))
            outputs[registration], bad_report["registrations"][registration] = _registration(
                plan,
                options,
                all_ids=all_ids,
                params=params,
                out=out,
                optout_writer=optout_writer,
                progress=progress,
            )
    finally:
        optout_writer.close()
    _write_bad_rows(out / BAD_ROWS_FILE, bad_report)
    return outputs, optout_writer.count


def _registration(
    plan: RegistrationPlan,
    options: DemoOptions,
    *,
    all_ids: tuple[str, ...],
    params: IdParameters,
    out: Path,
    optout_writer: optouts.OptOutWriter,
    progress: Progress | None,
) -> tuple[RegistrationOutput, dict[str, Any]]:
    config = plan.config
    slot = all_ids.index(config.id)
    n_total = options.patients
    n_chunks = -(-n_total // options.chunk_size)
    csv_writers: dict[str, csvout.CsvPairWriter] = {}
    if "csv" in options.formats and config.csv_source is not None:
        for dplan in plan.datasets:
            source = config.csv_source.datasets.get(dplan.dataset.name)
            if source is not None:
                csv_writers[dplan.dataset.name] = csvout.CsvPairWriter(
                    out,
                    csvout.layout(
                        dplan.dataset.name,
                        source,
                        config.csv_source,
                        dplan.dataset.name in plan.model.iso_date_datasets,
                    ),
                )
    builders, bulk, bundles = _fhir_writers(plan, _shapes(options.formats), out)
    fhir = fhirchunks.chunk_writer(
        plan,
        builders,
        bulk,
        bundles,
        chunks=n_chunks,
        workers=options.workers or worker_processes.default_workers(),
    )
    found = {d.dataset.name: badrows.candidates(plan, d) for d in plan.datasets}
    totals = {
        d.dataset.name: badrows.planned_count(
            options.bad_share, n_total, d.expected_per_patient, len(found[d.dataset.name])
        )
        for d in plan.datasets
    }
    bad_entries: dict[str, list[dict[str, Any]]] = {d.dataset.name: [] for d in plan.datasets}
    record_offsets: dict[str, int] = {}
    key_offset = int(_rng(options.seed, config.id, 0, 99).integers(1 << 32))
    started = time.perf_counter()
    try:
        for c in range(n_chunks):
            start = c * options.chunk_size
            n = min(options.chunk_size, n_total - start)
            global_index = slot * n_total + np.arange(start, start + n, dtype=np.int64)
            sex, age = plan.model.demographics(_rng(options.seed, config.id, c, _DEMOGRAPHICS), n)
            people = make_people(
                _rng(options.seed, config.id, c, _PEOPLE), global_index, sex, age, params
            )
            chunks = generate_records(
                plan,
                _rng(options.seed, config.id, c, _RECORDS),
                people,
                age,
                record_offsets=record_offsets,
                key_offset=key_offset,
            )
            bad_rng = _rng(options.seed, config.id, c, _BAD)
            overrides: dict[str, dict[str, dict[int, str]]] = {}
            for dplan in plan.datasets:
                name = dplan.dataset.name
                result = badrows.apply_bad_rows(
                    bad_rng,
                    plan,
                    chunks[name],
                    found[name],
                    badrows.chunk_quota(totals[name], n_chunks, c),
                )
                overrides[name] = result.csv_overrides
                bad_entries[name].extend(_bad_entries(dplan.dataset.key, chunks[name], result))
            for name, writer in csv_writers.items():
                writer.write(chunks[name], people, overrides[name])
            fhir.submit(chunks, people)
            optout_writer.write(
                optouts.draw_optouts(
                    _rng(options.seed, config.id, c, _OPTOUTS),
                    people,
                    config.id,
                    all_ids,
                )
            )
            if progress is not None and n_chunks > 1:
                progress(
                    f"{config.id}: {start + n} of {n_total} patients "
                    f"({time.perf_counter() - started:.1f} s)"
                )
        fhir.finish()
    finally:
        fhir.close()
        for writer in csv_writers.values():
            writer.close()
        if bulk is not None:
            bulk.close()
    report = {
        name: {
            "count": len(entries),
            "applicable_kinds": list(found[name]),
            "kinds": {k: sum(1 for e in entries if e["kind"] == k) for k in badrows.KINDS},
            "rows": entries,
        }
        for name, entries in bad_entries.items()
    }
    output = RegistrationOutput(
        records=dict(record_offsets),
        bad_rows={name: len(entries) for name, entries in bad_entries.items()},
        csv_files=tuple(f"{csvout.UTF8_DIR}/{w.layout.file}" for w in csv_writers.values())
        + tuple(f"{csvout.CP1252_DIR}/{w.layout.file}" for w in csv_writers.values()),
        bundles=bundles.written if bundles is not None else 0,
        fhir_resources=dict(sorted(bulk.counts.items())) if bulk is not None else {},
    )
    return output, report


def _fhir_writers(
    plan: RegistrationPlan, shapes: frozenset[str], out: Path
) -> tuple[
    dict[str, fhirbuild.DatasetBuilder], fhirout.BulkWriter | None, fhirout.BundleWriter | None
]:
    """The resource builders and the writers of the FHIR shapes asked for (none: no FHIR)."""
    config = plan.config
    if not shapes or config.fhir_source is None:
        return {}, None, None
    builders = fhirbuild.builders(plan)
    types = sorted({b.focus_type for b in builders.values()})
    bulk = bundles = None
    if "fhir-bulk" in shapes:
        bulk = fhirout.BulkWriter(
            out / fhirout.BULK_DIR / config.id,
            f"{fhirout.FHIR_BASE}/Group/{config.id}/$export",
        )
    if "fhir-bundles" in shapes:
        bundles = fhirout.BundleWriter(
            out / fhirout.BUNDLE_DIR / config.id,
            config.id,
            builders[plan.period_dataset].focus_type
            if plan.period_dataset in builders
            else types[0],
        )
    return builders, bulk, bundles


def _bad_entries(
    key: tuple[str, ...], chunk: DatasetChunk, result: badrows.ChunkBadRows
) -> list[dict[str, Any]]:
    anchors = chunk.anchor
    entries = []
    for row in result.rows:
        entry: dict[str, Any] = {
            "key": {k: str(chunk.columns[k].values[row.index]) for k in key},
            "kind": row.kind,
            "variable": row.variable,
        }
        if row.rule:
            entry["rule"] = row.rule
        entry["formats"] = list(row.formats)
        entry["period_date"] = str(anchors[row.index].astype("datetime64[D]"))
        entries.append(entry)
    return entries
