"""Test support: real infrastructure (PostgreSQL ...) as fixtures, see tests/conftest.py."""
