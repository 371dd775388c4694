"""FHIR extract alone, with either reader: time and peak RSS of one process.

    .venv/bin/python scripts/fhir_extract_probe.py EXPORT_DIR streamed both
    .venv/bin/python scripts/fhir_extract_probe.py EXPORT_DIR stored questionnaire

EXPORT_DIR is a ``demo-data`` FHIR bulk export of dica-dsaa (``fhir-bulk/dica-dsaa``).
The reader is ``streamed`` (decision 0235) or ``stored`` (the store reader it is pinned
against); the content is the registration's ``fhir_content``. Run each in its own
process so the peak is that reader's. Prints ``bench:`` lines; nothing is asserted. Not
named ``bench_*``: ``make bench`` runs those without arguments.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

from aanlevering.catalogue import load_catalogue
from aanlevering.extract.fhir import _Plan
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    """Extract once and print the seconds and the peak RSS."""
    export, reader, content = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    config = load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")
    delivery = replace(config.delivery, format="fhir-ndjson", fhir_content=content)  # type: ignore[arg-type]
    plan = _Plan.of(replace(config, delivery=delivery), None)
    read = plan.streamed if reader == "streamed" else plan.stored
    started = time.perf_counter()
    extracted = read(export, Period.parse("2026"))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    records = sum(d.num_rows for d in extracted.datasets.values())
    print(f"bench: fhir_extract_{reader}_{content} {seconds:.1f} s")
    print(f"bench: fhir_extract_{reader}_{content}_peak_rss {peak:.0f} MiB")
    print(f"bench: fhir_extract_{reader}_{content}_records {records} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
