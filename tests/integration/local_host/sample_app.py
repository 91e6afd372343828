"""The sample function app the local host tests run: a table of contents of blueprints."""

import azure.functions as func

from tests.integration.local_host.sample_background import blueprint as background
from tests.integration.local_host.sample_http import blueprint as http

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(http)
app.register_functions(background)
