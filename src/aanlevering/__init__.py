"""aanlevering: deliver pseudonymised hospital data to Dutch quality registries (Wkz).

The package holds all domain and application logic; Airflow DAGs and the CLI
are thin entrypoints over it.
"""

import os

# Arrow's allocator (mimalloc) keeps freed pages for a while before it returns them;
# a FHIR extract frees and allocates hundreds of MiB in turn, so the peak held the
# freed pages too (50k patients: 860 -> 650 MiB). Read once, before pyarrow allocates
# (decision 0237); an explicit setting in the environment wins.
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

__version__ = "0.1.0"
