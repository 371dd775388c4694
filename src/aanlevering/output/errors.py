"""The error raised when delivery files cannot be made from the data given.

It is a :class:`DeliveryError` (nothing is delivered), and like every error of
the product its message names the dataset, row reference and variable or the
resource and element, never a value.
"""

from __future__ import annotations

from aanlevering.errors import DeliveryError


class OutputError(DeliveryError):
    """A delivery file could not be written, or would not be valid."""
