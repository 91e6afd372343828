"""Handlers of the ARM resources, one module per resource type, each with a ``routes`` table."""
