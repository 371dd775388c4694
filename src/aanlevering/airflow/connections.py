"""TTP and registry-holder endpoints and credentials from Airflow Connections.

Why: Airflow users keep credentials in Connections, and Connections come from
any secrets backend (HashiCorp Vault, AWS/GCP/Azure secret managers, the
metadata database, ``AIRFLOW_CONN_<ID>`` environment variables). The DAG
tasks hand :class:`AirflowConnections` to the run steps as their
:class:`~aanlevering.runs.credentials.CredentialsSource`; the library core
never imports Airflow, and the CLI keeps reading the environment.

Connection ids: ``aanlevering_ttp`` and
``aanlevering_registry_holder__<registration>`` (the registration id in lower
case with ``-`` as ``_``, so ``AIRFLOW_CONN_AANLEVERING_REGISTRY_HOLDER__DICA_DSAA``
works as an environment variable). Fields: host, port and schema give the
endpoint URL (see :func:`endpoint_url_of`), the password is the API key,
login is the SFTP user; extras carry TLS material (``ca_bundle``,
``client_cert``, ``client_key``: PEM text or a file path) and, for SFTP,
``private_key``/``key_file`` and ``known_hosts``/``known_hosts_file``.
Airflow masks the password and extras in task logs; this module never logs
them and never puts them in an error message.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aanlevering.errors import ConfigError
from aanlevering.switches import YES, yes_or_no

if TYPE_CHECKING:
    # The DAG file imports this module at parse time (for the connection ids in
    # doc_md); the run's modules are imported only when a task runs.
    from aanlevering.runs.credentials import EndpointCredentials, Secret

log = logging.getLogger(__name__)

TTP_CONNECTION_ID = "aanlevering_ttp"
REGISTRY_HOLDER_CONNECTION_PREFIX = "aanlevering_registry_holder__"
#: ``true``: a missing connection is an error instead of a fall back to the environment.
REQUIRE_ENV = "AANLEVERING_REQUIRE_CONNECTIONS"

_SCHEMES = ("https", "http", "sftp")
_TLS_EXTRAS = ("ca_bundle", "client_cert", "client_key")
_SSH_EXTRAS = ("private_key", "key_file", "known_hosts", "known_hosts_file")
KNOWN_EXTRAS = (*_TLS_EXTRAS, *_SSH_EXTRAS, "allow_insecure_http")


class ConnectionFields(Protocol):
    """What this module reads of an Airflow ``Connection`` (``airflow.sdk.Connection``)."""

    conn_id: str
    conn_type: str | None
    host: str | None
    schema: str | None
    login: str | None
    password: str | None
    port: int | None
    extra: str | None


def registry_holder_connection_id(registration_id: str) -> str:
    """``aanlevering_registry_holder__<registration>``, usable as an environment variable name."""
    return REGISTRY_HOLDER_CONNECTION_PREFIX + registration_id.lower().replace("-", "_")


def _problem(conn: ConnectionFields, detail: str) -> ConfigError:
    return ConfigError(f"Airflow connection '{conn.conn_id}': {detail}")


def endpoint_url_of(conn: ConnectionFields) -> str:
    """``scheme://[login@]host[:port][/path]`` from the connection's fields.

    The scheme is the one written in ``host`` (``https://rh.example.nl``), or
    ``schema`` when it is ``https``/``http``/``sftp`` (Airflow's HTTP
    connection form puts it there), or the connection type when it is one of
    those (the URI form ``https://...``), else ``https``. Otherwise ``schema``
    is the path (the URI form puts the path there).
    """
    host = (conn.host or "").strip()
    if not host:
        raise _problem(conn, "field 'host' is empty (the endpoint's host name)")
    schema = (conn.schema or "").strip()
    conn_type = (conn.conn_type or "").strip().lower()
    scheme = ""
    if "://" in host:
        scheme, host = host.split("://", 1)
        scheme = scheme.lower()
    elif schema.lower() in _SCHEMES:
        scheme = schema.lower()
    elif conn_type in _SCHEMES:
        scheme = conn_type
    path = "" if schema.lower() in _SCHEMES else schema
    scheme = scheme or "https"
    if scheme not in _SCHEMES:
        raise _problem(conn, f"scheme {scheme!r} is not one of {', '.join(_SCHEMES)}")
    host, _, host_path = host.partition("/")
    path = "/".join(part.strip("/") for part in (host_path, path) if part.strip("/"))
    user = ""
    if scheme == "sftp":
        if not (conn.login or "").strip():
            raise _problem(conn, "field 'login' is empty (the SFTP user)")
        user = f"{conn.login.strip()}@"  # type: ignore[union-attr]
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{user}{host}{port}" + (f"/{path}" if path else "")


def _extras(conn: ConnectionFields) -> dict[str, Any]:
    if not conn.extra or not conn.extra.strip():
        return {}
    try:
        extras = json.loads(conn.extra)
    except json.JSONDecodeError:
        raise _problem(conn, "field 'extra' is not valid JSON") from None
    if not isinstance(extras, dict):
        raise _problem(conn, "field 'extra' must be a JSON object")
    unknown = sorted(set(extras) - set(KNOWN_EXTRAS))
    if unknown:
        raise _problem(
            conn, f"unknown extra {', '.join(unknown)} (known: {', '.join(KNOWN_EXTRAS)})"
        )
    return extras


def _secret(*, text: str | None = None, path: Path | None = None) -> Secret:
    from aanlevering.runs.credentials import Secret

    return Secret(text=text, path=path)


def _file(conn: ConnectionFields, name: str, value: str) -> Secret:
    printable = "\n" not in value and len(value) < 512
    path = Path(value).expanduser() if printable else None
    if path is None or not path.is_file():
        shown = f"file {value} not found" if printable else "not a file path"
        raise _problem(conn, f"extra '{name}': {shown} (give PEM text or a file path)")
    return _secret(path=path)


def _pem_or_file(conn: ConnectionFields, extras: Mapping[str, Any], name: str) -> Secret | None:
    value = extras.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _problem(conn, f"extra '{name}' must be a string (PEM text or a file path)")
    if "-----BEGIN " in value:
        return _secret(text=value)
    return _file(conn, name, value.strip())


def _text_or_file(
    conn: ConnectionFields, extras: Mapping[str, Any], text_name: str, file_name: str
) -> Secret | None:
    text, path = extras.get(text_name), extras.get(file_name)
    if text and path:
        raise _problem(conn, f"give extra '{text_name}' or '{file_name}', not both")
    if text:
        if not isinstance(text, str):
            raise _problem(conn, f"extra '{text_name}' must be a string")
        return _secret(text=text)
    if path:
        if not isinstance(path, str):
            raise _problem(conn, f"extra '{file_name}' must be a file path")
        return _file(conn, file_name, path.strip())
    return None


def endpoint_from_connection(conn: ConnectionFields, what: str) -> EndpointCredentials:
    """Parse one connection into endpoint settings; ConfigError naming the connection and field.

    ``what`` names the counterparty in the log (``TTP``, ``registry holder of ldtr``).
    """
    from aanlevering.runs.credentials import EndpointCredentials

    url = endpoint_url_of(conn)
    extras = _extras(conn)
    api_key = (conn.password or "").strip()
    credentials = EndpointCredentials(
        source=f"Airflow connection '{conn.conn_id}'",
        url=url,
        api_key=api_key,
        ca_bundle=_pem_or_file(conn, extras, "ca_bundle"),
        client_cert=_pem_or_file(conn, extras, "client_cert"),
        client_key=_pem_or_file(conn, extras, "client_key"),
        allow_insecure_http=str(extras.get("allow_insecure_http", "")).lower() in YES,
        ssh_key=_text_or_file(conn, extras, "private_key", "key_file"),
        known_hosts=_text_or_file(conn, extras, "known_hosts", "known_hosts_file"),
    )
    if credentials.client_key is not None and credentials.client_cert is None:
        raise _problem(conn, "extra 'client_key' is set but 'client_cert' is not")
    if url.startswith("sftp://"):
        if credentials.ssh_key is None:
            raise _problem(conn, f"extra 'private_key' or 'key_file' is needed for the {what}")
        if credentials.known_hosts is None:
            raise _problem(
                conn, f"extra 'known_hosts' or 'known_hosts_file' is needed for the {what}"
            )
    elif not api_key and credentials.client_cert is None:
        raise _problem(
            conn, f"field 'password' (the API key at the {what}) is empty and no client_cert is set"
        )
    return credentials


def _airflow_get(conn_id: str) -> ConnectionFields | None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        found: ConnectionFields = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    return found


def _required_setting(text: str) -> bool:
    """``AANLEVERING_REQUIRE_CONNECTIONS`` as a yes or no; anything else is refused.

    Why refuse: read as "no", a typo (``ture``, ``required``) would quietly let
    production tasks fall back to the environment when the secrets backend
    does not answer, the very case the setting exists to stop.
    """
    return yes_or_no(REQUIRE_ENV, text)


class AirflowConnections:
    """The Airflow :class:`~aanlevering.runs.credentials.CredentialsSource` of the DAG tasks.

    A connection that does not exist means "use the environment" (logged by
    the ports), unless ``AANLEVERING_REQUIRE_CONNECTIONS=true``; a connection
    that exists but is incomplete is a ConfigError (the task fails, no retries).
    """

    def __init__(
        self,
        get: Callable[[str], ConnectionFields | None] = _airflow_get,
        *,
        required: bool | None = None,
    ) -> None:
        self._get = get
        if required is None:
            required = _required_setting(os.environ.get(REQUIRE_ENV, ""))
        self.required = required

    def _find(self, conn_id: str, what: str) -> EndpointCredentials | None:
        conn = self._get(conn_id)
        if conn is None:
            if self.required:
                raise ConfigError(
                    f"Airflow connection '{conn_id}' ({what}) is not defined "
                    f"and {REQUIRE_ENV} is set"
                )
            log.info("no Airflow connection '%s' for the %s", conn_id, what)
            return None
        return endpoint_from_connection(conn, what)

    def ttp(self) -> EndpointCredentials | None:
        """From connection ``aanlevering_ttp``."""
        return self._find(TTP_CONNECTION_ID, "TTP")

    def registry_holder(self, registration_id: str) -> EndpointCredentials | None:
        """From connection ``aanlevering_registry_holder__<registration>``."""
        return self._find(
            registry_holder_connection_id(registration_id),
            f"registry holder of {registration_id}",
        )
