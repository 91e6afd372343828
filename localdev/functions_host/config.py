"""host.json, local.settings.json and app settings, read the way ``func start`` reads them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from localdev.functions_host.schedules import parse_timespan

DEFAULT_STORAGE_SETTING = "AzureWebJobsStorage"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class QueuesConfig:
    """``extensions.queues`` with the Storage extension's defaults."""

    batch_size: int = 16
    new_batch_threshold: int | None = None
    max_dequeue_count: int = 5
    visibility_timeout: timedelta = timedelta(0)
    max_polling_interval: timedelta = timedelta(minutes=1)
    message_encoding: str = "base64"

    @property
    def fetch_threshold(self) -> int:
        return self.new_batch_threshold if self.new_batch_threshold is not None else self.batch_size // 2


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    function_timeout: timedelta | None = None
    queues: QueuesConfig = QueuesConfig()

    @classmethod
    def load(cls, project_dir: Path) -> HostConfig:
        path = project_dir / "host.json"
        if not path.exists():
            return cls()
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostConfig:
        extensions = data.get("extensions") or {}
        http = extensions.get("http") or {}
        queues = extensions.get("queues") or {}
        timeout = data.get("functionTimeout")
        function_timeout = None
        if timeout not in (None, "", "-1"):
            function_timeout = parse_timespan(str(timeout))
        defaults = QueuesConfig()
        batch_size = int(queues.get("batchSize", defaults.batch_size))
        if not 1 <= batch_size <= 32:
            raise ConfigError("extensions.queues.batchSize must be between 1 and 32")
        threshold = queues.get("newBatchThreshold")
        encoding = str(queues.get("messageEncoding", defaults.message_encoding)).lower()
        if encoding not in {"base64", "none"}:
            raise ConfigError("extensions.queues.messageEncoding must be 'base64' or 'none'")
        return cls(
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            function_timeout=function_timeout,
            queues=QueuesConfig(
                batch_size=batch_size,
                new_batch_threshold=int(threshold) if threshold is not None else None,
                max_dequeue_count=int(queues.get("maxDequeueCount", defaults.max_dequeue_count)),
                visibility_timeout=parse_timespan(str(queues.get("visibilityTimeout", "00:00:00"))),
                max_polling_interval=parse_timespan(str(queues.get("maxPollingInterval", "00:01:00"))),
                message_encoding=encoding,
            ),
        )


@dataclass(frozen=True)
class LocalSettings:
    values: dict[str, str]
    local_http_port: int | None = None

    @classmethod
    def load(cls, path: Path) -> LocalSettings:
        if not path.exists():
            return cls({})
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("IsEncrypted"):
            raise ConfigError(f"{path}: encrypted local settings are not supported")
        values = {str(k): "" if v is None else str(v) for k, v in (data.get("Values") or {}).items()}
        port = (data.get("Host") or {}).get("LocalHttpPort")
        return cls(values, int(port) if port else None)


class Environment:
    """Applies app settings to ``os.environ`` and puts back what was there on ``restore()``.

    ``local.settings.json`` values never override variables already set (as with ``func start``);
    settings passed explicitly to the host always win.
    """

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str, *, override: bool) -> None:
        if not override and name in os.environ:
            return
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


@contextmanager
def applied(values: Mapping[str, str], *, override: bool) -> Iterator[Environment]:
    env = Environment()
    try:
        for name, value in values.items():
            env.set(name, value, override=override)
        yield env
    finally:
        env.restore()


_PERCENT = re.compile(r"%([^%\s]+)%")


def resolve(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``%NAME%`` with the app setting ``NAME``; a missing setting is an error, as in the host."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"'%{name}%' does not resolve to a value: no app setting {name!r}")
        return env[name]

    return _PERCENT.sub(replace, value)


def storage_connection_string(connection: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The connection string a binding's ``connection`` names (``AzureWebJobsStorage`` if empty)."""
    env = os.environ if environ is None else environ
    name = connection or DEFAULT_STORAGE_SETTING
    for candidate in (name, f"AzureWebJobs{name}"):
        value = env.get(candidate, "").strip()
        if value:
            return value
    identity = [key for key in env if key.lower().startswith(f"{name.lower()}__")]
    if identity:
        raise ConfigError(
            f"connection {name!r} is identity-based ({', '.join(sorted(identity))}); the local host "
            "only supports connection strings (set it to Azurite's)"
        )
    raise ConfigError(f"connection {name!r}: no app setting {name!r} holds a storage connection string")
