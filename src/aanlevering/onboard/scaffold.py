"""``registrations new``: a first registration config written from a dictionary and a sample.

The scaffold does the tedious part (which column is which variable, which
identity fields the export has, how it writes dates and decimals) and marks
everything it is not sure of with ``# TODO``, which ``registrations check``
refuses until a person has decided. Certain matches (header *and* content
agree) are written plainly; proposals say why they were made. Nothing of the
sample's values is written, only its headers and file names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from aanlevering.catalogue.model import DataDictionary, Dataset
from aanlevering.catalogue.semantics import PSEUDONYM_INPUTS
from aanlevering.errors import ConfigError
from aanlevering.onboard.csv_match import (
    FileMatch,
    assign_dataset,
    detect_formats,
    match_file,
    read_sample,
)
from aanlevering.onboard.fhir_scaffold import fhir_source_lines
from aanlevering.periods import run_day
from aanlevering.pseudonym_types import PseudonymType

TODO = "# TODO"


@dataclass(frozen=True)
class Scaffold:
    """The written config and how many decisions it leaves open."""

    text: str
    todos: int


def _q(text: str) -> str:
    """A YAML scalar in double quotes (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _key(text: str) -> str:
    plain = text.replace("_", "").replace("-", "").isalnum() and not text[:1].isdigit()
    return text if plain else _q(text)


def _todo(line: str, note: str) -> str:
    return f"{line}  {TODO}: {note}"


def _csv_files(sample: Path) -> list[Path]:
    if sample.is_file():
        return [sample]
    return sorted(p for p in sample.iterdir() if p.is_file() and p.suffix.lower() == ".csv")


def _proposed_types(identity_fields: set[str]) -> list[PseudonymType]:
    wanted = (PseudonymType.NGGV, PseudonymType.C, PseudonymType.MRN)
    return [
        t
        for t in wanted
        if all(identity_fields.intersection(options) for options in PSEUDONYM_INPUTS[t])
    ]


def _record_key_columns(match: FileMatch, dataset: Dataset) -> list[str]:
    patient = [p.column for p in match.identity if p.target in {"patient_id", "mrn"}]
    dated = [p.column for p in match.columns if dataset.variable(p.target).type == "date"]
    return patient[:1] + dated[:1]


def _csv_dataset_lines(match: FileMatch, dataset: Dataset) -> list[str]:
    lines = [f"      {dataset.name}:", f"        file: {_q(match.glob)}", "        columns:"]
    for proposal in match.columns:
        line = f"          {_key(proposal.column)}: {proposal.target}"
        if dataset.key and proposal.target in dataset.key:
            line += "  # record key: delivered as a keyed hash (decision 0181)"
        lines.append(line if proposal.certain else _todo(line, f"matched by {proposal.reason}"))
    for column in match.unmatched:
        lines.append(
            _todo(
                f"          # {_key(column)}: ?",
                "no variable matched this column; map it (and remove the '#') or leave it out "
                "of the export",
            )
        )
    for variable in match.unsourced:
        if variable in dataset.key:
            continue
        lines.append(_todo(f"          # ?: {variable}", "no column matched this variable"))
    if match.identity:
        lines.append("        identity:")
        for proposal in match.identity:
            line = f"          {_key(proposal.column)}: {proposal.target}"
            lines.append(
                line if proposal.certain else _todo(line, f"recognised by {proposal.reason}")
            )
    keyless = [k for k in dataset.key if k in match.unsourced]
    if keyless:
        columns = _record_key_columns(match, dataset)
        lines.append("        record_keys:")
        for key in keyless:
            listed = ", ".join(_key(c) for c in columns) or "?"
            lines.append(
                _todo(
                    f"          {key}: [{listed}]",
                    "the export has no record id; list the columns that together identify "
                    "one record (delivered as a keyed hash, decision 0192)",
                )
            )
    return lines


def _holder_id(dictionary: DataDictionary) -> str:
    """``dica`` from "Dutch Institute for Clinical Auditing (DICA)", else the dictionary id."""
    found = re.search(r"\(([A-Za-z][A-Za-z0-9-]*)\)", dictionary.registry_holder)
    return (found.group(1) if found else dictionary.id).lower()


def _header_lines(
    dictionary: DataDictionary, new_id: str, sample: Path, matches_types: list[PseudonymType]
) -> list[str]:
    period = next(
        (
            f"{d.name}.{v.name}"
            for d in dictionary.datasets
            for v in d.variables
            if v.type in {"date", "datetime"}
        ),
        "?",
    )
    types = ", ".join(str(t) for t in matches_types) or "MRN"
    return [
        f"# Scaffolded by `aanlevering registrations new` from {sample.name} on "
        f"{run_day().isoformat()}.",
        "# Decide every line marked TODO, then delete that TODO comment;",
        "# `aanlevering registrations check` fails while one is left.",
        f"id: {new_id}",
        _todo(f"name: {_q(dictionary.name)}", "the registration's name as the hospital uses it"),
        _todo(
            f"registry_holder: {{id: {_holder_id(dictionary)}, "
            f"name: {_q(dictionary.registry_holder)}}}",
            "the registry holder's id in the hospital's contract register",
        ),
        f"dictionary: {{id: {dictionary.id}, version: {_q(dictionary.version)}}}",
        'start: "2026-01-01"',
        _todo("frequency: quarter", "month, quarter or year, as agreed with the registry holder"),
        _todo(f"period_variable: {period}", "the date that places a record in a period"),
        "before_inclusion: wait",
        "pseudonymisation:",
        "  profile: nl-2026.1",
        "  ttp_mode: web",
        _todo(
            f"  types: [{types}]",
            "the pseudonym types the registry holder asks for (proposed from the identity "
            "fields the sample has)",
        ),
        "delivery:",
        "  format: csv",
        _todo(
            "  channel: outbox",
            "the outbox (a folder) is for the first deliveries; https or sftp with an "
            "endpoint for the real ones",
        ),
        "validation:",
        "  block_on: error",
        "  row_detail_limit: 20",
        "source:",
    ]


def _csv_lines(dictionary: DataDictionary, sample: Path) -> tuple[list[str], set[str]]:
    files = _csv_files(sample)
    if not files:
        raise ConfigError(f"sample {sample} holds no *.csv file (and no FHIR export)")
    samples = {path: read_sample(path) for path in files}
    formats_from: list[Path] = []
    best: dict[str, tuple[float, Path]] = {}
    for path, (layout, _) in samples.items():
        dataset_name, score = assign_dataset(layout.header, dictionary)
        if score >= best.get(dataset_name, (0.0, path))[0] and score > 0:
            best[dataset_name] = (score, path)
    chosen = {path: name for name, (_, path) in best.items()}
    left_out = [p.name for p in files if p not in chosen]
    formats_from = list(chosen)
    formats = detect_formats([samples[p][1] for p in formats_from])
    parent_keys: dict[str, pa.Array] = {}
    matches: dict[str, FileMatch] = {}
    order = [d.name for d in dictionary.datasets]
    for path in sorted(chosen, key=lambda p: order.index(chosen[p])):
        matches[chosen[path]] = match_file(path, dictionary, formats, parent_keys, samples[path])
    lines = [
        "  csv:",
        "    encoding: auto",
        "    delimiter: auto",
        f"    decimal: {_q(formats.decimal)}",
        f"    date_formats: [{', '.join(_q(f) for f in formats.date_formats)}]",
        f"    datetime_formats: [{', '.join(_q(f) for f in formats.datetime_formats)}]",
        "    datasets:",
    ]
    if left_out:
        lines.insert(
            0,
            f"  # sample files left out (another file fits the dataset better): "
            f"{', '.join(left_out)}",
        )
    identity: set[str] = set()
    for dataset in dictionary.datasets:
        match = matches.get(dataset.name)
        if match is None:
            lines.append(_todo(f"      # {dataset.name}: ?", "no sample file for this dataset"))
            continue
        lines.extend(_csv_dataset_lines(match, dataset))
        identity.update(p.target for p in match.identity)
    return lines, identity


def _is_fhir(sample: Path) -> bool:
    if sample.is_file():
        return sample.suffix in {".ndjson", ".json"}
    return any(p.suffix in {".ndjson", ".json"} for p in sample.iterdir()) and not any(
        p.suffix.lower() == ".csv" for p in sample.iterdir()
    )


def scaffold(dictionary: DataDictionary, new_id: str, sample: Path) -> Scaffold:
    """The registration YAML for ``dictionary`` proposed from ``sample`` (CSV or FHIR export)."""
    if not sample.exists():
        raise ConfigError(f"sample {sample} does not exist")
    if _is_fhir(sample):
        source, identity = fhir_source_lines(dictionary, sample)
    else:
        source, identity = _csv_lines(dictionary, sample)
    lines = _header_lines(dictionary, new_id, sample, _proposed_types(identity)) + source
    text = "\n".join(lines) + "\n"
    return Scaffold(text, sum(1 for line in lines if TODO in line))
