"""Start and stop Azurite (blob, queue, table) from ``node_modules`` for tests and ``make run``.

Azurite binds 127.0.0.1, never ``localhost``: azure-data-tables treats ``localhost`` on any
port other than 10002 as a Cosmos DB endpoint and builds the wrong URLs.

By default it speaks plain http and takes the well-known account key. ``Azurite(https=True)``
serves every service over HTTPS with a throwaway ``trustme`` CA (``endpoints.ca_bundle``);
``Azurite(oauth=True)`` (HTTPS implied) also accepts Entra bearer tokens (``--oauth basic``):
Azurite then checks only that the token is a well-formed JWT, unexpired, from an Entra issuer,
for the storage audience; it checks no signature and no role. See :func:`fake_entra_token`.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from localdev.ports import PortProblem, bind_error, holder_of, listens_on

ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key, public in its own documentation; it protects nothing.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
HOST = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
STORAGE_AUDIENCE = "https://storage.azure.com"
TLS_DIR_NAME = "tls"
CA_FILE_NAME = "azurite-ca.pem"
FIXES = Path(__file__).resolve().parent / "azurite_fixes.cjs"
"""A fix to Azurite's queue store, loaded before Azurite (the file says why)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class AzuriteStartError(RuntimeError):
    """Azurite did not come up as this process's own; ``str()`` says why on one line."""


def _log_tail(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def wait_for_own_listener(port: int, deadline: float, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the Azurite we spawned listens on ``port``; refuse anything else that answers there.

    Where /proc shows socket owners (Linux), the listener must be a socket of ``process``
    itself (Azurite is one Node process). Elsewhere, a connection that succeeds while the
    process is still alive is taken as ours.
    """
    while time.monotonic() < deadline:
        if process.poll() is not None:
            reason = _log_tail(log)
            raise AzuriteStartError(
                f"Azurite exited with code {process.returncode} while starting"
                + (f": {reason}" if reason else f"; see {log}")
            )
        ours = listens_on(process.pid, port)
        if ours:
            return
        if ours is None:
            try:
                with socket.create_connection((HOST, port), timeout=0.2):
                    return
            except OSError:
                pass
        else:
            holder = holder_of(port)
            if holder is not None and holder.pid != process.pid:
                raise AzuriteStartError(
                    f"port {port} answers, but not from the Azurite this run started "
                    f"(pid {process.pid}): it is held by {holder.describe()}"
                )
        time.sleep(0.05)
    reason = _log_tail(log)
    raise TimeoutError(f"Azurite did not listen on {HOST}:{port} in time" + (f": {reason}" if reason else ""))


def fake_entra_token(
    audience: str = STORAGE_AUDIENCE,
    *,
    tenant_id: str = "00000000-0000-0000-0000-000000000000",
    object_id: str = "00000000-0000-0000-0000-0000000000aa",
    issued_at: float | None = None,
    lifetime_seconds: int = 3600,
) -> str:
    """An unsigned JWT shaped like an Entra access token, which Azurite's ``--oauth basic`` accepts.

    Azurite wants ``aud`` (the storage audience), ``iss`` (an Entra ``sts.windows.net`` issuer),
    ``iat``/``nbf``/``exp`` around now; it does not verify the signature.
    """
    now = int(time.time() if issued_at is None else issued_at)

    def part(value: dict[str, object]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims: dict[str, object] = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime_seconds,
        "oid": object_id,
        "tid": tenant_id,
        "ver": "1.0",
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.unsigned"


@dataclass(frozen=True)
class AzuriteEndpoints:
    blob_port: int
    queue_port: int
    table_port: int
    scheme: str = "http"
    ca_bundle: str | None = None
    """The CA that signed Azurite's certificate (HTTPS mode): clients' ``connection_verify``."""

    def service_url(self, port: int) -> str:
        return f"{self.scheme}://{HOST}:{port}/{ACCOUNT_NAME}"

    @property
    def blob_url(self) -> str:
        return self.service_url(self.blob_port)

    @property
    def queue_url(self) -> str:
        return self.service_url(self.queue_port)

    @property
    def table_url(self) -> str:
        return self.service_url(self.table_port)

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol={self.scheme};"
            f"AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_url};QueueEndpoint={self.queue_url};TableEndpoint={self.table_url};"
        )


def _write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A fresh CA and a leaf for 127.0.0.1 and localhost, as PEM files: (cert chain, key, CA)."""
    import trustme  # a development dependency, needed only in HTTPS mode

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Azure Disk Backup local Azurite")
    leaf = ca.issue_cert(HOST, "localhost")
    cert, key = directory / "azurite-cert.pem", directory / "azurite-key.pem"
    ca_file = directory / CA_FILE_NAME
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return cert, key, ca_file


class Azurite:
    """One Azurite process with a fresh data folder, on free ports unless told otherwise."""

    def __init__(
        self,
        *,
        blob_port: int = 0,
        queue_port: int = 0,
        table_port: int = 0,
        location: Path | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
        https: bool = False,
        oauth: bool = False,
        in_memory: bool = False,
    ) -> None:
        """``in_memory`` keeps every table, queue and blob in Azurite's memory
        (``--inMemoryPersistence``): nothing survives a restart, and no queue message waits for
        the ``fdatasync`` Azurite's disk store does per message, which caps it near 50 messages
        a second on a small machine, far below Azure's own queues."""
        https = https or oauth  # Azurite (and azure-core) refuse bearer tokens over http
        self._owns_location = location is None
        self.location = location or Path(tempfile.mkdtemp(prefix="azurite-"))
        tls_args: tuple[str, ...] = ()
        ca_bundle: str | None = None
        if https:
            cert, key, ca = _write_tls_files(self.location / TLS_DIR_NAME)
            tls_args = ("--cert", str(cert), "--key", str(key))
            ca_bundle = str(ca)
        self.endpoints = AzuriteEndpoints(
            blob_port or free_port(),
            queue_port or free_port(),
            table_port or free_port(),
            scheme="https" if https else "http",
            ca_bundle=ca_bundle,
        )
        self._in_memory = in_memory
        self._extra_args = (*tls_args, *(("--oauth", "basic") if oauth else ()), *extra_args)
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def command() -> list[str]:
        """Node, with :data:`FIXES` loaded first, running Azurite's own entry point."""
        script = PROJECT_ROOT / "node_modules" / "azurite" / "dist" / "src" / "azurite.js"
        if not script.exists():
            raise FileNotFoundError(f"{script} is missing: run 'npm ci' (make test does)")
        node = shutil.which("node")
        if node is None:
            raise FileNotFoundError("node is not on PATH: Azurite needs Node.js 20 or later")
        return [node, "--require", str(FIXES), str(script)]

    def start(self) -> AzuriteEndpoints:
        args = [
            *self.command(),
            "--silent",
            "--skipApiVersionCheck",
            # Azurite otherwise sends usage data to Application Insights: tests reach nothing
            # but the package registries, and each request paid for the telemetry middleware.
            "--disableTelemetry",
            *(("--inMemoryPersistence",) if self._in_memory else ("--location", str(self.location))),
            "--blobHost",
            HOST,
            "--blobPort",
            str(self.endpoints.blob_port),
            "--queueHost",
            HOST,
            "--queuePort",
            str(self.endpoints.queue_port),
            "--tableHost",
            HOST,
            "--tablePort",
            str(self.endpoints.table_port),
            *self._extra_args,
        ]
        for port in self.ports:
            error = bind_error(port)
            if error is not None:
                raise PortProblem(f"Azurite cannot bind {HOST}:{port}: {error.strerror}")
        log_path = self.location / "azurite.log"
        log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.location, start_new_session=True
        )
        deadline = time.monotonic() + self._startup_timeout
        try:
            for port in self.ports:
                wait_for_own_listener(port, deadline, self._process, log_path)
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    @property
    def ports(self) -> tuple[int, int, int]:
        return (self.endpoints.blob_port, self.endpoints.queue_port, self.endpoints.table_port)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, 15)
            # Azurite waits for idle keep-alive connections to close before it exits on
            # SIGTERM; its data folder is throwaway, so do not wait long for that.
            try:
                self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, 9)
                self._process.wait()
        self._process = None
        if self._owns_location:
            shutil.rmtree(self.location, ignore_errors=True)

    def __enter__(self) -> AzuriteEndpoints:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
