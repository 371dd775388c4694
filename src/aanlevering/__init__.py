"""aanlevering: deliver pseudonymised hospital data to Dutch quality registries (Wkz).

The package holds all domain and application logic; Airflow DAGs and the CLI
are thin entrypoints over it.
"""

__version__ = "0.1.0"
