"""Reference TTP: the pseudonymisation service of the Wkz, as an open protocol.

Web mode (temporary pseudonyms, exchanged by the registry holder), local-client
mode (upload, pseudonymise, forward), reversible MRN pseudonyms, per
registration key versions with rotation, an append-only audit log. See
docs/ttp.md; start it with ``aanlevering ttp serve``. Submodules are imported
where needed, so importing this package stays cheap.
"""
