"""Client of the TTP protocol (schemas/openapi/ttp.openapi.json), for hospitals and registries.

One module per job: :mod:`.models` (what goes in and comes out),
:mod:`.errors` (refusal and unavailability), :mod:`.guards` (checks before
any call), :mod:`.transport` (HTTP, retries, batches in flight),
:mod:`.answers` (checks on every answer) and :mod:`.client` (the use cases).
Import from those modules; this package imports nothing, so using the models
does not load the HTTP stack.
"""
