"""The HTTP API: Azure's Microsoft.DataProtection resource model for AzureDisk, served from one trigger.

Layout::

    backup/entrypoints/api.py   the Functions triggers (``subscriptions/{*armPath}``, and
                                ``providers/{*providerPath}`` for the operations list)
    app.py                      build_router(): every endpoint's RouteTable
    router.py                   matching, validation, auth, error rendering (how to add an endpoint)
    http.py                     ApiRequest / ApiResponse, JSON and body-size rules
    auth.py                     Caller, app roles, the Easy Auth principal header
    dependencies.py             ApiContext (store, clock, settings): the composition root
    operations.py               long-running operations: record, accepted(), polling routes
    versions.py                 supported api-versions
    odata.py                    $filter subset and $skipToken paging
    paths.py, render.py         ARM path templates; time and duration formats
    endpoints/                  vaults, policies, jobs, recovery points, the provider's calls
"""
