"""``FunctionsHost``: the in-process local Functions host (HTTP, timer and queue triggers)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from localdev.functions_host.clock import AcceleratedClock, Clock, ClockWaiter, SystemClock
from localdev.functions_host.config import Environment, HostConfig, LocalSettings, storage_connection_string
from localdev.functions_host.easy_auth import EasyAuthStandIn
from localdev.functions_host.http import HttpRoute, HttpServer, Keys, build_routes, describe_routes
from localdev.functions_host.indexing import (
    HTTP_TRIGGER,
    QUEUE_TRIGGER,
    TIMER_TRIGGER,
    IndexedFunction,
    Outcome,
    find_app,
    index,
    invoke,
    load_module,
)
from localdev.functions_host.queues import QueueListener, QueueStore, check_queue_name, write_queue_outputs
from localdev.functions_host.timers import TimerRunner

log = logging.getLogger("localdev.functions_host")

HOST = "127.0.0.1"


class FunctionsHost:
    """Loads a v2 function app fresh and runs its HTTP, timer and queue triggers.

    ``settings`` are app settings that override both ``local.settings.json`` and the
    environment; ``local.settings.json`` values fill in only what the environment lacks. All
    of them are put into ``os.environ`` (as the worker sees them) and taken out on ``stop()``,
    so run one in-process host at a time.
    """

    def __init__(
        self,
        app_module: str = "function_app",
        project_dir: str | os.PathLike[str] = ".",
        *,
        port: int = 0,
        host: str = HOST,
        settings: Mapping[str, str] | None = None,
        local_settings: str | os.PathLike[str] | None = "local.settings.json",
        clock: Clock | None = None,
        speed: float | None = None,
        host_keys: Iterable[str] = (),
        master_key: str | None = None,
        past_due_after: float = 1.0,
        timer_step: float = 0.5,
        queue_lease: timedelta = timedelta(minutes=10),
        drain_timeout: float = 5.0,
        max_workers: int | None = None,
        easy_auth: EasyAuthStandIn | None = None,
    ) -> None:
        if clock is not None and speed is not None:
            raise ValueError("pass either clock or speed, not both")
        self.app_module = app_module
        self.project_dir = Path(project_dir).resolve()
        self.requested_port = port
        self.bind_host = host
        self.settings = dict(settings or {})
        self.local_settings_path = None if local_settings is None else self.project_dir / local_settings
        self.clock: Clock = clock or (AcceleratedClock(speed=speed) if speed is not None else SystemClock())
        self.keys = Keys(host_keys, master_key)
        self.easy_auth = easy_auth
        """App Service Authentication's stand-in; on, the app is told so (WEBSITE_AUTH_ENABLED)."""
        if easy_auth is not None:
            self.settings.setdefault("WEBSITE_AUTH_ENABLED", "true")
        self.past_due_after = past_due_after
        self.timer_step = timer_step
        self.queue_lease = queue_lease
        self.drain_timeout = drain_timeout
        self.max_workers = max_workers

        self.config = HostConfig()
        self.functions: dict[str, IndexedFunction] = {}
        self.skipped: dict[str, str] = {}
        self.routes: list[HttpRoute] = []
        self.port: int | None = None
        self._env = Environment()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._store: QueueStore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._started = False

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the host is not started")
        return f"http://{self.bind_host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        prefix = self.config.route_prefix
        return f"{self.url}/{prefix}" if prefix else self.url

    async def _invoke(self, function: IndexedFunction, value: Any, describe: str) -> Outcome:
        assert self._executor is not None
        assert self._store is not None
        store = self._store

        async def write(fn: IndexedFunction, outputs: dict[str, Any]) -> None:
            await write_queue_outputs(store, fn, outputs)

        return await invoke(
            function,
            value,
            executor=self._executor,
            function_timeout=self.config.function_timeout,
            describe=describe,
            write_outputs=write,
        )

    def _apply_settings(self) -> LocalSettings:
        local = (
            LocalSettings.load(self.local_settings_path) if self.local_settings_path else LocalSettings({})
        )
        for name, value in local.values.items():
            self._env.set(name, value, override=False)
        for name, value in self.settings.items():
            self._env.set(name, value, override=True)
        self._env.set("AZURE_FUNCTIONS_ENVIRONMENT", "Development", override=False)
        self._env.set("FUNCTIONS_WORKER_RUNTIME", "python", override=False)
        return local

    async def start(self) -> str:
        """Index the app, bind the port and start the triggers; returns the base URL."""
        if self._started:
            raise RuntimeError("the host is already started")
        self._started = True
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> str:
        self._apply_settings()
        self.config = HostConfig.load(self.project_dir)
        module = load_module(self.app_module, self.project_dir)
        indexed = index(find_app(module), directory=str(self.project_dir), environ=os.environ)
        self.functions = {fn.name: fn for fn in indexed.functions}
        self.skipped = indexed.skipped
        for name, reason in self.skipped.items():
            log.warning("Function '%s' is not run by the local host: %s", name, reason)
        by_type: dict[str, list[IndexedFunction]] = {}
        for function in indexed.functions:
            by_type.setdefault(function.trigger_type, []).append(function)
        # Fail early on missing connections and bad queue names rather than in a background loop.
        for function in indexed.functions:
            for binding in function.bindings:
                if binding["type"].lower() in {"queue", "queuetrigger"}:
                    storage_connection_string(binding.get("connection"))
                    check_queue_name(binding["queueName"])

        self._executor = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="functions-host")
        self._store = QueueStore(self.config.queues.message_encoding)
        self.routes = build_routes(by_type.get(HTTP_TRIGGER, []))
        server = HttpServer(self.routes, self.config.route_prefix, self.keys, self._invoke, self.easy_auth)
        self._runner = web.AppRunner(
            server.application(), access_log=None, shutdown_timeout=self.drain_timeout
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind_host, self.requested_port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._env.set("WEBSITE_HOSTNAME", f"{self.bind_host}:{self.port}", override=False)

        waiter = ClockWaiter(self.clock, max_step=self.timer_step)
        for function in by_type.get(TIMER_TRIGGER, []):
            runner = TimerRunner(
                function, waiter, self._invoke, self._stop, past_due_after=self.past_due_after
            )
            self._spawn(runner.run(), function.name)
            log.info(
                "%s: timerTrigger %s%s",
                function.name,
                runner.schedule,
                " (runOnStartup)" if runner.run_on_startup else "",
            )
        for function in by_type.get(QUEUE_TRIGGER, []):
            listener = QueueListener(
                function, self._store, self.config.queues, self._invoke, self._stop, lease=self.queue_lease
            )
            await listener.prepare()
            self._spawn(listener.run(), function.name)
            log.info("%s: queueTrigger %s", function.name, listener.queue_name)
        for line in describe_routes(self.routes, self.api_base_url):
            log.info("%s", line)
        log.info(
            "Host started on %s (keys %s)", self.url, "enforced" if self.keys.enforced else "not enforced"
        )
        return self.url

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=f"functions-host:{name}")
        task.add_done_callback(self._report)
        self._tasks.append(task)

    @staticmethod
    def _report(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("Trigger loop %s crashed", task.get_name(), exc_info=task.exception())

    async def stop(self) -> None:
        """Stop accepting work, let running invocations finish (up to ``drain_timeout``), clean up."""
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.drain_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
        if self._store is not None:
            await self._store.close()
            self._store = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._env.restore()
        self.port = None

    async def __aenter__(self) -> FunctionsHost:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
