"""Index a v2 (decorator) function app the way the Python worker does, and invoke its functions.

The worker imports ``function_app.py``, finds the one ``FunctionRegister`` (``FunctionApp``)
among its globals, calls ``get_functions()`` once and reads each function's bindings from
``get_function_json()``. Parameters are matched to bindings by name: the trigger's argument
gets the trigger value, each output binding's argument gets a ``func.Out``, ``$return`` takes
the return value, and a parameter called ``context`` gets a ``func.Context``. Coroutine
functions are awaited on the event loop; plain functions run in a thread pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib.util
import inspect
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

import azure.functions as func
from azure.functions import _abc as func_abc

from localdev.functions_host.config import ConfigError, resolve

log = logging.getLogger("localdev.functions_host")

T = TypeVar("T")

HTTP_TRIGGER = "httptrigger"
TIMER_TRIGGER = "timertrigger"
QUEUE_TRIGGER = "queuetrigger"
SUPPORTED_TRIGGERS = {HTTP_TRIGGER, TIMER_TRIGGER, QUEUE_TRIGGER}
SUPPORTED_OUTPUTS = {"http", "queue"}
# Binding properties that name things rather than hold values: never %NAME%-resolved.
_NOT_RESOLVED = {"name", "type", "direction", "connection", "route", "dataType"}


class IndexingError(ValueError):
    pass


@contextmanager
def _sys_path(directory: Path) -> Iterator[None]:
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def load_module(app_module: str, project_dir: Path) -> ModuleType:
    """A fresh copy of the app module, so ``get_functions()`` runs on a new app object.

    ``app_module`` is a module name importable from ``project_dir`` (``function_app``, or a
    dotted name) or a ``.py`` path relative to it. Whatever ``sys.modules`` held under that name
    before is put back afterwards, so other importers keep their own copy. Modules the app
    imports (blueprints, the product's packages) are shared as usual.
    """
    project_dir = project_dir.resolve()
    with _sys_path(project_dir):
        if app_module.endswith(".py") or "/" in app_module:
            path = (project_dir / app_module).resolve()
            name = path.stem
        else:
            name = app_module
            found = importlib.util.find_spec(name)
            if found is None or found.origin is None:
                raise IndexingError(f"cannot find module {name!r} from {project_dir}")
            path = Path(found.origin)
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise IndexingError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        previous = sys.modules.get(name)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        finally:
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module


def find_app(module: ModuleType) -> func.FunctionRegister:
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if not apps:
        raise IndexingError(f"no FunctionApp instance at the top level of {module.__name__}")
    if len(apps) > 1:
        raise IndexingError(f"more than one FunctionApp instance at the top level of {module.__name__}")
    return apps[0]


class Out(func.Out[T], Generic[T]):
    """The object the worker passes for an output binding argument."""

    def __init__(self) -> None:
        self._value: T | None = None

    def set(self, val: T) -> None:
        self._value = val

    def get(self) -> T:
        return self._value  # type: ignore[return-value]


class _TraceContext(func_abc.TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class Context(func.Context):
    _local = threading.local()

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = _TraceContext()
        self._retry = _RetryContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return self._trace

    @property
    def retry_context(self) -> Any:
        return self._retry


@dataclass
class IndexedFunction:
    name: str
    bindings: list[dict[str, Any]]
    user: Callable[..., Any]
    is_async: bool
    wants_context: bool
    trigger_annotation: Any = None
    directory: str = "."

    @property
    def trigger(self) -> dict[str, Any]:
        return next(b for b in self.bindings if b["type"].lower().endswith("trigger"))

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"]).lower()

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return [b for b in self.bindings if str(b.get("direction", "")).upper() == "OUT"]

    def output(self, binding_type: str) -> dict[str, Any] | None:
        return next((b for b in self.outputs if b["type"].lower() == binding_type), None)


@dataclass
class Indexed:
    functions: list[IndexedFunction] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _resolve_binding(binding: dict[str, Any]) -> dict[str, Any]:
    return {
        key: resolve(value) if isinstance(value, str) and key not in _NOT_RESOLVED else value
        for key, value in binding.items()
    }


def _signature(user: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(user, eval_str=True)
    except Exception:  # unresolvable string annotations: fall back to the raw ones
        return inspect.signature(user)


def index(app: func.FunctionRegister, *, directory: str, environ: Any = None) -> Indexed:
    """``app.get_functions()`` (once) turned into what the host runs and what it cannot."""
    result = Indexed()
    for function in app.get_functions():
        name = function.get_function_name() or function.get_user_function().__name__
        raw = json.loads(function.get_function_json())["bindings"]
        user = function.get_user_function()
        types = {str(b["type"]).lower() for b in raw}
        trigger_types = {t for t in types if t.endswith("trigger")}
        unsupported = (types - trigger_types - SUPPORTED_OUTPUTS) | (trigger_types - SUPPORTED_TRIGGERS)
        if unsupported:
            result.skipped[name] = f"unsupported binding type(s): {', '.join(sorted(unsupported))}"
            continue
        if environ is not None and str(environ.get(f"AzureWebJobs.{name}.Disabled", "")).lower() in {
            "true",
            "1",
        }:
            result.skipped[name] = "disabled by the AzureWebJobs.<name>.Disabled setting"
            continue
        try:
            bindings = [_resolve_binding(b) for b in raw]
        except ConfigError as exc:
            raise IndexingError(f"function {name!r}: {exc}") from exc

        parameters = _signature(user).parameters
        binding_names = {b["name"] for b in bindings if b["name"] != "$return"}
        wants_context = "context" in parameters and "context" not in binding_names
        declared = {p for p in parameters if not (p == "context" and wants_context)}
        if declared != binding_names:
            raise IndexingError(
                f"function {name!r}: parameters {sorted(declared)} do not match "
                f"bindings {sorted(binding_names)}"
            )
        trigger = next(b for b in bindings if str(b["type"]).lower().endswith("trigger"))
        result.functions.append(
            IndexedFunction(
                name=name,
                bindings=bindings,
                user=user,
                is_async=inspect.iscoroutinefunction(user),
                wants_context=wants_context,
                trigger_annotation=parameters[trigger["name"]].annotation,
                directory=directory,
            )
        )
    return result


@dataclass
class Outcome:
    invocation_id: str
    succeeded: bool
    outputs: dict[str, Any]
    error: BaseException | None
    duration: float


OutputWriter = Callable[[IndexedFunction, dict[str, Any]], Awaitable[None]]


async def invoke(
    function: IndexedFunction,
    trigger_value: Any,
    *,
    executor: Executor,
    function_timeout: timedelta | None,
    describe: str,
    write_outputs: OutputWriter | None = None,
) -> Outcome:
    """Run one invocation; output bindings are written only if the function succeeded.

    Logs one line per invocation. Exceptions from the function (or from writing its outputs)
    are logged with their traceback and returned in the outcome, never raised.
    """
    invocation_id = str(uuid.uuid4())
    kwargs: dict[str, Any] = {}
    outs: dict[str, Out[Any]] = {}
    trigger_name = function.trigger["name"]
    for binding in function.bindings:
        if binding["name"] == trigger_name:
            kwargs[trigger_name] = trigger_value
        elif binding["name"] != "$return" and str(binding.get("direction", "")).upper() == "OUT":
            outs[binding["name"]] = kwargs[binding["name"]] = Out()
    if function.wants_context:
        kwargs["context"] = Context(invocation_id, function.name, function.directory)

    started = time.perf_counter()
    error: BaseException | None = None
    outputs: dict[str, Any] = {}
    try:
        if function.is_async:
            work: Awaitable[Any] = function.user(**kwargs)
        else:
            call = functools.partial(contextvars.copy_context().run, function.user, **kwargs)
            work = asyncio.get_running_loop().run_in_executor(executor, call)
        if function_timeout is not None:
            try:
                result = await asyncio.wait_for(work, function_timeout.total_seconds())
            except TimeoutError as exc:
                message = f"Timeout value of {function_timeout} was exceeded by function {function.name}"
                raise TimeoutError(message) from exc
        else:
            result = await work
        has_return = any(b["name"] == "$return" for b in function.bindings)
        if result is not None and not has_return:
            raise TypeError(f"function {function.name!r} returned a value but has no $return binding")
        outputs = {name: out.get() for name, out in outs.items()}
        if has_return:
            outputs["$return"] = result
        if write_outputs is not None:
            await write_outputs(function, outputs)
    except asyncio.CancelledError:
        log.info("Cancelled '%s' (Id=%s) %s", function.name, invocation_id, describe)
        raise
    except Exception as exc:
        error = exc
    duration = time.perf_counter() - started
    if error is None:
        log.info(
            "Executed '%s' (Succeeded, Id=%s, Duration=%.0fms) %s",
            function.name,
            invocation_id,
            duration * 1000,
            describe,
        )
    else:
        log.error(
            "Executed '%s' (Failed, Id=%s, Duration=%.0fms) %s: %s: %s",
            function.name,
            invocation_id,
            duration * 1000,
            describe,
            type(error).__name__,
            error,
            exc_info=error,
        )
    return Outcome(invocation_id, error is None, outputs, error, duration)
