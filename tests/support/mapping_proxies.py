"""JSON whose objects are read-only Mappings that are not dicts.

Why: the extract's fast paths test ``type(x) is dict`` before the Mapping ABC check;
tests feed them such JSON to show the slow path still answers the same.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any


def proxied(value: Any) -> Any:
    """The same JSON with every object a read-only Mapping that is no dict."""
    if isinstance(value, dict):
        return MappingProxyType({key: proxied(item) for key, item in value.items()})
    if isinstance(value, list):
        return [proxied(item) for item in value]
    return value
