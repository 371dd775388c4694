"""The opt-out register: patients who objected to delivery, by patient reference only.

Opt-outs come from the EHR (:mod:`.sources.ehr_csv`, :mod:`.sources.consent`),
become events on a stream per patient reference (:mod:`.service`,
:mod:`.events`), and are projected into an :class:`.register.OptOutRegister`
under configurable :mod:`.rules`. The pipeline calls
:func:`.filter.apply_optouts` before pseudonymisation; :mod:`.deliveries`
answers which deliveries contained a patient. See ``docs/optout.md``.

This ``__init__`` imports nothing, so the event registry can load
:mod:`.events` without pulling in pyarrow; import from the submodules.
"""
