"""A small local Azure Functions host for the Python v2 programming model.

Azure Functions Core Tools cannot be installed everywhere this project is developed, so
``make run`` and the end-to-end tests use this instead. It is a development tool, never
deployed. See ``README.md`` in this folder for what it does and does not do.
"""

from localdev.functions_host.clock import AcceleratedClock, Clock, SystemClock
from localdev.functions_host.host import FunctionsHost

__all__ = ["AcceleratedClock", "Clock", "FunctionsHost", "SystemClock"]
