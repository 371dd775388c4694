"""The ``aanlevering`` command: thin entrypoints over the library."""
