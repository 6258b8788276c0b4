"""The relay's own TLS certificate, made for one ``up``: scf-local pins it and sends its token
to no other relay (a process that took the control port after the relay died gets nothing),
and where the control port crosses a network (an engine reached over TCP) every Runtime API
message travels encrypted.

    pair = relay_certificate()
    pair.cert_pem, pair.key_pem       # the relay serves with both; scf-local trusts only cert_pem
    client_context(pair.cert_pem)     # for scf-local's end, checking SERVER_NAME

The key is made here and handed to the relay container in its environment, which the Engine
API carries (encrypted where the engine is reached over TLS, as a remote engine should be).
"""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass

SERVER_NAME = "scf-local-relay"
"""The name in the certificate, and the one scf-local checks."""


@dataclass(frozen=True)
class CertificatePair:
    cert_pem: str
    key_pem: str


def relay_certificate(days: int = 397) -> CertificatePair:
    """A new P-256 key and a self-signed certificate for :data:`SERVER_NAME`."""
    # imported here: only an up whose runtimes go through the relay makes one (import time)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(  # what strict X.509 checking (Python 3.13's default) asks of a CA
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificatePair(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


def client_context(cert_pem: str) -> ssl.SSLContext:
    """Trusts exactly ``cert_pem`` for :data:`SERVER_NAME` (TLS 1.2 at least)."""
    context = ssl.create_default_context(cadata=cert_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
