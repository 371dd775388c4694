"""A delivery run: the stages in order (:mod:`.stages`), the state they hand on
(:mod:`.state`), the in-process runner (:mod:`.run`), the operations the stages are
made of (:mod:`.operations`) and the run lock (:mod:`.lock`).

Light on purpose: DAG files import :mod:`aanlevering.pipeline.stages` at parse
time, which imports this package first; so nothing is imported here.
"""
