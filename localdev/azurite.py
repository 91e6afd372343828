"""Start and stop Azurite (blob, queue, table) from ``node_modules`` for tests and ``make run``.

Azurite binds 127.0.0.1, never ``localhost``: azure-data-tables treats ``localhost`` on any
port other than 10002 as a Cosmos DB endpoint and builds the wrong URLs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key, public in its own documentation; it protects nothing.
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
HOST = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, deadline: float, process: subprocess.Popen[bytes]) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited early with code {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"Azurite did not listen on {HOST}:{port} in time")


@dataclass(frozen=True)
class AzuriteEndpoints:
    blob_port: int
    queue_port: int
    table_port: int

    def service_url(self, port: int) -> str:
        return f"http://{HOST}:{port}/{ACCOUNT_NAME}"

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
            "DefaultEndpointsProtocol=http;"
            f"AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_url};QueueEndpoint={self.queue_url};TableEndpoint={self.table_url};"
        )


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
    ) -> None:
        self.endpoints = AzuriteEndpoints(
            blob_port or free_port(), queue_port or free_port(), table_port or free_port()
        )
        self._owns_location = location is None
        self.location = location or Path(tempfile.mkdtemp(prefix="azurite-"))
        self._extra_args = extra_args
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def executable() -> Path:
        binary = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
        if not binary.exists():
            raise FileNotFoundError(f"{binary} is missing: run 'npm ci' (make test does)")
        return binary

    def start(self) -> AzuriteEndpoints:
        args = [
            str(self.executable()),
            "--silent",
            "--skipApiVersionCheck",
            "--location",
            str(self.location),
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
        log = open(self.location / "azurite.log", "wb")  # noqa: SIM115 - lives as long as the process
        self._process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.location, start_new_session=True
        )
        deadline = time.monotonic() + self._startup_timeout
        for port in (self.endpoints.blob_port, self.endpoints.queue_port, self.endpoints.table_port):
            _wait_for_port(port, deadline, self._process)
        return self.endpoints

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
