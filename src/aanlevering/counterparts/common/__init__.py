"""What both reference counterparties share: TLS serving, request limits, the audit chain."""
