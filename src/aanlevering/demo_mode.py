"""Whether this install is the demo: the one switch that lets demo stand-ins through.

Why a switch: the reference TTP and registry holder that ship with the project
(``make run``, the compose file) answer like real ones, so a production install
whose endpoints were never set got receipts from the local reference holder and
recorded "delivered" while the real registry holder received nothing; and
without ``AANLEVERING_PROVIDER_ID`` it delivered as ``demo-hospital``. Outside
demo mode both are refused (decisions 0710, 0711):

* the reference services say what they are (a response header on every answer,
  ``reference: true`` in every receipt), and :func:`refuse_reference` stops the
  hospital side at the first such answer, before patient data is sent where it
  can be told in time, and always before "delivered" is recorded;
* ``AANLEVERING_PROVIDER_ID`` has no default (:mod:`aanlevering.settings`).

``AANLEVERING_DEMO_MODE=yes`` turns both back on; ``make run`` (scripts/run.sh)
and the test suite set it. Anything but yes or no is refused, so a typo never
reads as either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aanlevering.errors import ConfigError
from aanlevering.switches import yes_or_no

DEMO_MODE_ENV = "AANLEVERING_DEMO_MODE"

#: The response header every answer of a reference counterpart carries; its value
#: names the service (``ttp`` or ``registry-holder``).
REFERENCE_HEADER = "Aanlevering-Reference-Service"


class ReferenceCounterpart(ConfigError):
    """A counterpart answered as a reference (demo) service outside demo mode.

    A ConfigError (exit 2; an Airflow task fails without retries): the endpoint
    settings are wrong, waiting does not fix them. Nothing is recorded delivered.
    """


def demo_mode(env: Mapping[str, str] | None = None) -> bool:
    """``AANLEVERING_DEMO_MODE`` as yes or no (unset: no); anything else is a ConfigError."""
    env = os.environ if env is None else env
    return yes_or_no(DEMO_MODE_ENV, env.get(DEMO_MODE_ENV, ""))


def refuse_reference(service: str, where: str, env: Mapping[str, str] | None = None) -> None:
    """Stop unless in demo mode: ``service`` at ``where`` said it is a reference service.

    Why stop rather than warn: a receipt of the reference registry holder is no
    delivery to any registry, and the reference TTP's pseudonyms are not the
    registry's; a warning in a log nobody reads would still record "delivered".
    """
    if demo_mode(env):
        return
    raise ReferenceCounterpart(
        f"the {service} at {where} is the project's reference (demo) service, not a real "
        f"{service}: nothing is sent to it and nothing is recorded delivered. Set the real "
        "endpoint (AANLEVERING_TTP_URL, AANLEVERING_REGISTRY_HOLDER_URL or the Airflow "
        f"Connections), or {DEMO_MODE_ENV}=yes when this install is a demo"
    )
