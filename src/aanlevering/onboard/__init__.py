"""Onboarding a registration: mapping checks, the sample check and the scaffold.

A hospital adds registrations by hand; these modules find mapping mistakes
before a run and propose a mapping from a sample export (docs/new-registration.md).
"""
