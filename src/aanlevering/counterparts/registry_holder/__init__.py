"""Reference registry holder: receives deliveries, checks them, and returns receipts.

Real registry holders' interfaces are not public; this service implements the
open protocol the project defines (``schemas/openapi/registry-holder.openapi.json``)
so the pipeline, the tests and docker-compose have a real counterpart.
"""
