"""In-memory fakes of the product's own ports (never of the Azure SDKs).

Each fake is held to its real adapter by a contract suite in ``tests/contracts`` that runs the
same assertions against both, so a service test on a fake says what production would do.
"""
