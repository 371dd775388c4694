"""The opt-out register: patients who objected to delivery, by patient reference only.

Opt-outs come from the EHR (a CSV extract or FHIR ``Consent`` resources),
become events on a stream per patient reference, and are projected into an
:class:`~aanlevering.optout.register.OptOutRegister` that the pipeline uses to
drop opted-out patients before pseudonymisation. See ``docs/optout.md``.
"""
