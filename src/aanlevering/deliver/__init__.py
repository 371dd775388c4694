"""Deliver a staged, pseudonymised data set to the registry holder and get a receipt."""
