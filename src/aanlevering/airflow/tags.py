"""DAG tags from fixed namespaces, so the UI's tag filter stays useful and tests can check them.

Free-form tags drift (``DICA``, ``dica``, ``holder-dica``); every tag here is
``<namespace>:<value>`` with a namespace from :class:`TagNamespace`.
"""

from __future__ import annotations

from enum import StrEnum


class TagNamespace(StrEnum):
    """The namespaces a DAG tag may use."""

    REGISTRATION = "registration"
    HOLDER = "holder"
    FORMAT = "format"
    FREQUENCY = "frequency"
    KIND = "kind"


class Kind(StrEnum):
    """What a DAG does (``kind:`` tags)."""

    DELIVERY = "delivery"
    SUPPORT = "support"


def tag(namespace: TagNamespace, value: str) -> str:
    """One tag: ``registration:dica-dsaa``."""
    return f"{namespace}:{value}"


def is_valid_tag(text: str) -> bool:
    """Whether ``text`` is ``<known namespace>:<non-empty value>``."""
    namespace, _, value = text.partition(":")
    return bool(value) and namespace in {n.value for n in TagNamespace}
