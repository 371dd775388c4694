"""Validate extracts against the registration's data dictionary with Great Expectations."""
