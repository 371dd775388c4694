"""A delivery run split into persisted steps, for schedulers that run each step in its own process.

:mod:`aanlevering.runs.folder` keeps what one step hands to the next as Arrow
IPC files in the run's staging folder; :mod:`aanlevering.runs.steps` runs one
stage of :mod:`aanlevering.pipeline` between those files. Only the folder's
path and counts travel between steps (e.g. as Airflow XCom).
"""
