"""HTTPS for the emulator: azure-core refuses to send bearer tokens over plain http, so the
emulator needs TLS, and a throwaway CA from ``trustme`` gives it without touching system trust."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

CA_FILE_NAME = "compute-emulator-ca.pem"


@dataclass
class TlsMaterial:
    ca_bundle: Path
    server_context: ssl.SSLContext

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_bundle))


def make_tls(cert_dir: Path) -> TlsMaterial:
    """A fresh CA per run, a leaf for 127.0.0.1 and localhost, and the CA PEM written for SDK
    clients' ``connection_verify``."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Azure Disk Backup local Compute emulator")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ca_bundle = cert_dir / CA_FILE_NAME
    ca.cert_pem.write_to_path(str(ca_bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return TlsMaterial(ca_bundle=ca_bundle, server_context=context)
