"""TLS: the contexts that check the daemons' certificates, and a throwaway CA for local use.

A process serves TLS with `tls_cert`/`tls_key` (uvicorn loads them: services/runner.py); the
clients of the daemons check the daemons' certificates against `tls_ca`, or the system's roots
when none is given. Hostnames are checked as well: a daemon's certificate must name the host its
clients dial (METADATA_HOST, DATA_HOST).
"""
from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared import constants as C
from shared.config import Config
from shared.security import private_dir, write_private


def client_context(config: Config) -> ssl.SSLContext:
    """A client context that verifies the peer's certificate and host name (TLS 1.2 at least)."""
    ctx = ssl.create_default_context(cafile=config.tls_ca or None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def metadata_context(config: Config) -> ssl.SSLContext | None:
    """The context the metadata daemon's clients dial with; None when it speaks plain HTTP."""
    return client_context(config) if config.metadata_tls else None


def data_context(config: Config) -> ssl.SSLContext | None:
    """The context the data daemon's clients dial with; None when it speaks plain HTTP."""
    return client_context(config) if config.data_tls else None


def check_server_files(config: Config, what: str) -> None:
    """Refuse to start, with a message saying why, when the certificate or key cannot be used."""
    if not config.tls_cert:
        raise SystemExit(f"coffer: {what} needs a certificate and key: set COFFER_TLS_CERT and "
                         "COFFER_TLS_KEY (or certFilePaths in the config file)")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"coffer: cannot use the TLS certificate {config.tls_cert} with the key "
                         f"{config.tls_key}: {exc}") from None


@dataclass(frozen=True)
class TlsFiles:
    cert: Path          # the server's certificate, then the CA's
    key: Path           # the server's private key (0600)
    ca: Path            # what clients trust


def self_signed(directory: Path, names: list[str]) -> TlsFiles:
    """A throwaway CA and a server certificate it signed for `names` (host names and IP addresses).

    Kept in `directory` and reused while it covers the names for another day, so that clients
    that trust it keep working across restarts. The CA's key is never written: nothing else can be
    signed with it.
    """
    private_dir(directory)
    files = TlsFiles(directory / "cert.pem", directory / "key.pem", directory / "ca.pem")
    if _still_good(files, names):
        return files
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Coffer throwaway CA")])
    ca = (_builder(ca_name, ca_name, ca_key.public_key(), now)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]), ca_name, key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_private(files.key, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    write_private(files.cert, leaf.public_bytes(pem) + ca.public_bytes(pem))
    write_private(files.ca, ca.public_bytes(pem))
    return files


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: datetime.datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=C.TLS_SELF_SIGNED_DAYS)))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _still_good(files: TlsFiles, names: list[str]) -> bool:
    """Whether the kept certificate exists, names every one of `names` and is valid for another day."""
    if not (files.cert.exists() and files.key.exists() and files.ca.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    covered = {str(v) for v in sans.get_values_for_type(x509.DNSName)}
    covered |= {str(v) for v in sans.get_values_for_type(x509.IPAddress)}
    tomorrow = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    return set(names) <= covered and cert.not_valid_after_utc > tomorrow
