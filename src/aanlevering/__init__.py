"""aanlevering: deliver pseudonymised hospital data to Dutch quality registries (Wkz).

The package holds all domain and application logic; Airflow DAGs and the CLI
are thin entrypoints over it.
"""

import os

# Arrow's default allocator (mimalloc) kept freed pages resident; a FHIR extract frees
# and allocates hundreds of MiB in turn, so its peak held them too (200k patients with
# resources: 1,731 MiB with mimalloc, 1,416 MiB with jemalloc). Read once, before
# pyarrow allocates (decision 0237); an explicit setting in the environment wins, and
# mimalloc (if chosen) returns freed pages at once.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

__version__ = "0.1.0"
