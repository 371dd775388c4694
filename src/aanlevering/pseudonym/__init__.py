"""Pseudonymisation: normalisation at the source, the first one-way step, the TTP client."""
