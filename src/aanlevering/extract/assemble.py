"""The last step shared by the CSV and FHIR readers: restrict, type and log the datasets.

Both readers end with the period dataset selected and the related datasets
still whole; this applies the period through the relations, builds the
typed datasets and reports the counts (never record contents).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.extract.model import Extract
from aanlevering.extract.rows import Rows, to_dataset
from aanlevering.extract.select import MAX_LISTED, PeriodSelection, restrict_related
from aanlevering.periods import Period

log = logging.getLogger(__name__)


def assemble_extract(
    config: RegistrationConfig,
    period: Period,
    source_kind: str,
    selected: Mapping[str, PeriodSelection],
    unrestricted: Mapping[str, Rows],
    *,
    files: Mapping[str, tuple[str, ...]],
) -> Extract:
    """The Extract of every dataset of ``config``; ``files`` names each dataset's sources."""
    restricted = restrict_related(config, selected, unrestricted)
    datasets = {
        dataset.name: to_dataset(
            dataset,
            restricted[dataset.name].rows,
            source_files=files[dataset.name],
            rows_outside_period=restricted[dataset.name].outside,
            rows_before_period=restricted[dataset.name].before,
            orphan_row_refs=restricted[dataset.name].orphans,
        )
        for dataset in config.dictionary.datasets
    }
    result = Extract(
        registration_id=config.id,
        period=period,
        source_kind=source_kind,
        datasets=datasets,
        rows_outside_period=sum(r.outside for r in restricted.values()),
        rows_before_period=sum(r.before for r in restricted.values()),
    )
    log.info(
        "extracted %s %s from %s: %s; %d record(s) outside the period",
        config.id,
        period.label,
        source_kind.upper(),
        ", ".join(f"{n} {d.num_rows}" for n, d in datasets.items()),
        result.rows_outside_period,
    )
    for name, dataset in datasets.items():
        if dataset.other_patient_links:
            _log_other_patient(config.id, name, dataset.other_patient_resources)
    return result


def _log_other_patient(registration: str, dataset: str, locations: tuple[str, ...]) -> None:
    """Say where the linked resources of another patient are (locations only, decision 0570)."""
    listed = ", ".join(locations[:MAX_LISTED])
    more = f" and {len(locations) - MAX_LISTED} more" if len(locations) > MAX_LISTED else ""
    log.warning(
        "%s.%s: %d linked resource(s) name another patient than their record's and were left "
        "out, neither read nor delivered (decision 0570): %s%s",
        registration,
        dataset,
        len(locations),
        listed,
        more,
    )
