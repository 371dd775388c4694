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
# jemalloc gives freed pages back at once (decision 0311): with its default decay they
# stayed resident after the FHIR extract (200k patients: 740 MiB after the extract, 430
# MiB with this), and every later stage's peak stood on them. About 5 % more CPU in the
# extract (page faults); the same conf string in the environment wins.
os.environ.setdefault("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

__version__ = "0.1.0"
