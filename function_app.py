"""The Functions entry point: create the app and register the blueprints. Nothing else.

Each trigger lives in a blueprint under ``backup/`` and hands off to a service there. No
client is built, no I/O happens and no Azure SDK is imported at import time, because cold
start matters: a trigger imports what it needs on its first call (``backup/entrypoints/deferred.py``).
"""

import azure.functions as func

from backup.entrypoints.api import blueprint as api
from backup.entrypoints.engine import blueprint as engine
from backup.entrypoints.health import blueprint as health
from backup.entrypoints.openapi import blueprint as openapi
from backup.entrypoints.restore import blueprint as restore
from backup.entrypoints.web import blueprint as web

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health)
app.register_functions(openapi)
app.register_functions(engine)
app.register_functions(restore)
app.register_functions(api)
app.register_functions(web)
