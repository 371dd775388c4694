"""Airflow wiring: DAGs generated from the catalogue, thin task callables, the UI plugin.

Nothing in this package is imported by the rest of ``aanlevering``: the
pipeline runs the same without Airflow (``aanlevering run``).
"""
