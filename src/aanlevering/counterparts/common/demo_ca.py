"""A throwaway certificate authority for the demo, the tests and compose (never for production).

Real TLS needs certificates; the demo must not need the openssl CLI or a
network. This writes a CA, one server certificate valid for the given DNS
names and IP addresses (loopback and the compose service names by default),
and one client certificate per organisation whose subject is
``CN=<organisation>`` (what the counterparties' configs match for mTLS).
Keys are EC P-256, written with mode 0600.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_SERVER_NAMES: tuple[str, ...] = (
    "localhost",
    "127.0.0.1",
    "::1",
    "ttp",
    "registry-holder",
)


@dataclass(frozen=True)
class DemoCA:
    """Where the CA, server and client files were written."""

    folder: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]] = field(default_factory=dict)


def client_subject(organisation: str) -> str:
    """The RFC 4514 subject of the demo client certificate of ``organisation``."""
    return f"CN={organisation}"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write the key into a new 0600 file that then replaces ``path``.

    Why not write to ``path`` and chmod it: an existing ``path`` may be a link
    to, or a file of, someone else; the key would land in it, readable with
    its mode until the chmod, and its mode would change (decision 0703).
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, days: int) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
    )


def _alt_names(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def make_demo_ca(
    folder: Path,
    *,
    server_names: tuple[str, ...] = DEFAULT_SERVER_NAMES,
    clients: tuple[str, ...] = (),
    days: int = 30,
) -> DemoCA:
    """Write ``ca.pem``, ``server.pem``/``server.key`` and ``client-<org>.pem``/``.key``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = _name("aanlevering demo CA (throwaway)")
    ca_cert = (
        _builder(ca_name, ca_name, days)
        .public_key(ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_cert(folder / "ca.pem", ca_cert)
    # The CA key is not kept: nothing more will ever be signed with it.

    def issue(
        common_name: str, usage: x509.ObjectIdentifier, names: tuple[str, ...]
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = _key()
        builder = (
            _builder(_name(common_name), ca_name, days)
            .public_key(key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(_alt_names(names), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    server_cert, server_key = issue(server_names[0], ExtendedKeyUsageOID.SERVER_AUTH, server_names)
    _write_cert(folder / "server.pem", server_cert)
    _write_key(folder / "server.key", server_key)
    written: dict[str, tuple[Path, Path]] = {}
    for organisation in clients:
        cert, key = issue(organisation, ExtendedKeyUsageOID.CLIENT_AUTH, ())
        cert_path = folder / f"client-{organisation}.pem"
        key_path = folder / f"client-{organisation}.key"
        _write_cert(cert_path, cert)
        _write_key(key_path, key)
        written[organisation] = (cert_path, key_path)
    return DemoCA(
        folder=folder,
        ca_cert=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        clients=written,
    )
